"""Task queues: leases bump range_id; writes are conditional on holding the latest lease."""

from __future__ import annotations

import asyncio
from typing import TypedDict

import pytest

from legato_server.persistence.interface import (
    ConditionFailedError,
    Persistence,
    QueuedTask,
    TaskQueueRecord,
)
from tests.persistence.builders import ACTIVITY_QUEUE, WORKFLOW_QUEUE, unique
from tests.persistence.conftest import OpenStore


class QueueKey(TypedDict):
    namespace_id: str
    name: str
    task_type: int


def _queue() -> QueueKey:
    return QueueKey(namespace_id=unique("ns"), name=unique("queue"), task_type=WORKFLOW_QUEUE)


def _tasks(*ids: int, expiry_time_ms: int = 0) -> list[QueuedTask]:
    return [QueuedTask(task_id=i, data=f"task:{i}".encode(), expiry_time_ms=expiry_time_ms) for i in ids]


async def _all_tasks(store: Persistence, queue: QueueKey) -> list[QueuedTask]:
    return await store.task_queues.get_tasks(
        **queue, exclusive_min_task_id=-1, inclusive_max_task_id=1 << 62, batch_size=1000
    )


async def test_first_lease_creates_the_queue_at_range_one_and_later_leases_bump_it(
    persistence: Persistence,
) -> None:
    queue = _queue()

    first = await persistence.task_queues.lease_task_queue(**queue)
    second = await persistence.task_queues.lease_task_queue(**queue)

    assert (first.range_id, first.ack_level, first.data) == (1, 0, b"")
    assert second.range_id == 2
    assert (second.namespace_id, second.name, second.task_type) == tuple(queue.values())


async def test_update_saves_ack_level_and_data_for_the_next_lease(persistence: Persistence) -> None:
    queue = _queue()
    leased = await persistence.task_queues.lease_task_queue(**queue)

    await persistence.task_queues.update_task_queue(
        TaskQueueRecord(**queue, range_id=leased.range_id, ack_level=17, data=b"meta")
    )

    again = await persistence.task_queues.lease_task_queue(**queue)
    assert (again.range_id, again.ack_level, again.data) == (leased.range_id + 1, 17, b"meta")


async def test_update_with_a_stale_lease_fails_and_writes_nothing(persistence: Persistence) -> None:
    queue = _queue()
    stale = await persistence.task_queues.lease_task_queue(**queue)
    await persistence.task_queues.lease_task_queue(**queue)

    with pytest.raises(ConditionFailedError):
        await persistence.task_queues.update_task_queue(
            TaskQueueRecord(**queue, range_id=stale.range_id, ack_level=99, data=b"stale")
        )

    latest = await persistence.task_queues.lease_task_queue(**queue)
    assert (latest.ack_level, latest.data) == (0, b"")


async def test_concurrent_leases_hand_out_distinct_increasing_ranges(open_store: OpenStore) -> None:
    first_host, second_host = await open_store(), await open_store()
    queue = _queue()
    await first_host.task_queues.lease_task_queue(**queue)

    outcomes = await asyncio.gather(
        first_host.task_queues.lease_task_queue(**queue),
        second_host.task_queues.lease_task_queue(**queue),
        return_exceptions=True,
    )

    leases = [o for o in outcomes if isinstance(o, TaskQueueRecord)]
    failures = [o for o in outcomes if not isinstance(o, TaskQueueRecord)]
    assert all(isinstance(f, ConditionFailedError) for f in failures), failures
    assert leases, "at least one lease must succeed"
    ranges = sorted(lease.range_id for lease in leases)
    assert len(set(ranges)) == len(ranges)
    assert all(r > 1 for r in ranges)
    # Only the newest lease may write; every older one is fenced off.
    newest = max(ranges)
    await first_host.task_queues.create_tasks(**queue, range_id=newest, tasks=_tasks(1))
    for older in [1, *ranges[:-1]]:
        with pytest.raises(ConditionFailedError):
            await second_host.task_queues.create_tasks(**queue, range_id=older, tasks=_tasks(2))
    assert [t.task_id for t in await _all_tasks(first_host, queue)] == [1]


async def test_create_tasks_with_a_stale_lease_writes_nothing(persistence: Persistence) -> None:
    queue = _queue()
    stale = await persistence.task_queues.lease_task_queue(**queue)
    await persistence.task_queues.lease_task_queue(**queue)

    with pytest.raises(ConditionFailedError):
        await persistence.task_queues.create_tasks(**queue, range_id=stale.range_id, tasks=_tasks(1, 2))

    assert await _all_tasks(persistence, queue) == []


async def test_create_tasks_in_a_queue_never_leased_fails(persistence: Persistence) -> None:
    queue = _queue()

    with pytest.raises(ConditionFailedError):
        await persistence.task_queues.create_tasks(**queue, range_id=1, tasks=_tasks(1))

    assert await _all_tasks(persistence, queue) == []


