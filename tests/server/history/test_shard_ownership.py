"""Shard fencing and recovery: a new owner fences the old one off and resumes its work."""

from __future__ import annotations

import pytest

from legato_server.common.errors import Unavailable
from legato_server.history.routing import shard_for
from tests.server.history import commands as cmd
from tests.server.history.conftest import NS_ID, NUM_SHARDS, Harness, make_service


def test_shard_mapping_is_stable() -> None:
    # Pinned values: the mapping must never change across versions or processes,
    # or existing workflows would be looked up on the wrong shard.
    assert [shard_for("ns", f"wf-{i}", 16) for i in range(6)] == [0, 0, 12, 8, 8, 15]
    assert shard_for("a", "b", 1024) == 928


async def test_new_owner_fences_the_old_one(harness: Harness, clock, matching, namespaces) -> None:  # type: ignore[no-untyped-def]
    await harness.start("wf")
    task = await harness.poll_workflow_task("wf")
    before = await harness.event_types("wf")

    other = await make_service(harness.persistence, clock, matching, namespaces, host_identity="host-b")
    try:
        with pytest.raises(Unavailable, match="moved"):
            await harness.complete_workflow_task(task, cmd.complete())
        with pytest.raises(Unavailable):
            await harness.signal("wf")
        b = Harness(other, clock, matching, harness.persistence)
        assert await b.event_types("wf") == before  # the old owner wrote nothing
        # The new owner carries on from the store.
        await b.complete_workflow_task(task, cmd.complete())
        assert (await b.event_types("wf"))[-1] == "WORKFLOW_EXECUTION_COMPLETED"
    finally:
        await other.stop()


async def test_new_owner_redispatches_outstanding_transfer_tasks(
    persistence, clock, matching, namespaces
) -> None:  # type: ignore[no-untyped-def]
    first = await make_service(persistence, clock, matching, namespaces)
    a = Harness(first, clock, matching, persistence)
    await a.start("wf")
    await a.next_workflow_task_dispatch("wf")
    await first.stop()  # before any ack level was persisted
    matching.workflow_tasks.clear()
    second = await make_service(persistence, clock, matching, namespaces, host_identity="host-b")
    try:
        b = Harness(second, clock, matching, persistence)
        task = await b.poll_workflow_task("wf")  # dispatched again from the store
        await b.complete_workflow_task(task, cmd.complete())
    finally:
        await second.stop()


async def test_ack_levels_are_persisted_and_tasks_deleted(harness: Harness) -> None:
    await harness.start("wf")
    await harness.next_workflow_task_dispatch("wf")
    await harness.clock.advance(6)  # past both ack intervals
    shard_id = shard_for(NS_ID, "wf", NUM_SHARDS)

    async def acked() -> bool:
        info = await harness.persistence.shards.get_or_create_shard(shard_id)
        return info.transfer_ack_level > 0

    for _ in range(100):
        if await acked():
            break
        await harness.clock.advance(1)
    assert await acked()
    left = await harness.persistence.executions.get_transfer_tasks(
        shard_id=shard_id, exclusive_min_task_id=0, inclusive_max_task_id=1 << 62, batch_size=100
    )
    assert left == []


async def test_requests_for_unowned_shards_are_unavailable(persistence, clock, matching, namespaces) -> None:  # type: ignore[no-untyped-def]
    owned = [s for s in range(NUM_SHARDS) if s != shard_for(NS_ID, "wf", NUM_SHARDS)]
    service = await make_service(persistence, clock, matching, namespaces, owned_shards=owned)
    try:
        with pytest.raises(Unavailable, match="not owned"):
            await Harness(service, clock, matching, persistence).start("wf")
    finally:
        await service.stop()
