"""Rendering of histories, failures, payloads and tables from hand-built protos."""

from __future__ import annotations

import datetime

import pytest
from google.protobuf import json_format

from legato.api.v1 import common_pb2, enums_pb2, history_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato.cli.format import (
    enum_label,
    event_summary,
    failure_text,
    format_time,
    payloads_text,
    render_fields,
    render_history,
    render_table,
)
from legato.cli.inspection import render_description
from legato.converter import PayloadConverter

converter = PayloadConverter()
START = datetime.datetime(2024, 5, 1, 12, 0, 0, 250_000, tzinfo=datetime.UTC)


def payloads(*values: object) -> common_pb2.Payloads:
    return converter.to_payloads(list(values))


def event(event_id: int, event_type: int, **attributes: object) -> history_pb2.HistoryEvent:
    built = history_pb2.HistoryEvent(event_id=event_id, event_type=event_type, **attributes)
    built.event_time.FromDatetime(START + datetime.timedelta(seconds=event_id))
    return built


def duration(seconds: int) -> object:
    from google.protobuf.duration_pb2 import Duration

    return Duration(seconds=seconds)


def sample_history() -> history_pb2.History:
    card_declined = common_pb2.Failure(
        message="activity failed",
        activity_failure_info=common_pb2.ActivityFailureInfo(
            activity_type=common_pb2.ActivityType(name="charge")
        ),
        cause=common_pb2.Failure(
            message="card declined",
            application_failure_info=common_pb2.ApplicationFailureInfo(type="CardDeclined"),
        ),
    )
    return history_pb2.History(
        events=[
            event(
                1,
                enums_pb2.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
                workflow_execution_started_event_attributes=history_pb2.WorkflowExecutionStartedEventAttributes(
                    workflow_type=common_pb2.WorkflowType(name="Checkout"),
                    task_queue=common_pb2.TaskQueue(name="orders"),
                    input=payloads("order-1", 1999),
                    attempt=1,
                ),
            ),
            event(
                2,
                enums_pb2.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
                workflow_task_scheduled_event_attributes=history_pb2.WorkflowTaskScheduledEventAttributes(
                    task_queue=common_pb2.TaskQueue(name="orders"), attempt=1
                ),
            ),
            event(
                3,
                enums_pb2.EVENT_TYPE_WORKFLOW_TASK_STARTED,
                workflow_task_started_event_attributes=history_pb2.WorkflowTaskStartedEventAttributes(
                    scheduled_event_id=2, identity="worker-1"
                ),
            ),
            event(
                4,
                enums_pb2.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
                workflow_task_completed_event_attributes=history_pb2.WorkflowTaskCompletedEventAttributes(
                    scheduled_event_id=2, started_event_id=3, identity="worker-1"
                ),
            ),
            event(
                5,
                enums_pb2.EVENT_TYPE_TIMER_STARTED,
                timer_started_event_attributes=history_pb2.TimerStartedEventAttributes(
                    timer_id="1", start_to_fire_timeout=duration(5400), workflow_task_completed_event_id=4
                ),
            ),
            event(
                6,
                enums_pb2.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
                workflow_execution_signaled_event_attributes=history_pb2.WorkflowExecutionSignaledEventAttributes(
                    signal_name="approve", input=payloads({"by": "ana"}), identity="ana@laptop"
                ),
            ),
            event(
                7,
                enums_pb2.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
                activity_task_scheduled_event_attributes=history_pb2.ActivityTaskScheduledEventAttributes(
                    activity_id="2",
                    activity_type=common_pb2.ActivityType(name="charge"),
                    task_queue=common_pb2.TaskQueue(name="orders"),
                    input=payloads("order-1"),
                    start_to_close_timeout=duration(10),
                ),
            ),
            event(
                8,
                enums_pb2.EVENT_TYPE_ACTIVITY_TASK_FAILED,
                activity_task_failed_event_attributes=history_pb2.ActivityTaskFailedEventAttributes(
                    failure=card_declined.cause,
                    scheduled_event_id=7,
                    retry_state=enums_pb2.RETRY_STATE_NON_RETRYABLE_FAILURE,
                ),
            ),
            event(
                9,
                enums_pb2.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
                workflow_execution_failed_event_attributes=history_pb2.WorkflowExecutionFailedEventAttributes(
                    failure=card_declined
                ),
            ),
        ]
    )


