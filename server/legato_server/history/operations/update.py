"""UpdateWorkflowExecution, PollWorkflowExecutionUpdate and UpdateWithStartWorkflowExecution.

An update is a durable request/response into a running workflow. Its life:

1. **Known id?** The run's mutable state keeps every accepted update by id
   (``MutableState.updates``). A request repeating an id does nothing new: it
   waits for, or reads, the first request's outcome. That is what makes a
   client's retry after a timeout safe.
2. **Validation, before anything is written.** History asks a worker to run the
   update's validator on the workflow's current state, through the query path
   (``query.query_workflow`` with ``WorkflowQuery.validate_update``): the sticky
   worker that has the run cached, or any worker, which replays first. The
   worker also rejects an update it has no handler for, or whose arguments do
   not decode. A rejection returns a failure outcome with ``rejected`` set and
   leaves no trace: no event, no state, no workflow task.
3. **Acceptance** writes WorkflowExecutionUpdateAccepted like a signal
   (buffered while a workflow task runs, otherwise written at once with a new
   workflow task) and records the id, in one transaction. From here the update
   is as durable as the workflow: a worker that dies while the handler awaits
   an activity is replaced by one that replays the history, starts the handler
   again and finishes it.
4. **Completion** is the worker's CompleteWorkflowUpdate command, which
   ``commands.py`` turns into WorkflowExecutionUpdateCompleted; the outcome is
   read from that event.

Waiting (``wait_stage``) is a long-poll on the run's notifier, bounded by the
caller's deadline: the answer then says how far the update got (ACCEPTED), and
the caller polls again with PollWorkflowExecutionUpdate. A run that closes
before an accepted update completes answers FailedPrecondition, as does an
update to a closed run. Between validation and acceptance the workflow may
move on (the validator saw the state of the last completed workflow task);
a second request with the same id in that window is accepted once.

Update-with-start starts the workflow unless a run of the id is running
(a TERMINATE_IF_RUNNING policy counts as ALLOW_DUPLICATE, as in
signal-with-start), then updates that run. A rejected update leaves the
started run running.
"""

from __future__ import annotations

import asyncio

from legato.api.v1 import common_pb2, enums_pb2, history_pb2, update_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato_server.common import deadline as call_deadline
from legato_server.common.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Unavailable,
    WorkflowAlreadyStarted,
)
from legato_server.common.limits import quote
from legato_server.history.operations import query, start
from legato_server.history.operations.history_read import read_run_events
from legato_server.history.shards.engine import HistoryEngine
from legato_server.history.shards.shard import Shard
from legato_server.history.workflow.mutable_state import MutableState
from legato_server.internal.v1 import history_service_pb2 as hsvc
from legato_server.internal.v1 import history_state_pb2 as hs

ET = enums_pb2.EventType
STAGE = update_pb2.UpdateStage
STATUS = enums_pb2.WorkflowExecutionStatus
# Each accepted update stays in the run's state (for deduplication): bound it.
# A workflow that needs more continues as new.
MAX_UPDATES_PER_RUN = 2000
# A wait for an update's completion answers (with stage ACCEPTED) after this long at most.
LONG_POLL_MAX_S = 60.0
VALIDATE_QUERY_TYPE = "__validate_update"

Key = tuple[str, str, str]


def _closed(workflow_id: str, run_id: str, status: int) -> str:
    name = STATUS.Name(status).removeprefix("WORKFLOW_EXECUTION_STATUS_")
    return (
        f"workflow execution {quote(workflow_id)} run {run_id} is already closed ({name}); "
        "updates can only be sent to a running workflow"
    )


async def update_workflow(
    engine: HistoryEngine, request: hsvc.UpdateWorkflowExecutionRequest
) -> ws.UpdateWorkflowExecutionResponse:
    r = request.request
    execution = r.workflow_execution
    shard = engine.shard(request.namespace_id, execution.workflow_id)
    run_id = await shard.resolve_run_id(request.namespace_id, execution.workflow_id, execution.run_id)
    return await _update_run(engine, shard, (request.namespace_id, execution.workflow_id, run_id), r)


