"""Out-of-range input is INVALID_ARGUMENT naming the field and what is allowed, never INTERNAL.

Issue #8: enum values the API does not define, durations the server cannot
represent, run ids that are not UUIDs, and user values echoed whole in error
messages (which gRPC cannot carry past 8 KiB, so the caller saw
RESOURCE_EXHAUSTED instead of the real error).
"""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import duration_pb2, timestamp_pb2

from legato.api.v1 import command_pb2, common_pb2, enums_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato_server.internal.v1 import tokens_pb2
from tests.server.frontend.test_validation import rejected, start

INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND
QUEUE = "bad-input"
HUNDRED_YEARS = "the maximum is 3153600000s (100 years)"
# 1000 four-byte characters: 12 KB once gRPC percent-encodes them, beyond its 8 KiB header limit.
WIDE_ID = "\U0001d11e" * 1000


@pytest.fixture
def stub(server_address_and_stub):  # type: ignore[no-untyped-def]
    return server_address_and_stub[1]


def seconds(value: int, nanos: int = 0) -> duration_pb2.Duration:
    return duration_pb2.Duration(seconds=value, nanos=nanos)


async def workflow_task_token(stub) -> bytes:  # type: ignore[no-untyped-def]
    """Start a workflow on QUEUE and take its first workflow task."""
    await stub.StartWorkflowExecution(start(task_queue=common_pb2.TaskQueue(name=QUEUE)), timeout=10)
    task = await stub.PollWorkflowTaskQueue(
        ws.PollWorkflowTaskQueueRequest(namespace="default", task_queue=common_pb2.TaskQueue(name=QUEUE)),
        timeout=10,
    )
    assert task.task_token
    return bytes(task.task_token)


async def complete_with(stub, *commands: command_pb2.Command) -> ws.RespondWorkflowTaskCompletedRequest:  # type: ignore[no-untyped-def]
    return ws.RespondWorkflowTaskCompletedRequest(
        task_token=await workflow_task_token(stub), commands=commands
    )


def timer(timeout: duration_pb2.Duration, timer_id: str = "t") -> command_pb2.Command:
    return command_pb2.Command(
        command_type=enums_pb2.COMMAND_TYPE_START_TIMER,
        start_timer_command_attributes=command_pb2.StartTimerCommandAttributes(
            timer_id=timer_id, start_to_fire_timeout=timeout
        ),
    )


def activity(**timeouts: duration_pb2.Duration) -> command_pb2.Command:
    attrs = command_pb2.ScheduleActivityTaskCommandAttributes(
        activity_id="a", activity_type=common_pb2.ActivityType(name="charge"), **timeouts
    )
    return command_pb2.Command(
        command_type=enums_pb2.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
        schedule_activity_task_command_attributes=attrs,
    )


def child(**changes: object) -> command_pb2.Command:
    attrs = command_pb2.StartChildWorkflowExecutionCommandAttributes(
        workflow_id="child", workflow_type=common_pb2.WorkflowType(name="Child"), **changes
    )
    return command_pb2.Command(
        command_type=enums_pb2.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION,
        start_child_workflow_execution_command_attributes=attrs,
    )


def continue_as_new(**changes: object) -> command_pb2.Command:
    return command_pb2.Command(
        command_type=enums_pb2.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
        continue_as_new_workflow_execution_command_attributes=(
            command_pb2.ContinueAsNewWorkflowExecutionCommandAttributes(**changes)
        ),
    )


def signal_external(run_id: str) -> command_pb2.Command:
    return command_pb2.Command(
        command_type=enums_pb2.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION,
        signal_external_workflow_execution_command_attributes=(
            command_pb2.SignalExternalWorkflowExecutionCommandAttributes(
                execution=common_pb2.WorkflowExecution(workflow_id="other", run_id=run_id), signal_name="go"
            )
        ),
    )


def cancel_external(run_id: str) -> command_pb2.Command:
    return command_pb2.Command(
        command_type=enums_pb2.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION,
        request_cancel_external_workflow_execution_command_attributes=(
            command_pb2.RequestCancelExternalWorkflowExecutionCommandAttributes(
                workflow_id="other", run_id=run_id
            )
        ),
    )


