"""Activity answers by workflow id + activity id instead of a task token (async completion).

An activity that completes asynchronously may be finished by a process that
never saw its task token, knowing only the workflow and activity ids. The
frontend turns such a reference into the token of the activity's *current
started attempt*, read from the run's description, and forwards the ordinary
token-based call. History checks that token like any other, so a reference
to an attempt that ended between the read and the answer is NotFound, never
applied to a newer attempt.
"""

from __future__ import annotations

from legato.api.v1 import common_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato_server.common.errors import FailedPrecondition, InvalidArgument, NotFound
from legato_server.common.limits import quote
from legato_server.frontend import validation as check
from legato_server.frontend.roles import HistoryForFrontend
from legato_server.internal.v1 import history_service_pb2 as hs
from legato_server.internal.v1 import tokens_pb2


async def activity_task_token(
    *, history: HistoryForFrontend, namespace: str, namespace_id: str, activity: ws.ActivityReference
) -> bytes:
    """The task token of the started attempt ``activity`` names; NotFound / FailedPrecondition if none."""
    check.workflow_id(activity.workflow_id, "activity.workflow_id")
    if not activity.activity_id:
        raise InvalidArgument(
            "activity.activity_id is required: the id the workflow scheduled the activity with"
        )
    check.require_text(activity.activity_id, "activity.activity_id")
    description = await history.DescribeWorkflowExecution(
        hs.DescribeWorkflowExecutionRequest(
            namespace_id=namespace_id,
            request=ws.DescribeWorkflowExecutionRequest(
                namespace=namespace,
                execution=common_pb2.WorkflowExecution(
                    workflow_id=activity.workflow_id, run_id=activity.run_id
                ),
            ),
        )
    )
    execution = description.workflow_execution_info.execution
    pending = next((a for a in description.pending_activities if a.activity_id == activity.activity_id), None)
    if pending is None:
        raise NotFound(
            f"workflow {quote(activity.workflow_id)} run {execution.run_id} has no pending activity "
            f"{quote(activity.activity_id)} (it completed, failed, timed out or never existed)"
        )
    if pending.state == "scheduled":
        raise FailedPrecondition(
            f"activity {quote(activity.activity_id)} of workflow {quote(activity.workflow_id)} is scheduled "
            "but no worker has started it; only a started attempt can be completed, failed or heartbeated"
        )
    token = tokens_pb2.TaskToken(
        namespace_id=namespace_id,
        workflow_id=execution.workflow_id,
        run_id=execution.run_id,
        scheduled_event_id=pending.scheduled_event_id,
        attempt=pending.attempt,
        activity_id=pending.activity_id,
    )
    return token.SerializeToString()
