"""Workflow reset from the client: the request ``WorkflowHandle.reset`` and the CLI send.

Reset starts a new run of a workflow from its history up to a workflow task
boundary and terminates the current run (see the server's
``history/operations/reset.py``). The point is either an event id (a
WorkflowTaskCompleted, or a WorkflowTaskFailed/TimedOut, as ``legato workflow
show`` lists them) or a ``ResetType``; the server refuses anything else with
INVALID_ARGUMENT listing the ids that would work.
"""

from __future__ import annotations

import enum
import uuid

from legato.api.v1 import common_pb2, enums_pb2
from legato.api.v1 import workflow_service_pb2 as ws


class ResetType(enum.IntEnum):
    """Which workflow task to go back to when no event id is given."""

    FIRST_WORKFLOW_TASK = enums_pb2.RESET_TYPE_FIRST_WORKFLOW_TASK
    """The first workflow task that completed: the workflow runs again from its start."""
    LAST_WORKFLOW_TASK = enums_pb2.RESET_TYPE_LAST_WORKFLOW_TASK
    """The last workflow task that completed: only the latest decision is made again."""


def reset_request(
    *,
    namespace: str,
    execution: common_pb2.WorkflowExecution,
    event_id: int | None,
    reset_type: ResetType | None,
    reason: str,
    reapply_signals: bool,
    identity: str,
) -> ws.ResetWorkflowExecutionRequest:
    """The request, checked locally for the one mistake the types allow: both or neither point."""
    if (event_id is None) == (reset_type is None):
        raise ValueError("give exactly one of event_id (a WorkflowTaskCompleted event id) and reset_type")
    if event_id is not None and event_id <= 0:
        raise ValueError(f"event_id must be a positive event id, not {event_id}")
    return ws.ResetWorkflowExecutionRequest(
        namespace=namespace,
        workflow_execution=execution,
        reason=reason,
        workflow_task_finish_event_id=event_id or 0,
        reset_type=int(reset_type) if reset_type is not None else enums_pb2.RESET_TYPE_UNSPECIFIED,  # type: ignore[arg-type]
        request_id=str(uuid.uuid4()),
        reapply_signals=reapply_signals,
        identity=identity,
    )
