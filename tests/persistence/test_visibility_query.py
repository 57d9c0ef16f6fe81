"""The list query language on every store: each query of ``tests/visibility/cases`` on one dataset.

Expected results come from ``visibility.evaluate`` (the reference semantics)
over the same records, sorted as the query's ORDER BY says, so a case states
only the query. Cassandra serves only newest-start-first order and must
refuse the other ORDER BYs with INVALID_ARGUMENT.
"""

from __future__ import annotations

import json

import pytest

from legato.api.v1 import common_pb2
from legato_server.common.errors import InvalidArgument
from legato_server.persistence.interface import Persistence, VisibilityFilter, VisibilityRecord
from legato_server.visibility import attributes, evaluate
from legato_server.visibility.query import parse
from tests.persistence.builders import COMPLETED, FAILED, RUNNING, unique
from tests.visibility.cases import CASSANDRA_REFUSES, CUSTOM, QUERIES

T0 = 1_700_000_000_000  # 2023-11-14T22:13:20Z


def _attributes(values: dict[str, object]) -> bytes:
    message = common_pb2.SearchAttributes()
    for name, value in values.items():
        payload = message.indexed_fields[name]
        payload.metadata["encoding"] = b"json/plain"
        payload.data = json.dumps(value).encode()
    attributes.validate(message, CUSTOM)
    return message.SerializeToString()


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
    attrs: dict[str, object] | None = None,
) -> VisibilityRecord:
    return VisibilityRecord(
        namespace_id=namespace_id,
        workflow_id=workflow_id,
        run_id=run_id,
        workflow_type=workflow_type,
        task_queue=task_queue,
        status=status,
        start_time_ms=T0 + start,
        execution_time_ms=T0 + start + (start % 7) * 1000,
        close_time_ms=None if close is None else T0 + close,
        history_length=11 if close is not None else 3,
        memo=b"",
        search_attributes=_attributes(attrs or {}),
    )


def _dataset(namespace_id: str) -> list[VisibilityRecord]:
    r = _record
    return [
        r(namespace_id, "run-a", workflow_id="order-1", workflow_type="Checkout", task_queue="orders", start=100, close=150, status=COMPLETED,
          attrs={"CustomerId": "c-42", "Amount": 12.5, "Items": 2, "Priority": True, "Tags": ["vip", "gift"], "Note": "rush order"}),
        r(namespace_id, "run-b", workflow_id="order-1", workflow_type="Checkout", task_queue="orders", start=200,
          attrs={"CustomerId": "c-42", "Amount": 20, "Items": 7, "DueAt": "2026-03-01T00:00:00Z", "Note": "it's here"}),
        r(namespace_id, "run-e", workflow_id="order-2", workflow_type="Checkout", task_queue="payments", start=300, close=400, status=FAILED,
          attrs={"CustomerId": "c-7", "Amount": 3.25, "Priority": False, "Tags": ["fragile"]}),
        r(namespace_id, "run-c", workflow_id="order-3", workflow_type="Refund", task_queue="payments", start=300,
          attrs={"CustomerId": "c-3", "Items": 5, "DueAt": "2025-12-31T23:59:59Z", "Note": "Rush too"}),
        r(namespace_id, "run-d", workflow_id="order-4", workflow_type="Refund", task_queue="orders", start=300, close=350, status=COMPLETED),
        r(namespace_id, "run-f", workflow_id="child-1", workflow_type="Child", task_queue="orders", start=500, close=900, status=COMPLETED,
          attrs={"Tags": ["vip"], "Priority": True, "Items": 1}),
        r(namespace_id, "run-g", workflow_id="order-5", workflow_type="Checkout", task_queue="payments", start=600,
          attrs={"CustomerId": "c-42", "Amount": 10.5, "DueAt": "2026-06-01T00:00:00Z", "Tags": []}),
        r(namespace_id, "run-h", workflow_id="order-6", workflow_type="Refund", task_queue="orders", start=700, close=800, status=FAILED,
          attrs={"CustomerId": "c-20", "Items": 3}),
    ]  # fmt: skip


