"""The mutable state of one run, and the change being built against it.

A ``MutableState`` wraps the persisted ``MutableState`` proto plus everything
one transaction adds: new history events, new transfer tasks and new timer
tasks. Operations mutate it in place under the execution's lock; the shard then
writes state + events + tasks in one store call (transactional outbox). If
anything fails before the write, the shard drops the cached object and the
next operation reloads it from the store, so a failed operation changes nothing.

Event ordering rules kept here:

* While a workflow task is started, events caused by the outside world
  (signals, activity results, fired timers, child results, cancel requests)
  are *buffered* without ids. They enter history after the task's closing event
  (and after the events of its commands), so a worker always sees
  WorkflowTaskStarted immediately followed by its outcome.
* An event that the workflow must react to schedules a workflow task if none
  is pending; if one is running, the buffered event causes a new one when the
  running task ends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from legato.api.v1 import common_pb2, enums_pb2, history_pb2
from legato_server.history.workflow import events as ev
from legato_server.internal.v1 import history_state_pb2 as hs
from legato_server.persistence.interface import ExecutionState

ET = enums_pb2.EventType
STATUS = enums_pb2.WorkflowExecutionStatus
RUNNING = STATUS.WORKFLOW_EXECUTION_STATUS_RUNNING
DEFAULT_WORKFLOW_TASK_TIMEOUT_S = 10.0
# A workflow task that keeps failing (a bug in the workflow or worker) is retried
# at once twice, then with a backoff doubling from 1s up to a minute, so a broken
# worker does not spin the shard and grow the history as fast as it can fail.
IMMEDIATE_WORKFLOW_TASK_ATTEMPTS = 2
# How many committed events a cached run keeps for the next workflow task and
# the close-event read (``recent_events``); past it, the oldest go first and
# readers fall back to the store.
MAX_RECENT_EVENTS = 128
MAX_WORKFLOW_TASK_RETRY_DELAY_MS = 60_000


def workflow_task_retry_delay_ms(attempt: int) -> int:
    retries = attempt - 1
    if retries <= IMMEDIATE_WORKFLOW_TASK_ATTEMPTS:
        return 0
    return min(1000 * 2 ** (retries - IMMEDIATE_WORKFLOW_TASK_ATTEMPTS - 1), MAX_WORKFLOW_TASK_RETRY_DELAY_MS)


@dataclass(slots=True)
class PendingTimer:
    visibility_time_ms: int
    info: hs.TimerTaskInfo


@dataclass
class MutableState:
    state: hs.MutableState
    # db_version as read from the store; 0 for a run not written yet.
    db_version: int
    now_ms: int = 0
    new_events: list[history_pb2.HistoryEvent] = field(default_factory=list)
    transfer_tasks: list[hs.TransferTaskInfo] = field(default_factory=list)
    timer_tasks: list[PendingTimer] = field(default_factory=list)
    dirty: bool = False
    # A run created in the same transaction (continue-as-new, retry, cron).
    new_run: MutableState | None = None
    # Committed events, consecutive ids, newest last: the ones after the last
    # completed workflow task's start (what a sticky task's history and the close
    # event read need), so those reads do not go back to the store for what this
    # process just wrote. Not persisted: a run loaded from the store starts empty.
    recent_events: list[history_pb2.HistoryEvent] = field(default_factory=list)

    # ------------------------------------------------------------ identity

    @property
    def info(self) -> hs.ExecutionInfo:
        return self.state.execution_info

    @property
    def wt(self) -> hs.WorkflowTaskInfo:
        return self.state.workflow_task

    @property
    def namespace_id(self) -> str:
        return self.info.namespace_id

    @property
    def workflow_id(self) -> str:
        return self.info.workflow_id

    @property
    def run_id(self) -> str:
        return self.info.run_id

    def execution(self) -> common_pb2.WorkflowExecution:
        return common_pb2.WorkflowExecution(workflow_id=self.workflow_id, run_id=self.run_id)

    @property
    def is_running(self) -> bool:
        return self.info.status == RUNNING

    @property
    def next_event_id(self) -> int:
        return self.info.next_event_id

    def store_state(self) -> ExecutionState:
        if not self.is_running:
            return ExecutionState.COMPLETED
        if self.info.last_completed_workflow_task_started_event_id == 0:
            return ExecutionState.CREATED
        return ExecutionState.RUNNING

    def mark_dirty(self) -> None:
        self.dirty = True

    @property
    def has_changes(self) -> bool:
        return self.dirty or bool(self.new_events or self.transfer_tasks or self.timer_tasks)

    def remember_committed_events(self) -> None:
        """After a commit: keep ``new_events`` in ``recent_events``, without what no task needs again."""
        recent = self.recent_events
        if self.new_events:
            if recent and recent[-1].event_id + 1 != self.new_events[0].event_id:
                recent.clear()
            recent.extend(self.new_events)
        floor = self.info.last_completed_workflow_task_started_event_id
        drop = 0
        while drop < len(recent) and recent[drop].event_id <= floor:
            drop += 1
        drop = max(drop, len(recent) - MAX_RECENT_EVENTS)
        if drop:
            del recent[:drop]

    def events_between(self, first_event_id: int, end_event_id: int) -> list[history_pb2.HistoryEvent] | None:
        """Events ``first_event_id <= id < end_event_id`` from memory, or None when some are not held.

        Held are the recent committed events and this update's own (which the
        caller uses only once they are committed).
        """
        if first_event_id >= end_event_id:
            return []
        held = self.recent_events
        if self.new_events:
            if held and held[-1].event_id + 1 == self.new_events[0].event_id:
                held = held + self.new_events
            else:
                held = self.new_events
        if not held:
            return None
        base = held[0].event_id
        if base > first_event_id or held[-1].event_id < end_event_id - 1:
            return None
        if held[-1].event_id - base + 1 != len(held):
            return None  # not consecutive: never expected, but then the store answers
        return held[first_event_id - base : end_event_id - base]

    def clear_pending(self) -> None:
        self.new_events = []
        self.transfer_tasks = []
        self.timer_tasks = []
        self.dirty = False
        self.new_run = None

    # ------------------------------------------------------------ events

    def append_event(self, event: history_pb2.HistoryEvent) -> history_pb2.HistoryEvent:
        """Give the event the next id and put it in history now.

        A transient workflow task is written first: its events hold the ids
        reserved for them, and nothing may come between.
        """
        if self.workflow_task_transient:
            self._write_transient_workflow_task()
        event.event_id = self.info.next_event_id
        self.info.next_event_id += 1
        self.new_events.append(event)
        self.dirty = True
        return event

    def add_external_event(
        self, event: history_pb2.HistoryEvent, *, wake: bool = True
    ) -> history_pb2.HistoryEvent:
        """An event the workflow must see and react to (signal, activity result, ...).

        Buffered while a workflow task is running; otherwise written now, and a
        workflow task is scheduled if none is pending.
        """
        if self.workflow_task_started:
            self.state.buffered_events.append(event)
            self.dirty = True
            return event
        self.append_event(event)
        if wake:
            self.ensure_workflow_task()
        return event

    def flush_buffered_events(self) -> int:
        """Move buffered events into history (after the current events); return how many."""
        buffered = list(self.state.buffered_events)
        if not buffered:
            return 0
        del self.state.buffered_events[:]
        for event in buffered:
            self.append_event(event)
            if event.event_type == ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
                child = self.state.children.get(
                    event.child_workflow_execution_started_event_attributes.initiated_event_id
                )
                if child is not None:
                    child.started_event_id = event.event_id
        ev.resolve_pending_started_ids(buffered)
        return len(buffered)

    def has_buffered_event(
        self, event_type: enums_pb2.EventType, predicate: Callable[[Any], bool] | None = None
    ) -> bool:
        return any(
            e.event_type == event_type and (predicate is None or predicate(ev.attributes_of(e)))
            for e in self.state.buffered_events
        )

    def remove_buffered_events(
        self, event_type: enums_pb2.EventType, predicate: Callable[[Any], bool]
    ) -> int:
        keep = [
            e
            for e in self.state.buffered_events
            if not (e.event_type == event_type and predicate(ev.attributes_of(e)))
        ]
        removed = len(self.state.buffered_events) - len(keep)
        if removed:
            del self.state.buffered_events[:]
            self.state.buffered_events.extend(keep)
            self.dirty = True
        return removed

    def new_event(self, event_type: enums_pb2.EventType, attributes: object) -> history_pb2.HistoryEvent:
        return ev.new_event(event_type, attributes, time_ms=self.now_ms)

    # ------------------------------------------------------------ tasks

    def add_transfer_task(self, task_type: Any, *, event_id: int = 0, **fields: Any) -> None:
        task = hs.TransferTaskInfo(
            task_type=task_type,
            namespace_id=self.namespace_id,
            workflow_id=self.workflow_id,
            run_id=self.run_id,
            event_id=event_id,
            **fields,
        )
        if self.state.execution_info.trace_context:  # empty unless tracing is on
            task.trace_context.update(self.state.execution_info.trace_context)
        self.transfer_tasks.append(task)

    def add_timer_task(self, fire_time_ms: int, task_type: Any, **fields: Any) -> None:
        info = hs.TimerTaskInfo(
            task_type=task_type,
            namespace_id=self.namespace_id,
            workflow_id=self.workflow_id,
            run_id=self.run_id,
            **fields,
        )
        if self.state.execution_info.trace_context:
            info.trace_context.update(self.state.execution_info.trace_context)
        self.timer_tasks.append(PendingTimer(fire_time_ms, info))

    # ------------------------------------------------------------ workflow task

    @property
    def workflow_task_pending(self) -> bool:
        return self.wt.scheduled_event_id > 0

    @property
    def workflow_task_started(self) -> bool:
        return self.wt.scheduled_event_id > 0 and self.wt.started_event_id > 0

    @property
    def workflow_task_transient(self) -> bool:
        """A retry of a failed workflow task whose events are not in history (yet).

        After a workflow task fails, the next attempts (until one completes or
        something else happens to the run) write nothing: their
        WorkflowTaskScheduled/Started events are built from ``wt`` for the
        worker (``transient_workflow_task_events``) and written, with the ids
        reserved for them, only when the attempt completes or another event
        must be written. Their failures are not written at all, only counted
        in ``wt.attempt``. So a workflow stuck on a bug keeps one failure in its
        history, not three events per attempt (Temporal's transient tasks).
        """
        return self.wt.scheduled_event_id >= self.info.next_event_id > 0

    def transient_workflow_task_events(self) -> list[history_pb2.HistoryEvent]:
        """The events of a transient task as they will be written (what the worker must see)."""
        wt = self.wt
        scheduled = ev.new_event(
            ET.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
            history_pb2.WorkflowTaskScheduledEventAttributes(
                task_queue=wt.task_queue, start_to_close_timeout=wt.start_to_close_timeout, attempt=wt.attempt
            ),
            time_ms=ev.ts_ms(wt.scheduled_time),
        )
        scheduled.event_id = wt.scheduled_event_id
        if not wt.started_event_id:
            return [scheduled]
        started = ev.new_event(
            ET.EVENT_TYPE_WORKFLOW_TASK_STARTED,
            history_pb2.WorkflowTaskStartedEventAttributes(
                scheduled_event_id=wt.scheduled_event_id, identity=wt.identity, request_id=wt.request_id
            ),
            time_ms=ev.ts_ms(wt.started_time),
        )
        started.event_id = wt.started_event_id
        return [scheduled, started]

    def _write_transient_workflow_task(self) -> None:
        for event in self.transient_workflow_task_events():
            assert event.event_id == self.info.next_event_id, "a transient task's reserved ids were taken"
            self.info.next_event_id += 1
            self.new_events.append(event)
        self.dirty = True

    def workflow_task_timeout(self) -> float:
        d = self.info.workflow_task_timeout
        seconds = d.seconds + d.nanos / 1e9
        return seconds if seconds > 0 else DEFAULT_WORKFLOW_TASK_TIMEOUT_S

    def normal_task_queue(self) -> common_pb2.TaskQueue:
        return common_pb2.TaskQueue(name=self.info.task_queue, kind=enums_pb2.TASK_QUEUE_KIND_NORMAL)

    def ensure_workflow_task(self) -> None:
        """Schedule a workflow task unless one is pending or the run cannot take one."""
        if self.is_running and not self.workflow_task_pending and not self.wt.waiting_for_backoff:
            self.schedule_workflow_task()

    def schedule_workflow_task(
        self, *, attempt: int = 1, use_sticky: bool = True, dispatch: bool = True, transient: bool = False
    ) -> int:
        """Write WorkflowTaskScheduled and the transfer task dispatching it; return its id.

        ``transient``: reserve the event's id but do not write it (a retry
        after a failure; see ``workflow_task_transient``).
        """
        timeout_s = self.workflow_task_timeout()
        sticky = use_sticky and bool(self.info.sticky_task_queue)
        if sticky:
            queue = common_pb2.TaskQueue(
                name=self.info.sticky_task_queue,
                kind=enums_pb2.TASK_QUEUE_KIND_STICKY,
                normal_name=self.info.task_queue,
            )
        else:
            queue = self.normal_task_queue()
        event = self.new_event(
            ET.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
            history_pb2.WorkflowTaskScheduledEventAttributes(
                task_queue=queue, start_to_close_timeout=ev.duration(timeout_s), attempt=attempt
            ),
        )
        if transient:
            event.event_id = self.info.next_event_id
            self.dirty = True
        else:
            self.append_event(event)
        self.wt.CopyFrom(
            hs.WorkflowTaskInfo(
                scheduled_event_id=event.event_id,
                attempt=attempt,
                task_queue=queue,
                scheduled_time=ev.timestamp(self.now_ms),
                start_to_close_timeout=ev.duration(timeout_s),
            )
        )
        if not dispatch:
            return event.event_id  # started inline by the caller (return_new_workflow_task)
        delay_ms = workflow_task_retry_delay_ms(attempt)
        if delay_ms:
            self.add_timer_task(
                self.now_ms + delay_ms,
                hs.TIMER_TASK_TYPE_WORKFLOW_TASK_RETRY,
                event_id=event.event_id,
                attempt=attempt,
            )
            return event.event_id
        self.dispatch_workflow_task()
        return event.event_id

    def dispatch_workflow_task(self) -> None:
        """The transfer task handing the pending workflow task to matching."""
        queue = self.wt.task_queue
        transfer_fields: dict[str, Any] = {"task_queue": queue}
        if queue.kind == enums_pb2.TASK_QUEUE_KIND_STICKY:
            s2s = self.info.sticky_schedule_to_start_timeout
            transfer_fields["schedule_to_start_timeout"] = s2s
            if ev.duration_ms(s2s) > 0:
                self.add_timer_task(
                    self.now_ms + ev.duration_ms(s2s),
                    hs.TIMER_TASK_TYPE_WORKFLOW_TASK_TIMEOUT,
                    event_id=self.wt.scheduled_event_id,
                    attempt=self.wt.attempt,
                    timeout_type=enums_pb2.TIMEOUT_TYPE_SCHEDULE_TO_START,
                )
        self.add_transfer_task(
            hs.TRANSFER_TASK_TYPE_WORKFLOW_TASK, event_id=self.wt.scheduled_event_id, **transfer_fields
        )

    def start_workflow_task(self, *, request_id: str, identity: str) -> None:
        """Write WorkflowTaskStarted (a transient task only records it in ``wt``) and its timeout."""
        if self.workflow_task_transient:
            self.wt.started_event_id = self.wt.scheduled_event_id + 1
            self.dirty = True
        else:
            event = self.append_event(
                self.new_event(
                    ET.EVENT_TYPE_WORKFLOW_TASK_STARTED,
                    history_pb2.WorkflowTaskStartedEventAttributes(
                        scheduled_event_id=self.wt.scheduled_event_id,
                        identity=identity,
                        request_id=request_id,
                    ),
                )
            )
            self.wt.started_event_id = event.event_id
        self.wt.request_id = request_id
        self.wt.identity = identity
        self.wt.started_time.CopyFrom(ev.timestamp(self.now_ms))
        self.add_timer_task(
            self.now_ms + ev.duration_ms(self.wt.start_to_close_timeout),
            hs.TIMER_TASK_TYPE_WORKFLOW_TASK_TIMEOUT,
            event_id=self.wt.scheduled_event_id,
            attempt=self.wt.attempt,
            timeout_type=enums_pb2.TIMEOUT_TYPE_START_TO_CLOSE,
        )

    def clear_workflow_task(self) -> None:
        self.wt.CopyFrom(hs.WorkflowTaskInfo())

    def clear_sticky(self) -> None:
        self.info.sticky_task_queue = ""
        self.info.ClearField("sticky_schedule_to_start_timeout")
        self.dirty = True

    def fail_workflow_task(
        self,
        *,
        cause: enums_pb2.WorkflowTaskFailedCause,
        failure: common_pb2.Failure | None = None,
        identity: str = "",
        timeout_type: enums_pb2.TimeoutType = enums_pb2.TIMEOUT_TYPE_UNSPECIFIED,
    ) -> None:
        """End the current workflow task unsuccessfully and schedule the next attempt.

        A started task gets WorkflowTaskFailed (or TimedOut for timeouts); the
        retry goes to the normal queue (the sticky worker may have lost its
        cache) with attempt + 1, as a transient task. A transient task's own
        failure writes nothing unless events arrived meanwhile (then its
        events and the failure are written, and the workflow sees the news in
        a normal task).
        """
        scheduled_id = self.wt.scheduled_event_id
        started_id = self.wt.started_event_id
        attempt = self.wt.attempt
        # A schedule-to-start timeout on a sticky queue is not the worker's fault.
        next_attempt = 1 if timeout_type == enums_pb2.TIMEOUT_TYPE_SCHEDULE_TO_START else attempt + 1
        if self.workflow_task_transient and not self.state.buffered_events:
            self.clear_workflow_task()
            self.clear_sticky()
            self.schedule_workflow_task(attempt=next_attempt, use_sticky=False, transient=True)
            return
        if timeout_type:
            self.append_event(
                self.new_event(
                    ET.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
                    history_pb2.WorkflowTaskTimedOutEventAttributes(
                        scheduled_event_id=scheduled_id,
                        started_event_id=started_id,
                        timeout_type=timeout_type,
                    ),
                )
            )
        else:
            attrs = history_pb2.WorkflowTaskFailedEventAttributes(
                scheduled_event_id=scheduled_id, started_event_id=started_id, cause=cause, identity=identity
            )
            if failure is not None:
                attrs.failure.CopyFrom(failure)
            self.append_event(self.new_event(ET.EVENT_TYPE_WORKFLOW_TASK_FAILED, attrs))
        self.clear_workflow_task()
        self.clear_sticky()
        flushed = self.flush_buffered_events()
        self.schedule_workflow_task(
            attempt=next_attempt, use_sticky=False, transient=next_attempt > 1 and not flushed
        )


def new_mutable_state(info: hs.ExecutionInfo, *, now_ms: int) -> MutableState:
    state = hs.MutableState()
    state.execution_info.CopyFrom(info)
    state.execution_info.next_event_id = 1
    state.execution_info.status = RUNNING
    ms = MutableState(state=state, db_version=0, now_ms=now_ms)
    ms.dirty = True
    return ms


def load_mutable_state(data: bytes, *, db_version: int) -> MutableState:
    state = hs.MutableState()
    state.ParseFromString(data)
    return MutableState(state=state, db_version=db_version)
