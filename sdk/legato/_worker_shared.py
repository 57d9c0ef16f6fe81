"""Pieces both task workers (workflow and activity) share: the poll loop and proto helpers.

The poll loop is where "bounded concurrency" lives: a poller takes a slot
*before* it polls, so a worker with no free slot does not take tasks it could
not start (they would wait in this process while another worker idles). A slot
goes back when the poll comes back empty or when the task it fetched is done.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
from google.protobuf import duration_pb2, timestamp_pb2

from legato._worker_metrics import PollObserver
from legato.exceptions import RPCError

log = logging.getLogger("legato.worker")

FATAL_POLL_STATUSES = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.UNIMPLEMENTED,
    }
)
"""Poll errors a retry cannot fix (unknown namespace, bad queue name, auth): they stop the worker."""


class WorkerFatalError(Exception):
    """A poller hit an error that retrying cannot fix; ``Worker.run`` raises it."""


def to_datetime(ts: timestamp_pb2.Timestamp, present: bool) -> datetime | None:
    return ts.ToDatetime(tzinfo=UTC) if present else None


def to_timedelta(d: duration_pb2.Duration, present: bool) -> timedelta | None:
    if not present:
        return None
    value = d.ToTimedelta()
    return value if value > timedelta(0) else None


class PollerScaler:
    """How many pollers one queue runs: ``base`` always, up to ``limit`` while the server has a backlog.

    The number of polls a worker needs waiting is the queue's task rate times
    how long one poll takes to come back with its task, and that includes the
    server recording the task started in its database: a few milliseconds on
    SQLite, tens of milliseconds or more on a loaded MySQL or Cassandra. With too
    few pollers, tasks miss them and go the slow way, written to the server's
    backlog, read back and deleted, which costs the database more than the task
    itself. So a poll that returns a task with a backlog hint (tasks are waiting
    in the backlog) starts one more poller, up to ``limit``, and a poll that comes
    back empty (it waited its whole long poll) stops one of the extra ones. A
    queue that keeps up never grows, so an idle or fast setup pays nothing.
    """

    def __init__(self, *, base: int, limit: int) -> None:
        self.base = base
        self.limit = max(base, limit)
        self.running = 0
        self.peak = 0

    def started(self) -> None:
        self.running += 1
        self.peak = max(self.peak, self.running)

    def should_grow(self, backlog_hint: int) -> bool:
        """After a poll returned a task: True when one more poller should start (and it is counted)."""
        if backlog_hint <= 0 or self.running >= self.limit:
            return False
        self.started()
        return True

    def should_stop(self) -> bool:
        """After a poll came back empty: True when this poller should stop (and it is uncounted)."""
        if self.running <= self.base:
            return False
        self.running -= 1
        return True


async def poll_loop(
    *,
    name: str,
    slots: asyncio.Semaphore,
    poll: Callable[[], Awaitable[Any]],
    has_task: Callable[[Any], bool],
    handle: Callable[[Any], Awaitable[None]],
    in_flight: set[asyncio.Task[None]],
    error_backoff: float = 1.0,
    observer: PollObserver | None = None,
    scaler: PollerScaler | None = None,
    backlog_hint: Callable[[Any], int] | None = None,
    spawn: Callable[[], None] | None = None,
) -> None:
    """Poll until cancelled: take a slot, long-poll, hand a task to ``handle`` in its own asyncio task.

    Transient errors (already retried by the service layer) are logged and
    polled again after a pause; fatal ones raise ``WorkerFatalError``.
    ``observer`` (``Worker(metrics=...)``) hears of each poll and each task.
    With ``scaler``, a task whose ``backlog_hint`` is positive calls ``spawn``
    (start one more poller), and an empty poll may end this loop.
    """
    failures = 0
    while True:
        await slots.acquire()
        released = False
        try:
            try:
                polled_at = time.perf_counter()
                response = await poll()
                failures = 0
            except RPCError as err:
                if err.status in FATAL_POLL_STATUSES:
                    raise WorkerFatalError(f"{name}: {err}") from err
                if err.status != grpc.StatusCode.DEADLINE_EXCEEDED:
                    failures += 1
                    log.warning("%s: poll failed (%s); polling again", name, err)
                    slots.release()
                    released = True
                    await asyncio.sleep(min(error_backoff * failures, 10.0))
                    continue
                response = None
            if observer is not None:
                observer.polled(polled_at, got_task=response is not None and has_task(response))
            if response is None or not has_task(response):
                slots.release()
                released = True
                if scaler is not None and scaler.should_stop():
                    return
                continue
            if scaler is not None and spawn is not None and backlog_hint is not None:
                if scaler.should_grow(backlog_hint(response)):
                    spawn()

            start_in_slot(
                response, name=name, slots=slots, handle=handle, in_flight=in_flight, observer=observer
            )
            released = True  # the task's job owns the slot now
        finally:
            if not released:
                slots.release()


def start_in_slot(
    task: Any,
    *,
    name: str,
    slots: asyncio.Semaphore,
    handle: Callable[[Any], Awaitable[None]],
    in_flight: set[asyncio.Task[None]],
    observer: PollObserver | None,
) -> None:
    """Run ``handle(task)`` in its own asyncio task that owns one (already taken) slot of ``slots``."""

    async def run_and_release() -> None:
        started = observer.task_started() if observer is not None else 0.0
        try:
            await handle(task)
        except Exception:
            log.exception("%s: unexpected error handling a task", name)
        finally:
            slots.release()
            if observer is not None:
                observer.task_completed(started)

    job = asyncio.create_task(run_and_release(), name=f"{name}-task")
    in_flight.add(job)
    job.add_done_callback(in_flight.discard)
