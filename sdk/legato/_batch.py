"""Batch operations: terminate, cancel or signal every run a list query matches, at a bounded rate.

Client side, by design (for now). Temporal runs a batch as a server-side
system workflow: durable and resumable after a client dies. Legato's batch is
run by the caller (SDK ``Client.terminate_workflows`` / ``cancel_workflows`` /
``signal_workflows``, and ``legato workflow terminate|cancel|signal --query``)
because each step is already an idempotent, per-run RPC: terminating a run
that is closed is a no-op counted as *skipped*, so a batch cut short is
finished by running the same command again. What is lost against a server-side
job is only the progress record and the need for the caller to stay up; in
exchange there is no new server state, API or worker to operate.

Correct paging while runs close. The matching runs are listed first, all
pages, into a list of (workflow id, run id); only then are they changed. So
the changes cannot move the pages being read (a query such as
``ExecutionStatus = 'Running'`` stops matching a run the moment it is
terminated), ``total`` is exact for the progress display, and a run started
after the listing is not touched. The cost is memory: about a hundred bytes
per matching run.

Each operation names the exact run (``run_id``), so a workflow that was
closed and started again meanwhile keeps its new run. A run already closed
(FAILED_PRECONDITION) or gone (NOT_FOUND, deleted after retention) is
*skipped*; any other error is *failed* and kept (up to ``MAX_FAILURES_KEPT``)
without stopping the batch.

Rate: operation *i* starts no earlier than ``i / rps`` seconds after the first,
with at most ``concurrency`` in flight, so a batch never sends more than
``rps`` calls a second to the frontend however fast it answers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc

MAX_FAILURES_KEPT = 100
SKIP_CODES = frozenset({grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND})
DEFAULT_RPS = 50.0
DEFAULT_CONCURRENCY = 10


@dataclass(frozen=True)
class BatchTarget:
    workflow_id: str
    run_id: str


@dataclass(frozen=True)
class BatchFailure:
    workflow_id: str
    run_id: str
    message: str


@dataclass
class BatchProgress:
    """Counts so far; passed to ``on_progress`` after every run (``done`` of ``total``)."""

    total: int
    succeeded: int = 0
    skipped: int = 0
    """Runs that were already closed or gone."""
    failed: int = 0
    failures: list[BatchFailure] = field(default_factory=list)
    """The first ``MAX_FAILURES_KEPT`` failures, with the server's message."""

    @property
    def done(self) -> int:
        return self.succeeded + self.skipped + self.failed


def check_rate(*, rps: float, concurrency: int) -> None:
    if not rps > 0:
        raise ValueError(f"rps must be more than 0 (calls per second), not {rps}")
    if concurrency < 1:
        raise ValueError(f"concurrency must be 1 or more, not {concurrency}")


async def collect_targets(pages: AsyncIterator[list[BatchTarget]]) -> list[BatchTarget]:
    """Every run of every page, listed before anything changes (see the module docstring)."""
    targets: list[BatchTarget] = []
    seen: set[BatchTarget] = set()
    async for page in pages:
        for target in page:
            if target not in seen:  # a run that moved between pages is listed once
                seen.add(target)
                targets.append(target)
    return targets


async def run_batch(
    targets: list[BatchTarget],
    apply: Callable[[BatchTarget], Awaitable[None]],
    *,
    status_of: Callable[[BaseException], Any],
    rps: float = DEFAULT_RPS,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_progress: Callable[[BatchProgress], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> BatchProgress:
    """Apply ``apply`` to each target at most ``rps`` a second; ``status_of`` maps an error to its gRPC code.

    ``clock`` and ``sleep`` pace the calls; tests pass a fake clock so the pace is checked without waiting.
    """
    check_rate(rps=rps, concurrency=concurrency)
    progress = BatchProgress(total=len(targets))
    slots = asyncio.Semaphore(concurrency)
    start = clock()

    async def one(target: BatchTarget) -> None:
        try:
            await apply(target)
        except Exception as err:  # noqa: BLE001 - every error is counted, none stops the batch
            if status_of(err) in SKIP_CODES:
                progress.skipped += 1
            else:
                progress.failed += 1
                if len(progress.failures) < MAX_FAILURES_KEPT:
                    progress.failures.append(BatchFailure(target.workflow_id, target.run_id, str(err)))
        else:
            progress.succeeded += 1
        finally:
            slots.release()
        if on_progress is not None:
            on_progress(progress)

    async with asyncio.TaskGroup() as group:
        for index, target in enumerate(targets):
            wait = start + index / rps - clock()
            if wait > 0:
                await sleep(wait)  # pacing the calls, not waiting for a condition
            await slots.acquire()
            group.create_task(one(target))
    if on_progress is not None and not targets:
        on_progress(progress)
    return progress
