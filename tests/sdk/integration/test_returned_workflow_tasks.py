"""Events that arrive while a workflow task runs come back with its completion.

The worker completes every workflow task with ``return_new_workflow_task``;
when a signal (or any event) arrived while the task ran, the server starts the
next task in the same update and returns it, and the worker processes it at
once, in the same slot, instead of waiting for it on the sticky queue.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from legato import activity, workflow
from legato.client import Client
from legato.worker import Worker

running: dict[str, asyncio.Event] = {}
released: dict[str, asyncio.Event] = {}


@activity.defn
async def hold(key: str) -> str:
    """Runs inside the first workflow task until the test has sent its signal."""
    running[key].set()
    await released[key].wait()
    return key


@workflow.defn
class SignalledWhileBusy:
    def __init__(self) -> None:
        self.greetings: list[str] = []

    @workflow.run
    async def run(self, key: str) -> list[str]:
        await workflow.execute_local_activity(hold, key, start_to_close_timeout=timedelta(seconds=10))
        await workflow.wait_condition(lambda: bool(self.greetings))
        return self.greetings

    @workflow.signal
    def greet(self, text: str) -> None:
        self.greetings.append(text)


async def test_a_signal_sent_while_the_task_runs_is_handled_by_the_task_its_completion_returns(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    running[workflow_id], released[workflow_id] = asyncio.Event(), asyncio.Event()
    worker = Worker(client, task_queue=task_queue, workflows=[SignalledWhileBusy], activities=[hold])
    async with worker:
        handle = await client.start_workflow(
            SignalledWhileBusy.run, workflow_id, id=workflow_id, task_queue=task_queue
        )
        await asyncio.wait_for(running[workflow_id].wait(), 10)
        await handle.signal(SignalledWhileBusy.greet, "hello")
        released[workflow_id].set()
        assert await asyncio.wait_for(handle.result(), 20) == ["hello"]

    stats = worker.workflow_stats
    assert stats is not None
    assert (stats.workflow_tasks, stats.returned_workflow_tasks, stats.sticky_tasks) == (2, 1, 0)
    history = await handle.fetch_history()
    started = [e for e in history.events if e.HasField("workflow_task_started_event_attributes")]
    assert len(started) == 2
    signalled = next(e for e in history.events if e.HasField("workflow_execution_signaled_event_attributes"))
    # The signal was buffered while the first task ran and written right after its completion.
    assert started[0].event_id < signalled.event_id < started[1].event_id
