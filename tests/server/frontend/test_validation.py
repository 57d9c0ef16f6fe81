"""Bad requests stop at the frontend with the right status and a message that says what to fix."""

from __future__ import annotations

import time
import uuid

import grpc
import pytest
from google.protobuf import duration_pb2

from legato.api.v1 import common_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato_server.internal.v1 import tokens_pb2

INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND


@pytest.fixture
def stub(server_address_and_stub):  # type: ignore[no-untyped-def]
    return server_address_and_stub[1]


def start(**changes: object) -> ws.StartWorkflowExecutionRequest:
    request = ws.StartWorkflowExecutionRequest(
        namespace="default",
        workflow_id="order-1",
        workflow_type=common_pb2.WorkflowType(name="Checkout"),
        task_queue=common_pb2.TaskQueue(name="orders"),
    )
    for field, value in changes.items():
        if isinstance(value, (str, int)):
            setattr(request, field, value)
        else:
            getattr(request, field).CopyFrom(value)
    return request


def seconds(value: int) -> duration_pb2.Duration:
    return duration_pb2.Duration(seconds=value)


def big_input(size: int) -> common_pb2.Payloads:
    return common_pb2.Payloads(payloads=[common_pb2.Payload(data=b"x" * size)])


async def rejected(call, request, code: grpc.StatusCode, needle: str) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(request, timeout=10)
    assert caught.value.code() == code, caught.value.details()
    assert needle in caught.value.details()
    return caught.value.details()


@pytest.mark.parametrize(
    ("request_", "code", "needle"),
    [
        pytest.param(start(workflow_id=""), INVALID, "workflow_id is required", id="empty-id"),
        pytest.param(
            start(workflow_id="w" * 1001), INVALID, "1001 chars long; the limit is 1000", id="long-id"
        ),
        pytest.param(
            start(namespace="nope"), NOT_FOUND, 'namespace "nope" not found', id="unknown-namespace"
        ),
        pytest.param(start(namespace="bad name"), INVALID, "not allowed", id="bad-namespace"),
        pytest.param(start(namespace=""), INVALID, "namespace is required", id="no-namespace"),
        pytest.param(
            start(workflow_type=common_pb2.WorkflowType()),
            INVALID,
            "workflow_type.name is required",
            id="no-type",
        ),
        pytest.param(
            start(task_queue=common_pb2.TaskQueue()), INVALID, "task_queue.name is required", id="no-queue"
        ),
        pytest.param(
            start(workflow_run_timeout=seconds(-1)),
            INVALID,
            "workflow_run_timeout is -1s; it must not be negative",
            id="negative-run-timeout",
        ),
        pytest.param(
            start(workflow_task_timeout=seconds(121)),
            INVALID,
            "workflow_task_timeout is 121s; the maximum is 120s",
            id="task-timeout-too-long",
        ),
        pytest.param(
            start(input=big_input(2 * 1024 * 1024)), INVALID, "the limit is 2 MiB", id="oversized-input"
        ),
        pytest.param(
            start(retry_policy=common_pb2.RetryPolicy(backoff_coefficient=0.5)),
            INVALID,
            "backoff_coefficient",
            id="retry-coefficient",
        ),
        pytest.param(
            start(
                retry_policy=common_pb2.RetryPolicy(initial_interval=seconds(10), maximum_interval=seconds(1))
            ),
            INVALID,
            "shorter than initial_interval",
            id="retry-max-interval",
        ),
        pytest.param(
            start(retry_policy=common_pb2.RetryPolicy(maximum_attempts=-1)),
            INVALID,
            "maximum_attempts",
            id="retry-attempts",
        ),
    ],
)
async def test_bad_start_requests(stub, request_, code, needle) -> None:  # type: ignore[no-untyped-def]
    await rejected(stub.StartWorkflowExecution, request_, code, needle)


async def test_oversized_input_message_names_the_size(stub) -> None:  # type: ignore[no-untyped-def]
    details = await rejected(
        stub.StartWorkflowExecution, start(input=big_input(3 * 1024 * 1024)), INVALID, "input is"
    )
    assert details.startswith("input is 31")  # 3 MiB of data plus framing
    assert details.endswith("bytes; the limit is 2 MiB")


async def test_malformed_task_tokens_are_invalid_argument(stub) -> None:  # type: ignore[no-untyped-def]
    for token in (b"garbage", b"\xff\xff\xff", tokens_pb2.TaskToken(workflow_id="x").SerializeToString()):
        await rejected(
            stub.RespondActivityTaskCompleted,
            ws.RespondActivityTaskCompletedRequest(task_token=token),
            INVALID,
            "task token is malformed",
        )
    await rejected(
        stub.RespondWorkflowTaskCompleted,
        ws.RespondWorkflowTaskCompletedRequest(),
        INVALID,
        "task_token is required",
    )
    await rejected(
        stub.RespondQueryTaskCompleted,
        ws.RespondQueryTaskCompletedRequest(task_token=b"garbage"),
        INVALID,
        "task token is malformed",
    )


