"""Turning a completed workflow task's commands into events and tasks.

``validate`` checks every command against the run's state *and* the commands
before it in the same batch (a StartTimer then CancelTimer of the same id is
fine; two open activities with one id are not), without changing anything.
Only when all are valid does ``apply`` write their events, so a bad command
leaves no trace except the WorkflowTaskFailed the caller writes.

A close command (complete, fail, cancel, continue-as-new) must be the last.
Failing and completing may start the next run in the same transaction: a
retry per the workflow's retry policy, or the next cron run.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from legato.api.v1 import command_pb2, common_pb2, enums_pb2, history_pb2
from legato_server.common.errors import NotFound
from legato_server.common.limits import quote
from legato_server.history.operations.history_read import read_started_event
from legato_server.history.shards.engine import HistoryEngine
from legato_server.history.shards.shard import Shard
from legato_server.history.workflow import events as ev
from legato_server.history.workflow.activity_state import (
    request_cancel_activity,
    schedule_activity,
    validate_schedule_activity,
)
from legato_server.history.workflow.cron import CronError, parse_cron
from legato_server.history.workflow.mutable_state import MutableState
from legato_server.history.workflow.retry import validate_retry_policy
from legato_server.history.workflow.update_state import complete_update, complete_update_problem
from legato_server.history.workflow.workflow_run import (
    RunSpec,
    build_new_run,
    close_run,
    plan_cron,
    plan_retry,
    spec_from_started,
)
from legato_server.internal.v1 import history_state_pb2 as hs
from legato_server.visibility import attributes as search_attribute_types

CT = enums_pb2.CommandType
ET = enums_pb2.EventType
STATUS = enums_pb2.WorkflowExecutionStatus
RS = enums_pb2.RetryState
INITIATOR = enums_pb2.ContinueAsNewInitiator

CLOSE_COMMANDS = frozenset(
    {
        CT.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
        CT.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION,
        CT.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION,
        CT.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
    }
)

_ATTRIBUTE_FIELD = {
    CT.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK: "schedule_activity_task_command_attributes",
    CT.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK: "request_cancel_activity_task_command_attributes",
    CT.COMMAND_TYPE_START_TIMER: "start_timer_command_attributes",
    CT.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION: "complete_workflow_execution_command_attributes",
    CT.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION: "fail_workflow_execution_command_attributes",
    CT.COMMAND_TYPE_CANCEL_TIMER: "cancel_timer_command_attributes",
    CT.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION: "cancel_workflow_execution_command_attributes",
    CT.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION: (
        "request_cancel_external_workflow_execution_command_attributes"
    ),
    CT.COMMAND_TYPE_RECORD_MARKER: "record_marker_command_attributes",
    CT.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION: "continue_as_new_workflow_execution_command_attributes",
    CT.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION: "start_child_workflow_execution_command_attributes",
    CT.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION: "signal_external_workflow_execution_command_attributes",
    CT.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: "upsert_workflow_search_attributes_command_attributes",
    CT.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES: "modify_workflow_properties_command_attributes",
    CT.COMMAND_TYPE_COMPLETE_WORKFLOW_UPDATE: "complete_workflow_update_command_attributes",
}


def has_close_command(commands: Sequence[command_pb2.Command]) -> bool:
    return any(c.command_type in CLOSE_COMMANDS for c in commands)


def _command_name(command: command_pb2.Command) -> str:
    # proto3 enums are open: any int32 arrives, and only defined values have a name.
    if command.command_type in enums_pb2.CommandType.values():
        return enums_pb2.CommandType.Name(command.command_type)
    return f"command type {command.command_type}"


MAX_EAGER_ACTIVITIES = 10
"""At most this many activities are started eagerly per workflow task completion; the rest go through matching.

