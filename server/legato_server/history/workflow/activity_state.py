"""Activity state transitions shared by commands, RPCs and timers.

An activity lives in mutable state from ActivityTaskScheduled until its
outcome. Its ActivityTaskStarted event is not written when a worker picks it
up: it is written together with the outcome (completed, failed, timed out,
canceled), carrying the final attempt. So retries happen in mutable state only
(attempt + 1, a retry timer, a new dispatch) and history shows one
Scheduled/Started/outcome triple however many attempts it took, as in Temporal.

Timeouts: schedule-to-close spans all attempts and is never retried;
schedule-to-start is per attempt and not retried (a retry would wait in the
same queue); start-to-close and heartbeat timeouts are per attempt and are
retried by the policy. Every timer task names the attempt it was made for and
is dropped when that attempt is over.
"""

from __future__ import annotations

import uuid

from legato.api.v1 import command_pb2, common_pb2, enums_pb2, history_pb2
from legato_server.history.workflow import events as ev
from legato_server.history.workflow.mutable_state import MutableState
from legato_server.history.workflow.retry import (
    effective_retry_policy,
    next_retry_delay_ms,
    validate_retry_policy,
)
from legato_server.internal.v1 import history_state_pb2 as hs

ET = enums_pb2.EventType
TT = enums_pb2.TimeoutType
RS = enums_pb2.RetryState


def validate_schedule_activity(attrs: command_pb2.ScheduleActivityTaskCommandAttributes) -> str | None:
    if not attrs.activity_id:
        return "activity_id is required"
    if not attrs.activity_type.name:
        return "activity_type.name is required"
    for name in (
        "schedule_to_close_timeout",
        "schedule_to_start_timeout",
        "start_to_close_timeout",
        "heartbeat_timeout",
    ):
        if ev.duration_ms(getattr(attrs, name)) < 0:
            return f"{name} must not be negative"
    if (
        ev.duration_ms(attrs.schedule_to_close_timeout) <= 0
        and ev.duration_ms(attrs.start_to_close_timeout) <= 0
    ):
        return "at least one of schedule_to_close_timeout and start_to_close_timeout must be set"
    if attrs.HasField("retry_policy"):
        return validate_retry_policy(attrs.retry_policy, what="retry_policy")
    return None


def schedule_activity(
    ms: MutableState,
    attrs: command_pb2.ScheduleActivityTaskCommandAttributes,
    *,
    workflow_task_completed_event_id: int,
    eager_identity: str | None = None,
) -> hs.ActivityInfo:
    """Schedule the first attempt; with ``eager_identity``, start it for that worker at once.

    An eager start skips matching altogether (no transfer task, no
    schedule-to-start timer): the worker completing the workflow task gets
    the activity task in its response. Later attempts are dispatched as usual.
    """
    s2c = ev.duration_ms(attrs.schedule_to_close_timeout)
    stc = ev.duration_ms(attrs.start_to_close_timeout) or s2c
    s2s = ev.duration_ms(attrs.schedule_to_start_timeout)
    if s2c and (not s2s or s2s > s2c):
        s2s = s2c
    if s2c and stc > s2c:
        stc = s2c
    policy = effective_retry_policy(attrs.retry_policy if attrs.HasField("retry_policy") else None)
    queue = attrs.task_queue if attrs.task_queue.name else ms.normal_task_queue()
    event = ms.append_event(
        ms.new_event(
            ET.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
            history_pb2.ActivityTaskScheduledEventAttributes(
                activity_id=attrs.activity_id,
                activity_type=attrs.activity_type,
                task_queue=queue,
                header=attrs.header,
                input=attrs.input,
                schedule_to_close_timeout=ev.duration(s2c / 1000),
                schedule_to_start_timeout=ev.duration(s2s / 1000),
                start_to_close_timeout=ev.duration(stc / 1000),
                heartbeat_timeout=attrs.heartbeat_timeout,
                workflow_task_completed_event_id=workflow_task_completed_event_id,
                retry_policy=policy,
            ),
        )
    )
    info = hs.ActivityInfo(
        scheduled_event_id=event.event_id,
        activity_id=attrs.activity_id,
        activity_type=attrs.activity_type,
        task_queue=queue,
        scheduled_time=ev.timestamp(ms.now_ms),
        current_attempt_scheduled_time=ev.timestamp(ms.now_ms),
        attempt=1,
        schedule_to_start_timeout=ev.duration(s2s / 1000),
        start_to_close_timeout=ev.duration(stc / 1000),
        schedule_to_close_timeout=ev.duration(s2c / 1000),
        heartbeat_timeout=attrs.heartbeat_timeout,
        retry_policy=policy,
        header=attrs.header,
        input=attrs.input,
    )
    ms.state.activities[event.event_id].CopyFrom(info)
    if s2c:
        ms.add_timer_task(
            ms.now_ms + s2c,
            hs.TIMER_TASK_TYPE_ACTIVITY_TIMEOUT,
            event_id=event.event_id,
            timeout_type=TT.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE,
        )
    stored = ms.state.activities[event.event_id]
    if eager_identity is None:
        dispatch_activity(ms, stored)
    else:
        record_started(ms, stored, request_id=str(uuid.uuid4()), identity=eager_identity)
    return stored


