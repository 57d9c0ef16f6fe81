"""One running workflow: replays its history and runs its code, task by task.

The worker drives this class; nothing here knows about gRPC. The seam:

```python
class WorkflowInstance:
    def __init__(self, *, definition: WorkflowDefinition, namespace: str, task_queue: str,
                 workflow_id: str, run_id: str, workflow_type: str,
                 data_converter: legato.converter.DataConverter,
                 interceptor_classes: Sequence[type[WorkflowInboundInterceptor]] = ()) -> None
    def activate(self, events: Sequence[HistoryEvent]) -> list[Command]
    def query(self, query_type: str, args: Payloads, header: Header | None) -> Payloads
    last_started_event_id: int     # property
    is_completed: bool             # property
def get_workflow_definition(cls) -> WorkflowDefinition
```

``activate(events)`` takes every event not fed before: the full history on the
first call, only the new events on a sticky-cached instance (their first event
id must be ``last_started_event_id``'s task's last event + 1, otherwise
``StaleInstanceError`` tells the worker to rebuild the instance from the full
history). The events end with the WorkflowTaskStarted of the task at hand; the
returned commands answer that task. A ``NondeterminismError`` or any other
exception means the workflow *task* failed: the worker reports it and evicts
the instance. Only the payload and failure converters of the DataConverter are
used, synchronously; the worker applies the codec to whole messages.

How events are processed, one at a time, in history order:

* WorkflowTaskStarted: look ahead for the outcome of this task. If it was
  completed (WorkflowTaskCompleted follows) the code is re-run *replaying*: the
  commands it issues are queued and must match, in order, the command events
  that follow the WorkflowTaskCompleted. If it failed or timed out, nothing
  runs: its commands were discarded by the server and its inputs are delivered
  to the next task. If nothing follows, it is the task at hand: run the code
  and return its commands (queued too, to be matched when the next activation
  brings their events).
* Command events (ActivityTaskScheduled, TimerStarted, MarkerRecorded, ...):
  matched against the next queued command; a mismatch, or an event no command
  explains, is a ``NondeterminismError`` naming both. Commands still queued
  when the next task starts were not recorded: also nondeterminism.
* Everything else (activity/timer/child results, signals, cancel requests)
  resolves futures and schedules handler tasks. Events that arrive before a
  WorkflowTaskStarted are therefore all applied, in order, before the code of
  that task runs.

Completing the run produces the terminal command (complete, fail, cancel,
continue-as-new), always sent last. ``FailureError``s (and the definition's
``failure_exception_types``) fail the workflow; any other exception from the
run or a signal handler fails the workflow task, to be retried after a fix.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
import random
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from legato import exceptions as exc
from legato import interceptor as icp
from legato._workflow_commands import (
    COMMAND_EVENT_TYPES,
    LOCAL_ACTIVITY_MARKER,
    PATCH_MARKER,
    SIDE_EFFECT_MARKER,
    TERMINAL_COMMAND_TYPES,
    CommandEntry,
    describe_command,
    describe_event,
    matches,
)
from legato._workflow_defn import WorkflowDefinition, arg_hints, get_workflow_definition
from legato._workflow_handles import (
    ActivityHandle,
    ChildWorkflowHandle,
    ExternalRequest,
    ExternalWorkflowHandle,
)
from legato._workflow_local_activity import LocalActivities, LocalActivityOutcome
from legato._workflow_loop import WorkflowEventLoop, WorkflowTimerHandle, install_guards
from legato._workflow_types import (
    ActivityCancellationType,
    ChildWorkflowCancellationType,
    ContinueAsNewError,
    ParentInfo,
    ReadOnlyContextError,
    WorkflowInfo,
)
from legato._workflow_updates import WorkflowUpdates
from legato.api.v1 import command_pb2, common_pb2, enums_pb2, history_pb2, update_pb2
from legato.common import RetryPolicy, checked_duration
from legato.converter import DataConverter

__all__ = ["StaleInstanceError", "WorkflowInstance", "get_workflow_definition"]

E = enums_pb2
logger = logging.getLogger("legato.workflow")

_WFT_OUTCOMES = {
    E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: "completed",
    E.EVENT_TYPE_WORKFLOW_TASK_FAILED: "failed",
    E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT: "failed",
}
_ACTIVITY_RESULTS = frozenset(
    {
        E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
        E.EVENT_TYPE_ACTIVITY_TASK_FAILED,
        E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
        E.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
    }
)
_CHILD_EVENTS = frozenset(
    {
        E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED,
        E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED,
        E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
        E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED,
        E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED,
        E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
        E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED,
    }
)
_EXTERNAL_EVENTS = frozenset(
    {
        E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
        E.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED,
        E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
        E.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
    }
)


class StaleInstanceError(exc.LegatoError):
    """The cached instance cannot continue from these events; rebuild it from the full history."""


@dataclass(eq=False)
class _Timer:
    handle: WorkflowTimerHandle
    entry: CommandEntry
    recorded: bool = False
    fired: bool = False
    cancelled: bool = False


@dataclass(frozen=True)
class _Handler:
    fn: Callable[..., Any]
    arg_types: list[Any]


def _initiated_event_id(event: history_pb2.HistoryEvent) -> int:
    attrs = getattr(event, event.WhichOneof("attributes") or "")
    return int(attrs.initiated_event_id)


_T = TypeVar("_T")


def workflow_argument(build: Callable[[], _T]) -> _T:
    """``build()``, with its ValueError raised into the workflow as a non-retryable ApplicationError.

    A duration or retry policy the server would reject is a bug in the
    workflow's own call: the code can catch it where it called, and if it does
    not, the workflow fails with the reason instead of every workflow task
    failing (the server would reject the command on each attempt).
    """
    try:
        return build()
    except ValueError as err:
        raise exc.ApplicationError(str(err), type="ValueError", non_retryable=True) from None


def duration_into(value: timedelta | float | None, target: Any, *, field: str) -> None:
    """Set the Duration ``target`` from ``value`` (None leaves it unset), checked as ``workflow_argument``."""
    if value is None:
        return
    target.FromTimedelta(workflow_argument(lambda: checked_duration(value, field=field)))


def retry_policy_proto(policy: RetryPolicy) -> common_pb2.RetryPolicy:
    return workflow_argument(policy.to_proto)


class WorkflowInstance:
    """See the module docstring."""

    def __init__(
        self,
        *,
        definition: WorkflowDefinition,
        namespace: str,
        task_queue: str,
        workflow_id: str,
        run_id: str,
        workflow_type: str,
        data_converter: DataConverter,
        interceptor_classes: Sequence[type[icp.WorkflowInboundInterceptor]] = (),
    ) -> None:
        install_guards()
        self.definition = definition
        self.namespace = namespace
        self.payload_converter = data_converter.payload_converter
        self.failure_converter = data_converter.failure_converter
        self.loop = WorkflowEventLoop(self, clock=lambda: self._now_ts)
        self._info = WorkflowInfo(
            namespace=namespace,
            workflow_id=workflow_id,
            run_id=run_id,
            workflow_type=workflow_type,
            task_queue=task_queue,
        )
        seed = int.from_bytes(hashlib.sha256(run_id.encode()).digest()[:8], "big")
        self.random = random.Random(seed)
        self._now = datetime.fromtimestamp(0, UTC)
        self._now_ts = 0.0
        self._replaying = False
        self._last_event_id = 0
        self._last_started_event_id = 0
        self._last_completed_event_id = 0
        self._completed = False
        self._task_failure: BaseException | None = None

        self._new_commands: list[CommandEntry] = []
        self._awaiting: deque[CommandEntry] = deque()
        self._by_event_id: dict[int, Any] = {}  # scheduled/initiated event id -> handle
        self._timers: dict[str, _Timer] = {}
        self._activity_seq = 0
        self._timer_seq = 0
        self._side_effect_seq = 0
        self._patches: dict[str, bool] = {}
        self._recorded_patches: set[str] = set()
        self._recorded_side_effects: dict[str, common_pb2.Payloads] = {}
        self._conditions: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []
        self.local_activities = LocalActivities(self)

        self._object: Any = None
        self._run_input: icp.ExecuteWorkflowInput | None = None
        self._run_task: asyncio.Task[None] | None = None
        self._cancel_requested = False
        self._signal_handlers: dict[str, _Handler] = {}
        self._query_handlers: dict[str, _Handler] = {}
        self._buffered_signals: dict[str, list[history_pb2.WorkflowExecutionSignaledEventAttributes]] = {}
        self.updates = WorkflowUpdates(self)
        self.signal_handlers_running = 0

        root_inbound = _RootInbound(self)
        inbound: icp.WorkflowInboundInterceptor = root_inbound
        for cls in reversed(interceptor_classes):
            inbound = cls(inbound)
        self._inbound = inbound
        self.outbound: icp.WorkflowOutboundInterceptor = _RootOutbound(self)
        inbound.init(self.outbound)  # the root's init stores the (wrapped) outbound back

    # ---------------------------------------------------------------- seam

    @property
    def last_started_event_id(self) -> int:
        return self._last_started_event_id

    @property
    def is_completed(self) -> bool:
        return self._completed

    @property
    def info(self) -> WorkflowInfo:
        return self._info

    @property
    def is_replaying(self) -> bool:
        return self._replaying

    @property
    def now(self) -> datetime:
        return self._now

    @property
    def cancel_requested(self) -> bool:
        return self._cancel_requested

    def activate(self, events: Sequence[history_pb2.HistoryEvent]) -> list[command_pb2.Command]:
        if not events:
            raise ValueError("activate() needs at least the WorkflowTaskStarted event of the task at hand")
        if self._completed:
            raise StaleInstanceError("the workflow already completed; no more tasks can be processed")
        if events[0].event_id != self._last_event_id + 1:
            raise StaleInstanceError(
                f"expected event {self._last_event_id + 1} next but got {events[0].event_id}; "
                "rebuild the instance from the full history"
            )
        with self.loop.running():
            return self._process(events)

    def resolve_local_activity(self, seq: int, outcome: LocalActivityOutcome) -> list[command_pb2.Command]:
        """Deliver a local activity's outcome in the task at hand; returns the commands the code issued next."""
        with self.loop.running():
            self.local_activities.resolve(seq, outcome)
            return [entry.command for entry in self._run_until_blocked()]

    def query(
        self, query_type: str, args: common_pb2.Payloads, header: common_pb2.Header | None
    ) -> common_pb2.Payloads:
        handler = self._query_handlers.get(query_type)
        if handler is None:
            if query_type == "__stack_trace":
                return self.payload_converter.to_payloads([self._stack_trace()])
            known = ", ".join(sorted(self._query_handlers)) or "none"
            raise exc.WorkflowQueryFailedError(
                f"workflow {self.definition.name!r} has no query {query_type!r}; known queries: {known}"
            )
        with self.loop.running():
            self.loop.read_only = True
            try:
                decoded = self.payload_converter.from_payloads(args, handler.arg_types)
                headers = dict(header.fields) if header is not None else {}
                result = self._inbound.handle_query(icp.HandleQueryInput(query_type, decoded, headers))
                if inspect.isawaitable(result):
                    if inspect.iscoroutine(result):
                        result.close()
                    raise ReadOnlyContextError(
                        f"query handler {query_type!r} must be sync and must not await"
                    )
                return self.payload_converter.to_payloads([result])
            finally:
                self.loop.read_only = False

    def validate_update(self, update: update_pb2.UpdateInput) -> None:
        """Run the update's validator on the current state; raising rejects the update."""
        self.updates.validate(update)

    @property
    def all_handlers_finished(self) -> bool:
        return self.updates.running == 0 and self.signal_handlers_running == 0

    # ---------------------------------------------------------------- event processing

    def _process(self, events: Sequence[history_pb2.HistoryEvent]) -> list[command_pb2.Command]:
        answer: list[command_pb2.Command] = []
        last_type = events[-1].event_type
        for index, event in enumerate(events):
            t = event.event_type
            if t == E.EVENT_TYPE_WORKFLOW_TASK_STARTED:
                outcome = self._task_outcome(events, index)
                if outcome != "failed":
                    self._check_all_recorded(event)
                    self._replaying = outcome == "completed"
                    if self._replaying:
                        self._look_ahead(events, index)
                    self._set_time(event)
                    batch = self._run_until_blocked()
                    self._last_started_event_id = event.event_id
                    if outcome == "current":
                        answer = [entry.command for entry in batch]
            elif t in COMMAND_EVENT_TYPES:
                self._match(event)
            elif t == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                self._last_completed_event_id = event.event_id
            elif t in (E.EVENT_TYPE_WORKFLOW_TASK_FAILED, E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT):
                self._on_task_failed(event)
            else:
                self._apply(event)
            self._last_event_id = event.event_id
        if last_type != E.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            # A whole (e.g. closed) history, as the Replayer feeds: the last task's
            # commands must all have been recorded too.
            self._check_all_recorded(None)
        return answer

    @staticmethod
    def _task_outcome(events: Sequence[history_pb2.HistoryEvent], index: int) -> str:
        """ "completed", "failed" (or timed out) or "current" (no outcome yet: the task at hand)."""
        for later in range(index + 1, len(events)):
            event_type = events[later].event_type
            outcome = _WFT_OUTCOMES.get(event_type)
            if outcome is not None:
                return outcome
            if event_type == E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
                break
        return "current"

    def _on_task_failed(self, event: history_pb2.HistoryEvent) -> None:
        attrs = (
            event.workflow_task_failed_event_attributes
            if event.event_type == E.EVENT_TYPE_WORKFLOW_TASK_FAILED
            else event.workflow_task_timed_out_event_attributes
        )
        if attrs.started_event_id and attrs.started_event_id == self._last_started_event_id:
            raise StaleInstanceError(
                f"workflow task started at event {attrs.started_event_id} failed or timed out after this "
                "instance ran it; rebuild the instance from the full history"
            )

    def _look_ahead(self, events: Sequence[history_pb2.HistoryEvent], index: int) -> None:
        """Collect the markers the replayed task recorded: patched() and side_effect() need them."""
        self._recorded_patches.clear()
        self._recorded_side_effects.clear()
        for position in range(index + 1, len(events)):
            later = events[position]
            t = later.event_type
            if t in (E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, E.EVENT_TYPE_WORKFLOW_TASK_STARTED):
                break
            if t != E.EVENT_TYPE_MARKER_RECORDED:
                continue
            marker = later.marker_recorded_event_attributes
            if marker.marker_name == PATCH_MARKER:
                self._recorded_patches.add(self._marker_str(marker, "patch_id"))
            elif marker.marker_name == SIDE_EFFECT_MARKER:
                self._recorded_side_effects[self._marker_str(marker, "seq")] = marker.details["data"]
            elif marker.marker_name == LOCAL_ACTIVITY_MARKER:
                self.local_activities.note_marker(later)

    def _marker_str(self, marker: history_pb2.MarkerRecordedEventAttributes, key: str) -> str:
        return str(self.payload_converter.from_payloads(marker.details[key])[0])

    def _set_time(self, event: history_pb2.HistoryEvent) -> None:
        ts = event.event_time
        self._now_ts = ts.seconds + ts.nanos / 1e9
        self._now = datetime.fromtimestamp(ts.seconds, UTC) + timedelta(microseconds=ts.nanos // 1000)

    # ---------------------------------------------------------------- matching

    def nondeterminism(self, detail: str) -> exc.NondeterminismError:
        return self._nondeterminism(detail)

    def _nondeterminism(self, detail: str) -> exc.NondeterminismError:
        return exc.NondeterminismError(
            f"nondeterminism in workflow {self._info.workflow_id!r} (run {self._info.run_id}, "
            f"type {self.definition.name}) replaying the workflow task completed at event "
            f"{self._last_completed_event_id}: {detail}"
        )

    def _match(self, event: history_pb2.HistoryEvent) -> None:
        awaiting = self._awaiting
        while awaiting:
            entry = awaiting[0]
            if matches(entry.command, event):
                awaiting.popleft()
                if entry.on_recorded is not None:
                    entry.on_recorded(event)
                return
            if entry.obsolete is not None and entry.obsolete():
                awaiting.popleft()
                continue
            if self._is_deprecated_patch(event):
                return
            raise self._nondeterminism(
                f"history has {describe_event(event)} but the workflow code issued "
                f"{describe_command(entry.command)}"
            )
        if self._is_deprecated_patch(event):
            return
        raise self._nondeterminism(
            f"history has {describe_event(event)} but the workflow code issued no such command"
        )

    def _is_deprecated_patch(self, event: history_pb2.HistoryEvent) -> bool:
        if event.event_type != E.EVENT_TYPE_MARKER_RECORDED:
            return False
        marker = event.marker_recorded_event_attributes
        if marker.marker_name != PATCH_MARKER or "deprecated" not in marker.details:
            return False
        return bool(self.payload_converter.from_payloads(marker.details["deprecated"])[0])

    def _check_all_recorded(self, next_task_started: history_pb2.HistoryEvent | None) -> None:
        while self._awaiting:
            entry = self._awaiting.popleft()
            if entry.obsolete is not None and entry.obsolete():
                continue
            where = (
                f"before the next workflow task (event {next_task_started.event_id})"
                if next_task_started is not None
                else "by the end of the history"
            )
            raise self._nondeterminism(
                f"the workflow code issued {describe_command(entry.command)} but history has no matching "
                f"event {where}"
            )

    # ---------------------------------------------------------------- non-command events

    def _apply(self, event: history_pb2.HistoryEvent) -> None:
        t = event.event_type
        if t in _ACTIVITY_RESULTS:
            attrs = getattr(event, event.WhichOneof("attributes") or "")
            self._resolve(int(attrs.scheduled_event_id), event)
        elif t == E.EVENT_TYPE_TIMER_FIRED:
            timer = self._timers.pop(event.timer_fired_event_attributes.timer_id, None)
            if timer is not None:
                timer.fired = True  # also makes a CancelTimer racing with it obsolete
                if not timer.cancelled:
                    self.loop.schedule_handle(timer.handle)
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            self._on_signal(event.workflow_execution_signaled_event_attributes)
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            self.updates.on_accepted(event)
        elif t in _CHILD_EVENTS or t in _EXTERNAL_EVENTS:
            self._resolve(_initiated_event_id(event), event)
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
            self._cancel_requested = True
            if self._run_task is not None:
                self._run_task.cancel()
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            self._on_started(event)
        # Everything else (ActivityTaskStarted, WorkflowTaskScheduled, terminations...) changes nothing here.

    def _resolve(self, event_id: int, event: history_pb2.HistoryEvent) -> None:
        target = self._by_event_id.get(event_id)
        if target is None:
            raise self._nondeterminism(
                f"history has {describe_event(event)} for event {event_id}, which the workflow code never issued"
            )
        target.resolve(event)
        if event.event_type != E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
            del self._by_event_id[event_id]

    def register_by_event_id(self, event_id: int, target: Any) -> None:
        self._by_event_id[event_id] = target

    def _on_started(self, event: history_pb2.HistoryEvent) -> None:
        a = event.workflow_execution_started_event_attributes
        pc = self.payload_converter
        parent = None
        if a.HasField("parent_workflow_execution"):
            parent = ParentInfo(
                namespace=a.parent_workflow_namespace,
                workflow_id=a.parent_workflow_execution.workflow_id,
                run_id=a.parent_workflow_execution.run_id,
            )
        self._set_time(event)
        self._info = replace(
            self._info,
            workflow_type=a.workflow_type.name or self._info.workflow_type,
            task_queue=a.task_queue.name or self._info.task_queue,
            attempt=a.attempt or 1,
            cron_schedule=a.cron_schedule or None,
            continued_run_id=a.continued_execution_run_id or None,
            first_execution_run_id=a.first_execution_run_id or self._info.run_id,
            parent=parent,
            start_time=self._now,
            execution_timeout=a.workflow_execution_timeout.ToTimedelta()
            if a.HasField("workflow_execution_timeout")
            else None,
            run_timeout=a.workflow_run_timeout.ToTimedelta() if a.HasField("workflow_run_timeout") else None,
            task_timeout=a.workflow_task_timeout.ToTimedelta()
            if a.HasField("workflow_task_timeout")
            else None,
            retry_policy=RetryPolicy.from_proto(a.retry_policy) if a.HasField("retry_policy") else None,
            memo={k: pc.from_payload(v) for k, v in a.memo.fields.items()},
            search_attributes={k: pc.from_payload(v) for k, v in a.search_attributes.indexed_fields.items()},
            headers=dict(a.header.fields),
            last_completion_result=a.last_completion_result if a.HasField("last_completion_result") else None,
        )
        defn = self.definition
        args = pc.from_payloads(a.input, defn.arg_types)
        self._object = defn.cls(*args) if defn.init_takes_args else defn.cls()
        for name, signal in defn.signals.items():
            self._signal_handlers[name] = _Handler(signal.fn.__get__(self._object), signal.arg_types)
        for name, query in defn.queries.items():
            self._query_handlers[name] = _Handler(query.fn.__get__(self._object), query.arg_types)
        self.updates.bind(self._object)
        self._run_input = icp.ExecuteWorkflowInput(
            workflow_type=defn.name,
            run_fn=defn.run_fn.__get__(self._object),
            args=args,
            headers=dict(a.header.fields),
        )

    # ---------------------------------------------------------------- signals

    def _on_signal(self, attrs: history_pb2.WorkflowExecutionSignaledEventAttributes) -> None:
        handler = self._signal_handlers.get(attrs.signal_name)
        if handler is None:
            if not self._replaying:
                logger.warning(
                    "workflow %s (%s) has no handler for signal %r; buffering it until one is set",
                    self._info.workflow_id,
                    self.definition.name,
                    attrs.signal_name,
                )
            self._buffered_signals.setdefault(attrs.signal_name, []).append(attrs)
            return
        self._dispatch_signal(attrs, handler)

    def _dispatch_signal(
        self, attrs: history_pb2.WorkflowExecutionSignaledEventAttributes, handler: _Handler
    ) -> None:
        try:
            args = self.payload_converter.from_payloads(attrs.input, handler.arg_types)
        except exc.PayloadConversionError as err:
            logger.warning("dropping signal %r: cannot decode its arguments: %s", attrs.signal_name, err)
            return
        signal_input = icp.HandleSignalInput(attrs.signal_name, args, dict(attrs.header.fields))
        self.signal_handlers_running += 1
        self.loop.create_task(self._run_signal(signal_input))

    async def _run_signal(self, signal_input: icp.HandleSignalInput) -> None:
        try:
            await self._inbound.handle_signal(signal_input)
        except asyncio.CancelledError:
            pass
        except BaseException as err:  # noqa: B036 - ContinueAsNewError is a BaseException
            self._finish_with_error(err)
        finally:
            self.signal_handlers_running -= 1

    def set_signal_handler(self, name: str, fn: Callable[..., Any] | None) -> None:
        self.check_writable()
        if fn is None:
            self._signal_handlers.pop(name, None)
            return
        handler = _Handler(fn, arg_hints(fn))
        self._signal_handlers[name] = handler
        for attrs in self._buffered_signals.pop(name, []):
            self._dispatch_signal(attrs, handler)

    def set_query_handler(self, name: str, fn: Callable[..., Any] | None) -> None:
        if fn is None:
            self._query_handlers.pop(name, None)
        else:
            self._query_handlers[name] = _Handler(fn, arg_hints(fn))

    def get_signal_handler(self, name: str) -> _Handler | None:
        return self._signal_handlers.get(name)

    def get_query_handler(self, name: str) -> _Handler | None:
        return self._query_handlers.get(name)

    # ---------------------------------------------------------------- running code

    def _run_until_blocked(self) -> list[CommandEntry]:
        """Run workflow code until every coroutine waits on something; return the commands issued."""
        if self._run_task is None and self._run_input is not None:
            self._run_task = self.loop.create_task(self._run_workflow(self._run_input))
            if self._cancel_requested:
                # After its first step: a task cancelled before it starts never runs our except.
                self.loop.call_soon(self._run_task.cancel)
        if not self._completed:
            self.loop.run_until_idle(self._check_conditions, self._should_stop)
            # Replaying: local activities resolve from their markers, one at a time, as in the original run.
            while self._replaying and not self._should_stop() and self.local_activities.resolve_recorded():
                self.loop.run_until_idle(self._check_conditions, self._should_stop)
        if self._task_failure is not None:
            error, self._task_failure = self._task_failure, None
            raise error
        batch = [entry for entry in self._new_commands if not entry.dropped]
        self._new_commands = []
        terminal = [e for e in batch if e.command.command_type in TERMINAL_COMMAND_TYPES]
        if terminal:
            batch = [e for e in batch if e.command.command_type not in TERMINAL_COMMAND_TYPES] + terminal[:1]
        self._awaiting.extend(batch)
        return batch

    def _should_stop(self) -> bool:
        return self._completed or self._task_failure is not None

    def _check_conditions(self) -> bool:
        """Wake every ``wait_condition`` whose predicate now holds; True if any woke."""
        woke = False
        for fn, future in self._conditions:
            if future.done():
                continue
            try:
                ok = fn()
            except Exception as err:
                future.set_exception(err)
                woke = True
                continue
            if ok:
                future.set_result(None)
                woke = True
        if woke or any(f.done() for _, f in self._conditions):
            self._conditions = [(fn, f) for fn, f in self._conditions if not f.done()]
        return woke

    async def wait_condition(self, fn: Callable[[], bool], timeout: float | None) -> None:  # noqa: ASYNC109
        if fn():
            return
        future: asyncio.Future[None] = self.loop.create_future()
        self._conditions.append((fn, future))
        if timeout is None:
            await future
        else:
            await asyncio.wait_for(future, timeout)

    async def _run_workflow(self, run_input: icp.ExecuteWorkflowInput) -> None:
        try:
            result = await self._inbound.execute_workflow(run_input)
        except BaseException as err:  # noqa: B036 - CancelledError and ContinueAsNewError included
            self._finish_with_error(err)
            return
        try:
            payloads = self.payload_converter.to_payloads([result])
        except Exception as err:
            self._task_failure = err
            return
        command = command_pb2.Command(command_type=E.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION)
        command.complete_workflow_execution_command_attributes.result.CopyFrom(payloads)
        self._finish(command)

    def _finish_with_error(self, err: BaseException) -> None:
        if self._completed:
            return
        if isinstance(err, ContinueAsNewError):
            command = command_pb2.Command(command_type=E.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION)
            command.continue_as_new_workflow_execution_command_attributes.CopyFrom(err.attributes)
            self._finish(command)
        elif self._cancel_requested and _is_cancellation(err):
            self._finish(
                command_pb2.Command(
                    command_type=E.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION,
                    cancel_workflow_execution_command_attributes={},
                )
            )
        elif isinstance(err, asyncio.CancelledError):
            self._task_failure = RuntimeError(
                "the workflow's run method was cancelled although no cancellation was requested"
            )
        elif isinstance(err, Exception) and self.definition.is_failure_exception(err):
            command = command_pb2.Command(command_type=E.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION)
            command.fail_workflow_execution_command_attributes.failure.CopyFrom(
                self.failure_converter.to_failure(err, self.payload_converter)
            )
            self._finish(command)
        else:
            self._task_failure = err

    def _finish(self, command: command_pb2.Command) -> None:
        self.add_command(CommandEntry(command))
        self._completed = True
        for name, signals in self._buffered_signals.items():
            if not self._replaying:
                logger.warning(
                    "workflow %s closed with %d unhandled signal(s) %r: dropped",
                    self._info.workflow_id,
                    len(signals),
                    name,
                )

    def _stack_trace(self) -> str:
        lines = []
        for task in asyncio.all_tasks(self.loop):
            lines.append(f"task {task.get_name()}:")
            awaited: Any = task.get_coro()
            while awaited is not None:  # follow the chain of awaits down to the innermost
                frame = getattr(awaited, "cr_frame", None)
                if frame is not None:
                    lines.append(f"  {frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}")
                awaited = getattr(awaited, "cr_await", None)
        return "\n".join(lines)

    # ---------------------------------------------------------------- commands (for workflow code)

    def check_writable(self) -> None:
        if self.loop.read_only:
            raise ReadOnlyContextError("a query handler must not issue commands or change workflow state")

    def add_command(self, entry: CommandEntry) -> None:
        self.check_writable()
        if self._completed and entry.command.command_type not in TERMINAL_COMMAND_TYPES:
            return  # the workflow already closed; nothing more is sent
        self._new_commands.append(entry)

    # timers (called by the loop for call_later/call_at)

    def start_timer(self, handle: WorkflowTimerHandle, delay: float) -> None:
        self.check_writable()
        command = command_pb2.Command(command_type=E.COMMAND_TYPE_START_TIMER)
        attrs = command.start_timer_command_attributes
        # Checked before taking a timer id, so a caught error leaves no trace.
        duration_into(delay, attrs.start_to_fire_timeout, field="timer duration (sleep or timeout)")
        self._timer_seq += 1
        timer_id = str(self._timer_seq)
        attrs.timer_id = timer_id
        timer = _Timer(handle, CommandEntry(command))
        timer.entry.on_recorded = lambda _event: setattr(timer, "recorded", True)
        handle.timer_id = timer_id
        self._timers[timer_id] = timer
        self.add_command(timer.entry)

    def cancel_timer(self, handle: WorkflowTimerHandle) -> None:
        timer = self._timers.get(handle.timer_id or "")
        if timer is None or timer.fired or timer.cancelled:
            return
        self.check_writable()
        timer.cancelled = True
        if not timer.recorded:
            timer.entry.dropped = True
            del self._timers[handle.timer_id or ""]
            return
        command = command_pb2.Command(command_type=E.COMMAND_TYPE_CANCEL_TIMER)
        command.cancel_timer_command_attributes.timer_id = handle.timer_id or ""
        # The timer may fire before the server sees the cancel; then it may drop the command.
        timer_id = handle.timer_id or ""
        self.add_command(
            CommandEntry(
                command,
                on_recorded=lambda _event: self._forget_timer(timer_id),
                obsolete=lambda: timer.fired,
            )
        )

    def _forget_timer(self, timer_id: str) -> None:
        self._timers.pop(timer_id, None)

    # activities

    def start_activity(self, start: icp.StartActivityInput) -> ActivityHandle[Any]:
        self.check_writable()
        options = start.options
        self._activity_seq += 1
        command = command_pb2.Command(command_type=E.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK)
        attrs = command.schedule_activity_task_command_attributes
        attrs.activity_id = options.get("activity_id") or str(self._activity_seq)
        attrs.activity_type.name = start.activity_type
        attrs.task_queue.name = options.get("task_queue") or self._info.task_queue
        for key, value in start.headers.items():
            attrs.header.fields[key].CopyFrom(value)
        attrs.input.CopyFrom(self.payload_converter.to_payloads(start.args))
        for name in (
            "schedule_to_close_timeout",
            "schedule_to_start_timeout",
            "start_to_close_timeout",
            "heartbeat_timeout",
        ):
            duration_into(options.get(name), getattr(attrs, name), field=name)
        retry_policy = options.get("retry_policy")
        if retry_policy is not None:
            attrs.retry_policy.CopyFrom(retry_policy_proto(retry_policy))
        return ActivityHandle(
            self,
            command,
            cancellation_type=options.get("cancellation_type", ActivityCancellationType.TRY_CANCEL),
            result_type=options.get("result_type"),
        )

    # child workflows

    def start_child_workflow(self, start: icp.StartChildWorkflowInput) -> ChildWorkflowHandle[Any]:
        self.check_writable()
        options = start.options
        command = command_pb2.Command(command_type=E.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION)
        attrs = command.start_child_workflow_execution_command_attributes
        attrs.namespace = options.get("namespace") or self.namespace
        attrs.workflow_id = start.workflow_id
        attrs.workflow_type.name = start.workflow_type
        attrs.task_queue.name = options.get("task_queue") or self._info.task_queue
        attrs.input.CopyFrom(self.payload_converter.to_payloads(start.args))
        duration_into(
            options.get("execution_timeout"), attrs.workflow_execution_timeout, field="execution_timeout"
        )
        duration_into(options.get("run_timeout"), attrs.workflow_run_timeout, field="run_timeout")
        duration_into(options.get("task_timeout"), attrs.workflow_task_timeout, field="task_timeout")
        if options.get("parent_close_policy") is not None:
            attrs.parent_close_policy = int(options["parent_close_policy"])  # type: ignore[assignment]
        if options.get("id_reuse_policy") is not None:
            attrs.workflow_id_reuse_policy = int(options["id_reuse_policy"])  # type: ignore[assignment]
        if options.get("retry_policy") is not None:
            attrs.retry_policy.CopyFrom(retry_policy_proto(options["retry_policy"]))
        attrs.cron_schedule = options.get("cron_schedule") or ""
        for key, value in start.headers.items():
            attrs.header.fields[key].CopyFrom(value)
        for key, memo_value in (options.get("memo") or {}).items():
            attrs.memo.fields[key].CopyFrom(self.payload_converter.to_payload(memo_value))
        for key, sa_value in (options.get("search_attributes") or {}).items():
            attrs.search_attributes.indexed_fields[key].CopyFrom(self.payload_converter.to_payload(sa_value))
        return ChildWorkflowHandle(
            self,
            command,
            cancellation_type=options.get(
                "cancellation_type", ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED
            ),
            result_type=options.get("result_type"),
        )

    # external workflows

    def signal_external(
        self,
        workflow_id: str,
        run_id: str,
        signal: str,
        args: Sequence[Any],
        *,
        namespace: str,
        child_workflow_only: bool = False,
    ) -> asyncio.Future[None]:
        self.check_writable()
        command = command_pb2.Command(command_type=E.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION)
        attrs = command.signal_external_workflow_execution_command_attributes
        attrs.namespace = namespace
        attrs.execution.workflow_id = workflow_id
        attrs.execution.run_id = run_id
        attrs.signal_name = signal
        attrs.input.CopyFrom(self.payload_converter.to_payloads(args))
        attrs.child_workflow_only = child_workflow_only
        return ExternalRequest(self, command, f"signal {signal!r} to workflow {workflow_id!r}").future

    def request_cancel_external(
        self, workflow_id: str, run_id: str, *, namespace: str, child_workflow_only: bool = False
    ) -> asyncio.Future[None]:
        self.check_writable()
        command = command_pb2.Command(command_type=E.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION)
        attrs = command.request_cancel_external_workflow_execution_command_attributes
        attrs.namespace = namespace
        attrs.workflow_id = workflow_id
        attrs.run_id = run_id
        attrs.child_workflow_only = child_workflow_only
        return ExternalRequest(self, command, f"cancellation request to workflow {workflow_id!r}").future

    def external_handle(
        self, workflow_id: str, run_id: str | None, namespace: str | None
    ) -> ExternalWorkflowHandle:
        return ExternalWorkflowHandle(self, workflow_id, run_id, namespace or self.namespace)

    # markers

    def _record_marker(self, name: str, details: Mapping[str, common_pb2.Payloads]) -> None:
        command = command_pb2.Command(command_type=E.COMMAND_TYPE_RECORD_MARKER)
        attrs = command.record_marker_command_attributes
        attrs.marker_name = name
        for key, value in details.items():
            attrs.details[key].CopyFrom(value)
        self.add_command(CommandEntry(command))

    def patched(self, patch_id: str, *, deprecated: bool) -> bool:
        known = self._patches.get(patch_id)
        if known is not None:
            return known
        self.check_writable()
        # New code path unless replaying a task that ran before the patch existed.
        use_new = not self._replaying or patch_id in self._recorded_patches
        self._patches[patch_id] = use_new
        if use_new:
            pc = self.payload_converter
            self._record_marker(
                PATCH_MARKER,
                {"patch_id": pc.to_payloads([patch_id]), "deprecated": pc.to_payloads([deprecated])},
            )
        return use_new

    def side_effect(self, fn: Callable[[], Any], result_type: Any) -> Any:
        self.check_writable()
        self._side_effect_seq += 1
        seq = str(self._side_effect_seq)
        pc = self.payload_converter
        if self._replaying:
            data = self._recorded_side_effects.get(seq)
            if data is None:
                raise self._nondeterminism(
                    f"side_effect #{seq} was called but history recorded no such marker"
                )
        else:
            data = pc.to_payloads([fn()])
        self._record_marker(SIDE_EFFECT_MARKER, {"seq": pc.to_payloads([seq]), "data": data})
        return pc.from_payloads(data, [result_type])[0]

    # properties

    def upsert_memo(self, values: Mapping[str, Any]) -> None:
        self.check_writable()
        command = command_pb2.Command(command_type=E.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES)
        fields = command.modify_workflow_properties_command_attributes.upserted_memo.fields
        memo = dict(self._info.memo)
        for key, value in values.items():
            fields[key].CopyFrom(self.payload_converter.to_payload(value))
            if value is None:
                memo.pop(key, None)
            else:
                memo[key] = value
        self._info = replace(self._info, memo=memo)
        self.add_command(CommandEntry(command))

    def upsert_search_attributes(self, values: Mapping[str, Any]) -> None:
        self.check_writable()
        command = command_pb2.Command(command_type=E.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES)
        fields = command.upsert_workflow_search_attributes_command_attributes.search_attributes.indexed_fields
        attributes = dict(self._info.search_attributes)
        for key, value in values.items():
            fields[key].CopyFrom(self.payload_converter.to_payload(value))
            if value is None:
                attributes.pop(key, None)
            else:
                attributes[key] = value
        self._info = replace(self._info, search_attributes=attributes)
        self.add_command(CommandEntry(command))

    def uuid4(self) -> uuid.UUID:
        return uuid.UUID(int=self.random.getrandbits(128), version=4)


def _is_cancellation(err: BaseException) -> bool:
    """Did the run end because of the cancellation request (directly or through an activity/child)?"""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, asyncio.CancelledError | exc.CancelledError):
            return True
        if not isinstance(seen, exc.ActivityError | exc.ChildWorkflowError):
            return False
        seen = seen.__cause__
    return False


