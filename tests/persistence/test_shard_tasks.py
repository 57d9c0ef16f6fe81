"""Transfer tasks (ordered by task_id) and timer tasks (ordered by time, then task_id)."""

from __future__ import annotations

import pytest

from legato_server.persistence.interface import Persistence, ShardInfo, TimerTask, TransferTask
from tests.persistence.builders import (
    new_run,
    start_run,
    task_id,
    timer,
    timer_tasks_of,
    transfer,
    transfer_tasks_of,
)

T0 = 1_700_000_000_000


async def _with_transfer_tasks(
    store: Persistence, shard: ShardInfo, sequences: list[int]
) -> list[TransferTask]:
    tasks = [transfer(task_id(shard.range_id, n)) for n in sequences]
    await start_run(store, shard, new_run(), transfer_tasks=tasks)
    return sorted(tasks, key=lambda t: t.task_id)


async def _with_timer_tasks(
    store: Persistence, shard: ShardInfo, timers: list[tuple[int, int]]
) -> list[TimerTask]:
    tasks = [timer(T0 + offset, task_id(shard.range_id, n)) for offset, n in timers]
    await start_run(store, shard, new_run(), timer_tasks=tasks)
    return sorted(tasks, key=lambda t: (t.visibility_time_ms, t.task_id))


async def test_transfer_tasks_come_back_in_task_id_order(persistence: Persistence, shard: ShardInfo) -> None:
    tasks = await _with_transfer_tasks(persistence, shard, [5, 1, 3, 2, 4])

    assert await transfer_tasks_of(persistence, shard.shard_id) == tasks


@pytest.mark.parametrize(
    ("exclusive_min", "inclusive_max", "batch_size", "expected"),
    [
        (0, 5, 10, [1, 2, 3, 4, 5]),
        (2, 4, 10, [3, 4]),
        (0, 5, 2, [1, 2]),
        (5, 10, 10, []),
    ],
    ids=["everything", "min-exclusive-max-inclusive", "batch-size-limits", "nothing-above"],
)
async def test_transfer_task_ranges(
    persistence: Persistence,
    shard: ShardInfo,
    exclusive_min: int,
    inclusive_max: int,
    batch_size: int,
    expected: list[int],
) -> None:
    await _with_transfer_tasks(persistence, shard, [1, 2, 3, 4, 5])

    found = await persistence.executions.get_transfer_tasks(
        shard_id=shard.shard_id,
        exclusive_min_task_id=task_id(shard.range_id, exclusive_min),
        inclusive_max_task_id=task_id(shard.range_id, inclusive_max),
        batch_size=batch_size,
    )

    assert found == [transfer(task_id(shard.range_id, n)) for n in expected]


async def test_complete_transfer_tasks_deletes_up_to_and_including_max(
    persistence: Persistence, shard: ShardInfo
) -> None:
    tasks = await _with_transfer_tasks(persistence, shard, [1, 2, 3, 4])

    await persistence.executions.complete_transfer_tasks(
        shard_id=shard.shard_id, inclusive_max_task_id=task_id(shard.range_id, 2)
    )

    assert await transfer_tasks_of(persistence, shard.shard_id) == tasks[2:]


async def test_tasks_belong_to_their_shard(persistence: Persistence, shard: ShardInfo) -> None:
    await _with_transfer_tasks(persistence, shard, [1])
    await _with_timer_tasks(persistence, shard, [(0, 2)])
    other_shard = shard.shard_id + 1

    await persistence.executions.complete_transfer_tasks(shard_id=other_shard, inclusive_max_task_id=1 << 62)

    assert await transfer_tasks_of(persistence, other_shard) == []
    assert await timer_tasks_of(persistence, other_shard) == []
    assert len(await transfer_tasks_of(persistence, shard.shard_id)) == 1


async def test_timer_tasks_order_by_time_then_task_id(persistence: Persistence, shard: ShardInfo) -> None:
    # Later task ids firing earlier, and two timers at the same instant.
    tasks = await _with_timer_tasks(persistence, shard, [(300, 1), (100, 2), (200, 4), (200, 3)])

    found = await timer_tasks_of(persistence, shard.shard_id)

    assert found == tasks
    assert [(t.visibility_time_ms - T0, t.task_id - task_id(shard.range_id, 0)) for t in found] == [
        (100, 2),
        (200, 3),
        (200, 4),
        (300, 1),
    ]


@pytest.mark.parametrize(
    ("min_offset", "max_offset", "batch_size", "expected_offsets"),
    [
        (100, 300, 10, [100, 200]),
        (101, 301, 10, [200, 300]),
        (0, 1000, 2, [100, 200]),
        (400, 1000, 10, []),
    ],
    ids=["min-inclusive-max-exclusive", "bounds-between-timers", "batch-size-limits", "nothing-due"],
)
async def test_timer_task_ranges(
    persistence: Persistence,
    shard: ShardInfo,
    min_offset: int,
    max_offset: int,
    batch_size: int,
    expected_offsets: list[int],
) -> None:
    await _with_timer_tasks(persistence, shard, [(100, 1), (200, 2), (300, 3)])

    found = await persistence.executions.get_timer_tasks(
        shard_id=shard.shard_id,
        min_time_ms=T0 + min_offset,
        max_time_ms=T0 + max_offset,
        batch_size=batch_size,
    )

    assert [t.visibility_time_ms - T0 for t in found] == expected_offsets


async def test_complete_timer_tasks_before_deletes_the_range_below_only(
    persistence: Persistence, shard: ShardInfo
) -> None:
    tasks = await _with_timer_tasks(persistence, shard, [(100, 1), (100, 2), (200, 3), (300, 4)])

    for _ in range(2):  # idempotent
        await persistence.executions.complete_timer_tasks_before(
            shard_id=shard.shard_id, exclusive_max_time_ms=T0 + 200
        )

    assert await timer_tasks_of(persistence, shard.shard_id) == tasks[2:]
