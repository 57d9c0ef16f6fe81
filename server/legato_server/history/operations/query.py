"""QueryWorkflow: hand a query to a worker through matching and return its answer.

History does not run workflow code; it finds the run, builds the task a worker
needs to answer (type, execution, and the history up to the WorkflowTaskStarted
of the last completed workflow task plus that task's WorkflowTaskCompleted,
which always directly follows it; an uncached worker replays up to there, the
state the query must see, and the Completed event tells it where to stop)
and asks matching to deliver it: to the sticky queue when the run has one (that
worker has it cached), falling back to the normal queue if the sticky worker
does not answer in time. A run that has not completed its first workflow task
has no state to query yet: the query waits (up to FIRST_TASK_WAIT_S) for a
worker to complete it, as a query sent right after a start is common; if the
run closes first, or no worker comes in time, FailedPrecondition.
"""

from __future__ import annotations

import asyncio

from legato.api.v1 import common_pb2, enums_pb2, history_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato_server.common import deadline as call_deadline
from legato_server.common.errors import DeadlineExceeded, FailedPrecondition, InvalidArgument, Unavailable
from legato_server.common.limits import quote
from legato_server.history.operations.history_read import read_run_events
from legato_server.history.shards.engine import HistoryEngine
from legato_server.history.workflow.mutable_state import MutableState
from legato_server.internal.v1 import history_service_pb2 as hsvc
from legato_server.internal.v1 import matching_service_pb2 as msvc

# How long a query waits for a new run's first workflow task to complete.
FIRST_TASK_WAIT_S = 10.0


async def query_workflow(
    engine: HistoryEngine, request: hsvc.QueryWorkflowRequest
) -> ws.QueryWorkflowResponse:
    r = request.request
    if not r.query.query_type:
        raise InvalidArgument("query.query_type is required")
    execution = r.execution
    shard = engine.shard(request.namespace_id, execution.workflow_id)
    run_id = await shard.resolve_run_id(request.namespace_id, execution.workflow_id, execution.run_id)
    key = (request.namespace_id, execution.workflow_id, run_id)

    def snapshot(ms: MutableState) -> tuple[int, str, str, str, str, bool]:
        return (
            ms.info.last_completed_workflow_task_started_event_id,
            ms.info.workflow_type_name,
            ms.info.task_queue,
            ms.info.sticky_task_queue if ms.is_running else "",
            ms.info.namespace,
            ms.is_running,
        )

    # Wait for a worker to run the first task, but answer before the caller gives
    # up: a FailedPrecondition that says why beats a bare DEADLINE_EXCEEDED.
    left = call_deadline.time_left_s()
    first_task_wait_s = FIRST_TASK_WAIT_S if left is None else min(FIRST_TASK_WAIT_S, left / 2)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + first_task_wait_s
    while True:
        # Subscribe before reading, so a completion between the read and the wait is not missed.
        with shard.notifier.subscribe(key) as woken:
            last_started, workflow_type, task_queue, sticky_queue, namespace, running = await shard.read(
                key, snapshot
            )
            remaining = deadline - loop.time()
            if last_started or not running or remaining <= 0:
                break
            try:
                await asyncio.wait_for(woken.wait(), remaining)
            except TimeoutError:
                pass
    if last_started == 0:
        raise FailedPrecondition(
            f"workflow {quote(execution.workflow_id)} has not completed its first workflow task yet; "
            f"no worker completed it within {first_task_wait_s:.1f}s; "
            "it can be queried once a worker has run it (is a worker polling its task queue?)"
        )
    events = await read_run_events(shard, key, 1, last_started + 2)
    task = ws.PollWorkflowTaskQueueResponse(
        workflow_execution=common_pb2.WorkflowExecution(workflow_id=execution.workflow_id, run_id=run_id),
        workflow_type=common_pb2.WorkflowType(name=workflow_type),
        previous_started_event_id=last_started,
        started_event_id=last_started,
        history=history_pb2.History(events=events),
        workflow_execution_task_queue=common_pb2.TaskQueue(
            name=task_queue, kind=enums_pb2.TASK_QUEUE_KIND_NORMAL
        ),
        namespace=namespace,
    )
    query_request = ws.QueryWorkflowRequest()
    query_request.CopyFrom(r)
    query_request.execution.run_id = run_id
    normal = common_pb2.TaskQueue(name=task_queue, kind=enums_pb2.TASK_QUEUE_KIND_NORMAL)
    if sticky_queue:
        sticky = common_pb2.TaskQueue(
            name=sticky_queue, kind=enums_pb2.TASK_QUEUE_KIND_STICKY, normal_name=task_queue
        )
        try:
            return await engine.matching.QueryWorkflow(
                msvc.QueryWorkflowRequest(
                    namespace_id=request.namespace_id,
                    task_queue=sticky,
                    query_request=query_request,
                    task=task,
                )
            )
        except (DeadlineExceeded, Unavailable):
            pass  # the sticky worker is gone or busy: any worker of the normal queue can replay and answer
    return await engine.matching.QueryWorkflow(
        msvc.QueryWorkflowRequest(
            namespace_id=request.namespace_id, task_queue=normal, query_request=query_request, task=task
        )
    )
