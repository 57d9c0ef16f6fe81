"""Health of a cluster that is missing a role: NOT_SERVING, and a log line that says which role.

A frontend alone cannot do its job (it routes every call to history and
matching hosts), so it must not report SERVING: Kubernetes would send users to
it. This starts the roles one at a time as real processes over MariaDB and
checks the frontend's gRPC health and its log at each step, then kills the
only matching host and checks the frontend notices within the heartbeat TTL.

A history host that advertises an address peers cannot reach it at (a wrong
``advertise_address``) is the other misconfiguration: it must not be SERVING.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from legato.testing import find_free_port
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
    """Until the process's overall health (and a frontend's WorkflowService) is ``wanted``."""
    services = ("", WORKFLOW_SERVICE) if process.role == "frontend" else ("",)
    deadline = time.monotonic() + within_s
    while True:
        assert process.alive, process.log.read_text()[-3000:]
        statuses = tuple(_status(process, service) for service in services)
        said = log_says is None or log_says in process.log.read_text()
        if statuses == (wanted,) * len(services) and said:
            return
        assert time.monotonic() < deadline, (
            f"{process.role} health {statuses}, wanted {wanted}"
            f"{f' with {log_says!r} in its log' if log_says else ''}:\n{process.log.read_text()[-3000:]}"
        )
        time.sleep(0.2)


async def _stays_not_serving(process: Process, *, saying: str) -> None:
    """NOT_SERVING with ``saying`` in its log within a minute of start, and still so seconds later."""
    await asyncio.to_thread(_wait_for, process, NOT_SERVING, within_s=60, log_says=saying)
    await asyncio.sleep(3)  # a few readiness passes (and, for history, its shards acquired)
    assert _status(process) == NOT_SERVING, process.log.read_text()[-3000:]


async def test_a_frontend_without_history_or_matching_hosts_is_not_serving_and_says_why(
    cluster: Cluster,
) -> None:
    frontend = await asyncio.to_thread(cluster.add, "frontend", wait=False)
    await _stays_not_serving(frontend, saying="no live history or matching host in the membership ring")

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


async def test_a_history_host_whose_advertised_address_does_not_reach_it_is_not_serving(
    cluster: Cluster,
) -> None:
    # Peers would dial this address for every call to the host's shards; nothing listens there.
    nowhere = f"127.0.0.1:{find_free_port()}"
    cluster.extra_config["advertise_address"] = nowhere
    history = await asyncio.to_thread(cluster.add, "history", wait=False)
    await _stays_not_serving(history, saying=f"its advertised address {nowhere} does not reach it")
