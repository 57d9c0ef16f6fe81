"""Removing a closed run: retention's timer and the namespace deleter share this path.

A run is removed in two writes that cannot be one transaction (visibility may
live apart from the execution tables): first the execution (mutable state,
history, the current row if it names the run), then its visibility row. Each
is idempotent, so a crash between them is repaired by doing both again: the
namespace deleter finds the run again through visibility and calls
``DeleteWorkflowExecution`` once more, which removes what is left. Timer and
transfer tasks the run left in its shard's queues become harmless: each one
reads the run first, finds it gone (NotFound) and is dropped.

An open run is never removed here. Retention only fires for closed runs; the
namespace deleter terminates the run first (``delete_workflow``), so its
children, parent and pending work see the same close events as after any
terminate.
"""

from __future__ import annotations

from legato_server.common.errors import FailedPrecondition, NotFound
from legato_server.history.notifier import ExecutionKey
from legato_server.history.operations.terminate import terminate_run
from legato_server.history.shards.engine import HistoryEngine
from legato_server.history.shards.shard import Shard
from legato_server.internal.v1 import history_service_pb2 as hsvc
from legato_server.persistence import interface as p

# The identity written on the WorkflowExecutionTerminated event of a run the namespace deleter closed.
NAMESPACE_DELETER_IDENTITY = "legato-namespace-deleter"


async def delete_workflow(
    engine: HistoryEngine, request: hsvc.DeleteWorkflowExecutionRequest
) -> hsvc.DeleteWorkflowExecutionResponse:
    """Terminate the run if it is open, then remove it; a run already gone is no error."""
    namespace_id = request.namespace_id
    workflow_id = request.workflow_execution.workflow_id
    run_id = request.workflow_execution.run_id
    shard = engine.shard(namespace_id, workflow_id)
    key = (namespace_id, workflow_id, run_id)
    try:
        await terminate_run(
            engine,
            namespace_id=namespace_id,
            workflow_id=workflow_id,
            run_id=run_id,
            reason=request.reason,
            identity=NAMESPACE_DELETER_IDENTITY,
            details=None,
        )
    except FailedPrecondition:
        pass  # already closed
    except NotFound:
        pass  # the execution is gone; its visibility row may not be
    await delete_closed_run(shard, key)
    return hsvc.DeleteWorkflowExecutionResponse()


async def delete_closed_run(shard: Shard, key: ExecutionKey) -> None:
    """Remove a closed run's execution data, then its visibility row; parts already gone are skipped.

    FailedPrecondition if the run is open (it must be closed first).
    """
    namespace_id, workflow_id, run_id = key
    try:
        running = await shard.read(key, lambda ms: ms.is_running)
    except NotFound:
        running = False
    if running:
        raise FailedPrecondition(f"workflow run {run_id} is open; it is closed before it is removed")
    try:
        await shard.persistence.executions.delete_workflow_execution(
            shard_id=shard.shard_id, namespace_id=namespace_id, workflow_id=workflow_id, run_id=run_id
        )
    except p.NotFoundError:
        pass
    shard.forget(key)
    await shard.persistence.visibility.delete_execution(namespace_id=namespace_id, run_id=run_id)
