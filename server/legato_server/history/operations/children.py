"""Child workflows and cross-workflow calls: the parent's side.

Starting a child is a transfer task of the parent: it starts the child through
the history client (the child may live on another shard or host) with a
request id fixed at command time, so a retried task never starts two children,
then records ChildWorkflowExecutionStarted (or StartChildWorkflowExecutionFailed)
in the parent. When the child's last run closes, its close transfer task calls
``RecordChildExecutionCompleted`` on the parent, which writes the matching
ChildWorkflowExecution* event. If that arrives before the parent recorded the
start (a very fast child), the start is recorded first.

Signal-external and request-cancel-external work the same way and end in
ExternalWorkflowExecutionSignaled / ExternalWorkflowExecutionCancelRequested or
the *Failed event with cause EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from google.protobuf.message import Message

from legato.api.v1 import common_pb2, enums_pb2, history_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato_server.common.errors import FailedPrecondition, InvalidArgument, NotFound, WorkflowAlreadyStarted
from legato_server.history.operations.history_read import read_run_events
from legato_server.history.shards.engine import HistoryEngine
from legato_server.history.shards.shard import Shard
from legato_server.history.workflow import events as ev
from legato_server.history.workflow.mutable_state import MutableState
from legato_server.internal.v1 import history_service_pb2 as hsvc
from legato_server.internal.v1 import history_state_pb2 as hs

ET = enums_pb2.EventType
NOT_FOUND_CAUSE = "EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND"


async def _initiated_event(shard: Shard, task: hs.TransferTaskInfo) -> history_pb2.HistoryEvent | None:
    events = await read_run_events(
        shard, (task.namespace_id, task.workflow_id, task.run_id), task.event_id, task.event_id + 1
    )
    return events[0] if events else None


# ---------------------------------------------------------------- start child


async def start_child(engine: HistoryEngine, shard: Shard, task: hs.TransferTaskInfo) -> None:
    key = (task.namespace_id, task.workflow_id, task.run_id)

    def pending(ms: MutableState) -> hs.ChildExecutionInfo | None:
        child = ms.state.children.get(task.event_id)
        if not ms.is_running or child is None or child.started_event_id:
            return None
        return hs.ChildExecutionInfo.FromString(child.SerializeToString())

    child = await shard.read(key, pending)
    if child is None:
        return
    initiated = await _initiated_event(shard, task)
    if initiated is None:
        return
    attrs = initiated.start_child_workflow_execution_initiated_event_attributes
    start = ws.StartWorkflowExecutionRequest(
        namespace=attrs.namespace,
        workflow_id=attrs.workflow_id,
        workflow_type=attrs.workflow_type,
        task_queue=attrs.task_queue,
        input=attrs.input,
        workflow_execution_timeout=attrs.workflow_execution_timeout,
        workflow_run_timeout=attrs.workflow_run_timeout,
        workflow_task_timeout=attrs.workflow_task_timeout,
        request_id=child.create_request_id,
        workflow_id_reuse_policy=attrs.workflow_id_reuse_policy,
        cron_schedule=attrs.cron_schedule,
        memo=attrs.memo,
        search_attributes=attrs.search_attributes,
        header=attrs.header,
    )
    if attrs.HasField("retry_policy"):
        start.retry_policy.CopyFrom(attrs.retry_policy)
    parent_namespace = await engine.namespace_name(task.namespace_id)
    request = hsvc.StartWorkflowExecutionRequest(
        namespace_id=child.namespace_id,
        start_request=start,
        parent_execution_info=hsvc.ParentExecutionInfo(
            namespace_id=task.namespace_id,
            namespace=parent_namespace,
            execution=common_pb2.WorkflowExecution(workflow_id=task.workflow_id, run_id=task.run_id),
            initiated_event_id=task.event_id,
        ),
    )
    failure_cause = ""
    run_id = ""
    try:
        response = await engine.history_client.StartWorkflowExecution(request)
        run_id = response.run_id
    except WorkflowAlreadyStarted:
        failure_cause = "WORKFLOW_ALREADY_EXISTS"
    except NotFound:
        failure_cause = "NAMESPACE_NOT_FOUND"
    except InvalidArgument:
        failure_cause = "INVALID_ARGUMENT"

    async def record(ms: MutableState) -> None:
        info = ms.state.children.get(task.event_id)
        if not ms.is_running or info is None or info.started_event_id:
            return
        if failure_cause:
            del ms.state.children[task.event_id]
            ms.add_external_event(
                ms.new_event(
                    ET.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED,
                    history_pb2.StartChildWorkflowExecutionFailedEventAttributes(
                        namespace=attrs.namespace,
                        workflow_id=attrs.workflow_id,
                        workflow_type=attrs.workflow_type,
                        cause=failure_cause,
                        initiated_event_id=task.event_id,
                        workflow_task_completed_event_id=attrs.workflow_task_completed_event_id,
                    ),
                )
            )
            return
        _record_child_started(ms, info, run_id=run_id, header=attrs.header)

    await shard.update(key, record)


def _record_child_started(
    ms: MutableState, info: hs.ChildExecutionInfo, *, run_id: str, header: common_pb2.Header | None = None
) -> None:
    event = ms.add_external_event(
        ms.new_event(
            ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED,
            history_pb2.ChildWorkflowExecutionStartedEventAttributes(
                namespace=info.namespace,
                initiated_event_id=info.initiated_event_id,
                workflow_execution=common_pb2.WorkflowExecution(workflow_id=info.workflow_id, run_id=run_id),
                workflow_type=common_pb2.WorkflowType(name=info.workflow_type_name),
                header=header,
            ),
        )
    )
    info.run_id = run_id
    info.started_event_id = event.event_id or ev.PENDING_EVENT_ID


# ---------------------------------------------------------------- child completion (parent side)


async def record_child_completed(
    engine: HistoryEngine, request: hsvc.RecordChildExecutionCompletedRequest
) -> hsvc.RecordChildExecutionCompletedResponse:
    parent = request.parent_execution
    shard = engine.shard(request.namespace_id, parent.workflow_id)
    close = request.completion_event

    async def action(ms: MutableState) -> None:
        info = ms.state.children.get(request.parent_initiated_event_id) if ms.is_running else None
        if info is None:
            return  # the parent closed, or this was recorded already
        if info.workflow_id != request.child_execution.workflow_id:
            return
        if not info.started_event_id:
            _record_child_started(ms, info, run_id=request.child_execution.run_id)
        common = {
            "namespace": info.namespace,
            "workflow_execution": request.child_execution,
            "workflow_type": common_pb2.WorkflowType(name=info.workflow_type_name),
            "initiated_event_id": info.initiated_event_id,
            "started_event_id": info.started_event_id,
        }
        et = close.event_type
        if et == ET.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            event_type = ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED
            attrs: object = history_pb2.ChildWorkflowExecutionCompletedEventAttributes(
                result=close.workflow_execution_completed_event_attributes.result, **common
            )
        elif et == ET.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
            event_type = ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED
            failed = close.workflow_execution_failed_event_attributes
            attrs = history_pb2.ChildWorkflowExecutionFailedEventAttributes(
                failure=failed.failure, retry_state=failed.retry_state, **common
            )
        elif et == ET.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
            event_type = ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED
            attrs = history_pb2.ChildWorkflowExecutionCanceledEventAttributes(
                details=close.workflow_execution_canceled_event_attributes.details, **common
            )
        elif et == ET.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
            event_type = ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT
            attrs = history_pb2.ChildWorkflowExecutionTimedOutEventAttributes(
                retry_state=close.workflow_execution_timed_out_event_attributes.retry_state, **common
            )
        else:
            event_type = ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED
            attrs = history_pb2.ChildWorkflowExecutionTerminatedEventAttributes(**common)
        del ms.state.children[info.initiated_event_id]
        ms.add_external_event(ms.new_event(event_type, attrs))

    await shard.update((request.namespace_id, parent.workflow_id, parent.run_id), action)
    return hsvc.RecordChildExecutionCompletedResponse()


# ---------------------------------------------------------------- signal / cancel external


async def _deliver_external(
    shard: Shard,
    task: hs.TransferTaskInfo,
    *,
    pending: Callable[[MutableState], MutableMapping[int, Any]],
    initiated_attributes: str,
    deliver: Callable[[Any, str], Awaitable[None]],
    delivered: tuple[enums_pb2.EventType, type[Message]],
    failed: tuple[enums_pb2.EventType, type[Message]],
) -> None:
    """Carry one signal-external or request-cancel-external to its target, then record the outcome.

    ``pending`` picks the run's map of outstanding requests (keyed by initiated
    event id); ``deliver(attrs, request_id)`` makes the call, where a missing
    target (NotFound/FailedPrecondition) records the ``failed`` event instead
    of the ``delivered`` one. The request id makes a replayed task harmless.
    """
    key = (task.namespace_id, task.workflow_id, task.run_id)
    request_id = await shard.read(
        key,
        lambda ms: (
            pending(ms)[task.event_id].request_id if ms.is_running and task.event_id in pending(ms) else None
        ),
    )
    if request_id is None:
        return
    initiated = await _initiated_event(shard, task)
    if initiated is None:
        return
    attrs = getattr(initiated, initiated_attributes)
    ok = True
    try:
        await deliver(attrs, request_id)
    except (NotFound, FailedPrecondition):
        ok = False

    async def record(ms: MutableState) -> None:
        requests = pending(ms)
        if not ms.is_running or task.event_id not in requests:
            return
        del requests[task.event_id]
        common = {"namespace": attrs.namespace, "workflow_execution": attrs.workflow_execution}
        if ok:
            event_type, attributes_type = delivered
            outcome = attributes_type(initiated_event_id=task.event_id, **common)
        else:
            event_type, attributes_type = failed
            outcome = attributes_type(
                cause=NOT_FOUND_CAUSE,
                workflow_task_completed_event_id=attrs.workflow_task_completed_event_id,
                initiated_event_id=task.event_id,
                **common,
            )
        ms.add_external_event(ms.new_event(event_type, outcome))

    await shard.update(key, record)


def _caller(task: hs.TransferTaskInfo) -> common_pb2.WorkflowExecution:
    return common_pb2.WorkflowExecution(workflow_id=task.workflow_id, run_id=task.run_id)


async def signal_external(engine: HistoryEngine, shard: Shard, task: hs.TransferTaskInfo) -> None:
    async def deliver(attrs: Any, request_id: str) -> None:
        target_namespace_id = (await engine.namespaces.get_by_name(attrs.namespace)).id
        await engine.history_client.SignalWorkflowExecution(
            hsvc.SignalWorkflowExecutionRequest(
                namespace_id=target_namespace_id,
                signal_request=ws.SignalWorkflowExecutionRequest(
                    namespace=attrs.namespace,
                    workflow_execution=attrs.workflow_execution,
                    signal_name=attrs.signal_name,
                    input=attrs.input,
                    request_id=request_id,
                    header=attrs.header,
                    identity=f"workflow {task.workflow_id}",
                ),
                external_workflow_execution=_caller(task),
                child_workflow_only=attrs.child_workflow_only,
            )
        )

    await _deliver_external(
        shard,
        task,
        pending=lambda ms: ms.state.signals,
        initiated_attributes="signal_external_workflow_execution_initiated_event_attributes",
        deliver=deliver,
        delivered=(
            ET.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED,
            history_pb2.ExternalWorkflowExecutionSignaledEventAttributes,
        ),
        failed=(
            ET.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
            history_pb2.SignalExternalWorkflowExecutionFailedEventAttributes,
        ),
    )


async def cancel_external(engine: HistoryEngine, shard: Shard, task: hs.TransferTaskInfo) -> None:
    async def deliver(attrs: Any, request_id: str) -> None:
        target_namespace_id = (await engine.namespaces.get_by_name(attrs.namespace)).id
        await engine.history_client.RequestCancelWorkflowExecution(
            hsvc.RequestCancelWorkflowExecutionRequest(
                namespace_id=target_namespace_id,
                cancel_request=ws.RequestCancelWorkflowExecutionRequest(
                    namespace=attrs.namespace,
                    workflow_execution=attrs.workflow_execution,
                    identity=f"workflow {task.workflow_id}",
                    request_id=request_id,
                    reason=attrs.reason,
                ),
                external_initiated_event_id=task.event_id,
                external_workflow_execution=_caller(task),
                child_workflow_only=attrs.child_workflow_only,
            )
        )

    await _deliver_external(
        shard,
        task,
        pending=lambda ms: ms.state.request_cancels,
        initiated_attributes="request_cancel_external_workflow_execution_initiated_event_attributes",
        deliver=deliver,
        delivered=(
            ET.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
            history_pb2.ExternalWorkflowExecutionCancelRequestedEventAttributes,
        ),
        failed=(
            ET.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
            history_pb2.RequestCancelExternalWorkflowExecutionFailedEventAttributes,
        ),
    )