def unknown_task_token() -> bytes:
    """Well formed, but for no task: reaches history only if the request passes validation."""
    return tokens_pb2.TaskToken(
        namespace_id="ns", workflow_id="w", run_id="r", scheduled_event_id=5, activity_id="1"
    ).SerializeToString()


# ---------------------------------------------------------------- enums


@pytest.mark.parametrize("command_type", [17, 18, 19, -1, 2**31 - 1])
async def test_an_unknown_command_type_names_the_field_and_the_allowed_types(stub, command_type: int) -> None:  # type: ignore[no-untyped-def]
    request = await complete_with(stub, command_pb2.Command(command_type=command_type))  # type: ignore[arg-type]
    details = await rejected(
        stub.RespondWorkflowTaskCompleted,
        request,
        INVALID,
        f"commands[0].command_type is {command_type}, which is not a CommandType; allowed: ",
    )
    assert "COMMAND_TYPE_START_TIMER" in details and "COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES" in details


@pytest.mark.parametrize(
    ("command", "needle", "allowed"),
    [
        pytest.param(
            child(parent_close_policy=9),  # type: ignore[arg-type]
            "start_child_workflow_execution_command_attributes.parent_close_policy is 9",
            "PARENT_CLOSE_POLICY_ABANDON",
            id="parent-close-policy",
        ),
        pytest.param(
            child(workflow_id_reuse_policy=-4),  # type: ignore[arg-type]
            "start_child_workflow_execution_command_attributes.workflow_id_reuse_policy is -4",
            "WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE",
            id="child-id-reuse-policy",
        ),
        pytest.param(
            child(task_queue=common_pb2.TaskQueue(name="q", kind=3)),  # type: ignore[arg-type]
            "start_child_workflow_execution_command_attributes.task_queue.kind is 3",
            "TASK_QUEUE_KIND_STICKY",
            id="child-task-queue-kind",
        ),
        pytest.param(
            continue_as_new(task_queue=common_pb2.TaskQueue(name="q", kind=-2)),  # type: ignore[arg-type]
            "continue_as_new_workflow_execution_command_attributes.task_queue.kind is -2",
            "TASK_QUEUE_KIND_NORMAL",
            id="continue-as-new-task-queue-kind",
        ),
        pytest.param(
            command_pb2.Command(
                command_type=enums_pb2.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION,
                fail_workflow_execution_command_attributes=command_pb2.FailWorkflowExecutionCommandAttributes(
                    failure=common_pb2.Failure(
                        message="late",
                        cause=common_pb2.Failure(
                            timeout_failure_info=common_pb2.TimeoutFailureInfo(timeout_type=42)  # type: ignore[arg-type]
                        ),
                    )
                ),
            ),
            "failure.cause.timeout_failure_info.timeout_type is 42",
            "TIMEOUT_TYPE_HEARTBEAT",
            id="timeout-type-in-a-failure-cause",
        ),
    ],
)
async def test_unknown_enum_values_in_commands(stub, command, needle: str, allowed: str) -> None:  # type: ignore[no-untyped-def]
    details = await rejected(
        stub.RespondWorkflowTaskCompleted, await complete_with(stub, command), INVALID, needle
    )
    assert allowed in details


