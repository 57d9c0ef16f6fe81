"""DescribeWorkflowExecution: a run's configuration, summary and pending work, from mutable state."""

from __future__ import annotations

from legato.api.v1 import common_pb2, enums_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato_server.history.shards.engine import HistoryEngine
from legato_server.history.workflow.mutable_state import MutableState
from legato_server.internal.v1 import history_service_pb2 as hsvc


def execution_info(ms: MutableState) -> common_pb2.WorkflowExecutionInfo:
    info = ms.info
    result = common_pb2.WorkflowExecutionInfo(
        execution=ms.execution(),
        type=common_pb2.WorkflowType(name=info.workflow_type_name),
        start_time=info.start_time,
        status=info.status,
        history_length=ms.next_event_id - 1,
        execution_time=info.execution_time,
        memo=info.memo,
        search_attributes=info.search_attributes,
        task_queue=info.task_queue,
    )
    if info.HasField("close_time"):
        result.close_time.CopyFrom(info.close_time)
    if info.parent_namespace_id:
        result.parent_execution.CopyFrom(info.parent_execution)
        result.parent_namespace = info.parent_namespace
    for name in ("reset_by", "reset_from"):
        if info.HasField(name):
            getattr(result, name).CopyFrom(getattr(info, name))
    return result


def _describe(ms: MutableState) -> ws.DescribeWorkflowExecutionResponse:
    info = ms.info
    response = ws.DescribeWorkflowExecutionResponse(
        execution_config=common_pb2.WorkflowExecutionConfig(
            task_queue=ms.normal_task_queue(),
            workflow_execution_timeout=info.workflow_execution_timeout,
            workflow_run_timeout=info.workflow_run_timeout,
            default_workflow_task_timeout=info.workflow_task_timeout,
        ),
        workflow_execution_info=execution_info(ms),
    )
    wt = ms.wt
    if ms.is_running and ms.workflow_task_pending:
        task = response.pending_workflow_task
        task.state = "started" if wt.started_event_id else "scheduled"
        task.attempt = wt.attempt
        task.scheduled_time.CopyFrom(wt.scheduled_time)
        if wt.started_event_id:
            task.started_time.CopyFrom(wt.started_time)
    for activity in sorted(ms.state.activities.values(), key=lambda a: a.scheduled_event_id):
        state = (
            "cancel_requested"
            if activity.cancel_requested
            else "started"
            if activity.started
            else "scheduled"
        )
        pending = common_pb2.PendingActivityInfo(
            activity_id=activity.activity_id,
            activity_type=activity.activity_type,
            state=state,
            attempt=activity.attempt,
            maximum_attempts=activity.retry_policy.maximum_attempts,
            scheduled_time=activity.current_attempt_scheduled_time,
            last_worker_identity=activity.last_worker_identity,
            scheduled_event_id=activity.scheduled_event_id,
        )
        for name in ("heartbeat_details", "last_heartbeat_time", "last_failure"):
            if activity.HasField(name):
                getattr(pending, name).CopyFrom(getattr(activity, name))
        if activity.HasField("started_time"):
            pending.last_started_time.CopyFrom(activity.started_time)
        response.pending_activities.append(pending)
    for child in sorted(ms.state.children.values(), key=lambda c: c.initiated_event_id):
        response.pending_children.append(
            common_pb2.PendingChildExecutionInfo(
                workflow_id=child.workflow_id,
                run_id=child.run_id,
                workflow_type_name=child.workflow_type_name,
                initiated_id=child.initiated_event_id,
                parent_close_policy=child.parent_close_policy or enums_pb2.PARENT_CLOSE_POLICY_TERMINATE,
            )
        )
    return response


async def describe_workflow(
    engine: HistoryEngine, request: hsvc.DescribeWorkflowExecutionRequest
) -> ws.DescribeWorkflowExecutionResponse:
    execution = request.request.execution
    shard = engine.shard(request.namespace_id, execution.workflow_id)
    run_id = await shard.resolve_run_id(request.namespace_id, execution.workflow_id, execution.run_id)
    return await shard.read((request.namespace_id, execution.workflow_id, run_id), _describe)
