"""The benchmark workflows, their activities, and how the client drives each one.

This module and ``bench.runner`` are the only parts of the harness that import
the SDK; when the SDK's API moves, adapt here. Every workflow returns a value
the driver checks, so a run that "completes" with wrong answers counts its
wrong answers as errors instead of publishing a throughput figure for them.

Workloads (sizes and meaning in ``bench.specs``, background in
``docs/benchmark.md``):

* hello  — one activity returning ``f"Hello, {name}!"``;
* local  — hello with a local activity: run by the workflow's worker inside the
  workflow task, recorded as a marker (no activity task through the server);
* chain  — ``CHAIN_LENGTH`` activities one after another, each adding one;
* signal — waits until a signal arrives and returns its value; the client
  starts, signals, then waits for the result;
* timer  — a durable 1 s sleep; the harness reports how late it fired;
* fanout — ``FANOUT_WIDTH`` activities started at once and gathered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from bench.specs import CHAIN_LENGTH, FANOUT_WIDTH, TIMER_SECONDS
from legato import activity, workflow

# Generous: under a C=50 backlog an activity may wait long to be picked up, but
# once started it is instant. The benchmark should never measure a retry.
ACTIVITY_TIMEOUT = timedelta(seconds=60)


class UnexpectedResultError(AssertionError):
    """A workflow completed with the wrong answer."""


@activity.defn
async def say_hello(name: str) -> str:
    return f"Hello, {name}!"


@activity.defn
async def add_one(value: int) -> int:
    return value + 1


@workflow.defn
class HelloWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(say_hello, name, start_to_close_timeout=ACTIVITY_TIMEOUT)


@workflow.defn
class LocalHelloWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_local_activity(say_hello, name, start_to_close_timeout=ACTIVITY_TIMEOUT)


@workflow.defn
class ChainWorkflow:
    @workflow.run
    async def run(self, length: int) -> int:
        value = 0
        for _ in range(length):
            value = await workflow.execute_activity(add_one, value, start_to_close_timeout=ACTIVITY_TIMEOUT)
        return value


@workflow.defn
class SignalWorkflow:
    def __init__(self) -> None:
        self.value: str | None = None

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.value is not None)
        assert self.value is not None
        return self.value

    @workflow.signal
    def deliver(self, value: str) -> None:
        self.value = value


@workflow.defn
class TimerWorkflow:
    @workflow.run
    async def run(self, seconds: float) -> float:
        await asyncio.sleep(seconds)  # a durable timer inside a workflow
        return seconds


@workflow.defn
class FanoutWorkflow:
    @workflow.run
    async def run(self, width: int) -> int:
        results = await asyncio.gather(
            *(
                workflow.execute_activity(add_one, index, start_to_close_timeout=ACTIVITY_TIMEOUT)
                for index in range(width)
            )
        )
        return sum(results)


WORKFLOWS: list[type] = [
    HelloWorkflow,
    LocalHelloWorkflow,
    ChainWorkflow,
    SignalWorkflow,
    TimerWorkflow,
    FanoutWorkflow,
]
ACTIVITIES: list[Callable[..., Any]] = [say_hello, add_one]


def _expect(actual: Any, expected: Any) -> None:
    if actual != expected:
        raise UnexpectedResultError(f"expected {expected!r}, got {actual!r}")


async def drive_hello(client: Any, *, index: int, workflow_id: str, task_queue: str, **start: Any) -> None:
    name = f"bench-{index}"
    handle = await client.start_workflow(
        HelloWorkflow.run, name, id=workflow_id, task_queue=task_queue, **start
    )
    _expect(await handle.result(), f"Hello, {name}!")


async def drive_local(client: Any, *, index: int, workflow_id: str, task_queue: str, **start: Any) -> None:
    name = f"bench-{index}"
    handle = await client.start_workflow(
        LocalHelloWorkflow.run, name, id=workflow_id, task_queue=task_queue, **start
    )
    _expect(await handle.result(), f"Hello, {name}!")


async def drive_chain(client: Any, *, index: int, workflow_id: str, task_queue: str, **start: Any) -> None:
    handle = await client.start_workflow(
        ChainWorkflow.run, CHAIN_LENGTH, id=workflow_id, task_queue=task_queue, **start
    )
    _expect(await handle.result(), CHAIN_LENGTH)


async def drive_signal(client: Any, *, index: int, workflow_id: str, task_queue: str, **start: Any) -> None:
    value = f"signal-{index}"
    handle = await client.start_workflow(SignalWorkflow.run, id=workflow_id, task_queue=task_queue, **start)
    await handle.signal(SignalWorkflow.deliver, value)
    _expect(await handle.result(), value)


async def drive_timer(client: Any, *, index: int, workflow_id: str, task_queue: str, **start: Any) -> None:
    handle = await client.start_workflow(
        TimerWorkflow.run, TIMER_SECONDS, id=workflow_id, task_queue=task_queue, **start
    )
    _expect(await handle.result(), TIMER_SECONDS)


async def drive_fanout(client: Any, *, index: int, workflow_id: str, task_queue: str, **start: Any) -> None:
    handle = await client.start_workflow(
        FanoutWorkflow.run, FANOUT_WIDTH, id=workflow_id, task_queue=task_queue, **start
    )
    _expect(await handle.result(), sum(range(1, FANOUT_WIDTH + 1)))


async def timer_fire_delays_s(client: Any, workflow_ids: list[str]) -> list[float]:
    """How late each run's timer fired: TimerFired's time minus TimerStarted's time plus its duration.

    Read from the histories after the load (not timed), so the figure isolates
    the server's timer queue from the workflow tasks around it, which the
    workload's end-to-end lateness also contains.
    """
    from legato.api.v1 import enums_pb2

    semaphore = asyncio.Semaphore(20)

    async def delay(workflow_id: str) -> float | None:
        async with semaphore:
            history = await client.get_workflow_handle(workflow_id).fetch_history()
        due_s = fired_s = None
        for event in history.events:
            if event.event_type == enums_pb2.EVENT_TYPE_TIMER_STARTED:
                attrs = event.timer_started_event_attributes
                due_s = (
                    event.event_time.ToNanoseconds() / 1e9 + attrs.start_to_fire_timeout.ToNanoseconds() / 1e9
                )
            elif event.event_type == enums_pb2.EVENT_TYPE_TIMER_FIRED:
                fired_s = event.event_time.ToNanoseconds() / 1e9
        return fired_s - due_s if due_s is not None and fired_s is not None else None

    delays = await asyncio.gather(*(delay(workflow_id) for workflow_id in workflow_ids))
    return [d for d in delays if d is not None]


Driver = Callable[..., Awaitable[None]]

DRIVERS: dict[str, Driver] = {
    "hello": drive_hello,
    "local": drive_local,
    "chain": drive_chain,
    "signal": drive_signal,
    "timer": drive_timer,
    "fanout": drive_fanout,
}
