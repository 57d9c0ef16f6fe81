"""Small stand-ins for the history role's collaborators: time, matching, namespaces."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from legato.api.v1 import enums_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato_server.common.errors import DeadlineExceeded, FailedPrecondition, NotFound
from legato_server.internal.v1 import matching_service_pb2 as msvc

START_MS = 1_800_000_000_000


class FakeClock:
    """Time that moves only when a test calls ``advance``."""

    def __init__(self, start_ms: int = START_MS) -> None:
        self._now_ms = start_ms
        self._sleepers: list[tuple[int, int, asyncio.Future[None]]] = []
        self._ids = itertools.count()

    def now_ms(self) -> int:
        return self._now_ms

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now_ms + int(seconds * 1000), next(self._ids), future))
        await future

    async def advance(self, seconds: float) -> None:
        self._now_ms += int(seconds * 1000)
        while self._sleepers and self._sleepers[0][0] <= self._now_ms:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)
        # Let the woken queue processors run their (inline, in-memory SQLite) writes.
        for _ in range(20):
            await asyncio.sleep(0)


@dataclass
class FakeMatching:
    """Records what history dispatches; answers queries with a canned result."""

    workflow_tasks: list[msvc.AddWorkflowTaskRequest] = field(default_factory=list)
    activity_tasks: list[msvc.AddActivityTaskRequest] = field(default_factory=list)
    queries: list[msvc.QueryWorkflowRequest] = field(default_factory=list)
    query_result: ws.QueryWorkflowResponse | None = None
    sticky_unanswered: bool = False
    # Reject sticky AddWorkflowTask as real matching does when no worker polls the queue.
    sticky_unpolled: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def AddWorkflowTask(self, request: msvc.AddWorkflowTaskRequest) -> msvc.AddWorkflowTaskResponse:
        if self.sticky_unpolled and request.task_queue.kind == enums_pb2.TASK_QUEUE_KIND_STICKY:
            raise FailedPrecondition(f"sticky worker unavailable: {request.task_queue.name}")
        self.workflow_tasks.append(request)
        self.changed.set()
        return msvc.AddWorkflowTaskResponse()

    async def AddActivityTask(self, request: msvc.AddActivityTaskRequest) -> msvc.AddActivityTaskResponse:
        self.activity_tasks.append(request)
        self.changed.set()
        return msvc.AddActivityTaskResponse()

    async def QueryWorkflow(self, request: msvc.QueryWorkflowRequest) -> ws.QueryWorkflowResponse:
        self.queries.append(request)
        if self.sticky_unanswered and request.task_queue.kind == 2:
            raise DeadlineExceeded("no sticky poller answered")
        return self.query_result or ws.QueryWorkflowResponse()


@dataclass
class Namespace:
    id: str
    name: str
    retention: timedelta = timedelta(days=1)
    deleted: bool = False


class FakeNamespaces:
    def __init__(self, *entries: Namespace) -> None:
        self._by_id = {e.id: e for e in entries}
        self._by_name = {e.name: e for e in entries}

    async def get_by_id(self, id: str) -> Any:
        try:
            return self._by_id[id]
        except KeyError:
            raise NotFound(f"namespace id {id!r} not found") from None

    async def get_by_name(self, name: str) -> Any:
        try:
            return self._by_name[name]
        except KeyError:
            raise NotFound(f"namespace {name!r} not found") from None
