"""Waiting on a condition with a deadline: tests never sleep a fixed time for something to happen.

``wait_until`` polls a check (a plain function or a coroutine function) while
yielding to the event loop, returns the check's first truthy value, and fails
with what it waited for once ``within`` seconds of real time have passed.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any


async def wait_until(
    check: Callable[[], Any] | Callable[[], Awaitable[Any]],
    *,
    within: float = 10.0,
    what: str = "the condition",
    interval: float = 0.01,
) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {within:g} s waiting for {what}")
        await asyncio.sleep(interval)
