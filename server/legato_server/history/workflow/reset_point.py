"""Where a reset may take a run back to, and the state the new run has there.

A reset copies the base run's history up to a workflow task boundary into a
new run and makes that workflow task again. Following Temporal, the boundary
is named by the event that *finished* a workflow task (WorkflowTaskCompleted,
or WorkflowTaskFailed / WorkflowTaskTimedOut): the new run keeps every event
before it, which ends with that task's WorkflowTaskStarted, then gets
WorkflowTaskFailed(cause RESET_WORKFLOW) and a fresh WorkflowTaskScheduled.
The worker replays the copy, sees the task failed, and runs the workflow code
from that point again: whatever the old run did afterwards (its commands,
activity results, signals) is not in the new run unless a signal is re-applied.

``choose_finish_event`` turns the request (an event id, or FIRST/LAST
workflow task) into that event and refuses anything else with a message that
lists the ids that would work.

``rebuild_pending`` replays the copied events into the new run's mutable
state: the activities and timers still open at that point (the caller
re-dispatches them), a cancel request, search attributes and memo upserts,
and the last completed workflow task. Open child workflows and open
signal/cancel requests to other workflows are refused instead of rebuilt:
those belong to the old run (its close applies the parent close policy to the
children), and replaying a request to another workflow twice is not safe to
do silently. Accepted-but-unfinished updates are not carried over.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from legato.api.v1 import enums_pb2, history_pb2
from legato_server.history.workflow import events as ev
from legato_server.history.workflow.mutable_state import MutableState
from legato_server.internal.v1 import history_state_pb2 as hs
from legato_server.visibility import attributes as search_attribute_types

ET = enums_pb2.EventType
RT = enums_pb2.ResetType
FINISH_TYPES = (
    ET.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    ET.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    ET.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
)
MAX_IDS_IN_MESSAGE = 20
ACTIVITY_CLOSED = {
    ET.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: "activity_task_completed_event_attributes",
    ET.EVENT_TYPE_ACTIVITY_TASK_FAILED: "activity_task_failed_event_attributes",
    ET.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: "activity_task_timed_out_event_attributes",
    ET.EVENT_TYPE_ACTIVITY_TASK_CANCELED: "activity_task_canceled_event_attributes",
}
CHILD_CLOSED = (
    ET.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED,
    ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
    ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED,
    ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED,
    ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
    ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED,
)
EXTERNAL_CLOSED = (
    ET.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
    ET.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED,
    ET.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
    ET.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
)


class ResetRefused(ValueError):
    """The request names no usable reset point; the message says what would work."""


@dataclass(frozen=True)
class ResetPoint:
    finish_event_id: int  # the WorkflowTaskCompleted/Failed/TimedOut event
    started_event_id: int  # the WorkflowTaskStarted just before it: the last copied event
    scheduled_event_id: int


def _event_name(event_type: int) -> str:
    name: str = ET.Name(event_type) if event_type in ET.values() else str(event_type)
    return "".join(part.capitalize() for part in name.removeprefix("EVENT_TYPE_").split("_"))


def _ids_text(ids: Sequence[int]) -> str:
    if not ids:
        return "none: this run has not finished a workflow task yet"
    shown = ", ".join(str(i) for i in ids[:MAX_IDS_IN_MESSAGE])
    return shown + (f" (and {len(ids) - MAX_IDS_IN_MESSAGE} more)" if len(ids) > MAX_IDS_IN_MESSAGE else "")


def choose_finish_event(
    events: Sequence[history_pb2.HistoryEvent], *, run_id: str, event_id: int, reset_type: int
) -> ResetPoint:
    """The reset point the request names in ``events`` (the base run's whole history, in order)."""
    by_id = {e.event_id: e for e in events}
    finishes = [
        e.event_id
        for e in events
        if e.event_type in FINISH_TYPES
        and by_id.get(e.event_id - 1) is not None
        and by_id[e.event_id - 1].event_type == ET.EVENT_TYPE_WORKFLOW_TASK_STARTED
    ]
    completed = [i for i in finishes if by_id[i].event_type == ET.EVENT_TYPE_WORKFLOW_TASK_COMPLETED]
    allowed = f"allowed event ids of run {run_id}: {_ids_text(finishes)}"
    if reset_type == RT.RESET_TYPE_FIRST_WORKFLOW_TASK:
        if not finishes:
            raise ResetRefused(f"run {run_id} has no finished workflow task to reset to")
        event_id = (completed or finishes)[0]
    elif reset_type == RT.RESET_TYPE_LAST_WORKFLOW_TASK:
        if not finishes:
            raise ResetRefused(f"run {run_id} has no finished workflow task to reset to")
        event_id = (completed or finishes)[-1]
    elif reset_type != RT.RESET_TYPE_UNSPECIFIED:
        raise ResetRefused(
            f"unknown reset_type {reset_type}; use FIRST_WORKFLOW_TASK, LAST_WORKFLOW_TASK or an event id"
        )
    last = events[-1].event_id if events else 0
    if event_id < 1 or event_id > last:
        raise ResetRefused(
            f"event {event_id} is not in the history of run {run_id} (events 1..{last}); {allowed}"
        )
    if event_id not in finishes:
        raise ResetRefused(
            f"event {event_id} is a {_event_name(by_id[event_id].event_type)}, not the end of a "
            f"workflow task: reset to a WorkflowTaskCompleted (or WorkflowTaskFailed/TimedOut) "
            f"event; {allowed}"
        )
    started = by_id[event_id - 1]
    return ResetPoint(
        finish_event_id=event_id,
        started_event_id=started.event_id,
        scheduled_event_id=started.workflow_task_started_event_attributes.scheduled_event_id,
    )


def rebuild_pending(ms: MutableState, prefix: Sequence[history_pb2.HistoryEvent], *, event_id: int) -> None:
    """Fill the new run's state with what is open after ``prefix``; raise ResetRefused if it cannot.

    Only state: the caller writes the tasks (dispatch, timers) for what is open.
    """
    state = ms.state
    children: dict[int, str] = {}
    externals: dict[int, str] = {}
    for event in prefix:
        t = event.event_type
        if t == ET.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            started_id = event.workflow_task_completed_event_attributes.started_event_id
            ms.info.last_completed_workflow_task_started_event_id = started_id
        elif t == ET.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            state.activities[event.event_id].CopyFrom(_activity_info(event))
        elif t in ACTIVITY_CLOSED:
            scheduled = getattr(event, ACTIVITY_CLOSED[t]).scheduled_event_id
            state.activities.pop(scheduled, None)
        elif t == ET.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED:
            scheduled = event.activity_task_cancel_requested_event_attributes.scheduled_event_id
            if scheduled in state.activities:
                state.activities[scheduled].cancel_requested = True
                state.activities[scheduled].cancel_requested_event_id = event.event_id
        elif t == ET.EVENT_TYPE_TIMER_STARTED:
            attrs = event.timer_started_event_attributes
            fire_ms = ev.ts_ms(event.event_time) + ev.duration_ms(attrs.start_to_fire_timeout)
            state.timers[attrs.timer_id].CopyFrom(
                hs.TimerInfo(
                    timer_id=attrs.timer_id,
                    started_event_id=event.event_id,
                    expiry_time=ev.timestamp(fire_ms),
                )
            )
        elif t == ET.EVENT_TYPE_TIMER_FIRED:
            state.timers.pop(event.timer_fired_event_attributes.timer_id, None)
        elif t == ET.EVENT_TYPE_TIMER_CANCELED:
            state.timers.pop(event.timer_canceled_event_attributes.timer_id, None)
        elif t == ET.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
            ms.info.cancel_requested = True
        elif t == ET.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
            for key, value in fields.items():
                if search_attribute_types.is_null(value):
                    ms.info.search_attributes.indexed_fields.pop(key, None)
                else:
                    ms.info.search_attributes.indexed_fields[key].CopyFrom(value)
        elif t == ET.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED:
            for (
                key,
                value,
            ) in event.workflow_properties_modified_event_attributes.upserted_memo.fields.items():
                ms.info.memo.fields[key].CopyFrom(value)
        elif t == ET.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            children[event.event_id] = (
                event.start_child_workflow_execution_initiated_event_attributes.workflow_id
            )
        elif t in CHILD_CLOSED:
            children.pop(ev.attributes_of(event).initiated_event_id, None)
        elif t == ET.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
            externals[event.event_id] = "a signal to workflow " + repr(
                event.signal_external_workflow_execution_initiated_event_attributes.workflow_execution.workflow_id
            )
        elif t in EXTERNAL_CLOSED:
            externals.pop(ev.attributes_of(event).initiated_event_id, None)
        elif t == ET.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
            externals[event.event_id] = "a cancel request to workflow " + repr(
                event.request_cancel_external_workflow_execution_initiated_event_attributes.workflow_execution.workflow_id
            )
    open_work = [f"child workflow {wid!r} (initiated by event {i})" for i, wid in children.items()]
    open_work += [f"{what} (initiated by event {i})" for i, what in externals.items()]
    if open_work:
        raise ResetRefused(
            f"at event {event_id} the run has work in other workflows still open: "
            + "; ".join(open_work)
            + ". Reset does not carry that over; reset to a workflow task before it was initiated "
            "or after it finished"
        )


def _activity_info(event: history_pb2.HistoryEvent) -> hs.ActivityInfo:
    attrs = event.activity_task_scheduled_event_attributes
    return hs.ActivityInfo(
        scheduled_event_id=event.event_id,
        activity_id=attrs.activity_id,
        activity_type=attrs.activity_type,
        task_queue=attrs.task_queue,
        scheduled_time=event.event_time,
        current_attempt_scheduled_time=event.event_time,
        attempt=1,
        schedule_to_start_timeout=attrs.schedule_to_start_timeout,
        start_to_close_timeout=attrs.start_to_close_timeout,
        schedule_to_close_timeout=attrs.schedule_to_close_timeout,
        heartbeat_timeout=attrs.heartbeat_timeout,
        retry_policy=attrs.retry_policy,
        header=attrs.header,
        input=attrs.input,
    )