def _reference(records: list[VisibilityRecord], text: str) -> list[VisibilityRecord]:
    query = parse(text, custom=CUSTOM)

    def lookup_of(record: VisibilityRecord) -> evaluate.Lookup:
        custom = attributes.typed_values(record.search_attributes)

        def lookup(attribute: attributes.Attribute) -> attributes.Value | None:
            if attribute.column is not None:
                value: attributes.Value | None = getattr(record, attribute.column)
                return value
            typed = custom.get(attribute.name)
            return None if typed is None else typed[1]

        return lookup

    matching = [r for r in records if evaluate.matches(query.where, lookup_of(r))]
    column = query.order_by.attribute.column
    assert column is not None
    sign = -1 if query.order_by.descending else 1
    return sorted(matching, key=lambda r: (sign * evaluate.sort_time(getattr(r, column)), r.run_id))


async def _list_all(
    store: Persistence, namespace_id: str, f: VisibilityFilter, page_size: int
) -> list[VisibilityRecord]:
    listed: list[VisibilityRecord] = []
    token = b""
    while True:
        page, token = await store.visibility.list_executions(
            namespace_id=namespace_id, filter=f, page_size=page_size, page_token=token
        )
        listed.extend(page)
        if not token:
            return listed


@pytest.fixture
async def namespace(persistence: Persistence) -> tuple[str, list[VisibilityRecord]]:
    namespace_id = unique("ns")
    records = _dataset(namespace_id)
    for record in records:
        await persistence.visibility.upsert_execution(record)
    for record in _dataset(unique("other-ns")):  # a neighbour whose runs must never show up
        await persistence.visibility.upsert_execution(record)
    return namespace_id, records


@pytest.mark.parametrize("text", QUERIES.values(), ids=QUERIES.keys())
async def test_query_lists_and_counts_what_the_reference_selects(
    persistence: Persistence, store_kind: str, namespace: tuple[str, list[VisibilityRecord]], text: str
) -> None:
    namespace_id, records = namespace
    case = next(key for key, value in QUERIES.items() if value == text)
    query = parse(text, custom=CUSTOM)
    f = VisibilityFilter(query=query)
    if store_kind == "cassandra" and case in CASSANDRA_REFUSES:
        with pytest.raises(InvalidArgument, match="not supported on Cassandra visibility"):
            await persistence.visibility.list_executions(namespace_id=namespace_id, filter=f, page_size=10)
        return
    expected = [r.run_id for r in _reference(records, text)]

    for page_size in (3, 100):
        assert [r.run_id for r in await _list_all(persistence, namespace_id, f, page_size)] == expected
    count_filter = VisibilityFilter(query=parse(text.split("ORDER BY")[0], custom=CUSTOM))
    assert await persistence.visibility.count_executions(
        namespace_id=namespace_id, filter=count_filter
    ) == len(expected)


async def test_upsert_replaces_the_search_attributes_it_indexed(
    persistence: Persistence, namespace: tuple[str, list[VisibilityRecord]]
) -> None:
    namespace_id, records = namespace
    run_a = records[0]
    f = VisibilityFilter(query=parse("Tags = 'vip' AND CustomerId = 'c-42'", custom=CUSTOM))
    assert [r.run_id for r in await _list_all(persistence, namespace_id, f, 10)] == ["run-a"]

    run_a.search_attributes = _attributes({"CustomerId": "c-42", "Tags": ["plain"]})
    await persistence.visibility.upsert_execution(run_a)

    assert await _list_all(persistence, namespace_id, f, 10) == []
    await persistence.visibility.delete_execution(namespace_id=namespace_id, run_id="run-a")
    gone = VisibilityFilter(query=parse("Tags = 'plain'", custom=CUSTOM))
    assert await persistence.visibility.count_executions(namespace_id=namespace_id, filter=gone) == 0


async def test_query_and_structured_filter_are_anded(
    persistence: Persistence, namespace: tuple[str, list[VisibilityRecord]]
) -> None:
    namespace_id, _ = namespace
    f = VisibilityFilter(task_queue="payments", query=parse("CustomerId = 'c-42'", custom=CUSTOM))

    assert [r.run_id for r in await _list_all(persistence, namespace_id, f, 10)] == ["run-g"]
