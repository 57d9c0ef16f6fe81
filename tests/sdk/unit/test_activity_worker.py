"""The activity worker against a fake service: what each outcome of user code is reported as."""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from legato import activity
from legato._worker_activity import ActivityWorker
from legato.api.v1 import common_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato.converter import DataConverter, PayloadConverter
from legato.exceptions import ApplicationError
from legato.interceptor import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

pc = PayloadConverter()


class FakeService:
    def __init__(self, *, cancel_on_heartbeat: int | None = None) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.cancel_on_heartbeat = cancel_on_heartbeat
        self.heartbeats = 0

    async def call(self, rpc: str, request: Any, **_: Any) -> Any:
        self.calls.append((rpc, request))
        if rpc == "RecordActivityTaskHeartbeat":
            self.heartbeats += 1
            cancel = self.cancel_on_heartbeat is not None and self.heartbeats >= self.cancel_on_heartbeat
            return ws.RecordActivityTaskHeartbeatResponse(cancel_requested=cancel)
        return None

    def reports(self) -> list[tuple[str, Any]]:
        return [(rpc, req) for rpc, req in self.calls if rpc.startswith("Respond")]


@dataclasses.dataclass
class Order:
    id: str
    cents: int


@activity.defn
async def charge(order: Order, tip: int) -> str:
    info = activity.info()
    return f"{order.id}:{order.cents + tip}:attempt{info.attempt}:{info.workflow_id}"


@activity.defn(name="Explode")
async def explode() -> None:
    try:
        raise KeyError("inner")
    except KeyError as err:
        raise ValueError("outer") from err


@activity.defn
async def refuse() -> None:
    raise ApplicationError("card declined", "detail-1", type="Declined", non_retryable=True)


@activity.defn
async def wait_forever() -> None:
    while True:
        activity.heartbeat("tick")
        await asyncio.sleep(0.01)


@activity.defn
def sync_until_cancelled() -> str:
    for _ in range(500):
        activity.heartbeat("sync-tick")  # raises CancelledError once cancelled
        time.sleep(0.01)
    return "never cancelled"


@activity.defn
async def resume() -> list[Any]:
    return activity.heartbeat_details()


@activity.defn
def sync_reports_thread() -> bool:
    return threading.current_thread() is not threading.main_thread() and activity.in_activity()


def task(name: str, *args: Any, **fields: Any) -> ws.PollActivityTaskQueueResponse:
    response = ws.PollActivityTaskQueueResponse(
        task_token=b"token-" + name.encode(),
        activity_type=common_pb2.ActivityType(name=name),
        activity_id="1",
        workflow_execution=common_pb2.WorkflowExecution(workflow_id="wf-1", run_id="run-1"),
        workflow_type=common_pb2.WorkflowType(name="Wf"),
        input=pc.to_payloads(list(args)),
        attempt=fields.pop("attempt", 1),
        **fields,
    )
    response.started_time.FromDatetime(datetime.now(UTC))
    return response


@pytest.fixture
def executor() -> Iterator[concurrent.futures.ThreadPoolExecutor]:
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        yield pool


def worker(
    service: FakeService, executor: concurrent.futures.Executor, interceptors: list[Interceptor] | None = None
) -> ActivityWorker:
    return ActivityWorker(
        service=service,  # type: ignore[arg-type]
        namespace="default",
        task_queue="q",
        identity="test-worker",
        activities=[charge, explode, refuse, wait_forever, sync_until_cancelled, resume, sync_reports_thread],
        executor=executor,
        max_concurrent=10,
        pollers=1,
        data_converter=DataConverter(),
        interceptors=interceptors or [],
    )


async def test_result_is_reported_completed_with_typed_arguments(
    executor: concurrent.futures.Executor,
) -> None:
    service = FakeService()
    await worker(service, executor)._handle(task("charge", Order("o-1", 100), 5, attempt=2))
    [(rpc, request)] = service.reports()
    assert rpc == "RespondActivityTaskCompleted"
    assert pc.from_payloads(request.result) == ["o-1:105:attempt2:wf-1"]


async def test_exception_is_reported_failed_with_type_message_stack_and_cause(
    executor: concurrent.futures.Executor,
) -> None:
    service = FakeService()
    await worker(service, executor)._handle(task("Explode"))
    [(rpc, request)] = service.reports()
    assert rpc == "RespondActivityTaskFailed"
    failure = request.failure
    assert failure.application_failure_info.type == "ValueError"
    assert failure.message == "outer"
    assert "raise ValueError" in failure.stack_trace
    assert failure.cause.application_failure_info.type == "KeyError"
    assert not failure.application_failure_info.non_retryable


async def test_application_error_keeps_its_type_details_and_non_retryable(
    executor: concurrent.futures.Executor,
) -> None:
    service = FakeService()
    await worker(service, executor)._handle(task("refuse"))
    [(_, request)] = service.reports()
    info = request.failure.application_failure_info
    assert (info.type, info.non_retryable) == ("Declined", True)
    assert pc.from_payloads(info.details) == ["detail-1"]


