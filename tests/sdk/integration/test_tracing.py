"""OpenTelemetry: StartWorkflow -> RunWorkflow -> StartActivity -> RunActivity form one trace."""

from __future__ import annotations

from datetime import timedelta

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from legato import activity, workflow
from legato.client import Client
from legato.contrib.opentelemetry import TracingInterceptor
from legato.testing import WorkflowEnvironment
from legato.worker import Worker


@activity.defn
async def traced_step(x: int) -> int:
    return x + 1


@workflow.defn
class TracedWorkflow:
    @workflow.run
    async def run(self, x: int) -> int:
        return await workflow.execute_activity(traced_step, x, start_to_close_timeout=timedelta(seconds=10))


async def test_one_trace_from_client_to_activity(
    env: WorkflowEnvironment, task_queue: str, workflow_id: str
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    client = await Client.connect(env.address, interceptors=[TracingInterceptor(provider.get_tracer("test"))])
    try:
        async with Worker(
            client, task_queue=task_queue, workflows=[TracedWorkflow], activities=[traced_step]
        ):
            assert (
                await client.execute_workflow(TracedWorkflow.run, 1, id=workflow_id, task_queue=task_queue)
                == 2
            )
    finally:
        await client.close()

    spans = {span.name: span for span in exporter.get_finished_spans()}
    start = spans["StartWorkflow:TracedWorkflow"]
    run = spans["RunWorkflow:TracedWorkflow"]
    start_activity = spans["StartActivity:traced_step"]
    run_activity = spans["RunActivity:traced_step"]
    assert len({s.context.trace_id for s in (start, run, start_activity, run_activity)}) == 1
    assert run.parent is not None and run.parent.span_id == start.context.span_id
    assert start_activity.parent is not None and start_activity.parent.span_id == run.context.span_id
    assert run_activity.parent is not None and run_activity.parent.span_id == start_activity.context.span_id
    # Replays (the second workflow task replays the first) record no duplicate spans.
    names = [span.name for span in exporter.get_finished_spans()]
    assert names.count("RunWorkflow:TracedWorkflow") == 1
    assert names.count("StartActivity:traced_step") == 1
