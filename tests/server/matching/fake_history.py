"""A stand-in for the history role, for matching's unit tests.

It answers RecordWorkflowTaskStarted / RecordActivityTaskStarted with a poll
response naming the task, and can be told to treat some workflow ids as stale
(NotFound) or to block until released, to exercise matching's edge cases.
"""

from __future__ import annotations

import asyncio

from legato.api.v1 import workflow_service_pb2
from legato_server.common import errors
from legato_server.internal.v1 import history_service_pb2


class FakeHistory:
    def __init__(self) -> None:
        self.stale: set[str] = set()
        self.started: list[str] = []
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()

    async def RecordWorkflowTaskStarted(
        self, request: history_service_pb2.RecordWorkflowTaskStartedRequest
    ) -> workflow_service_pb2.PollWorkflowTaskQueueResponse:
        await self._enter(request.workflow_execution.workflow_id)
        return workflow_service_pb2.PollWorkflowTaskQueueResponse(
            task_token=f"token/{request.workflow_execution.workflow_id}".encode(),
            workflow_execution=request.workflow_execution,
            started_event_id=request.scheduled_event_id + 1,
        )

    async def RecordActivityTaskStarted(
        self, request: history_service_pb2.RecordActivityTaskStartedRequest
    ) -> workflow_service_pb2.PollActivityTaskQueueResponse:
        await self._enter(request.workflow_execution.workflow_id)
        return workflow_service_pb2.PollActivityTaskQueueResponse(
            task_token=f"token/{request.workflow_execution.workflow_id}".encode(),
            workflow_execution=request.workflow_execution,
            activity_id=str(request.scheduled_event_id),
        )

    async def _enter(self, workflow_id: str) -> None:
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        if workflow_id in self.stale:
            raise errors.NotFound(f"workflow {workflow_id} not found")
        self.started.append(workflow_id)
