"""The batch's rate limit and concurrency cap, on a fake clock: no waiting, no timing assertions.

``run_batch`` is what ``Client.terminate_workflows`` and ``legato workflow
terminate --query`` run; the end-to-end tests (``tests/cli/test_batch.py``,
``tests/sdk/integration/test_batch.py``) show what a batch changes, these show
how fast it is allowed to change it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest

from legato._batch import BatchTarget, run_batch


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)  # the calls already started run now, then the time passes
        self.now += seconds


class Refused(Exception):
    def __init__(self, code: grpc.StatusCode) -> None:
        super().__init__(code.name)
        self.code = code


def status_of(error: BaseException) -> Any:
    return getattr(error, "code", None)


def targets(count: int) -> list[BatchTarget]:
    return [BatchTarget(f"wf-{i}", f"run-{i}") for i in range(count)]


@pytest.mark.parametrize("rps", [1.0, 4.0, 50.0], ids=lambda rps: f"rps-{rps:g}")
async def test_call_i_starts_no_sooner_than_i_over_rps_after_the_first(rps: float) -> None:
    clock = FakeClock()
    started: list[float] = []

    async def apply(target: BatchTarget) -> None:
        started.append(clock.now)

    progress = await run_batch(
        targets(12), apply, status_of=status_of, rps=rps, concurrency=5, clock=clock, sleep=clock.sleep
    )

    assert progress.succeeded == 12
    assert [round(t - 100.0, 9) for t in started] == [round(i / rps, 9) for i in range(12)]


async def test_no_more_than_concurrency_calls_are_in_flight() -> None:
    clock = FakeClock()
    gate = asyncio.Event()
    in_flight = [0]
    most = [0]

    async def apply(target: BatchTarget) -> None:
        in_flight[0] += 1
        most[0] = max(most[0], in_flight[0])
        await gate.wait()
        in_flight[0] -= 1

    batch = asyncio.create_task(
        run_batch(
            targets(10), apply, status_of=status_of, rps=1e6, concurrency=3, clock=clock, sleep=clock.sleep
        )
    )
    for _ in range(50):  # let the batch start all it may
        await asyncio.sleep(0)
    assert in_flight[0] == 3 and not batch.done()

    gate.set()
    progress = await batch
    assert (progress.succeeded, most[0]) == (10, 3)


async def test_closed_runs_are_skipped_and_other_errors_fail_without_stopping_the_batch() -> None:
    clock = FakeClock()
    outcomes = {
        "wf-1": Refused(grpc.StatusCode.FAILED_PRECONDITION),
        "wf-2": Refused(grpc.StatusCode.NOT_FOUND),
        "wf-3": Refused(grpc.StatusCode.UNAVAILABLE),
    }
    seen: list[str] = []

    async def apply(target: BatchTarget) -> None:
        seen.append(target.workflow_id)
        if target.workflow_id in outcomes:
            raise outcomes[target.workflow_id]

    progress = await run_batch(targets(6), apply, status_of=status_of, rps=10, clock=clock, sleep=clock.sleep)

    assert seen == [f"wf-{i}" for i in range(6)]
    assert (progress.succeeded, progress.skipped, progress.failed, progress.done) == (3, 2, 1, 6)
    assert [(f.workflow_id, f.message) for f in progress.failures] == [("wf-3", "UNAVAILABLE")]