class _RootInbound(icp.WorkflowInboundInterceptor):
    """The innermost inbound interceptor: calls the user's methods."""

    def __init__(self, instance: WorkflowInstance) -> None:
        self._instance = instance

    def init(self, outbound: icp.WorkflowOutboundInterceptor) -> None:
        self._instance.outbound = outbound

    async def execute_workflow(self, input: icp.ExecuteWorkflowInput) -> Any:
        return await input.run_fn(*input.args)

    async def handle_signal(self, input: icp.HandleSignalInput) -> None:
        handler = self._instance.get_signal_handler(input.signal_name)
        if handler is None:
            return
        result = handler.fn(*input.args)
        if inspect.isawaitable(result):
            await result

    def handle_query(self, input: icp.HandleQueryInput) -> Any:
        handler = self._instance.get_query_handler(input.query_name)
        if handler is None:
            raise exc.WorkflowQueryFailedError(f"no query handler {input.query_name!r}")
        return handler.fn(*input.args)

    def handle_update_validator(self, input: icp.HandleUpdateInput) -> None:
        self._instance.updates.run_validator(input)

    async def handle_update_handler(self, input: icp.HandleUpdateInput) -> Any:
        return await self._instance.updates.run_handler(input)


class _RootOutbound(icp.WorkflowOutboundInterceptor):
    """The innermost outbound interceptor: turns calls into commands."""

    def __init__(self, instance: WorkflowInstance) -> None:
        self._instance = instance

    def start_activity(self, input: icp.StartActivityInput) -> Any:
        return self._instance.start_activity(input)

    def start_child_workflow(self, input: icp.StartChildWorkflowInput) -> Any:
        return self._instance.start_child_workflow(input)
