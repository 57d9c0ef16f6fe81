"""The closed-loop generator: concurrency bound, latency samples, errors, progress."""

from __future__ import annotations

import asyncio
import io

import pytest

from bench.loadgen import LoadProgress, report_progress, run_closed_loop, summarize_errors


async def test_never_more_than_conc_in_flight_and_every_index_once() -> None:
    in_flight = peak = 0
    seen: list[int] = []

    async def operation(index: int) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        seen.append(index)
        await asyncio.sleep(0.001 * (index % 3))
        in_flight -= 1

    result = await run_closed_loop(operation, n=40, conc=7)
    assert peak == 7
    assert sorted(seen) == list(range(40))
    assert result.completed == 40 and result.errors == []
    assert result.wall_s > 0 and all(latency >= 0 for latency in result.latencies_s)


async def test_first_index_offsets_the_indices() -> None:
    seen: list[int] = []

    async def operation(index: int) -> None:
        seen.append(index)

    await run_closed_loop(operation, n=3, conc=1, first_index=100)
    assert seen == [100, 101, 102]


async def test_failures_and_timeouts_are_errors_not_samples() -> None:
    async def operation(index: int) -> None:
        if index == 1:
            raise ValueError("bad answer\nwith a second line")
        if index == 2:
            await asyncio.sleep(10)

    progress = LoadProgress(n=4)
    result = await run_closed_loop(operation, n=4, conc=4, timeout_s=0.05, progress=progress)
    assert result.completed == 2
    assert sorted(result.errors) == ["TimeoutError: no result within 0.05 s", "ValueError: bad answer"]
    assert progress.done == 4 and progress.errors == 2


async def test_zero_workflows_is_an_empty_result() -> None:
    async def operation(index: int) -> None:
        raise AssertionError("not called")

    result = await run_closed_loop(operation, n=0, conc=5)
    assert result.completed == 0 and result.errors == []


async def test_rejects_nonsense_sizes() -> None:
    async def operation(index: int) -> None:
        pass

    with pytest.raises(ValueError):
        await run_closed_loop(operation, n=1, conc=0)


def test_error_summary_most_common_first() -> None:
    assert summarize_errors(["a", "b", "a", "c", "a", "b"], limit=2) == [
        {"error": "a", "count": 3},
        {"error": "b", "count": 2},
    ]


async def test_progress_lines() -> None:
    progress = LoadProgress(n=10, done=4, started_at=None)
    stream = io.StringIO()
    task = asyncio.create_task(report_progress(progress, label="hello", interval_s=0.01, stream=stream))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    first = stream.getvalue().splitlines()[0]
    assert "hello" in first and "4/10" in first and "wf/s" in first