@pytest.mark.parametrize(
    ("rpc", "request_", "needle", "allowed"),
    [
        pytest.param(
            "StartWorkflowExecution",
            start(workflow_id_reuse_policy=99),
            "workflow_id_reuse_policy is 99",
            "WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING",
            id="start-id-reuse-policy",
        ),
        pytest.param(
            "SignalWithStartWorkflowExecution",
            ws.SignalWithStartWorkflowExecutionRequest(
                namespace="default",
                workflow_id="w",
                workflow_type=common_pb2.WorkflowType(name="T"),
                task_queue=common_pb2.TaskQueue(name="q"),
                signal_name="s",
                workflow_id_reuse_policy=-1,  # type: ignore[arg-type]
            ),
            "workflow_id_reuse_policy is -1",
            "WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE",
            id="signal-with-start-id-reuse-policy",
        ),
        pytest.param(
            "GetWorkflowExecutionHistory",
            ws.GetWorkflowExecutionHistoryRequest(
                namespace="default",
                execution=common_pb2.WorkflowExecution(workflow_id="w"),
                history_event_filter_type=9,  # type: ignore[arg-type]
            ),
            "history_event_filter_type is 9",
            "HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT",
            id="history-event-filter-type",
        ),
        pytest.param(
            "ListWorkflowExecutions",
            ws.ListWorkflowExecutionsRequest(
                namespace="default",
                filter=common_pb2.WorkflowExecutionFilter(statuses=[1, 99]),  # type: ignore[list-item]
            ),
            "filter.statuses[1] is 99",
            "WORKFLOW_EXECUTION_STATUS_TIMED_OUT",
            id="list-status",
        ),
        pytest.param(
            "CountWorkflowExecutions",
            ws.CountWorkflowExecutionsRequest(
                namespace="default",
                filter=common_pb2.WorkflowExecutionFilter(statuses=[-7]),  # type: ignore[list-item]
            ),
            "filter.statuses[0] is -7",
            "WORKFLOW_EXECUTION_STATUS_RUNNING",
            id="count-status",
        ),
        pytest.param(
            "RespondWorkflowTaskFailed",
            ws.RespondWorkflowTaskFailedRequest(task_token=unknown_task_token(), cause=99),  # type: ignore[arg-type]
            "cause is 99",
            "WORKFLOW_TASK_FAILED_CAUSE_BAD_COMMAND",
            id="workflow-task-failed-cause",
        ),
        pytest.param(
            "RespondQueryTaskCompleted",
            ws.RespondQueryTaskCompletedRequest(task_token=b"x", completed_type=5),  # type: ignore[arg-type]
            "completed_type is 5",
            "QUERY_RESULT_TYPE_FAILED",
            id="query-result-type",
        ),
        pytest.param(
            "RespondActivityTaskFailed",
            ws.RespondActivityTaskFailedRequest(
                task_token=unknown_task_token(),
                failure=common_pb2.Failure(
                    activity_failure_info=common_pb2.ActivityFailureInfo(retry_state=12)  # type: ignore[arg-type]
                ),
            ),
            "failure.activity_failure_info.retry_state is 12",
            "RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED",
            id="retry-state-in-a-failure",
        ),
        pytest.param(
            "PollActivityTaskQueue",
            ws.PollActivityTaskQueueRequest(
                namespace="default",
                task_queue=common_pb2.TaskQueue(name="q", kind=8),  # type: ignore[arg-type]
            ),
            "task_queue.kind is 8",
            "TASK_QUEUE_KIND_NORMAL",
            id="poll-task-queue-kind",
        ),
    ],
)
async def test_unknown_enum_values_in_requests(stub, rpc: str, request_, needle: str, allowed: str) -> None:  # type: ignore[no-untyped-def]
    details = await rejected(getattr(stub, rpc), request_, INVALID, needle)
    assert allowed in details


# ---------------------------------------------------------------- durations


@pytest.mark.parametrize(
    "field",
    ["workflow_execution_timeout", "workflow_run_timeout", "workflow_task_timeout", "workflow_start_delay"],
)
async def test_a_start_timeout_beyond_what_a_timedelta_holds_is_invalid(stub, field: str) -> None:  # type: ignore[no-untyped-def]
    maximum = "the maximum is 120s" if field == "workflow_task_timeout" else HUNDRED_YEARS
    await rejected(
        stub.StartWorkflowExecution,
        start(**{field: seconds(10**14)}),
        INVALID,
        f"{field} is 100000000000000s; {maximum}",
    )


@pytest.mark.parametrize("field", ["initial_interval", "maximum_interval"])
async def test_a_retry_interval_beyond_the_maximum_is_invalid(stub, field: str) -> None:  # type: ignore[no-untyped-def]
    policy = common_pb2.RetryPolicy(**{field: seconds(10**14)})  # type: ignore[arg-type]
    await rejected(
        stub.StartWorkflowExecution,
        start(retry_policy=policy),
        INVALID,
        f"retry_policy.{field} is 100000000000000s; {HUNDRED_YEARS}",
    )


@pytest.mark.parametrize("coefficient", [float("nan"), float("inf")])
async def test_a_backoff_coefficient_must_be_finite(stub, coefficient: float) -> None:  # type: ignore[no-untyped-def]
    await rejected(
        stub.StartWorkflowExecution,
        start(retry_policy=common_pb2.RetryPolicy(backoff_coefficient=coefficient)),
        INVALID,
        "it must be a finite number >= 1",
    )


