"""One pass over one schedule: see which workflows still run, take due actions, plan the next wakeup.

A pass is a pure decision plus calls to history; the caller (``loop``) reads
the record before and writes it after, conditionally, so two passes (or a
pass and a user's update) never both win. Steps:

1. **Running workflows**: describe each one the schedule started and still
   counts as running; forget those that closed.
2. **Due times**: every spec time whose actual time (nominal + jitter) has
   passed since the last pass. A time later than the catch-up window is
   counted as missed; the others join ``pending``. A paused schedule lets
   times pass without taking them.
3. **Pending actions**, oldest first, under the overlap policy when an earlier
   workflow still runs: SKIP drops the action, BUFFER_ONE keeps one waiting,
   BUFFER_ALL keeps all, CANCEL_OTHER asks the running ones to cancel once and
   waits for them to close (keeping the newest action), TERMINATE_OTHER
   terminates them and starts, ALLOW_ALL starts regardless.
4. **Start**: workflow id and request id come from the nominal time
   (``state``), so a start repeated after a crash or a lost write returns the
   run the first attempt created instead of starting another.

The next wakeup is the next actual time, sooner while actions wait for a
workflow to close (``WAIT_POLL_MS``) or workflows run (``RUNNING_POLL_MS``,
to keep describe's running list current).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from legato.api.v1 import common_pb2, enums_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato_server.common.errors import NotFound, ServiceError, Unavailable, WorkflowAlreadyStarted
from legato_server.internal.v1 import history_service_pb2 as hsvc
from legato_server.internal.v1 import schedule_state_pb2 as ss
from legato_server.scheduler import state as st
from legato_server.scheduler.spec import compile_spec

log = logging.getLogger(__name__)

OVERLAP = st.OVERLAP
IDENTITY = "legato-scheduler"
WAIT_POLL_MS = 2_000
RUNNING_POLL_MS = 30_000
MAX_TIMES_PER_PASS = 1_000


class HistoryForScheduler(Protocol):
    async def StartWorkflowExecution(self, request: hsvc.StartWorkflowExecutionRequest) -> Any: ...
    async def DescribeWorkflowExecution(self, request: hsvc.DescribeWorkflowExecutionRequest) -> Any: ...
    async def RequestCancelWorkflowExecution(
        self, request: hsvc.RequestCancelWorkflowExecutionRequest
    ) -> Any: ...
    async def TerminateWorkflowExecution(self, request: hsvc.TerminateWorkflowExecutionRequest) -> Any: ...


@dataclass
class Pass:
    """Everything one pass needs besides the state it changes."""

    history: HistoryForScheduler
    namespace_id: str
    schedule_id: str
    now_ms: int


async def run_pass(state: ss.ScheduleRecordState, ctx: Pass) -> int:
    """Advance ``state`` to ``ctx.now_ms``; return the next wakeup (unix ms)."""
    await _refresh_running(state, ctx)
    compiled = compile_spec(state.schedule.spec, seed=f"{ctx.namespace_id}/{ctx.schedule_id}")
    more_due = _collect_due(state, ctx, compiled)
    blocked = await _take_pending(state, ctx)
    candidates = [st.NEVER_MS]
    if more_due:
        candidates.append(ctx.now_ms)
    limits = state.schedule.state
    if not limits.paused and not (limits.limited_actions and limits.remaining_actions <= 0):
        nominal = compiled.next_after(state.last_processed_ms)
        if nominal is not None:
            candidates.append(nominal + compiled.jitter_ms(nominal))
    if state.pending:
        candidates.append(ctx.now_ms + (WAIT_POLL_MS if blocked else 0))
    if state.info.running_workflows:
        candidates.append(ctx.now_ms + RUNNING_POLL_MS)
    return min(candidates)


async def _refresh_running(state: ss.ScheduleRecordState, ctx: Pass) -> None:
    still: list[common_pb2.WorkflowExecution] = []
    for execution in state.info.running_workflows:
        try:
            described = await ctx.history.DescribeWorkflowExecution(
                hsvc.DescribeWorkflowExecutionRequest(
                    namespace_id=ctx.namespace_id,
                    request=ws.DescribeWorkflowExecutionRequest(
                        namespace=state.namespace, execution=execution
                    ),
                )
            )
        except NotFound:
            continue  # gone (retention): not running
        if described.workflow_execution_info.status == enums_pb2.WORKFLOW_EXECUTION_STATUS_RUNNING:
            still.append(execution)
    del state.info.running_workflows[:]
    state.info.running_workflows.extend(still)


def _collect_due(state: ss.ScheduleRecordState, ctx: Pass, compiled: Any) -> bool:
    """Move due spec times into ``pending``; True if the pass stopped early (more are due)."""
    limits = state.schedule.state
    if limits.paused or (limits.limited_actions and limits.remaining_actions <= 0):
        # Times pass without actions; nothing to wake up for until a user changes the schedule.
        state.last_processed_ms = max(state.last_processed_ms, ctx.now_ms)
        return False
    window = st.catchup_window_ms(state.schedule.policies)
    for _ in range(MAX_TIMES_PER_PASS):
        nominal = compiled.next_after(state.last_processed_ms)
        if nominal is None:
            return False
        actual = nominal + compiled.jitter_ms(nominal)
        if actual > ctx.now_ms:
            return False
        state.last_processed_ms = nominal
        if ctx.now_ms - actual > window:
            state.info.missed_catchup_window += 1
            continue
        state.pending.append(ss.PendingAction(nominal_time_ms=nominal, actual_time_ms=actual))
    return True


async def _take_pending(state: ss.ScheduleRecordState, ctx: Pass) -> bool:
    """Start or drop pending actions; True if some wait for running workflows to close."""
    while state.pending:
        action = state.pending[0]
        policy = st.overlap_policy(action, state.schedule)
        running = list(state.info.running_workflows)
        if running and policy != OVERLAP.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL:
            if policy == OVERLAP.SCHEDULE_OVERLAP_POLICY_SKIP:
                state.info.overlap_skipped += 1
                del state.pending[0]
                continue
            if policy == OVERLAP.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE:
                _drop_after_first(state, policy)
                return True
            if policy == OVERLAP.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL:
                return True
            if policy == OVERLAP.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER:
                _keep_newest(state, policy)
                action = state.pending[0]
                if not action.cancel_requested:
                    for execution in running:
                        await _quietly(
                            ctx.history.RequestCancelWorkflowExecution(_cancel(state, ctx, execution))
                        )
                    action.cancel_requested = True
                return True
            if policy == OVERLAP.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER:
                for execution in running:
                    await _quietly(ctx.history.TerminateWorkflowExecution(_terminate(state, ctx, execution)))
                del state.info.running_workflows[:]
        if not await _start(state, ctx, action):
            return True  # the store or a history host is unavailable: try again on the next pass
        del state.pending[0]
    return False


def _drop_after_first(state: ss.ScheduleRecordState, policy: int) -> None:
    keep = [state.pending[0]]
    for action in state.pending[1:]:
        if st.overlap_policy(action, state.schedule) == policy:
            state.info.overlap_skipped += 1
        else:
            keep.append(action)
    del state.pending[:]
    state.pending.extend(keep)


def _keep_newest(state: ss.ScheduleRecordState, policy: int) -> None:
    same = [a for a in state.pending if st.overlap_policy(a, state.schedule) == policy]
    state.info.overlap_skipped += len(same) - 1
    newest = same[-1]
    newest.cancel_requested = newest.cancel_requested or any(a.cancel_requested for a in same)
    rest = [a for a in state.pending if st.overlap_policy(a, state.schedule) != policy]
    del state.pending[:]
    state.pending.extend([newest, *rest])


async def _start(state: ss.ScheduleRecordState, ctx: Pass, action: ss.PendingAction) -> bool:
    """Start the action's workflow (or find the one an earlier attempt started); False to retry later."""
    limits = state.schedule.state
    if limits.limited_actions and limits.remaining_actions <= 0:
        return True  # dropped: no actions left
    template = state.schedule.action.start_workflow
    workflow_id = st.workflow_id_for(template.workflow_id, action.nominal_time_ms)
    request = ws.StartWorkflowExecutionRequest(
        namespace=state.namespace,
        workflow_id=workflow_id,
        workflow_type=template.workflow_type,
        task_queue=template.task_queue,
        input=template.input,
        workflow_execution_timeout=template.workflow_execution_timeout,
        workflow_run_timeout=template.workflow_run_timeout,
        workflow_task_timeout=template.workflow_task_timeout,
        identity=IDENTITY,
        request_id=st.request_id_for(ctx.namespace_id, ctx.schedule_id, action.nominal_time_ms),
        workflow_id_reuse_policy=enums_pb2.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
    )
    for name in ("retry_policy", "memo", "search_attributes", "header"):
        if template.HasField(name):
            getattr(request, name).CopyFrom(getattr(template, name))
    try:
        response = await ctx.history.StartWorkflowExecution(
            hsvc.StartWorkflowExecutionRequest(namespace_id=ctx.namespace_id, start_request=request)
        )
    except WorkflowAlreadyStarted as err:
        # Someone else started this id with another request id: not ours to count.
        log.warning("schedule %s: %s; action at %d dropped", ctx.schedule_id, err, action.nominal_time_ms)
        return True
    except Unavailable:
        return False
    except ServiceError as err:
        log.warning(
            "schedule %s: start failed: %s; action at %d dropped",
            ctx.schedule_id,
            err,
            action.nominal_time_ms,
        )
        return True
    execution = common_pb2.WorkflowExecution(workflow_id=workflow_id, run_id=response.run_id)
    state.info.running_workflows.append(execution)
    state.info.action_count += 1
    if limits.limited_actions:
        limits.remaining_actions -= 1
    state.info.recent_actions.add(
        schedule_time=st.timestamp(action.nominal_time_ms),
        actual_time=st.timestamp(ctx.now_ms),
        start_workflow_result=execution,
        manual=action.manual,
    )
    del state.info.recent_actions[: -st.RECENT_ACTIONS]
    return True


