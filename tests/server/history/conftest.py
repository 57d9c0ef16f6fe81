"""Fixtures: a history service over in-memory SQLite, with fake time, matching and namespaces.

``harness`` plays the parts of matching and a worker: it takes the tasks the
service dispatched (recorded by FakeMatching), calls RecordWorkflowTaskStarted /
RecordActivityTaskStarted as matching would, and answers them.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from legato.api.v1 import command_pb2, common_pb2, enums_pb2, history_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato_server.history import HistoryService, start_history_service
from legato_server.internal.v1 import history_service_pb2 as hsvc
from legato_server.persistence.config import SQLiteConfig
from legato_server.persistence.interface import Persistence
from legato_server.persistence.sqlite import open_sqlite_persistence
from tests.server.history.fakes import FakeClock, FakeMatching, FakeNamespaces, Namespace
from tests.waiting import wait_until

NS_ID = "ns-default-id"
NS = "default"
OTHER_NS_ID = "ns-other-id"
TASK_QUEUE = "tq"
NUM_SHARDS = 4


class Harness:
    def __init__(
        self, service: HistoryService, clock: FakeClock, matching: FakeMatching, persistence: Persistence
    ) -> None:
        self.service = service
        self.handler = service.handler
        self.clock = clock
        self.matching = matching
        self.persistence = persistence
        self._wt_seen = 0
        self._at_seen = 0

    # ---------------------------------------------------------------- client side

    async def start(self, workflow_id: str = "wf", **fields: Any) -> str:
        response = await self.start_raw(workflow_id, **fields)
        return response.run_id

    async def start_raw(self, workflow_id: str = "wf", **fields: Any) -> ws.StartWorkflowExecutionResponse:
        request = ws.StartWorkflowExecutionRequest(
            namespace=NS,
            workflow_id=workflow_id,
            workflow_type=common_pb2.WorkflowType(name="MyWorkflow"),
            task_queue=common_pb2.TaskQueue(name=TASK_QUEUE),
            request_id=fields.pop("request_id", str(uuid.uuid4())),
            **fields,
        )
        return await self.handler.StartWorkflowExecution(
            hsvc.StartWorkflowExecutionRequest(namespace_id=NS_ID, start_request=request)
        )

    async def signal(
        self, workflow_id: str, name: str = "sig", *, request_id: str = "", run_id: str = ""
    ) -> None:
        await self.handler.SignalWorkflowExecution(
            hsvc.SignalWorkflowExecutionRequest(
                namespace_id=NS_ID,
                signal_request=ws.SignalWorkflowExecutionRequest(
                    namespace=NS,
                    workflow_execution=common_pb2.WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
                    signal_name=name,
                    request_id=request_id,
                ),
            )
        )

    async def history(self, workflow_id: str, run_id: str = "") -> list[history_pb2.HistoryEvent]:
        response = await self.handler.GetWorkflowExecutionHistory(
            hsvc.GetWorkflowExecutionHistoryRequest(
                namespace_id=NS_ID,
                request=ws.GetWorkflowExecutionHistoryRequest(
                    namespace=NS,
                    execution=common_pb2.WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
                ),
            )
        )
        return list(response.history.events)

    async def event_types(self, workflow_id: str, run_id: str = "") -> list[str]:
        return [enums_pb2.EventType.Name(e.event_type)[11:] for e in await self.history(workflow_id, run_id)]

    async def describe(self, workflow_id: str, run_id: str = "") -> ws.DescribeWorkflowExecutionResponse:
        return await self.handler.DescribeWorkflowExecution(
            hsvc.DescribeWorkflowExecutionRequest(
                namespace_id=NS_ID,
                request=ws.DescribeWorkflowExecutionRequest(
                    namespace=NS,
                    execution=common_pb2.WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
                ),
            )
        )

    # ---------------------------------------------------------------- matching + worker side

    async def next_workflow_task_dispatch(self, workflow_id: str) -> Any:
        def find() -> Any:
            for index in range(self._wt_seen, len(self.matching.workflow_tasks)):
                task = self.matching.workflow_tasks[index]
                if task.execution.workflow_id == workflow_id:
                    self._wt_seen = index + 1
                    return task
            return None

        return await wait_until(find, what=f"a workflow task for {workflow_id}")

    async def poll_workflow_task(
        self, workflow_id: str = "wf", *, request_id: str = ""
    ) -> ws.PollWorkflowTaskQueueResponse:
        dispatch = await self.next_workflow_task_dispatch(workflow_id)
        return await self.record_workflow_task_started(dispatch, request_id=request_id)

    async def record_workflow_task_started(
        self, dispatch: Any, *, request_id: str = ""
    ) -> ws.PollWorkflowTaskQueueResponse:
        return await self.handler.RecordWorkflowTaskStarted(
            hsvc.RecordWorkflowTaskStartedRequest(
                namespace_id=dispatch.namespace_id,
                workflow_execution=dispatch.execution,
                scheduled_event_id=dispatch.scheduled_event_id,
                request_id=request_id or str(uuid.uuid4()),
                poll_request=ws.PollWorkflowTaskQueueRequest(
                    namespace=NS, task_queue=dispatch.task_queue, identity="worker-1"
                ),
            )
        )

    async def complete_workflow_task(
        self, task: ws.PollWorkflowTaskQueueResponse, *commands: command_pb2.Command, **fields: Any
    ) -> ws.RespondWorkflowTaskCompletedResponse:
        return await self.handler.RespondWorkflowTaskCompleted(
            hsvc.RespondWorkflowTaskCompletedRequest(
                namespace_id=NS_ID,
                complete_request=ws.RespondWorkflowTaskCompletedRequest(
                    task_token=task.task_token,
                    commands=list(commands),
                    identity="worker-1",
                    namespace=NS,
                    **fields,
                ),
            )
        )

    async def fail_workflow_task(self, task: ws.PollWorkflowTaskQueueResponse) -> None:
        await self.handler.RespondWorkflowTaskFailed(
            hsvc.RespondWorkflowTaskFailedRequest(
                namespace_id=NS_ID,
                failed_request=ws.RespondWorkflowTaskFailedRequest(
                    task_token=task.task_token,
                    cause=enums_pb2.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
                    failure=common_pb2.Failure(message="boom"),
                    identity="worker-1",
                ),
            )
        )

    async def next_activity_dispatch(self, workflow_id: str = "wf") -> Any:
        def find() -> Any:
            for index in range(self._at_seen, len(self.matching.activity_tasks)):
                task = self.matching.activity_tasks[index]
                if task.execution.workflow_id == workflow_id:
                    self._at_seen = index + 1
                    return task
            return None

        return await wait_until(find, what=f"an activity task for {workflow_id}")

    async def poll_activity_task(
        self, workflow_id: str = "wf", *, request_id: str = ""
    ) -> ws.PollActivityTaskQueueResponse:
        dispatch = await self.next_activity_dispatch(workflow_id)
        return await self.handler.RecordActivityTaskStarted(
            hsvc.RecordActivityTaskStartedRequest(
                namespace_id=dispatch.namespace_id,
                workflow_execution=dispatch.execution,
                scheduled_event_id=dispatch.scheduled_event_id,
                request_id=request_id or str(uuid.uuid4()),
                poll_request=ws.PollActivityTaskQueueRequest(
                    namespace=NS, task_queue=dispatch.task_queue, identity="worker-1"
                ),
            )
        )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def matching() -> FakeMatching:
    return FakeMatching()


@pytest.fixture
def namespaces() -> FakeNamespaces:
    return FakeNamespaces(Namespace(NS_ID, NS), Namespace(OTHER_NS_ID, "other"))


@pytest.fixture
async def persistence() -> AsyncIterator[Persistence]:
    store = await open_sqlite_persistence(SQLiteConfig(path=None))
    try:
        yield store
    finally:
        await store.close()


async def make_service(
    persistence: Persistence,
    clock: FakeClock,
    matching: FakeMatching,
    namespaces: FakeNamespaces,
    **kwargs: Any,
) -> HistoryService:
    return await start_history_service(
        persistence=persistence,
        matching_client=matching,
        namespace_registry=namespaces,
        host_identity=kwargs.pop("host_identity", "host-a"),
        num_history_shards=NUM_SHARDS,
        clock=clock,
        **kwargs,
    )


@pytest.fixture
async def service(
    persistence: Persistence, clock: FakeClock, matching: FakeMatching, namespaces: FakeNamespaces
) -> AsyncIterator[HistoryService]:
    svc = await make_service(persistence, clock, matching, namespaces)
    try:
        yield svc
    finally:
        await svc.stop()


@pytest.fixture
def harness(
    service: HistoryService, clock: FakeClock, matching: FakeMatching, persistence: Persistence
) -> Harness:
    return Harness(service, clock, matching, persistence)
