"""Creating runs: atomic with current row, history and tasks; creation modes; fencing."""

from __future__ import annotations

import pytest

from legato_server.persistence.interface import (
    CreateMode,
    CurrentWorkflowConditionFailedError,
    ExecutionState,
    Persistence,
    ShardInfo,
    ShardOwnershipLostError,
)
from tests.persistence.builders import (
    RUNNING,
    batch,
    close_run,
    find_current,
    find_run,
    history_of,
    new_run,
    snapshot,
    start_run,
    task_id,
    timer,
    timer_tasks_of,
    transfer,
    transfer_tasks_of,
    unique_shard_id,
)


async def test_create_writes_run_current_row_history_and_tasks(
    persistence: Persistence, shard: ShardInfo
) -> None:
    run = new_run()
    transfer_task = transfer(task_id(shard.range_id, 1))
    timer_task = timer(1_700_000_100_000, task_id(shard.range_id, 2))

    created = await start_run(
        persistence,
        shard,
        run,
        request_id="request-1",
        transfer_tasks=[transfer_task],
        timer_tasks=[timer_task],
    )

    assert await find_run(persistence, shard.shard_id, run) == created
    current = await find_current(persistence, shard.shard_id, run)
    assert current is not None
    assert (current.namespace_id, current.workflow_id, current.run_id) == (
        run.namespace_id,
        run.workflow_id,
        run.run_id,
    )
    assert (current.create_request_id, current.state, current.status) == (
        "request-1",
        ExecutionState.CREATED,
        RUNNING,
    )
    assert current.start_time_ms == created.start_time_ms
    assert await history_of(persistence, run) == [batch(run, 1, 2)]
    assert await transfer_tasks_of(persistence, shard.shard_id) == [transfer_task]
    assert await timer_tasks_of(persistence, shard.shard_id) == [timer_task]


async def test_duplicate_brand_new_start_carries_the_existing_current_row(
    persistence: Persistence, shard: ShardInfo
) -> None:
    first = new_run()
    await start_run(persistence, shard, first, request_id="request-first")
    second = first.with_new_run_id()

    with pytest.raises(CurrentWorkflowConditionFailedError) as caught:
        await start_run(
            persistence, shard, second, request_id="request-second", transfer_tasks=[transfer(task_id(1, 7))]
        )

    current = caught.value.current
    assert current is not None
    assert (current.run_id, current.create_request_id, current.state) == (
        first.run_id,
        "request-first",
        ExecutionState.CREATED,
    )
    # History batches may be written ahead of the transaction (Cassandra), so
    # "nothing written" means: no run, no current row, no tasks.
    assert await find_run(persistence, shard.shard_id, second) is None
    assert await transfer_tasks_of(persistence, shard.shard_id) == []
    assert (await find_current(persistence, shard.shard_id, first)).run_id == first.run_id  # type: ignore[union-attr]


async def test_brand_new_is_refused_even_when_the_current_run_is_closed(
    persistence: Persistence, shard: ShardInfo
) -> None:
    first = new_run()
    await start_run(persistence, shard, first)
    await close_run(persistence, shard, first)

    with pytest.raises(CurrentWorkflowConditionFailedError) as caught:
        await start_run(persistence, shard, first.with_new_run_id())

    assert caught.value.current is not None
    assert (caught.value.current.run_id, caught.value.current.state) == (
        first.run_id,
        ExecutionState.COMPLETED,
    )


async def test_reuse_of_a_closed_run_replaces_the_current_row(
    persistence: Persistence, shard: ShardInfo
) -> None:
    first = new_run()
    await start_run(persistence, shard, first)
    await close_run(persistence, shard, first)
    second = first.with_new_run_id()

    await start_run(
        persistence,
        shard,
        second,
        mode=CreateMode.WORKFLOW_ID_REUSE,
        previous_run_id=first.run_id,
        request_id="request-second",
    )

    current = await find_current(persistence, shard.shard_id, second)
    assert current is not None
    assert (current.run_id, current.create_request_id, current.state) == (
        second.run_id,
        "request-second",
        ExecutionState.CREATED,
    )
    closed = await find_run(persistence, shard.shard_id, first)
    assert closed is not None and closed.state_enum is ExecutionState.COMPLETED


