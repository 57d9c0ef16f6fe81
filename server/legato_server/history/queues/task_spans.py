"""Span names and attributes of transfer and timer tasks (see ``common.tracing``).

A task carries its run's trace context (copied from ``ExecutionInfo`` when the
task was written); when it is empty (tracing off, or the run started while it
was off) the attempt runs unwrapped, so tracing off costs one truth test.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from legato_server.common import tracing
from legato_server.internal.v1 import history_state_pb2 as hs

Attempt = Callable[[], Awaitable[None]]

TRANSFER_SPAN_NAMES = {
    hs.TRANSFER_TASK_TYPE_WORKFLOW_TASK: "DispatchWorkflowTask",
    hs.TRANSFER_TASK_TYPE_ACTIVITY_TASK: "DispatchActivityTask",
    hs.TRANSFER_TASK_TYPE_RECORD_STARTED: "RecordWorkflowStarted",
    hs.TRANSFER_TASK_TYPE_UPSERT_VISIBILITY: "UpsertVisibility",
    hs.TRANSFER_TASK_TYPE_CLOSE_EXECUTION: "CloseExecution",
    hs.TRANSFER_TASK_TYPE_START_CHILD: "StartChildWorkflow",
    hs.TRANSFER_TASK_TYPE_SIGNAL_EXTERNAL: "SignalExternalWorkflow",
    hs.TRANSFER_TASK_TYPE_CANCEL_EXTERNAL: "CancelExternalWorkflow",
}

TIMER_SPAN_NAMES = {
    hs.TIMER_TASK_TYPE_USER_TIMER: "FireTimer",
    hs.TIMER_TASK_TYPE_ACTIVITY_TIMEOUT: "ActivityTimeout",
    hs.TIMER_TASK_TYPE_ACTIVITY_RETRY: "ActivityRetry",
    hs.TIMER_TASK_TYPE_WORKFLOW_TASK_TIMEOUT: "WorkflowTaskTimeout",
    hs.TIMER_TASK_TYPE_WORKFLOW_TIMEOUT: "WorkflowTimeout",
    hs.TIMER_TASK_TYPE_WORKFLOW_BACKOFF: "WorkflowBackoff",
    hs.TIMER_TASK_TYPE_DELETE_EXECUTION: "DeleteExecution",
    hs.TIMER_TASK_TYPE_WORKFLOW_TASK_RETRY: "WorkflowTaskRetry",
}


def traced_transfer(info: hs.TransferTaskInfo, attempt: Attempt) -> Attempt:
    if not info.trace_context:
        return attempt
    attributes = {
        "legato.namespace_id": info.namespace_id,
        "legato.workflow_id": info.workflow_id,
        "legato.run_id": info.run_id,
        "legato.task_type": hs.TransferTaskType.Name(info.task_type),
    }
    if info.task_queue.name:
        attributes["legato.task_queue"] = info.task_queue.name
    name = TRANSFER_SPAN_NAMES.get(info.task_type, "TransferTask")
    return tracing.run_task("history", name, info.trace_context, attributes, attempt)


def traced_timer(info: hs.TimerTaskInfo, attempt: Attempt) -> Attempt:
    if not info.trace_context:
        return attempt
    attributes = {
        "legato.namespace_id": info.namespace_id,
        "legato.workflow_id": info.workflow_id,
        "legato.run_id": info.run_id,
        "legato.task_type": hs.TimerTaskType.Name(info.task_type),
    }
    if info.timer_id:
        attributes["legato.timer_id"] = info.timer_id
    name = TIMER_SPAN_NAMES.get(info.task_type, "TimerTask")
    return tracing.run_task("history", name, info.trace_context, attributes, attempt)
