"""Choosing a reset point and rebuilding what is open there: pure functions on hand-built histories."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from legato.api.v1 import common_pb2, enums_pb2, history_pb2
from legato_server.history.workflow import events as ev
from legato_server.history.workflow.mutable_state import new_mutable_state
from legato_server.history.workflow.reset_point import ResetRefused, choose_finish_event, rebuild_pending
from legato_server.internal.v1 import history_state_pb2 as hs

ET = enums_pb2.EventType
RT = enums_pb2.ResetType


def _history(*items: tuple[int, object]) -> list[history_pb2.HistoryEvent]:
    events = []
    for event_id, (event_type, attrs) in enumerate(items, start=1):
        event = ev.new_event(event_type, attrs, time_ms=1_000 * event_id)  # type: ignore[arg-type]
        event.event_id = event_id
        events.append(event)
    return events


def _task(scheduled: int) -> list[tuple[int, object]]:
    return [
        (ET.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, history_pb2.WorkflowTaskScheduledEventAttributes()),
        (
            ET.EVENT_TYPE_WORKFLOW_TASK_STARTED,
            history_pb2.WorkflowTaskStartedEventAttributes(scheduled_event_id=scheduled),
        ),
        (
            ET.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
            history_pb2.WorkflowTaskCompletedEventAttributes(
                scheduled_event_id=scheduled, started_event_id=scheduled + 1
            ),
        ),
    ]


STARTED = (ET.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, history_pb2.WorkflowExecutionStartedEventAttributes())
# 1 started, 2-4 task, 5 activity scheduled, 6 timer started, 7 signal, 8-10 task, 11 timer fired, 12-14 task
HISTORY = _history(
    STARTED,
    *_task(2),
    (
        ET.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
        history_pb2.ActivityTaskScheduledEventAttributes(
            activity_id="1",
            activity_type=common_pb2.ActivityType(name="charge"),
            start_to_close_timeout=ev.duration(10),
        ),
    ),
    (
        ET.EVENT_TYPE_TIMER_STARTED,
        history_pb2.TimerStartedEventAttributes(timer_id="t", start_to_fire_timeout=ev.duration(60)),
    ),
    (ET.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, history_pb2.WorkflowExecutionSignaledEventAttributes()),
    *_task(8),
    (ET.EVENT_TYPE_TIMER_FIRED, history_pb2.TimerFiredEventAttributes(timer_id="t", started_event_id=6)),
    *_task(12),
)


@pytest.mark.parametrize(
    ("event_id", "reset_type", "finish", "started"),
    [(4, RT.RESET_TYPE_UNSPECIFIED, 4, 3), (10, 0, 10, 9), (0, RT.RESET_TYPE_FIRST_WORKFLOW_TASK, 4, 3)]
    + [(0, RT.RESET_TYPE_LAST_WORKFLOW_TASK, 14, 13)],
    ids=["event-4", "event-10", "first", "last"],
)
def test_a_workflow_task_end_is_a_reset_point(
    event_id: int, reset_type: int, finish: int, started: int
) -> None:
    point = choose_finish_event(HISTORY, run_id="r", event_id=event_id, reset_type=reset_type)
    assert (point.finish_event_id, point.started_event_id, point.scheduled_event_id) == (
        finish,
        started,
        started - 1,
    )


@pytest.mark.parametrize(
    ("event_id", "message"),
    [
        (1, "event 1 is a WorkflowExecutionStarted, not the end of a workflow task"),
        (3, "event 3 is a WorkflowTaskStarted, not the end of a workflow task"),
        (5, "event 5 is a ActivityTaskScheduled, not the end of a workflow task"),
        (15, "event 15 is not in the history of run r (events 1..14)"),
        (-2, "event -2 is not in the history of run r"),
    ],
    ids=["started", "task-started", "activity", "past-the-end", "negative"],
)
def test_other_events_are_refused_with_the_allowed_ids(event_id: int, message: str) -> None:
    with pytest.raises(ResetRefused) as refused:
        choose_finish_event(HISTORY, run_id="r", event_id=event_id, reset_type=0)
    assert message in str(refused.value)
    assert "allowed event ids of run r: 4, 10, 14" in str(refused.value)


def test_a_run_without_a_finished_task_has_no_reset_point() -> None:
    events = _history(STARTED, *_task(2)[:2])
    for reset_type in (RT.RESET_TYPE_FIRST_WORKFLOW_TASK, RT.RESET_TYPE_LAST_WORKFLOW_TASK):
        with pytest.raises(ResetRefused, match="run r has no finished workflow task to reset to"):
            choose_finish_event(events, run_id="r", event_id=0, reset_type=reset_type)
    with pytest.raises(ResetRefused, match="none: this run has not finished a workflow task yet"):
        choose_finish_event(events, run_id="r", event_id=3, reset_type=0)


def _rebuilt(prefix: Sequence[history_pb2.HistoryEvent], event_id: int) -> hs.MutableState:
    ms = new_mutable_state(hs.ExecutionInfo(run_id="new"), now_ms=0)
    rebuild_pending(ms, prefix, event_id=event_id)
    return ms.state


def test_rebuild_keeps_what_is_open_at_the_point() -> None:
    at_ten = _rebuilt(HISTORY[:9], 10)
    assert list(at_ten.activities) == [5]
    assert at_ten.activities[5].activity_type.name == "charge"
    assert at_ten.activities[5].attempt == 1
    assert list(at_ten.timers) == ["t"]
    assert ev.ts_ms(at_ten.timers["t"].expiry_time) == 6_000 + 60_000  # started at 6s, fires 60s later
    assert at_ten.execution_info.last_completed_workflow_task_started_event_id == 3

    at_fourteen = _rebuilt(HISTORY[:13], 14)
    assert list(at_fourteen.timers) == []  # fired at event 11
    assert list(at_fourteen.activities) == [5]
    assert at_fourteen.execution_info.last_completed_workflow_task_started_event_id == 9


def test_rebuild_refuses_a_point_with_an_open_child_or_external_request() -> None:
    events = _history(
        STARTED,
        *_task(2),
        (
            ET.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
            history_pb2.StartChildWorkflowExecutionInitiatedEventAttributes(workflow_id="kid"),
        ),
        (
            ET.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
            history_pb2.SignalExternalWorkflowExecutionInitiatedEventAttributes(
                workflow_execution=common_pb2.WorkflowExecution(workflow_id="other")
            ),
        ),
        (
            ET.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED,
            history_pb2.ExternalWorkflowExecutionSignaledEventAttributes(initiated_event_id=6),
        ),
        *_task(8),
    )
    with pytest.raises(ResetRefused) as refused:
        _rebuilt(events[:9], 10)
    message = str(refused.value)
    assert "child workflow 'kid' (initiated by event 5)" in message
    assert "workflow 'other'" not in message  # its signal was delivered at event 7
    assert "reset to a workflow task before it was initiated" in message
    assert _rebuilt(events[:3], 4).activities == {}  # before the child: fine