def dispatch_activity(ms: MutableState, info: hs.ActivityInfo) -> None:
    """Send the current attempt to matching, with its schedule-to-start timer."""
    s2s = ev.duration_ms(info.schedule_to_start_timeout)
    ms.add_transfer_task(
        hs.TRANSFER_TASK_TYPE_ACTIVITY_TASK,
        event_id=info.scheduled_event_id,
        task_queue=info.task_queue,
        schedule_to_start_timeout=info.schedule_to_start_timeout,
    )
    if s2s:
        ms.add_timer_task(
            ms.now_ms + s2s,
            hs.TIMER_TASK_TYPE_ACTIVITY_TIMEOUT,
            event_id=info.scheduled_event_id,
            attempt=info.attempt,
            timeout_type=TT.TIMEOUT_TYPE_SCHEDULE_TO_START,
        )


def record_started(ms: MutableState, info: hs.ActivityInfo, *, request_id: str, identity: str) -> None:
    info.started = True
    info.started_time.CopyFrom(ev.timestamp(ms.now_ms))
    info.started_request_id = request_id
    info.started_identity = identity
    info.last_worker_identity = identity
    info.ClearField("last_heartbeat_time")
    ms.mark_dirty()
    stc = ev.duration_ms(info.start_to_close_timeout)
    if stc:
        ms.add_timer_task(
            ms.now_ms + stc,
            hs.TIMER_TASK_TYPE_ACTIVITY_TIMEOUT,
            event_id=info.scheduled_event_id,
            attempt=info.attempt,
            timeout_type=TT.TIMEOUT_TYPE_START_TO_CLOSE,
        )
    heartbeat = ev.duration_ms(info.heartbeat_timeout)
    if heartbeat:
        ms.add_timer_task(
            ms.now_ms + heartbeat,
            hs.TIMER_TASK_TYPE_ACTIVITY_TIMEOUT,
            event_id=info.scheduled_event_id,
            attempt=info.attempt,
            timeout_type=TT.TIMEOUT_TYPE_HEARTBEAT,
        )


def _write_started_event(ms: MutableState, info: hs.ActivityInfo) -> int:
    """Write the deferred ActivityTaskStarted; returns its id (PENDING_EVENT_ID if buffered)."""
    if not info.started:
        return 0
    attrs = history_pb2.ActivityTaskStartedEventAttributes(
        scheduled_event_id=info.scheduled_event_id,
        identity=info.started_identity,
        request_id=info.started_request_id,
        attempt=info.attempt,
    )
    if info.HasField("last_failure"):
        attrs.last_failure.CopyFrom(info.last_failure)
    # No workflow task for the started event alone: the outcome event right after it schedules one.
    event = ms.add_external_event(ms.new_event(ET.EVENT_TYPE_ACTIVITY_TASK_STARTED, attrs), wake=False)
    return event.event_id or ev.PENDING_EVENT_ID


def complete_activity(
    ms: MutableState, info: hs.ActivityInfo, *, result: common_pb2.Payloads, identity: str, wake: bool = True
) -> None:
    """Write the attempt's ActivityTaskCompleted; ``wake=False``: schedule no workflow task for it."""
    started_id = _write_started_event(ms, info)
    ms.add_external_event(
        ms.new_event(
            ET.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
            history_pb2.ActivityTaskCompletedEventAttributes(
                result=result,
                scheduled_event_id=info.scheduled_event_id,
                started_event_id=started_id,
                identity=identity,
            ),
        ),
        wake=wake,
    )
    del ms.state.activities[info.scheduled_event_id]


def cancel_activity(
    ms: MutableState, info: hs.ActivityInfo, *, details: common_pb2.Payloads | None, identity: str
) -> None:
    started_id = _write_started_event(ms, info)
    attrs = history_pb2.ActivityTaskCanceledEventAttributes(
        latest_cancel_requested_event_id=info.cancel_requested_event_id,
        scheduled_event_id=info.scheduled_event_id,
        started_event_id=started_id,
        identity=identity,
    )
    if details is not None:
        attrs.details.CopyFrom(details)
    ms.add_external_event(ms.new_event(ET.EVENT_TYPE_ACTIVITY_TASK_CANCELED, attrs))
    del ms.state.activities[info.scheduled_event_id]


