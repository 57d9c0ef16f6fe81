"""HistoryHandler: the HistoryService RPCs, each mapped onto its operation module.

The handler is what the server exposes over gRPC (``common.rpc.servicer_for``)
and what in-process callers hold. It adds nothing but error mapping: store
errors that escape an operation become typed service errors. A transient store
failure already is one (``persistence.TransientError`` is ``Unavailable``), so
callers retry it; anything else from the store is a bug and ``Internal``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from legato_server.common.errors import Internal, NotOwner, ServiceError
from legato_server.history.operations import (
    activity_task,
    cancel,
    children,
    delete,
    describe,
    history_read,
    query,
    reset,
    signal,
    start,
    terminate,
    update,
    workflow_task,
)
from legato_server.history.shards.engine import HistoryEngine
from legato_server.persistence import interface as p

log = logging.getLogger(__name__)
R = TypeVar("R")


def _rpc(
    operation: Callable[[HistoryEngine, Any], Awaitable[R]],
) -> Callable[[HistoryHandler, Any], Awaitable[R]]:
    @functools.wraps(operation)
    async def call(self: HistoryHandler, request: Any) -> R:
        try:
            try:
                return await operation(self.engine, request)
            except NotOwner as err:
                # The ring moved the shard here and no rebalance has taken it yet: take it now.
                if err.shard_id is None or not self.engine.should_own(err.shard_id):
                    raise
                await self.engine.acquire_shard(err.shard_id)
                return await operation(self.engine, request)
        except ServiceError:
            raise  # includes the store's TransientError and StorageFullError
        except p.PersistenceError as err:
            log.exception("store error in %s", operation.__name__)
            raise Internal(f"store error: {err}") from err

    return call


class HistoryHandler:
    """Implements every RPC of legato_server.internal.v1.history.HistoryService."""

    def __init__(self, engine: HistoryEngine) -> None:
        self.engine = engine

    StartWorkflowExecution = _rpc(start.start_workflow)
    SignalWorkflowExecution = _rpc(signal.signal_workflow)
    SignalWithStartWorkflowExecution = _rpc(signal.signal_with_start)
    RequestCancelWorkflowExecution = _rpc(cancel.request_cancel_workflow)
    TerminateWorkflowExecution = _rpc(terminate.terminate_workflow)
    ResetWorkflowExecution = _rpc(reset.reset_workflow)
    DescribeWorkflowExecution = _rpc(describe.describe_workflow)
    GetWorkflowExecutionHistory = _rpc(history_read.get_history)
    QueryWorkflow = _rpc(query.query_workflow)
    UpdateWorkflowExecution = _rpc(update.update_workflow)
    PollWorkflowExecutionUpdate = _rpc(update.poll_update)
    UpdateWithStartWorkflowExecution = _rpc(update.update_with_start)
    ResetStickyTaskQueue = _rpc(workflow_task.reset_sticky_task_queue)
    RecordWorkflowTaskStarted = _rpc(workflow_task.record_workflow_task_started)
    RecordActivityTaskStarted = _rpc(activity_task.record_activity_task_started)
    RespondWorkflowTaskCompleted = _rpc(workflow_task.respond_workflow_task_completed)
    RespondWorkflowTaskFailed = _rpc(workflow_task.respond_workflow_task_failed)
    RespondActivityTaskCompleted = _rpc(activity_task.respond_activity_task_completed)
    RespondActivityTaskFailed = _rpc(activity_task.respond_activity_task_failed)
    RespondActivityTaskCanceled = _rpc(activity_task.respond_activity_task_canceled)
    RecordActivityTaskHeartbeat = _rpc(activity_task.record_activity_task_heartbeat)
    RecordChildExecutionCompleted = _rpc(children.record_child_completed)
    DeleteWorkflowExecution = _rpc(delete.delete_workflow)
