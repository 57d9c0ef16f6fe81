"""The workflow worker against a fake service and the real runtime: stickiness, queries, task failures."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from legato import workflow
from legato._worker_workflow import WorkflowWorker
from legato.api.v1 import common_pb2, enums_pb2, history_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato.converter import DataConverter, PayloadConverter

pc = PayloadConverter()
E = enums_pb2


@workflow.defn
class Collector:
    def __init__(self) -> None:
        self.received: list[str] = []

    @workflow.run
    async def run(self, expected: int) -> list[str]:
        await workflow.wait_condition(lambda: len(self.received) >= expected)
        return self.received

    @workflow.signal
    def push(self, value: str) -> None:
        self.received.append(value)

    @workflow.query
    def count(self) -> int:
        return len(self.received)


class FakeService:
    def __init__(self, full_history: list[history_pb2.HistoryEvent] | None = None) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.full_history = full_history or []

    async def call(self, rpc: str, request: Any, **_: Any) -> Any:
        self.calls.append((rpc, request))
        if rpc == "GetWorkflowExecutionHistory":
            return ws.GetWorkflowExecutionHistoryResponse(
                history=history_pb2.History(events=self.full_history)
            )
        response_type = getattr(ws, f"{rpc}Response", None)
        return response_type() if response_type is not None else None  # an empty answer, as the server's

    def last(self, rpc: str) -> Any:
        return [req for name, req in self.calls if name == rpc][-1]


def event(event_id: int, event_type: int, field: str | None = None, **attrs: Any) -> history_pb2.HistoryEvent:
    e = history_pb2.HistoryEvent(event_id=event_id, event_type=event_type)
    e.event_time.GetCurrentTime()
    if field is not None:
        getattr(e, field).SetInParent()
        for key, value in attrs.items():
            target = getattr(e, field)
            if isinstance(value, common_pb2.Payloads | common_pb2.WorkflowType | common_pb2.TaskQueue):
                getattr(target, key).CopyFrom(value)
            else:
                setattr(target, key, value)
    return e


def first_task_events() -> list[history_pb2.HistoryEvent]:
    return [
        event(
            1,
            E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
            "workflow_execution_started_event_attributes",
            workflow_type=common_pb2.WorkflowType(name="Collector"),
            task_queue=common_pb2.TaskQueue(name="q"),
            input=pc.to_payloads([1]),
        ),
        event(2, E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, "workflow_task_scheduled_event_attributes"),
        event(
            3,
            E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
            "workflow_task_started_event_attributes",
            scheduled_event_id=2,
        ),
    ]


def second_task_events() -> list[history_pb2.HistoryEvent]:
    return [
        event(
            4,
            E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
            "workflow_task_completed_event_attributes",
            scheduled_event_id=2,
            started_event_id=3,
        ),
        event(
            5,
            E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
            "workflow_execution_signaled_event_attributes",
            signal_name="push",
            input=pc.to_payloads(["a"]),
        ),
        event(6, E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, "workflow_task_scheduled_event_attributes"),
        event(
            7,
            E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
            "workflow_task_started_event_attributes",
            scheduled_event_id=6,
        ),
    ]


def task(
    events: list[history_pb2.HistoryEvent],
    *,
    previous_started: int,
    started: int,
    workflow_type: str = "Collector",
) -> ws.PollWorkflowTaskQueueResponse:
    return ws.PollWorkflowTaskQueueResponse(
        task_token=f"token-{started}".encode(),
        workflow_execution=common_pb2.WorkflowExecution(workflow_id="wf", run_id="run-1"),
        workflow_type=common_pb2.WorkflowType(name=workflow_type),
        previous_started_event_id=previous_started,
        started_event_id=started,
        attempt=1,
        history=history_pb2.History(events=events),
    )


def make_worker(service: FakeService, *, max_cached: int = 10) -> WorkflowWorker:
    return WorkflowWorker(
        service=service,  # type: ignore[arg-type]
        namespace="default",
        task_queue="q",
        identity="worker-1",
        workflows=[Collector],
        max_concurrent=5,
        pollers=1,
        max_cached=max_cached,
        sticky_schedule_to_start_timeout=timedelta(seconds=5),
        data_converter=DataConverter(),
        interceptor_classes=[],
    )


async def test_first_task_completes_with_sticky_attributes_and_is_cached() -> None:
    service = FakeService()
    worker = make_worker(service)
    await worker._handle(task(first_task_events(), previous_started=0, started=3))
    request = service.last("RespondWorkflowTaskCompleted")
    assert list(request.commands) == []
    sticky = request.sticky_attributes
    assert sticky.worker_task_queue.name == worker.sticky_queue
    assert sticky.worker_task_queue.kind == E.TASK_QUEUE_KIND_STICKY
    assert sticky.worker_task_queue.normal_name == "q"
    assert sticky.schedule_to_start_timeout.ToTimedelta() == timedelta(seconds=5)
    assert "run-1" in worker.cache


async def test_cached_run_is_fed_only_the_new_events() -> None:
    service = FakeService()
    worker = make_worker(service)
    await worker._handle(task(first_task_events(), previous_started=0, started=3))
    await worker._handle(task(second_task_events(), previous_started=3, started=7))
    request = service.last("RespondWorkflowTaskCompleted")
    [command] = request.commands
    assert command.command_type == E.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION
    assert pc.from_payloads(command.complete_workflow_execution_command_attributes.result) == [["a"]]
    assert (worker.stats.full_replays, worker.stats.cache_hits) == (1, 1)
    assert worker.stats.last_activation_event_ids == (4, 7)
    assert not any(name == "GetWorkflowExecutionHistory" for name, _ in service.calls)
    assert "run-1" not in worker.cache  # the workflow completed: nothing left to cache


async def test_stale_cache_falls_back_to_the_full_history() -> None:
    full = first_task_events() + second_task_events()
    service = FakeService(full_history=full)
    worker = make_worker(service)
    await worker._handle(task(first_task_events(), previous_started=0, started=3))
    # Another worker processed a task meanwhile: the server's previous started id moved on.
    await worker._handle(task(second_task_events(), previous_started=99, started=7))
    assert worker.stats.full_replays == 2
    assert any(name == "GetWorkflowExecutionHistory" for name, _ in service.calls)
    [command] = service.last("RespondWorkflowTaskCompleted").commands
    assert command.command_type == E.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION


async def test_without_cache_there_is_no_sticky_queue() -> None:
    service = FakeService()
    worker = make_worker(service, max_cached=0)
    await worker._handle(task(first_task_events(), previous_started=0, started=3))
    assert worker.sticky_queue is None
    assert not service.last("RespondWorkflowTaskCompleted").HasField("sticky_attributes")
    assert len(worker.cache) == 0


async def test_query_task_is_answered_from_the_cached_instance() -> None:
    service = FakeService()
    worker = make_worker(service)
    await worker._handle(task(first_task_events(), previous_started=0, started=3))
    query = task([], previous_started=3, started=0)
    query.query.query_type = "count"
    await worker._handle(query)
    answer = service.last("RespondQueryTaskCompleted")
    assert answer.completed_type == E.QUERY_RESULT_TYPE_ANSWERED
    assert pc.from_payloads(answer.query_result) == [0]

    unknown = task([], previous_started=3, started=0)
    unknown.query.query_type = "nope"
    await worker._handle(unknown)
    failed = service.last("RespondQueryTaskCompleted")
    assert failed.completed_type == E.QUERY_RESULT_TYPE_FAILED
    assert "nope" in failed.error_message


async def test_unknown_workflow_type_fails_the_task_and_caches_nothing() -> None:
    service = FakeService()
    worker = make_worker(service)
    await worker._handle(task(first_task_events(), previous_started=0, started=3, workflow_type="Missing"))
    request = service.last("RespondWorkflowTaskFailed")
    assert request.cause == E.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE
    assert "'Missing' is not registered" in request.failure.message
    assert len(worker.cache) == 0


async def test_reset_sticky_on_drain_for_every_cached_run() -> None:
    service = FakeService()
    worker = make_worker(service)
    await worker._handle(task(first_task_events(), previous_started=0, started=3))
    await worker.drain()
    request = service.last("ResetStickyTaskQueue")
    assert (request.execution.workflow_id, request.execution.run_id) == ("wf", "run-1")
    assert len(worker.cache) == 0
