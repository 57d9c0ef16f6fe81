"""Workflow tasks: started, completed, failed, and sticky-queue reset.

RecordWorkflowTaskStarted is called by matching when it hands a task to a
poller; it writes WorkflowTaskStarted and returns the poll response with the
history the worker needs: everything for a task from the normal queue, only
the events after the previous completed task for a sticky queue (that worker
has the workflow cached). A poll retried with the same request id gets the
same task; a task that is gone (completed, timed out, superseded) is NotFound,
which tells matching to drop it.

RespondWorkflowTaskCompleted checks the token against the current task, then
validates every command before applying any: a bad command fails the task
(WorkflowTaskFailed, cause BAD_COMMAND, a new attempt scheduled) and the worker
gets InvalidArgument. If new events arrived while the task ran, a close
command is refused the same way with cause UNHANDLED_COMMAND (the workflow must
see them first); otherwise the buffered events are flushed after the task's
events and a new task is scheduled at once, or returned inline when the worker
asked for ``return_new_workflow_task``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from legato.api.v1 import common_pb2, enums_pb2, history_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato_server.common.errors import InvalidArgument, NotFound
from legato_server.history.operations.commands import CommandProcessor, has_close_command
from legato_server.history.operations.task_responses import (
    StartedTask,
    activity_task_response,
    poll_response,
    started_task,
)
from legato_server.history.shards.engine import HistoryEngine
from legato_server.history.tokens import decode_task_token
from legato_server.history.workflow.mutable_state import MutableState
from legato_server.internal.v1 import history_service_pb2 as hsvc
from legato_server.internal.v1 import history_state_pb2 as hs
from legato_server.internal.v1 import tokens_pb2

ET = enums_pb2.EventType
CAUSE = enums_pb2.WorkflowTaskFailedCause
TASK_GONE = "workflow task not found or already completed"


async def record_workflow_task_started(
    engine: HistoryEngine, request: hsvc.RecordWorkflowTaskStartedRequest
) -> ws.PollWorkflowTaskQueueResponse:
    execution = request.workflow_execution
    if not execution.workflow_id or not execution.run_id:
        raise InvalidArgument("workflow_execution.workflow_id and run_id are required")
    shard = engine.shard(request.namespace_id, execution.workflow_id)

    async def action(ms: MutableState) -> StartedTask:
        wt = ms.wt
        if not ms.is_running or wt.scheduled_event_id != request.scheduled_event_id or wt.waiting_for_backoff:
            raise NotFound(TASK_GONE)
        sticky = wt.task_queue.kind == enums_pb2.TASK_QUEUE_KIND_STICKY
        if wt.started_event_id:
            if request.request_id and wt.request_id == request.request_id:
                return started_task(ms, partial_history=sticky)
            raise NotFound("workflow task already started by another poller")
        ms.start_workflow_task(request_id=request.request_id, identity=request.poll_request.identity)
        return started_task(ms, partial_history=sticky)

    task = await shard.update((request.namespace_id, execution.workflow_id, execution.run_id), action)
    return await poll_response(shard, task)


def check_task_token(ms: MutableState, token: tokens_pb2.TaskToken) -> None:
    wt = ms.wt
    if (
        not ms.is_running
        or wt.scheduled_event_id != token.scheduled_event_id
        or wt.started_event_id == 0
        or wt.started_event_id != token.started_event_id
        or wt.attempt != token.attempt
    ):
        raise NotFound(TASK_GONE)


@dataclass
class CompletionOutcome:
    error: str = ""
    new_task: StartedTask | None = None
    eager_activities: list[hs.ActivityInfo] = field(default_factory=list)
    """Copies of the attempts started for the completing worker."""
    workflow_type: str = ""
    namespace: str = ""
    trace_context: dict[str, str] | None = None


async def respond_workflow_task_completed(
    engine: HistoryEngine, request: hsvc.RespondWorkflowTaskCompletedRequest
) -> ws.RespondWorkflowTaskCompletedResponse:
    r = request.complete_request
    token = decode_task_token(r.task_token, namespace_id=request.namespace_id)
    shard = engine.shard(token.namespace_id, token.workflow_id)
    retention_ms = await engine.retention_ms(token.namespace_id)

    async def action(ms: MutableState) -> CompletionOutcome:
        check_task_token(ms, token)
        processor = CommandProcessor(engine, shard, ms, retention_ms=retention_ms, identity=r.identity)
        problem = await processor.validate(r.commands)
        if problem:
            ms.fail_workflow_task(
                cause=CAUSE.WORKFLOW_TASK_FAILED_CAUSE_BAD_COMMAND,
                failure=common_pb2.Failure(message=problem, source="LegatoServer"),
                identity=r.identity,
            )
            return CompletionOutcome(error=problem)
        if ms.state.buffered_events and has_close_command(r.commands):
            # New events arrived while the workflow decided to close: it must see them first.
            ms.fail_workflow_task(
                cause=CAUSE.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND,
                failure=common_pb2.Failure(
                    message="new events arrived while the workflow task ran; the close command was not applied",
                    source="LegatoServer",
                ),
                identity=r.identity,
            )
            return CompletionOutcome()
        completed = ms.append_event(
            ms.new_event(
                ET.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
                history_pb2.WorkflowTaskCompletedEventAttributes(
                    scheduled_event_id=ms.wt.scheduled_event_id,
                    started_event_id=ms.wt.started_event_id,
                    identity=r.identity,
                    binary_checksum=r.binary_checksum,
                ),
            )
        )
        ms.info.last_completed_workflow_task_started_event_id = ms.wt.started_event_id
        ms.clear_workflow_task()
        if r.HasField("sticky_attributes") and r.sticky_attributes.worker_task_queue.name:
            ms.info.sticky_task_queue = r.sticky_attributes.worker_task_queue.name
            ms.info.sticky_schedule_to_start_timeout.CopyFrom(r.sticky_attributes.schedule_to_start_timeout)
        else:
            ms.clear_sticky()
        needs_new_task = await processor.apply(r.commands, completed_event_id=completed.event_id)
        if not ms.is_running:
            return CompletionOutcome()
        outcome = CompletionOutcome(
            eager_activities=[_copy(info) for info in processor.eager_activities],
            workflow_type=ms.info.workflow_type_name,
            namespace=ms.info.namespace,
            trace_context=dict(ms.info.trace_context) if ms.info.trace_context else None,
        )
        if ms.flush_buffered_events() or needs_new_task or r.force_create_new_workflow_task:
            if r.return_new_workflow_task:
                ms.schedule_workflow_task(dispatch=False)
                ms.start_workflow_task(request_id=str(uuid.uuid4()), identity=r.identity)
                outcome.new_task = started_task(ms, partial_history=bool(ms.info.sticky_task_queue))
                return outcome
            ms.schedule_workflow_task()
        return outcome

    outcome = await shard.update((token.namespace_id, token.workflow_id, token.run_id), action)
    if outcome.error:
        raise InvalidArgument(f"bad command, the workflow task was failed: {outcome.error}")
    response = ws.RespondWorkflowTaskCompletedResponse()
    if outcome.new_task is not None:
        response.workflow_task.CopyFrom(await poll_response(shard, outcome.new_task))
    execution = common_pb2.WorkflowExecution(workflow_id=token.workflow_id, run_id=token.run_id)
    for info in outcome.eager_activities:
        response.activity_tasks.append(
            activity_task_response(
                info,
                namespace_id=token.namespace_id,
                execution=execution,
                namespace=outcome.namespace,
                workflow_type=outcome.workflow_type,
                trace_context=outcome.trace_context,
            )
        )
    return response


def _copy(info: hs.ActivityInfo) -> hs.ActivityInfo:
    copy = hs.ActivityInfo()
    copy.CopyFrom(info)
    return copy


async def respond_workflow_task_failed(
    engine: HistoryEngine, request: hsvc.RespondWorkflowTaskFailedRequest
) -> ws.RespondWorkflowTaskFailedResponse:
    r = request.failed_request
    token = decode_task_token(r.task_token, namespace_id=request.namespace_id)
    shard = engine.shard(token.namespace_id, token.workflow_id)

    async def action(ms: MutableState) -> None:
        check_task_token(ms, token)
        ms.fail_workflow_task(
            cause=r.cause or CAUSE.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
            failure=r.failure if r.HasField("failure") else None,
            identity=r.identity,
        )

    await shard.update((token.namespace_id, token.workflow_id, token.run_id), action)
    return ws.RespondWorkflowTaskFailedResponse()


async def reset_sticky_task_queue(
    engine: HistoryEngine, request: hsvc.ResetStickyTaskQueueRequest
) -> ws.ResetStickyTaskQueueResponse:
    execution = request.request.execution
    shard = engine.shard(request.namespace_id, execution.workflow_id)
    run_id = await shard.resolve_run_id(request.namespace_id, execution.workflow_id, execution.run_id)

    async def action(ms: MutableState) -> None:
        if ms.info.sticky_task_queue:
            ms.clear_sticky()

    await shard.update((request.namespace_id, execution.workflow_id, run_id), action)
    return ws.ResetStickyTaskQueueResponse()
