"""One trace per workflow in a real Jaeger: SDK client, frontend, history, matching, worker, activity.

The server is a real ``legato-server start-dev`` process whose tracing is
turned on by the standard OTEL_* variables only; the SDK's spans come from a
``TracingInterceptor`` on a provider that exports to the same Jaeger. Every
assertion reads the trace back through Jaeger's query API.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from legato.api.v1 import enums_pb2
from legato.client import Client
from legato.contrib.opentelemetry import TracingInterceptor
from legato.testing import WorkflowEnvironment, start_local_environment
from legato.worker import Worker
from tests.sdk.integration.crash_worker import CrashWorkflow, step_one, step_two
from tests.tracing.jaeger import (
    SdkTracing,
    Trace,
    has_names,
    require_jaeger,
    role_services,
    server_environment,
    unique_prefix,
    wait_for_trace,
)
from tests.tracing.workflows import MATCHING_PATH, TracedChild, TracedHello, TracedLoop, TracedParent, greet

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def prefix() -> str:
    require_jaeger()
    return unique_prefix()


async def start_traced_server(prefix: str, *, protocol: str) -> WorkflowEnvironment:
    with pytest.MonkeyPatch.context() as patch:
        for key, value in server_environment(prefix, protocol=protocol).items():
            patch.setenv(key, value)
        return await start_local_environment(startup_timeout=60.0)


@pytest_asyncio.fixture
async def server(prefix: str) -> AsyncIterator[WorkflowEnvironment]:
    env = await start_traced_server(prefix, protocol="grpc")
    try:
        yield env
    finally:
        await env.shutdown()


@pytest_asyncio.fixture
async def server_over_http(prefix: str) -> AsyncIterator[WorkflowEnvironment]:
    env = await start_traced_server(prefix, protocol="http/protobuf")
    try:
        yield env
    finally:
        await env.shutdown()


@pytest_asyncio.fixture
async def sdk(prefix: str) -> AsyncIterator[SdkTracing]:
    tracing = SdkTracing.create(f"{prefix}-sdk")
    try:
        yield tracing
    finally:
        tracing.close()


async def traced_client(env: WorkflowEnvironment, sdk: SdkTracing) -> Client:
    return await Client.connect(
        env.address, interceptors=[TracingInterceptor(sdk.provider.get_tracer("test"))]
    )


def ids() -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:8]
    return f"wf-trace-{suffix}", f"tq-trace-{suffix}"


def assert_run_trace(
    trace: Trace, *, prefix: str, workflow_type: str, activity: str, workflow_id: str
) -> None:
    """The edges every traced run has, client to activity; ``describe()`` shows the tree on failure."""
    tree = trace.describe()
    for role in ("sdk", "frontend", "history", "matching"):
        assert f"{prefix}-{role}" in trace.services(), f"no spans of {prefix}-{role}:\n{tree}"
    client = trace.one(f"StartWorkflow:{workflow_type}", service_suffix="-sdk")
    frontend = trace.one("StartWorkflowExecution", service_suffix="-frontend")
    history = next(
        s
        for s in trace.named("StartWorkflowExecution", service_suffix="-history")
        if s.tags.get("legato.workflow_id") == workflow_id
    )
    assert trace.parent(frontend) is client, tree
    assert trace.parent(history) is frontend, tree
    assert history.tags.get("legato.namespace") == "default", history.tags
    assert history.tags.get("legato.workflow_type") == workflow_type, history.tags
    assert history.tags.get("legato.task_queue"), history.tags
    # The server's queue work, long after the request, is under the run's span.
    for name in ("DispatchWorkflowTask", "DispatchActivityTask", "CloseExecution"):
        spans = [s for s in trace.named(name) if s.tags.get("legato.workflow_id") == workflow_id]
        assert spans, f"no {name} of {workflow_id}:\n{tree}"
        assert all(trace.parent(s) is history for s in spans), tree
        assert all(s.tags.get("legato.workflow_type") == workflow_type for s in spans), tree
    dispatch_activity = next(
        s for s in trace.named("DispatchActivityTask") if s.tags.get("legato.workflow_id") == workflow_id
    )
    assert dispatch_activity.tags.get("legato.activity_type") == activity, dispatch_activity.tags
    for name, parent_name in (
        ("AddWorkflowTask", "DispatchWorkflowTask"),
        ("AddActivityTask", "DispatchActivityTask"),
    ):
        spans = trace.named(name, service_suffix="-matching")
        assert spans, f"no matching {name}:\n{tree}"
        # A partition forwards to its root partition: matching calling matching, one level down.
        assert all((p := trace.parent(s)) is not None and p.name in (parent_name, name) for s in spans), tree
        assert any(trace.parent(s).name == parent_name for s in spans), tree  # type: ignore[union-attr]
    # The worker: RunWorkflow under the client's start, StartActivity under it, RunActivity under that.
    run = trace.one(f"RunWorkflow:{workflow_type}")
    assert trace.parent(run) is client, tree
    start_activity = trace.one(f"StartActivity:{activity}")
    assert trace.parent(start_activity) is run, tree
    run_activity = trace.named(f"RunActivity:{activity}")
    assert run_activity and all(trace.parent(s) is start_activity for s in run_activity), tree
    # Workers' answers (no context of their own) join through the task token.
    for name in ("RespondWorkflowTaskCompleted", "RespondActivityTaskCompleted"):
        answers = [s for s in trace.named(name, service_suffix="-frontend") if trace.parent(s) is history]
        assert answers, f"no frontend {name} under the run:\n{tree}"


async def traced_hello(
    env: WorkflowEnvironment, sdk: SdkTracing, prefix: str, *expected: str, name: str, eager: bool
) -> tuple[Trace, str, int]:
    """Run one TracedHello; its whole trace (``expected`` spans included), its id and eager activities."""
    workflow_id, task_queue = ids()
    client = await traced_client(env, sdk)
    try:
        worker = Worker(
            client,
            task_queue=task_queue,
            workflows=[TracedHello],
            activities=[greet],
            disable_eager_activity_execution=not eager,
        )
        async with worker:
            result = await client.execute_workflow(
                TracedHello.run, name, id=workflow_id, task_queue=task_queue
            )
        assert result == f"hello {name}"
    finally:
        await client.close()
    sdk.provider.force_flush()
    trace = await wait_for_trace(
        sdk.trace_id("StartWorkflow:TracedHello"),
        has_names(
            "CloseExecution",
            "RunActivity:greet",
            "RespondActivityTaskCompleted",
            *expected,
            services=role_services(prefix),
        ),
    )
    assert worker.workflow_stats is not None
    return trace, workflow_id, worker.workflow_stats.eager_activities


async def test_hello_workflow_is_one_trace(server: WorkflowEnvironment, sdk: SdkTracing, prefix: str) -> None:
    trace, workflow_id, _ = await traced_hello(
        server, sdk, prefix, "AddActivityTask", name="ann", eager=not MATCHING_PATH
    )
    assert_run_trace(
        trace, prefix=prefix, workflow_type="TracedHello", activity="greet", workflow_id=workflow_id
    )
    counts = trace.counts()
    assert counts[(f"{prefix}-sdk", "RunWorkflow:TracedHello")] == 1, trace.describe()


async def test_an_eager_activity_stays_in_the_trace(
    server: WorkflowEnvironment, sdk: SdkTracing, prefix: str
) -> None:
    """Eager dispatch (the default) skips matching: the activity is started by the completion itself."""
    trace, workflow_id, eager_activities = await traced_hello(server, sdk, prefix, name="eve", eager=True)
    assert eager_activities == 1
    tree = trace.describe()
    run = trace.one("RunWorkflow:TracedHello")
    start_activity = trace.one("StartActivity:greet")
    assert trace.parent(start_activity) is run, tree
    assert all(trace.parent(s) is start_activity for s in trace.named("RunActivity:greet")), tree
    assert not trace.named("DispatchActivityTask") and not trace.named("AddActivityTask"), tree
    # The task the result wakes came back with the completion: only the first went through matching.
    dispatched = [
        s for s in trace.named("DispatchWorkflowTask") if s.tags.get("legato.workflow_id") == workflow_id
    ]
    assert len(dispatched) == 1, tree
    history = next(
        s
        for s in trace.named("StartWorkflowExecution", service_suffix="-history")
        if s.tags.get("legato.workflow_id") == workflow_id
    )
    answers = trace.named("RespondActivityTaskCompleted", service_suffix="-frontend")
    assert answers and all(trace.parent(s) is history for s in answers), tree


async def test_child_and_signal_join_the_parents_trace_over_otlp_http(
    server_over_http: WorkflowEnvironment, sdk: SdkTracing, prefix: str
) -> None:
    workflow_id, task_queue = ids()
    client = await traced_client(server_over_http, sdk)
    try:
        async with Worker(
            client,
            task_queue=task_queue,
            workflows=[TracedParent, TracedChild],
            activities=[greet],
            disable_eager_activity_execution=MATCHING_PATH,
        ):
            result = await client.execute_workflow(
                TracedParent.run, "bob", id=workflow_id, task_queue=task_queue
            )
        assert result == "hello bob go"
    finally:
        await client.close()
    sdk.provider.force_flush()

    child_id = f"{workflow_id}-child"
    trace = await wait_for_trace(
        sdk.trace_id("StartWorkflow:TracedParent"),
        has_names(
            "StartChildWorkflow",
            "SignalExternalWorkflow",
            "RunActivity:greet",
            "RunWorkflow:TracedChild",
            services=role_services(prefix),
        ),
    )
    tree = trace.describe()
    for role in ("sdk", "frontend", "history", "matching"):
        assert f"{prefix}-{role}" in trace.services(), tree
    parent_run = next(
        s
        for s in trace.named("StartWorkflowExecution", service_suffix="-history")
        if s.tags.get("legato.workflow_id") == workflow_id
    )
    # The server starts the child from the parent's start-child task, and the child's run hangs under it.
    start_child = trace.one("StartChildWorkflow")
    assert trace.parent(start_child) is parent_run, tree
    child_run = next(
        s
        for s in trace.named("StartWorkflowExecution", service_suffix="-history")
        if s.tags.get("legato.workflow_id") == child_id
    )
    assert trace.parent(child_run) is start_child, tree
    # The signal to the child is delivered by the parent's task, into the child's run.
    deliver = trace.one("SignalExternalWorkflow")
    assert trace.parent(deliver) is parent_run, tree
    signal_rpc = [
        s
        for s in trace.named("SignalWorkflowExecution", service_suffix="-history")
        if trace.parent(s) is deliver
    ]
    assert signal_rpc, tree
    # The child's own tasks run under its run; its worker spans under the workflow's StartChildWorkflow.
    child_dispatch = [
        s for s in trace.named("DispatchActivityTask") if s.tags.get("legato.workflow_id") == child_id
    ]
    assert child_dispatch and all(trace.parent(s) is child_run for s in child_dispatch), tree
    run_child = trace.one("RunWorkflow:TracedChild")
    sdk_start_child = trace.one("StartChildWorkflow:TracedChild")
    assert trace.parent(run_child) is sdk_start_child, tree
    assert trace.parent(sdk_start_child) is trace.one("RunWorkflow:TracedParent"), tree
    counts = trace.counts()
    assert counts[(f"{prefix}-sdk", "RunWorkflow:TracedParent")] == 1, tree
    assert counts[(f"{prefix}-sdk", "RunWorkflow:TracedChild")] == 1, tree


async def event_types(client: Client, workflow_id: str) -> list[int]:
    return [e.event_type async for e in client.get_workflow_handle(workflow_id).fetch_history_events()]


async def test_worker_killed_mid_run_trace_stays_whole_without_duplicates(
    server: WorkflowEnvironment, sdk: SdkTracing, prefix: str
) -> None:
    workflow_id, task_queue = ids()
    doomed_service = f"{prefix}-doomed"
    process = subprocess.Popen(  # noqa: ASYNC220 - started once, never awaited on
        [sys.executable, "-m", "tests.tracing.traced_worker", server.address, task_queue, doomed_service],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    client = await traced_client(server, sdk)
    try:
        handle = await client.start_workflow(
            CrashWorkflow.run, "order-7", id=workflow_id, task_queue=task_queue
        )
        trace_id = sdk.trace_id("StartWorkflow:CrashWorkflow")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while True:  # step_one done, step_two scheduled (and hanging on the doomed worker)
            types = await event_types(client, workflow_id)
            if types.count(enums_pb2.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) >= 1 and (
                types.count(enums_pb2.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) >= 2
            ):
                break
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            assert loop.time() < deadline, f"step_two never started: {types}"
            await asyncio.sleep(0.1)
        # The doomed worker's workflow spans are exported (100 ms batches) before it dies.
        await wait_for_trace(trace_id, has_names("RunWorkflow:CrashWorkflow", "StartActivity:step_two"))
        process.send_signal(signal.SIGKILL)
        process.wait()

        async with Worker(
            client,
            task_queue=task_queue,
            workflows=[CrashWorkflow],
            activities=[step_one, step_two],
            disable_eager_activity_execution=MATCHING_PATH,
        ):
            assert await handle.result() == "one(order-7) then two(order-7)"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        await client.close()
    sdk.provider.force_flush()

    def finished(trace: Trace) -> bool:
        return any(
            s.name == "RunActivity:step_two" and s.service == f"{prefix}-sdk" for s in trace.spans
        ) and bool(trace.named("CloseExecution"))

    trace = await wait_for_trace(trace_id, finished)
    tree = trace.describe()
    assert doomed_service in trace.services(), tree
    counts = trace.counts()
    # Recorded once by the doomed worker; the new worker replayed them without new spans.
    assert counts[(doomed_service, "RunWorkflow:CrashWorkflow")] == 1, tree
    assert sum(n for (_, name), n in counts.items() if name == "RunWorkflow:CrashWorkflow") == 1, tree
    assert sum(n for (_, name), n in counts.items() if name == "StartActivity:step_one") == 1, tree
    assert sum(n for (_, name), n in counts.items() if name == "StartActivity:step_two") == 1, tree
    # The retried step_two ran on the new worker, under the span that scheduled it.
    step_two_start = trace.one("StartActivity:step_two")
    rerun = trace.one("RunActivity:step_two", service_suffix="-sdk")
    assert trace.parent(rerun) is step_two_start, tree
    # The server's side: the workflow's timer fired in the run's trace, as did every timeout.
    history = trace.one("StartWorkflowExecution", service_suffix="-history")
    timers = trace.named("FireTimer")
    assert timers and all(trace.parent(s) is history for s in timers), tree
    timeouts = trace.named("ActivityTimeout") + trace.named("WorkflowTaskTimeout")
    assert all(trace.parent(s) is history for s in timeouts), tree
    for role in ("frontend", "history", "matching"):
        assert f"{prefix}-{role}" in trace.services(), tree


async def test_continue_as_new_starts_a_linked_trace_per_run(
    server: WorkflowEnvironment, sdk: SdkTracing, prefix: str
) -> None:
    workflow_id, task_queue = ids()
    client = await traced_client(server, sdk)
    try:
        async with Worker(
            client,
            task_queue=task_queue,
            workflows=[TracedLoop],
            activities=[greet],
            disable_eager_activity_execution=MATCHING_PATH,
        ):
            assert (
                await client.execute_workflow(TracedLoop.run, 1, id=workflow_id, task_queue=task_queue)
                == "done"
            )
    finally:
        await client.close()
    sdk.provider.force_flush()

    first_trace_id = sdk.trace_id("StartWorkflow:TracedLoop")
    runs = [s for s in sdk.memory.get_finished_spans() if s.name == "RunWorkflow:TracedLoop"]
    assert len(runs) == 2, [s.name for s in sdk.memory.get_finished_spans()]
    second_trace_id = next(
        f"{s.context.trace_id:032x}" for s in runs if f"{s.context.trace_id:032x}" != first_trace_id
    )
    second = await wait_for_trace(
        second_trace_id, has_names("ContinueRun:TracedLoop", "CloseExecution", "RunActivity:greet")
    )
    tree = second.describe()
    root = second.one("ContinueRun:TracedLoop")
    assert root.parent_id is None, tree
    # The new run's server tasks and its worker's spans are in the new trace, under its root.
    assert all(second.parent(s) is root for s in second.named("DispatchWorkflowTask")), tree
    run = second.one("RunWorkflow:TracedLoop")
    assert second.parent(run) is root, tree
    # ... linked to the run it continues.
    first = await wait_for_trace(first_trace_id, has_names("CloseExecution"))
    first_history = first.one("StartWorkflowExecution", service_suffix="-history")
    assert root.tags.get("legato.workflow_id") == workflow_id
    raw_links = await asyncio.to_thread(_links_of, second_trace_id, root.span_id)
    assert (first_trace_id, first_history.span_id) in raw_links, raw_links


def _links_of(trace_id: str, span_id: str) -> list[tuple[str, str]]:
    import json
    import urllib.request

    from tests.tracing.jaeger import QUERY

    with urllib.request.urlopen(f"{QUERY}/api/traces/{trace_id}", timeout=5) as response:
        body = json.load(response)
    span = next(s for s in body["data"][0]["spans"] if s["spanID"] == span_id)
    return [(r["traceID"], r["spanID"]) for r in span.get("references") or () if r["traceID"] != trace_id]


async def test_trace_stays_whole_across_a_server_restart(
    prefix: str, sdk: SdkTracing, tmp_path: Path
) -> None:
    """Work the restarted server does for a run started before the restart lands in the run's trace."""
    workflow_id, task_queue = ids()
    db_file = tmp_path / "legato.db"

    async def boot(name: str) -> WorkflowEnvironment:
        with pytest.MonkeyPatch.context() as patch:
            for key, value in server_environment(prefix).items():
                patch.setenv(key, value)
            patch.setenv("OTEL_RESOURCE_ATTRIBUTES", f"legato.boot={name}")
            return await start_local_environment(db_file=db_file, startup_timeout=60.0)

    first = await boot("first")
    try:
        client = await traced_client(first, sdk)
        try:
            async with Worker(
                client,
                task_queue=task_queue,
                workflows=[TracedChild],
                activities=[greet],
                disable_eager_activity_execution=MATCHING_PATH,
            ):
                await client.start_workflow(TracedChild.run, "dee", id=workflow_id, task_queue=task_queue)
                loop = asyncio.get_running_loop()
                deadline = loop.time() + 30
                while enums_pb2.EVENT_TYPE_WORKFLOW_TASK_COMPLETED not in await event_types(
                    client, workflow_id
                ):
                    assert loop.time() < deadline, "the first workflow task never completed"
                    await asyncio.sleep(0.1)
        finally:
            await client.close()
    finally:
        await first.shutdown()
    trace_id = sdk.trace_id("StartWorkflow:TracedChild")

    second = await boot("second")
    try:
        client = await traced_client(second, sdk)
        try:
            handle = client.get_workflow_handle(workflow_id)
            await handle.signal(TracedChild.proceed, "again")
            async with Worker(
                client,
                task_queue=task_queue,
                workflows=[TracedChild],
                activities=[greet],
                disable_eager_activity_execution=MATCHING_PATH,
            ):
                assert await handle.result() == "hello dee again"
        finally:
            await client.close()
    finally:
        await second.shutdown()
    sdk.provider.force_flush()

    def after_restart(trace: Trace) -> bool:
        return any(
            s.name == "CloseExecution" and s.process_tags.get("legato.boot") == "second" for s in trace.spans
        ) and bool(trace.named("RunActivity:greet"))

    trace = await wait_for_trace(trace_id, after_restart)
    tree = trace.describe()
    run = trace.one("StartWorkflowExecution", service_suffix="-history")
    assert run.process_tags.get("legato.boot") == "first", run.process_tags
    dispatches = trace.named("DispatchWorkflowTask")
    assert {s.process_tags.get("legato.boot") for s in dispatches} == {"first", "second"}, tree
    assert all(trace.parent(s) is run for s in dispatches), tree
    activity = trace.one("DispatchActivityTask")
    assert activity.process_tags.get("legato.boot") == "second" and trace.parent(activity) is run, tree
    # The worker after the restart replayed the start without a second RunWorkflow span.
    assert sum(1 for s in trace.spans if s.name == "RunWorkflow:TracedChild") == 1, tree
