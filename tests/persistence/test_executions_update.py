"""Updating runs: db_version conditions, current-row tracking, continue-as-new, fencing.

A failed update must leave everything as it was. History batches are the
one exception the contract allows (a store may write them before its
transaction), so "history unchanged" is checked the way readers read it:
bounded by the stored run's next_event_id.
"""

from __future__ import annotations

import pytest

from legato_server.persistence.interface import (
    ConditionFailedError,
    CreateMode,
    ExecutionState,
    Persistence,
    ShardInfo,
    ShardOwnershipLostError,
    WorkflowMutation,
)
from tests.persistence.builders import (
    COMPLETED,
    CONTINUED_AS_NEW,
    RUNNING,
    Run,
    batch,
    close_run,
    find_current,
    find_run,
    history_of,
    mutation,
    new_run,
    snapshot,
    start_run,
    task_id,
    timer,
    timer_tasks_of,
    transfer,
    transfer_tasks_of,
)


async def _assert_untouched(store: Persistence, shard: ShardInfo, run: Run, *, version: int = 1) -> None:
    stored = await find_run(store, shard.shard_id, run)
    assert stored is not None
    assert stored.db_version == version
    assert stored.state == f"state:{run.run_id}:v{version}".encode()
    assert await history_of(store, run, max_event_id=stored.next_event_id) == [batch(run, 1, 2)]
    assert await transfer_tasks_of(store, shard.shard_id) == []
    assert await timer_tasks_of(store, shard.shard_id) == []


async def test_update_writes_state_events_tasks_and_follows_with_current_row(
    persistence: Persistence, shard: ShardInfo
) -> None:
    run = new_run()
    await start_run(persistence, shard, run)
    transfer_task = transfer(task_id(shard.range_id, 1))
    timer_task = timer(1_700_000_000_500, task_id(shard.range_id, 2))
    change = mutation(
        run,
        read_version=1,
        next_event_id=5,
        events=[batch(run, 3, 2)],
        transfer_tasks=[transfer_task],
        timer_tasks=[timer_task],
    )

    await persistence.executions.update_workflow_execution(
        shard_id=shard.shard_id, range_id=shard.range_id, mutation=change
    )

    assert await find_run(persistence, shard.shard_id, run) == change.snapshot
    current = await find_current(persistence, shard.shard_id, run)
    assert current is not None
    assert (current.run_id, current.state, current.status) == (run.run_id, ExecutionState.RUNNING, RUNNING)
    assert current.create_request_id == f"request-{run.run_id}"
    assert await history_of(persistence, run) == [batch(run, 1, 2), batch(run, 3, 2)]
    assert await transfer_tasks_of(persistence, shard.shard_id) == [transfer_task]
    assert await timer_tasks_of(persistence, shard.shard_id) == [timer_task]


async def test_an_update_changes_only_state_and_status_of_the_current_row(
    persistence: Persistence, shard: ShardInfo
) -> None:
    run = new_run()
    created = await start_run(persistence, shard, run, request_id="request-original")
    change = mutation(run, read_version=1, next_event_id=3)
    change.snapshot.create_request_id = "request-of-some-later-call"
    change.snapshot.start_time_ms = created.start_time_ms + 5

    await persistence.executions.update_workflow_execution(
        shard_id=shard.shard_id, range_id=shard.range_id, mutation=change
    )

    current = await find_current(persistence, shard.shard_id, run)
    assert current is not None
    assert (current.create_request_id, current.start_time_ms) == ("request-original", created.start_time_ms)
    assert (current.state, current.status) == (ExecutionState.RUNNING, RUNNING)


async def test_db_version_advances_with_each_update(persistence: Persistence, shard: ShardInfo) -> None:
    run = new_run()
    await start_run(persistence, shard, run)

    for read_version in (1, 2, 3):
        await persistence.executions.update_workflow_execution(
            shard_id=shard.shard_id,
            range_id=shard.range_id,
            mutation=mutation(run, read_version=read_version, next_event_id=3),
        )

    stored = await find_run(persistence, shard.shard_id, run)
    assert stored is not None and stored.db_version == 4


async def test_closing_a_run_closes_the_current_row(persistence: Persistence, shard: ShardInfo) -> None:
    run = new_run()
    await start_run(persistence, shard, run)

    await close_run(persistence, shard, run)

    current = await find_current(persistence, shard.shard_id, run)
    assert current is not None
    assert (current.run_id, current.state, current.status) == (
        run.run_id,
        ExecutionState.COMPLETED,
        COMPLETED,
    )


