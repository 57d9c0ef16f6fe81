"""The server reports itself healthy and describes itself."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from legato.api.v1 import workflow_service_pb2


async def test_health_is_serving_for_the_server_and_the_workflow_service(
    grpc_channel: grpc.aio.Channel,
) -> None:
    health = health_pb2_grpc.HealthStub(grpc_channel)
    for service in ("", "legato.api.v1.WorkflowService"):
        response = await health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        assert response.status == health_pb2.HealthCheckResponse.SERVING, service


async def test_get_system_info(server_address_and_stub) -> None:  # type: ignore[no-untyped-def]
    _, stub = server_address_and_stub
    info = await stub.GetSystemInfo(workflow_service_pb2.GetSystemInfoRequest(), timeout=5)
    assert info.server_version
    assert info.capabilities.sticky_queues
