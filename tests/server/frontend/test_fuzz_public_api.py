"""Random requests to every public RPC that takes user input: never INTERNAL, the server stays up.

One dev server (``legato-server start-dev --in-memory``, a subprocess) and one
gRPC channel serve the whole module. Requests are generated from the proto
descriptors (``message_strategy``): every field may be set, strings range from
empty to 10,000 characters of 4-byte UTF-8, enums take defined and undefined
values, durations and timestamps go past what the server represents, nanos
out of range, nested messages (commands, failure chains) included. A few
fields are steered towards values that pass the first checks (``namespace``
is mostly "default", run ids mostly UUIDs, commands mostly carry the
attributes their type expects, task tokens are real ones half of the time) so
that the fuzzing reaches history and storage, not only the frontend.

Each RPC that takes workflow input gets ``FUZZ_EXAMPLES`` requests, the
others 300 (derandomized: CI sees the same ones).
Any status but INTERNAL, UNKNOWN, RESOURCE_EXHAUSTED (an error message too
long for a gRPC header) and DEADLINE_EXCEEDED (a hang) is an acceptable answer
to nonsense. After all of them, the server process must still be running and
run a hello workflow through the SDK.
"""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import IO, Any

import grpc
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from legato import activity, workflow
from legato.api.v1 import command_pb2, common_pb2, enums_pb2, workflow_service_pb2_grpc
from legato.api.v1 import workflow_service_pb2 as ws
from legato.client import Client
from legato.testing import find_free_port, server_command
from legato.worker import Worker

FUZZ_EXAMPLES = 1000
NAMESPACE = "default"
CALL_TIMEOUT_S = 10.0
BAD_CODES = frozenset(
    {
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.DEADLINE_EXCEEDED,
    }
)
REAL_TOKEN_MOSTLY = st.sampled_from((True, True, False))
FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
        HealthCheck.function_scoped_fixture,
    ],
)


# ---------------------------------------------------------------- strategies from descriptors

MAX_DEPTH = 4
HUGE_STRINGS = ("x" * 10_000, "\U0001d11e" * 3_000, "\x00", " ", "../../etc/passwd", "é" * 1001)
INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}
# Seconds around every limit that matters: 100 years, Timestamp's year 9999, timedelta, int64.
EDGE_SECONDS = (0, 1, 120, 121, 3_153_600_000, 3_153_600_001, 10**10, 10**14, 315_576_000_001, -1, 2**63 - 1)

# Fields almost every request needs: always generated (their values may still be bad), so that most
# requests get past "X is required" to the checks and code behind it.
STEERED_FIELDS = frozenset(
    {
        "namespace",
        "workflow_id",
        "workflow_type",
        "task_queue",
        "signal_name",
        "query",
        "query_type",
        "execution",
        "workflow_execution",
        "activity_type",
        "timer_id",
        "activity_id",
        "name",
    }
)

# one_of picks a branch uniformly: repeating one makes it that much likelier.
short_texts = st.text(min_size=1, max_size=12)
texts = st.one_of(short_texts, short_texts, short_texts, st.just(""), st.sampled_from(HUGE_STRINGS))
namespaces = st.one_of(st.just(NAMESPACE), st.just(NAMESPACE), st.just(NAMESPACE), texts)
run_ids = st.one_of(st.just(""), st.uuids().map(str), texts)
# Signed int64 on the wire: Duration.seconds and Timestamp.seconds.
usual_seconds = st.integers(0, 600)
seconds_values = st.one_of(
    usual_seconds,
    usual_seconds,
    usual_seconds,
    st.sampled_from(EDGE_SECONDS),
    st.integers(-(2**63), 2**63 - 1),
)
nanos_values = st.one_of(
    st.just(0), st.just(0), st.integers(0, 999_999_999), st.integers(-(2**31), 2**31 - 1)
)


