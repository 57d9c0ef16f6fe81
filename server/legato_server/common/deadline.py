"""The caller's deadline, carried through in-process calls.

Handlers take only the request message, so the gRPC adapter of each role
records the call's deadline here (``call_deadline``, a context variable) before
invoking the handler. Because context variables follow ``await`` within one
task, a frontend -> history -> matching chain of in-process calls all see the
deadline of the original worker or client call: a long-poll returns before its
caller gives up, and a query waits exactly as long as its caller does.
"""

from __future__ import annotations

import contextvars
import time

# Absolute time.monotonic() value, or None when the call has no deadline.
call_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "legato_call_deadline", default=None
)


def set_call_timeout(timeout_s: float | None) -> contextvars.Token[float | None]:
    """Record that the current call must finish within ``timeout_s`` seconds (None = no deadline)."""
    return call_deadline.set(None if timeout_s is None else time.monotonic() + timeout_s)


def remaining_s() -> float | None:
    """Seconds left before the current call's deadline, or None if it has none."""
    deadline = call_deadline.get()
    return None if deadline is None else deadline - time.monotonic()


def time_left_s(*, margin_s: float = 1.0) -> float | None:
    """Seconds a call may still wait so its answer reaches the caller before its deadline.

    Keeps ``margin_s`` (at most a tenth of what is left) for the answer's trip
    back. None when the call has no deadline.
    """
    remaining = remaining_s()
    if remaining is None:
        return None
    return max(0.0, remaining - min(margin_s, remaining / 10))
