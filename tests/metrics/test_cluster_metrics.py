"""Cluster mode: each role in its own process, each serving /metrics; the scrapes add up.

Two frontends, two history hosts and two matching hosts over MariaDB
(``tests/cluster/harness.py``). The client starts workflows through one
frontend, the worker polls through the other, so RPCs cross real gRPC hops.
Summed over the processes, the scrapes show the workload's counts, and the
history hosts' shards add up to the cluster's shard count.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from legato.client import Client
from tests.cluster.harness import NUM_SHARDS, Cluster
from tests.metrics.scrape import Scrape, scrape_until
from tests.metrics.workload import run_workload

COMPLETED, FAILED, SLEPT = 8, 4, 2
TOTAL = COMPLETED + FAILED + SLEPT
ROLES = {"frontend": 2, "history": 2, "matching": 2}


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    made = Cluster(kind="mysql", workdir=tmp_path, metrics=True)
    try:
        await asyncio.to_thread(made.create, **ROLES)
        yield made
    finally:
        await asyncio.to_thread(made.close)


def _sum(scrapes: list[Scrape], name: str, **labels: str) -> float:
    return sum(s.value(name, **labels) for s in scrapes)


async def test_scrapes_of_every_process_add_up_to_the_workload(cluster: Cluster) -> None:
    frontends = cluster.of("frontend")
    starter = await Client.connect(frontends[0].address)
    poller = await Client.connect(frontends[1].address)
    try:
        await run_workload(starter, worker_client=poller, completed=COMPLETED, failed=FAILED, slept=SLEPT)
    finally:
        await starter.close()
        await poller.close()

    by_role = {role: [p.metrics_url for p in cluster.of(role)] for role in ROLES}
    urls = [url for role in ROLES for url in by_role[role]]

    def settled(scrapes: list[Scrape]) -> bool:
        return (
            _sum(scrapes, "legato_workflow_closed_total") >= TOTAL
            and _sum(scrapes, "legato_history_shards_owned") == NUM_SHARDS
        )

    scrapes = await asyncio.to_thread(scrape_until, urls, settled, within_s=30)
    scraped = dict(zip(urls, scrapes, strict=True))
    role_scrapes = {role: [scraped[url] for url in by_role[role]] for role in ROLES}
    history, frontend, matching = role_scrapes["history"], role_scrapes["frontend"], role_scrapes["matching"]

    # Every shard is owned by exactly one of the two history hosts, and each owns some.
    assert _sum(history, "legato_history_shards_owned") == NUM_SHARDS
    assert all(s.value("legato_history_shards_owned") > 0 for s in history)
    assert _sum(frontend + matching, "legato_history_shards_owned") == 0

    # Runs started and closed, by status: only history hosts count them.
    assert _sum(history, "legato_workflow_started_total") == TOTAL
    assert _sum(history, "legato_workflow_closed_total", status="completed") == COMPLETED + SLEPT
    assert _sum(history, "legato_workflow_closed_total", status="failed") == FAILED
    assert _sum(frontend + matching, "legato_workflow_closed_total") == 0

    # RPCs: the client's starts went through frontend 0 only, and each reached history once.
    assert frontend[0].value("legato_rpc_requests_total", method="StartWorkflowExecution", code="OK") == TOTAL
    assert frontend[1].value("legato_rpc_requests_total", method="StartWorkflowExecution") == 0
    assert (
        _sum(history, "legato_rpc_requests_total", role="history", method="StartWorkflowExecution", code="OK")
        == TOTAL
    )
    # The worker's activity tasks crossed matching. History dispatches at least once (a
    # dispatch retried while the matching ring settles adds the task again).
    assert _sum(matching, "legato_matching_tasks_added_total", task_type="activity") >= COMPLETED
    assert (
        _sum(matching, "legato_matching_schedule_to_start_seconds_count", task_type="activity") >= COMPLETED
    )
    assert (
        _sum(frontend[1:], "legato_rpc_requests_total", method="RespondActivityTaskCompleted", code="OK")
        == COMPLETED
    )

    # Store operations measured in the process that made them: at least one create per
    # workflow (a start retried after a slow answer on a loaded machine creates again and
    # finds its own run, so it may count more than once).
    assert (
        _sum(
            history,
            "legato_persistence_latency_seconds_count",
            store="executions",
            operation="create_workflow_execution",
        )
        >= TOTAL
    )
    assert all(s.value("legato_persistence_latency_seconds_count", store="membership") > 0 for s in scrapes)

    # Every process sees every live host of every role.
    for scrape in scrapes:
        for role, count in ROLES.items():
            assert scrape.value("legato_membership_hosts", role=role) == count
