"""What each timer task does when it fires.

Every executor first checks that what the task refers to is still as it was
when the task was written (same timer, same activity attempt, same workflow
task attempt, run still open); otherwise the task is stale and dropped. That
check is what makes canceling a timer or completing an activity cheap: their
timer tasks are left in the queue and simply do nothing.
"""

from __future__ import annotations

import logging

from legato.api.v1 import common_pb2, enums_pb2, history_pb2
from legato_server.common.errors import FailedPrecondition
from legato_server.history.operations.delete import delete_closed_run
from legato_server.history.operations.history_read import read_started_event
from legato_server.history.shards.engine import HistoryEngine
from legato_server.history.shards.shard import Shard
from legato_server.history.workflow import events as ev
from legato_server.history.workflow.activity_state import (
    dispatch_activity,
    fail_or_retry_activity,
    timeout_failure,
)
from legato_server.history.workflow.mutable_state import MutableState
from legato_server.history.workflow.workflow_run import (
    build_new_run,
    close_run,
    plan_cron,
    plan_retry,
    spec_from_started,
)
from legato_server.internal.v1 import history_state_pb2 as hs

log = logging.getLogger(__name__)
ET = enums_pb2.EventType
TT = enums_pb2.TimeoutType
INITIATOR = enums_pb2.ContinueAsNewInitiator


async def execute_timer_task(
    engine: HistoryEngine, shard: Shard, task: hs.TimerTaskInfo, fire_ms: int
) -> None:
    key = (task.namespace_id, task.workflow_id, task.run_id)
    kind = task.task_type
    if kind == hs.TIMER_TASK_TYPE_DELETE_EXECUTION:
        await _delete_execution(engine, shard, task)
        return
    retention_ms = 0
    if kind == hs.TIMER_TASK_TYPE_WORKFLOW_TIMEOUT:
        retention_ms = await engine.retention_ms(task.namespace_id)

    async def action(ms: MutableState) -> None:
        if not ms.is_running:
            return
        if kind == hs.TIMER_TASK_TYPE_USER_TIMER:
            _fire_user_timer(ms, task)
        elif kind == hs.TIMER_TASK_TYPE_ACTIVITY_TIMEOUT:
            _activity_timeout(ms, task)
        elif kind == hs.TIMER_TASK_TYPE_ACTIVITY_RETRY:
            info = ms.state.activities.get(task.event_id)
            if info is not None and info.attempt == task.attempt and not info.started:
                dispatch_activity(ms, info)
        elif kind == hs.TIMER_TASK_TYPE_WORKFLOW_TASK_TIMEOUT:
            _workflow_task_timeout(ms, task)
        elif kind == hs.TIMER_TASK_TYPE_WORKFLOW_TASK_RETRY:
            wt = ms.wt
            if (
                wt.scheduled_event_id == task.event_id
                and wt.attempt == task.attempt
                and not wt.started_event_id
            ):
                ms.dispatch_workflow_task()
        elif kind == hs.TIMER_TASK_TYPE_WORKFLOW_BACKOFF:
            if ms.wt.waiting_for_backoff:
                ms.wt.waiting_for_backoff = False
                ms.schedule_workflow_task()
        elif kind == hs.TIMER_TASK_TYPE_WORKFLOW_TIMEOUT:
            await _workflow_timeout(shard, ms, retention_ms)
        else:
            log.warning("unknown timer task type %s; dropped", kind)

    await shard.update(key, action)


def _fire_user_timer(ms: MutableState, task: hs.TimerTaskInfo) -> None:
    timer = ms.state.timers.get(task.timer_id)
    if timer is None or timer.started_event_id != task.event_id:
        return
    del ms.state.timers[task.timer_id]
    ms.add_external_event(
        ms.new_event(
            ET.EVENT_TYPE_TIMER_FIRED,
            history_pb2.TimerFiredEventAttributes(timer_id=task.timer_id, started_event_id=task.event_id),
        )
    )


