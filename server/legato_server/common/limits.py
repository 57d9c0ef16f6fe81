"""Bounds on user input that every role relies on.

``MAX_DURATION`` is the longest timer, timeout, start delay or retry interval
the server accepts. History adds such durations to "now" and stores the sum as
a ``google.protobuf.Timestamp`` (year 9999 at most) and as int64 milliseconds;
Python's ``timedelta`` stops at 999,999,999 days. A hundred years from now fits
all three with room to spare, and nothing legitimate waits longer: a larger
value is a unit mix-up. The frontend rejects longer durations in any request,
so the engine never has to guard its own arithmetic.

``quote`` (and ``shorten`` for prose) is how an error message shows a value
the caller sent. gRPC carries
the message in a header (8 KiB by default, percent-encoding every non-ASCII
byte), so echoing a 10 KB id whole would turn a clear INVALID_ARGUMENT or
NOT_FOUND into RESOURCE_EXHAUSTED. Every message that repeats user input goes
through it.
"""

from __future__ import annotations

from datetime import timedelta

MAX_DURATION = timedelta(days=365 * 100)
MAX_DURATION_TEXT = "3153600000s (100 years)"

# A quoted value is at most this many characters of the original (<= 1.2 KB on the wire).
QUOTE_LIMIT = 100


def quote(value: str, *, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)``, cut to ``limit`` characters with an ellipsis and the original length."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}... ({len(value)} chars)"


def shorten(text: str, *, limit: int = QUOTE_LIMIT) -> str:
    """``text`` as is (for prose such as a worker's error message), cut like ``quote``."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} chars)"
