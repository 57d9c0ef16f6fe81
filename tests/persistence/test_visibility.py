"""Visibility: filters, newest-start-first order, stable keyset paging, counts, replace and delete.

Expected results come from a plain-Python reference filter over the same
records, so each filter case states only the filter.
"""

from __future__ import annotations

import dataclasses

import pytest

from legato_server.persistence.interface import Persistence, VisibilityFilter, VisibilityRecord
from tests.persistence.builders import COMPLETED, FAILED, RUNNING, unique

T0 = 1_700_000_000_000


def _record(
    namespace_id: str,
    run_id: str,
    *,
    workflow_id: str,
    workflow_type: str,
    task_queue: str,
    start: int,
    close: int | None = None,
    status: int = RUNNING,
) -> VisibilityRecord:
    return VisibilityRecord(
        namespace_id=namespace_id,
        workflow_id=workflow_id,
        run_id=run_id,
        workflow_type=workflow_type,
        task_queue=task_queue,
        status=status,
        start_time_ms=T0 + start,
        execution_time_ms=T0 + start,
        close_time_ms=None if close is None else T0 + close,
        history_length=11 if close is not None else 3,
        memo=f"memo:{run_id}".encode(),
        search_attributes=f"attrs:{run_id}".encode(),
        parent_workflow_id="parent" if workflow_type == "Child" else "",
        parent_run_id="parent-run" if workflow_type == "Child" else "",
    )


def _dataset(namespace_id: str) -> list[VisibilityRecord]:
    """Eight runs; run-c/run-d/run-e share a start time so run_id breaks the tie."""
    r = _record
    return [
        r(namespace_id, "run-a", workflow_id="order-1", workflow_type="Checkout", task_queue="orders", start=100, close=150, status=COMPLETED),
        r(namespace_id, "run-b", workflow_id="order-1", workflow_type="Checkout", task_queue="orders", start=200),
        r(namespace_id, "run-e", workflow_id="order-2", workflow_type="Checkout", task_queue="payments", start=300, close=400, status=FAILED),
        r(namespace_id, "run-c", workflow_id="order-3", workflow_type="Refund", task_queue="payments", start=300),
        r(namespace_id, "run-d", workflow_id="order-4", workflow_type="Refund", task_queue="orders", start=300, close=350, status=COMPLETED),
        r(namespace_id, "run-f", workflow_id="child-1", workflow_type="Child", task_queue="orders", start=500, close=900, status=COMPLETED),
        r(namespace_id, "run-g", workflow_id="order-5", workflow_type="Checkout", task_queue="payments", start=600),
        r(namespace_id, "run-h", workflow_id="order-6", workflow_type="Refund", task_queue="orders", start=700, close=800, status=FAILED),
    ]  # fmt: skip


def _matches(record: VisibilityRecord, f: VisibilityFilter) -> bool:
    def within(value: int | None, low: int | None, high: int | None) -> bool:
        if low is None and high is None:
            return True
        return value is not None and (low is None or value >= low) and (high is None or value < high)

    return (
        (f.workflow_id is None or record.workflow_id == f.workflow_id)
        and (f.workflow_type is None or record.workflow_type == f.workflow_type)
        and (not f.statuses or record.status in f.statuses)
        and (f.task_queue is None or record.task_queue == f.task_queue)
        and within(record.start_time_ms, f.start_time_from_ms, f.start_time_to_ms)
        and within(record.close_time_ms, f.close_time_from_ms, f.close_time_to_ms)
    )


def _expected(records: list[VisibilityRecord], f: VisibilityFilter) -> list[VisibilityRecord]:
    return sorted((r for r in records if _matches(r, f)), key=lambda r: (-r.start_time_ms, r.run_id))


async def _list_all(
    store: Persistence, namespace_id: str, f: VisibilityFilter, *, page_size: int = 100
) -> list[VisibilityRecord]:
    listed: list[VisibilityRecord] = []
    token = b""
    while True:
        page, token = await store.visibility.list_executions(
            namespace_id=namespace_id, filter=f, page_size=page_size, page_token=token
        )
        assert len(page) <= page_size
        listed.extend(page)
        if not token:
            return listed


