"""TerminateWorkflowExecution: close a run at once, whatever it is doing.

Unlike cancellation, the workflow code is not consulted: events buffered for a
running workflow task are flushed, then WorkflowExecutionTerminated closes the
run. A task still in a worker's hands becomes stale and its answer is refused.
"""

from __future__ import annotations

from legato.api.v1 import common_pb2, enums_pb2, history_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato_server.common.errors import FailedPrecondition
from legato_server.common.limits import quote
from legato_server.history.shards.engine import HistoryEngine
from legato_server.history.workflow.mutable_state import MutableState
from legato_server.history.workflow.workflow_run import close_run
from legato_server.internal.v1 import history_service_pb2 as hsvc

ET = enums_pb2.EventType


async def terminate_workflow(
    engine: HistoryEngine, request: hsvc.TerminateWorkflowExecutionRequest
) -> ws.TerminateWorkflowExecutionResponse:
    tr = request.terminate_request
    await terminate_run(
        engine,
        namespace_id=request.namespace_id,
        workflow_id=tr.workflow_execution.workflow_id,
        run_id=tr.workflow_execution.run_id,
        reason=tr.reason,
        identity=tr.identity,
        details=tr.details if tr.HasField("details") else None,
    )
    return ws.TerminateWorkflowExecutionResponse()


async def terminate_run(
    engine: HistoryEngine,
    *,
    namespace_id: str,
    workflow_id: str,
    run_id: str,
    reason: str,
    identity: str,
    details: common_pb2.Payloads | None,
) -> None:
    shard = engine.shard(namespace_id, workflow_id)
    run_id = await shard.resolve_run_id(namespace_id, workflow_id, run_id)
    retention_ms = await engine.retention_ms(namespace_id)

    async def action(ms: MutableState) -> None:
        if not ms.is_running:
            raise FailedPrecondition(
                f"workflow execution {quote(workflow_id)} run {run_id} is already closed"
            )
        attrs = history_pb2.WorkflowExecutionTerminatedEventAttributes(reason=reason, identity=identity)
        if details is not None:
            attrs.details.CopyFrom(details)
        close_run(
            ms,
            ET.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
            attrs,
            status=enums_pb2.WORKFLOW_EXECUTION_STATUS_TERMINATED,
            retention_ms=retention_ms,
        )

    await shard.update((namespace_id, workflow_id, run_id), action)
