"""Replay checks: code that no longer matches its history fails the task loudly."""

from __future__ import annotations

import time

import pytest

from legato import exceptions, workflow
from legato._workflow_instance import StaleInstanceError

from .history import Driver, new_instance
from .test_versioning import Patched, PatchRemoved, _history


@workflow.defn(name="Flow")
class SleepsFirst:
    @workflow.run
    async def run(self) -> None:
        await workflow.sleep(10)
        await workflow.execute_activity("step", start_to_close_timeout=5)


@workflow.defn(name="Flow")
class ActsFirst:
    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity("step", start_to_close_timeout=5)


@workflow.defn(name="Flow")
class RenamedActivity:
    @workflow.run
    async def run(self) -> None:
        await workflow.sleep(10)
        await workflow.execute_activity("renamed", start_to_close_timeout=5)


@workflow.defn(name="Flow")
class DoesNothing:
    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)


@workflow.defn(name="Flow")
class SleepsTwice:
    @workflow.run
    async def run(self) -> None:
        await workflow.sleep(10)
        await workflow.sleep(10)


def _recorded() -> Driver:
    driver = Driver(SleepsFirst)
    driver.run_task()
    driver.history.timer_fired("1")
    driver.run_task()
    driver.history.activity_completed("1", None)
    driver.run_task()
    return driver


def test_timer_replaced_by_activity_names_both() -> None:
    driver = _recorded()
    with pytest.raises(exceptions.NondeterminismError) as caught:
        new_instance(ActsFirst).activate(driver.history.events)
    message = str(caught.value)
    assert "TimerStarted(timer_id='1') at event 5" in message
    assert "ScheduleActivityTask(activity_type='step', activity_id='1')" in message


def test_changed_activity_type() -> None:
    driver = _recorded()
    with pytest.raises(exceptions.NondeterminismError, match="'renamed'"):
        new_instance(RenamedActivity).activate(driver.history.events)


def test_recorded_command_no_longer_issued() -> None:
    driver = _recorded()
    with pytest.raises(exceptions.NondeterminismError, match="issued no such command"):
        new_instance(DoesNothing).activate(driver.history.events)


def test_command_issued_but_not_in_history() -> None:
    driver = Driver(SleepsFirst)
    driver.run_task()
    driver.history.timer_fired("1")
    driver.history.task()
    driver.history.record([])  # the old code completed the task with no command
    driver.history.task()
    with pytest.raises(
        exceptions.NondeterminismError, match="issued ScheduleActivityTask.*no matching event"
    ):
        new_instance(SleepsFirst).activate(driver.history.events)


def test_non_deprecated_patch_marker_without_patched_call() -> None:
    with pytest.raises(exceptions.NondeterminismError, match="MarkerRecorded"):
        new_instance(PatchRemoved).activate(_history(Patched).events)


def test_same_code_replays_and_sticky_instance_matches_full_replay() -> None:
    driver = _recorded()
    assert new_instance(SleepsFirst).activate(driver.history.events) == []
    assert driver.instance.is_completed


def test_failed_and_timed_out_tasks_are_skipped() -> None:
    driver = Driver(SleepsTwice)
    driver.history.task()
    driver.history.task_failed()
    driver.history.task()
    driver.history.task_timed_out()
    driver.run_task()
    driver.history.timer_fired("1")
    driver.run_task()
    driver.history.timer_fired("2")
    driver.run_task()
    assert driver.instance.is_completed
    driver.replay()


def test_task_without_commands() -> None:
    driver = Driver(SleepsTwice)
    driver.run_task()
    driver.history.add(26, None)  # a signal nobody handles
    assert driver.run_task() == []
    driver.history.timer_fired("1")
    driver.run_task()
    driver.history.timer_fired("2")
    driver.run_task()
    driver.replay()


def test_events_must_follow_on() -> None:
    driver = Driver(SleepsTwice)
    driver.run_task()
    driver.history.timer_fired("1")
    driver.history.task()
    with pytest.raises(StaleInstanceError, match="expected event 4 next but got 7"):
        driver.instance.activate(driver.history.events[-2:])


def test_failed_task_this_instance_ran_needs_a_rebuild() -> None:
    driver = Driver(SleepsTwice)
    driver.run_task(record=False)
    driver.history.task_failed()
    driver.history.task()
    with pytest.raises(StaleInstanceError, match="rebuild"):
        driver.instance.activate(driver.history.events[3:])


@workflow.defn(name="Long")
class Long:
    @workflow.run
    async def run(self, n: int) -> int:
        total = 0
        for i in range(n):
            total += await workflow.execute_activity("add", i, start_to_close_timeout=5)
        return total


def test_ten_thousand_events_replay_quickly() -> None:
    n = 1700  # 6 events per activity round trip: ~10,200 events
    driver = Driver(Long, n)
    for i in range(1, n + 1):
        driver.run_task()
        driver.history.activity_completed(str(i), 1)
    [command] = driver.run_task()
    assert len(driver.history.events) > 10_000
    started = time.perf_counter()
    instance = new_instance(Long)
    instance.activate(driver.history.events)
    elapsed = time.perf_counter() - started
    assert instance.is_completed
    assert elapsed < 5, f"replaying {len(driver.history.events)} events took {elapsed:.2f}s"