def fail_or_retry_activity(
    ms: MutableState,
    info: hs.ActivityInfo,
    *,
    failure: common_pb2.Failure,
    identity: str,
    timeout_type: int = 0,
    last_heartbeat_details: common_pb2.Payloads | None = None,
) -> bool:
    """Retry the activity per its policy, else write its final failure; True if retried."""
    if last_heartbeat_details is not None:
        info.heartbeat_details.CopyFrom(last_heartbeat_details)
    s2c = ev.duration_ms(info.schedule_to_close_timeout)
    deadline = ev.ts_ms(info.scheduled_time) + s2c if s2c else 0
    retryable_timeout = timeout_type in (0, TT.TIMEOUT_TYPE_START_TO_CLOSE, TT.TIMEOUT_TYPE_HEARTBEAT)
    if retryable_timeout and not info.cancel_requested:
        delay, retry_state = next_retry_delay_ms(
            info.retry_policy, attempt=info.attempt, failure=failure, now_ms=ms.now_ms, deadline_ms=deadline
        )
    else:
        delay = None
        retry_state = RS.RETRY_STATE_CANCEL_REQUESTED if info.cancel_requested else RS.RETRY_STATE_TIMEOUT
    if delay is not None:
        info.attempt += 1
        info.started = False
        info.ClearField("started_time")
        info.started_request_id = ""
        info.last_failure.CopyFrom(failure)
        info.current_attempt_scheduled_time.CopyFrom(ev.timestamp(ms.now_ms + delay))
        ms.mark_dirty()
        ms.add_timer_task(
            ms.now_ms + delay,
            hs.TIMER_TASK_TYPE_ACTIVITY_RETRY,
            event_id=info.scheduled_event_id,
            attempt=info.attempt,
        )
        return True
    started_id = _write_started_event(ms, info)
    if timeout_type:
        ms.add_external_event(
            ms.new_event(
                ET.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
                history_pb2.ActivityTaskTimedOutEventAttributes(
                    failure=failure,
                    scheduled_event_id=info.scheduled_event_id,
                    started_event_id=started_id,
                    retry_state=retry_state,
                ),
            )
        )
    else:
        ms.add_external_event(
            ms.new_event(
                ET.EVENT_TYPE_ACTIVITY_TASK_FAILED,
                history_pb2.ActivityTaskFailedEventAttributes(
                    failure=failure,
                    scheduled_event_id=info.scheduled_event_id,
                    started_event_id=started_id,
                    identity=identity,
                    retry_state=retry_state,
                ),
            )
        )
    del ms.state.activities[info.scheduled_event_id]
    return False


def timeout_failure(info: hs.ActivityInfo, timeout_type: enums_pb2.TimeoutType) -> common_pb2.Failure:
    name = enums_pb2.TimeoutType.Name(timeout_type).removeprefix("TIMEOUT_TYPE_").lower()
    failure = common_pb2.Failure(
        message=f"activity {info.activity_id!r} ({info.activity_type.name}) timed out: {name}",
        source="LegatoServer",
    )
    failure.timeout_failure_info.timeout_type = timeout_type
    if info.HasField("heartbeat_details"):
        failure.timeout_failure_info.last_heartbeat_details.CopyFrom(info.heartbeat_details)
    return failure


def request_cancel_activity(
    ms: MutableState, scheduled_event_id: int, *, workflow_task_completed_event_id: int
) -> bool:
    """Apply RequestCancelActivityTask; True if the cancellation completed at once (needs a new task)."""
    cancel_event = ms.append_event(
        ms.new_event(
            ET.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED,
            history_pb2.ActivityTaskCancelRequestedEventAttributes(
                scheduled_event_id=scheduled_event_id,
                workflow_task_completed_event_id=workflow_task_completed_event_id,
            ),
        )
    )
    info = ms.state.activities.get(scheduled_event_id)
    if info is None:
        return False  # its result is buffered and reaches the workflow next
    cancel_event_id = cancel_event.event_id
    info.cancel_requested = True
    info.cancel_requested_event_id = cancel_event_id
    if info.started:
        return False  # the worker learns it from its next heartbeat
    # Not started: canceled right away; the task in matching becomes stale.
    ms.append_event(
        ms.new_event(
            ET.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
            history_pb2.ActivityTaskCanceledEventAttributes(
                latest_cancel_requested_event_id=cancel_event_id, scheduled_event_id=scheduled_event_id
            ),
        )
    )
    del ms.state.activities[scheduled_event_id]
    return True