@pytest.mark.parametrize(
    ("command", "needle"),
    [
        pytest.param(
            timer(seconds(10**14)),
            f"commands[0].start_timer_command_attributes.start_to_fire_timeout is 100000000000000s; {HUNDRED_YEARS}",
            id="timer-beyond-a-timestamp",
        ),
        pytest.param(
            timer(seconds(10**10)),
            f"start_to_fire_timeout is 10000000000s; {HUNDRED_YEARS}",
            id="timer-of-three-centuries",
        ),
        pytest.param(
            timer(seconds(-3)),
            "start_to_fire_timeout is -3s; it must not be negative",
            id="negative-timer",
        ),
        pytest.param(
            timer(seconds(1, nanos=1_500_000_000)),
            "start_to_fire_timeout has nanos 1500000000; they must be in [0, 1e9)",
            id="timer-nanos-out-of-range",
        ),
        pytest.param(
            activity(start_to_close_timeout=seconds(10**14)),
            f"schedule_activity_task_command_attributes.start_to_close_timeout is 100000000000000s; {HUNDRED_YEARS}",
            id="activity-start-to-close",
        ),
        pytest.param(
            activity(start_to_close_timeout=seconds(10), heartbeat_timeout=seconds(10**12)),
            f"heartbeat_timeout is 1000000000000s; {HUNDRED_YEARS}",
            id="activity-heartbeat",
        ),
        pytest.param(
            child(workflow_task_timeout=seconds(1000)),
            "start_child_workflow_execution_command_attributes.workflow_task_timeout is 1000s; the maximum is 120s",
            id="child-task-timeout",
        ),
        pytest.param(
            child(retry_policy=common_pb2.RetryPolicy(initial_interval=seconds(10**14))),
            f"retry_policy.initial_interval is 100000000000000s; {HUNDRED_YEARS}",
            id="child-retry-interval",
        ),
        pytest.param(
            continue_as_new(backoff_start_interval=seconds(10**14)),
            f"backoff_start_interval is 100000000000000s; {HUNDRED_YEARS}",
            id="continue-as-new-backoff",
        ),
    ],
)
async def test_command_durations_beyond_what_the_server_represents(stub, command, needle: str) -> None:  # type: ignore[no-untyped-def]
    await rejected(stub.RespondWorkflowTaskCompleted, await complete_with(stub, command), INVALID, needle)


async def test_a_list_filter_time_beyond_year_9999_is_invalid(stub) -> None:  # type: ignore[no-untyped-def]
    request = ws.ListWorkflowExecutionsRequest(
        namespace="default",
        filter=common_pb2.WorkflowExecutionFilter(start_time_from=timestamp_pb2.Timestamp(seconds=10**15)),
    )
    await rejected(
        stub.ListWorkflowExecutions,
        request,
        INVALID,
        "filter.start_time_from has seconds 1000000000000000; a timestamp must be within years 1 to 9999",
    )


@pytest.mark.parametrize("schedule", ["* * * * \u00b2", "@every 99999999999999999999h"])
async def test_a_cron_schedule_with_unusable_numbers_is_invalid(stub, schedule: str) -> None:  # type: ignore[no-untyped-def]
    await rejected(stub.StartWorkflowExecution, start(cron_schedule=schedule), INVALID, "cron_schedule: ")


# ---------------------------------------------------------------- run ids