The worker asks only for activities it has free slots for; this bounds what one
completion can take from other workers polling the same queue.
"""


class CommandProcessor:
    def __init__(
        self, engine: HistoryEngine, shard: Shard, ms: MutableState, *, retention_ms: int, identity: str
    ) -> None:
        self.engine = engine
        self.shard = shard
        self.ms = ms
        self.retention_ms = retention_ms
        self.identity = identity
        self.eager_activities: list[hs.ActivityInfo] = []
        """Activities started for the completing worker (``request_eager_execution``), in command order."""
        # Namespace name -> id, resolved during validation for child/external commands.
        self._namespace_ids: dict[str, str] = {ms.info.namespace: ms.namespace_id}

    # ------------------------------------------------------------ validation

    async def validate(self, commands: Sequence[command_pb2.Command]) -> str | None:
        ms = self.ms
        open_activity_ids = {a.activity_id for a in ms.state.activities.values()}
        open_activity_events = set(ms.state.activities)
        open_timers = set(ms.state.timers)
        completed_updates: set[str] = set()
        for index, command in enumerate(commands):
            where = f"command {index} ({_command_name(command)})"
            field = _ATTRIBUTE_FIELD.get(command.command_type)
            if field is None:
                return f"{where}: unknown command type"
            # Unset attributes read as the empty message (e.g. a cancel without details).
            if command.WhichOneof("attributes") not in (field, None):
                return f"{where}: attributes must be set in {field}, not {command.WhichOneof('attributes')}"
            if command.command_type in CLOSE_COMMANDS and index != len(commands) - 1:
                return f"{where}: a command that closes the workflow must be the last command"
            attrs = getattr(command, field)
            ct = command.command_type
            problem: str | None = None
            if ct == CT.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK:
                problem = validate_schedule_activity(attrs)
                if problem is None and attrs.activity_id in open_activity_ids:
                    problem = f"activity id {quote(attrs.activity_id)} is already used by an open activity"
                open_activity_ids.add(attrs.activity_id)
            elif ct == CT.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK:
                if (
                    attrs.scheduled_event_id not in open_activity_events
                    and not self._activity_result_buffered(attrs.scheduled_event_id)
                ):
                    problem = f"no open activity was scheduled by event {attrs.scheduled_event_id}"
            elif ct == CT.COMMAND_TYPE_START_TIMER:
                if not attrs.timer_id:
                    problem = "timer_id is required"
                elif attrs.timer_id in open_timers:
                    problem = f"timer id {quote(attrs.timer_id)} is already used by an open timer"
                elif ev.duration_ms(attrs.start_to_fire_timeout) <= 0:
                    problem = "start_to_fire_timeout must be greater than 0"
                open_timers.add(attrs.timer_id)
            elif ct == CT.COMMAND_TYPE_CANCEL_TIMER:
                if attrs.timer_id not in open_timers and not self._timer_fire_buffered(attrs.timer_id):
                    problem = f"no open timer has id {quote(attrs.timer_id)}"
                open_timers.discard(attrs.timer_id)
            elif ct == CT.COMMAND_TYPE_RECORD_MARKER:
                if not attrs.marker_name:
                    problem = "marker_name is required"
            elif ct == CT.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION:
                problem = await self._validate_child(attrs)
            elif ct == CT.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION:
                if not attrs.execution.workflow_id:
                    problem = "execution.workflow_id is required"
                elif not attrs.signal_name:
                    problem = "signal_name is required"
                else:
                    problem = await self._resolve_namespace(attrs.namespace)
            elif ct == CT.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION:
                if not attrs.workflow_id:
                    problem = "workflow_id is required"
                else:
                    problem = await self._resolve_namespace(attrs.namespace)
            elif ct == CT.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
                problem = await self._search_attributes_problem(attrs.search_attributes, "")
            elif ct == CT.COMMAND_TYPE_COMPLETE_WORKFLOW_UPDATE:
                problem = complete_update_problem(ms, attrs, completed_updates)
                completed_updates.add(attrs.update_id)
            elif ct == CT.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION:
                if attrs.HasField("retry_policy"):
                    problem = validate_retry_policy(attrs.retry_policy, what="retry_policy")
                for name in ("workflow_run_timeout", "workflow_task_timeout", "backoff_start_interval"):
                    if problem is None and ev.duration_ms(getattr(attrs, name)) < 0:
                        problem = f"{name} must not be negative"
            if problem is None and ct in (
                CT.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
                CT.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION,
            ):
                if attrs.HasField("search_attributes"):
                    namespace = getattr(attrs, "namespace", "")
                    problem = await self._search_attributes_problem(attrs.search_attributes, namespace)
            if problem:
                return f"{where}: {problem}"
        return None

    async def _search_attributes_problem(
        self, attributes: common_pb2.SearchAttributes, namespace: str
    ) -> str | None:
        """Each value must be registered in the namespace and fit its type; stamps the type (in place).

        Stamped here, before the command is applied, so the event and the
        stored state carry typed values the visibility stores can index.
        """
        if namespace and namespace != self.ms.info.namespace:
            entry = await self.engine.namespaces.get_by_name(namespace)
        else:
            entry = await self.engine.namespaces.get_by_id(self.ms.namespace_id)
        try:
            search_attribute_types.validate(attributes, entry.search_attributes)
        except ValueError as err:
            return f"search_attributes: {err}"
        return None

    async def _validate_child(
        self, attrs: command_pb2.StartChildWorkflowExecutionCommandAttributes
    ) -> str | None:
        if not attrs.workflow_id:
            return "workflow_id is required"
        if not attrs.workflow_type.name:
            return "workflow_type.name is required"
        for name in ("workflow_execution_timeout", "workflow_run_timeout", "workflow_task_timeout"):
            if ev.duration_ms(getattr(attrs, name)) < 0:
                return f"{name} must not be negative"
        if attrs.HasField("retry_policy"):
            problem = validate_retry_policy(attrs.retry_policy, what="retry_policy")
            if problem:
                return problem
        if attrs.cron_schedule:
            try:
                parse_cron(attrs.cron_schedule)
            except CronError as err:
                return f"cron_schedule: {err}"
        return await self._resolve_namespace(attrs.namespace)

    async def _resolve_namespace(self, name: str) -> str | None:
        if not name or name in self._namespace_ids:
            return None
        try:
            entry = await self.engine.namespaces.get_by_name(name)
        except NotFound:
            return f"namespace {quote(name)} does not exist"
        self._namespace_ids[name] = entry.id
        return None

    def _namespace_id(self, name: str) -> str:
        return self._namespace_ids[name] if name else self.ms.namespace_id

    def _activity_result_buffered(self, scheduled_event_id: int) -> bool:
        return any(
            e.event_type
            in (
                ET.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
                ET.EVENT_TYPE_ACTIVITY_TASK_FAILED,
                ET.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
                ET.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
            )
            and ev.attributes_of(e).scheduled_event_id == scheduled_event_id
            for e in self.ms.state.buffered_events
        )

    def _timer_fire_buffered(self, timer_id: str) -> bool:
        return self.ms.has_buffered_event(ET.EVENT_TYPE_TIMER_FIRED, lambda a: a.timer_id == timer_id)

    # ------------------------------------------------------------ application

    async def apply(self, commands: Sequence[command_pb2.Command], *, completed_event_id: int) -> bool:
        """Write each command's events and tasks; True if a new workflow task is needed at once."""
        needs_new_task = False
        for command in commands:
            attrs = getattr(command, _ATTRIBUTE_FIELD[command.command_type])
            handler = getattr(self, f"_apply_{enums_pb2.CommandType.Name(command.command_type)[13:].lower()}")
            if await handler(attrs, completed_event_id):
                needs_new_task = True
        return needs_new_task

    async def _apply_schedule_activity_task(
        self, attrs: command_pb2.ScheduleActivityTaskCommandAttributes, wtc_id: int
    ) -> bool:
        eager = (
            attrs.request_eager_execution
            and len(self.eager_activities) < MAX_EAGER_ACTIVITIES
            and (not attrs.task_queue.name or attrs.task_queue.name == self.ms.normal_task_queue().name)
        )
        info = schedule_activity(
            self.ms,
            attrs,
            workflow_task_completed_event_id=wtc_id,
            eager_identity=self.identity if eager else None,
        )
        if eager:
            self.eager_activities.append(info)
        return False

    async def _apply_request_cancel_activity_task(
        self, attrs: command_pb2.RequestCancelActivityTaskCommandAttributes, wtc_id: int
    ) -> bool:
        return request_cancel_activity(
            self.ms, attrs.scheduled_event_id, workflow_task_completed_event_id=wtc_id
        )

    async def _apply_start_timer(self, attrs: command_pb2.StartTimerCommandAttributes, wtc_id: int) -> bool:
        ms = self.ms
        event = ms.append_event(
            ms.new_event(
                ET.EVENT_TYPE_TIMER_STARTED,
                history_pb2.TimerStartedEventAttributes(
                    timer_id=attrs.timer_id,
                    start_to_fire_timeout=attrs.start_to_fire_timeout,
                    workflow_task_completed_event_id=wtc_id,
                ),
            )
        )
        fire_ms = ms.now_ms + ev.duration_ms(attrs.start_to_fire_timeout)
        ms.state.timers[attrs.timer_id].CopyFrom(
            hs.TimerInfo(
                timer_id=attrs.timer_id, started_event_id=event.event_id, expiry_time=ev.timestamp(fire_ms)
            )
        )
        ms.add_timer_task(
            fire_ms, hs.TIMER_TASK_TYPE_USER_TIMER, event_id=event.event_id, timer_id=attrs.timer_id
        )
        return False

    async def _apply_cancel_timer(self, attrs: command_pb2.CancelTimerCommandAttributes, wtc_id: int) -> bool:
        ms = self.ms
        timer = ms.state.timers.get(attrs.timer_id)
        started_event_id = timer.started_event_id if timer is not None else 0
        if timer is None:
            # It fired while this task ran: the cancel wins, the buffered TimerFired is dropped.
            for e in ms.state.buffered_events:
                if (
                    e.event_type == ET.EVENT_TYPE_TIMER_FIRED
                    and e.timer_fired_event_attributes.timer_id == attrs.timer_id
                ):
                    started_event_id = e.timer_fired_event_attributes.started_event_id
            ms.remove_buffered_events(ET.EVENT_TYPE_TIMER_FIRED, lambda a: a.timer_id == attrs.timer_id)
        else:
            del ms.state.timers[attrs.timer_id]
        ms.append_event(
            ms.new_event(
                ET.EVENT_TYPE_TIMER_CANCELED,
                history_pb2.TimerCanceledEventAttributes(
                    timer_id=attrs.timer_id,
                    started_event_id=started_event_id,
                    workflow_task_completed_event_id=wtc_id,
                    identity=self.identity,
                ),
            )
        )
        return False

    async def _apply_record_marker(
        self, attrs: command_pb2.RecordMarkerCommandAttributes, wtc_id: int
    ) -> bool:
        event_attrs = history_pb2.MarkerRecordedEventAttributes(
            marker_name=attrs.marker_name, workflow_task_completed_event_id=wtc_id
        )
        for key, value in attrs.details.items():
            event_attrs.details[key].CopyFrom(value)
        if attrs.HasField("header"):
            event_attrs.header.CopyFrom(attrs.header)
        if attrs.HasField("failure"):
            event_attrs.failure.CopyFrom(attrs.failure)
        self.ms.append_event(self.ms.new_event(ET.EVENT_TYPE_MARKER_RECORDED, event_attrs))
        return False

    async def _apply_upsert_workflow_search_attributes(
        self, attrs: command_pb2.UpsertWorkflowSearchAttributesCommandAttributes, wtc_id: int
    ) -> bool:
        ms = self.ms
        for key, value in attrs.search_attributes.indexed_fields.items():
            if search_attribute_types.is_null(value):  # upserting null removes the attribute
                if key in ms.info.search_attributes.indexed_fields:
                    del ms.info.search_attributes.indexed_fields[key]
                continue
            ms.info.search_attributes.indexed_fields[key].CopyFrom(value)
        ms.append_event(
            ms.new_event(
                ET.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
                history_pb2.UpsertWorkflowSearchAttributesEventAttributes(
                    workflow_task_completed_event_id=wtc_id, search_attributes=attrs.search_attributes
                ),
            )
        )
        ms.add_transfer_task(hs.TRANSFER_TASK_TYPE_UPSERT_VISIBILITY)
        return False

    async def _apply_modify_workflow_properties(
        self, attrs: command_pb2.ModifyWorkflowPropertiesCommandAttributes, wtc_id: int
    ) -> bool:
        ms = self.ms
        for key, value in attrs.upserted_memo.fields.items():
            ms.info.memo.fields[key].CopyFrom(value)
        ms.append_event(
            ms.new_event(
                ET.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED,
                history_pb2.WorkflowPropertiesModifiedEventAttributes(
                    workflow_task_completed_event_id=wtc_id, upserted_memo=attrs.upserted_memo
                ),
            )
        )
        ms.add_transfer_task(hs.TRANSFER_TASK_TYPE_UPSERT_VISIBILITY)
        return False

    async def _apply_start_child_workflow_execution(
        self, attrs: command_pb2.StartChildWorkflowExecutionCommandAttributes, wtc_id: int
    ) -> bool:
        ms = self.ms
        event_attrs = history_pb2.StartChildWorkflowExecutionInitiatedEventAttributes(
            namespace=attrs.namespace or ms.info.namespace,
            workflow_id=attrs.workflow_id,
            workflow_type=attrs.workflow_type,
            task_queue=attrs.task_queue if attrs.task_queue.name else ms.normal_task_queue(),
            input=attrs.input,
            workflow_execution_timeout=attrs.workflow_execution_timeout,
            workflow_run_timeout=attrs.workflow_run_timeout,
            workflow_task_timeout=attrs.workflow_task_timeout,
            parent_close_policy=attrs.parent_close_policy or enums_pb2.PARENT_CLOSE_POLICY_TERMINATE,
            workflow_task_completed_event_id=wtc_id,
            workflow_id_reuse_policy=attrs.workflow_id_reuse_policy,
            cron_schedule=attrs.cron_schedule,
            header=attrs.header,
            memo=attrs.memo,
            search_attributes=attrs.search_attributes,
        )
        if attrs.HasField("retry_policy"):
            event_attrs.retry_policy.CopyFrom(attrs.retry_policy)
        event = ms.append_event(
            ms.new_event(ET.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED, event_attrs)
        )
        ms.state.children[event.event_id].CopyFrom(
            hs.ChildExecutionInfo(
                initiated_event_id=event.event_id,
                namespace=event_attrs.namespace,
                namespace_id=self._namespace_id(attrs.namespace),
                workflow_id=attrs.workflow_id,
                workflow_type_name=attrs.workflow_type.name,
                parent_close_policy=event_attrs.parent_close_policy,
                create_request_id=str(uuid.uuid4()),
            )
        )
        ms.add_transfer_task(hs.TRANSFER_TASK_TYPE_START_CHILD, event_id=event.event_id)
        return False

    async def _apply_signal_external_workflow_execution(
        self, attrs: command_pb2.SignalExternalWorkflowExecutionCommandAttributes, wtc_id: int
    ) -> bool:
        ms = self.ms
        event_attrs = history_pb2.SignalExternalWorkflowExecutionInitiatedEventAttributes(
            workflow_task_completed_event_id=wtc_id,
            namespace=attrs.namespace or ms.info.namespace,
            workflow_execution=attrs.execution,
            signal_name=attrs.signal_name,
            input=attrs.input,
            child_workflow_only=attrs.child_workflow_only,
            header=attrs.header,
        )
        event = ms.append_event(
            ms.new_event(ET.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED, event_attrs)
        )
        ms.state.signals[event.event_id].CopyFrom(
            hs.ExternalRequestInfo(initiated_event_id=event.event_id, request_id=str(uuid.uuid4()))
        )
        ms.add_transfer_task(hs.TRANSFER_TASK_TYPE_SIGNAL_EXTERNAL, event_id=event.event_id)
        return False

    async def _apply_request_cancel_external_workflow_execution(
        self, attrs: command_pb2.RequestCancelExternalWorkflowExecutionCommandAttributes, wtc_id: int
    ) -> bool:
        ms = self.ms
        event_attrs = history_pb2.RequestCancelExternalWorkflowExecutionInitiatedEventAttributes(
            workflow_task_completed_event_id=wtc_id,
            namespace=attrs.namespace or ms.info.namespace,
            workflow_execution=common_pb2.WorkflowExecution(
                workflow_id=attrs.workflow_id, run_id=attrs.run_id
            ),
            child_workflow_only=attrs.child_workflow_only,
            reason=attrs.reason,
        )
        event = ms.append_event(
            ms.new_event(ET.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED, event_attrs)
        )
        ms.state.request_cancels[event.event_id].CopyFrom(
            hs.ExternalRequestInfo(initiated_event_id=event.event_id, request_id=str(uuid.uuid4()))
        )
        ms.add_transfer_task(hs.TRANSFER_TASK_TYPE_CANCEL_EXTERNAL, event_id=event.event_id)
        return False

    async def _apply_complete_workflow_update(
        self, attrs: command_pb2.CompleteWorkflowUpdateCommandAttributes, wtc_id: int
    ) -> bool:
        complete_update(self.ms, attrs, workflow_task_completed_event_id=wtc_id)
        return False

    # ------------------------------------------------------------ closing the run

    async def _apply_complete_workflow_execution(
        self, attrs: command_pb2.CompleteWorkflowExecutionCommandAttributes, wtc_id: int
    ) -> bool:
        ms = self.ms
        event_attrs = history_pb2.WorkflowExecutionCompletedEventAttributes(
            result=attrs.result, workflow_task_completed_event_id=wtc_id
        )
        cron_backoff = plan_cron(ms)
        if cron_backoff is not None:
            spec = await self._next_run_spec(INITIATOR.CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE, cron_backoff)
            spec.last_completion_result = attrs.result
            event_attrs.new_execution_run_id = spec.run_id
            self._close(
                ET.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
                event_attrs,
                STATUS.WORKFLOW_EXECUTION_STATUS_COMPLETED,
            )
            ms.new_run = build_new_run(spec, now_ms=ms.now_ms)
        else:
            self._close(
                ET.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
                event_attrs,
                STATUS.WORKFLOW_EXECUTION_STATUS_COMPLETED,
            )
        return False

    async def _apply_fail_workflow_execution(
        self, attrs: command_pb2.FailWorkflowExecutionCommandAttributes, wtc_id: int
    ) -> bool:
        ms = self.ms
        failure = attrs.failure if attrs.HasField("failure") else None
        backoff, retry_state = plan_retry(ms, failure)
        event_attrs = history_pb2.WorkflowExecutionFailedEventAttributes(
            failure=attrs.failure, retry_state=retry_state, workflow_task_completed_event_id=wtc_id
        )
        spec: RunSpec | None = None
        if backoff is not None:
            spec = await self._next_run_spec(INITIATOR.CONTINUE_AS_NEW_INITIATOR_RETRY, backoff)
            spec.attempt = ms.info.attempt + 1
            spec.continued_failure = failure
        else:
            cron_backoff = plan_cron(ms)
            if cron_backoff is not None:
                spec = await self._next_run_spec(
                    INITIATOR.CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE, cron_backoff
                )
                spec.continued_failure = failure
        if spec is not None:
            event_attrs.new_execution_run_id = spec.run_id
        self._close(
            ET.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED, event_attrs, STATUS.WORKFLOW_EXECUTION_STATUS_FAILED
        )
        if spec is not None:
            ms.new_run = build_new_run(spec, now_ms=ms.now_ms)
        return False

    async def _apply_cancel_workflow_execution(
        self, attrs: command_pb2.CancelWorkflowExecutionCommandAttributes, wtc_id: int
    ) -> bool:
        self._close(
            ET.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
            history_pb2.WorkflowExecutionCanceledEventAttributes(
                workflow_task_completed_event_id=wtc_id, details=attrs.details
            ),
            STATUS.WORKFLOW_EXECUTION_STATUS_CANCELED,
        )
        return False

    async def _apply_continue_as_new_workflow_execution(
        self, attrs: command_pb2.ContinueAsNewWorkflowExecutionCommandAttributes, wtc_id: int
    ) -> bool:
        ms = self.ms
        info = ms.info
        started = await read_started_event(self.shard, ms)
        spec = spec_from_started(ms, started)
        spec.workflow_type = attrs.workflow_type.name or info.workflow_type_name
        spec.task_queue = attrs.task_queue.name or info.task_queue
        spec.input = attrs.input
        spec.run_timeout_ms = ev.duration_ms(attrs.workflow_run_timeout) or spec.run_timeout_ms
        spec.task_timeout_ms = ev.duration_ms(attrs.workflow_task_timeout) or spec.task_timeout_ms
        spec.first_task_backoff_ms = ev.duration_ms(attrs.backoff_start_interval)
        spec.initiator = INITIATOR.CONTINUE_AS_NEW_INITIATOR_WORKFLOW
        if attrs.HasField("retry_policy"):
            spec.retry_policy = attrs.retry_policy
        if attrs.HasField("header"):
            spec.header = attrs.header
        if attrs.HasField("memo"):
            spec.memo = attrs.memo
        if attrs.HasField("search_attributes"):
            spec.search_attributes = attrs.search_attributes
        event_attrs = history_pb2.WorkflowExecutionContinuedAsNewEventAttributes(
            new_execution_run_id=spec.run_id,
            workflow_type=common_pb2.WorkflowType(name=spec.workflow_type),
            task_queue=common_pb2.TaskQueue(name=spec.task_queue, kind=enums_pb2.TASK_QUEUE_KIND_NORMAL),
            input=attrs.input,
            workflow_run_timeout=ev.duration(spec.run_timeout_ms / 1000),
            workflow_task_timeout=ev.duration(
                (spec.task_timeout_ms or ms.workflow_task_timeout() * 1000) / 1000
            ),
            workflow_task_completed_event_id=wtc_id,
            backoff_start_interval=attrs.backoff_start_interval,
            initiator=INITIATOR.CONTINUE_AS_NEW_INITIATOR_WORKFLOW,
        )
        for name in ("header", "memo", "search_attributes"):
            value = getattr(spec, name)
            if value is not None:
                getattr(event_attrs, name).CopyFrom(value)
        self._close(
            ET.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
            event_attrs,
            STATUS.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW,
        )
        ms.new_run = build_new_run(spec, now_ms=ms.now_ms)
        return False

    async def _next_run_spec(self, initiator: enums_pb2.ContinueAsNewInitiator, backoff_ms: int) -> RunSpec:
        started = await read_started_event(self.shard, self.ms)
        spec = spec_from_started(self.ms, started)
        spec.initiator = initiator
        spec.first_task_backoff_ms = backoff_ms
        return spec

    def _close(
        self, event_type: enums_pb2.EventType, attrs: object, status: enums_pb2.WorkflowExecutionStatus
    ) -> None:
        close_run(self.ms, event_type, attrs, status=status, retention_ms=self.retention_ms)
