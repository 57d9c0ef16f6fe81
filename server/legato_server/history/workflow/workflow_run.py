"""Creating runs and closing them: the two ends of a run's life.

``build_new_run`` makes the mutable state of a run that starts now, for every
way a run starts: a client start, signal-with-start, a child start,
continue-as-new, a workflow retry and the next cron run. It writes
WorkflowExecutionStarted, the first workflow task (or, with a first-task
backoff, a timer that schedules it later), the run/execution timeout timer and
the visibility record task.

``close_run`` writes the close event and everything a closed run owes: the
close transfer task (visibility, parent notification, parent close policy) and
the deletion timer at close + retention. When a failed or timed-out run is to
be retried, or a cron workflow has a next run, the caller creates that run in
the same transaction (``MutableState.new_run``) and the close event names it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

from legato.api.v1 import common_pb2, enums_pb2, history_pb2
from legato_server.common import tracing
from legato_server.history.workflow import events as ev
from legato_server.history.workflow.cron import parse_cron
from legato_server.history.workflow.mutable_state import MutableState, new_mutable_state
from legato_server.history.workflow.retry import next_retry_delay_ms
from legato_server.internal.v1 import history_service_pb2 as hsvc
from legato_server.internal.v1 import history_state_pb2 as hs

ET = enums_pb2.EventType
STATUS = enums_pb2.WorkflowExecutionStatus
RS = enums_pb2.RetryState
SDK_TRACE_HEADER = "_tracer-data"
"""Where the SDK's TracingInterceptor keeps the W3C carrier (a json/plain payload) in headers."""


@dataclass
class RunSpec:
    """Everything a new run starts with."""

    namespace_id: str
    namespace: str
    workflow_id: str
    workflow_type: str
    task_queue: str
    run_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    input: common_pb2.Payloads | None = None
    execution_timeout_ms: int = 0
    run_timeout_ms: int = 0
    task_timeout_ms: int = 0
    identity: str = ""
    request_id: str = ""
    retry_policy: common_pb2.RetryPolicy | None = None
    cron_schedule: str = ""
    memo: common_pb2.Memo | None = None
    search_attributes: common_pb2.SearchAttributes | None = None
    header: common_pb2.Header | None = None
    first_task_backoff_ms: int = 0
    parent: hsvc.ParentExecutionInfo | None = None
    # Set for runs that follow an earlier one (continue-as-new, retry, cron).
    continued_execution_run_id: str = ""
    initiator: enums_pb2.ContinueAsNewInitiator = enums_pb2.CONTINUE_AS_NEW_INITIATOR_UNSPECIFIED
    continued_failure: common_pb2.Failure | None = None
    last_completion_result: common_pb2.Payloads | None = None
    first_execution_run_id: str = ""
    attempt: int = 1
    execution_expiration_ms: int = 0  # 0 = computed from execution_timeout_ms
    signal: history_pb2.WorkflowExecutionSignaledEventAttributes | None = None
    # The trace context of the run this one follows (continue-as-new, retry, cron).
    previous_trace_context: dict[str, str] | None = None
    # Eager start: the first workflow task is started for the caller in the
    # creating write (no dispatch through matching); only without a backoff.
    eager_start: bool = False


