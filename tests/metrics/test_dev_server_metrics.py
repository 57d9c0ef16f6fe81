"""``legato-server start-dev --metrics-port``: after a known workload, the scrape shows its counts.

A real dev-server process (every role, SQLite), a worker in this process, and
``/metrics`` read over HTTP, as Prometheus would.
"""

from __future__ import annotations

import pytest

from legato.exceptions import RPCError
from legato.testing import WorkflowEnvironment, find_free_port
from tests.metrics.scrape import scrape, scrape_until
from tests.metrics.workload import run_workload

COMPLETED, FAILED, SLEPT = 6, 3, 2
TOTAL = COMPLETED + FAILED + SLEPT


async def test_a_known_workload_shows_in_the_scraped_counts() -> None:
    port = find_free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    async with WorkflowEnvironment.start_local(extra_args=["--metrics-port", str(port)]) as env:
        before = scrape(url)
        assert before.value("legato_workflow_started_total") == 0
        await run_workload(env.client, completed=COMPLETED, failed=FAILED, slept=SLEPT)
        with pytest.raises(RPCError):
            await env.client.get_workflow_handle("no-such-workflow").describe()

        [after] = scrape_until([url], lambda s: s[0].value("legato_workflow_closed_total") >= TOTAL)

    # Runs started and closed, by type and status.
    assert after.value("legato_workflow_started_total", namespace="default") == TOTAL
    assert after.value("legato_workflow_started_total", workflow_type="MetricsHello") == COMPLETED
    assert after.value("legato_workflow_closed_total", status="completed") == COMPLETED + SLEPT
    assert (
        after.value("legato_workflow_closed_total", status="failed", workflow_type="MetricsFailing") == FAILED
    )
    assert after.value("legato_workflow_closed_total") == TOTAL

    # RPCs by role, method and code: each start crossed the frontend and history once.
    for role in ("frontend", "history"):
        assert (
            after.value("legato_rpc_requests_total", role=role, method="StartWorkflowExecution", code="OK")
            == TOTAL
        )
    assert (
        after.value(
            "legato_rpc_requests_total", role="frontend", method="DescribeWorkflowExecution", code="NOT_FOUND"
        )
        == 1
    )
    assert (
        after.value("legato_rpc_latency_seconds_count", role="frontend", method="StartWorkflowExecution")
        == TOTAL
    )
    # Every activity task was added to matching once and picked up by a poller once.
    assert after.value("legato_matching_tasks_added_total", task_type="activity") == COMPLETED
    assert after.value("legato_matching_schedule_to_start_seconds_count", task_type="activity") == COMPLETED
    assert after.value("legato_matching_tasks_added_total", task_type="workflow") >= TOTAL

    # Store operations: one create per run, timed by store and operation.
    assert (
        after.value(
            "legato_persistence_latency_seconds_count",
            store="executions",
            operation="create_workflow_execution",
        )
        == TOTAL
    )
    # The sleeper's timers fired, each measured for lateness.
    assert after.value("legato_history_timer_lateness_seconds_count") >= SLEPT

    # State read at scrape time: one process owns every shard and is every role's only host.
    assert after.value("legato_history_shards_owned") == 4
    for role in ("frontend", "history", "matching"):
        assert after.value("legato_membership_hosts", role=role) == 1
    assert after.series("legato_matching_task_queue_backlog"), "loaded task queues report their backlog"
    assert after.value("process_cpu_seconds_total") > 0
