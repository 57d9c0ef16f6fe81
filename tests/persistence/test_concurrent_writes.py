"""Concurrent writes to one shard or one task queue: each gets the outcome it would get alone.

A store may combine concurrent conditional writes of one partition into one
transaction (Cassandra's group commit does, to spend one Paxos round on
several). These cases pin down that it must stay invisible: a failing
condition of one write fails that write only, the others apply; two creates
of one workflow id never both win; a stale lease among queue appends fails
alone.
"""

from __future__ import annotations

import asyncio

from legato_server.persistence.interface import (
    ConditionFailedError,
    CurrentWorkflowConditionFailedError,
    Persistence,
    QueuedTask,
    ShardInfo,
    ShardOwnershipLostError,
)
from tests.persistence.builders import (
    WORKFLOW_QUEUE,
    batch,
    find_current,
    find_run,
    mutation,
    new_run,
    start_run,
    task_id,
    transfer,
    transfer_tasks_of,
    unique,
)


async def test_concurrent_updates_of_one_shard_apply_and_a_stale_one_fails_alone(
    persistence: Persistence, shard: ShardInfo
) -> None:
    runs = [new_run() for _ in range(8)]
    await asyncio.gather(*(start_run(persistence, shard, run) for run in runs))
    stale = runs[3]

    async def update(index: int) -> None:
        run = runs[index]
        await persistence.executions.update_workflow_execution(
            shard_id=shard.shard_id,
            range_id=shard.range_id,
            mutation=mutation(
                run,
                read_version=5 if run is stale else 1,
                next_event_id=4,
                events=[batch(run, 3, 1)],
                transfer_tasks=[transfer(task_id(shard.range_id, 100 + index))],
            ),
        )

    results = await asyncio.gather(*(update(i) for i in range(len(runs))), return_exceptions=True)

    for run, result in zip(runs, results, strict=True):
        stored = await find_run(persistence, shard.shard_id, run)
        assert stored is not None
        if run is stale:
            assert isinstance(result, ConditionFailedError)
            assert stored.db_version == 1
        else:
            assert result is None
            assert (stored.db_version, stored.next_event_id) == (2, 4)
    tasks = await transfer_tasks_of(persistence, shard.shard_id)
    assert [t.task_id for t in tasks] == [
        task_id(shard.range_id, 100 + i) for i in range(8) if runs[i] is not stale
    ]


async def test_concurrent_brand_new_creates_of_one_workflow_id_start_exactly_one_run(
    persistence: Persistence, shard: ShardInfo
) -> None:
    first = new_run()
    contenders = [first, *(first.with_new_run_id() for _ in range(4))]
    others = [new_run() for _ in range(3)]

    results = await asyncio.gather(
        *(start_run(persistence, shard, run) for run in [*contenders, *others]), return_exceptions=True
    )

    winners = [run for run, r in zip(contenders, results, strict=False) if not isinstance(r, BaseException)]
    assert len(winners) == 1, results
    losers = [r for r in results[: len(contenders)] if isinstance(r, BaseException)]
    assert all(isinstance(r, CurrentWorkflowConditionFailedError) for r in losers), losers
    current = await find_current(persistence, shard.shard_id, first)
    assert current is not None and current.run_id == winners[0].run_id
    for run in contenders:
        assert (await find_run(persistence, shard.shard_id, run) is not None) == (run is winners[0])
    assert all(r is not None and not isinstance(r, BaseException) for r in results[len(contenders) :])


async def test_concurrent_writes_with_a_stale_range_are_fenced_and_the_owners_apply(
    persistence: Persistence, shard: ShardInfo
) -> None:
    owner = [new_run() for _ in range(4)]
    stale = ShardInfo(shard_id=shard.shard_id, range_id=shard.range_id - 1, owner="old-host")

    results = await asyncio.gather(
        *(start_run(persistence, shard, run) for run in owner),
        start_run(persistence, stale, new_run()),
        return_exceptions=True,
    )

    assert not [r for r in results[:4] if isinstance(r, BaseException)], results
    for run in owner:
        assert await find_run(persistence, shard.shard_id, run) is not None
    assert isinstance(results[4], ShardOwnershipLostError)


async def test_concurrent_appends_to_one_queue_land_and_a_stale_lease_fails_alone(
    persistence: Persistence,
) -> None:
    queue = {"namespace_id": unique("ns"), "name": unique("queue"), "task_type": WORKFLOW_QUEUE}
    stale = await persistence.task_queues.lease_task_queue(**queue)  # type: ignore[arg-type]
    lease = await persistence.task_queues.lease_task_queue(**queue)  # type: ignore[arg-type]

    async def append(task: int, range_id: int) -> None:
        await persistence.task_queues.create_tasks(
            **queue,  # type: ignore[arg-type]
            range_id=range_id,
            tasks=[QueuedTask(task_id=task, data=f"task:{task}".encode())],
        )

    results = await asyncio.gather(
        *(append(i, lease.range_id) for i in range(1, 11)), append(99, stale.range_id), return_exceptions=True
    )

    assert results[:10] == [None] * 10
    assert isinstance(results[10], ConditionFailedError)
    stored = await persistence.task_queues.get_tasks(
        **queue,  # type: ignore[arg-type]
        exclusive_min_task_id=0,
        inclusive_max_task_id=1000,
        batch_size=100,
    )
    assert [t.task_id for t in stored] == list(range(1, 11))