async def test_tasks_round_trip_in_order_with_ranges_and_batches(persistence: Persistence) -> None:
    queue = _queue()
    lease = await persistence.task_queues.lease_task_queue(**queue)
    written = _tasks(30, 10, 20, expiry_time_ms=1_700_000_000_000) + _tasks(40)

    await persistence.task_queues.create_tasks(**queue, range_id=lease.range_id, tasks=written)

    assert await _all_tasks(persistence, queue) == sorted(written, key=lambda t: t.task_id)
    in_range = await persistence.task_queues.get_tasks(
        **queue, exclusive_min_task_id=10, inclusive_max_task_id=40, batch_size=2
    )
    assert [t.task_id for t in in_range] == [20, 30]


async def test_queues_are_separate_per_task_type(persistence: Persistence) -> None:
    workflow_queue = _queue()
    activity_queue = QueueKey(
        namespace_id=workflow_queue["namespace_id"], name=workflow_queue["name"], task_type=ACTIVITY_QUEUE
    )
    workflow_lease = await persistence.task_queues.lease_task_queue(**workflow_queue)
    activity_lease = await persistence.task_queues.lease_task_queue(**activity_queue)

    await persistence.task_queues.create_tasks(
        **workflow_queue, range_id=workflow_lease.range_id, tasks=_tasks(1)
    )

    assert activity_lease.range_id == 1
    assert await _all_tasks(persistence, activity_queue) == []
    assert [t.task_id for t in await _all_tasks(persistence, workflow_queue)] == [1]


async def test_completing_tasks(persistence: Persistence) -> None:
    queue = _queue()
    lease = await persistence.task_queues.lease_task_queue(**queue)
    await persistence.task_queues.create_tasks(**queue, range_id=lease.range_id, tasks=_tasks(1, 2, 3, 4, 5))

    deleted = await persistence.task_queues.complete_tasks_less_than(**queue, exclusive_max_task_id=3)
    await persistence.task_queues.complete_task(**queue, task_id=5)

    assert deleted == 2
    assert [t.task_id for t in await _all_tasks(persistence, queue)] == [3, 4]


async def _listed(store: Persistence, namespace_id: str, *, page_size: int) -> list[TaskQueueRecord]:
    listed: list[TaskQueueRecord] = []
    token = b""
    while True:
        page, token = await store.task_queues.list_task_queues(
            namespace_id=namespace_id, page_size=page_size, page_token=token
        )
        assert len(page) <= page_size
        listed.extend(page)
        if not token:
            return listed


async def test_list_task_queues_pages_through_the_namespaces_queues_only(persistence: Persistence) -> None:
    namespace_id = unique("ns")
    ours = [
        QueueKey(namespace_id=namespace_id, name=f"queue-{letter}", task_type=task_type)
        for letter in "cab"
        for task_type in (WORKFLOW_QUEUE, ACTIVITY_QUEUE)
    ]
    for queue in ours:
        await persistence.task_queues.lease_task_queue(**queue)
    other = _queue()
    await persistence.task_queues.lease_task_queue(**other)

    listed = await _listed(persistence, namespace_id, page_size=4)

    assert sorted((r.name, r.task_type) for r in listed) == sorted((q["name"], q["task_type"]) for q in ours)
    assert all(r.namespace_id == namespace_id and r.range_id == 1 for r in listed)


async def test_list_task_queues_of_a_namespace_without_queues_is_empty(persistence: Persistence) -> None:
    assert await _listed(persistence, unique("ns"), page_size=10) == []


async def test_delete_task_queue_removes_the_queue_and_its_backlog_and_fences_its_holder(
    persistence: Persistence,
) -> None:
    queue = _queue()
    lease = await persistence.task_queues.lease_task_queue(**queue)
    await persistence.task_queues.create_tasks(**queue, range_id=lease.range_id, tasks=_tasks(1, 2, 3))
    neighbour = QueueKey(namespace_id=queue["namespace_id"], name=queue["name"], task_type=ACTIVITY_QUEUE)
    neighbour_lease = await persistence.task_queues.lease_task_queue(**neighbour)
    await persistence.task_queues.create_tasks(
        **neighbour, range_id=neighbour_lease.range_id, tasks=_tasks(7)
    )

    await persistence.task_queues.delete_task_queue(**queue)
    await persistence.task_queues.delete_task_queue(**queue)  # idempotent

    assert await _all_tasks(persistence, queue) == []
    assert [
        (r.name, r.task_type) for r in await _listed(persistence, queue["namespace_id"], page_size=10)
    ] == [(neighbour["name"], ACTIVITY_QUEUE)]
    with pytest.raises(ConditionFailedError):
        await persistence.task_queues.create_tasks(**queue, range_id=lease.range_id, tasks=_tasks(4))
    assert [t.task_id for t in await _all_tasks(persistence, neighbour)] == [7]
    # The queue can be leased afresh afterwards.
    assert (await persistence.task_queues.lease_task_queue(**queue)).range_id == 1