async def poll_update(
    engine: HistoryEngine, request: hsvc.PollWorkflowExecutionUpdateRequest
) -> ws.UpdateWorkflowExecutionResponse:
    r = request.request
    if not r.update_id:
        raise InvalidArgument("update_id is required")
    execution = r.workflow_execution
    shard = engine.shard(request.namespace_id, execution.workflow_id)
    run_id = await shard.resolve_run_id(request.namespace_id, execution.workflow_id, execution.run_id)
    return await _wait(
        shard, (request.namespace_id, execution.workflow_id, run_id), r.update_id, r.wait_stage
    )


async def update_with_start(
    engine: HistoryEngine, request: hsvc.UpdateWithStartWorkflowExecutionRequest
) -> ws.UpdateWithStartWorkflowExecutionResponse:
    r = request.request
    start_request = ws.StartWorkflowExecutionRequest()
    start_request.CopyFrom(r.start)
    start.validate_start_options(start_request)
    if start_request.workflow_id_reuse_policy == enums_pb2.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING:
        start_request.workflow_id_reuse_policy = enums_pb2.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
    workflow_id = start_request.workflow_id
    shard = engine.shard(request.namespace_id, workflow_id)
    for _ in range(5):
        try:
            started = await start.start_workflow(
                engine,
                hsvc.StartWorkflowExecutionRequest(
                    namespace_id=request.namespace_id, start_request=start_request
                ),
            )
            run_id, was_started = started.run_id, started.started
        except WorkflowAlreadyStarted as err:
            if not err.run_id:
                raise
            key = (request.namespace_id, workflow_id, err.run_id)
            if not await shard.read(key, lambda ms: ms.is_running):
                continue  # it closed meanwhile: the start may now go through
            run_id, was_started = err.run_id, False
        update = ws.UpdateWorkflowExecutionRequest()
        update.CopyFrom(r.update)
        update.workflow_execution.CopyFrom(
            common_pb2.WorkflowExecution(workflow_id=workflow_id, run_id=run_id)
        )
        answer = await _update_run(engine, shard, (request.namespace_id, workflow_id, run_id), update)
        return ws.UpdateWithStartWorkflowExecutionResponse(run_id=run_id, started=was_started, update=answer)
    raise Unavailable("update-with-start raced with other starts of the same workflow id; retry")


# ---------------------------------------------------------------- the steps


async def _update_run(
    engine: HistoryEngine, shard: Shard, key: Key, r: ws.UpdateWorkflowExecutionRequest
) -> ws.UpdateWorkflowExecutionResponse:
    if not r.update.name:
        raise InvalidArgument("update.name is required")
    if not r.update.update_id:
        raise InvalidArgument("update.update_id is required")
    update_id = r.update.update_id

    def known(ms: MutableState) -> tuple[bool, int]:
        return update_id in ms.state.updates, ms.info.status

    already, status = await shard.read(key, known)
    if not already:
        if status != STATUS.WORKFLOW_EXECUTION_STATUS_RUNNING:
            raise FailedPrecondition(_closed(key[1], key[2], status))
        rejection = await _validate(engine, shard, key, r)
        if rejection is not None:
            return ws.UpdateWorkflowExecutionResponse(
                update_id=update_id,
                workflow_execution=common_pb2.WorkflowExecution(workflow_id=key[1], run_id=key[2]),
                stage=STAGE.UPDATE_STAGE_COMPLETED,
                outcome=update_pb2.UpdateOutcome(failure=rejection),
                rejected=True,
            )
        await shard.update(key, lambda ms: _accept(ms, r))
    return await _wait(shard, key, update_id, r.wait_stage)


