"""RequestCancelWorkflowExecution: ask the workflow code to cancel itself.

Cancellation is cooperative: WorkflowExecutionCancelRequested enters history
(buffered if a workflow task is running) and a workflow task is scheduled; the
workflow decides what to clean up and ends with CancelWorkflowExecution. A
second request is accepted and changes nothing. ``child_workflow_only`` (set
when a parent cancels its child) refuses targets that are not the caller's child.
"""

from __future__ import annotations

from legato.api.v1 import common_pb2, enums_pb2, history_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato_server.common.errors import FailedPrecondition
from legato_server.common.limits import quote
from legato_server.history.shards.engine import HistoryEngine
from legato_server.history.workflow.mutable_state import MutableState
from legato_server.internal.v1 import history_service_pb2 as hsvc

ET = enums_pb2.EventType


def check_child_only(ms: MutableState, *, child_only: bool, caller: common_pb2.WorkflowExecution) -> None:
    if not child_only:
        return
    parent = ms.info.parent_execution
    if (
        not ms.info.parent_namespace_id
        or parent.workflow_id != caller.workflow_id
        or (caller.run_id and parent.run_id != caller.run_id)
    ):
        raise FailedPrecondition(
            f"workflow {quote(ms.workflow_id)} is not a child of the calling workflow and child_workflow_only is set"
        )


async def request_cancel_workflow(
    engine: HistoryEngine, request: hsvc.RequestCancelWorkflowExecutionRequest
) -> ws.RequestCancelWorkflowExecutionResponse:
    cr = request.cancel_request
    execution = cr.workflow_execution
    shard = engine.shard(request.namespace_id, execution.workflow_id)
    run_id = await shard.resolve_run_id(request.namespace_id, execution.workflow_id, execution.run_id)

    async def action(ms: MutableState) -> None:
        if not ms.is_running:
            raise FailedPrecondition(
                f"workflow execution {quote(execution.workflow_id)} run {run_id} is already closed"
            )
        check_child_only(
            ms, child_only=request.child_workflow_only, caller=request.external_workflow_execution
        )
        if ms.info.cancel_requested:
            return
        ms.info.cancel_requested = True
        ms.info.cancel_request_id = cr.request_id
        attrs = history_pb2.WorkflowExecutionCancelRequestedEventAttributes(
            cause=cr.reason,
            identity=cr.identity,
            external_initiated_event_id=request.external_initiated_event_id,
        )
        if request.HasField("external_workflow_execution"):
            attrs.external_workflow_execution.CopyFrom(request.external_workflow_execution)
        ms.add_external_event(ms.new_event(ET.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED, attrs))

    await shard.update((request.namespace_id, execution.workflow_id, run_id), action)
    return ws.RequestCancelWorkflowExecutionResponse()