def _is_repeated(field: FieldDescriptor) -> bool:
    if hasattr(field, "is_repeated"):
        return bool(field.is_repeated)
    return bool(field.label == FieldDescriptor.LABEL_REPEATED)


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    if field.type == FieldDescriptor.TYPE_STRING:
        if field.name == "namespace":
            return namespaces
        if field.name == "run_id" or field.name.endswith("_run_id"):
            return run_ids
        return texts
    if field.type == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=40)
    if field.type == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.one_of(
            st.floats(-3, 3), st.floats(width=32 if field.type == FieldDescriptor.TYPE_FLOAT else 64)
        )
    if field.type == FieldDescriptor.TYPE_ENUM:
        defined = sorted(value.number for value in field.enum_type.values)
        # Hypothesis favours small integers, which are mostly defined values: name the edges.
        undefined = (defined[-1] + 1, defined[-1] + 2, -1, 2**31 - 1, -(2**31))
        return st.one_of(
            st.sampled_from(defined),
            st.sampled_from(undefined),
            st.integers(-(2**31), 2**31 - 1).filter(lambda value: value not in defined),
        )
    low, high = INT_RANGES[field.type]
    return st.one_of(st.integers(max(low, -3), min(high, 10)), st.integers(low, high))


def _field(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    if field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type.GetOptions().map_entry:
        key_field = field.message_type.fields_by_name["key"]
        value_field = field.message_type.fields_by_name["value"]
        values = (
            message_strategy(value_field.message_type, depth + 1)
            if value_field.type == FieldDescriptor.TYPE_MESSAGE
            else _scalar(value_field)
        )
        return st.dictionaries(_scalar(key_field), values, max_size=2)
    single = (
        message_strategy(field.message_type, depth + 1)
        if field.type == FieldDescriptor.TYPE_MESSAGE
        else _scalar(field)
    )
    return st.lists(single, max_size=3) if _is_repeated(field) else single


def _assemble(cls: type[Message], values: dict[str, Any]) -> Message:
    message = cls()
    for name, value in values.items():
        target = getattr(message, name) if hasattr(message, name) else None
        field = cls.DESCRIPTOR.fields_by_name[name]
        if field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type.GetOptions().map_entry:
            for key, item in value.items():
                if isinstance(item, Message):
                    target[key].CopyFrom(item)  # type: ignore[index]
                else:
                    target[key] = item  # type: ignore[index]
        elif _is_repeated(field):
            target.extend(value)  # type: ignore[union-attr]
        elif isinstance(value, Message):
            target.CopyFrom(value)  # type: ignore[union-attr]
        else:
            setattr(message, name, value)
    return message


_STRATEGIES: dict[tuple[str, int], st.SearchStrategy[Any]] = {}


def message_strategy(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[Any]:
    """Messages of this type with any subset of fields set to anything the wire allows."""
    key = (descriptor.full_name, depth)
    if key not in _STRATEGIES:
        _STRATEGIES[key] = _build(descriptor, depth)
    return _STRATEGIES[key]


def _build(descriptor: Descriptor, depth: int) -> st.SearchStrategy[Any]:
    cls = message_factory.GetMessageClass(descriptor)
    if descriptor.full_name in ("google.protobuf.Duration", "google.protobuf.Timestamp"):
        return st.builds(cls, seconds=seconds_values, nanos=nanos_values)
    if descriptor.full_name == "legato.api.v1.Command":
        return st.one_of(_typed_commands(depth), _generic(cls, descriptor, depth))
    return _generic(cls, descriptor, depth)


def _generic(cls: type[Message], descriptor: Descriptor, depth: int) -> st.SearchStrategy[Any]:
    fields = {
        field.name: _field(field, depth)
        for field in descriptor.fields
        if depth < MAX_DEPTH or field.type != FieldDescriptor.TYPE_MESSAGE
    }
    steered = {name: strategy for name, strategy in fields.items() if name in STEERED_FIELDS}
    optional = {name: strategy for name, strategy in fields.items() if name not in STEERED_FIELDS}
    return st.fixed_dictionaries(steered, optional=optional).map(lambda values: _assemble(cls, values))


def _typed_commands(depth: int) -> st.SearchStrategy[command_pb2.Command]:
    """Commands whose attributes match their type, so they reach history's command checks."""
    oneof = command_pb2.Command.DESCRIPTOR.oneofs_by_name["attributes"]

    def command(field: FieldDescriptor) -> st.SearchStrategy[command_pb2.Command]:
        command_type = enums_pb2.CommandType.Value(
            "COMMAND_TYPE_" + field.name.removesuffix("_command_attributes").upper()
        )
        return message_strategy(field.message_type, depth + 1).map(
            lambda attrs: command_pb2.Command(command_type=command_type, **{field.name: attrs})
        )

    return st.one_of(*(command(field) for field in oneof.fields))


def requests(cls: type[Message]) -> st.SearchStrategy[Any]:
    return message_strategy(cls.DESCRIPTOR)


# ---------------------------------------------------------------- the server


@dataclass
class FuzzServer:
    address: str
    process: subprocess.Popen[bytes]
    log: IO[bytes]
    stub: workflow_service_pb2_grpc.WorkflowServiceStub

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")


@pytest.fixture(scope="module")
def server() -> Iterator[FuzzServer]:
    port = find_free_port()
    address = f"127.0.0.1:{port}"
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [*server_command(), "start-dev", "--in-memory", "--ip", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    channel = grpc.insecure_channel(address)
    stub = workflow_service_pb2_grpc.WorkflowServiceStub(channel)
    fuzz_server = FuzzServer(address, process, log, stub)
    try:
        _wait_serving(fuzz_server)
        yield fuzz_server
    finally:
        channel.close()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_serving(server: FuzzServer) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            server.stub.DescribeNamespace(ws.DescribeNamespaceRequest(namespace=NAMESPACE), timeout=2)
            return
        except grpc.RpcError:
            if server.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the dev server did not come up:\n{server.output()[-4000:]}")
            time.sleep(0.1)  # waiting for a subprocess to bind its port: no event to wait on


def call(server: FuzzServer, rpc: str, request: Message) -> None:
    """Send ``request``; fail on a status that means a server bug rather than a bad request."""
    try:
        getattr(server.stub, rpc)(request, timeout=CALL_TIMEOUT_S)
    except grpc.RpcError as err:
        code = err.code()  # type: ignore[attr-defined]
        assert code not in BAD_CODES, f"{rpc} -> {code.name}: {err.details()}\n{request}"  # type: ignore[attr-defined]


def _start_on_fresh_queue(server: FuzzServer) -> str:
    queue = f"fuzz-{uuid.uuid4()}"
    server.stub.StartWorkflowExecution(
        ws.StartWorkflowExecutionRequest(
            namespace=NAMESPACE,
            workflow_id=queue,
            workflow_type=common_pb2.WorkflowType(name="Fuzzed"),
            task_queue=common_pb2.TaskQueue(name=queue),
        ),
        timeout=CALL_TIMEOUT_S,
    )
    return queue


def workflow_task_token(server: FuzzServer) -> bytes:
    """The token of a real, started workflow task (each workflow on a queue of its own)."""
    queue = _start_on_fresh_queue(server)
    task = server.stub.PollWorkflowTaskQueue(
        ws.PollWorkflowTaskQueueRequest(namespace=NAMESPACE, task_queue=common_pb2.TaskQueue(name=queue)),
        timeout=CALL_TIMEOUT_S,
    )
    assert task.task_token
    return bytes(task.task_token)


def activity_task_token(server: FuzzServer) -> bytes:
    """The token of a real, started activity task."""
    queue = _start_on_fresh_queue(server)
    task = server.stub.PollWorkflowTaskQueue(
        ws.PollWorkflowTaskQueueRequest(namespace=NAMESPACE, task_queue=common_pb2.TaskQueue(name=queue)),
        timeout=CALL_TIMEOUT_S,
    )
    schedule = command_pb2.Command(
        command_type=enums_pb2.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
        schedule_activity_task_command_attributes=command_pb2.ScheduleActivityTaskCommandAttributes(
            activity_id="a", activity_type=common_pb2.ActivityType(name="fuzzed")
        ),
    )
    schedule.schedule_activity_task_command_attributes.start_to_close_timeout.FromSeconds(60)
    server.stub.RespondWorkflowTaskCompleted(
        ws.RespondWorkflowTaskCompletedRequest(task_token=task.task_token, commands=[schedule]),
        timeout=CALL_TIMEOUT_S,
    )
    activity_task = server.stub.PollActivityTaskQueue(
        ws.PollActivityTaskQueueRequest(namespace=NAMESPACE, task_queue=common_pb2.TaskQueue(name=queue)),
        timeout=CALL_TIMEOUT_S,
    )
    assert activity_task.task_token
    return bytes(activity_task.task_token)


def with_token(
    request: Message, real: bool, server: FuzzServer, token: Callable[[FuzzServer], bytes]
) -> Message:
    if real:
        request.task_token = token(server)  # type: ignore[attr-defined]
    return request


# ---------------------------------------------------------------- one test per RPC


@FUZZ
@given(request=requests(ws.StartWorkflowExecutionRequest))
def test_start_workflow_execution(server: FuzzServer, request: Message) -> None:
    call(server, "StartWorkflowExecution", request)


@FUZZ
@given(request=requests(ws.SignalWorkflowExecutionRequest))
def test_signal_workflow_execution(server: FuzzServer, request: Message) -> None:
    call(server, "SignalWorkflowExecution", request)


@FUZZ
@given(request=requests(ws.SignalWithStartWorkflowExecutionRequest))
def test_signal_with_start_workflow_execution(server: FuzzServer, request: Message) -> None:
    call(server, "SignalWithStartWorkflowExecution", request)


@FUZZ
@given(request=requests(ws.QueryWorkflowRequest))
def test_query_workflow(server: FuzzServer, request: ws.QueryWorkflowRequest) -> None:
    # Ids of their own: a query to a workflow that exists waits for a worker there is none of.
    request.execution.workflow_id = "query-" + request.execution.workflow_id
    call(server, "QueryWorkflow", request)


@FUZZ
@given(request=requests(ws.UpdateWorkflowExecutionRequest))
def test_update_workflow_execution(server: FuzzServer, request: ws.UpdateWorkflowExecutionRequest) -> None:
    # Ids of their own, as for queries: an update of a workflow that exists waits for a worker to validate it.
    request.workflow_execution.workflow_id = "update-" + request.workflow_execution.workflow_id
    call(server, "UpdateWorkflowExecution", request)


@FUZZ
@given(request=requests(ws.PollWorkflowExecutionUpdateRequest))
def test_poll_workflow_execution_update(
    server: FuzzServer, request: ws.PollWorkflowExecutionUpdateRequest
) -> None:
    call(server, "PollWorkflowExecutionUpdate", request)


@FUZZ
@given(request=requests(ws.RespondWorkflowTaskCompletedRequest), real_token=REAL_TOKEN_MOSTLY)
def test_respond_workflow_task_completed(server: FuzzServer, request: Message, real_token: bool) -> None:
    call(server, "RespondWorkflowTaskCompleted", with_token(request, real_token, server, workflow_task_token))


@FUZZ
@given(request=requests(ws.RespondWorkflowTaskFailedRequest), real_token=REAL_TOKEN_MOSTLY)
def test_respond_workflow_task_failed(server: FuzzServer, request: Message, real_token: bool) -> None:
    call(server, "RespondWorkflowTaskFailed", with_token(request, real_token, server, workflow_task_token))


@FUZZ
@given(request=requests(ws.RespondActivityTaskCompletedRequest), real_token=REAL_TOKEN_MOSTLY)
def test_respond_activity_task_completed(server: FuzzServer, request: Message, real_token: bool) -> None:
    call(server, "RespondActivityTaskCompleted", with_token(request, real_token, server, activity_task_token))


@FUZZ
@given(request=requests(ws.RespondActivityTaskFailedRequest), real_token=REAL_TOKEN_MOSTLY)
def test_respond_activity_task_failed(server: FuzzServer, request: Message, real_token: bool) -> None:
    call(server, "RespondActivityTaskFailed", with_token(request, real_token, server, activity_task_token))


@FUZZ
@given(request=requests(ws.DescribeWorkflowExecutionRequest))
def test_describe_workflow_execution(server: FuzzServer, request: Message) -> None:
    call(server, "DescribeWorkflowExecution", request)


@FUZZ
@given(request=requests(ws.ListWorkflowExecutionsRequest))
def test_list_workflow_executions(server: FuzzServer, request: Message) -> None:
    call(server, "ListWorkflowExecutions", request)


# ---------------------------------------------------------------- the other RPCs, more briefly

FUZZ_BRIEFLY = settings(FUZZ, max_examples=300)


@FUZZ_BRIEFLY
@given(request=requests(ws.GetWorkflowExecutionHistoryRequest))
def test_get_workflow_execution_history(
    server: FuzzServer, request: ws.GetWorkflowExecutionHistoryRequest
) -> None:
    request.wait_new_event = False  # a long-poll on a fuzzed workflow waits out the call's deadline
    call(server, "GetWorkflowExecutionHistory", request)


@FUZZ_BRIEFLY
@given(request=requests(ws.RequestCancelWorkflowExecutionRequest))
def test_request_cancel_workflow_execution(server: FuzzServer, request: Message) -> None:
    call(server, "RequestCancelWorkflowExecution", request)


@FUZZ_BRIEFLY
@given(request=requests(ws.TerminateWorkflowExecutionRequest))
def test_terminate_workflow_execution(server: FuzzServer, request: Message) -> None:
    call(server, "TerminateWorkflowExecution", request)


@FUZZ_BRIEFLY
@given(request=requests(ws.CountWorkflowExecutionsRequest))
def test_count_workflow_executions(server: FuzzServer, request: Message) -> None:
    call(server, "CountWorkflowExecutions", request)


@FUZZ_BRIEFLY
@given(request=requests(ws.ResetStickyTaskQueueRequest))
def test_reset_sticky_task_queue(server: FuzzServer, request: Message) -> None:
    call(server, "ResetStickyTaskQueue", request)


@FUZZ_BRIEFLY
@given(request=requests(ws.RespondActivityTaskCanceledRequest), real_token=REAL_TOKEN_MOSTLY)
def test_respond_activity_task_canceled(server: FuzzServer, request: Message, real_token: bool) -> None:
    call(server, "RespondActivityTaskCanceled", with_token(request, real_token, server, activity_task_token))


@FUZZ_BRIEFLY
@given(request=requests(ws.RecordActivityTaskHeartbeatRequest), real_token=REAL_TOKEN_MOSTLY)
def test_record_activity_task_heartbeat(server: FuzzServer, request: Message, real_token: bool) -> None:
    call(server, "RecordActivityTaskHeartbeat", with_token(request, real_token, server, activity_task_token))


@FUZZ_BRIEFLY
@given(request=requests(ws.RespondQueryTaskCompletedRequest))
def test_respond_query_task_completed(server: FuzzServer, request: Message) -> None:
    call(server, "RespondQueryTaskCompleted", request)


@FUZZ_BRIEFLY
@given(request=requests(ws.RegisterNamespaceRequest))
def test_register_namespace(server: FuzzServer, request: Message) -> None:
    call(server, "RegisterNamespace", request)


@FUZZ_BRIEFLY
@given(request=requests(ws.DescribeNamespaceRequest))
def test_describe_namespace(server: FuzzServer, request: Message) -> None:
    call(server, "DescribeNamespace", request)


@FUZZ_BRIEFLY
@given(request=requests(ws.ListNamespacesRequest))
def test_list_namespaces(server: FuzzServer, request: Message) -> None:
    call(server, "ListNamespaces", request)


# ---------------------------------------------------------------- afterwards


@activity.defn
async def greet(name: str) -> str:
    return f"Hello, {name}!"


@workflow.defn
class HelloWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(greet, name, start_to_close_timeout=timedelta(seconds=10))


def test_the_server_is_still_up_and_runs_a_hello_workflow(server: FuzzServer) -> None:
    assert server.process.poll() is None, f"the server exited:\n{server.output()[-4000:]}"

    async def hello() -> str:
        client = await Client.connect(server.address, namespace=NAMESPACE)
        queue = f"hello-{uuid.uuid4()}"
        async with Worker(client, task_queue=queue, workflows=[HelloWorkflow], activities=[greet]):
            return await client.execute_workflow(
                HelloWorkflow.run, "fuzz", id=queue, task_queue=queue, execution_timeout=timedelta(seconds=30)
            )

    assert asyncio.run(hello()) == "Hello, fuzz!"
    assert "unhandled error" not in server.output(), server.output()[-4000:]
