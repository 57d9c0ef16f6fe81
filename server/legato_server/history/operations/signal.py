"""SignalWorkflowExecution and SignalWithStartWorkflowExecution.

A signal becomes WorkflowExecutionSignaled: written at once and a workflow
task scheduled if none is pending, or buffered while a task is running and
delivered in the next one. Signals are deduplicated by request id (a client
retrying after a timeout delivers once). Signal-with-start signals the current
run if it is open, otherwise starts a run (per the id reuse policy) whose
history begins with WorkflowExecutionStarted then the signal.
"""

from __future__ import annotations

from legato.api.v1 import enums_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato_server.common.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Unavailable,
    WorkflowAlreadyStarted,
)
from legato_server.common.limits import quote
from legato_server.history.operations.cancel import check_child_only
from legato_server.history.operations.start import (
    create_run,
    signaled_attributes,
    spec_from_request,
    validate_start_options,
)
from legato_server.history.shards.engine import HistoryEngine
from legato_server.history.workflow.mutable_state import MutableState
from legato_server.history.workflow.workflow_run import RunSpec
from legato_server.internal.v1 import history_service_pb2 as hsvc

ET = enums_pb2.EventType
MAX_REMEMBERED_SIGNAL_REQUESTS = 10_000


async def signal_workflow(
    engine: HistoryEngine, request: hsvc.SignalWorkflowExecutionRequest
) -> ws.SignalWorkflowExecutionResponse:
    sr = request.signal_request
    if not sr.signal_name:
        raise InvalidArgument("signal_name is required")
    execution = sr.workflow_execution
    shard = engine.shard(request.namespace_id, execution.workflow_id)
    run_id = await shard.resolve_run_id(request.namespace_id, execution.workflow_id, execution.run_id)

    async def action(ms: MutableState) -> None:
        if not ms.is_running:
            raise FailedPrecondition(
                f"workflow execution {quote(execution.workflow_id)} run {run_id} is already closed"
            )
        check_child_only(
            ms, child_only=request.child_workflow_only, caller=request.external_workflow_execution
        )
        apply_signal(ms, sr)

    await shard.update((request.namespace_id, execution.workflow_id, run_id), action)
    return ws.SignalWorkflowExecutionResponse()


def apply_signal(
    ms: MutableState, sr: ws.SignalWorkflowExecutionRequest | ws.SignalWithStartWorkflowExecutionRequest
) -> None:
    request_id = sr.request_id
    if request_id:
        if request_id in ms.state.signal_request_ids:
            return
        ms.state.signal_request_ids.append(request_id)
        excess = len(ms.state.signal_request_ids) - MAX_REMEMBERED_SIGNAL_REQUESTS
        if excess > 0:
            del ms.state.signal_request_ids[:excess]
    if isinstance(sr, ws.SignalWithStartWorkflowExecutionRequest):
        attrs = signaled_attributes(
            signal_name=sr.signal_name, input=sr.signal_input, identity=sr.identity, header=sr.header
        )
    else:
        attrs = signaled_attributes(
            signal_name=sr.signal_name,
            input=sr.input,
            identity=sr.identity,
            header=sr.header if sr.HasField("header") else None,
        )
    ms.add_external_event(ms.new_event(ET.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, attrs))


async def signal_with_start(
    engine: HistoryEngine, request: hsvc.SignalWithStartWorkflowExecutionRequest
) -> ws.SignalWithStartWorkflowExecutionResponse:
    r = request.signal_with_start_request
    validate_start_options(r)
    if not r.signal_name:
        raise InvalidArgument("signal_name is required")
    namespace = await engine.namespace_for_new_run(request.namespace_id)
    shard = engine.shard(request.namespace_id, r.workflow_id)
    for _ in range(5):
        try:
            run_id = await shard.current_run_id(request.namespace_id, r.workflow_id)
        except NotFound:
            run_id = ""
        if run_id:

            async def action(ms: MutableState) -> bool:
                if not ms.is_running:
                    return False
                apply_signal(ms, r)
                return True

            if await shard.update((request.namespace_id, r.workflow_id, run_id), action):
                return ws.SignalWithStartWorkflowExecutionResponse(run_id=run_id, started=False)

        def make_spec() -> RunSpec:
            spec = spec_from_request(
                engine, namespace_id=request.namespace_id, namespace=namespace, request=r
            )
            spec.signal = signaled_attributes(
                signal_name=r.signal_name, input=r.signal_input, identity=r.identity, header=r.header
            )
            return spec

        policy = r.workflow_id_reuse_policy
        if policy == enums_pb2.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING:
            policy = enums_pb2.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE  # the running case signals instead
        try:
            created = await create_run(engine, make_spec, reuse_policy=policy)
        except WorkflowAlreadyStarted as err:
            if err.run_id and err.run_id != run_id:
                continue  # a run started meanwhile: signal it
            raise
        return ws.SignalWithStartWorkflowExecutionResponse(run_id=created.run_id, started=created.started)
    raise Unavailable("signal-with-start raced with other starts of the same workflow id; retry")
