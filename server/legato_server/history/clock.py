"""Time, injectable: every timestamp and every wait of the history role goes through a Clock.

Timers (user timers, activity and workflow-task timeouts, retry backoff,
retention) are the engine's business logic, so tests must be able to move time
forward without sleeping. ``Clock`` is the seam: ``RealClock`` in production,
a fake one in tests that resolves sleepers when it is advanced.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int:
        """Milliseconds since the unix epoch."""

    async def sleep(self, seconds: float) -> None:
        """Return once ``seconds`` have passed on this clock."""


class RealClock:
    """Wall-clock time and asyncio sleeps."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class SkippingClock:
    """Real time plus an offset that only grows: the clock of a time-skipping dev server.

    ``advance_to(ms)`` moves "now" forward and wakes every sleeper, each of
    which re-checks its own deadline; time never goes back, so timestamps
    already written stay in the past. Only the dev server started with
    ``--time-skipping`` uses it (``legato_server.time_skipping``).
    """

    def __init__(self) -> None:
        self._offset_ms = 0
        self._moved: asyncio.Event | None = None

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self._offset_ms

    async def sleep(self, seconds: float) -> None:
        target = self.now_ms() + max(0.0, seconds) * 1000
        while True:
            remaining = target - self.now_ms()
            if remaining <= 0:
                return
            if self._moved is None:
                self._moved = asyncio.Event()
            moved = self._moved
            try:
                await asyncio.wait_for(moved.wait(), remaining / 1000)
            except TimeoutError:
                pass

    def advance_to(self, when_ms: int) -> None:
        """Make it ``when_ms`` now (no-op if that is past) and wake the sleepers."""
        delta = when_ms - self.now_ms()
        if delta <= 0:
            return
        self._offset_ms += delta
        moved, self._moved = self._moved, None
        if moved is not None:
            moved.set()
