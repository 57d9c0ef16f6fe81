"""Heartbeat throttling: the first heartbeat goes out at once, later ones coalesce to the latest details."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import grpc

from legato._worker_activity import DEFAULT_HEARTBEAT_THROTTLE, Heartbeater
from legato.exceptions import RPCError


class Harness:
    def __init__(
        self, interval: float, *, cancel_after: int | None = None, error: RPCError | None = None
    ) -> None:
        self.now = 0.0
        self.sent: list[tuple[float, tuple[Any, ...]]] = []
        self.cancelled: list[str] = []
        self.cancel_after = cancel_after
        self.error = error
        self.heartbeater = Heartbeater(
            send=self.send,
            interval=interval,
            on_cancel=self.cancelled.append,
            clock=lambda: self.now,
            sleep=self.sleep,
        )

    async def send(self, details: Sequence[Any]) -> bool:
        self.sent.append((self.now, tuple(details)))
        if self.error is not None:
            raise self.error
        return self.cancel_after is not None and len(self.sent) >= self.cancel_after

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)

    async def settle(self) -> None:
        for _ in range(20):
            await asyncio.sleep(0)


def test_interval_is_80_percent_of_the_heartbeat_timeout_or_30s() -> None:
    assert Heartbeater.interval_for(timedelta(seconds=10)) == 8.0
    assert Heartbeater.interval_for(None) == DEFAULT_HEARTBEAT_THROTTLE == 30.0


async def test_first_heartbeat_is_sent_immediately() -> None:
    h = Harness(interval=8.0)
    h.heartbeater.record([1])
    await h.settle()
    assert h.sent == [(0.0, (1,))]


async def test_heartbeats_within_the_interval_coalesce_into_the_latest() -> None:
    h = Harness(interval=8.0)
    h.heartbeater.record([1])
    await h.settle()
    for i in range(2, 50):
        h.heartbeater.record([i])
    await h.settle()
    assert h.sent == [(0.0, (1,)), (8.0, (49,))]
    assert h.heartbeater.latest_details == (49,)


async def test_a_heartbeat_after_the_interval_is_sent_without_waiting() -> None:
    h = Harness(interval=8.0)
    h.heartbeater.record(["a"])
    await h.settle()
    h.now = 20.0
    h.heartbeater.record(["b"])
    await h.settle()
    assert h.sent == [(0.0, ("a",)), (20.0, ("b",))]


async def test_cancel_requested_in_a_response_cancels_the_activity() -> None:
    h = Harness(interval=1.0, cancel_after=2)
    h.heartbeater.record([1])
    await h.settle()
    assert h.cancelled == []
    h.heartbeater.record([2])
    await h.settle()
    assert h.cancelled == ["cancel requested by the workflow"]


async def test_not_found_means_the_attempt_is_gone_and_cancels() -> None:
    h = Harness(interval=1.0, error=RPCError("gone", status=grpc.StatusCode.NOT_FOUND))
    h.heartbeater.record([1])
    await h.settle()
    assert len(h.cancelled) == 1


async def test_stop_drops_unsent_heartbeats() -> None:
    h = Harness(interval=8.0)
    h.heartbeater.record([1])
    await h.settle()
    h.heartbeater.record([2])
    await h.heartbeater.stop()
    await h.settle()
    assert h.sent == [(0.0, (1,))]
