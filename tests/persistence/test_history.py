"""History reads: event-id bounds, paging, and replacement of a batch at the same first_event_id."""

from __future__ import annotations

import pytest

from legato_server.persistence.interface import EventBatch, Persistence, ShardInfo
from tests.persistence.builders import Run, batch, history_of, mutation, new_run, start_run


async def _run_with_batches(store: Persistence, shard: ShardInfo) -> tuple[Run, list[EventBatch]]:
    """A run whose history is [1,3) [3,4) [4,7) [7,8) [8,10); next_event_id 10."""
    run = new_run()
    await start_run(store, shard, run)
    batches = [batch(run, 1, 2)]
    for read_version, (first, count) in enumerate([(3, 1), (4, 3), (7, 1), (8, 2)], start=1):
        added = batch(run, first, count)
        await store.executions.update_workflow_execution(
            shard_id=shard.shard_id,
            range_id=shard.range_id,
            mutation=mutation(run, read_version=read_version, next_event_id=first + count, events=[added]),
        )
        batches.append(added)
    return run, batches


async def _read(store: Persistence, run: Run, *, min_event_id: int, max_event_id: int) -> list[int]:
    page, token = await store.executions.read_history(
        namespace_id=run.namespace_id,
        workflow_id=run.workflow_id,
        run_id=run.run_id,
        min_event_id=min_event_id,
        max_event_id=max_event_id,
        page_size=100,
    )
    assert token == b""
    return [b.first_event_id for b in page]


async def test_whole_history_in_order(persistence: Persistence, shard: ShardInfo) -> None:
    run, batches = await _run_with_batches(persistence, shard)

    assert await history_of(persistence, run, max_event_id=10) == batches


@pytest.mark.parametrize(
    ("min_event_id", "max_event_id", "expected_firsts"),
    [
        (1, 10, [1, 3, 4, 7, 8]),
        (1, 7, [1, 3, 4]),
        (1, 8, [1, 3, 4, 7]),
        (5, 10, [4, 7, 8]),
        (4, 7, [4]),
        (9, 10, [8]),
        (10, 20, []),
    ],
    ids=[
        "all",
        "max-excludes-batch-starting-at-max",
        "max-inside-last-batch",
        "min-inside-a-batch-returns-that-batch",
        "exact-batch",
        "last-events-only",
        "past-the-end",
    ],
)
async def test_event_id_bounds(
    persistence: Persistence,
    shard: ShardInfo,
    min_event_id: int,
    max_event_id: int,
    expected_firsts: list[int],
) -> None:
    run, _ = await _run_with_batches(persistence, shard)

    assert (
        await _read(persistence, run, min_event_id=min_event_id, max_event_id=max_event_id) == expected_firsts
    )


@pytest.mark.parametrize("page_size", [1, 2, 5, 6], ids=lambda size: f"page-size-{size}")
async def test_paging_returns_every_batch_once_and_ends_with_an_empty_token(
    persistence: Persistence, shard: ShardInfo, page_size: int
) -> None:
    run, batches = await _run_with_batches(persistence, shard)
    pages: list[list[EventBatch]] = []
    token = b""

    while True:
        page, token = await persistence.executions.read_history(
            namespace_id=run.namespace_id,
            workflow_id=run.workflow_id,
            run_id=run.run_id,
            min_event_id=1,
            max_event_id=10,
            page_size=page_size,
            page_token=token,
        )
        pages.append(page)
        if not token:
            break
        assert len(pages) <= len(batches), "paging does not terminate"

    assert [b for page in pages for b in page] == batches
    assert all(len(page) <= page_size for page in pages)
    assert all(pages[:-1]), "only the last page may be empty"


async def test_batches_beyond_next_event_id_are_not_returned(
    persistence: Persistence, shard: ShardInfo
) -> None:
    run, batches = await _run_with_batches(persistence, shard)
    # An update that wrote events past the state's next_event_id (an orphan a
    # store may be left with when a transaction fails after the events landed).
    orphan = batch(run, 10, 3, tag=":orphan")
    await persistence.executions.update_workflow_execution(
        shard_id=shard.shard_id,
        range_id=shard.range_id,
        mutation=mutation(run, read_version=5, next_event_id=10, events=[orphan]),
    )

    assert await history_of(persistence, run, max_event_id=10) == batches


async def test_rewriting_a_batch_at_the_same_first_event_id_replaces_it(
    persistence: Persistence, shard: ShardInfo
) -> None:
    run = new_run()
    await start_run(persistence, shard, run)
    original = batch(run, 3, 4, tag=":attempt-1")
    await persistence.executions.update_workflow_execution(
        shard_id=shard.shard_id,
        range_id=shard.range_id,
        mutation=mutation(run, read_version=1, next_event_id=7, events=[original]),
    )
    rewritten = batch(run, 3, 2, tag=":attempt-2")

    await persistence.executions.update_workflow_execution(
        shard_id=shard.shard_id,
        range_id=shard.range_id,
        mutation=mutation(run, read_version=2, next_event_id=5, events=[rewritten]),
    )

    assert await history_of(persistence, run, max_event_id=5) == [batch(run, 1, 2), rewritten]


async def test_history_of_one_run_is_not_mixed_with_another(
    persistence: Persistence, shard: ShardInfo
) -> None:
    run = new_run()
    sibling = run.with_new_run_id()
    await start_run(persistence, shard, run)

    assert await history_of(persistence, sibling) == []
    assert await history_of(persistence, run) == [batch(run, 1, 2)]
