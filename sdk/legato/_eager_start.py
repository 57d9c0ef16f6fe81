"""Eager workflow start: a run's first workflow task handed back in the start response.

When a client starts a workflow on a task queue that a worker *built on the
same client* polls, and that worker has a free workflow-task slot, the client
reserves the slot and asks the server (``request_eager_execution``) to start
the first workflow task in the same write that creates the run. The task comes
back in the ``StartWorkflowExecution`` response and runs in the reserved slot:
no transfer task, no trip through matching, no poll. Temporal calls this
eager workflow start; it cuts the latency of short workflows and the server's
work per start.

Guarantees and edges:

* opt-in per start (``request_eager_start=True``) and only for a plain start:
  never with a signal-with-start, a start delay or a cron schedule (the server
  ignores the request for those too);
* never waits for a slot: with none free the start goes the normal way;
* a slot reserved for a start the server did not grant (a retried request id,
  an error) is given back at once;
* if the process dies after the start, nothing is lost: the task's
  start-to-close timeout fires on the server and the task is dispatched again
  through matching, to any worker.
"""

from __future__ import annotations

from typing import Protocol

from legato.api.v1 import workflow_service_pb2 as ws


class EagerStartSlots(Protocol):
    """The side of a workflow worker that can take a run's first task from a start response."""

    async def reserve_eager_start(self) -> bool:
        """Take a free slot without waiting; False if none is free or the worker is not polling."""

    def release_eager_start(self) -> None:
        """Give back a slot whose start was not granted."""

    def run_eager_start(self, task: ws.PollWorkflowTaskQueueResponse) -> None:
        """Run the granted task in the reserved slot."""


class EagerStartRegistry:
    """The running workflow workers of one client, by task queue."""

    def __init__(self) -> None:
        self._workers: dict[str, list[EagerStartSlots]] = {}

    def add(self, task_queue: str, worker: EagerStartSlots) -> None:
        self._workers.setdefault(task_queue, []).append(worker)

    def remove(self, task_queue: str, worker: EagerStartSlots) -> None:
        workers = self._workers.get(task_queue, [])
        if worker in workers:
            workers.remove(worker)
        if not workers:
            self._workers.pop(task_queue, None)

    async def reserve(self, task_queue: str) -> EagerStartSlots | None:
        """A worker of ``task_queue`` holding a slot reserved for the start; None if none has one free."""
        for worker in list(self._workers.get(task_queue, ())):
            if await worker.reserve_eager_start():
                return worker
        return None
