"""PollerScaler and the poll loop's scaling, driven by scripted poll responses (one function under test)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from legato._worker_shared import PollerScaler, poll_loop
from legato.client import Client
from legato.worker import Worker


def test_grows_one_per_backlogged_task_up_to_the_limit_and_shrinks_to_the_base() -> None:
    scaler = PollerScaler(base=2, limit=4)
    scaler.started()
    scaler.started()
    assert not scaler.should_grow(0)  # no backlog: enough polls
    assert [scaler.should_grow(5) for _ in range(3)] == [True, True, False]
    assert (scaler.running, scaler.peak) == (4, 4)
    assert [scaler.should_stop() for _ in range(3)] == [True, True, False]
    assert scaler.running == 2


def test_a_limit_below_the_base_means_no_scaling() -> None:
    scaler = PollerScaler(base=3, limit=1)
    for _ in range(3):
        scaler.started()
    assert not scaler.should_grow(10)
    assert not scaler.should_stop()


async def test_the_loop_spawns_on_a_backlog_hint_and_an_extra_poller_leaves_on_an_empty_poll() -> None:
    script = [
        SimpleNamespace(token=b"t1", hint=3),  # backlog: one more poller
        SimpleNamespace(token=b"", hint=0),  # empty: that extra one may go
    ]
    handled: list[Any] = []
    spawned = 0
    scaler = PollerScaler(base=1, limit=3)
    scaler.started()

    async def poll() -> Any:
        if script:
            return script.pop(0)
        await asyncio.Event().wait()  # later polls wait, as long polls do

    async def handle(task: Any) -> None:
        handled.append(task.token)

    def spawn() -> None:
        nonlocal spawned
        spawned += 1

    loop = asyncio.create_task(
        poll_loop(
            name="p",
            slots=asyncio.Semaphore(5),
            poll=poll,
            has_task=lambda r: bool(r.token),
            handle=handle,
            in_flight=set(),
            scaler=scaler,
            backlog_hint=lambda r: r.hint,
            spawn=spawn,
        )
    )
    # The empty poll found two pollers counted (base 1): this one stops, ending its loop.
    await asyncio.wait_for(loop, 5)
    assert (spawned, scaler.running, scaler.peak, handled) == (1, 1, 2, [b"t1"])


def test_max_workflow_pollers_below_workflow_pollers_is_refused() -> None:
    client = Client.__new__(Client)
    with pytest.raises(
        ValueError, match=r"max_workflow_pollers \(2\) must be at least workflow_pollers \(5\)"
    ):
        Worker(client, task_queue="q", workflows=[object], max_workflow_pollers=2)
