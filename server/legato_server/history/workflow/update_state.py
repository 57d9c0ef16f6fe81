"""An accepted update's completion: the CompleteWorkflowUpdate command's rule and event.

``MutableState.updates`` holds every update the run accepted, by id, with the
id of its WorkflowExecutionUpdateCompleted event once there is one. A worker
may complete an update only once, and only one that was accepted: anything
else is a bad command (the workflow task fails and nothing is written).
"""

from __future__ import annotations

from legato.api.v1 import command_pb2, enums_pb2, history_pb2
from legato_server.common.limits import quote
from legato_server.history.workflow.mutable_state import MutableState

ET = enums_pb2.EventType


def complete_update_problem(
    ms: MutableState, attrs: command_pb2.CompleteWorkflowUpdateCommandAttributes, earlier: set[str]
) -> str | None:
    """Why this command may not be applied (``earlier``: ids completed before it in the batch), or None."""
    if not attrs.update_id:
        return "update_id is required"
    info = ms.state.updates.get(attrs.update_id)
    if info is None:
        return f"no update with id {quote(attrs.update_id)} was accepted by this run"
    if info.completed_event_id or attrs.update_id in earlier:
        return f"update {quote(attrs.update_id)} is already completed"
    if attrs.outcome.WhichOneof("value") is None:
        return "outcome must be set (success or failure)"
    return None


def complete_update(
    ms: MutableState,
    attrs: command_pb2.CompleteWorkflowUpdateCommandAttributes,
    *,
    workflow_task_completed_event_id: int,
) -> None:
    event = ms.append_event(
        ms.new_event(
            ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
            history_pb2.WorkflowExecutionUpdateCompletedEventAttributes(
                update_id=attrs.update_id,
                outcome=attrs.outcome,
                workflow_task_completed_event_id=workflow_task_completed_event_id,
            ),
        )
    )
    ms.state.updates[attrs.update_id].completed_event_id = event.event_id
