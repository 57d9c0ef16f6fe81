"""Hand-built histories and a tiny fake server for driving ``WorkflowInstance``.

``HistoryBuilder`` appends events the way the history service would, with ids
that start at 1 and have no gaps and a clock that moves only when told.
``record(commands)`` writes WorkflowTaskCompleted plus the event each command
turns into, so a test can play server: run a task, record its commands, add
results, run the next task.

``Driver`` wraps that loop around one sticky instance, and ``replay`` rebuilds
a fresh instance from the whole history, as a worker does on a cache miss.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from legato._workflow_defn import get_workflow_definition
from legato._workflow_instance import WorkflowInstance
from legato.api.v1 import command_pb2, common_pb2, enums_pb2, history_pb2
from legato.converter import DataConverter, PayloadConverter

E = enums_pb2
C = enums_pb2
PC = PayloadConverter()
START = datetime(2024, 1, 1, tzinfo=UTC)

_ATTRIBUTE_FIELD = {
    value: f"{name.removeprefix('EVENT_TYPE_').lower()}_event_attributes"
    for name, value in E.EventType.items()
    if value
}


def payloads(*values: Any) -> common_pb2.Payloads:
    return PC.to_payloads(values)


def decode(p: common_pb2.Payloads) -> list[Any]:
    return PC.from_payloads(p)


def application_failure(message: str, type: str = "Boom", non_retryable: bool = False) -> common_pb2.Failure:
    failure = common_pb2.Failure(message=message)
    failure.application_failure_info.type = type
    failure.application_failure_info.non_retryable = non_retryable
    return failure


class HistoryBuilder:
    def __init__(self, workflow_type: str, *args: Any, task_queue: str = "tq", **started: Any) -> None:
        self.events: list[history_pb2.HistoryEvent] = []
        self.time = START
        self._scheduled_by_activity_id: dict[str, int] = {}
        self._initiated_by_child_id: dict[str, int] = {}
        self._last_task_scheduled = 0
        self._last_task_started = 0
        attrs = history_pb2.WorkflowExecutionStartedEventAttributes(**started)
        attrs.workflow_type.name = workflow_type
        attrs.task_queue.name = task_queue
        attrs.input.CopyFrom(payloads(*args))
        self.add(E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, attrs)

    # ---------------------------------------------------------------- basics

    def add(self, event_type: int, attrs: Any = None) -> history_pb2.HistoryEvent:
        event = history_pb2.HistoryEvent(event_id=len(self.events) + 1, event_type=event_type)  # type: ignore[arg-type]
        event.event_time.FromDatetime(self.time)
        field = _ATTRIBUTE_FIELD[event_type]
        if attrs is not None:
            getattr(event, field).CopyFrom(attrs)
        else:
            getattr(event, field).SetInParent()
        self.events.append(event)
        return event

    @property
    def last_id(self) -> int:
        return len(self.events)

    def advance(self, seconds: float) -> None:
        self.time += timedelta(seconds=seconds)

    def history(self) -> history_pb2.History:
        return history_pb2.History(events=self.events)

    # ---------------------------------------------------------------- workflow tasks

    def task(self) -> int:
        """WorkflowTaskScheduled + WorkflowTaskStarted; returns the started event id."""
        self._last_task_scheduled = self.add(E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED).event_id
        started = self.add(
            E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
            history_pb2.WorkflowTaskStartedEventAttributes(scheduled_event_id=self._last_task_scheduled),
        )
        self._last_task_started = started.event_id
        return started.event_id

    def task_failed(self) -> None:
        self.add(
            E.EVENT_TYPE_WORKFLOW_TASK_FAILED,
            history_pb2.WorkflowTaskFailedEventAttributes(
                scheduled_event_id=self._last_task_scheduled, started_event_id=self._last_task_started
            ),
        )

    def task_timed_out(self) -> None:
        self.add(
            E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
            history_pb2.WorkflowTaskTimedOutEventAttributes(
                scheduled_event_id=self._last_task_scheduled, started_event_id=self._last_task_started
            ),
        )

    def record(self, commands: Sequence[command_pb2.Command]) -> None:
        """WorkflowTaskCompleted and one event per command, as the server writes them."""
        completed = self.add(
            E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
            history_pb2.WorkflowTaskCompletedEventAttributes(
                scheduled_event_id=self._last_task_scheduled, started_event_id=self._last_task_started
            ),
        )
        for command in commands:
            self._record_command(command, completed.event_id)

    def _record_command(self, command: command_pb2.Command, completed_id: int) -> None:
        t = command.command_type
        if t == C.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK:
            a = command.schedule_activity_task_command_attributes
            self.activity_scheduled(a.activity_type.name, a.activity_id)
        elif t == C.COMMAND_TYPE_START_TIMER:
            s = command.start_timer_command_attributes
            self.add(
                E.EVENT_TYPE_TIMER_STARTED,
                history_pb2.TimerStartedEventAttributes(
                    timer_id=s.timer_id,
                    start_to_fire_timeout=s.start_to_fire_timeout,
                    workflow_task_completed_event_id=completed_id,
                ),
            )
        elif t == C.COMMAND_TYPE_CANCEL_TIMER:
            self.add(
                E.EVENT_TYPE_TIMER_CANCELED,
                history_pb2.TimerCanceledEventAttributes(
                    timer_id=command.cancel_timer_command_attributes.timer_id,
                    workflow_task_completed_event_id=completed_id,
                ),
            )
        elif t == C.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK:
            self.add(
                E.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED,
                history_pb2.ActivityTaskCancelRequestedEventAttributes(
                    scheduled_event_id=command.request_cancel_activity_task_command_attributes.scheduled_event_id,
                    workflow_task_completed_event_id=completed_id,
                ),
            )
        elif t == C.COMMAND_TYPE_RECORD_MARKER:
            m = command.record_marker_command_attributes
            attrs = history_pb2.MarkerRecordedEventAttributes(
                marker_name=m.marker_name, workflow_task_completed_event_id=completed_id
            )
            for key, value in m.details.items():
                attrs.details[key].CopyFrom(value)
            self.add(E.EVENT_TYPE_MARKER_RECORDED, attrs)
        elif t == C.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION:
            c = command.start_child_workflow_execution_command_attributes
            event = self.add(
                E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
                history_pb2.StartChildWorkflowExecutionInitiatedEventAttributes(
                    namespace=c.namespace,
                    workflow_id=c.workflow_id,
                    workflow_type=c.workflow_type,
                    task_queue=c.task_queue,
                    input=c.input,
                    workflow_task_completed_event_id=completed_id,
                ),
            )
            self._initiated_by_child_id[c.workflow_id] = event.event_id
        elif t == C.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION:
            s2 = command.signal_external_workflow_execution_command_attributes
            self.add(
                E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
                history_pb2.SignalExternalWorkflowExecutionInitiatedEventAttributes(
                    namespace=s2.namespace,
                    workflow_execution=s2.execution,
                    signal_name=s2.signal_name,
                    input=s2.input,
                    child_workflow_only=s2.child_workflow_only,
                    workflow_task_completed_event_id=completed_id,
                ),
            )
        elif t == C.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION:
            r = command.request_cancel_external_workflow_execution_command_attributes
            attrs2 = history_pb2.RequestCancelExternalWorkflowExecutionInitiatedEventAttributes(
                namespace=r.namespace,
                child_workflow_only=r.child_workflow_only,
                workflow_task_completed_event_id=completed_id,
            )
            attrs2.workflow_execution.workflow_id = r.workflow_id
            attrs2.workflow_execution.run_id = r.run_id
            self.add(E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED, attrs2)
        elif t == C.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            self.add(
                E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
                history_pb2.UpsertWorkflowSearchAttributesEventAttributes(
                    workflow_task_completed_event_id=completed_id,
                    search_attributes=command.upsert_workflow_search_attributes_command_attributes.search_attributes,
                ),
            )
        elif t == C.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES:
            self.add(
                E.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED,
                history_pb2.WorkflowPropertiesModifiedEventAttributes(
                    workflow_task_completed_event_id=completed_id,
                    upserted_memo=command.modify_workflow_properties_command_attributes.upserted_memo,
                ),
            )
        elif t == C.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION:
            self.add(
                E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
                history_pb2.WorkflowExecutionCompletedEventAttributes(
                    result=command.complete_workflow_execution_command_attributes.result,
                    workflow_task_completed_event_id=completed_id,
                ),
            )
        elif t == C.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION:
            self.add(
                E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
                history_pb2.WorkflowExecutionFailedEventAttributes(
                    failure=command.fail_workflow_execution_command_attributes.failure,
                    workflow_task_completed_event_id=completed_id,
                ),
            )
        elif t == C.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION:
            self.add(
                E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
                history_pb2.WorkflowExecutionCanceledEventAttributes(
                    workflow_task_completed_event_id=completed_id
                ),
            )
        elif t == C.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION:
            c2 = command.continue_as_new_workflow_execution_command_attributes
            self.add(
                E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
                history_pb2.WorkflowExecutionContinuedAsNewEventAttributes(
                    new_execution_run_id="run-2",
                    workflow_type=c2.workflow_type,
                    task_queue=c2.task_queue,
                    input=c2.input,
                    workflow_task_completed_event_id=completed_id,
                ),
            )
        else:  # pragma: no cover - a new command type needs a line here
            raise AssertionError(f"no event for command type {t}")

    # ---------------------------------------------------------------- activities

    def activity_scheduled(self, activity_type: str, activity_id: str) -> int:
        attrs = history_pb2.ActivityTaskScheduledEventAttributes(activity_id=activity_id)
        attrs.activity_type.name = activity_type
        event = self.add(E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, attrs)
        self._scheduled_by_activity_id[activity_id] = event.event_id
        return event.event_id

    def scheduled_id(self, activity_id: str) -> int:
        return self._scheduled_by_activity_id[activity_id]

    def activity_completed(self, activity_id: str, result: Any) -> None:
        sid = self.scheduled_id(activity_id)
        started = self.add(
            E.EVENT_TYPE_ACTIVITY_TASK_STARTED,
            history_pb2.ActivityTaskStartedEventAttributes(scheduled_event_id=sid),
        )
        self.add(
            E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
            history_pb2.ActivityTaskCompletedEventAttributes(
                result=payloads(result), scheduled_event_id=sid, started_event_id=started.event_id
            ),
        )

    def activity_failed(self, activity_id: str, failure: common_pb2.Failure) -> None:
        sid = self.scheduled_id(activity_id)
        started = self.add(
            E.EVENT_TYPE_ACTIVITY_TASK_STARTED,
            history_pb2.ActivityTaskStartedEventAttributes(scheduled_event_id=sid),
        )
        self.add(
            E.EVENT_TYPE_ACTIVITY_TASK_FAILED,
            history_pb2.ActivityTaskFailedEventAttributes(
                failure=failure,
                scheduled_event_id=sid,
                started_event_id=started.event_id,
                retry_state=E.RETRY_STATE_NON_RETRYABLE_FAILURE,
            ),
        )

    def activity_canceled(self, activity_id: str) -> None:
        self.add(
            E.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
            history_pb2.ActivityTaskCanceledEventAttributes(
                scheduled_event_id=self.scheduled_id(activity_id)
            ),
        )

    # ---------------------------------------------------------------- timers, signals, cancellation

    def timer_fired(self, timer_id: str) -> None:
        self.add(E.EVENT_TYPE_TIMER_FIRED, history_pb2.TimerFiredEventAttributes(timer_id=timer_id))

    def signal(self, name: str, *args: Any) -> None:
        self.add(
            E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
            history_pb2.WorkflowExecutionSignaledEventAttributes(signal_name=name, input=payloads(*args)),
        )

    def cancel_requested(self) -> None:
        self.add(E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED)

    # ---------------------------------------------------------------- children

    def child_started(self, workflow_id: str, run_id: str = "child-run") -> None:
        attrs = history_pb2.ChildWorkflowExecutionStartedEventAttributes(
            initiated_event_id=self._initiated_by_child_id[workflow_id]
        )
        attrs.workflow_execution.workflow_id = workflow_id
        attrs.workflow_execution.run_id = run_id
        self.add(E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED, attrs)

    def child_completed(self, workflow_id: str, result: Any) -> None:
        self.add(
            E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
            history_pb2.ChildWorkflowExecutionCompletedEventAttributes(
                result=payloads(result), initiated_event_id=self._initiated_by_child_id[workflow_id]
            ),
        )

    def child_failed(self, workflow_id: str, failure: common_pb2.Failure) -> None:
        self.add(
            E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED,
            history_pb2.ChildWorkflowExecutionFailedEventAttributes(
                failure=failure, initiated_event_id=self._initiated_by_child_id[workflow_id]
            ),
        )

    def child_canceled(self, workflow_id: str) -> None:
        self.add(
            E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED,
            history_pb2.ChildWorkflowExecutionCanceledEventAttributes(
                initiated_event_id=self._initiated_by_child_id[workflow_id]
            ),
        )

    def child_start_failed(self, workflow_id: str, cause: str = "WORKFLOW_ALREADY_EXISTS") -> None:
        self.add(
            E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED,
            history_pb2.StartChildWorkflowExecutionFailedEventAttributes(
                workflow_id=workflow_id,
                cause=cause,
                initiated_event_id=self._initiated_by_child_id[workflow_id],
            ),
        )


def new_instance(
    workflow_cls: type, *, run_id: str = "run-1", interceptors: Sequence[type] = ()
) -> WorkflowInstance:
    definition = get_workflow_definition(workflow_cls)
    return WorkflowInstance(
        definition=definition,
        namespace="default",
        task_queue="tq",
        workflow_id="wf-1",
        run_id=run_id,
        workflow_type=definition.name,
        data_converter=DataConverter(),
        interceptor_classes=interceptors,
    )


class Driver:
    """Plays server for one workflow: sticky activations over a growing history."""

    def __init__(self, workflow_cls: type, *args: Any, **started: Any) -> None:
        self.workflow_cls = workflow_cls
        definition = get_workflow_definition(workflow_cls)
        self.history = HistoryBuilder(definition.name, *args, **started)
        self.instance = new_instance(workflow_cls)
        self._fed = 0

    def run_task(self, *, record: bool = True) -> list[command_pb2.Command]:
        """Schedule and start a workflow task, activate with the new events, record the commands."""
        self.history.task()
        events = self.history.events[self._fed :]
        self._fed = len(self.history.events)
        commands = self.instance.activate(events)
        if record:
            # Fed with the next task: the instance matches them and learns event ids.
            self.history.record(commands)
        return commands

    def replay(self, workflow_cls: type | None = None) -> WorkflowInstance:
        """A fresh instance over the whole history (cache miss / Replayer)."""
        instance = new_instance(workflow_cls or self.workflow_cls)
        instance.activate(self.history.events)
        return instance


def command_types(commands: Sequence[command_pb2.Command]) -> list[str]:
    return [C.CommandType.Name(c.command_type).removeprefix("COMMAND_TYPE_") for c in commands]