async def test_unknown_activity_type_fails_the_attempt_with_the_registered_names(
    executor: concurrent.futures.Executor,
) -> None:
    service = FakeService()
    await worker(service, executor)._handle(task("nope"))
    [(rpc, request)] = service.reports()
    assert rpc == "RespondActivityTaskFailed"
    assert "'nope' is not registered" in request.failure.message
    assert "charge" in request.failure.message


async def test_async_activity_cancelled_through_heartbeat_reports_canceled(
    executor: concurrent.futures.Executor,
) -> None:
    service = FakeService(cancel_on_heartbeat=1)
    await asyncio.wait_for(worker(service, executor)._handle(task("wait_forever")), 5)
    [(rpc, request)] = service.reports()
    assert rpc == "RespondActivityTaskCanceled"
    assert pc.from_payloads(request.details) == ["tick"]


async def test_sync_activity_sees_cancellation_on_its_next_heartbeat(
    executor: concurrent.futures.Executor,
) -> None:
    service = FakeService(cancel_on_heartbeat=1)
    await asyncio.wait_for(worker(service, executor)._handle(task("sync_until_cancelled")), 5)
    [(rpc, _)] = service.reports()
    assert rpc == "RespondActivityTaskCanceled"


async def test_local_deadline_cancels_the_attempt_and_reports_a_timeout(
    executor: concurrent.futures.Executor,
) -> None:
    service = FakeService()
    t = task("wait_forever")
    t.start_to_close_timeout.FromTimedelta(timedelta(milliseconds=200))
    await asyncio.wait_for(worker(service, executor)._handle(t), 5)
    [(rpc, request)] = service.reports()
    assert rpc == "RespondActivityTaskFailed"
    assert request.failure.WhichOneof("failure_info") == "timeout_failure_info"
    assert pc.from_payloads(request.last_heartbeat_details) == ["tick"]


async def test_heartbeat_details_of_the_previous_attempt_are_readable(
    executor: concurrent.futures.Executor,
) -> None:
    service = FakeService()
    t = task("resume", attempt=3)
    t.heartbeat_details.CopyFrom(pc.to_payloads([{"done": 41}]))
    await worker(service, executor)._handle(t)
    [(_, request)] = service.reports()
    assert pc.from_payloads(request.result) == [[{"done": 41}]]


async def test_sync_activity_runs_in_the_executor_with_its_context(
    executor: concurrent.futures.Executor,
) -> None:
    service = FakeService()
    await worker(service, executor)._handle(task("sync_reports_thread"))
    [(_, request)] = service.reports()
    assert pc.from_payloads(request.result) == [True]


async def test_shutdown_drain_cancels_running_activities_after_the_grace_period(
    executor: concurrent.futures.Executor,
) -> None:
    service = FakeService()
    w = worker(service, executor)
    job = asyncio.create_task(w._handle(task("wait_forever")))
    w._in_flight.add(job)
    await asyncio.sleep(0.05)
    await asyncio.wait_for(w.drain(0.05), 5)
    [(rpc, request)] = service.reports()
    assert rpc == "RespondActivityTaskFailed"
    assert request.failure.application_failure_info.type == "WorkerShutdown"


class Recording(Interceptor):
    def __init__(self, log: list[str], label: str) -> None:
        self.log, self.label = log, label

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        log, label = self.log, self.label

        class Wrap(ActivityInboundInterceptor):
            async def execute_activity(self, input: ExecuteActivityInput) -> Any:
                log.append(f"{label}:{activity.info().activity_type}:{sorted(input.headers)}")
                return await self.next.execute_activity(input)

        return Wrap(next)


async def test_interceptors_wrap_execution_first_outermost(executor: concurrent.futures.Executor) -> None:
    log: list[str] = []
    service = FakeService()
    t = task("charge", Order("o", 1), 0)
    t.header.fields["k"].CopyFrom(pc.to_payload("v"))
    await worker(service, executor, [Recording(log, "outer"), Recording(log, "inner")])._handle(t)
    assert log == ["outer:charge:['k']", "inner:charge:['k']"]
    assert service.reports()[0][0] == "RespondActivityTaskCompleted"


def test_defn_records_name_kind_and_types() -> None:
    definition = activity.ActivityDefinition.of(charge)
    assert (definition.name, definition.is_async, definition.arg_types, definition.return_type) == (
        "charge",
        True,
        (Order, int),
        str,
    )
    assert activity.ActivityDefinition.of(explode).name == "Explode"
    assert activity.ActivityDefinition.of(sync_until_cancelled).is_async is False
    with pytest.raises(TypeError, match="not an activity"):
        activity.ActivityDefinition.of(len)


def test_activity_functions_outside_an_activity_say_so() -> None:
    assert not activity.in_activity()
    with pytest.raises(RuntimeError, match="not in an activity"):
        activity.info()
