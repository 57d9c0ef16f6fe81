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