def build_new_run(spec: RunSpec, *, now_ms: int) -> MutableState:
    expiration_ms = spec.execution_expiration_ms
    if not expiration_ms and spec.execution_timeout_ms:
        expiration_ms = now_ms + spec.execution_timeout_ms
    run_timeout_ms = spec.run_timeout_ms or spec.execution_timeout_ms
    info = hs.ExecutionInfo(
        namespace_id=spec.namespace_id,
        namespace=spec.namespace,
        workflow_id=spec.workflow_id,
        run_id=spec.run_id,
        first_execution_run_id=spec.first_execution_run_id or spec.run_id,
        workflow_type_name=spec.workflow_type,
        task_queue=spec.task_queue,
        start_time=ev.timestamp(now_ms),
        execution_time=ev.timestamp(now_ms + spec.first_task_backoff_ms),
        create_request_id=spec.request_id,
        attempt=spec.attempt,
        cron_schedule=spec.cron_schedule,
    )
    if spec.execution_timeout_ms:
        info.workflow_execution_timeout.CopyFrom(ev.duration(spec.execution_timeout_ms / 1000))
    if run_timeout_ms:
        info.workflow_run_timeout.CopyFrom(ev.duration(run_timeout_ms / 1000))
    if spec.task_timeout_ms:
        info.workflow_task_timeout.CopyFrom(ev.duration(spec.task_timeout_ms / 1000))
    if expiration_ms:
        info.execution_expiration_time.CopyFrom(ev.timestamp(expiration_ms))
    if spec.retry_policy is not None:
        info.retry_policy.CopyFrom(spec.retry_policy)
    if spec.memo is not None:
        info.memo.CopyFrom(spec.memo)
    if spec.search_attributes is not None:
        info.search_attributes.CopyFrom(spec.search_attributes)
    if spec.parent is not None and spec.parent.namespace_id:
        info.parent_namespace_id = spec.parent.namespace_id
        info.parent_namespace = spec.parent.namespace
        info.parent_execution.CopyFrom(spec.parent.execution)
        info.parent_initiated_event_id = spec.parent.initiated_event_id

    if tracing.is_on():
        _set_trace_context(spec, info)
    ms = new_mutable_state(info, now_ms=now_ms)
    ms.append_event(
        ms.new_event(ET.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, _started_attributes(spec, ms, now_ms))
    )
    if spec.signal is not None:
        ms.append_event(ms.new_event(ET.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, spec.signal))
    if spec.first_task_backoff_ms > 0:
        ms.wt.waiting_for_backoff = True
        ms.add_timer_task(now_ms + spec.first_task_backoff_ms, hs.TIMER_TASK_TYPE_WORKFLOW_BACKOFF)
    elif spec.eager_start:
        ms.schedule_workflow_task(dispatch=False)
        ms.start_workflow_task(request_id=spec.request_id or str(uuid.uuid4()), identity=spec.identity)
    else:
        ms.schedule_workflow_task()
    deadlines = [
        d
        for d in (run_timeout_ms and now_ms + spec.first_task_backoff_ms + run_timeout_ms, expiration_ms)
        if d
    ]
    if deadlines:
        ms.add_timer_task(min(deadlines), hs.TIMER_TASK_TYPE_WORKFLOW_TIMEOUT)
    ms.add_transfer_task(hs.TRANSFER_TASK_TYPE_RECORD_STARTED)
    return ms


def _set_trace_context(spec: RunSpec, info: hs.ExecutionInfo) -> None:
    """The run's trace context; a run in a new trace also gets it in the SDK's header.

    The SDK's workers parent their spans to the ``_tracer-data`` header of
    WorkflowExecutionStarted. A run that continues an earlier one copies that
    header, which names the earlier trace; when this run starts a new trace
    (``continue_as_new: link``) the header is pointed at it, so the workers'
    spans of this run join this run's trace.
    """
    new_trace = tracing.run_trace_context(
        workflow_type=spec.workflow_type,
        workflow_id=spec.workflow_id,
        run_id=spec.run_id,
        previous=spec.previous_trace_context,
        out=info.trace_context,
    )
    if new_trace and spec.header is not None and SDK_TRACE_HEADER in spec.header.fields:
        header = common_pb2.Header()
        header.CopyFrom(spec.header)
        carrier = tracing.w3c_only(info.trace_context)
        header.fields[SDK_TRACE_HEADER].CopyFrom(
            common_pb2.Payload(
                metadata={"encoding": b"json/plain"}, data=json.dumps(carrier, separators=(",", ":")).encode()
            )
        )
        spec.header = header


def _started_attributes(
    spec: RunSpec, ms: MutableState, now_ms: int
) -> history_pb2.WorkflowExecutionStartedEventAttributes:
    info = ms.info
    attrs = history_pb2.WorkflowExecutionStartedEventAttributes(
        workflow_type=common_pb2.WorkflowType(name=spec.workflow_type),
        task_queue=ms.normal_task_queue(),
        workflow_execution_timeout=info.workflow_execution_timeout,
        workflow_run_timeout=info.workflow_run_timeout,
        workflow_task_timeout=ev.duration(ms.workflow_task_timeout()),
        continued_execution_run_id=spec.continued_execution_run_id,
        initiator=spec.initiator,
        original_execution_run_id=spec.run_id,
        identity=spec.identity,
        first_execution_run_id=info.first_execution_run_id,
        attempt=spec.attempt,
        cron_schedule=spec.cron_schedule,
    )
    if spec.input is not None:
        attrs.input.CopyFrom(spec.input)
    if spec.continued_failure is not None:
        attrs.continued_failure.CopyFrom(spec.continued_failure)
    if spec.last_completion_result is not None:
        attrs.last_completion_result.CopyFrom(spec.last_completion_result)
    if spec.retry_policy is not None:
        attrs.retry_policy.CopyFrom(spec.retry_policy)
    if info.HasField("execution_expiration_time"):
        attrs.workflow_execution_expiration_time.CopyFrom(info.execution_expiration_time)
    if spec.first_task_backoff_ms:
        attrs.first_workflow_task_backoff.CopyFrom(ev.duration(spec.first_task_backoff_ms / 1000))
    if spec.memo is not None:
        attrs.memo.CopyFrom(spec.memo)
    if spec.search_attributes is not None:
        attrs.search_attributes.CopyFrom(spec.search_attributes)
    if spec.header is not None:
        attrs.header.CopyFrom(spec.header)
    if info.parent_namespace_id:
        attrs.parent_workflow_namespace = info.parent_namespace
        attrs.parent_workflow_execution.CopyFrom(info.parent_execution)
        attrs.parent_initiated_event_id = info.parent_initiated_event_id
    return attrs


