"""The same one-trace guarantee with every role in its own process, so context crosses real gRPC hops.

Frontend, history and matching are separate ``legato-server start`` processes
(tests/cluster/harness.py) over a real MariaDB, each exporting to a real
Jaeger because of the OTEL_* variables in its environment. The trace must hold
the frontend -> history hop (the frontend's gRPC client sends the context)
and the history -> matching hop (the transfer task's span, restored from the
run's stored context, is the parent of matching's AddWorkflowTask).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from legato.client import Client
from legato.contrib.opentelemetry import TracingInterceptor
from legato.worker import Worker
from tests.cluster.harness import Cluster
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
from tests.tracing.test_jaeger_traces import assert_run_trace
from tests.tracing.workflows import MATCHING_PATH, TracedHello, greet

pytestmark = pytest.mark.mysql


@pytest_asyncio.fixture
async def traced_cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Cluster, str]]:
    require_jaeger()
    prefix = unique_prefix()
    for key, value in server_environment(prefix).items():
        monkeypatch.setenv(key, value)  # inherited by the server processes
    cluster = Cluster(kind="mysql", workdir=tmp_path)
    try:
        await asyncio.to_thread(cluster.create, frontend=1, history=1, matching=1)
        yield cluster, prefix
    finally:
        await asyncio.to_thread(cluster.close)


async def test_one_trace_across_role_processes(traced_cluster: tuple[Cluster, str]) -> None:
    cluster, prefix = traced_cluster
    sdk = SdkTracing.create(f"{prefix}-sdk")
    suffix = uuid.uuid4().hex[:8]
    workflow_id, task_queue = f"wf-cluster-trace-{suffix}", f"tq-cluster-trace-{suffix}"
    frontend = cluster.of("frontend")[0]
    client = await Client.connect(
        frontend.address, interceptors=[TracingInterceptor(sdk.provider.get_tracer("test"))]
    )
    try:
        async with Worker(
            client,
            task_queue=task_queue,
            workflows=[TracedHello],
            activities=[greet],
            disable_eager_activity_execution=MATCHING_PATH,
        ):
            result = await client.execute_workflow(
                TracedHello.run, "cy", id=workflow_id, task_queue=task_queue
            )
        assert result == "hello cy"
        trace_id = sdk.trace_id("StartWorkflow:TracedHello")
    finally:
        await client.close()
        sdk.close()

    names = has_names(
        "CloseExecution",
        "RunActivity:greet",
        "RespondActivityTaskCompleted",
        "AddActivityTask",
        services=role_services(prefix),
    )

    def whole(trace: Trace) -> bool:
        # Each process exports on its own schedule: history's half of a worker's answer can be in
        # Jaeger before the frontend span it hangs under. Whole = nothing but the root lacks its parent.
        ids = {s.span_id for s in trace.spans}
        orphans = [s for s in trace.spans if s.parent_id and s.parent_id not in ids]
        return names(trace) and not orphans

    trace = await wait_for_trace(trace_id, whole, deadline_s=45.0)
    assert_run_trace(
        trace, prefix=prefix, workflow_type="TracedHello", activity="greet", workflow_id=workflow_id
    )
    # Each role's spans came from its own process (one Jaeger process entry per service).
    assert {f"{prefix}-frontend", f"{prefix}-history", f"{prefix}-matching"} <= trace.services(), (
        cluster.logs()
    )
