"""A background pass repeated at an interval, for the server's housekeeping loops.

The scheduler and the namespace deleter each run "one pass, sleep, repeat"
for as long as the server runs. What they need from the loop is the same: a
pass that fails must not end the loop; a store outage logs one WARNING and
one recovery line (``TransientLog``), not a traceback per pass; any other
error is logged with its traceback and the next pass runs as usual; stopping
cancels the pass in flight and waits for it. The sleep is injected so tests
drive the loop with a fake clock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from legato_server.common.errors import Unavailable
from legato_server.common.logs import TransientLog


class PeriodicPass:
    def __init__(
        self,
        *,
        name: str,
        run_once: Callable[[], Awaitable[Any]],
        sleep: Callable[[float], Awaitable[None]],
        interval_s: float,
        log: logging.Logger,
    ) -> None:
        self._name = name
        self._run_once = run_once
        self._sleep = sleep
        self._interval_s = interval_s
        self._log = log
        self._transient_log = TransientLog(log)
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            try:
                await self._run_once()
            except asyncio.CancelledError:
                raise
            except Unavailable as err:  # the store is down: one WARNING, then quiet until it is back
                self._transient_log.failed(self._name, err)
            except Exception:
                self._log.exception("%s failed; the next pass runs in %g s", self._name, self._interval_s)
            else:
                self._transient_log.succeeded(self._name)
            await self._sleep(self._interval_s)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