def history_lines() -> dict[str, str]:
    """Rendered lines keyed by event id."""
    lines = render_history(sample_history()).splitlines()
    return {line.split()[0]: line for line in lines}


def test_history_has_a_header_and_one_line_per_event() -> None:
    lines = render_history(sample_history()).splitlines()
    assert lines[0].split() == ["ID", "TIME", "TYPE", "DETAILS"]
    assert len(lines) == 1 + 9
    assert lines[1].split()[:3] == ["1", "2024-05-01T12:00:01.250Z", "WorkflowExecutionStarted"]


def test_history_columns_are_aligned() -> None:
    lines = render_history(sample_history()).splitlines()
    type_column = lines[0].index("TYPE")
    details_column = lines[0].index("DETAILS")
    for line in lines[1:]:
        assert line[type_column - 2 : type_column] == "  "
        assert line[type_column] != " "
        assert line[details_column - 2 : details_column] == "  "


@pytest.mark.parametrize(
    ("event_id", "expected"),
    [
        ("1", 'type=Checkout, task_queue=orders, input=["order-1", 1999], attempt=1'),
        ("2", "task_queue=orders, attempt=1"),
        ("3", "identity=worker-1"),
        ("5", "timer=1, duration=1h30m"),
        ("6", 'signal=approve, input={"by": "ana"}, identity=ana@laptop'),
        (
            "7",
            'activity=charge, activity_id=2, task_queue=orders, input="order-1", start_to_close_timeout=10s',
        ),
        ("8", 'scheduled=7, failure="card declined (CardDeclined)", retry_state=NonRetryableFailure'),
        ("9", 'failure="activity failed (activity charge): card declined (CardDeclined)"'),
    ],
    ids=[
        "started",
        "task-scheduled",
        "task-started",
        "timer",
        "signal",
        "activity",
        "activity-failed",
        "workflow-failed",
    ],
)
def test_event_details_summarise_key_attributes(event_id: str, expected: str) -> None:
    assert history_lines()[event_id].endswith(expected)


def test_completed_result_is_decoded_json() -> None:
    completed = event(
        10,
        enums_pb2.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
        workflow_execution_completed_event_attributes=(
            history_pb2.WorkflowExecutionCompletedEventAttributes(result=payloads({"ok": True}))
        ),
    )
    assert event_summary(completed) == 'result={"ok": true}'


def test_terminated_reason_is_quoted_free_text() -> None:
    terminated = event(
        10,
        enums_pb2.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
        workflow_execution_terminated_event_attributes=(
            history_pb2.WorkflowExecutionTerminatedEventAttributes(reason="stuck, again", identity="ops")
        ),
    )
    assert event_summary(terminated) == 'reason="stuck, again", identity=ops'


def test_events_without_a_summary_rule_show_their_set_fields() -> None:
    child = event(
        10,
        enums_pb2.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED,
        child_workflow_execution_started_event_attributes=(
            history_pb2.ChildWorkflowExecutionStartedEventAttributes(
                namespace="default",
                initiated_event_id=9,
                workflow_execution=common_pb2.WorkflowExecution(workflow_id="child", run_id="r1"),
                workflow_type=common_pb2.WorkflowType(name="Ship"),
            )
        ),
    )
    assert event_summary(child) == "namespace=default, initiated=9, workflow=child/r1, type=Ship"


def test_long_values_are_cut_to_keep_one_line() -> None:
    signaled = event(
        10,
        enums_pb2.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        workflow_execution_signaled_event_attributes=(
            history_pb2.WorkflowExecutionSignaledEventAttributes(signal_name="s", input=payloads("x" * 500))
        ),
    )
    summary = event_summary(signaled)
    assert summary.endswith("…")
    assert len(summary) < 200
    assert "\n" not in summary


def test_undecodable_payload_is_described_not_fatal() -> None:
    encrypted = common_pb2.Payloads(
        payloads=[
            common_pb2.Payload(metadata={"encoding": b"binary/encrypted"}, data=b"\x00" * 42),
        ]
    )
    assert payloads_text(encrypted) == "<binary/encrypted, 42 bytes>"


def test_event_without_attributes_renders() -> None:
    bare = history_pb2.History(events=[history_pb2.HistoryEvent(event_id=1, event_type=99)])
    assert render_history(bare).splitlines()[1].split() == ["1", "99"]


