"""The sticky cache: a cached run's next task arrives on the sticky queue with only the new events."""

from __future__ import annotations

import asyncio

import pytest

from legato import workflow
from legato.client import Client
from legato.worker import Worker


@workflow.defn
class WaitForSignalsWorkflow:
    def __init__(self) -> None:
        self.received: list[str] = []

    @workflow.run
    async def run(self, expected: int) -> list[str]:
        await workflow.wait_condition(lambda: len(self.received) >= expected)
        return self.received

    @workflow.signal
    def push(self, value: str) -> None:
        self.received.append(value)


async def _tasks_done(worker: Worker, count: int) -> None:
    stats = worker.workflow_stats
    assert stats is not None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while stats.workflow_tasks < count:
        assert loop.time() < deadline, f"only {stats.workflow_tasks} workflow tasks processed"
        await asyncio.sleep(0.02)


async def test_second_task_of_a_cached_run_gets_only_new_events(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with Worker(client, task_queue=task_queue, workflows=[WaitForSignalsWorkflow]) as worker:
        handle = await client.start_workflow(
            WaitForSignalsWorkflow.run, 2, id=workflow_id, task_queue=task_queue
        )
        await _tasks_done(worker, 1)
        stats = worker.workflow_stats
        assert stats is not None
        assert (stats.full_replays, stats.cache_hits) == (1, 0)
        assert stats.last_activation_event_ids[0] == 1  # the first task: the whole (short) history

        await handle.signal(WaitForSignalsWorkflow.push, "a")
        await _tasks_done(worker, 2)
        await handle.signal(WaitForSignalsWorkflow.push, "b")
        assert await handle.result() == ["a", "b"]

    assert stats.full_replays == 1, "a cached run was replayed from scratch"
    assert stats.cache_hits == stats.workflow_tasks - 1 >= 2
    assert stats.sticky_tasks >= 2
    assert stats.last_activation_event_ids[0] > 1  # the last task started after the first event
    assert worker.sticky_queue is not None and worker.sticky_queue.endswith("-sticky")


@pytest.mark.parametrize("cache_size", [0], ids=["cache-off"])
async def test_without_cache_every_task_replays_the_full_history(
    client: Client, task_queue: str, workflow_id: str, cache_size: int
) -> None:
    async with Worker(
        client, task_queue=task_queue, workflows=[WaitForSignalsWorkflow], max_cached_workflows=cache_size
    ) as worker:
        handle = await client.start_workflow(
            WaitForSignalsWorkflow.run, 1, id=workflow_id, task_queue=task_queue
        )
        await _tasks_done(worker, 1)
        await handle.signal(WaitForSignalsWorkflow.push, "x")
        assert await handle.result() == ["x"]
    stats = worker.workflow_stats
    assert stats is not None and worker.sticky_queue is None
    assert stats.full_replays == stats.workflow_tasks >= 2
    assert stats.cache_hits == 0
