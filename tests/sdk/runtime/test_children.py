"""Child workflows and external workflows."""

from __future__ import annotations

import asyncio

import pytest

from legato import exceptions, workflow

from .history import Driver, application_failure, command_types, decode
from .workflows import Checkout

OTHER_RUN = "6fa459ea-ee8a-3ca4-894e-db77e160355e"


def result(command: object) -> object:
    return decode(command.complete_workflow_execution_command_attributes.result)[0]  # type: ignore[attr-defined]


@workflow.defn
class Parent:
    @workflow.run
    async def run(self) -> str:
        handle = await workflow.start_child_workflow(
            Checkout.run,
            "o1",
            id="child-1",
            task_queue="children",
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            memo={"k": "v"},
        )
        await handle.signal("approve")
        try:
            value: str = await handle
        except exceptions.ChildWorkflowError as err:
            return f"child failed: {err.workflow_id}: {err.__cause__}"
        return f"child said {value}"


def test_child_workflow_start_signal_result() -> None:
    driver = Driver(Parent)
    [command] = driver.run_task()
    attrs = command.start_child_workflow_execution_command_attributes
    assert (attrs.workflow_id, attrs.workflow_type.name, attrs.task_queue.name) == (
        "child-1",
        "Checkout",
        "children",
    )
    assert attrs.parent_close_policy == workflow.ParentClosePolicy.ABANDON
    assert decode(attrs.input) == ["o1"]
    assert "k" in attrs.memo.fields
    driver.history.child_started("child-1")
    [command] = driver.run_task()
    signal = command.signal_external_workflow_execution_command_attributes
    assert (signal.execution.workflow_id, signal.execution.run_id, signal.signal_name) == (
        "child-1",
        "child-run",
        "approve",
    )
    assert signal.child_workflow_only
    driver.history.add(
        39,  # ExternalWorkflowExecutionSignaled
        _signaled(driver.history.last_id),
    )
    driver.history.child_completed("child-1", "ok")
    [command] = driver.run_task()
    assert result(command) == "child said ok"
    driver.replay()


def _signaled(initiated: int) -> object:
    from legato.api.v1 import history_pb2

    return history_pb2.ExternalWorkflowExecutionSignaledEventAttributes(initiated_event_id=initiated)


def test_child_failure_raises_child_workflow_error() -> None:
    driver = Driver(Parent)
    driver.run_task()
    driver.history.child_started("child-1")
    driver.run_task()
    driver.history.add(39, _signaled(driver.history.last_id))
    driver.history.child_failed("child-1", application_failure("nope"))
    [command] = driver.run_task()
    assert result(command) == "child failed: child-1: nope"


def test_child_already_started() -> None:
    @workflow.defn
    class StartsTwice:
        @workflow.run
        async def run(self) -> str:
            try:
                await workflow.execute_child_workflow("Other", id="taken")
            except exceptions.WorkflowAlreadyStartedError as err:
                return f"taken: {err.workflow_id}"
            return "?"

    driver = Driver(StartsTwice)
    driver.run_task()
    driver.history.child_start_failed("taken")
    [command] = driver.run_task()
    assert result(command) == "taken: taken"
    driver.replay()


@workflow.defn
class CancelsChild:
    @workflow.run
    async def run(self) -> str:
        handle = await workflow.start_child_workflow("Other", id="c")
        await asyncio.sleep(10)
        handle.cancel()
        try:
            await handle
        except asyncio.CancelledError:
            return "child cancelled"
        return "?"


def test_cancel_child_waits_for_cancellation() -> None:
    driver = Driver(CancelsChild)
    driver.run_task()
    driver.history.child_started("c")
    assert command_types(driver.run_task()) == ["START_TIMER"]
    driver.history.timer_fired("1")
    [command] = driver.run_task()
    attrs = command.request_cancel_external_workflow_execution_command_attributes
    assert (attrs.workflow_id, attrs.run_id, attrs.child_workflow_only) == ("c", "child-run", True)
    driver.history.child_canceled("c")
    [command] = driver.run_task()
    assert result(command) == "child cancelled"
    driver.replay()


def test_child_id_defaults_to_deterministic_uuid() -> None:
    @workflow.defn
    class DefaultId:
        @workflow.run
        async def run(self) -> None:
            await workflow.execute_child_workflow("Other")

    first = Driver(DefaultId).run_task()[0].start_child_workflow_execution_command_attributes.workflow_id
    second = Driver(DefaultId).run_task()[0].start_child_workflow_execution_command_attributes.workflow_id
    assert first == second and len(first) == 36


@pytest.mark.parametrize("action", ["signal", "cancel"])
def test_external_workflow(action: str) -> None:
    @workflow.defn
    class External:
        @workflow.run
        async def run(self) -> str:
            handle = workflow.get_external_workflow_handle("other-wf", run_id=OTHER_RUN)
            try:
                if action == "signal":
                    await handle.signal("poke", 1)
                else:
                    await handle.cancel()
            except exceptions.ApplicationError as err:
                return str(err)
            return "delivered"

    from legato.api.v1 import history_pb2

    driver = Driver(External)
    [command] = driver.run_task()
    if action == "signal":
        attrs = command.signal_external_workflow_execution_command_attributes
        assert (attrs.execution.workflow_id, attrs.execution.run_id, attrs.signal_name) == (
            "other-wf",
            OTHER_RUN,
            "poke",
        )
        driver.history.add(
            38,
            history_pb2.SignalExternalWorkflowExecutionFailedEventAttributes(
                cause="EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND", initiated_event_id=driver.history.last_id
            ),
        )
        expected = "signal 'poke' to workflow 'other-wf' failed: EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND"
    else:
        cancel = command.request_cancel_external_workflow_execution_command_attributes
        assert (cancel.workflow_id, cancel.run_id, cancel.child_workflow_only) == (
            "other-wf",
            OTHER_RUN,
            False,
        )
        driver.history.add(
            24,
            history_pb2.ExternalWorkflowExecutionCancelRequestedEventAttributes(
                initiated_event_id=driver.history.last_id
            ),
        )
        expected = "delivered"
    [command] = driver.run_task()
    assert result(command) == expected
    driver.replay()


def test_an_external_handle_with_a_run_id_that_is_not_a_uuid_raises_where_it_is_made() -> None:
    @workflow.defn
    class External:
        @workflow.run
        async def run(self) -> str:
            try:
                workflow.get_external_workflow_handle("other-wf", run_id="r9")
            except exceptions.ApplicationError as err:
                return f"{err.type}: {err}"
            return "accepted"

    [command] = Driver(External).run_task()
    assert result(command) == "ValueError: run_id is 'r9'; a run id is a UUID (or empty for the current run)"