def _cancel(state: ss.ScheduleRecordState, ctx: Pass, execution: common_pb2.WorkflowExecution) -> Any:
    return hsvc.RequestCancelWorkflowExecutionRequest(
        namespace_id=ctx.namespace_id,
        cancel_request=ws.RequestCancelWorkflowExecutionRequest(
            namespace=state.namespace,
            workflow_execution=execution,
            identity=IDENTITY,
            request_id=f"{execution.run_id}:schedule-cancel",
        ),
    )


def _terminate(state: ss.ScheduleRecordState, ctx: Pass, execution: common_pb2.WorkflowExecution) -> Any:
    return hsvc.TerminateWorkflowExecutionRequest(
        namespace_id=ctx.namespace_id,
        terminate_request=ws.TerminateWorkflowExecutionRequest(
            namespace=state.namespace,
            workflow_execution=execution,
            reason=f"schedule {ctx.schedule_id}: overlap policy TERMINATE_OTHER",
            identity=IDENTITY,
        ),
    )


async def _quietly(call: Any) -> None:
    try:
        await call
    except ServiceError as err:  # already closed, or gone: nothing to stop
        log.debug("schedule overlap call: %s", err)


def record_starts(state: ss.ScheduleRecordState, started: list[Any]) -> None:
    """Count ``started`` (ScheduleActionResults of a pass whose write was lost) in ``state``, once each."""
    known = {action.start_workflow_result.workflow_id for action in state.info.recent_actions}
    known |= {execution.workflow_id for execution in state.info.running_workflows}
    prefix = state.schedule.action.start_workflow.workflow_id
    for result in started:
        workflow_id = result.start_workflow_result.workflow_id
        if workflow_id in known:
            continue
        pending = [a for a in state.pending if st.workflow_id_for(prefix, a.nominal_time_ms) != workflow_id]
        del state.pending[:]
        state.pending.extend(pending)
        state.info.running_workflows.append(result.start_workflow_result)
        state.info.recent_actions.append(result)
        del state.info.recent_actions[: -st.RECENT_ACTIONS]
        state.info.action_count += 1
        if state.schedule.state.limited_actions:
            state.schedule.state.remaining_actions -= 1
