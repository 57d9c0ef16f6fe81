"""Commands the workflow issues, and how replay matches them against history.

Every command a workflow task completes with becomes exactly one "command
event" right after that task's WorkflowTaskCompleted event, in the same order.
On replay the runtime re-runs the code for each completed task and checks the
commands it issues, in order, against those events (``matches``). The
comparison looks only at what identifies a command — activity type and id,
timer id, child workflow id and type, signal name, marker name — not at inputs
or options: changing an argument or a timeout between deploys is legal, moving
or replacing a command is not.

``CommandEntry`` ties a command to the state machine that issued it, so that
when its event is matched the machine learns the event id the server gave it
(later events, e.g. ActivityTaskCompleted, refer to that id).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from legato.api.v1 import command_pb2, enums_pb2, history_pb2

E = enums_pb2
C = enums_pb2

PATCH_MARKER = "legato_patch"
SIDE_EFFECT_MARKER = "legato_side_effect"
LOCAL_ACTIVITY_MARKER = "legato_local_activity"

# The event each command type turns into.
EVENT_FOR_COMMAND: dict[int, int] = {
    C.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK: E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
    C.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK: E.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED,
    C.COMMAND_TYPE_START_TIMER: E.EVENT_TYPE_TIMER_STARTED,
    C.COMMAND_TYPE_CANCEL_TIMER: E.EVENT_TYPE_TIMER_CANCELED,
    C.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION: E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    C.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION: E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
    C.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION: E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
    C.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION: (
        E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED
    ),
    C.COMMAND_TYPE_RECORD_MARKER: E.EVENT_TYPE_MARKER_RECORDED,
    C.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION: E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
    C.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION: E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
    C.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION: E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
    C.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
    C.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES: E.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED,
    C.COMMAND_TYPE_COMPLETE_WORKFLOW_UPDATE: E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
}

COMMAND_EVENT_TYPES: frozenset[int] = frozenset(EVENT_FOR_COMMAND.values())

TERMINAL_COMMAND_TYPES: frozenset[int] = frozenset(
    {
        C.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
        C.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION,
        C.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION,
        C.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
    }
)


def short_type(value: int, enum: object = E.EventType) -> str:
    """``EVENT_TYPE_TIMER_STARTED`` -> ``TimerStarted``."""
    full: str = enum.Name(value)  # type: ignore[attr-defined]
    for prefix in ("EVENT_TYPE_", "COMMAND_TYPE_"):
        full = full.removeprefix(prefix)
    return "".join(part.capitalize() for part in full.split("_"))


def _command_key(command: command_pb2.Command) -> dict[str, str]:
    t = command.command_type
    if t == C.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK:
        a = command.schedule_activity_task_command_attributes
        return {"activity_type": a.activity_type.name, "activity_id": a.activity_id}
    if t == C.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK:
        return {
            "scheduled_event_id": str(
                command.request_cancel_activity_task_command_attributes.scheduled_event_id
            )
        }
    if t == C.COMMAND_TYPE_START_TIMER:
        return {"timer_id": command.start_timer_command_attributes.timer_id}
    if t == C.COMMAND_TYPE_CANCEL_TIMER:
        return {"timer_id": command.cancel_timer_command_attributes.timer_id}
    if t == C.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION:
        c = command.start_child_workflow_execution_command_attributes
        return {"workflow_type": c.workflow_type.name, "workflow_id": c.workflow_id}
    if t == C.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION:
        s = command.signal_external_workflow_execution_command_attributes
        return {"workflow_id": s.execution.workflow_id, "signal_name": s.signal_name}
    if t == C.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION:
        return {
            "workflow_id": command.request_cancel_external_workflow_execution_command_attributes.workflow_id
        }
    if t == C.COMMAND_TYPE_RECORD_MARKER:
        m = command.record_marker_command_attributes
        return {"marker_name": m.marker_name, **_marker_id(m.marker_name, dict(m.details))}
    if t == C.COMMAND_TYPE_COMPLETE_WORKFLOW_UPDATE:
        return {"update_id": command.complete_workflow_update_command_attributes.update_id}
    return {}


def _event_key(event: history_pb2.HistoryEvent) -> dict[str, str]:
    t = event.event_type
    if t == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        a = event.activity_task_scheduled_event_attributes
        return {"activity_type": a.activity_type.name, "activity_id": a.activity_id}
    if t == E.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED:
        return {
            "scheduled_event_id": str(
                event.activity_task_cancel_requested_event_attributes.scheduled_event_id
            )
        }
    if t == E.EVENT_TYPE_TIMER_STARTED:
        return {"timer_id": event.timer_started_event_attributes.timer_id}
    if t == E.EVENT_TYPE_TIMER_CANCELED:
        return {"timer_id": event.timer_canceled_event_attributes.timer_id}
    if t == E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
        c = event.start_child_workflow_execution_initiated_event_attributes
        return {"workflow_type": c.workflow_type.name, "workflow_id": c.workflow_id}
    if t == E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
        s = event.signal_external_workflow_execution_initiated_event_attributes
        return {"workflow_id": s.workflow_execution.workflow_id, "signal_name": s.signal_name}
    if t == E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
        r = event.request_cancel_external_workflow_execution_initiated_event_attributes
        return {"workflow_id": r.workflow_execution.workflow_id}
    if t == E.EVENT_TYPE_MARKER_RECORDED:
        m = event.marker_recorded_event_attributes
        return {"marker_name": m.marker_name, **_marker_id(m.marker_name, dict(m.details))}
    if t == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
        return {"update_id": event.workflow_execution_update_completed_event_attributes.update_id}
    return {}


def _marker_id(name: str, details: dict[str, object]) -> dict[str, str]:
    """What identifies a marker of ours: the patch id, the side-effect or local activity sequence number.

    A local activity marker is also named by its activity type, so a changed
    order of local activities is reported with both types.
    """
    keys: tuple[str, ...] | None = {PATCH_MARKER: ("patch_id",), SIDE_EFFECT_MARKER: ("seq",)}.get(name)
    if name == LOCAL_ACTIVITY_MARKER:
        keys = ("seq", "activity_type")
    found: dict[str, str] = {}
    for key in keys or ():
        if key not in details:
            continue
        payloads = details[key]
        data = payloads.payloads[0].data if payloads.payloads else b""  # type: ignore[attr-defined]
        found[key] = data.decode(errors="replace")
    return found


def matches(command: command_pb2.Command, event: history_pb2.HistoryEvent) -> bool:
    if EVENT_FOR_COMMAND.get(command.command_type) != event.event_type:
        return False
    return _command_key(command) == _event_key(event)


def describe_command(command: command_pb2.Command) -> str:
    key = ", ".join(f"{k}={v!r}" for k, v in _command_key(command).items())
    return f"{short_type(command.command_type, C.CommandType)}({key})"


def describe_event(event: history_pb2.HistoryEvent) -> str:
    key = ", ".join(f"{k}={v!r}" for k, v in _event_key(event).items())
    return f"{short_type(event.event_type)}({key}) at event {event.event_id}"


@dataclass(eq=False)
class CommandEntry:
    """A command issued by workflow code, waiting for its event in history."""

    command: command_pb2.Command
    on_recorded: Callable[[history_pb2.HistoryEvent], None] | None = None
    """Told the matching event (gives e.g. the scheduled event id to an activity)."""
    obsolete: Callable[[], bool] | None = None
    """True if the server may legitimately have dropped the command (cancel of a timer
    that fired in the meantime); such a command may go unmatched."""
    dropped: bool = False
    """Withdrawn before it was sent (a timer cancelled in the task that started it)."""
