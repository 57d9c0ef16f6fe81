"""A LegatoNamespace's deletion against a real Legato frontend (every role in-process, SQLite).

``on_delete`` makes one short ``DeleteNamespace`` call with ``deletionPolicy:
Delete`` and none with ``Retain``; it never raises and never waits for an
unhealthy cluster (an unreachable frontend, a missing cluster or an unknown
namespace all end it with the reason). A LegatoNamespace whose name is still
being deleted on the server reports so instead of a failed registration.

The operator's calls are synchronous gRPC, so they run in a thread while the
server serves on the test's event loop. The frontend Service's ClusterIP is
127.0.0.1 and ``render.GRPC_PORT`` is pointed at the test server's port.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from legato.api.v1 import enums_pb2, workflow_service_pb2_grpc
from legato.api.v1 import workflow_service_pb2 as ws
from legato.testing import find_free_port
from legato_operator import namespaces, render
from legato_server.server import RunningServer, start_server
from tests.operator.fake_kube import FakeKube
from tests.server.conftest import server_config_for_tests

CLUSTER = "prod"
K8S_NAMESPACE = "legato"


@pytest.fixture
async def server() -> AsyncIterator[RunningServer]:
    running = await start_server(server_config_for_tests())
    try:
        yield running
    finally:
        await running.stop()


def _kube(*, with_cluster: bool = True) -> FakeKube:
    kube = FakeKube(serves={"legatoclusters"})
    if with_cluster:
        kube.put(
            {
                "kind": "Service",
                "metadata": {"name": render.frontend_service_name(CLUSTER)},
                "spec": {"clusterIP": "127.0.0.1"},
            }
        )
        kube.get_custom = lambda plural, namespace, name: {"metadata": {"name": name}}  # type: ignore[attr-defined]
    else:
        kube.get_custom = lambda plural, namespace, name: None  # type: ignore[attr-defined]
    return kube


def _resource(name: str, *, policy: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"clusterRef": {"name": CLUSTER}, "name": name, "retention": "72h"}
    if policy is not None:
        spec["deletionPolicy"] = policy
    return {"metadata": {"name": name, "namespace": K8S_NAMESPACE, "generation": 1}, "spec": spec}


def _point_at(monkeypatch: pytest.MonkeyPatch, address: str) -> None:
    monkeypatch.setattr(render, "GRPC_PORT", int(address.rsplit(":", 1)[1]))


async def _state(server: RunningServer, name: str) -> int | None:
    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = workflow_service_pb2_grpc.WorkflowServiceStub(channel)
        try:
            described = await stub.DescribeNamespace(ws.DescribeNamespaceRequest(namespace=name), timeout=5)
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.NOT_FOUND
            return None
        return int(described.namespace_info.state)


async def _register(server: RunningServer, name: str) -> None:
    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = workflow_service_pb2_grpc.WorkflowServiceStub(channel)
        await stub.RegisterNamespace(ws.RegisterNamespaceRequest(namespace=name), timeout=5)


async def test_delete_policy_deletes_the_namespace_on_the_server(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _point_at(monkeypatch, server.address)
    await _register(server, "payments")

    outcome = await asyncio.to_thread(namespaces.on_delete, _kube(), _resource("payments", policy="Delete"))

    assert outcome.startswith("namespace payments is being deleted by the server")
    assert await _state(server, "payments") == enums_pb2.NAMESPACE_STATE_DELETED


@pytest.mark.parametrize("policy", [None, "Retain"], ids=["default", "retain"])
async def test_retain_policy_keeps_the_namespace(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch, policy: str | None
) -> None:
    _point_at(monkeypatch, server.address)
    await _register(server, "kept")

    outcome = await asyncio.to_thread(namespaces.on_delete, _kube(), _resource("kept", policy=policy))

    assert outcome == "deletionPolicy Retain: the Legato namespace is kept"
    assert await _state(server, "kept") == enums_pb2.NAMESPACE_STATE_REGISTERED


async def test_an_unknown_namespace_counts_as_deleted(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _point_at(monkeypatch, server.address)

    outcome = await asyncio.to_thread(namespaces.on_delete, _kube(), _resource("never-made", policy="Delete"))

    assert outcome == "the Legato namespace was already gone"


def test_a_missing_cluster_ends_deletion_with_the_reason() -> None:
    outcome = namespaces.on_delete(_kube(with_cluster=False), _resource("orphan", policy="Delete"))

    assert outcome == f"nothing to delete: LegatoCluster {CLUSTER} not found in namespace {K8S_NAMESPACE}"


def test_an_unreachable_frontend_ends_deletion_after_one_short_attempt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _point_at(monkeypatch, f"127.0.0.1:{find_free_port()}")  # nothing listens there
    started = time.monotonic()

    outcome = namespaces.on_delete(_kube(), _resource("unreachable", policy="Delete"))

    assert time.monotonic() - started < namespaces.RPC_TIMEOUT_S + 2
    assert outcome.startswith("the frontend did not delete it (UNAVAILABLE")
    assert outcome.endswith("not waiting: the Legato namespace may remain")


async def test_a_namespace_still_being_deleted_is_reported_not_registered(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _point_at(monkeypatch, server.address)
    await _register(server, "reborn")
    await asyncio.to_thread(namespaces.on_delete, _kube(), _resource("reborn", policy="Delete"))

    status = await asyncio.to_thread(namespaces.reconcile, _kube(), _resource("reborn", policy="Delete"))

    (ready,) = status["conditions"]
    assert (ready["type"], ready["status"], ready["reason"]) == ("Ready", "False", "NamespaceBeingDeleted")
    assert "namespace reborn is being deleted on the server" in ready["message"]
