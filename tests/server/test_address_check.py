"""``AddressCheck``: does this process answer at its advertised address? Against real gRPC ports."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from legato.testing import find_free_port
from legato_server.server import AddressCheck


class _Silent(health_pb2_grpc.HealthServicer):
    """A health service that never answers: every call to it times out."""

    async def Check(self, request: object, context: object) -> health_pb2.HealthCheckResponse:  # noqa: N802
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def _serve(servicer: object, at: str = "127.0.0.1:0") -> tuple[grpc.aio.Server, str]:
    server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port(at)
    await server.start()
    return server, f"127.0.0.1:{port}"


@pytest.fixture
async def channels() -> AsyncIterator[dict[str, grpc.aio.Channel]]:
    opened: dict[str, grpc.aio.Channel] = {}
    yield opened
    for channel in opened.values():
        await channel.close()


def _opener(opened: dict[str, grpc.aio.Channel]):  # type: ignore[no-untyped-def]
    def channel(address: str) -> grpc.aio.Channel:
        if address not in opened:
            opened[address] = grpc.aio.insecure_channel(address)
        return opened[address]

    return channel


async def test_an_answering_address_is_no_problem(channels: dict[str, grpc.aio.Channel]) -> None:
    server, address = await _serve(health.aio.HealthServicer())
    try:
        check = AddressCheck(address, _opener(channels), retry_s=0, interval_s=0)
        await check.check()
        assert check.problem is None
    finally:
        await server.stop(None)


async def test_a_refused_address_is_a_problem_at_once(channels: dict[str, grpc.aio.Channel]) -> None:
    nowhere = f"127.0.0.1:{find_free_port()}"
    check = AddressCheck(nowhere, _opener(channels), retry_s=0, interval_s=0)
    await check.check()
    assert check.problem is not None
    assert f"its advertised address {nowhere} does not reach it (UNAVAILABLE" in check.problem
    assert "LEGATO_ADVERTISE_ADDRESS" in check.problem


async def test_timeouts_are_a_problem_only_after_the_tolerated_run(
    channels: dict[str, grpc.aio.Channel],
) -> None:
    # A busy event loop may be slow to answer its own check: two timeouts in a
    # row are tolerated, the third is a problem, and one answer clears it.
    servicer = _Silent()
    server, address = await _serve(servicer)
    try:
        check = AddressCheck(address, _opener(channels), retry_s=0, interval_s=0, timeouts_tolerated=2)
        for _ in range(2):
            await check.check()
            assert check.problem is None
        await check.check()
        assert check.problem is not None and "DEADLINE_EXCEEDED" in check.problem
    finally:
        await server.stop(None)
    answering, _ = await _serve(health.aio.HealthServicer(), at=address)  # it answers again
    try:
        await check.check()
        assert check.problem is None
    finally:
        await answering.stop(None)
