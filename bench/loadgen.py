"""The closed-loop load generator: N operations, at most C in flight.

``run_closed_loop`` starts C lanes; each lane takes the next index, runs the
operation, records its latency (or its error), and takes the next. That keeps
exactly ``min(C, remaining)`` operations in flight, like a semaphore around N
tasks, without creating N tasks up front. Latency is measured per operation,
from just before it is called to just after it returns, with
``time.perf_counter``; wall time runs from the first start to the last finish.

An operation that fails or exceeds ``timeout_s`` is an error, never a latency
sample: a fast failure must not make the percentiles look better. Errors are
kept as ``"Type: message"`` strings and summarised by ``summarize_errors``.

SDK-free: the operation is any ``async (index) -> None``.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TextIO

Operation = Callable[[int], Awaitable[None]]


@dataclass
class LoadProgress:
    """Counters a progress reporter reads while the load runs."""

    n: int
    done: int = 0
    errors: int = 0
    started_at: float | None = None


@dataclass
class LoadResult:
    n: int
    conc: int
    latencies_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def completed(self) -> int:
        return len(self.latencies_s)


def describe_error(error: BaseException) -> str:
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    name = type(error).__name__
    return f"{name}: {message}" if message else name


async def run_closed_loop(
    operation: Operation,
    *,
    n: int,
    conc: int,
    timeout_s: float | None = None,
    progress: LoadProgress | None = None,
    first_index: int = 0,
) -> LoadResult:
    """Run ``operation(first_index + i)`` for i in range(n), at most ``conc`` at a time."""
    if n < 0 or conc < 1:
        raise ValueError(f"need n >= 0 and conc >= 1, got n={n} conc={conc}")
    result = LoadResult(n=n, conc=conc)
    progress = progress if progress is not None else LoadProgress(n=n)
    next_index = 0

    async def lane() -> None:
        nonlocal next_index
        while next_index < n:
            index = next_index
            next_index += 1
            started = time.perf_counter()
            try:
                if timeout_s is None:
                    await operation(first_index + index)
                else:
                    await asyncio.wait_for(operation(first_index + index), timeout_s)
            except TimeoutError:
                result.errors.append(f"TimeoutError: no result within {timeout_s:g} s")
                progress.errors += 1
            except Exception as error:  # noqa: BLE001 - every failure is a data point
                result.errors.append(describe_error(error))
                progress.errors += 1
            else:
                result.latencies_s.append(time.perf_counter() - started)
            progress.done += 1

    began = time.perf_counter()
    progress.started_at = began
    lanes = [asyncio.create_task(lane()) for _ in range(min(conc, n))]
    try:
        await asyncio.gather(*lanes)
    finally:
        for task in lanes:
            task.cancel()
    result.wall_s = time.perf_counter() - began
    return result


def summarize_errors(errors: list[str], *, limit: int = 5) -> list[dict[str, object]]:
    """The most common error strings with their counts, most common first."""
    return [{"error": text, "count": count} for text, count in Counter(errors).most_common(limit)]


async def report_progress(
    progress: LoadProgress,
    *,
    label: str,
    interval_s: float = 1.0,
    stream: TextIO | None = None,
) -> None:
    """Write ``label done/n rate`` every interval until cancelled."""
    stream = stream if stream is not None else sys.stderr
    last_done, last_time = 0, time.perf_counter()
    while True:
        await asyncio.sleep(interval_s)
        now = time.perf_counter()
        done = progress.done
        elapsed = now - (progress.started_at or now)
        average = done / elapsed if elapsed > 0 else 0.0
        recent = (done - last_done) / (now - last_time) if now > last_time else 0.0
        last_done, last_time = done, now
        errors = f"  errors {progress.errors}" if progress.errors else ""
        stream.write(
            f"  {label:<8} {done:>6}/{progress.n:<6} {recent:8.1f} wf/s now {average:8.1f} wf/s avg"
            f"  {elapsed:6.1f} s{errors}\n"
        )
        stream.flush()
