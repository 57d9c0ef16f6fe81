"""Workflow reset end to end on the dev server (SQLite): repair a failed run, re-apply signals, refuse bad points.

Each test drives a real worker; "a point in history" is found by reading the
run's history, never by assuming event ids, except where the shape of a
history is the thing under test.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

import grpc
import pytest

from legato import activity, workflow
from legato.api.v1 import enums_pb2, history_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato.client import Client, ResetType, WorkflowHandle
from legato.common import RetryPolicy, WorkflowExecutionStatus
from legato.exceptions import ApplicationError, RPCError, WorkflowFailureError
from legato.worker import Worker

ET = enums_pb2.EventType
T = TypeVar("T")
fixed: set[str] = set()
charge_attempts: dict[str, int] = {}


@activity.defn
async def charge_card(order: str) -> str:
    charge_attempts[order] = charge_attempts.get(order, 0) + 1
    if order not in fixed:
        raise ApplicationError("card declined", type="Declined", non_retryable=True)
    return f"charged {order}"


@workflow.defn
class ResetCheckout:
    @workflow.run
    async def run(self, order: str) -> str:
        return await workflow.execute_activity(
            charge_card,
            order,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(maximum_attempts=1),
        )


@workflow.defn
class SignalCollector:
    def __init__(self) -> None:
        self.items: list[str] = []

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: "done" in self.items)
        return self.items

    @workflow.signal
    def add(self, item: str) -> None:
        self.items.append(item)


released: dict[str, asyncio.Event] = {}


@activity.defn
async def wait_for_release(key: str) -> str:
    await released[key].wait()
    return f"released {key}"


@workflow.defn
class OpenWorkAtReset:
    def __init__(self) -> None:
        self.pokes = 0

    @workflow.run
    async def run(self, key: str) -> str:
        charged = await workflow.execute_activity(
            wait_for_release, key, start_to_close_timeout=timedelta(seconds=60)
        )
        await workflow.sleep(timedelta(seconds=5))
        return f"{charged} after {self.pokes} pokes"

    @workflow.signal
    def poke(self) -> None:
        self.pokes += 1


async def _eventually(
    probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], *, within: float = 20.0
) -> T:
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if done(value) or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.05)


def _ids(history: history_pb2.History, event_type: int) -> list[int]:
    return [e.event_id for e in history.events if e.event_type == event_type]


async def _completed_tasks(handle: WorkflowHandle[object], count: int) -> history_pb2.History:
    """The run's history once it holds ``count`` WorkflowTaskCompleted events."""
    history = await _eventually(
        handle.fetch_history, lambda h: len(_ids(h, ET.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)) >= count
    )
    assert len(_ids(history, ET.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)) >= count, history
    return history


