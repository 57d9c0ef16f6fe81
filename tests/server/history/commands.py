"""Command builders for tests: what an SDK would send."""

from __future__ import annotations

from typing import Any

from legato.api.v1 import command_pb2, common_pb2, enums_pb2
from legato_server.history.workflow.events import duration

CT = enums_pb2.CommandType


def complete(data: bytes = b"done") -> command_pb2.Command:
    return command_pb2.Command(
        command_type=CT.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
        complete_workflow_execution_command_attributes=command_pb2.CompleteWorkflowExecutionCommandAttributes(
            result=common_pb2.Payloads(payloads=[common_pb2.Payload(data=data)])
        ),
    )


def fail(message: str = "it failed") -> command_pb2.Command:
    return command_pb2.Command(
        command_type=CT.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION,
        fail_workflow_execution_command_attributes=command_pb2.FailWorkflowExecutionCommandAttributes(
            failure=common_pb2.Failure(message=message)
        ),
    )


def schedule_activity(
    activity_id: str = "a1", *, start_to_close: float = 10, **fields: Any
) -> command_pb2.Command:
    attrs = command_pb2.ScheduleActivityTaskCommandAttributes(
        activity_id=activity_id,
        activity_type=common_pb2.ActivityType(name="charge"),
        start_to_close_timeout=duration(start_to_close) if start_to_close else None,
        **fields,
    )
    return command_pb2.Command(
        command_type=CT.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK, schedule_activity_task_command_attributes=attrs
    )


def cancel_activity(scheduled_event_id: int) -> command_pb2.Command:
    return command_pb2.Command(
        command_type=CT.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK,
        request_cancel_activity_task_command_attributes=command_pb2.RequestCancelActivityTaskCommandAttributes(
            scheduled_event_id=scheduled_event_id
        ),
    )


def start_timer(timer_id: str = "t1", seconds: float = 30) -> command_pb2.Command:
    return command_pb2.Command(
        command_type=CT.COMMAND_TYPE_START_TIMER,
        start_timer_command_attributes=command_pb2.StartTimerCommandAttributes(
            timer_id=timer_id, start_to_fire_timeout=duration(seconds)
        ),
    )


def cancel_timer(timer_id: str = "t1") -> command_pb2.Command:
    return command_pb2.Command(
        command_type=CT.COMMAND_TYPE_CANCEL_TIMER,
        cancel_timer_command_attributes=command_pb2.CancelTimerCommandAttributes(timer_id=timer_id),
    )


def continue_as_new(data: bytes = b"next") -> command_pb2.Command:
    return command_pb2.Command(
        command_type=CT.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
        continue_as_new_workflow_execution_command_attributes=command_pb2.ContinueAsNewWorkflowExecutionCommandAttributes(
            input=common_pb2.Payloads(payloads=[common_pb2.Payload(data=data)])
        ),
    )


def start_child(workflow_id: str = "child", **fields: Any) -> command_pb2.Command:
    return command_pb2.Command(
        command_type=CT.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION,
        start_child_workflow_execution_command_attributes=command_pb2.StartChildWorkflowExecutionCommandAttributes(
            workflow_id=workflow_id, workflow_type=common_pb2.WorkflowType(name="Child"), **fields
        ),
    )


def signal_external(workflow_id: str, signal_name: str = "ping") -> command_pb2.Command:
    return command_pb2.Command(
        command_type=CT.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION,
        signal_external_workflow_execution_command_attributes=command_pb2.SignalExternalWorkflowExecutionCommandAttributes(
            execution=common_pb2.WorkflowExecution(workflow_id=workflow_id), signal_name=signal_name
        ),
    )


def cancel_external(workflow_id: str) -> command_pb2.Command:
    return command_pb2.Command(
        command_type=CT.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION,
        request_cancel_external_workflow_execution_command_attributes=(
            command_pb2.RequestCancelExternalWorkflowExecutionCommandAttributes(workflow_id=workflow_id)
        ),
    )


def record_marker(name: str = "m") -> command_pb2.Command:
    return command_pb2.Command(
        command_type=CT.COMMAND_TYPE_RECORD_MARKER,
        record_marker_command_attributes=command_pb2.RecordMarkerCommandAttributes(marker_name=name),
    )
