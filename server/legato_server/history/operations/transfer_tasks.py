"""What each transfer task does: dispatch, visibility, close-time duties, cross-workflow calls.

Each executor reads the run's current mutable state and skips work that is no
longer wanted (a workflow task already started or superseded, an activity
already done), so replaying a task after a crash is harmless. Dispatches to
matching happen outside the run's lock: a slow matching call delays only that
task, never other writes of the run.
"""

from __future__ import annotations

import logging

from legato.api.v1 import enums_pb2, history_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato_server.common import tracing
from legato_server.common.errors import FailedPrecondition, NotFound
from legato_server.history.operations import children
from legato_server.history.operations.history_read import read_run_events
from legato_server.history.shards.engine import HistoryEngine
from legato_server.history.shards.shard import Shard
from legato_server.history.workflow import events as ev
from legato_server.history.workflow.mutable_state import MutableState
from legato_server.internal.v1 import history_service_pb2 as hsvc
from legato_server.internal.v1 import history_state_pb2 as hs
from legato_server.internal.v1 import matching_service_pb2 as msvc
from legato_server.persistence.interface import VisibilityRecord

log = logging.getLogger(__name__)
STATUS = enums_pb2.WorkflowExecutionStatus
PCP = enums_pb2.ParentClosePolicy


async def execute_transfer_task(engine: HistoryEngine, shard: Shard, task: hs.TransferTaskInfo) -> None:
    kind = task.task_type
    if kind == hs.TRANSFER_TASK_TYPE_WORKFLOW_TASK:
        await _dispatch_workflow_task(engine, shard, task)
    elif kind == hs.TRANSFER_TASK_TYPE_ACTIVITY_TASK:
        await _dispatch_activity_task(engine, shard, task)
    elif kind in (hs.TRANSFER_TASK_TYPE_RECORD_STARTED, hs.TRANSFER_TASK_TYPE_UPSERT_VISIBILITY):
        await _upsert_visibility(shard, task)
    elif kind == hs.TRANSFER_TASK_TYPE_CLOSE_EXECUTION:
        await _close_execution(engine, shard, task)
    elif kind == hs.TRANSFER_TASK_TYPE_START_CHILD:
        await children.start_child(engine, shard, task)
    elif kind == hs.TRANSFER_TASK_TYPE_SIGNAL_EXTERNAL:
        await children.signal_external(engine, shard, task)
    elif kind == hs.TRANSFER_TASK_TYPE_CANCEL_EXTERNAL:
        await children.cancel_external(engine, shard, task)
    else:
        log.warning("unknown transfer task type %s; dropped", kind)


def _key(task: hs.TransferTaskInfo) -> tuple[str, str, str]:
    return (task.namespace_id, task.workflow_id, task.run_id)


async def _dispatch_workflow_task(engine: HistoryEngine, shard: Shard, task: hs.TransferTaskInfo) -> None:
    def wanted(ms: MutableState) -> bool:
        wt = ms.wt
        return ms.is_running and wt.scheduled_event_id == task.event_id and not wt.started_event_id

    if not await shard.read(_key(task), wanted):
        return
    try:
        await engine.matching.AddWorkflowTask(
            msvc.AddWorkflowTaskRequest(
                namespace_id=task.namespace_id,
                execution={"workflow_id": task.workflow_id, "run_id": task.run_id},
                task_queue=task.task_queue,
                scheduled_event_id=task.event_id,
                schedule_to_start_timeout=task.schedule_to_start_timeout
                if task.HasField("schedule_to_start_timeout")
                else None,
            )
        )
    except FailedPrecondition:
        if task.task_queue.kind != enums_pb2.TASK_QUEUE_KIND_STICKY:
            raise

        # Matching knows no worker polls that sticky queue any more: do now what
        # the sticky schedule-to-start timeout would do seconds later, and move
        # the task to the normal queue, where any worker can replay the run.
        async def redirect(ms: MutableState) -> None:
            if wanted(ms) and ms.wt.task_queue.kind == enums_pb2.TASK_QUEUE_KIND_STICKY:
                ms.fail_workflow_task(
                    cause=enums_pb2.WORKFLOW_TASK_FAILED_CAUSE_UNSPECIFIED,
                    timeout_type=enums_pb2.TIMEOUT_TYPE_SCHEDULE_TO_START,
                )

        await shard.update(_key(task), redirect)


async def _dispatch_activity_task(engine: HistoryEngine, shard: Shard, task: hs.TransferTaskInfo) -> None:
    def wanted(ms: MutableState) -> bool:
        info = ms.state.activities.get(task.event_id)
        if info is not None and task.trace_context:  # the span names the activity (tracing on)
            tracing.annotate(activity_type=info.activity_type.name, activity_id=info.activity_id)
        return ms.is_running and info is not None and not info.started

    if not await shard.read(_key(task), wanted):
        return
    await engine.matching.AddActivityTask(
        msvc.AddActivityTaskRequest(
            namespace_id=task.namespace_id,
            execution={"workflow_id": task.workflow_id, "run_id": task.run_id},
            task_queue=task.task_queue,
            scheduled_event_id=task.event_id,
            schedule_to_start_timeout=task.schedule_to_start_timeout
            if task.HasField("schedule_to_start_timeout")
            else None,
        )
    )


