"""Calls to a peer whose channel is closed because it left the membership, over real gRPC.

``PeerClients.retain`` closes the channel of a peer that left the ring. gRPC
then cancels the calls still in flight on it, which surfaces in the caller as
a bare ``CancelledError``: a retry loop (a history transfer task dispatching
to a matching host that was just killed) took it for its own cancellation and
ended without a word, leaving the task undispatched for good. These calls must
fail with a retryable status instead, and a caller's own cancellation must
still cancel it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from legato_server.common.errors import PeerUnreachable, Unavailable
from legato_server.common.routing import PeerClients

HEALTH = health_pb2.DESCRIPTOR.services_by_name["Health"]


class _SlowHealth(health_pb2_grpc.HealthServicer):
    """A peer whose Check takes a while, so a call is in flight when its channel closes."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()

    async def Check(
        self, request: health_pb2.HealthCheckRequest, context: object
    ) -> health_pb2.HealthCheckResponse:
        self.entered.set()
        await asyncio.sleep(5)
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)


@pytest.fixture
async def peer() -> AsyncIterator[tuple[str, _SlowHealth]]:
    server = grpc.aio.server()
    servicer = _SlowHealth()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}", servicer
    finally:
        await server.stop(None)


@pytest.mark.timeout(30)
async def test_a_call_in_flight_when_the_peer_leaves_fails_retryably(peer: tuple[str, _SlowHealth]) -> None:
    address, servicer = peer
    peers = PeerClients(grpc.aio.insecure_channel)
    client = peers.client(address, health_pb2_grpc.HealthStub, HEALTH)
    call = asyncio.ensure_future(client.Check(health_pb2.HealthCheckRequest()))
    await servicer.entered.wait()

    await peers.retain(set())  # the peer left the membership

    with pytest.raises(Unavailable, match="closed mid-call"):
        await call
    # A client taken before the peer left now answers at once that it is unreachable.
    with pytest.raises(PeerUnreachable, match="connection to the peer is closed"):
        await client.Check(health_pb2.HealthCheckRequest())


@pytest.mark.timeout(30)
async def test_the_callers_own_cancellation_still_cancels(peer: tuple[str, _SlowHealth]) -> None:
    address, servicer = peer
    peers = PeerClients(grpc.aio.insecure_channel)
    try:
        client = peers.client(address, health_pb2_grpc.HealthStub, HEALTH)
        call = asyncio.ensure_future(client.Check(health_pb2.HealthCheckRequest()))
        await servicer.entered.wait()
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
    finally:
        await peers.close()
