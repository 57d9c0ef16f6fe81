"""User timers, signals (dedupe, signal-with-start), cancel requests and termination."""

from __future__ import annotations

import pytest

from legato.api.v1 import common_pb2, enums_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato_server.common.errors import FailedPrecondition, NotFound
from legato_server.internal.v1 import history_service_pb2 as hsvc
from tests.server.history import commands as cmd
from tests.server.history.conftest import NS, NS_ID, Harness


async def test_timer_fires_at_its_time(harness: Harness) -> None:
    await harness.start("wf")
    task = await harness.poll_workflow_task("wf")
    await harness.complete_workflow_task(task, cmd.start_timer("t1", 30))
    await harness.clock.advance(29)
    assert (await harness.event_types("wf"))[-1] == "TIMER_STARTED"
    await harness.clock.advance(1)
    await harness.next_workflow_task_dispatch("wf")
    events = await harness.history("wf")
    assert events[-2].event_type == enums_pb2.EVENT_TYPE_TIMER_FIRED
    assert events[-2].timer_fired_event_attributes.timer_id == "t1"
    assert events[-2].timer_fired_event_attributes.started_event_id == 5


async def test_earlier_timer_added_later_wakes_the_queue(harness: Harness) -> None:
    await harness.start("wf")
    task = await harness.poll_workflow_task("wf")
    await harness.complete_workflow_task(task, cmd.start_timer("slow", 100))
    await harness.signal("wf")
    task = await harness.poll_workflow_task("wf")
    await harness.complete_workflow_task(task, cmd.start_timer("fast", 5))
    await harness.clock.advance(5)
    await harness.next_workflow_task_dispatch("wf")
    fired = [
        e.timer_fired_event_attributes.timer_id
        for e in await harness.history("wf")
        if e.event_type == enums_pb2.EVENT_TYPE_TIMER_FIRED
    ]
    assert fired == ["fast"]


async def test_canceled_timer_does_not_fire(harness: Harness) -> None:
    await harness.start("wf")
    task = await harness.poll_workflow_task("wf")
    await harness.complete_workflow_task(task, cmd.start_timer("t1", 10))
    await harness.signal("wf")
    task = await harness.poll_workflow_task("wf")
    await harness.complete_workflow_task(task, cmd.cancel_timer("t1"))
    await harness.clock.advance(20)
    types = await harness.event_types("wf")
    assert "TIMER_CANCELED" in types and "TIMER_FIRED" not in types


async def test_timer_firing_while_cancel_is_decided_becomes_canceled(harness: Harness) -> None:
    await harness.start("wf")
    task = await harness.poll_workflow_task("wf")
    await harness.complete_workflow_task(task, cmd.start_timer("t1", 5))
    await harness.signal("wf")
    task = await harness.poll_workflow_task("wf")
    await harness.clock.advance(5)  # fires while the task runs (its timeout is 10s): buffered
    await harness.complete_workflow_task(task, cmd.cancel_timer("t1"))
    types = await harness.event_types("wf")
    assert "TIMER_FIRED" not in types and types[-1] == "TIMER_CANCELED"


async def test_signal_request_id_delivers_once(harness: Harness) -> None:
    await harness.start("wf")
    await harness.signal("wf", "s", request_id="r1")
    await harness.signal("wf", "s", request_id="r1")
    assert (await harness.event_types("wf")).count("WORKFLOW_EXECUTION_SIGNALED") == 1


async def test_signal_schedules_a_workflow_task_if_none_pending(harness: Harness) -> None:
    await harness.start("wf")
    task = await harness.poll_workflow_task("wf")
    await harness.complete_workflow_task(task)
    await harness.signal("wf", "wake")
    assert (await harness.event_types("wf"))[-2:] == [
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    await harness.next_workflow_task_dispatch("wf")


async def test_signal_to_unknown_or_closed_workflow(harness: Harness) -> None:
    with pytest.raises(NotFound):
        await harness.signal("missing")
    await harness.start("wf")
    task = await harness.poll_workflow_task("wf")
    await harness.complete_workflow_task(task, cmd.complete())
    with pytest.raises(FailedPrecondition, match="closed"):
        await harness.signal("wf")


async def _signal_with_start(
    harness: Harness, workflow_id: str
) -> ws.SignalWithStartWorkflowExecutionResponse:
    return await harness.handler.SignalWithStartWorkflowExecution(
        hsvc.SignalWithStartWorkflowExecutionRequest(
            namespace_id=NS_ID,
            signal_with_start_request=ws.SignalWithStartWorkflowExecutionRequest(
                namespace=NS,
                workflow_id=workflow_id,
                workflow_type=common_pb2.WorkflowType(name="MyWorkflow"),
                task_queue=common_pb2.TaskQueue(name="tq"),
                signal_name="go",
            ),
        )
    )


async def test_signal_with_start_starts_then_signals(harness: Harness) -> None:
    first = await _signal_with_start(harness, "wf")
    assert first.started
    assert await harness.event_types("wf") == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    second = await _signal_with_start(harness, "wf")
    assert not second.started and second.run_id == first.run_id
    assert (await harness.event_types("wf")).count("WORKFLOW_EXECUTION_SIGNALED") == 2


async def test_request_cancel_writes_event_and_workflow_task(harness: Harness) -> None:
    await harness.start("wf")
    task = await harness.poll_workflow_task("wf")
    await harness.complete_workflow_task(task)
    request = hsvc.RequestCancelWorkflowExecutionRequest(
        namespace_id=NS_ID,
        cancel_request=ws.RequestCancelWorkflowExecutionRequest(
            workflow_execution=common_pb2.WorkflowExecution(workflow_id="wf"), reason="stop please"
        ),
    )
    await harness.handler.RequestCancelWorkflowExecution(request)
    await harness.handler.RequestCancelWorkflowExecution(request)  # a second request changes nothing
    types = await harness.event_types("wf")
    assert types.count("WORKFLOW_EXECUTION_CANCEL_REQUESTED") == 1
    assert types[-1] == "WORKFLOW_TASK_SCHEDULED"


async def test_terminate_closes_the_run_and_stales_the_task(harness: Harness) -> None:
    await harness.start("wf")
    task = await harness.poll_workflow_task("wf")
    await harness.handler.TerminateWorkflowExecution(
        hsvc.TerminateWorkflowExecutionRequest(
            namespace_id=NS_ID,
            terminate_request=ws.TerminateWorkflowExecutionRequest(
                workflow_execution=common_pb2.WorkflowExecution(workflow_id="wf"), reason="enough"
            ),
        )
    )
    assert (await harness.event_types("wf"))[-1] == "WORKFLOW_EXECUTION_TERMINATED"
    with pytest.raises(NotFound):
        await harness.complete_workflow_task(task, cmd.complete())