def visibility_record(ms: MutableState) -> VisibilityRecord:
    info = ms.info
    return VisibilityRecord(
        namespace_id=ms.namespace_id,
        workflow_id=ms.workflow_id,
        run_id=ms.run_id,
        workflow_type=info.workflow_type_name,
        task_queue=info.task_queue,
        status=info.status,
        start_time_ms=ev.ts_ms(info.start_time),
        execution_time_ms=ev.ts_ms(info.execution_time),
        close_time_ms=ev.ts_ms(info.close_time) if info.HasField("close_time") else None,
        history_length=ms.next_event_id - 1,
        memo=info.memo.SerializeToString(),
        search_attributes=info.search_attributes.SerializeToString(),
        parent_workflow_id=info.parent_execution.workflow_id if info.parent_namespace_id else "",
        parent_run_id=info.parent_execution.run_id if info.parent_namespace_id else "",
    )


async def _upsert_visibility(shard: Shard, task: hs.TransferTaskInfo) -> None:
    record = await shard.read(_key(task), visibility_record)
    await shard.persistence.visibility.upsert_execution(record)


async def _close_execution(engine: HistoryEngine, shard: Shard, task: hs.TransferTaskInfo) -> None:
    def closing(
        ms: MutableState,
    ) -> tuple[
        VisibilityRecord,
        int,
        hs.ExecutionInfo,
        list[hs.ChildExecutionInfo],
        list[history_pb2.HistoryEvent] | None,
    ]:
        info = hs.ExecutionInfo()
        info.CopyFrom(ms.info)
        pending = [
            hs.ChildExecutionInfo.FromString(c.SerializeToString()) for c in ms.state.children.values()
        ]
        close_event_id = ms.info.close_event_id
        held = ms.events_between(close_event_id, close_event_id + 1) if info.parent_namespace_id else None
        return visibility_record(ms), close_event_id, info, pending, held

    record, close_event_id, info, pending_children, held = await shard.read(_key(task), closing)
    await shard.persistence.visibility.upsert_execution(record)
    if info.parent_namespace_id and info.status != STATUS.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
        events = held or await read_run_events(shard, _key(task), close_event_id, close_event_id + 1)
        if events:
            await _notify_parent(engine, task, info, events[0])
    for child in pending_children:
        await _apply_parent_close_policy(engine, task, child)


async def _notify_parent(
    engine: HistoryEngine,
    task: hs.TransferTaskInfo,
    info: hs.ExecutionInfo,
    close_event: history_pb2.HistoryEvent,
) -> None:
    attrs = ev.attributes_of(close_event)
    if getattr(attrs, "new_execution_run_id", ""):
        return  # a retry or the next cron run follows; the parent hears from the last run
    try:
        await engine.history_client.RecordChildExecutionCompleted(
            hsvc.RecordChildExecutionCompletedRequest(
                namespace_id=info.parent_namespace_id,
                parent_execution=info.parent_execution,
                parent_initiated_event_id=info.parent_initiated_event_id,
                child_execution={"workflow_id": task.workflow_id, "run_id": task.run_id},
                child_workflow_type_name=info.workflow_type_name,
                completion_event=close_event,
            )
        )
    except NotFound:
        pass  # the parent is gone: nobody to tell


async def _apply_parent_close_policy(
    engine: HistoryEngine, task: hs.TransferTaskInfo, child: hs.ChildExecutionInfo
) -> None:
    policy = child.parent_close_policy or PCP.PARENT_CLOSE_POLICY_TERMINATE
    if policy == PCP.PARENT_CLOSE_POLICY_ABANDON or not child.run_id:
        return
    execution = {"workflow_id": child.workflow_id, "run_id": child.run_id}
    try:
        if policy == PCP.PARENT_CLOSE_POLICY_TERMINATE:
            await engine.history_client.TerminateWorkflowExecution(
                hsvc.TerminateWorkflowExecutionRequest(
                    namespace_id=child.namespace_id,
                    terminate_request=ws.TerminateWorkflowExecutionRequest(
                        namespace=child.namespace,
                        workflow_execution=execution,
                        reason="parent workflow closed (parent close policy TERMINATE)",
                        identity=f"parent workflow {task.workflow_id}",
                    ),
                )
            )
        else:
            await engine.history_client.RequestCancelWorkflowExecution(
                hsvc.RequestCancelWorkflowExecutionRequest(
                    namespace_id=child.namespace_id,
                    cancel_request=ws.RequestCancelWorkflowExecutionRequest(
                        namespace=child.namespace,
                        workflow_execution=execution,
                        identity=f"parent workflow {task.workflow_id}",
                        request_id=f"{task.run_id}:{child.initiated_event_id}:parent-close",
                        reason="parent workflow closed (parent close policy REQUEST_CANCEL)",
                    ),
                    external_workflow_execution={"workflow_id": task.workflow_id, "run_id": task.run_id},
                )
            )
    except (NotFound, FailedPrecondition):
        pass  # the child already closed
