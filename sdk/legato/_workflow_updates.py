"""Updates inside a running workflow: validating them, running their handlers, reporting outcomes.

The server delivers an update twice, in two shapes:

* **Validation** (a query task with ``validate_update``): ``validate`` looks
  the handler up, decodes the arguments with its type hints and runs the
  ``@<update>.validator`` read-only, like a query handler. Raising rejects the
  update; the server then writes nothing. A missing handler or undecodable
  arguments reject it too, with a message naming what is wrong. Validators
  never run on replay: acceptance is already recorded.
* **Acceptance** (the WorkflowExecutionUpdateAccepted event): ``on_accepted``
  starts the handler as a task of the workflow's event loop, in history order
  with signals. When it returns, its result becomes a CompleteWorkflowUpdate
  command (matched on replay against WorkflowExecutionUpdateCompleted by update
  id, so a handler that now completes in another task is nondeterminism). A
  ``FailureError`` (or one of the definition's ``failure_exception_types``)
  fails the *update* and the workflow goes on; any other exception fails the
  workflow task, as it does from the run method, so a fixed deploy can retry.

An accepted update whose handler is gone from the code is nondeterminism (the
history says a handler accepted it). Both the validator and the handler run
through the workflow inbound interceptors (``handle_update_validator``,
``handle_update_handler``). ``all_handlers_finished`` lets the run
method wait for running handlers before it returns, because a workflow that
closes drops the completions of handlers still running.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from legato import exceptions as exc
from legato import interceptor as icp
from legato._workflow_commands import CommandEntry
from legato._workflow_types import ReadOnlyContextError
from legato.api.v1 import command_pb2, enums_pb2, history_pb2, update_pb2

if TYPE_CHECKING:
    from legato._workflow_instance import WorkflowInstance


@dataclass(frozen=True)
class _BoundUpdate:
    fn: Callable[..., Any]
    validator: Callable[..., Any] | None
    arg_types: list[Any]


class WorkflowUpdates:
    """The update handlers of one workflow instance (see the module docstring)."""

    def __init__(self, instance: WorkflowInstance) -> None:
        self._instance = instance
        self._handlers: dict[str, _BoundUpdate] = {}
        self._running: set[str] = set()

    def bind(self, workflow_object: Any) -> None:
        for name, update in self._instance.definition.updates.items():
            validator = update.validator.__get__(workflow_object) if update.validator is not None else None
            self._handlers[name] = _BoundUpdate(
                update.fn.__get__(workflow_object), validator, update.arg_types
            )

    @property
    def running(self) -> int:
        return len(self._running)

    def _unknown(self, name: str) -> str:
        known = ", ".join(sorted(self._handlers)) or "none"
        return f"workflow {self._instance.definition.name!r} has no update handler {name!r}; known updates: {known}"

    # ------------------------------------------------------------ validation

    def validate(self, update: update_pb2.UpdateInput) -> None:
        """Return to accept; raise ``ApplicationError`` (or the validator's error) to reject."""
        instance = self._instance
        handler = self._handlers.get(update.name)
        if handler is None:
            raise exc.ApplicationError(self._unknown(update.name), type="UnknownUpdate", non_retryable=True)
        try:
            args = instance.payload_converter.from_payloads(update.args, handler.arg_types)
        except Exception as err:
            raise exc.ApplicationError(
                f"the arguments of update {update.name!r} do not decode as its handler's parameters: {err}",
                type="PayloadConversionError",
                non_retryable=True,
            ) from None
        headers = dict(update.header.fields)
        # A validator runs live, never on replay, even on an instance just rebuilt by replaying.
        replaying, instance._replaying = instance._replaying, False
        with instance.loop.running():
            instance.loop.read_only = True
            try:
                instance._inbound.handle_update_validator(
                    icp.HandleUpdateInput(update.update_id, update.name, args, headers)
                )
            finally:
                instance.loop.read_only = False
                instance._replaying = replaying

    def run_validator(self, input: icp.HandleUpdateInput) -> None:
        """The innermost validator hook: the ``@<update>.validator``, if the update has one."""
        handler = self._handlers.get(input.update_name)
        if handler is None or handler.validator is None:
            return
        result = handler.validator(*input.args)
        if inspect.isawaitable(result):
            if inspect.iscoroutine(result):
                result.close()
            raise ReadOnlyContextError(f"the validator of update {input.update_name!r} must be sync")

    async def run_handler(self, input: icp.HandleUpdateInput) -> Any:
        """The innermost handler hook: the ``@workflow.update`` method itself."""
        handler = self._handlers.get(input.update_name)
        if handler is None:
            raise exc.ApplicationError(self._unknown(input.update_name), type="UnknownUpdate")
        result = handler.fn(*input.args)
        if inspect.isawaitable(result):
            result = await result
        return result

    # ------------------------------------------------------------ running handlers

    def on_accepted(self, event: history_pb2.HistoryEvent) -> None:
        attrs = event.workflow_execution_update_accepted_event_attributes
        handler = self._handlers.get(attrs.name)
        if handler is None:
            raise self._instance._nondeterminism(
                f"history has WorkflowExecutionUpdateAccepted for update {attrs.name!r} "
                f"(id {attrs.update_id!r}) at event {event.event_id}, but {self._unknown(attrs.name)}"
            )
        self._running.add(attrs.update_id)
        self._instance.loop.create_task(
            self._run(attrs, handler), name=f"update {attrs.name} {attrs.update_id}"
        )

    async def _run(
        self, attrs: history_pb2.WorkflowExecutionUpdateAcceptedEventAttributes, handler: _BoundUpdate
    ) -> None:
        instance = self._instance
        pc = instance.payload_converter
        outcome = update_pb2.UpdateOutcome()
        try:
            try:
                args = pc.from_payloads(attrs.input, handler.arg_types)
                result = await instance._inbound.handle_update_handler(
                    icp.HandleUpdateInput(attrs.update_id, attrs.name, args, dict(attrs.header.fields))
                )
                outcome.success.CopyFrom(pc.to_payloads([result]))
            except asyncio.CancelledError:
                outcome.failure.CopyFrom(
                    instance.failure_converter.to_failure(exc.CancelledError("update handler cancelled"), pc)
                )
            except exc.PayloadConversionError as err:
                outcome.failure.CopyFrom(instance.failure_converter.to_failure(err, pc))
            except Exception as err:
                if not instance.definition.is_failure_exception(err):
                    raise
                outcome.failure.CopyFrom(instance.failure_converter.to_failure(err, pc))
        except BaseException as err:  # noqa: B036 - ContinueAsNewError is a BaseException
            # Like the run method: a bug fails the workflow task, continue-as-new ends the run.
            instance._finish_with_error(err)
            return
        finally:
            self._running.discard(attrs.update_id)
        command = command_pb2.Command(command_type=enums_pb2.COMMAND_TYPE_COMPLETE_WORKFLOW_UPDATE)
        command.complete_workflow_update_command_attributes.update_id = attrs.update_id
        command.complete_workflow_update_command_attributes.outcome.CopyFrom(outcome)
        instance.add_command(CommandEntry(command))
