"""Durable time: sleep, asyncio timers, wait_condition, workflow clock."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from legato import workflow

from .history import START, Driver, command_types, decode
from .workflows import Sleeper


def result(command: object) -> object:
    return decode(command.complete_workflow_execution_command_attributes.result)[0]  # type: ignore[attr-defined]


def test_asyncio_sleep_is_a_durable_timer() -> None:
    driver = Driver(Sleeper, 90)
    [command] = driver.run_task()
    attrs = command.start_timer_command_attributes
    assert (attrs.timer_id, attrs.start_to_fire_timeout.ToTimedelta()) == ("1", timedelta(seconds=90))
    driver.history.advance(90)
    driver.history.timer_fired("1")
    [command] = driver.run_task()
    assert result(command) == "slept 90.0"
    driver.replay()


@workflow.defn
class Clock:
    @workflow.run
    async def run(self) -> list[str]:
        seen = [workflow.now().isoformat()]
        await workflow.sleep(timedelta(minutes=1))
        seen.append(workflow.now().isoformat())
        return seen


def test_now_is_the_workflow_task_start_time() -> None:
    driver = Driver(Clock)
    driver.history.advance(3)
    driver.run_task()
    driver.history.advance(60)
    driver.history.timer_fired("1")
    driver.history.advance(2)
    [command] = driver.run_task()
    assert result(command) == [
        (START + timedelta(seconds=3)).isoformat(),
        (START + timedelta(seconds=65)).isoformat(),
    ]


@workflow.defn
class WaitsWithTimeout:
    def __init__(self) -> None:
        self.ready = False

    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.wait_condition(lambda: self.ready, timeout=timedelta(hours=1))
        except TimeoutError:
            return "timed out"
        return "ready"

    @workflow.signal
    def go(self) -> None:
        self.ready = True


def test_wait_condition_times_out() -> None:
    driver = Driver(WaitsWithTimeout)
    assert command_types(driver.run_task()) == ["START_TIMER"]
    driver.history.timer_fired("1")
    [command] = driver.run_task()
    assert result(command) == "timed out"
    driver.replay()


def test_wait_condition_satisfied_cancels_timer() -> None:
    driver = Driver(WaitsWithTimeout)
    driver.run_task()
    driver.history.signal("go")
    commands = driver.run_task()
    assert command_types(commands) == ["CANCEL_TIMER", "COMPLETE_WORKFLOW_EXECUTION"]
    assert commands[0].cancel_timer_command_attributes.timer_id == "1"
    assert result(commands[1]) == "ready"
    driver.replay()


def test_condition_true_in_same_task_sends_no_timer() -> None:
    driver = Driver(WaitsWithTimeout)
    driver.history.signal("go")
    [command] = driver.run_task()
    assert result(command) == "ready"


@workflow.defn
class RacesTimers:
    @workflow.run
    async def run(self) -> str:
        try:
            async with asyncio.timeout(10):
                await asyncio.sleep(100)
        except TimeoutError:
            pass
        try:
            await asyncio.wait_for(asyncio.Event().wait(), timeout=5)
        except TimeoutError:
            return "both timed out"
        return "?"


def test_asyncio_timeout_and_wait_for() -> None:
    driver = Driver(RacesTimers)
    commands = driver.run_task()
    assert [
        (
            c.start_timer_command_attributes.timer_id,
            c.start_timer_command_attributes.start_to_fire_timeout.seconds,
        )
        for c in commands
    ] == [("1", 10), ("2", 100)]
    driver.history.timer_fired("1")
    commands = driver.run_task()
    assert command_types(commands) == ["CANCEL_TIMER", "START_TIMER"]
    assert commands[0].cancel_timer_command_attributes.timer_id == "2"
    driver.history.timer_fired("3")
    [command] = driver.run_task()
    assert result(command) == "both timed out"
    driver.replay()


def test_signal_and_timer_in_one_task_are_applied_before_conditions_are_checked() -> None:
    driver = Driver(WaitsWithTimeout)
    driver.run_task()
    # Both arrive before the task runs: the handler and the timer callback both run,
    # then conditions are checked; wait_for already gave up. Replay sees the same.
    driver.history.signal("go")
    driver.history.timer_fired("1")
    [command] = driver.run_task()
    assert result(command) == "timed out"
    driver.replay()


def test_cancelled_timer_may_fire_before_server_cancels() -> None:
    driver = Driver(WaitsWithTimeout)
    driver.run_task()
    driver.history.signal("go")
    commands = driver.run_task(record=False)
    assert command_types(commands) == ["CANCEL_TIMER", "COMPLETE_WORKFLOW_EXECUTION"]
    # The server already fired the timer and drops the CancelTimer command.
    driver.history.timer_fired("1")
    driver.history.record(commands[1:])
    driver.replay()


@pytest.mark.parametrize("delay", [0, -1], ids=["zero", "negative"])
def test_non_positive_delay_needs_no_timer(delay: float) -> None:
    @workflow.defn
    class NoDelay:
        @workflow.run
        async def run(self) -> str:
            loop = asyncio.get_running_loop()
            fut: asyncio.Future[str] = loop.create_future()
            loop.call_later(delay, fut.set_result, "ran")
            await asyncio.sleep(delay)
            return await fut

    [command] = Driver(NoDelay).run_task()
    assert result(command) == "ran"