async def _validate(
    engine: HistoryEngine, shard: Shard, key: Key, r: ws.UpdateWorkflowExecutionRequest
) -> common_pb2.Failure | None:
    """Have a worker run the validator: the rejection, or None when accepted."""
    namespace = await shard.read(key, lambda ms: ms.info.namespace)
    validation = ws.QueryWorkflowRequest(
        namespace=namespace,
        execution=common_pb2.WorkflowExecution(workflow_id=key[1], run_id=key[2]),
        query=ws.WorkflowQuery(query_type=VALIDATE_QUERY_TYPE, validate_update=r.update),
    )
    answer = await query.query_workflow(
        engine, hsvc.QueryWorkflowRequest(namespace_id=key[0], request=validation)
    )
    return answer.update_rejection if answer.HasField("update_rejection") else None


async def _accept(ms: MutableState, r: ws.UpdateWorkflowExecutionRequest) -> None:
    update_id = r.update.update_id
    if update_id in ms.state.updates:
        return  # a concurrent request with the same id was accepted first
    if not ms.is_running:
        raise FailedPrecondition(_closed(ms.workflow_id, ms.run_id, ms.info.status))
    if len(ms.state.updates) >= MAX_UPDATES_PER_RUN:
        raise FailedPrecondition(
            f"workflow execution {quote(ms.workflow_id)} run {ms.run_id} already has {MAX_UPDATES_PER_RUN} "
            "updates, the most one run may take; have the workflow continue as new"
        )
    ms.state.updates[update_id].CopyFrom(hs.UpdateInfo(update_id=update_id))
    attrs = history_pb2.WorkflowExecutionUpdateAcceptedEventAttributes(
        update_id=update_id, name=r.update.name, input=r.update.args, identity=r.identity
    )
    if r.update.HasField("header"):
        attrs.header.CopyFrom(r.update.header)
    ms.add_external_event(ms.new_event(ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, attrs))


async def _wait(
    shard: Shard, key: Key, update_id: str, wait_stage: int
) -> ws.UpdateWorkflowExecutionResponse:
    """Answer once the update reached ``wait_stage`` (default COMPLETED) or the wait ran out."""
    response = ws.UpdateWorkflowExecutionResponse(
        update_id=update_id,
        workflow_execution=common_pb2.WorkflowExecution(workflow_id=key[1], run_id=key[2]),
    )
    left = call_deadline.time_left_s()
    loop = asyncio.get_running_loop()
    until = loop.time() + (LONG_POLL_MAX_S if left is None else min(left, LONG_POLL_MAX_S))

    def progress(ms: MutableState) -> tuple[bool, int, int]:
        info = ms.state.updates.get(update_id)
        return info is not None, info.completed_event_id if info is not None else 0, ms.info.status

    while True:
        with shard.notifier.subscribe(key) as woken:
            exists, completed_event_id, status = await shard.read(key, progress)
            if not exists:
                raise NotFound(
                    f"workflow execution {quote(key[1])} run {key[2]} has no update with id {quote(update_id)}"
                )
            if completed_event_id:
                response.stage = STAGE.UPDATE_STAGE_COMPLETED
                response.outcome.CopyFrom(await _outcome(shard, key, completed_event_id))
                return response
            response.stage = STAGE.UPDATE_STAGE_ACCEPTED
            if wait_stage == STAGE.UPDATE_STAGE_ACCEPTED:
                return response
            if status != STATUS.WORKFLOW_EXECUTION_STATUS_RUNNING:
                name = STATUS.Name(status).removeprefix("WORKFLOW_EXECUTION_STATUS_")
                raise FailedPrecondition(
                    f"workflow execution {quote(key[1])} run {key[2]} closed ({name}) before update "
                    f"{quote(update_id)} completed; the update was accepted but its handler never finished"
                )
            remaining = until - loop.time()
            if remaining <= 0:
                return response
            try:
                await asyncio.wait_for(woken.wait(), remaining)
            except TimeoutError:
                pass


async def _outcome(shard: Shard, key: Key, completed_event_id: int) -> update_pb2.UpdateOutcome:
    events = await read_run_events(shard, key, completed_event_id, completed_event_id + 1)
    if not events or events[0].event_type != ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
        raise NotFound(
            f"history of workflow {quote(key[1])} is missing update completion event {completed_event_id}"
        )
    return events[0].workflow_execution_update_completed_event_attributes.outcome