async def test_a_well_formed_token_for_an_unknown_task_is_not_found(running_server, stub) -> None:  # type: ignore[no-untyped-def]
    default = await running_server.namespaces.get_by_name("default")
    token = tokens_pb2.TaskToken(
        namespace_id=default.id,
        workflow_id="never-started",
        run_id="00000000-0000-0000-0000-000000000000",
        scheduled_event_id=5,
        started_event_id=6,
        attempt=1,
        activity_id="1",
    )
    await rejected(
        stub.RespondActivityTaskCompleted,
        ws.RespondActivityTaskCompletedRequest(task_token=token.SerializeToString()),
        NOT_FOUND,
        "",
    )
    unknown_namespace = tokens_pb2.TaskToken(
        namespace_id="no-such-id", workflow_id="w", run_id="r", scheduled_event_id=5
    )
    await rejected(
        stub.RespondActivityTaskCompleted,
        ws.RespondActivityTaskCompletedRequest(task_token=unknown_namespace.SerializeToString()),
        NOT_FOUND,
        "not found",
    )
    query_token = tokens_pb2.QueryTaskToken(namespace_id=default.id, task_queue="q", query_id="gone")
    await rejected(
        stub.RespondQueryTaskCompleted,
        ws.RespondQueryTaskCompletedRequest(task_token=query_token.SerializeToString()),
        NOT_FOUND,
        "not found",
    )


async def test_a_token_from_another_namespace_is_rejected(running_server, stub) -> None:  # type: ignore[no-untyped-def]
    await stub.RegisterNamespace(ws.RegisterNamespaceRequest(namespace="elsewhere"))
    default = await running_server.namespaces.get_by_name("default")
    task_token = tokens_pb2.TaskToken(
        namespace_id=default.id, workflow_id="w", run_id="r", scheduled_event_id=5, activity_id="1"
    )
    await rejected(
        stub.RespondActivityTaskCompleted,
        ws.RespondActivityTaskCompletedRequest(
            task_token=task_token.SerializeToString(), namespace="elsewhere"
        ),
        INVALID,
        'task token belongs to another namespace than "elsewhere"',
    )
    query_token = tokens_pb2.QueryTaskToken(namespace_id=default.id, task_queue="q", query_id="x")
    await rejected(
        stub.RespondQueryTaskCompleted,
        ws.RespondQueryTaskCompletedRequest(
            task_token=query_token.SerializeToString(), namespace="elsewhere"
        ),
        INVALID,
        'task token belongs to another namespace than "elsewhere"',
    )


async def test_other_calls_validate_their_inputs(stub) -> None:  # type: ignore[no-untyped-def]
    execution = common_pb2.WorkflowExecution(workflow_id="w")
    await rejected(
        stub.SignalWorkflowExecution,
        ws.SignalWorkflowExecutionRequest(namespace="default", workflow_execution=execution),
        INVALID,
        "signal_name is required",
    )
    await rejected(
        stub.QueryWorkflow,
        ws.QueryWorkflowRequest(namespace="default", execution=execution),
        INVALID,
        "query.query_type is required",
    )
    await rejected(
        stub.GetWorkflowExecutionHistory,
        ws.GetWorkflowExecutionHistoryRequest(namespace="default", execution=execution, maximum_page_size=-3),
        INVALID,
        "maximum_page_size",
    )
    await rejected(
        stub.ListWorkflowExecutions,
        ws.ListWorkflowExecutionsRequest(namespace="default", page_size=5000),
        INVALID,
        "the maximum is 1000",
    )
    await rejected(
        stub.PollWorkflowTaskQueue,
        ws.PollWorkflowTaskQueueRequest(namespace="default"),
        INVALID,
        "task_queue.name",
    )
    await rejected(
        stub.TerminateWorkflowExecution,
        ws.TerminateWorkflowExecutionRequest(namespace="default"),
        INVALID,
        "workflow_execution.workflow_id is required",
    )


async def test_list_and_count_on_an_empty_namespace(stub) -> None:  # type: ignore[no-untyped-def]
    listed = await stub.ListWorkflowExecutions(
        ws.ListWorkflowExecutionsRequest(namespace="default"), timeout=5
    )
    assert list(listed.executions) == []
    counted = await stub.CountWorkflowExecutions(
        ws.CountWorkflowExecutionsRequest(namespace="default"), timeout=5
    )
    assert counted.count == 0


async def test_a_poll_with_no_task_returns_empty_before_the_callers_deadline(stub) -> None:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    response = await stub.PollActivityTaskQueue(
        ws.PollActivityTaskQueueRequest(namespace="default", task_queue=common_pb2.TaskQueue(name="idle")),
        timeout=2.0,
    )
    assert response == ws.PollActivityTaskQueueResponse()
    assert time.monotonic() - started < 2.0


async def test_an_overlong_eager_sticky_queue_is_refused_before_the_activity_is_touched(
    running_server, stub
) -> None:  # type: ignore[no-untyped-def]
    default = await running_server.namespaces.get_by_name("default")
    token = tokens_pb2.TaskToken(
        namespace_id=default.id,
        workflow_id="w",
        run_id=str(uuid.uuid4()),
        scheduled_event_id=5,
        activity_id="1",
    )
    await rejected(
        stub.RespondActivityTaskCompleted,
        ws.RespondActivityTaskCompletedRequest(
            task_token=token.SerializeToString(), eager_workflow_task_sticky_queue="q" * 1001
        ),
        INVALID,
        "eager_workflow_task_sticky_queue is 1001 chars long; the limit is 1000",
    )
