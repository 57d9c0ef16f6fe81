"""What matching moves between history and pollers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from legato.api.v1 import common_pb2, workflow_service_pb2


@dataclass(slots=True, eq=False)
class MatchTask:
    """A workflow or activity task waiting for a poller.

    ``task_id`` is 0 while the task lives only in memory (a sync match in
    flight); a task read from or written to the backlog has its store id and
    must be acknowledged (deleted) once a poller has consumed it.
    """

    namespace_id: str
    execution: common_pb2.WorkflowExecution
    scheduled_event_id: int
    create_time_ms: int
    expiry_time_ms: int = 0  # 0 = never
    task_id: int = 0
    settled: asyncio.Future[None] | None = None
    """For a sync match: resolved once a poller recorded it started, it proved
    stale, or it was persisted after all. ``AddTask`` answers only then, so if
    this host dies while the task exists only in its memory, history's call
    fails and history dispatches the task again."""

    def expired(self, now_ms: int) -> bool:
        return self.expiry_time_ms != 0 and now_ms >= self.expiry_time_ms

    def settle(self) -> None:
        if self.settled is not None and not self.settled.done():
            self.settled.set_result(None)


@dataclass(slots=True, eq=False)
class QueryTask:
    """A query on its way to a poller; never persisted.

    ``response`` is the poll response the worker gets (built by history,
    completed by matching with the query token); ``answer`` resolves when
    the worker calls RespondQueryTaskCompleted.
    """

    query_id: str
    response: workflow_service_pb2.PollWorkflowTaskQueueResponse
    answer: asyncio.Future[workflow_service_pb2.RespondQueryTaskCompletedRequest] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    taken: bool = False


Task = MatchTask | QueryTask