@pytest.mark.parametrize(
    ("close_first", "previous_run_id"),
    [(True, "wrong-run-id"), (True, ""), (False, None)],
    ids=["closed-but-wrong-previous-run", "closed-but-no-previous-run", "previous-run-still-running"],
)
async def test_reuse_is_refused_unless_the_named_previous_run_is_closed(
    persistence: Persistence, shard: ShardInfo, close_first: bool, previous_run_id: str | None
) -> None:
    first = new_run()
    await start_run(persistence, shard, first, request_id="request-first")
    if close_first:
        await close_run(persistence, shard, first)
    second = first.with_new_run_id()

    with pytest.raises(CurrentWorkflowConditionFailedError) as caught:
        await start_run(
            persistence,
            shard,
            second,
            mode=CreateMode.WORKFLOW_ID_REUSE,
            previous_run_id=first.run_id if previous_run_id is None else previous_run_id,
        )

    assert caught.value.current is not None
    assert (caught.value.current.run_id, caught.value.current.create_request_id) == (
        first.run_id,
        "request-first",
    )
    assert await find_run(persistence, shard.shard_id, second) is None
    assert (await find_current(persistence, shard.shard_id, first)).run_id == first.run_id  # type: ignore[union-attr]


async def test_reuse_without_any_current_row_is_refused(persistence: Persistence, shard: ShardInfo) -> None:
    run = new_run()

    with pytest.raises(CurrentWorkflowConditionFailedError) as caught:
        await start_run(
            persistence, shard, run, mode=CreateMode.WORKFLOW_ID_REUSE, previous_run_id="some-run"
        )

    assert caught.value.current is None
    assert await find_run(persistence, shard.shard_id, run) is None
    assert await find_current(persistence, shard.shard_id, run) is None


@pytest.mark.parametrize("range_offset", [-1, +1], ids=["previous-owner-range", "unacquired-newer-range"])
async def test_create_with_stale_range_is_fenced_and_writes_nothing(
    persistence: Persistence, shard: ShardInfo, range_offset: int
) -> None:
    run = new_run()
    stale_range = shard.range_id + range_offset

    with pytest.raises(ShardOwnershipLostError) as caught:
        await persistence.executions.create_workflow_execution(
            shard_id=shard.shard_id,
            range_id=stale_range,
            mode=CreateMode.BRAND_NEW,
            snapshot=snapshot(run),
            events=[batch(run, 1, 2)],
            transfer_tasks=[transfer(task_id(stale_range, 1))],
            timer_tasks=[timer(1_700_000_000_000, task_id(stale_range, 2))],
        )

    assert (caught.value.shard_id, caught.value.expected_range_id, caught.value.actual_range_id) == (
        shard.shard_id,
        stale_range,
        shard.range_id,
    )
    assert await find_run(persistence, shard.shard_id, run) is None
    assert await find_current(persistence, shard.shard_id, run) is None
    assert await transfer_tasks_of(persistence, shard.shard_id) == []
    assert await timer_tasks_of(persistence, shard.shard_id) == []


async def test_create_in_a_shard_never_acquired_is_fenced(persistence: Persistence) -> None:
    shard_id = unique_shard_id()
    run = new_run()

    with pytest.raises(ShardOwnershipLostError):
        await persistence.executions.create_workflow_execution(
            shard_id=shard_id,
            range_id=1,
            mode=CreateMode.BRAND_NEW,
            snapshot=snapshot(run),
            events=[],
            transfer_tasks=[],
            timer_tasks=[],
        )

    assert await find_run(persistence, shard_id, run) is None
