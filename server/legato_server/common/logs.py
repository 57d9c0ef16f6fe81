"""Logging that stays readable through an outage.

A store outage makes the same thing fail everywhere at once: every queue
task's retry, every ack-level write, every backlog read, every heartbeat, and
the database driver's own reconnect attempts. Logged one line (and one
traceback) per failure, a 20-second Cassandra outage once produced 200,000
lines, burying the one line an operator needed. Two tools keep it to a handful:

* ``TransientLog``, for failures our code expects and retries (the store is
  unreachable, a shard moved). The first failure of a cause logs one WARNING
  line without a traceback; repeats are counted and summarised at most once
  per ``repeat_after_s``; once calls succeed ``settle_s`` after the last
  failure (one lucky call in the middle of an outage does not count), one INFO line
  says how long it lasted and how many failures it hid. Unexpected errors do
  not go through it: they keep their traceback.
* ``RepeatFilter``, a ``logging.Filter`` for loggers we do not control (the
  Cassandra driver): a record whose template was already let through within
  the window is dropped and counted, and the next one let through says how
  many were dropped; a traceback becomes the exception's type and text.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Outage:
    started: float
    last_logged: float
    last_failure: float
    failures: int = 1
    unlogged: int = 0
    succeeding_since: float | None = None


class TransientLog:
    """Rate-limited WARNINGs for retried failures, one INFO line on recovery, per cause."""

    def __init__(
        self,
        logger: logging.Logger,
        *,
        repeat_after_s: float = 60.0,
        settle_s: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = logger
        self._repeat_after_s = repeat_after_s
        self._settle_s = settle_s
        self._monotonic = monotonic
        self._outages: dict[str, _Outage] = {}

    def failed(self, cause: str, error: BaseException | str) -> None:
        """``cause`` (e.g. "shard 3 timer tasks") failed with ``error`` and will be retried."""
        now = self._monotonic()
        outage = self._outages.get(cause)
        if outage is None:
            self._outages[cause] = _Outage(started=now, last_logged=now, last_failure=now)
            self._log.warning("%s: %s; retrying", cause, error)
            return
        outage.failures += 1
        outage.unlogged += 1
        outage.succeeding_since = None
        outage.last_failure = now
        if now - outage.last_logged >= self._repeat_after_s:
            self._log.warning(
                "%s: still failing after %.0fs (%d more failures since the last report): %s",
                cause,
                now - outage.started,
                outage.unlogged,
                error,
            )
            outage.last_logged = now
            outage.unlogged = 0

    def succeeded(self, cause: str) -> None:
        """``cause`` worked; logs the recovery if it had been failing."""
        if not self._outages:
            return  # the hot path: nothing is failing
        outage = self._outages.get(cause)
        if outage is None:
            return
        now = self._monotonic()
        if outage.succeeding_since is None:
            outage.succeeding_since = now
        settled = (
            now - outage.last_failure >= self._settle_s or now - outage.succeeding_since >= self._settle_s
        )
        if not settled:
            return
        del self._outages[cause]
        self._log.info(
            "%s: recovered after %.1fs and %d failures",
            cause,
            outage.succeeding_since - outage.started,
            outage.failures,
        )

    def failing(self, cause: str) -> bool:
        return cause in self._outages


class RepeatFilter(logging.Filter):
    """For loggers under ``prefixes``: one record per (logger, level, template) per window.

    A handler filter, not a logger filter, because a logger's filters do not
    apply to its children ("cassandra.cluster", "cassandra.pool", ...).
    Records of other loggers pass untouched.
    """

    def __init__(
        self,
        prefixes: tuple[str, ...],
        *,
        window_s: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._prefixes = prefixes
        self._window_s = window_s
        self._monotonic = monotonic
        self._seen: dict[tuple[str, int, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self._prefixes):
            return True
        key = (record.name, record.levelno, str(record.msg))
        now = self._monotonic()
        seen = self._seen.get(key)
        if seen is not None and now - seen[0] < self._window_s:
            self._seen[key] = (seen[0], seen[1] + 1)
            return False
        dropped = seen[1] if seen is not None else 0
        self._seen[key] = (now, 0)
        if record.exc_info and record.exc_info[1] is not None:
            # A driver's traceback shows the driver's insides, not our bug:
            # keep the exception's type and text on the line instead.
            error = record.exc_info[1]
            record.msg = f"{record.msg} ({type(error).__name__}: {error})"
            record.exc_info = None
            record.exc_text = None
        if dropped:
            record.msg = f"{record.msg} ({dropped} similar messages suppressed)"
        return True


THIRD_PARTY_LOGGERS = ("cassandra", "pymysql")


def quiet_third_party_loggers(*, window_s: float = 60.0) -> None:
    """Rate-limit the database drivers' logs on every handler of the root logger."""
    repeat_filter = RepeatFilter(THIRD_PARTY_LOGGERS, window_s=window_s)
    for handler in logging.getLogger().handlers:
        handler.addFilter(repeat_filter)