@pytest.fixture
async def namespace(persistence: Persistence) -> tuple[str, list[VisibilityRecord]]:
    namespace_id = unique("ns")
    records = _dataset(namespace_id)
    for record in records:
        await persistence.visibility.upsert_execution(record)
    # A neighbour whose runs must never show up.
    for record in _dataset(unique("other-ns")):
        await persistence.visibility.upsert_execution(record)
    return namespace_id, records


FILTERS = {
    "no-filter": VisibilityFilter(),
    "workflow-id": VisibilityFilter(workflow_id="order-1"),
    "workflow-type": VisibilityFilter(workflow_type="Refund"),
    "one-status": VisibilityFilter(statuses=(RUNNING,)),
    "several-statuses": VisibilityFilter(statuses=(COMPLETED, FAILED)),
    "task-queue": VisibilityFilter(task_queue="payments"),
    "start-from": VisibilityFilter(start_time_from_ms=T0 + 300),
    "start-range-is-half-open": VisibilityFilter(start_time_from_ms=T0 + 200, start_time_to_ms=T0 + 500),
    "close-range-excludes-open-runs": VisibilityFilter(
        close_time_from_ms=T0 + 150, close_time_to_ms=T0 + 900
    ),
    "close-to-only": VisibilityFilter(close_time_to_ms=T0 + 400),
    "combined": VisibilityFilter(
        workflow_type="Checkout",
        statuses=(RUNNING, FAILED),
        task_queue="payments",
        start_time_from_ms=T0 + 300,
    ),
    "matches-nothing": VisibilityFilter(workflow_id="order-1", workflow_type="Refund"),
}


@pytest.mark.parametrize("filter_", FILTERS.values(), ids=FILTERS.keys())
async def test_filters_list_and_count_the_matching_runs_newest_first(
    persistence: Persistence, namespace: tuple[str, list[VisibilityRecord]], filter_: VisibilityFilter
) -> None:
    namespace_id, records = namespace
    expected = _expected(records, filter_)

    assert await _list_all(persistence, namespace_id, filter_) == expected
    assert await persistence.visibility.count_executions(namespace_id=namespace_id, filter=filter_) == len(
        expected
    )


async def test_order_is_newest_start_first_then_run_id(
    persistence: Persistence, namespace: tuple[str, list[VisibilityRecord]]
) -> None:
    namespace_id, _ = namespace

    listed = await _list_all(persistence, namespace_id, VisibilityFilter())

    assert [r.run_id for r in listed] == [
        "run-h",
        "run-g",
        "run-f",
        "run-c",
        "run-d",
        "run-e",
        "run-b",
        "run-a",
    ]


@pytest.mark.parametrize("page_size", [1, 2, 3, 8, 9], ids=lambda size: f"page-size-{size}")
async def test_paging_returns_each_run_once(
    persistence: Persistence, namespace: tuple[str, list[VisibilityRecord]], page_size: int
) -> None:
    namespace_id, records = namespace

    assert await _list_all(persistence, namespace_id, VisibilityFilter(), page_size=page_size) == _expected(
        records, VisibilityFilter()
    )


async def test_paging_is_stable_while_runs_are_added(
    persistence: Persistence, namespace: tuple[str, list[VisibilityRecord]]
) -> None:
    namespace_id, records = namespace
    everything = VisibilityFilter()
    first_page, token = await persistence.visibility.list_executions(
        namespace_id=namespace_id, filter=everything, page_size=4
    )
    # Started after the listing began (lands before the cursor), and a
    # back-dated one that sorts after everything, plus a tie with the cursor row.
    newest = _record(
        namespace_id, "run-z", workflow_id="late", workflow_type="Checkout", task_queue="orders", start=10_000
    )
    oldest = _record(
        namespace_id, "run-0", workflow_id="early", workflow_type="Checkout", task_queue="orders", start=1
    )
    tie_after_cursor = _record(
        namespace_id, "run-cc", workflow_id="tie", workflow_type="Refund", task_queue="orders", start=300
    )
    for record in (newest, oldest, tie_after_cursor):
        await persistence.visibility.upsert_execution(record)

    rest: list[VisibilityRecord] = []
    while token:
        page, token = await persistence.visibility.list_executions(
            namespace_id=namespace_id, filter=everything, page_size=4, page_token=token
        )
        rest.extend(page)

    assert [r.run_id for r in first_page] == ["run-h", "run-g", "run-f", "run-c"]
    assert [r.run_id for r in rest] == ["run-cc", "run-d", "run-e", "run-b", "run-a", "run-0"]