def test_history_json_round_trips_for_the_replayer() -> None:
    history = sample_history()
    assert json_format.Parse(json_format.MessageToJson(history), history_pb2.History()) == history


@pytest.mark.parametrize(
    ("failure", "text"),
    [
        (common_pb2.Failure(message="boom"), "boom"),
        (
            common_pb2.Failure(
                message="boom", application_failure_info=common_pb2.ApplicationFailureInfo(type="ValueError")
            ),
            "boom (ValueError)",
        ),
        (
            common_pb2.Failure(
                message="",
                timeout_failure_info=common_pb2.TimeoutFailureInfo(
                    timeout_type=enums_pb2.TIMEOUT_TYPE_START_TO_CLOSE
                ),
            ),
            "StartToClose timeout",
        ),
        (
            common_pb2.Failure(message="cancelled", canceled_failure_info=common_pb2.CanceledFailureInfo()),
            "cancelled (canceled)",
        ),
    ],
    ids=["plain", "application", "timeout", "canceled"],
)
def test_failure_text(failure: common_pb2.Failure, text: str) -> None:
    assert failure_text(failure) == text


@pytest.mark.parametrize(
    ("enum_type", "value", "label"),
    [
        (enums_pb2.WorkflowExecutionStatus, enums_pb2.WORKFLOW_EXECUTION_STATUS_TIMED_OUT, "TimedOut"),
        (enums_pb2.EventType, enums_pb2.EVENT_TYPE_TIMER_FIRED, "TimerFired"),
        (enums_pb2.NamespaceState, enums_pb2.NAMESPACE_STATE_REGISTERED, "Registered"),
        (enums_pb2.EventType, 1234, "1234"),
    ],
    ids=["status", "event-type", "namespace-state", "unknown-value"],
)
def test_enum_labels(enum_type: object, value: int, label: str) -> None:
    assert enum_label(enum_type, value) == label


def test_unset_time_is_blank() -> None:
    assert format_time(history_pb2.HistoryEvent().event_time) == ""


def test_table_aligns_columns_without_trailing_blanks() -> None:
    text = render_table(("A", "LONGER"), [("wide value", "x"), ("y", "")])
    assert text.splitlines() == ["A           LONGER", "wide value  x", "y"]


def test_fields_align_values() -> None:
    assert render_fields([("ID", "1"), ("Status", "Running")]).splitlines() == [
        "ID:      1",
        "Status:  Running",
    ]


def test_workflow_description_shows_status_memo_and_pending_work() -> None:
    info = common_pb2.WorkflowExecutionInfo(
        execution=common_pb2.WorkflowExecution(workflow_id="order-1", run_id="r1"),
        type=common_pb2.WorkflowType(name="Checkout"),
        status=enums_pb2.WORKFLOW_EXECUTION_STATUS_RUNNING,
        task_queue="orders",
        history_length=7,
        memo=common_pb2.Memo(fields={"owner": converter.to_payload("ana")}),
    )
    info.start_time.FromDatetime(START)
    response = ws.DescribeWorkflowExecutionResponse(
        workflow_execution_info=info,
        pending_activities=[
            common_pb2.PendingActivityInfo(
                activity_id="2",
                activity_type=common_pb2.ActivityType(name="charge"),
                state="started",
                attempt=3,
                last_failure=common_pb2.Failure(message="timeout talking to bank"),
            )
        ],
    )
    text = render_description(response)
    assert "Workflow ID:        order-1" in text
    assert "Status:             Running" in text
    assert "Start time:         2024-05-01T12:00:00.250Z" in text
    assert 'Memo owner:         "ana"' in text
    assert "Run timeout:        none" in text
    assert "Pending activities:" in text
    assert text.splitlines()[-1].split()[:4] == ["2", "charge", "started", "3"]


def test_present_but_empty_attributes_are_left_out() -> None:
    started = event(
        1,
        enums_pb2.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        workflow_execution_started_event_attributes=history_pb2.WorkflowExecutionStartedEventAttributes(
            workflow_type=common_pb2.WorkflowType(name="Checkout"),
            workflow_execution_timeout=duration(0),
            workflow_run_timeout=duration(3600),
        ),
    )
    assert event_summary(started) == "type=Checkout, workflow_run_timeout=1h"