async def test_reset_after_a_failed_activity_reruns_from_the_first_task_and_completes(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with Worker(client, task_queue=task_queue, workflows=[ResetCheckout], activities=[charge_card]):
        handle = await client.start_workflow(
            ResetCheckout.run, workflow_id, id=workflow_id, task_queue=task_queue
        )
        with pytest.raises(WorkflowFailureError):
            await handle.result()
        failed_run = (await handle.describe()).run_id

        fixed.add(workflow_id)  # the "bug fix"
        new = await handle.reset(reset_type=ResetType.FIRST_WORKFLOW_TASK, reason="card fixed")
        assert new.started_run_id and new.started_run_id != failed_run
        assert await new.result() == f"charged {workflow_id}"
    assert charge_attempts[workflow_id] == 2

    history = await client.get_workflow_handle(workflow_id, run_id=new.started_run_id).fetch_history()
    types = [e.event_type for e in history.events]
    # The copy ends with the first task's WorkflowTaskStarted, failed with cause RESET_WORKFLOW.
    assert types[:5] == [
        ET.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        ET.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        ET.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        ET.EVENT_TYPE_WORKFLOW_TASK_FAILED,
        ET.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    ]
    reset_failure = history.events[3].workflow_task_failed_event_attributes
    assert reset_failure.cause == enums_pb2.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW
    assert reset_failure.failure.message == "card fixed"
    assert types[-1] == ET.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED

    # The failed run was already closed: it keeps its status and records the reset.
    old = await client.get_workflow_handle(workflow_id, run_id=failed_run).describe()
    assert old.status == WorkflowExecutionStatus.FAILED
    assert old.raw.reset_by.new_run_id == new.started_run_id
    assert old.raw.reset_by.reason == "card fixed"
    described = await client.get_workflow_handle(workflow_id).describe()
    assert described.run_id == new.started_run_id
    assert described.raw.reset_from.base_run_id == failed_run
    assert (
        described.raw.reset_from.event_id
        == _ids(
            await client.get_workflow_handle(workflow_id, run_id=failed_run).fetch_history(),
            ET.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        )[0]
    )


@pytest.mark.parametrize("reapply", [True, False], ids=["reapply-signals", "drop-signals"])
async def test_reset_terminates_the_running_run_and_reapplies_later_signals_when_asked(
    client: Client, task_queue: str, workflow_id: str, reapply: bool
) -> None:
    async with Worker(client, task_queue=task_queue, workflows=[SignalCollector]):
        handle = await client.start_workflow(SignalCollector.run, id=workflow_id, task_queue=task_queue)
        first_task = _ids(await _completed_tasks(handle, 1), ET.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)[0]
        await handle.signal(SignalCollector.add, "a")
        await _completed_tasks(handle, 2)
        await handle.signal(SignalCollector.add, "b")
        await _completed_tasks(handle, 3)
        old_run = (await handle.describe()).run_id

        new = await handle.reset(event_id=first_task, reason="replay the signals", reapply_signals=reapply)
        await handle.signal(SignalCollector.add, "done")  # the handle follows the current run
        assert await new.result() == (["a", "b", "done"] if reapply else ["done"])

    old = client.get_workflow_handle(workflow_id, run_id=old_run)
    description = await old.describe()
    assert description.status == WorkflowExecutionStatus.TERMINATED
    assert description.raw.reset_by.reason == "replay the signals"
    assert description.raw.reset_by.new_run_id == new.started_run_id
    close = (await old.fetch_history()).events[-1]
    assert close.event_type == ET.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED
    assert close.workflow_execution_terminated_event_attributes.reason == "replay the signals"


async def test_reset_to_a_point_that_is_not_a_workflow_task_boundary_is_refused(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with Worker(client, task_queue=task_queue, workflows=[SignalCollector]):
        handle = await client.start_workflow(SignalCollector.run, id=workflow_id, task_queue=task_queue)
        history = await _completed_tasks(handle, 1)
        completed = _ids(history, ET.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
        run_id = (await handle.describe()).run_id

        for event_id, expected in (
            (1, "event 1 is a WorkflowExecutionStarted, not the end of a workflow task"),
            (completed[0] - 1, "is a WorkflowTaskStarted, not the end of a workflow task"),
            (10_000, f"event 10000 is not in the history of run {run_id}"),
        ):
            with pytest.raises(RPCError) as refused:
                await handle.reset(event_id=event_id, reason="bad")
            assert refused.value.status == grpc.StatusCode.INVALID_ARGUMENT
            assert expected in refused.value.details
            assert f"allowed event ids of run {run_id}: {completed[0]}" in refused.value.details

        # Neither an event id nor a type: the SDK says so, and so does the server.
        with pytest.raises(ValueError, match="exactly one of event_id"):
            await handle.reset(reason="no point")
        with pytest.raises(RPCError) as refused:
            await client.service.call(
                "ResetWorkflowExecution",
                ws.ResetWorkflowExecutionRequest(
                    namespace=client.namespace, workflow_execution=handle._execution(), reason="no point"
                ),
            )
        assert refused.value.status == grpc.StatusCode.INVALID_ARGUMENT
        assert "reset_type" in refused.value.details

        # Nothing was written: the same run is current and still running.
        described = await handle.describe()
        assert described.run_id == run_id
        assert described.status == WorkflowExecutionStatus.RUNNING
        await handle.signal(SignalCollector.add, "done")
        assert await handle.result() == ["done"]


@pytest.mark.parametrize("open_work", ["activity", "timer"])
async def test_reset_rearms_the_activity_or_timer_open_at_the_point(
    client: Client, task_queue: str, workflow_id: str, open_work: str
) -> None:
    released[workflow_id] = asyncio.Event()
    if open_work == "timer":
        released[workflow_id].set()
    opened = ET.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED if open_work == "activity" else ET.EVENT_TYPE_TIMER_STARTED
    async with Worker(
        client, task_queue=task_queue, workflows=[OpenWorkAtReset], activities=[wait_for_release]
    ):
        handle = await client.start_workflow(
            OpenWorkAtReset.run, workflow_id, id=workflow_id, task_queue=task_queue
        )
        await _eventually(handle.fetch_history, lambda h: bool(_ids(h, opened)))
        await handle.signal(OpenWorkAtReset.poke)  # a workflow task after the work was opened
        history = await _eventually(
            handle.fetch_history,
            lambda h: _ids(h, ET.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)[-1] > _ids(h, opened)[0],
        )
        point = _ids(history, ET.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)[-1]

        new = await handle.reset(reset_type=ResetType.LAST_WORKFLOW_TASK, reason=f"open {open_work}")
        released[workflow_id].set()
        assert await new.result() == f"released {workflow_id} after 1 pokes"

    events = (await client.get_workflow_handle(workflow_id, run_id=new.started_run_id).fetch_history()).events
    reset_at = next(e.event_id for e in events if e.event_type == ET.EVENT_TYPE_WORKFLOW_TASK_FAILED)
    assert reset_at == point  # the copy ends where the reset went back to
    # The open work was re-armed, not commanded again: one Scheduled/Started, its outcome after the reset.
    assert len([e for e in events if e.event_type == opened]) == 1
    outcome = ET.EVENT_TYPE_ACTIVITY_TASK_COMPLETED if open_work == "activity" else ET.EVENT_TYPE_TIMER_FIRED
    assert [e.event_id for e in events if e.event_type == outcome][0] > reset_at


async def test_reset_of_an_earlier_run_ends_the_current_one_and_reapplies_the_signals_of_both(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with Worker(client, task_queue=task_queue, workflows=[SignalCollector]):
        first = await client.start_workflow(SignalCollector.run, id=workflow_id, task_queue=task_queue)
        point = _ids(await _completed_tasks(first, 1), ET.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)[0]
        await first.signal(SignalCollector.add, "a")
        await _completed_tasks(first, 2)
        first_run = (await first.describe()).run_id
        await first.terminate("replaced")
        second = await client.start_workflow(SignalCollector.run, id=workflow_id, task_queue=task_queue)
        await _completed_tasks(second, 1)
        await second.signal(SignalCollector.add, "b")
        await _completed_tasks(second, 2)
        second_run = (await second.describe()).run_id

        earlier = client.get_workflow_handle(workflow_id, run_id=first_run)
        new = await earlier.reset(event_id=point, reason="from the first run")
        await client.get_workflow_handle(workflow_id).signal(SignalCollector.add, "done")
        assert await new.result() == ["a", "b", "done"]

    current = await client.get_workflow_handle(workflow_id, run_id=second_run).describe()
    assert current.status == WorkflowExecutionStatus.TERMINATED
    assert current.raw.reset_by.base_run_id == first_run
    assert current.raw.reset_by.new_run_id == new.started_run_id


async def test_a_retried_reset_request_returns_the_same_new_run(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with Worker(client, task_queue=task_queue, workflows=[SignalCollector]):
        handle = await client.start_workflow(SignalCollector.run, id=workflow_id, task_queue=task_queue)
        await _completed_tasks(handle, 1)
        old_run = (await handle.describe()).run_id
        request = ws.ResetWorkflowExecutionRequest(
            namespace=client.namespace,
            workflow_execution=handle._execution(),
            reason="retried",
            reset_type=enums_pb2.RESET_TYPE_FIRST_WORKFLOW_TASK,
            request_id=f"reset-{workflow_id}",
        )
        first: ws.ResetWorkflowExecutionResponse = await client.service.call(
            "ResetWorkflowExecution", request
        )
        again: ws.ResetWorkflowExecutionResponse = await client.service.call(
            "ResetWorkflowExecution", request
        )
        assert again.run_id == first.run_id != old_run
        described = await handle.describe()
        assert described.run_id == first.run_id
        assert described.status == WorkflowExecutionStatus.RUNNING
        assert described.raw.reset_from.base_run_id == old_run
        await handle.signal(SignalCollector.add, "done")
        assert await client.get_workflow_handle(workflow_id, run_id=first.run_id).result() == ["done"]
