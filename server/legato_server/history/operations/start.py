"""StartWorkflowExecution (and the start half of signal-with-start and child starts).

Creating a run is one conditional store call: "no current run for this id"
(BRAND_NEW), or "the current run is this closed one" (WORKFLOW_ID_REUSE). When
the condition fails the store returns the current row, and we decide:

* same request id as the run that holds the id -> the earlier start is being
  retried: answer with that run and ``started=False``;
* the current run is open -> WorkflowAlreadyStarted, unless the policy is
  TERMINATE_IF_RUNNING, which terminates it and starts a new run;
* the current run is closed -> the id reuse policy decides (ALLOW_DUPLICATE,
  ALLOW_DUPLICATE_FAILED_ONLY, REJECT_DUPLICATE).

The loop re-reads and retries when another start races with ours.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from legato.api.v1 import common_pb2, enums_pb2, history_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato_server.common.errors import (
    FailedPrecondition,
    InvalidArgument,
    Unavailable,
    WorkflowAlreadyStarted,
)
from legato_server.common.limits import quote
from legato_server.history.operations.task_responses import StartedTask, poll_response, started_task
from legato_server.history.operations.terminate import terminate_run
from legato_server.history.shards.engine import HistoryEngine
from legato_server.history.workflow import events as ev
from legato_server.history.workflow.cron import CronError, parse_cron
from legato_server.history.workflow.retry import validate_retry_policy
from legato_server.history.workflow.workflow_run import RunSpec, build_new_run
from legato_server.internal.v1 import history_service_pb2 as hsvc
from legato_server.persistence import interface as p

POLICY = enums_pb2.WorkflowIdReusePolicy
STATUS = enums_pb2.WorkflowExecutionStatus
_FAILED_STATUSES = frozenset(
    {
        STATUS.WORKFLOW_EXECUTION_STATUS_FAILED,
        STATUS.WORKFLOW_EXECUTION_STATUS_CANCELED,
        STATUS.WORKFLOW_EXECUTION_STATUS_TERMINATED,
        STATUS.WORKFLOW_EXECUTION_STATUS_TIMED_OUT,
    }
)
MAX_START_ATTEMPTS = 5


def validate_start_options(
    request: ws.StartWorkflowExecutionRequest | ws.SignalWithStartWorkflowExecutionRequest,
) -> None:
    if not request.workflow_id:
        raise InvalidArgument("workflow_id is required")
    if not request.workflow_type.name:
        raise InvalidArgument("workflow_type.name is required")
    if not request.task_queue.name:
        raise InvalidArgument("task_queue.name is required")
    for name in ("workflow_execution_timeout", "workflow_run_timeout", "workflow_task_timeout"):
        if ev.duration_ms(getattr(request, name)) < 0:
            raise InvalidArgument(f"{name} must not be negative")
    if request.HasField("retry_policy"):
        problem = validate_retry_policy(request.retry_policy, what="retry_policy")
        if problem:
            raise InvalidArgument(problem)
    if request.cron_schedule:
        try:
            parse_cron(request.cron_schedule)
        except CronError as err:
            raise InvalidArgument(f"cron_schedule: {err}") from err


def spec_from_request(
    engine: HistoryEngine,
    *,
    namespace_id: str,
    namespace: str,
    request: ws.StartWorkflowExecutionRequest | ws.SignalWithStartWorkflowExecutionRequest,
    parent: hsvc.ParentExecutionInfo | None = None,
    start_delay_ms: int = 0,
) -> RunSpec:
    now = engine.clock.now_ms()
    backoff = start_delay_ms
    if request.cron_schedule:
        # A cron workflow's first run waits for the first schedule time.
        backoff = max(backoff, parse_cron(request.cron_schedule).next_after_ms(now + backoff) - now)
    return RunSpec(
        namespace_id=namespace_id,
        namespace=namespace,
        workflow_id=request.workflow_id,
        workflow_type=request.workflow_type.name,
        task_queue=request.task_queue.name,
        input=request.input,
        execution_timeout_ms=ev.duration_ms(request.workflow_execution_timeout),
        run_timeout_ms=ev.duration_ms(request.workflow_run_timeout),
        task_timeout_ms=ev.duration_ms(request.workflow_task_timeout),
        identity=request.identity,
        request_id=request.request_id,
        retry_policy=request.retry_policy if request.HasField("retry_policy") else None,
        cron_schedule=request.cron_schedule,
        memo=request.memo if request.HasField("memo") else None,
        search_attributes=request.search_attributes if request.HasField("search_attributes") else None,
        header=request.header if request.HasField("header") else None,
        first_task_backoff_ms=backoff,
        parent=parent,
    )


async def start_workflow(
    engine: HistoryEngine, request: hsvc.StartWorkflowExecutionRequest
) -> ws.StartWorkflowExecutionResponse:
    start = request.start_request
    validate_start_options(start)
    if ev.duration_ms(start.workflow_start_delay) < 0:
        raise InvalidArgument("workflow_start_delay must not be negative")
    namespace = await engine.namespace_for_new_run(request.namespace_id)
    parent = request.parent_execution_info if request.HasField("parent_execution_info") else None

    def make_spec() -> RunSpec:
        return spec_from_request(
            engine,
            namespace_id=request.namespace_id,
            namespace=namespace,
            request=start,
            parent=parent,
            start_delay_ms=ev.duration_ms(start.workflow_start_delay),
        )

    def make_eager_spec() -> RunSpec:
        spec = make_spec()
        spec.eager_start = spec.first_task_backoff_ms == 0
        return spec

    created = await create_run(
        engine,
        make_eager_spec if start.request_eager_execution and parent is None else make_spec,
        reuse_policy=start.workflow_id_reuse_policy,
    )
    response = ws.StartWorkflowExecutionResponse(run_id=created.run_id, started=created.started)
    if created.eager_task is not None:
        shard = engine.shard(request.namespace_id, start.workflow_id)
        response.eager_workflow_task.CopyFrom(await poll_response(shard, created.eager_task))
    return response


@dataclass(frozen=True)
class CreatedRun:
    run_id: str
    started: bool
    """False when the request id matched the earlier start that created ``run_id``."""
    eager_task: StartedTask | None = None
    """The first workflow task, started in the creating write (eager start)."""


async def create_run(
    engine: HistoryEngine,
    make_spec: Callable[[], RunSpec],
    *,
    reuse_policy: int,
) -> CreatedRun:
    """Create the run per the id reuse policy (a retried request gets the run it created)."""
    mode = p.CreateMode.BRAND_NEW
    previous_run_id = ""
    for _ in range(MAX_START_ATTEMPTS):
        spec = make_spec()
        shard = engine.shard(spec.namespace_id, spec.workflow_id)
        ms = build_new_run(spec, now_ms=engine.clock.now_ms())
        # Captured before the write: once committed, the cached state may move on.
        eager_task = None
        if spec.eager_start:
            eager_task = started_task(ms, partial_history=False)  # a new run: it holds all its events
        try:
            await shard.create(ms, mode=mode, previous_run_id=previous_run_id)
            return CreatedRun(ms.run_id, True, eager_task)
        except p.CurrentWorkflowConditionFailedError as err:
            current = err.current
        if current is None:
            mode, previous_run_id = p.CreateMode.BRAND_NEW, ""
            continue
        if spec.request_id and current.create_request_id == spec.request_id:
            return CreatedRun(current.run_id, False)
        if current.state != p.ExecutionState.COMPLETED:
            if reuse_policy != POLICY.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING:
                raise WorkflowAlreadyStarted(
                    f"workflow {quote(spec.workflow_id)} is already running (run {current.run_id}); "
                    "use a different workflow id, or WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING",
                    run_id=current.run_id,
                    start_request_id=current.create_request_id,
                )
            try:
                await terminate_run(
                    engine,
                    namespace_id=spec.namespace_id,
                    workflow_id=spec.workflow_id,
                    run_id=current.run_id,
                    reason="terminated by a new start with WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING",
                    identity=spec.identity,
                    details=None,
                )
            except FailedPrecondition:
                pass  # it closed meanwhile; replace it all the same
            mode, previous_run_id = p.CreateMode.WORKFLOW_ID_REUSE, current.run_id
            continue
        check_reuse_allowed(reuse_policy, spec.workflow_id, current)
        mode, previous_run_id = p.CreateMode.WORKFLOW_ID_REUSE, current.run_id
    raise Unavailable("starting the workflow raced with other starts of the same id; retry")


def check_reuse_allowed(reuse_policy: int, workflow_id: str, current: p.CurrentExecution) -> None:
    if reuse_policy == POLICY.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE:
        raise WorkflowAlreadyStarted(
            f"workflow id {quote(workflow_id)} was used before (run {current.run_id}) and the id reuse "
            "policy is REJECT_DUPLICATE",
            run_id=current.run_id,
            start_request_id=current.create_request_id,
        )
    if (
        reuse_policy == POLICY.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY
        and current.status not in _FAILED_STATUSES
    ):
        raise WorkflowAlreadyStarted(
            f"workflow id {quote(workflow_id)}: the previous run {current.run_id} completed successfully and "
            "the id reuse policy ALLOW_DUPLICATE_FAILED_ONLY allows a new run only after a failed, "
            "canceled, terminated or timed-out one",
            run_id=current.run_id,
            start_request_id=current.create_request_id,
        )


def signaled_attributes(
    *,
    signal_name: str,
    input: common_pb2.Payloads | None,
    identity: str,
    header: common_pb2.Header | None,
) -> history_pb2.WorkflowExecutionSignaledEventAttributes:
    attrs = history_pb2.WorkflowExecutionSignaledEventAttributes(signal_name=signal_name, identity=identity)
    if input is not None:
        attrs.input.CopyFrom(input)
    if header is not None:
        attrs.header.CopyFrom(header)
    return attrs
