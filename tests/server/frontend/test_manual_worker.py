"""One workflow driven end to end by a hand-written worker over raw gRPC.

start -> workflow task -> ScheduleActivityTask -> activity task -> complete it
-> workflow task -> CompleteWorkflowExecution, while a client long-polls the
history for the close event. Uses the real frontend, history and matching;
nothing of the SDK.
"""

from __future__ import annotations

import asyncio

import pytest
from google.protobuf import duration_pb2

from legato.api.v1 import command_pb2, common_pb2, enums_pb2
from legato.api.v1 import workflow_service_pb2 as ws

NAMESPACE = "default"
QUEUE = "manual-worker"
POLL_TIMEOUT_S = 15.0


def payloads(*values: bytes) -> common_pb2.Payloads:
    return common_pb2.Payloads(
        payloads=[common_pb2.Payload(metadata={"encoding": b"json/plain"}, data=value) for value in values]
    )


async def poll_workflow_task(stub) -> ws.PollWorkflowTaskQueueResponse:  # type: ignore[no-untyped-def]
    task = await stub.PollWorkflowTaskQueue(
        ws.PollWorkflowTaskQueueRequest(
            namespace=NAMESPACE, task_queue=common_pb2.TaskQueue(name=QUEUE), identity="manual-worker"
        ),
        timeout=POLL_TIMEOUT_S,
    )
    assert task.task_token, "no workflow task within the poll timeout"
    return task


async def poll_activity_task(stub) -> ws.PollActivityTaskQueueResponse:  # type: ignore[no-untyped-def]
    task = await stub.PollActivityTaskQueue(
        ws.PollActivityTaskQueueRequest(
            namespace=NAMESPACE, task_queue=common_pb2.TaskQueue(name=QUEUE), identity="manual-worker"
        ),
        timeout=POLL_TIMEOUT_S,
    )
    assert task.task_token, "no activity task within the poll timeout"
    return task


def event_types(history: object) -> list[int]:
    return [event.event_type for event in history.events]  # type: ignore[attr-defined]


@pytest.mark.timeout(60)
async def test_a_workflow_runs_an_activity_and_completes(server_address_and_stub) -> None:  # type: ignore[no-untyped-def]
    _, stub = server_address_and_stub
    started = await stub.StartWorkflowExecution(
        ws.StartWorkflowExecutionRequest(
            namespace=NAMESPACE,
            workflow_id="checkout-1",
            workflow_type=common_pb2.WorkflowType(name="Checkout"),
            task_queue=common_pb2.TaskQueue(name=QUEUE),
            input=payloads(b'"order-1"'),
        ),
        timeout=10,
    )
    assert started.run_id and started.started
    execution = common_pb2.WorkflowExecution(workflow_id="checkout-1", run_id=started.run_id)

    # A client waits for the result while the worker works.
    result = asyncio.ensure_future(
        stub.GetWorkflowExecutionHistory(
            ws.GetWorkflowExecutionHistoryRequest(
                namespace=NAMESPACE,
                execution=execution,
                wait_new_event=True,
                history_event_filter_type=enums_pb2.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
            ),
            timeout=45,
        )
    )

    first = await poll_workflow_task(stub)
    assert first.workflow_execution == execution
    assert first.workflow_type.name == "Checkout"
    assert event_types(first.history)[:3] == [
        enums_pb2.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        enums_pb2.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        enums_pb2.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    ]
    await stub.RespondWorkflowTaskCompleted(
        ws.RespondWorkflowTaskCompletedRequest(
            namespace=NAMESPACE,
            task_token=first.task_token,
            identity="manual-worker",
            commands=[
                command_pb2.Command(
                    command_type=enums_pb2.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
                    schedule_activity_task_command_attributes=command_pb2.ScheduleActivityTaskCommandAttributes(
                        activity_id="1",
                        activity_type=common_pb2.ActivityType(name="charge"),
                        task_queue=common_pb2.TaskQueue(name=QUEUE),
                        input=payloads(b'"order-1"', b"1999"),
                        start_to_close_timeout=duration_pb2.Duration(seconds=10),
                    ),
                )
            ],
        ),
        timeout=10,
    )

    activity = await poll_activity_task(stub)
    assert activity.activity_type.name == "charge"
    assert activity.activity_id == "1"
    assert [p.data for p in activity.input.payloads] == [b'"order-1"', b"1999"]
    await stub.RespondActivityTaskCompleted(
        ws.RespondActivityTaskCompletedRequest(
            namespace=NAMESPACE, task_token=activity.task_token, result=payloads(b'"receipt-7"')
        ),
        timeout=10,
    )

    second = await poll_workflow_task(stub)
    assert enums_pb2.EVENT_TYPE_ACTIVITY_TASK_COMPLETED in event_types(second.history)
    await stub.RespondWorkflowTaskCompleted(
        ws.RespondWorkflowTaskCompletedRequest(
            namespace=NAMESPACE,
            task_token=second.task_token,
            commands=[
                command_pb2.Command(
                    command_type=enums_pb2.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
                    complete_workflow_execution_command_attributes=command_pb2.CompleteWorkflowExecutionCommandAttributes(
                        result=payloads(b'"done"')
                    ),
                )
            ],
        ),
        timeout=10,
    )

    closed = await result
    assert event_types(closed.history) == [enums_pb2.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED]
    completed = closed.history.events[0].workflow_execution_completed_event_attributes
    assert completed.result.payloads[0].data == b'"done"'

    described = await stub.DescribeWorkflowExecution(
        ws.DescribeWorkflowExecutionRequest(namespace=NAMESPACE, execution=execution), timeout=10
    )
    assert described.workflow_execution_info.status == enums_pb2.WORKFLOW_EXECUTION_STATUS_COMPLETED