@pytest.mark.parametrize(
    ("rpc", "request_", "field"),
    [
        pytest.param(
            "DescribeWorkflowExecution",
            ws.DescribeWorkflowExecutionRequest(
                namespace="default", execution=common_pb2.WorkflowExecution(workflow_id="w", run_id="abc")
            ),
            "execution.run_id",
            id="describe",
        ),
        pytest.param(
            "GetWorkflowExecutionHistory",
            ws.GetWorkflowExecutionHistoryRequest(
                namespace="default", execution=common_pb2.WorkflowExecution(workflow_id="w", run_id="abc")
            ),
            "execution.run_id",
            id="history",
        ),
        pytest.param(
            "SignalWorkflowExecution",
            ws.SignalWorkflowExecutionRequest(
                namespace="default",
                workflow_execution=common_pb2.WorkflowExecution(workflow_id="w", run_id="abc"),
                signal_name="s",
            ),
            "workflow_execution.run_id",
            id="signal",
        ),
        pytest.param(
            "QueryWorkflow",
            ws.QueryWorkflowRequest(
                namespace="default",
                execution=common_pb2.WorkflowExecution(workflow_id="w", run_id="abc"),
                query=ws.WorkflowQuery(query_type="q"),
            ),
            "execution.run_id",
            id="query",
        ),
        pytest.param(
            "RequestCancelWorkflowExecution",
            ws.RequestCancelWorkflowExecutionRequest(
                namespace="default",
                workflow_execution=common_pb2.WorkflowExecution(workflow_id="w", run_id="abc"),
            ),
            "workflow_execution.run_id",
            id="cancel",
        ),
        pytest.param(
            "TerminateWorkflowExecution",
            ws.TerminateWorkflowExecutionRequest(
                namespace="default",
                workflow_execution=common_pb2.WorkflowExecution(workflow_id="w", run_id="abc"),
            ),
            "workflow_execution.run_id",
            id="terminate",
        ),
        pytest.param(
            "ResetStickyTaskQueue",
            ws.ResetStickyTaskQueueRequest(
                namespace="default", execution=common_pb2.WorkflowExecution(workflow_id="w", run_id="abc")
            ),
            "execution.run_id",
            id="reset-sticky",
        ),
    ],
)
async def test_a_run_id_that_is_not_a_uuid_is_invalid(stub, rpc: str, request_, field: str) -> None:  # type: ignore[no-untyped-def]
    await rejected(getattr(stub, rpc), request_, INVALID, f"{field} is 'abc'; a run id is a UUID")


@pytest.mark.parametrize(
    ("command", "field"),
    [
        pytest.param(
            signal_external("nope"),
            "signal_external_workflow_execution_command_attributes.execution.run_id",
            id="signal-external",
        ),
        pytest.param(
            cancel_external("nope"),
            "request_cancel_external_workflow_execution_command_attributes.run_id",
            id="cancel-external",
        ),
    ],
)
async def test_a_run_id_in_a_command_must_be_a_uuid(stub, command, field: str) -> None:  # type: ignore[no-untyped-def]
    request = await complete_with(stub, command)
    await rejected(
        stub.RespondWorkflowTaskCompleted, request, INVALID, f"{field} is 'nope'; a run id is a UUID"
    )


async def test_a_10kb_run_id_is_invalid_and_not_echoed_whole(stub) -> None:  # type: ignore[no-untyped-def]
    request = ws.DescribeWorkflowExecutionRequest(
        namespace="default", execution=common_pb2.WorkflowExecution(workflow_id="w", run_id="r" * 10_000)
    )
    details = await rejected(
        stub.DescribeWorkflowExecution, request, INVALID, "... (10000 chars); a run id is a UUID"
    )
    assert len(details) < 400


async def test_empty_and_uuid_run_ids_are_accepted(stub) -> None:  # type: ignore[no-untyped-def]
    for run_id in ("", "6fa459ea-ee8a-3ca4-894e-db77e160355e"):
        request = ws.DescribeWorkflowExecutionRequest(
            namespace="default", execution=common_pb2.WorkflowExecution(workflow_id="w", run_id=run_id)
        )
        await rejected(stub.DescribeWorkflowExecution, request, NOT_FOUND, "not found")


# ---------------------------------------------------------------- echoed values


async def test_a_long_unicode_workflow_id_is_cut_in_not_found(stub) -> None:  # type: ignore[no-untyped-def]
    request = ws.DescribeWorkflowExecutionRequest(
        namespace="default", execution=common_pb2.WorkflowExecution(workflow_id=WIDE_ID)
    )
    details = await rejected(stub.DescribeWorkflowExecution, request, NOT_FOUND, "... (1000 chars) not found")
    assert len(details) < 200


async def test_a_long_unicode_workflow_id_is_cut_in_already_started(stub) -> None:  # type: ignore[no-untyped-def]
    await stub.StartWorkflowExecution(start(workflow_id=WIDE_ID), timeout=10)
    details = await rejected(
        stub.StartWorkflowExecution,
        start(workflow_id=WIDE_ID),
        grpc.StatusCode.ALREADY_EXISTS,
        "(1000 chars)",
    )
    assert len(details) < 400


