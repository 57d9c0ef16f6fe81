"""ResetWorkflowExecution: start a new run from a workflow's history up to a workflow task boundary.

What the user gets (Temporal's semantics): a new run of the same workflow id
whose history is the base run's events up to the chosen workflow task's
WorkflowTaskStarted, then WorkflowTaskFailed(cause RESET_WORKFLOW, the reason
as its failure message), the re-applied signals when asked, and a new
WorkflowTaskScheduled. The worker replays the copy and runs the workflow code
from there, so a bug fixed since (in the workflow, an activity, or the world)
gets a second chance. ``reset_point.py`` chooses and checks the point and
rebuilds what is open there; the activities and timers still open are
dispatched and armed again for the new run.

One write. The reset is an ``update`` of the *current* run of the workflow
id: it terminates that run if it is still running (WorkflowExecutionTerminated
with the reason), records the reset on it (``reset_by``, shown by describe),
and creates the new run in the same transaction (``MutableState.new_run``,
the path continue-as-new takes), which makes it the current run. Either all
of it commits or none of it: there is never a terminated run without its
replacement, nor two running runs. The base run may be an earlier run of the
workflow id (one that failed, say): its history is only read.

The base run's events are read inside the action, under the current run's
lock: when the base is the current run no signal can land between the read and
the termination and be lost to the re-apply. When the base is an earlier run,
the current run's signals are re-applied after the base run's (all of them
came after the point). A retried request (same request_id) finds its new run
already current and gets the same run id back.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from legato.api.v1 import common_pb2, enums_pb2, history_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato_server.common.errors import InvalidArgument
from legato_server.history.operations.history_read import read_events
from legato_server.history.shards.engine import HistoryEngine
from legato_server.history.workflow import events as ev
from legato_server.history.workflow.activity_state import dispatch_activity
from legato_server.history.workflow.mutable_state import MutableState, new_mutable_state
from legato_server.history.workflow.reset_point import (
    ResetPoint,
    ResetRefused,
    choose_finish_event,
    rebuild_pending,
)
from legato_server.history.workflow.workflow_run import close_run
from legato_server.internal.v1 import history_service_pb2 as hsvc
from legato_server.internal.v1 import history_state_pb2 as hs

ET = enums_pb2.EventType
DEFAULT_REASON = "reset"


async def reset_workflow(
    engine: HistoryEngine, request: hsvc.ResetWorkflowExecutionRequest
) -> ws.ResetWorkflowExecutionResponse:
    reset = request.reset_request
    namespace_id = request.namespace_id
    workflow_id = reset.workflow_execution.workflow_id
    shard = engine.shard(namespace_id, workflow_id)
    current_run_id = await shard.current_run_id(namespace_id, workflow_id)
    base_run_id = reset.workflow_execution.run_id or current_run_id
    retention_ms = await engine.retention_ms(namespace_id)
    reason = reset.reason or DEFAULT_REASON
    request_id = reset.request_id or str(uuid.uuid4())
    base: MutableState | None = None
    if base_run_id != current_run_id:
        # An earlier run is closed: its state and history no longer change.
        base = await shard.read((namespace_id, workflow_id, base_run_id), _copy)

    async def action(current: MutableState) -> str:
        if current.info.create_request_id == request_id and current.info.HasField("reset_from"):
            return current.run_id  # this request already made the current run
        source = base if base is not None else current
        events = await read_events(
            shard,
            namespace_id=namespace_id,
            workflow_id=workflow_id,
            run_id=base_run_id,
            first_event_id=1,
            next_event_id=source.next_event_id,
        )
        try:
            point = choose_finish_event(
                events,
                run_id=base_run_id,
                event_id=reset.workflow_task_finish_event_id,
                reset_type=reset.reset_type,
            )
        except ResetRefused as err:
            raise InvalidArgument(str(err)) from err
        record = common_pb2.ResetRecord(
            base_run_id=base_run_id,
            new_run_id=str(uuid.uuid4()),
            event_id=point.finish_event_id,
            reason=reason,
            identity=reset.identity,
            reset_time=ev.timestamp(current.now_ms),
        )
        signals = _signals_after(events, source, point) if reset.reapply_signals else []
        if reset.reapply_signals and base is not None:
            # The base is an earlier run: the current run's signals came after the point too.
            current_events = await read_events(
                shard,
                namespace_id=namespace_id,
                workflow_id=workflow_id,
                run_id=current.run_id,
                first_event_id=1,
                next_event_id=current.next_event_id,
            )
            signals += _signals_after(current_events, current, None)
        new_run = _build_run(
            source,
            events[: point.started_event_id],
            point,
            record,
            signals,
            request_id,
            now_ms=current.now_ms,
        )
        if current.is_running:
            close_run(
                current,
                ET.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
                history_pb2.WorkflowExecutionTerminatedEventAttributes(
                    reason=reason, identity=reset.identity
                ),
                status=enums_pb2.WORKFLOW_EXECUTION_STATUS_TERMINATED,
                retention_ms=retention_ms,
            )
        current.info.reset_by.CopyFrom(record)
        current.mark_dirty()
        current.new_run = new_run
        return new_run.run_id

    run_id = await shard.update((namespace_id, workflow_id, current_run_id), action)
    return ws.ResetWorkflowExecutionResponse(run_id=run_id)


def _copy(ms: MutableState) -> MutableState:
    state = hs.MutableState()
    state.CopyFrom(ms.state)
    return MutableState(state=state, db_version=ms.db_version)


def _signals_after(
    events: Sequence[history_pb2.HistoryEvent], run: MutableState, point: ResetPoint | None
) -> list[history_pb2.WorkflowExecutionSignaledEventAttributes]:
    """The signals ``run`` took after the point (all of them without one), including any still buffered."""
    after = point.started_event_id if point is not None else 0
    later = [e for e in events if e.event_id > after]
    later += list(run.state.buffered_events)
    return [
        e.workflow_execution_signaled_event_attributes
        for e in later
        if e.event_type == ET.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]


def _build_run(
    base: MutableState,
    prefix: Sequence[history_pb2.HistoryEvent],
    point: ResetPoint,
    record: common_pb2.ResetRecord,
    signals: Sequence[history_pb2.WorkflowExecutionSignaledEventAttributes],
    request_id: str,
    *,
    now_ms: int,
) -> MutableState:
    info = hs.ExecutionInfo()
    info.CopyFrom(base.info)
    for name in ("close_time", "close_event_id", "sticky_task_queue", "sticky_schedule_to_start_timeout"):
        info.ClearField(name)
    for name in ("cancel_requested", "cancel_request_id", "last_completed_workflow_task_started_event_id"):
        info.ClearField(name)
    for name in ("reset_by", "reset_from", "memo", "search_attributes"):
        info.ClearField(name)
    info.run_id = record.new_run_id
    info.create_request_id = request_id
    info.start_time.CopyFrom(ev.timestamp(now_ms))
    info.execution_time.CopyFrom(ev.timestamp(now_ms))
    info.reset_from.CopyFrom(record)
    started = prefix[0].workflow_execution_started_event_attributes
    info.memo.CopyFrom(started.memo)
    info.search_attributes.CopyFrom(started.search_attributes)

    ms = new_mutable_state(info, now_ms=now_ms)
    try:
        rebuild_pending(ms, prefix, event_id=point.finish_event_id)
    except ResetRefused as err:
        raise InvalidArgument(str(err)) from err
    ms.new_events = list(prefix)
    ms.info.next_event_id = point.started_event_id + 1
    failed = history_pb2.WorkflowTaskFailedEventAttributes(
        scheduled_event_id=point.scheduled_event_id,
        started_event_id=point.started_event_id,
        cause=enums_pb2.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW,
        identity=record.identity,
        failure=common_pb2.Failure(message=record.reason, source="LegatoServer"),
    )
    ms.append_event(ms.new_event(ET.EVENT_TYPE_WORKFLOW_TASK_FAILED, failed))
    for signal in signals:
        ms.append_event(ms.new_event(ET.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, signal))
    ms.schedule_workflow_task(use_sticky=False)
    _rearm_open_work(ms, now_ms=now_ms)
    ms.add_transfer_task(hs.TRANSFER_TASK_TYPE_RECORD_STARTED)
    return ms


def _rearm_open_work(ms: MutableState, *, now_ms: int) -> None:
    """Tasks for what is open in the new run: activities, timers, and the run's own timeout."""
    for activity in ms.state.activities.values():
        s2c = ev.duration_ms(activity.schedule_to_close_timeout)
        if s2c:
            ms.add_timer_task(
                ev.ts_ms(activity.scheduled_time) + s2c,
                hs.TIMER_TASK_TYPE_ACTIVITY_TIMEOUT,
                event_id=activity.scheduled_event_id,
                timeout_type=enums_pb2.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE,
            )
        activity.current_attempt_scheduled_time.CopyFrom(ev.timestamp(now_ms))
        dispatch_activity(ms, activity)
    for timer in ms.state.timers.values():
        ms.add_timer_task(
            ev.ts_ms(timer.expiry_time),
            hs.TIMER_TASK_TYPE_USER_TIMER,
            event_id=timer.started_event_id,
            timer_id=timer.timer_id,
        )
    info = ms.info
    deadlines = [
        d
        for d in (
            ev.duration_ms(info.workflow_run_timeout) and now_ms + ev.duration_ms(info.workflow_run_timeout),
            ev.ts_ms(info.execution_expiration_time) if info.HasField("execution_expiration_time") else 0,
        )
        if d
    ]
    if deadlines:
        ms.add_timer_task(min(deadlines), hs.TIMER_TASK_TYPE_WORKFLOW_TIMEOUT)