async def test_upsert_replaces_the_run_record(
    persistence: Persistence, namespace: tuple[str, list[VisibilityRecord]]
) -> None:
    namespace_id, records = namespace
    running = next(r for r in records if r.run_id == "run-g")
    closed = dataclasses.replace(running, status=COMPLETED, close_time_ms=T0 + 650, history_length=20)

    await persistence.visibility.upsert_execution(closed)

    listed = await _list_all(persistence, namespace_id, VisibilityFilter(workflow_id=running.workflow_id))
    assert listed == [closed]
    completed = VisibilityFilter(statuses=(COMPLETED,))
    assert await persistence.visibility.count_executions(namespace_id=namespace_id, filter=completed) == 4
    assert (
        await persistence.visibility.count_executions(namespace_id=namespace_id, filter=VisibilityFilter())
        == 8
    )


async def test_delete_removes_only_that_run(
    persistence: Persistence, namespace: tuple[str, list[VisibilityRecord]]
) -> None:
    namespace_id, records = namespace

    await persistence.visibility.delete_execution(namespace_id=namespace_id, run_id="run-b")

    remaining = [r for r in records if r.run_id != "run-b"]
    assert await _list_all(persistence, namespace_id, VisibilityFilter()) == _expected(
        remaining, VisibilityFilter()
    )
    assert (
        await persistence.visibility.count_executions(namespace_id=namespace_id, filter=VisibilityFilter())
        == 7
    )


async def test_an_unknown_namespace_lists_nothing(persistence: Persistence) -> None:
    listed, token = await persistence.visibility.list_executions(
        namespace_id=unique("empty-ns"), filter=VisibilityFilter(), page_size=10
    )

    assert (listed, token) == ([], b"")


@pytest.mark.parametrize("store_kind", ["cassandra"])
async def test_a_cassandra_upsert_that_landed_partly_is_completed_by_its_retry(
    persistence: Persistence,
) -> None:
    # The record and its by-run row go in one unlogged batch, which may land partly;
    # the visibility task retries the upsert, and the run must then be deletable.
    namespace_id = unique("vis-partial")
    running = _record(
        namespace_id, "run-p", workflow_id="order-p", workflow_type="Checkout", task_queue="q", start=10
    )
    await persistence.visibility.upsert_execution(running)
    session = persistence.visibility._session  # type: ignore[attr-defined]
    await session.execute(
        "test",
        "DELETE FROM executions_visibility_by_run WHERE namespace_id = ? AND run_id = ?",
        (namespace_id, "run-p"),
    )
    await persistence.visibility.delete_execution(namespace_id=namespace_id, run_id="run-p")
    # Without its by-run row the record cannot be found to delete.
    assert await _list_all(persistence, namespace_id, VisibilityFilter()) == [running]

    closed = dataclasses.replace(running, status=COMPLETED, close_time_ms=T0 + 20, history_length=9)
    await persistence.visibility.upsert_execution(closed)
    assert await _list_all(persistence, namespace_id, VisibilityFilter()) == [closed]

    await persistence.visibility.delete_execution(namespace_id=namespace_id, run_id="run-p")
    assert await _list_all(persistence, namespace_id, VisibilityFilter()) == []


async def test_a_record_with_a_large_memo_is_stored_and_replaced(persistence: Persistence) -> None:
    # 60 KiB is over Cassandra's default batch_size_fail_threshold (50 KiB).
    namespace_id = unique("vis-large")
    running = dataclasses.replace(
        _record(
            namespace_id, "run-l", workflow_id="order-l", workflow_type="Checkout", task_queue="q", start=10
        ),
        memo=b"m" * 60 * 1024,
    )
    await persistence.visibility.upsert_execution(running)
    closed = dataclasses.replace(running, status=COMPLETED, close_time_ms=T0 + 20, history_length=9)
    await persistence.visibility.upsert_execution(closed)

    assert await _list_all(persistence, namespace_id, VisibilityFilter()) == [closed]
    await persistence.visibility.delete_execution(namespace_id=namespace_id, run_id="run-l")
    assert await _list_all(persistence, namespace_id, VisibilityFilter()) == []