@pytest.mark.parametrize("read_version", [0, 2], ids=["stale-read", "future-read"])
async def test_update_with_wrong_db_version_fails_and_writes_nothing(
    persistence: Persistence, shard: ShardInfo, read_version: int
) -> None:
    run = new_run()
    await start_run(persistence, shard, run)

    with pytest.raises(ConditionFailedError):
        await persistence.executions.update_workflow_execution(
            shard_id=shard.shard_id,
            range_id=shard.range_id,
            mutation=mutation(
                run,
                read_version=read_version,
                next_event_id=5,
                events=[batch(run, 3, 2)],
                transfer_tasks=[transfer(task_id(shard.range_id, 1))],
                timer_tasks=[timer(1, task_id(shard.range_id, 2))],
            ),
        )

    await _assert_untouched(persistence, shard, run)
    current = await find_current(persistence, shard.shard_id, run)
    assert current is not None and current.state is ExecutionState.CREATED


@pytest.mark.parametrize("range_offset", [-1, +1], ids=["previous-owner-range", "unacquired-newer-range"])
async def test_update_with_stale_range_is_fenced_and_writes_nothing(
    persistence: Persistence, shard: ShardInfo, range_offset: int
) -> None:
    run = new_run()
    await start_run(persistence, shard, run)
    stale_range = shard.range_id + range_offset

    with pytest.raises(ShardOwnershipLostError) as caught:
        await persistence.executions.update_workflow_execution(
            shard_id=shard.shard_id,
            range_id=stale_range,
            mutation=mutation(
                run,
                read_version=1,
                next_event_id=5,
                state_enum=ExecutionState.COMPLETED,
                status=COMPLETED,
                events=[batch(run, 3, 2)],
                transfer_tasks=[transfer(task_id(stale_range, 1))],
                timer_tasks=[timer(1, task_id(stale_range, 2))],
            ),
        )

    assert caught.value.actual_range_id == shard.range_id
    await _assert_untouched(persistence, shard, run)
    current = await find_current(persistence, shard.shard_id, run)
    assert current is not None and current.state is ExecutionState.CREATED


async def test_update_of_a_missing_run_fails(persistence: Persistence, shard: ShardInfo) -> None:
    run = new_run()

    with pytest.raises(ConditionFailedError):
        await persistence.executions.update_workflow_execution(
            shard_id=shard.shard_id,
            range_id=shard.range_id,
            mutation=mutation(run, read_version=1, next_event_id=3),
        )

    assert await find_run(persistence, shard.shard_id, run) is None


async def test_update_of_a_run_that_is_no_longer_current_fails(
    persistence: Persistence, shard: ShardInfo
) -> None:
    old = new_run()
    await start_run(persistence, shard, old)
    await close_run(persistence, shard, old)
    newer = old.with_new_run_id()
    await start_run(persistence, shard, newer, mode=CreateMode.WORKFLOW_ID_REUSE, previous_run_id=old.run_id)

    with pytest.raises(ConditionFailedError):
        await persistence.executions.update_workflow_execution(
            shard_id=shard.shard_id,
            range_id=shard.range_id,
            mutation=mutation(
                old, read_version=2, next_event_id=4, state_enum=ExecutionState.COMPLETED, status=COMPLETED
            ),
        )

    stored_old = await find_run(persistence, shard.shard_id, old)
    assert stored_old is not None and stored_old.db_version == 2
    current = await find_current(persistence, shard.shard_id, newer)
    assert current is not None and (current.run_id, current.state) == (newer.run_id, ExecutionState.CREATED)


def _continue_as_new(run: Run, successor: Run, *, range_id: int) -> tuple[WorkflowMutation, WorkflowMutation]:
    closing = mutation(
        run,
        read_version=1,
        next_event_id=4,
        state_enum=ExecutionState.COMPLETED,
        status=CONTINUED_AS_NEW,
        events=[batch(run, 3, 1)],
        transfer_tasks=[transfer(task_id(range_id, 1))],
    )
    starting = WorkflowMutation(
        snapshot=snapshot(successor, request_id="request-successor"),
        condition_db_version=0,
        events=[batch(successor, 1, 2)],
        transfer_tasks=[transfer(task_id(range_id, 2))],
        timer_tasks=[timer(1_700_000_000_900, task_id(range_id, 3))],
    )
    return closing, starting


