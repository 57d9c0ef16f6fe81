"""A known workload for the metrics tests: workflows that complete, fail and sleep, in known numbers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from legato import activity, workflow
from legato.client import Client
from legato.exceptions import ApplicationError, WorkflowFailureError
from legato.worker import Worker, WorkerMetrics


@activity.defn
async def metrics_greet(name: str) -> str:
    return f"Hello, {name}!"


@workflow.defn
class MetricsHello:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(
            metrics_greet, name, start_to_close_timeout=timedelta(seconds=10)
        )


@workflow.defn
class MetricsFailing:
    @workflow.run
    async def run(self, name: str) -> str:
        raise ApplicationError(f"{name} is refused", type="Refused", non_retryable=True)


@workflow.defn
class MetricsSleeper:
    @workflow.run
    async def run(self, seconds: float) -> str:
        await workflow.sleep(timedelta(seconds=seconds))
        return "slept"


@dataclass
class Outcome:
    completed: int
    failed: int
    slept: int
    task_queue: str


async def run_workload(
    client: Client,
    *,
    completed: int,
    failed: int,
    slept: int,
    worker_client: Client | None = None,
    metrics: WorkerMetrics | None = None,
    on_done: Callable[[Worker], None] | None = None,
) -> Outcome:
    """Run the workflows with a worker on a fresh task queue; each ends as planned."""
    task_queue = f"metrics-{uuid.uuid4().hex[:8]}"
    async with Worker(
        worker_client or client,
        task_queue=task_queue,
        workflows=[MetricsHello, MetricsFailing, MetricsSleeper],
        activities=[metrics_greet],
        metrics=metrics,
        # The counts checked are of matching's and the pollers' work; eager dispatch would skip it.
        disable_eager_activity_execution=True,
    ) as worker:

        async def one(kind: str, index: int) -> str:
            run = {"hello": MetricsHello.run, "failing": MetricsFailing.run, "sleeper": MetricsSleeper.run}[
                kind
            ]
            arg: object = 0.2 if kind == "sleeper" else f"n{index}"
            handle = await client.start_workflow(
                run, arg, id=f"{kind}-{index}-{uuid.uuid4().hex[:6]}", task_queue=task_queue
            )
            try:
                return str(await handle.result())
            except WorkflowFailureError:
                return "failed"

        plan = [("hello", i) for i in range(completed)]
        plan += [("failing", i) for i in range(failed)]
        plan += [("sleeper", i) for i in range(slept)]
        results = await asyncio.wait_for(asyncio.gather(*(one(kind, i) for kind, i in plan)), 120)
        if on_done is not None:
            on_done(worker)
    assert results.count("failed") == failed, results
    return Outcome(completed=completed, failed=failed, slept=slept, task_queue=task_queue)
