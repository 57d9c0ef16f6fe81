"""Two hosts racing for one shard: exactly one wins, and the loser is fenced off everywhere.

Each host is a separate store instance on the same database ("two-instances",
for SQLite two connections to one file) or both share one instance
("one-instance"). The acquisition is a real race: both read the shard first,
then both update it concurrently.

A host that loses never learned a range_id of its own: the newest one it may
act on is the one it read. Every shard-scoped write it makes with it
(update, create, continue-as-new, shard update) must fail with
ShardOwnershipLostError, while the winner's writes succeed.
"""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from legato_server.persistence.interface import (
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
    acquire_shard,
    find_current,
    find_run,
    mutation,
    new_run,
    snapshot,
    start_run,
    task_id,
    transfer,
    transfer_tasks_of,
    unique_shard_id,
)
from tests.persistence.conftest import OpenStore


async def _hosts(open_store: OpenStore, topology: str, count: int) -> list[Persistence]:
    if topology == "one-instance":
        shared = await open_store()
        return [shared] * count
    return [await open_store() for _ in range(count)]


async def _race_for(shard_id: int, hosts: list[Persistence]) -> list[ShardInfo | BaseException]:
    """Every host reads the shard, then all bump range_id at once."""
    read = [await host.shards.get_or_create_shard(shard_id) for host in hosts]
    claims = [
        dataclasses.replace(info, range_id=info.range_id + 1, owner=f"host-{index}")
        for index, info in enumerate(read)
    ]

    async def claim(host: Persistence, wanted: ShardInfo, previous: ShardInfo) -> ShardInfo:
        await host.shards.update_shard(wanted, previous_range_id=previous.range_id)
        return wanted

    return await asyncio.gather(
        *(claim(host, wanted, previous) for host, wanted, previous in zip(hosts, claims, read, strict=True)),
        return_exceptions=True,
    )


@pytest.mark.parametrize("topology", ["two-instances", "one-instance"])
@pytest.mark.parametrize("racers", [2, 5], ids=lambda n: f"{n}-racers")
async def test_exactly_one_racer_acquires_the_shard(
    open_store: OpenStore, topology: str, racers: int
) -> None:
    hosts = await _hosts(open_store, topology, racers)
    shard_id = unique_shard_id()
    await acquire_shard(hosts[0], shard_id, owner="previous-owner")

    outcomes = await _race_for(shard_id, hosts)

    winners = [o for o in outcomes if isinstance(o, ShardInfo)]
    losers = [o for o in outcomes if not isinstance(o, ShardInfo)]
    assert len(winners) == 1, outcomes
    assert all(isinstance(o, ShardOwnershipLostError) for o in losers), losers
    assert await hosts[-1].shards.get_or_create_shard(shard_id) == winners[0]
    assert winners[0].range_id == 2


@pytest.mark.parametrize("topology", ["two-instances", "one-instance"])
async def test_the_loser_is_fenced_off_and_the_winner_is_not(open_store: OpenStore, topology: str) -> None:
    hosts = await _hosts(open_store, topology, 2)
    shard_id = unique_shard_id()
    previous = await acquire_shard(hosts[0], shard_id, owner="previous-owner")
    run = new_run()
    await start_run(hosts[0], previous, run)

    outcomes = await _race_for(shard_id, hosts)
    winner_index = next(i for i, o in enumerate(outcomes) if isinstance(o, ShardInfo))
    winner, loser = hosts[winner_index], hosts[1 - winner_index]
    won = outcomes[winner_index]
    assert isinstance(won, ShardInfo)
    lost_range = previous.range_id  # the newest range the loser ever saw

    # Both hosts act on the same run at once; only the winner's update lands.
    loser_update = mutation(
        run,
        read_version=1,
        next_event_id=4,
        state_enum=ExecutionState.COMPLETED,
        status=COMPLETED,
        transfer_tasks=[transfer(task_id(lost_range, 100))],
    )
    winner_update = mutation(
        run, read_version=1, next_event_id=3, transfer_tasks=[transfer(task_id(won.range_id, 1))]
    )
    outcomes_of_updates = await asyncio.gather(
        loser.executions.update_workflow_execution(
            shard_id=shard_id, range_id=lost_range, mutation=loser_update
        ),
        winner.executions.update_workflow_execution(
            shard_id=shard_id, range_id=won.range_id, mutation=winner_update
        ),
        return_exceptions=True,
    )
    loser_outcome, winner_outcome = outcomes_of_updates
    assert isinstance(loser_outcome, ShardOwnershipLostError), loser_outcome
    assert winner_outcome is None

    # Every other kind of shard write by the loser is rejected too.
    other_run = new_run()
    successor = run.with_new_run_id()
    with pytest.raises(ShardOwnershipLostError):
        await loser.executions.create_workflow_execution(
            shard_id=shard_id,
            range_id=lost_range,
            mode=CreateMode.BRAND_NEW,
            snapshot=snapshot(other_run),
            events=[],
            transfer_tasks=[transfer(task_id(lost_range, 101))],
            timer_tasks=[],
        )
    with pytest.raises(ShardOwnershipLostError):
        await loser.executions.update_workflow_execution(  # continue-as-new
            shard_id=shard_id,
            range_id=lost_range,
            mutation=mutation(
                run,
                read_version=2,
                next_event_id=4,
                state_enum=ExecutionState.COMPLETED,
                status=CONTINUED_AS_NEW,
            ),
            new_run=WorkflowMutation(snapshot=snapshot(successor), condition_db_version=0),
        )
    with pytest.raises(ShardOwnershipLostError):
        await loser.shards.update_shard(
            dataclasses.replace(won, owner="loser", transfer_ack_level=999), previous_range_id=lost_range
        )

    # The store holds exactly the winner's work.
    stored = await find_run(winner, shard_id, run)
    assert stored == winner_update.snapshot
    assert await find_run(winner, shard_id, other_run) is None
    assert await find_run(winner, shard_id, successor) is None
    current = await find_current(winner, shard_id, run)
    assert current is not None and (current.run_id, current.state) == (run.run_id, ExecutionState.RUNNING)
    assert await winner.shards.get_or_create_shard(shard_id) == won
    assert await transfer_tasks_of(winner, shard_id) == [transfer(task_id(won.range_id, 1))]

    # And the winner keeps writing.
    await winner.executions.update_workflow_execution(
        shard_id=shard_id, range_id=won.range_id, mutation=mutation(run, read_version=2, next_event_id=3)
    )
    stored = await find_run(loser, shard_id, run)
    assert stored is not None and stored.db_version == 3
