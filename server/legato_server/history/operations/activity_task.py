"""Activity task RPCs: started (from matching), completed, failed, canceled, heartbeat.

Tokens name (run, scheduled event id, attempt); an answer for an attempt that
is over (timed out, retried, canceled, already answered) is NotFound, so a
late worker can never overwrite a newer attempt. Heartbeats store their
details in mutable state (no event) and tell the worker whether the workflow
asked to cancel the activity; the details survive into the next attempt's
poll response and into a timeout failure.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from legato.api.v1 import workflow_service_pb2 as ws
from legato_server.common.errors import InvalidArgument, NotFound
from legato_server.history.operations.task_responses import (
    StartedTask,
    activity_task_response,
    poll_response,
    started_task,
)
from legato_server.history.shards.engine import HistoryEngine
from legato_server.history.tokens import decode_task_token
from legato_server.history.workflow import events as ev
from legato_server.history.workflow.activity_state import (
    cancel_activity,
    complete_activity,
    fail_or_retry_activity,
    record_started,
)
from legato_server.history.workflow.mutable_state import MutableState
from legato_server.internal.v1 import history_service_pb2 as hsvc
from legato_server.internal.v1 import history_state_pb2 as hs
from legato_server.internal.v1 import tokens_pb2

ACTIVITY_GONE = "activity task not found or already completed"


@dataclass
class _Started:
    info: hs.ActivityInfo
    workflow_type: str
    namespace: str
    trace_context: dict[str, str] | None = None  # the run's (tracing on), for the task token


async def record_activity_task_started(
    engine: HistoryEngine, request: hsvc.RecordActivityTaskStartedRequest
) -> ws.PollActivityTaskQueueResponse:
    execution = request.workflow_execution
    if not execution.workflow_id or not execution.run_id:
        raise InvalidArgument("workflow_execution.workflow_id and run_id are required")
    shard = engine.shard(request.namespace_id, execution.workflow_id)

    async def action(ms: MutableState) -> _Started:
        info = ms.state.activities.get(request.scheduled_event_id) if ms.is_running else None
        if info is None:
            raise NotFound(ACTIVITY_GONE)
        if info.started:
            if request.request_id and info.started_request_id == request.request_id:
                return _Started(
                    hs.ActivityInfo.FromString(info.SerializeToString()),
                    ms.info.workflow_type_name,
                    ms.info.namespace,
                    dict(ms.info.trace_context) if ms.info.trace_context else None,
                )
            raise NotFound("activity task already started by another poller")
        if ev.ts_ms(info.current_attempt_scheduled_time) > ms.now_ms:
            raise NotFound("activity is waiting for its retry backoff; this task is stale")
        record_started(ms, info, request_id=request.request_id, identity=request.poll_request.identity)
        copy = hs.ActivityInfo()
        copy.CopyFrom(info)
        return _Started(
            copy,
            ms.info.workflow_type_name,
            ms.info.namespace,
            dict(ms.info.trace_context) if ms.info.trace_context else None,
        )

    started = await shard.update((request.namespace_id, execution.workflow_id, execution.run_id), action)
    return activity_task_response(
        started.info,
        namespace_id=request.namespace_id,
        execution=execution,
        namespace=started.namespace,
        workflow_type=started.workflow_type,
        trace_context=started.trace_context,
    )


def _current_attempt(ms: MutableState, token: tokens_pb2.TaskToken) -> hs.ActivityInfo:
    info = ms.state.activities.get(token.scheduled_event_id) if ms.is_running else None
    if info is None or not info.started or info.attempt != token.attempt:
        raise NotFound(ACTIVITY_GONE)
    if token.activity_id and info.activity_id != token.activity_id:
        raise NotFound(ACTIVITY_GONE)
    return info


def _token(task_token: bytes, namespace_id: str) -> tokens_pb2.TaskToken:
    token = decode_task_token(task_token, namespace_id=namespace_id)
    if not token.activity_id:
        raise InvalidArgument("task_token is a workflow task token; pass the activity task's token")
    return token


async def respond_activity_task_completed(
    engine: HistoryEngine, request: hsvc.RespondActivityTaskCompletedRequest
) -> ws.RespondActivityTaskCompletedResponse:
    r = request.complete_request
    token = _token(r.task_token, request.namespace_id)
    shard = engine.shard(token.namespace_id, token.workflow_id)

    async def action(ms: MutableState) -> StartedTask | None:
        info = _current_attempt(ms, token)
        eager = _can_start_eagerly(ms, r.eager_workflow_task_sticky_queue)
        complete_activity(ms, info, result=r.result, identity=r.identity, wake=not eager)
        if not eager:
            return None
        ms.schedule_workflow_task(dispatch=False)
        ms.start_workflow_task(request_id=str(uuid.uuid4()), identity=r.identity)
        return started_task(ms, partial_history=True)

    task = await shard.update((token.namespace_id, token.workflow_id, token.run_id), action)
    response = ws.RespondActivityTaskCompletedResponse()
    if task is not None:
        response.workflow_task.CopyFrom(await poll_response(shard, task))
    return response


def _can_start_eagerly(ms: MutableState, sticky_queue: str) -> bool:
    """Whether the completion's workflow task may be started for the caller (its worker caches the run).

    Only when the completion is what schedules the task (none is pending, so
    its event goes to history now) and the run's sticky queue is the caller's.
    """
    return bool(
        sticky_queue
        and ms.info.sticky_task_queue == sticky_queue
        and not ms.workflow_task_pending
        and not ms.wt.waiting_for_backoff
    )


async def respond_activity_task_failed(
    engine: HistoryEngine, request: hsvc.RespondActivityTaskFailedRequest
) -> ws.RespondActivityTaskFailedResponse:
    r = request.failed_request
    token = _token(r.task_token, request.namespace_id)

    async def action(ms: MutableState) -> None:
        fail_or_retry_activity(
            ms,
            _current_attempt(ms, token),
            failure=r.failure,
            identity=r.identity,
            last_heartbeat_details=r.last_heartbeat_details if r.HasField("last_heartbeat_details") else None,
        )

    await engine.shard(token.namespace_id, token.workflow_id).update(
        (token.namespace_id, token.workflow_id, token.run_id), action
    )
    return ws.RespondActivityTaskFailedResponse()


async def respond_activity_task_canceled(
    engine: HistoryEngine, request: hsvc.RespondActivityTaskCanceledRequest
) -> ws.RespondActivityTaskCanceledResponse:
    r = request.cancel_request
    token = _token(r.task_token, request.namespace_id)

    async def action(ms: MutableState) -> None:
        cancel_activity(
            ms,
            _current_attempt(ms, token),
            details=r.details if r.HasField("details") else None,
            identity=r.identity,
        )

    await engine.shard(token.namespace_id, token.workflow_id).update(
        (token.namespace_id, token.workflow_id, token.run_id), action
    )
    return ws.RespondActivityTaskCanceledResponse()


async def record_activity_task_heartbeat(
    engine: HistoryEngine, request: hsvc.RecordActivityTaskHeartbeatRequest
) -> ws.RecordActivityTaskHeartbeatResponse:
    r = request.heartbeat_request
    token = _token(r.task_token, request.namespace_id)

    async def action(ms: MutableState) -> bool:
        info = _current_attempt(ms, token)
        if r.HasField("details"):
            info.heartbeat_details.CopyFrom(r.details)
        info.last_heartbeat_time.CopyFrom(ev.timestamp(ms.now_ms))
        ms.mark_dirty()
        return info.cancel_requested

    cancel_requested = await engine.shard(token.namespace_id, token.workflow_id).update(
        (token.namespace_id, token.workflow_id, token.run_id), action
    )
    return ws.RecordActivityTaskHeartbeatResponse(cancel_requested=cancel_requested)
