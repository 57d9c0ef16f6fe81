"""Health of a cluster that is missing a role: NOT_SERVING, and a log line that says which role.

A frontend alone cannot do its job (it routes every call to history and
matching hosts), so it must not report SERVING: Kubernetes would send users to
it. This starts the roles one at a time as real processes over MariaDB and
checks the frontend's gRPC health and its log at each step, then kills the
only matching host and checks the frontend notices within the heartbeat TTL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.cluster.harness import TTL_S, Cluster, Process
from tests.store_servers import create_schema

NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVING = health_pb2.HealthCheckResponse.SERVING
WORKFLOW_SERVICE = "legato.api.v1.WorkflowService"


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    made = Cluster(kind="mysql", workdir=tmp_path)
    await asyncio.to_thread(create_schema, "mysql", made.database)
    try:
        yield made
    finally:
        await asyncio.to_thread(made.close)


def _status(process: Process, service: str = "") -> int | None:
    """The process's health for ``service``; None while it does not answer yet."""
    with grpc.insecure_channel(process.address) as channel:
        try:
            return (
                health_pb2_grpc.HealthStub(channel)
                .Check(health_pb2.HealthCheckRequest(service=service), timeout=1)
                .status
            )
        except grpc.RpcError:
            return None


def _wait_for(process: Process, wanted: int, *, within_s: float, log_says: str | None = None) -> None:
    deadline = time.monotonic() + within_s
    while True:
        assert process.alive, process.log.read_text()[-3000:]
        statuses = (_status(process), _status(process, WORKFLOW_SERVICE))
        said = log_says is None or log_says in process.log.read_text()
        if statuses == (wanted, wanted) and said:
            return
        assert time.monotonic() < deadline, (
            f"{process.role} health {statuses}, wanted {wanted}"
            f"{f' with {log_says!r} in its log' if log_says else ''}:\n{process.log.read_text()[-3000:]}"
        )
        time.sleep(0.2)


async def test_a_frontend_without_history_or_matching_hosts_is_not_serving_and_says_why(
    cluster: Cluster,
) -> None:
    frontend = await asyncio.to_thread(cluster.add, "frontend", wait=False)
    await asyncio.to_thread(
        _wait_for,
        frontend,
        NOT_SERVING,
        within_s=60,
        log_says="no live history or matching host in the membership ring",
    )
    await asyncio.sleep(2)  # it stays so: nothing it needs has appeared
    assert _status(frontend) == NOT_SERVING

    await asyncio.to_thread(cluster.add, "history")
    await asyncio.to_thread(
        _wait_for, frontend, NOT_SERVING, within_s=30, log_says="no live matching host in the membership ring"
    )

    matching = await asyncio.to_thread(cluster.add, "matching")
    await asyncio.to_thread(_wait_for, frontend, SERVING, within_s=30)

    # The only matching host dies: its row expires after the TTL and the frontend turns NOT_SERVING.
    log_before = len(frontend.log.read_text())
    await asyncio.to_thread(cluster.kill, matching)
    await asyncio.to_thread(_wait_for, frontend, NOT_SERVING, within_s=TTL_S + 15)
    assert "no live matching host" in frontend.log.read_text()[log_before:], frontend.log.read_text()[-3000:]