async def test_a_long_duplicate_timer_id_is_cut_in_the_bad_command_message(stub) -> None:  # type: ignore[no-untyped-def]
    timer_id = "\U0001d11e" * 20_000
    request = await complete_with(stub, timer(seconds(5), timer_id), timer(seconds(5), timer_id))
    details = await rejected(
        stub.RespondWorkflowTaskCompleted,
        request,
        INVALID,
        "... (20000 chars) is already used by an open timer",
    )
    assert len(details) < 400


async def test_a_long_cron_schedule_is_invalid_without_being_echoed(stub) -> None:  # type: ignore[no-untyped-def]
    details = await rejected(
        stub.StartWorkflowExecution,
        start(cron_schedule="\U0001d11e" * 5000),
        INVALID,
        "cron_schedule is 5000 chars long; the limit is 255",
    )
    assert "\U0001d11e" not in details


async def test_a_long_namespace_id_is_invalid_without_being_echoed(stub) -> None:  # type: ignore[no-untyped-def]
    await rejected(
        stub.DescribeNamespace,
        ws.DescribeNamespaceRequest(id="\U0001d11e" * 5000),
        INVALID,
        "id is 5000 chars long; the limit is 255",
    )


# ---------------------------------------------------------------- page tokens


@pytest.mark.parametrize("token", [b"\x00", b"[1]", b'["a", "b"]', b"\xff\xfe"])
async def test_a_malformed_page_token_is_invalid_argument(stub, token: bytes) -> None:  # type: ignore[no-untyped-def]
    await rejected(
        stub.ListWorkflowExecutions,
        ws.ListWorkflowExecutionsRequest(namespace="default", next_page_token=token),
        INVALID,
        "next_page_token is malformed",
    )
    await rejected(
        stub.ListNamespaces,
        ws.ListNamespacesRequest(next_page_token=token),
        INVALID,
        "next_page_token is malformed",
    )


# ---------------------------------------------------------------- namespaces


@pytest.mark.parametrize("name", ["orders\n", "orders\nx", "\U0001d11e" * 250])
async def test_a_namespace_name_with_a_newline_or_symbols_is_invalid(stub, name: str) -> None:  # type: ignore[no-untyped-def]
    details = await rejected(
        stub.RegisterNamespace,
        ws.RegisterNamespaceRequest(namespace=name),
        INVALID,
        "has characters that are not allowed",
    )
    assert len(details) < 300


async def test_an_unknown_namespace_id_in_a_task_token_is_not_echoed_whole(stub) -> None:  # type: ignore[no-untyped-def]
    token = tokens_pb2.TaskToken(
        namespace_id="\U0001d11e" * 900, workflow_id="w", run_id="r", scheduled_event_id=5, activity_id="1"
    )
    details = await rejected(
        stub.RespondActivityTaskCompleted,
        ws.RespondActivityTaskCompletedRequest(task_token=token.SerializeToString()),
        NOT_FOUND,
        '... (900 chars)" not found',
    )
    assert len(details) < 300


@pytest.mark.parametrize("rpc", ["SignalWorkflowExecution", "RequestCancelWorkflowExecution"])
async def test_a_long_unicode_workflow_id_is_cut_in_already_closed(stub, rpc: str) -> None:  # type: ignore[no-untyped-def]
    started = await stub.StartWorkflowExecution(start(workflow_id=WIDE_ID), timeout=10)
    execution = common_pb2.WorkflowExecution(workflow_id=WIDE_ID, run_id=started.run_id)
    await stub.TerminateWorkflowExecution(
        ws.TerminateWorkflowExecutionRequest(namespace="default", workflow_execution=execution), timeout=10
    )
    request = (
        ws.SignalWorkflowExecutionRequest(namespace="default", workflow_execution=execution, signal_name="go")
        if rpc == "SignalWorkflowExecution"
        else ws.RequestCancelWorkflowExecutionRequest(namespace="default", workflow_execution=execution)
    )
    details = await rejected(
        getattr(stub, rpc), request, grpc.StatusCode.FAILED_PRECONDITION, "(1000 chars) run "
    )
    assert len(details) < 400
