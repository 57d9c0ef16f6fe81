"""Head sampling in a real Jaeger: a workflow is recorded whole or not at all.

The server (a real ``start-dev`` process) runs with
``OTEL_TRACES_SAMPLER=parentbased_traceidratio`` and ratio 0: it never starts
a recorded trace of its own, and follows the caller's decision when there is
one. Three workflows: one from an untraced client (no context: the server's
ratio decides, nothing is recorded), one from a client whose sampler says no
(``sampled`` flag off in the metadata: nothing is recorded, not even the
tasks that run long after the request), and one from a client that samples
(the whole run is recorded, every server span included, as in
test_jaeger_traces). The sampled one runs last: once its trace is complete in
Jaeger, the spans of the two before it would have been exported too, so
"Jaeger has only this trace" is a real check, not a race.
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

from legato.client import Client
from legato.contrib.opentelemetry import TracingInterceptor
from legato.testing import WorkflowEnvironment, start_local_environment
from legato.worker import Worker
from tests.tracing.jaeger import (
    QUERY,
    SdkTracing,
    has_names,
    require_jaeger,
    role_services,
    server_environment,
    unique_prefix,
    wait_for_trace,
)
from tests.tracing.test_jaeger_traces import assert_run_trace, ids
from tests.tracing.workflows import MATCHING_PATH, TracedHello, greet


@pytest.fixture
def prefix() -> str:
    require_jaeger()
    return unique_prefix()


@pytest_asyncio.fixture
async def server(prefix: str) -> AsyncIterator[WorkflowEnvironment]:
    with pytest.MonkeyPatch.context() as patch:
        for key, value in server_environment(prefix).items():
            patch.setenv(key, value)
        patch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
        patch.setenv("OTEL_TRACES_SAMPLER_ARG", "0")
        env = await start_local_environment(startup_timeout=60.0)
    try:
        yield env
    finally:
        await env.shutdown()


def traces_of(service: str) -> set[str]:
    query = urllib.parse.urlencode({"service": service, "limit": "200", "lookback": "1h"})
    with urllib.request.urlopen(f"{QUERY}/api/traces?{query}", timeout=5) as response:
        body = json.load(response)
    return {t["traceID"] for t in body.get("data") or ()}


async def run_hello(client: Client, name: str) -> str:
    workflow_id, task_queue = ids()
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[TracedHello],
        activities=[greet],
        disable_eager_activity_execution=MATCHING_PATH,
    ):
        result = await client.execute_workflow(TracedHello.run, name, id=workflow_id, task_queue=task_queue)
    assert result == f"hello {name}"
    return workflow_id


async def test_a_workflow_is_recorded_whole_or_not_at_all(server: WorkflowEnvironment, prefix: str) -> None:
    # 1. No tracing on the client: the server's own sampler (ratio 0) records nothing.
    plain = await Client.connect(server.address)
    try:
        await run_hello(plain, "ann")
    finally:
        await plain.close()

    # 2. A client that samples this trace out: its "not sampled" flag is followed everywhere.
    refusing = TracerProvider(resource=Resource.create({SERVICE_NAME: f"{prefix}-off"}), sampler=ALWAYS_OFF)
    client = await Client.connect(server.address, interceptors=[TracingInterceptor(refusing.get_tracer("t"))])
    try:
        await run_hello(client, "bob")
    finally:
        await client.close()

    # 3. A client that samples: the whole run, all server roles, in one trace.
    sdk = SdkTracing.create(f"{prefix}-sdk")
    try:
        client = await Client.connect(
            server.address, interceptors=[TracingInterceptor(sdk.provider.get_tracer("t"))]
        )
        try:
            workflow_id = await run_hello(client, "cid")
        finally:
            await client.close()
        sdk.provider.force_flush()
        trace_id = sdk.trace_id("StartWorkflow:TracedHello")
    finally:
        sdk.close()
    trace = await wait_for_trace(
        trace_id,
        has_names(
            "CloseExecution",
            "RunActivity:greet",
            "RespondActivityTaskCompleted",
            services=role_services(prefix),
        ),
    )
    assert_run_trace(
        trace, prefix=prefix, workflow_type="TracedHello", activity="greet", workflow_id=workflow_id
    )

    # Everything the server recorded is in that one trace: no span of "ann" or "bob"
    # (not their start, not a dispatch or close that ran after the request).
    for role in ("frontend", "history", "matching"):
        found = await asyncio.to_thread(traces_of, f"{prefix}-{role}")
        assert found == {trace_id}, (role, found, trace_id)