def _activity_timeout(ms: MutableState, task: hs.TimerTaskInfo) -> None:
    info = ms.state.activities.get(task.event_id)
    if info is None:
        return
    tt = task.timeout_type
    if tt != TT.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE:
        if info.attempt != task.attempt:
            return
        if tt == TT.TIMEOUT_TYPE_SCHEDULE_TO_START and info.started:
            return
        if tt in (TT.TIMEOUT_TYPE_START_TO_CLOSE, TT.TIMEOUT_TYPE_HEARTBEAT) and not info.started:
            return
    if tt == TT.TIMEOUT_TYPE_HEARTBEAT:
        last = (
            ev.ts_ms(info.last_heartbeat_time)
            if info.HasField("last_heartbeat_time")
            else ev.ts_ms(info.started_time)
        )
        deadline = last + ev.duration_ms(info.heartbeat_timeout)
        if deadline > ms.now_ms:
            # Heartbeats arrived meanwhile: check again at the new deadline.
            ms.add_timer_task(
                deadline,
                hs.TIMER_TASK_TYPE_ACTIVITY_TIMEOUT,
                event_id=info.scheduled_event_id,
                attempt=info.attempt,
                timeout_type=TT.TIMEOUT_TYPE_HEARTBEAT,
            )
            return
    fail_or_retry_activity(ms, info, failure=timeout_failure(info, tt), identity="", timeout_type=tt)


def _workflow_task_timeout(ms: MutableState, task: hs.TimerTaskInfo) -> None:
    wt = ms.wt
    if wt.scheduled_event_id != task.event_id or wt.attempt != task.attempt:
        return
    if task.timeout_type == TT.TIMEOUT_TYPE_START_TO_CLOSE and wt.started_event_id:
        ms.fail_workflow_task(
            cause=enums_pb2.WORKFLOW_TASK_FAILED_CAUSE_UNSPECIFIED,
            timeout_type=TT.TIMEOUT_TYPE_START_TO_CLOSE,
        )
    elif task.timeout_type == TT.TIMEOUT_TYPE_SCHEDULE_TO_START and not wt.started_event_id:
        # The sticky worker did not pick it up: send it to the normal queue.
        ms.fail_workflow_task(
            cause=enums_pb2.WORKFLOW_TASK_FAILED_CAUSE_UNSPECIFIED,
            timeout_type=TT.TIMEOUT_TYPE_SCHEDULE_TO_START,
        )


async def _workflow_timeout(shard: Shard, ms: MutableState, retention_ms: int) -> None:
    failure = common_pb2.Failure(message="workflow run timed out", source="LegatoServer")
    failure.timeout_failure_info.timeout_type = TT.TIMEOUT_TYPE_START_TO_CLOSE
    backoff, retry_state = plan_retry(ms, failure)
    initiator = INITIATOR.CONTINUE_AS_NEW_INITIATOR_RETRY
    if backoff is None:
        backoff = plan_cron(ms)
        initiator = INITIATOR.CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE
    attrs = history_pb2.WorkflowExecutionTimedOutEventAttributes(retry_state=retry_state)
    spec = None
    if backoff is not None:
        spec = spec_from_started(ms, await read_started_event(shard, ms))
        spec.initiator = initiator
        spec.first_task_backoff_ms = backoff
        spec.continued_failure = failure
        if initiator == INITIATOR.CONTINUE_AS_NEW_INITIATOR_RETRY:
            spec.attempt = ms.info.attempt + 1
        attrs.new_execution_run_id = spec.run_id
    close_run(
        ms,
        ET.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
        attrs,
        status=enums_pb2.WORKFLOW_EXECUTION_STATUS_TIMED_OUT,
        retention_ms=retention_ms,
    )
    if spec is not None:
        ms.new_run = build_new_run(spec, now_ms=ms.now_ms)


async def _delete_execution(engine: HistoryEngine, shard: Shard, task: hs.TimerTaskInfo) -> None:
    try:
        await delete_closed_run(shard, (task.namespace_id, task.workflow_id, task.run_id))
    except FailedPrecondition:
        return  # never delete an open run