def close_run(
    ms: MutableState,
    event_type: enums_pb2.EventType,
    attributes: object,
    *,
    status: enums_pb2.WorkflowExecutionStatus,
    retention_ms: int,
) -> history_pb2.HistoryEvent:
    """Write the close event (after any buffered events) and what a closed run owes."""
    ms.flush_buffered_events()
    event = ms.append_event(ms.new_event(event_type, attributes))
    info = ms.info
    info.status = status
    info.close_time.CopyFrom(ev.timestamp(ms.now_ms))
    info.close_event_id = event.event_id
    ms.clear_workflow_task()
    ms.add_transfer_task(hs.TRANSFER_TASK_TYPE_CLOSE_EXECUTION)
    ms.add_timer_task(ms.now_ms + retention_ms, hs.TIMER_TASK_TYPE_DELETE_EXECUTION)
    return event


def spec_from_started(
    ms: MutableState, started: history_pb2.WorkflowExecutionStartedEventAttributes
) -> RunSpec:
    """A spec for the next run of this workflow (retry or cron), same inputs and options."""
    info = ms.info
    parent = None
    if info.parent_namespace_id:
        parent = hsvc.ParentExecutionInfo(
            namespace_id=info.parent_namespace_id,
            namespace=info.parent_namespace,
            execution=info.parent_execution,
            initiated_event_id=info.parent_initiated_event_id,
        )
    return RunSpec(
        namespace_id=info.namespace_id,
        namespace=info.namespace,
        workflow_id=info.workflow_id,
        workflow_type=info.workflow_type_name,
        task_queue=info.task_queue,
        input=started.input,
        execution_timeout_ms=ev.duration_ms(info.workflow_execution_timeout),
        run_timeout_ms=ev.duration_ms(info.workflow_run_timeout),
        task_timeout_ms=ev.duration_ms(info.workflow_task_timeout),
        retry_policy=info.retry_policy if info.HasField("retry_policy") else None,
        cron_schedule=info.cron_schedule,
        memo=info.memo,
        search_attributes=info.search_attributes,
        header=started.header,
        parent=parent,
        previous_trace_context=dict(info.trace_context) if info.trace_context else None,
        continued_execution_run_id=info.run_id,
        first_execution_run_id=info.first_execution_run_id,
        execution_expiration_ms=ev.ts_ms(info.execution_expiration_time)
        if info.HasField("execution_expiration_time")
        else 0,
    )


def plan_retry(
    ms: MutableState, failure: common_pb2.Failure | None
) -> tuple[int | None, enums_pb2.RetryState]:
    """(backoff before the retry run, or None; RetryState) for a failed or timed-out run."""
    info = ms.info
    if not info.HasField("retry_policy"):
        return None, RS.RETRY_STATE_RETRY_POLICY_NOT_SET
    deadline = ev.ts_ms(info.execution_expiration_time) if info.HasField("execution_expiration_time") else 0
    return next_retry_delay_ms(
        info.retry_policy, attempt=info.attempt, failure=failure, now_ms=ms.now_ms, deadline_ms=deadline
    )


def plan_cron(ms: MutableState) -> int | None:
    """Backoff until the next cron run, or None if not a cron workflow (or past its deadline)."""
    info = ms.info
    if not info.cron_schedule:
        return None
    next_ms = parse_cron(info.cron_schedule).next_after_ms(ms.now_ms)
    if info.HasField("execution_expiration_time") and next_ms >= ev.ts_ms(info.execution_expiration_time):
        return None
    return next_ms - ms.now_ms
