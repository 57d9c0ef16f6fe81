"""Cancellation of the workflow, and of what it waits on."""

from __future__ import annotations

import asyncio

from legato import workflow

from .history import Driver, command_types, decode
from .workflows import charge


@workflow.defn
class CleansUp:
    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.execute_activity(charge, "o1", 1, start_to_close_timeout=5)
        except asyncio.CancelledError:
            await workflow.execute_activity("cleanup", start_to_close_timeout=5)
            raise
        return "done"


def test_cancel_request_cancels_activity_then_workflow() -> None:
    driver = Driver(CleansUp)
    driver.run_task()
    driver.history.cancel_requested()
    commands = driver.run_task()
    assert command_types(commands) == ["REQUEST_CANCEL_ACTIVITY_TASK", "SCHEDULE_ACTIVITY_TASK"]
    assert commands[1].schedule_activity_task_command_attributes.activity_type.name == "cleanup"
    driver.history.activity_completed("2", None)
    assert command_types(driver.run_task()) == ["CANCEL_WORKFLOW_EXECUTION"]
    assert driver.instance.is_completed
    driver.replay()


def test_cancel_before_run_starts_reaches_first_await() -> None:
    driver = Driver(CleansUp)
    driver.history.cancel_requested()
    # The charge activity is withdrawn before it was ever sent; the cleanup runs.
    [command] = driver.run_task()
    assert command.schedule_activity_task_command_attributes.activity_type.name == "cleanup"
    driver.history.activity_completed("2", None)
    assert command_types(driver.run_task()) == ["CANCEL_WORKFLOW_EXECUTION"]
    driver.replay()


@workflow.defn
class Shielded:
    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.sleep(100)
        except asyncio.CancelledError:
            pass
        # A cancellation request is one-shot: the workflow can go on, or shield work.
        result = await workflow.shield(workflow.execute_activity("compensate", start_to_close_timeout=5))
        return f"compensated {result}"


def test_catching_cancellation_and_continuing() -> None:
    driver = Driver(Shielded)
    driver.run_task()
    driver.history.cancel_requested()
    assert command_types(driver.run_task()) == ["CANCEL_TIMER", "SCHEDULE_ACTIVITY_TASK"]
    driver.history.activity_completed("1", 5)
    [command] = driver.run_task()
    assert decode(command.complete_workflow_execution_command_attributes.result) == ["compensated 5"]
    driver.replay()


@workflow.defn
class ShieldsFromCancel:
    @workflow.run
    async def run(self) -> str:
        await workflow.shield(workflow.execute_activity("important", start_to_close_timeout=5))
        return "not reached"


def test_shield_finishes_work_then_cancels() -> None:
    driver = Driver(ShieldsFromCancel)
    driver.run_task()
    driver.history.cancel_requested()
    assert driver.run_task() == []  # the activity is not cancelled
    driver.history.activity_completed("1", None)
    assert command_types(driver.run_task()) == ["CANCEL_WORKFLOW_EXECUTION"]
    driver.replay()
