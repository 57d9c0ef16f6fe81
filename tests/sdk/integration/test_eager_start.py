"""Eager workflow start: the run's first workflow task comes back in the start response.

Granted only when a worker built on the starting client polls the queue and
has a free slot; then the server writes WorkflowTaskStarted in the same write
that creates the run (its time is the start's) and nothing goes through
matching. Every other case (not asked, no free slot, no worker on this
client, a retried request id, a start delay) takes the normal path and still
completes, with no slot lost. A task granted to a process that never runs it
is not lost either: its timeout hands it to another worker.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from legato import workflow
from legato.api.v1 import enums_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato.client import Client
from legato.exceptions import WorkflowAlreadyStartedError
from legato.testing import WorkflowEnvironment
from legato.worker import Worker
from tests.waiting import wait_until

ET = enums_pb2.EventType


@workflow.defn
class Greet:
    @workflow.run
    async def run(self, name: str) -> str:
        return f"Hello, {name}!"


async def first_task_started_with_the_run(client: Client, workflow_id: str) -> bool:
    """True when WorkflowTaskStarted was written in the same batch as WorkflowExecutionStarted."""
    events = (await client.get_workflow_handle(workflow_id).fetch_history()).events
    assert [e.event_type for e in events[:3]] == [
        ET.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        ET.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        ET.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    ]
    return events[2].event_time == events[0].event_time and events[2].task_id == events[0].task_id


def eager_starts(worker: Worker) -> int:
    stats = worker.workflow_stats
    assert stats is not None
    return stats.eager_starts


async def test_the_first_task_comes_back_with_the_start(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with Worker(client, task_queue=task_queue, workflows=[Greet]) as worker:
        handle = await client.start_workflow(
            Greet.run, "eager", id=workflow_id, task_queue=task_queue, request_eager_start=True
        )
        assert await handle.result() == "Hello, eager!"
    assert eager_starts(worker) == 1
    assert await first_task_started_with_the_run(client, workflow_id)


async def test_not_asked_the_task_goes_through_matching(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with Worker(client, task_queue=task_queue, workflows=[Greet]) as worker:
        assert await client.execute_workflow(Greet.run, "plain", id=workflow_id, task_queue=task_queue) == (
            "Hello, plain!"
        )
    assert eager_starts(worker) == 0
    assert not await first_task_started_with_the_run(client, workflow_id)


async def test_a_worker_on_another_client_is_not_used(
    client: Client, task_queue: str, workflow_id: str, env: WorkflowEnvironment
) -> None:
    other = await Client.connect(env.address, namespace=client.namespace)
    async with Worker(other, task_queue=task_queue, workflows=[Greet]) as worker:
        handle = await client.start_workflow(
            Greet.run, "other", id=workflow_id, task_queue=task_queue, request_eager_start=True
        )
        assert await handle.result() == "Hello, other!"
    assert eager_starts(worker) == 0


async def test_with_no_free_slot_the_start_goes_the_normal_way(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with Worker(
        client, task_queue=task_queue, workflows=[Greet], max_concurrent_workflow_tasks=1, workflow_pollers=1
    ) as worker:
        # The one slot is taken by a poller waiting on the queue: nothing is free to reserve.
        slots = worker._workflow_worker._slots  # type: ignore[union-attr]
        await wait_until(slots.locked, what="the poller to hold the only slot")
        handle = await client.start_workflow(
            Greet.run, "busy", id=workflow_id, task_queue=task_queue, request_eager_start=True
        )
        assert await handle.result() == "Hello, busy!"
    assert eager_starts(worker) == 0


class RecordingSlots:
    """A worker's eager-start side that records what the client did with it."""

    def __init__(self, *, free: bool = True) -> None:
        self.free = free
        self.reserved = self.released = 0
        self.tasks: list[ws.PollWorkflowTaskQueueResponse] = []

    async def reserve_eager_start(self) -> bool:
        self.reserved += self.free
        return self.free

    def release_eager_start(self) -> None:
        self.released += 1

    def run_eager_start(self, task: ws.PollWorkflowTaskQueueResponse) -> None:
        self.tasks.append(task)


async def test_a_retried_start_gets_no_task_and_gives_its_slot_back(
    client: Client, task_queue: str, workflow_id: str, env: WorkflowEnvironment
) -> None:
    slots = RecordingSlots()
    starter = await Client.connect(env.address, namespace=client.namespace)
    starter._eager_start.add(task_queue, slots)
    first = await starter.start_workflow(
        Greet.run, "once", id=workflow_id, task_queue=task_queue, request_id="same", request_eager_start=True
    )
    again = await starter.start_workflow(
        Greet.run, "once", id=workflow_id, task_queue=task_queue, request_id="same", request_eager_start=True
    )
    assert again.result_run_id == first.result_run_id
    assert (slots.reserved, len(slots.tasks), slots.released) == (2, 1, 1)
    # A start the server refuses gives its slot back too.
    with pytest.raises(WorkflowAlreadyStartedError):
        await starter.start_workflow(
            Greet.run, "twice", id=workflow_id, task_queue=task_queue, request_eager_start=True
        )
    assert (slots.reserved, slots.released) == (3, 2)
    # The granted task runs on a real worker when handed to it (as the registry would).
    async with Worker(client, task_queue=task_queue, workflows=[Greet]) as worker:
        worker._workflow_worker.run_eager_start(slots.tasks[0])  # type: ignore[union-attr]
        assert await first.result() == "Hello, once!"
    assert eager_starts(worker) == 1


async def test_a_start_delay_is_never_eager(client: Client, task_queue: str, workflow_id: str) -> None:
    async with Worker(client, task_queue=task_queue, workflows=[Greet]) as worker:
        handle = await client.start_workflow(
            Greet.run,
            "later",
            id=workflow_id,
            task_queue=task_queue,
            start_delay=timedelta(milliseconds=200),
            request_eager_start=True,
        )
        assert await handle.result() == "Hello, later!"
    assert eager_starts(worker) == 0


async def test_a_granted_task_that_never_runs_times_out_and_runs_elsewhere(
    client: Client, task_queue: str, workflow_id: str, env: WorkflowEnvironment
) -> None:
    dead = RecordingSlots()  # takes the task and never runs it: its process died
    starter = await Client.connect(env.address, namespace=client.namespace)
    starter._eager_start.add(task_queue, dead)
    handle = await starter.start_workflow(
        Greet.run,
        "rescued",
        id=workflow_id,
        task_queue=task_queue,
        task_timeout=timedelta(seconds=1),
        request_eager_start=True,
    )
    assert len(dead.tasks) == 1 and dead.tasks[0].started_event_id == 3 and dead.released == 0
    async with Worker(client, task_queue=task_queue, workflows=[Greet]):
        assert await handle.result() == "Hello, rescued!"
    events = (await client.get_workflow_handle(workflow_id).fetch_history()).events
    assert ET.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT in [e.event_type for e in events]
