"""The objects workflow code awaits: activities, child workflows, external workflows.

Each handle is a small state machine driven from two sides: workflow code
(start, cancel, signal) issues commands through the instance; history events
(scheduled/initiated, completed, failed, ...) resolve it.

Cancellation follows asyncio: awaiting a cancelled activity or child raises
``asyncio.CancelledError``, so cancelling the workflow's run task (a
cancellation request) flows down through whatever it awaits. Activity and child
results are ``asyncio.Future`` subclasses whose ``cancel()`` sends the right
command for the chosen cancellation type before (or instead of) cancelling the
future — ``asyncio.Task.cancel`` calls ``cancel()`` on the future a task awaits,
which is what makes that propagation work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from legato import exceptions as exc
from legato._workflow_commands import CommandEntry
from legato._workflow_defn import handler_name
from legato._workflow_types import ActivityCancellationType, ChildWorkflowCancellationType
from legato.api.v1 import command_pb2, common_pb2, enums_pb2, history_pb2

if TYPE_CHECKING:
    from legato._workflow_instance import WorkflowInstance

_R = TypeVar("_R")
E = enums_pb2


class ActivityHandle(asyncio.Future[_R], Generic[_R]):
    """A scheduled activity: await it for the result; ``cancel()`` to cancel it."""

    def __init__(
        self,
        instance: WorkflowInstance,
        command: command_pb2.Command,
        *,
        cancellation_type: ActivityCancellationType,
        result_type: Any,
    ) -> None:
        super().__init__(loop=instance.loop)
        attrs = command.schedule_activity_task_command_attributes
        self.activity_id: str = attrs.activity_id
        self.activity_type: str = attrs.activity_type.name
        self._instance = instance
        self._cancellation_type = cancellation_type
        self._result_type = result_type
        self._scheduled_event_id = 0
        self._finished = False  # a closing event arrived
        self._cancel_requested = False
        self._entry = CommandEntry(command, on_recorded=self._on_scheduled)
        instance.add_command(self._entry)

    def _on_scheduled(self, event: history_pb2.HistoryEvent) -> None:
        self._scheduled_event_id = event.event_id
        self._instance.register_by_event_id(event.event_id, self)

    def cancel(self, msg: Any = None) -> bool:
        if self.done():
            return False
        if self._cancel_requested:
            return True
        self._instance.check_writable()
        self._cancel_requested = True
        if self._scheduled_event_id == 0:
            # Not sent yet: withdraw the command, nothing reached the server.
            self._entry.dropped = True
            return super().cancel(msg)
        if self._cancellation_type == ActivityCancellationType.ABANDON:
            return super().cancel(msg)
        command = command_pb2.Command(command_type=E.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK)
        command.request_cancel_activity_task_command_attributes.scheduled_event_id = self._scheduled_event_id
        self._instance.add_command(CommandEntry(command, obsolete=lambda: self._finished))
        if self._cancellation_type == ActivityCancellationType.TRY_CANCEL:
            return super().cancel(msg)
        return True  # WAIT_CANCELLATION_COMPLETED: resolved by the closing event

    def resolve(self, event: history_pb2.HistoryEvent) -> None:
        self._finished = True
        if self.done():  # cancelled without waiting
            return
        instance = self._instance
        t = event.event_type
        if t == E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            result = event.activity_task_completed_event_attributes.result
            values = instance.payload_converter.from_payloads(result, [self._result_type])
            self.set_result(values[0] if values else None)  # type: ignore[arg-type]
        elif t == E.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
            asyncio.Future.cancel(self)
        else:
            if t == E.EVENT_TYPE_ACTIVITY_TASK_FAILED:
                a = event.activity_task_failed_event_attributes
                cause, retry_state, started = a.failure, a.retry_state, a.started_event_id
            else:
                b = event.activity_task_timed_out_event_attributes
                cause, retry_state, started = b.failure, b.retry_state, b.started_event_id
            failure = common_pb2.Failure(message="activity task failed", cause=cause)
            info = failure.activity_failure_info
            info.scheduled_event_id = self._scheduled_event_id
            info.started_event_id = started
            info.activity_type.name = self.activity_type
            info.activity_id = self.activity_id
            info.retry_state = retry_state
            self.set_exception(instance.failure_converter.from_failure(failure, instance.payload_converter))


class _ChildResult(asyncio.Future[_R]):
    """The result future of a child; cancelling it (directly or via a task) cancels the child."""

    def __init__(self, handle: ChildWorkflowHandle[_R], loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop=loop)
        self._handle = handle

    def cancel(self, msg: Any = None) -> bool:
        return self._handle._cancel(msg)


class ChildWorkflowHandle(Generic[_R]):
    """A started child workflow: await it (or ``result()``) for its result; signal or cancel it."""

    def __init__(
        self,
        instance: WorkflowInstance,
        command: command_pb2.Command,
        *,
        cancellation_type: ChildWorkflowCancellationType,
        result_type: Any,
    ) -> None:
        attrs = command.start_child_workflow_execution_command_attributes
        self.id: str = attrs.workflow_id
        self.workflow_type: str = attrs.workflow_type.name
        self.run_id: str | None = None
        """Known once the child started."""
        self._namespace = attrs.namespace or instance.namespace
        self._instance = instance
        self._cancellation_type = cancellation_type
        self._result_type = result_type
        self._initiated_event_id = 0
        self._started_event_id = 0
        self._finished = False
        self._cancel_requested = False
        self.started: asyncio.Future[None] = instance.loop.create_future()
        self._result: _ChildResult[_R] = _ChildResult(self, instance.loop)
        self._entry = CommandEntry(command, on_recorded=self._on_initiated)
        instance.add_command(self._entry)

    def __await__(self) -> Generator[Any, None, _R]:
        return self._result.__await__()

    async def result(self) -> _R:
        return await self._result

    def _on_initiated(self, event: history_pb2.HistoryEvent) -> None:
        self._initiated_event_id = event.event_id
        self._instance.register_by_event_id(event.event_id, self)

    async def signal(self, signal: str | Callable[..., Any], *args: Any) -> None:
        """Send a signal to the child (only to this child: ``child_workflow_only``)."""
        await self._instance.signal_external(
            self.id,
            self.run_id or "",
            handler_name(signal, "signal"),
            args,
            namespace=self._namespace,
            child_workflow_only=True,
        )

    def cancel(self) -> bool:
        """Request cancellation of the child (see ``ChildWorkflowCancellationType``)."""
        return self._cancel(None)

    def _cancel(self, msg: Any) -> bool:
        if self._result.done():
            return False
        if self._cancel_requested:
            return True
        self._instance.check_writable()
        self._cancel_requested = True
        if self._initiated_event_id == 0:
            self._entry.dropped = True
            if not self.started.done():
                self.started.cancel(msg)
            return asyncio.Future.cancel(self._result, msg)
        if self._cancellation_type == ChildWorkflowCancellationType.ABANDON:
            return asyncio.Future.cancel(self._result, msg)
        self._instance.request_cancel_external(
            self.id, self.run_id or "", namespace=self._namespace, child_workflow_only=True
        )
        if self._cancellation_type == ChildWorkflowCancellationType.TRY_CANCEL:
            return asyncio.Future.cancel(self._result, msg)
        return True

    def _child_failure(
        self, message: str, cause: common_pb2.Failure | None, retry_state: int
    ) -> BaseException:
        failure = common_pb2.Failure(message=message)
        if cause is not None:
            failure.cause.CopyFrom(cause)
        info = failure.child_workflow_execution_failure_info
        info.namespace = self._namespace
        info.workflow_execution.workflow_id = self.id
        info.workflow_execution.run_id = self.run_id or ""
        info.workflow_type.name = self.workflow_type
        info.initiated_event_id = self._initiated_event_id
        info.started_event_id = self._started_event_id
        info.retry_state = retry_state  # type: ignore[assignment]
        inst = self._instance
        return inst.failure_converter.from_failure(failure, inst.payload_converter)

    def resolve(self, event: history_pb2.HistoryEvent) -> None:
        t = event.event_type
        inst = self._instance
        if t == E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
            attrs = event.child_workflow_execution_started_event_attributes
            self.run_id = attrs.workflow_execution.run_id
            self._started_event_id = event.event_id
            if not self.started.done():
                self.started.set_result(None)
            return
        self._finished = True
        if t == E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED:
            cause = event.start_child_workflow_execution_failed_event_attributes.cause
            error: BaseException
            if cause == "WORKFLOW_ALREADY_EXISTS":
                error = exc.WorkflowAlreadyStartedError(self.id, self.workflow_type)
            else:
                error = self._child_failure(f"child workflow could not start: {cause}", None, 0)
            for fut in (self.started, self._result):
                if not fut.done():
                    fut.set_exception(error)
                    fut.exception()  # mark retrieved: the start failure is raised once, by start
            return
        if self._result.done():
            return
        if t == E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:
            result = event.child_workflow_execution_completed_event_attributes.result
            values = inst.payload_converter.from_payloads(result, [self._result_type])
            self._result.set_result(values[0] if values else None)  # type: ignore[arg-type]
        elif t == E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED and self._cancel_requested:
            asyncio.Future.cancel(self._result)
        elif t == E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED:
            cancelled = common_pb2.Failure(message="child workflow cancelled")
            cancelled.canceled_failure_info.SetInParent()
            self._result.set_exception(
                self._child_failure("child workflow execution cancelled", cancelled, 0)
            )
        elif t == E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED:
            a = event.child_workflow_execution_failed_event_attributes
            self._result.set_exception(
                self._child_failure("child workflow execution failed", a.failure, a.retry_state)
            )
        elif t == E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT:
            timeout = common_pb2.Failure(message="child workflow timed out")
            timeout.timeout_failure_info.timeout_type = E.TIMEOUT_TYPE_START_TO_CLOSE
            retry_state = event.child_workflow_execution_timed_out_event_attributes.retry_state
            self._result.set_exception(
                self._child_failure("child workflow execution timed out", timeout, retry_state)
            )
        elif t == E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED:
            terminated = common_pb2.Failure(message="child workflow terminated")
            terminated.terminated_failure_info.SetInParent()
            self._result.set_exception(
                self._child_failure("child workflow execution terminated", terminated, 0)
            )


class ExternalRequest:
    """A signal to, or cancellation request of, another workflow; resolved by the server's answer."""

    def __init__(self, instance: WorkflowInstance, command: command_pb2.Command, what: str) -> None:
        self.future: asyncio.Future[None] = instance.loop.create_future()
        self._instance = instance
        self._what = what
        instance.add_command(CommandEntry(command, on_recorded=self._on_initiated))

    def _on_initiated(self, event: history_pb2.HistoryEvent) -> None:
        self._instance.register_by_event_id(event.event_id, self)

    def resolve(self, event: history_pb2.HistoryEvent) -> None:
        if self.future.done():
            return
        t = event.event_type
        if t == E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED:
            cause = event.signal_external_workflow_execution_failed_event_attributes.cause
        elif t == E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED:
            cause = event.request_cancel_external_workflow_execution_failed_event_attributes.cause
        else:
            self.future.set_result(None)
            return
        self.future.set_exception(
            exc.ApplicationError(f"{self._what} failed: {cause or 'unknown cause'}", type=cause or None)
        )
        self.future.exception()  # a fire-and-forget request must not log "never retrieved"


class ExternalWorkflowHandle:
    """Another workflow this one can signal or ask to cancel (``workflow.get_external_workflow_handle``)."""

    def __init__(
        self, instance: WorkflowInstance, workflow_id: str, run_id: str | None, namespace: str
    ) -> None:
        self.id = workflow_id
        self.run_id = run_id
        self.namespace = namespace
        self._instance = instance

    async def signal(self, signal: str | Callable[..., Any], *args: Any) -> None:
        """Signal the workflow; raises ``ApplicationError`` if the server could not deliver it."""
        await self._instance.signal_external(
            self.id, self.run_id or "", handler_name(signal, "signal"), args, namespace=self.namespace
        )

    async def cancel(self) -> None:
        """Request cancellation; raises ``ApplicationError`` if the server could not deliver it."""
        await self._instance.request_cancel_external(self.id, self.run_id or "", namespace=self.namespace)
