"""Runs started and closed, counted at the one place a change becomes true: the commit.

``Shard`` calls ``record_commit`` after each write the store accepted, before
the run's pending events are cleared. A run's first event (id 1,
WorkflowExecutionStarted) in the batch means it started; its close event id in
the batch means it closed, with the status the run now has. Counting here and
nowhere else means a retried RPC, a replayed transfer task or a write that
failed counts nothing, and every way a run starts (client, child, retry, cron,
continue-as-new) or closes (completion, failure, timeout, termination,
cancellation, continue-as-new) counts the same way. Each is also a DEBUG line
(with the run's fields in the JSON log format).
"""

from __future__ import annotations

import logging

from legato.api.v1 import enums_pb2
from legato_server.common.metrics import WORKFLOW_CLOSES, WORKFLOW_STARTS, Labelled
from legato_server.history.workflow.mutable_state import MutableState

log = logging.getLogger(__name__)
_starts = Labelled(WORKFLOW_STARTS)
_closes = Labelled(WORKFLOW_CLOSES)
_STATUS_NAMES = {
    value.number: value.name.removeprefix("WORKFLOW_EXECUTION_STATUS_").lower()
    for value in enums_pb2.WorkflowExecutionStatus.DESCRIPTOR.values
}


def record_commit(ms: MutableState) -> None:
    """Count the start and the close that the just-committed events of ``ms`` contain."""
    events = ms.new_events
    if not events:
        return
    info = ms.info
    first, last = events[0].event_id, events[-1].event_id
    if first == 1:
        _starts(info.namespace, info.workflow_type_name).inc()
        log.debug("run of %s started", info.workflow_type_name)
    if info.close_event_id and first <= info.close_event_id <= last:
        status = _STATUS_NAMES.get(info.status, str(info.status))
        _closes(info.namespace, info.workflow_type_name, status).inc()
        log.debug("run of %s closed: %s", info.workflow_type_name, status)
