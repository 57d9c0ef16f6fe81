"""The worker's own metrics (``legato.contrib.prometheus``), scraped over HTTP while a real server runs work."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry

from legato.contrib.prometheus import PrometheusWorkerMetrics
from legato.testing import WorkflowEnvironment
from legato.worker import Worker
from tests.metrics.scrape import scrape
from tests.metrics.workload import run_workload

COMPLETED, FAILED, SLEPT = 5, 2, 2
TOTAL = COMPLETED + FAILED + SLEPT


async def test_worker_metrics_show_slots_polls_task_latency_and_the_cache() -> None:
    metrics = PrometheusWorkerMetrics(registry=CollectorRegistry())
    port = metrics.serve(port=0)
    url = f"http://127.0.0.1:{port}/metrics"
    seen: dict[str, int] = {}

    def remember(worker: Worker) -> None:
        stats = worker.workflow_stats
        assert stats is not None
        seen.update(
            workflow_tasks=stats.workflow_tasks,
            cache_hits=stats.cache_hits,
            cache_misses=stats.cache_misses,
            full_replays=stats.full_replays,
        )

    try:
        async with WorkflowEnvironment.start_local() as env:
            outcome = await run_workload(
                env.client, completed=COMPLETED, failed=FAILED, slept=SLEPT, metrics=metrics, on_done=remember
            )
            during = await asyncio.to_thread(scrape, url)
        after = await asyncio.to_thread(scrape, url)
    finally:
        metrics.stop_serving()

    queue = {"task_queue": outcome.task_queue}
    # Every activity ran once; every workflow task was timed.
    assert (
        during.value("legato_worker_task_latency_seconds_count", task_kind="activity", **queue) == COMPLETED
    )
    assert (
        during.value("legato_worker_task_latency_seconds_count", task_kind="workflow", **queue)
        == seen["workflow_tasks"]
    )
    # Each task came from a poll that brought one.
    assert (
        during.value("legato_worker_poll_latency_seconds_count", outcome="task", task_kind="activity")
        == COMPLETED
    )
    assert (
        during.value("legato_worker_poll_latency_seconds_count", outcome="task", task_kind="workflow")
        >= seen["workflow_tasks"]
    )
    # Every run was new to the worker once; the hello and sleeper runs' second tasks hit the cache.
    assert seen["cache_misses"] == TOTAL
    assert seen["cache_hits"] >= COMPLETED + SLEPT
    assert during.value("legato_worker_sticky_cache_misses_total", **queue) == seen["cache_misses"]
    assert during.value("legato_worker_sticky_cache_hits_total", **queue) == seen["cache_hits"]
    assert during.value("legato_worker_full_replays_total", **queue) == seen["full_replays"] >= TOTAL
    # Nothing runs any more: no slot is held.
    assert after.value("legato_worker_task_slots_used", task_kind="workflow", **queue) == 0
    assert after.value("legato_worker_task_slots_used", task_kind="activity", **queue) == 0
    assert after.series("legato_worker_task_slots_used")


def test_two_exporters_on_one_registry_are_refused() -> None:
    registry = CollectorRegistry()
    PrometheusWorkerMetrics(registry=registry)
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        PrometheusWorkerMetrics(registry=registry)
