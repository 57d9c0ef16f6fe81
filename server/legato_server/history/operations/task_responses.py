"""What a worker is handed for a started task, from a poll or inline with another answer.

A workflow task's response carries the history the worker needs (all of it
from the normal queue, the events since its last completed task on a sticky
queue); an activity task's carries the attempt. Matching's polls, eager start,
``return_new_workflow_task``, eager activities and the eager workflow task of an
activity completion all build them here.
"""

from __future__ import annotations

from dataclasses import dataclass

from legato.api.v1 import common_pb2, enums_pb2, history_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato_server.history.operations.history_read import read_run_events
from legato_server.history.shards.shard import Shard
from legato_server.history.tokens import encode_task_token
from legato_server.history.workflow import events as ev
from legato_server.history.workflow.mutable_state import MutableState
from legato_server.internal.v1 import history_state_pb2 as hs
from legato_server.internal.v1 import tokens_pb2


@dataclass
class StartedTask:
    """What a poll response is built from, captured under the run's lock."""

    namespace_id: str
    namespace: str
    execution: common_pb2.WorkflowExecution
    workflow_type: str
    task_queue: str
    scheduled_event_id: int
    started_event_id: int
    previous_started_event_id: int
    attempt: int
    scheduled_time_ms: int
    started_time_ms: int
    partial_history: bool
    transient_events: list[history_pb2.HistoryEvent]
    """The task's own events when it is a transient retry (not in the store)."""
    trace_context: dict[str, str] | None = None
    """The run's trace context (tracing on), for the task token."""
    history: list[history_pb2.HistoryEvent] | None = None
    """The events the response carries when the run held them in memory (``events_between``), so
    the response is built without reading back what this process just wrote; None: read the store."""


def started_task(ms: MutableState, *, partial_history: bool) -> StartedTask:
    """The started task as its poll response needs it, with its history when the run holds it in memory."""
    wt = ms.wt
    task = StartedTask(
        namespace_id=ms.namespace_id,
        namespace=ms.info.namespace,
        execution=ms.execution(),
        workflow_type=ms.info.workflow_type_name,
        task_queue=ms.info.task_queue,
        scheduled_event_id=wt.scheduled_event_id,
        started_event_id=wt.started_event_id,
        previous_started_event_id=ms.info.last_completed_workflow_task_started_event_id,
        attempt=wt.attempt,
        scheduled_time_ms=ev.ts_ms(wt.scheduled_time),
        started_time_ms=ev.ts_ms(wt.started_time),
        partial_history=partial_history,
        transient_events=ms.transient_workflow_task_events() if ms.workflow_task_transient else [],
        trace_context=dict(ms.info.trace_context) if ms.info.trace_context else None,
    )
    task.history = ms.events_between(*_history_range(task))
    return task


def _history_range(task: StartedTask) -> tuple[int, int]:
    """The ids ``first <= id < end`` of the stored events the task's response carries."""
    first = (
        task.previous_started_event_id + 1 if task.partial_history and task.previous_started_event_id else 1
    )
    # A transient task's events are not in the store: read up to them (never
    # past: a batch there would be a leftover of a write that did not commit).
    end = task.transient_events[0].event_id if task.transient_events else task.started_event_id + 1
    return first, end


async def poll_response(shard: Shard, task: StartedTask) -> ws.PollWorkflowTaskQueueResponse:
    first, end = _history_range(task)
    if task.history is not None:
        events = list(task.history)  # events_between gave exactly first..end
    else:
        events = await read_run_events(
            shard, (task.namespace_id, task.execution.workflow_id, task.execution.run_id), first, end
        )
    events.extend(task.transient_events)
    token = tokens_pb2.TaskToken(
        namespace_id=task.namespace_id,
        workflow_id=task.execution.workflow_id,
        run_id=task.execution.run_id,
        scheduled_event_id=task.scheduled_event_id,
        started_event_id=task.started_event_id,
        attempt=task.attempt,
        trace_context=task.trace_context,
    )
    return ws.PollWorkflowTaskQueueResponse(
        task_token=encode_task_token(token),
        workflow_execution=task.execution,
        workflow_type=common_pb2.WorkflowType(name=task.workflow_type),
        previous_started_event_id=task.previous_started_event_id,
        started_event_id=task.started_event_id,
        attempt=task.attempt,
        history=history_pb2.History(events=events),
        workflow_execution_task_queue=common_pb2.TaskQueue(
            name=task.task_queue, kind=enums_pb2.TASK_QUEUE_KIND_NORMAL
        ),
        scheduled_time=ev.timestamp(task.scheduled_time_ms),
        started_time=ev.timestamp(task.started_time_ms),
        namespace=task.namespace,
    )


def activity_task_response(
    info: hs.ActivityInfo,
    *,
    namespace_id: str,
    execution: common_pb2.WorkflowExecution,
    namespace: str,
    workflow_type: str,
    trace_context: dict[str, str] | None,
) -> ws.PollActivityTaskQueueResponse:
    """What a worker gets for a started attempt: from a poll, or eagerly with its workflow task's completion."""
    token = tokens_pb2.TaskToken(
        namespace_id=namespace_id,
        workflow_id=execution.workflow_id,
        run_id=execution.run_id,
        scheduled_event_id=info.scheduled_event_id,
        attempt=info.attempt,
        activity_id=info.activity_id,
        trace_context=trace_context,
    )
    response = ws.PollActivityTaskQueueResponse(
        task_token=encode_task_token(token),
        workflow_namespace=namespace,
        workflow_type=common_pb2.WorkflowType(name=workflow_type),
        workflow_execution=execution,
        activity_type=info.activity_type,
        activity_id=info.activity_id,
        header=info.header,
        input=info.input,
        scheduled_time=info.scheduled_time,
        current_attempt_scheduled_time=info.current_attempt_scheduled_time,
        started_time=info.started_time,
        attempt=info.attempt,
        schedule_to_close_timeout=info.schedule_to_close_timeout,
        start_to_close_timeout=info.start_to_close_timeout,
        heartbeat_timeout=info.heartbeat_timeout,
        retry_policy=info.retry_policy,
    )
    if info.HasField("heartbeat_details"):
        response.heartbeat_details.CopyFrom(info.heartbeat_details)
    return response
