"""The tracing interceptor inside a real workflow instance, driven through the worker with a fake service."""

from __future__ import annotations

from datetime import timedelta

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from legato import activity, workflow
from legato._worker_workflow import WorkflowWorker
from legato.api.v1 import common_pb2, enums_pb2
from legato.contrib.opentelemetry import HEADER_KEY, TracingInterceptor, extract, inject
from legato.converter import DataConverter

from .test_workflow_worker import FakeService, event, task

E = enums_pb2


@activity.defn
async def step(x: int) -> int:
    return x


@workflow.defn
class Traced:
    @workflow.run
    async def run(self) -> int:
        return await workflow.execute_activity(step, 1, start_to_close_timeout=timedelta(seconds=5))


def started_events(header: common_pb2.Header) -> list:
    return [
        event(
            1,
            E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
            "workflow_execution_started_event_attributes",
            workflow_type=common_pb2.WorkflowType(name="Traced"),
            task_queue=common_pb2.TaskQueue(name="q"),
        ),
        event(2, E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, "workflow_task_scheduled_event_attributes"),
        event(
            3,
            E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
            "workflow_task_started_event_attributes",
            scheduled_event_id=2,
        ),
    ]


async def test_run_workflow_span_and_activity_header_continue_the_client_trace() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    interceptor = TracingInterceptor(tracer)

    with tracer.start_as_current_span("client-side") as client_span:
        header = common_pb2.Header()
        inject(header.fields)
    assert HEADER_KEY in header.fields

    events = started_events(header)
    events[0].workflow_execution_started_event_attributes.header.CopyFrom(header)
    service = FakeService()
    worker = WorkflowWorker(
        service=service,  # type: ignore[arg-type]
        namespace="default",
        task_queue="q",
        identity="w",
        workflows=[Traced],
        max_concurrent=1,
        pollers=1,
        max_cached=10,
        sticky_schedule_to_start_timeout=timedelta(seconds=5),
        data_converter=DataConverter(),
        interceptor_classes=[interceptor.workflow_interceptor_class()],
    )
    await worker._handle(task(events, previous_started=0, started=3, workflow_type="Traced"))
    [command] = service.last("RespondWorkflowTaskCompleted").commands
    activity_header = command.schedule_activity_task_command_attributes.header

    spans = {s.name: s for s in exporter.get_finished_spans()}
    run, start_activity = spans["RunWorkflow:Traced"], spans["StartActivity:step"]
    assert run.parent is not None and run.parent.span_id == client_span.get_span_context().span_id
    assert start_activity.parent is not None and start_activity.parent.span_id == run.context.span_id
    propagated = extract(activity_header.fields)
    assert propagated is not None
    from opentelemetry import trace

    assert trace.get_current_span(propagated).get_span_context().span_id == start_activity.context.span_id