async def test_continue_as_new_switches_the_current_run_atomically(
    persistence: Persistence, shard: ShardInfo
) -> None:
    run = new_run()
    await start_run(persistence, shard, run)
    successor = run.with_new_run_id()
    closing, starting = _continue_as_new(run, successor, range_id=shard.range_id)

    await persistence.executions.update_workflow_execution(
        shard_id=shard.shard_id, range_id=shard.range_id, mutation=closing, new_run=starting
    )

    assert await find_run(persistence, shard.shard_id, run) == closing.snapshot
    assert await find_run(persistence, shard.shard_id, successor) == starting.snapshot
    current = await find_current(persistence, shard.shard_id, run)
    assert current is not None
    assert (current.run_id, current.create_request_id, current.state, current.status) == (
        successor.run_id,
        "request-successor",
        ExecutionState.CREATED,
        RUNNING,
    )
    assert await history_of(persistence, run) == [batch(run, 1, 2), batch(run, 3, 1)]
    assert await history_of(persistence, successor) == [batch(successor, 1, 2)]
    assert [t.task_id for t in await transfer_tasks_of(persistence, shard.shard_id)] == [
        task_id(shard.range_id, 1),
        task_id(shard.range_id, 2),
    ]
    assert await timer_tasks_of(persistence, shard.shard_id) == starting.timer_tasks


async def test_continue_as_new_with_stale_range_is_fenced_and_writes_nothing(
    persistence: Persistence, shard: ShardInfo
) -> None:
    run = new_run()
    await start_run(persistence, shard, run)
    successor = run.with_new_run_id()
    closing, starting = _continue_as_new(run, successor, range_id=shard.range_id - 1)

    with pytest.raises(ShardOwnershipLostError):
        await persistence.executions.update_workflow_execution(
            shard_id=shard.shard_id, range_id=shard.range_id - 1, mutation=closing, new_run=starting
        )

    await _assert_untouched(persistence, shard, run)
    assert await find_run(persistence, shard.shard_id, successor) is None
    current = await find_current(persistence, shard.shard_id, run)
    assert current is not None and current.run_id == run.run_id


async def test_continue_as_new_with_wrong_db_version_creates_no_successor(
    persistence: Persistence, shard: ShardInfo
) -> None:
    run = new_run()
    await start_run(persistence, shard, run)
    successor = run.with_new_run_id()
    closing, starting = _continue_as_new(run, successor, range_id=shard.range_id)
    closing.condition_db_version = 7

    with pytest.raises(ConditionFailedError):
        await persistence.executions.update_workflow_execution(
            shard_id=shard.shard_id, range_id=shard.range_id, mutation=closing, new_run=starting
        )

    await _assert_untouched(persistence, shard, run)
    assert await find_run(persistence, shard.shard_id, successor) is None
    current = await find_current(persistence, shard.shard_id, run)
    assert current is not None and current.run_id == run.run_id


async def test_a_successor_can_replace_a_run_that_had_already_closed(
    persistence: Persistence, shard: ShardInfo
) -> None:
    """Reset of a failed run: the closed current run is updated (it records the reset) and replaced."""
    run = new_run()
    await start_run(persistence, shard, run)
    await close_run(persistence, shard, run)
    successor = run.with_new_run_id()
    recording = mutation(
        run, read_version=2, next_event_id=4, state_enum=ExecutionState.COMPLETED, status=COMPLETED
    )
    starting = WorkflowMutation(
        snapshot=snapshot(successor, request_id="request-reset"),
        condition_db_version=0,
        events=[batch(successor, 1, 2)],
        transfer_tasks=[transfer(task_id(shard.range_id, 1))],
    )

    await persistence.executions.update_workflow_execution(
        shard_id=shard.shard_id, range_id=shard.range_id, mutation=recording, new_run=starting
    )

    assert await find_run(persistence, shard.shard_id, run) == recording.snapshot
    assert await find_run(persistence, shard.shard_id, successor) == starting.snapshot
    current = await find_current(persistence, shard.shard_id, run)
    assert current is not None
    assert (current.run_id, current.create_request_id, current.state, current.status) == (
        successor.run_id,
        "request-reset",
        ExecutionState.CREATED,
        RUNNING,
    )
    assert await history_of(persistence, run) == [batch(run, 1, 2), batch(run, 3, 1)]
    assert await history_of(persistence, successor) == [batch(successor, 1, 2)]
