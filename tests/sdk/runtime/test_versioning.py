"""patched / deprecate_patch, side effects, deterministic random, upserts."""

from __future__ import annotations

from legato import workflow
from legato.api.v1 import common_pb2

from .history import Driver, HistoryBuilder, command_types, decode, new_instance, payloads


def result(command: object) -> object:
    return decode(command.complete_workflow_execution_command_attributes.result)[0]  # type: ignore[attr-defined]


@workflow.defn(name="Versioned")
class Old:
    @workflow.run
    async def run(self) -> str:
        await workflow.execute_activity("old_step", start_to_close_timeout=5)
        return "done"


@workflow.defn(name="Versioned")
class Patched:
    @workflow.run
    async def run(self) -> str:
        if workflow.patched("new-step"):
            await workflow.execute_activity("new_step", start_to_close_timeout=5)
        else:
            await workflow.execute_activity("old_step", start_to_close_timeout=5)
        return "done"


@workflow.defn(name="Versioned")
class Deprecated:
    @workflow.run
    async def run(self) -> str:
        workflow.deprecate_patch("new-step")
        await workflow.execute_activity("new_step", start_to_close_timeout=5)
        return "done"


@workflow.defn(name="Versioned")
class PatchRemoved:
    @workflow.run
    async def run(self) -> str:
        await workflow.execute_activity("new_step", start_to_close_timeout=5)
        return "done"


def _history(workflow_cls: type) -> HistoryBuilder:
    driver = Driver(workflow_cls)
    driver.run_task()
    driver.history.activity_completed("1", None)
    driver.run_task()
    return driver.history


def test_new_execution_takes_patched_branch_and_records_marker() -> None:
    driver = Driver(Patched)
    assert command_types(driver.run_task()) == ["RECORD_MARKER", "SCHEDULE_ACTIVITY_TASK"]


def test_old_history_replays_old_branch() -> None:
    old_history = _history(Old)
    instance = new_instance(Patched)
    assert instance.activate(old_history.events) == []
    assert instance.is_completed


def test_patched_history_replays_new_branch() -> None:
    new_history = _history(Patched)
    new_instance(Patched).activate(new_history.events)


def test_deprecated_patch_replays_both_histories() -> None:
    new_instance(Deprecated).activate(_history(Patched).events)
    new_instance(Deprecated).activate(_history(Deprecated).events)


def test_removed_deprecated_patch_replays() -> None:
    new_instance(PatchRemoved).activate(_history(Deprecated).events)


def test_patch_on_old_history_in_a_new_task_is_taken() -> None:
    # An execution that started on old code, then gets a new task on new code.
    @workflow.defn(name="Versioned")
    class Later:
        @workflow.run
        async def run(self) -> str:
            await workflow.execute_activity("old_step", start_to_close_timeout=5)
            if workflow.patched("extra"):
                await workflow.execute_activity("extra", start_to_close_timeout=5)
            return "done"

    driver = Driver(Old)
    driver.run_task()
    driver.history.activity_completed("1", None)
    driver.history.task()
    commands = new_instance(Later).activate(driver.history.events)
    assert command_types(commands) == ["RECORD_MARKER", "SCHEDULE_ACTIVITY_TASK"]


@workflow.defn
class Effects:
    @workflow.run
    async def run(self) -> list[object]:
        value = workflow.side_effect(lambda: 42)
        rnd = workflow.random().randint(0, 10**9)
        uid = str(workflow.uuid4())
        await workflow.sleep(1)
        workflow.upsert_memo({"stage": "two"})
        workflow.upsert_search_attributes({"CustomerId": "c1"})
        return [
            value,
            rnd,
            uid,
            workflow.info().memo["stage"],
            workflow.info().search_attributes["CustomerId"],
        ]


def test_side_effect_random_uuid_and_upserts_replay_identically() -> None:
    driver = Driver(Effects)
    assert command_types(driver.run_task()) == ["RECORD_MARKER", "START_TIMER"]
    driver.history.timer_fired("1")
    commands = driver.run_task()
    assert command_types(commands) == [
        "MODIFY_WORKFLOW_PROPERTIES",
        "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES",
        "COMPLETE_WORKFLOW_EXECUTION",
    ]
    first = result(commands[-1])
    assert isinstance(first, list) and first[0] == 42 and first[3:] == ["two", "c1"]
    driver.replay()


def test_side_effect_value_comes_from_history_on_replay() -> None:
    driver = Driver(Effects)
    driver.run_task()
    marker = driver.history.events[-2].marker_recorded_event_attributes
    marker.details["data"].CopyFrom(decode_payloads(7))
    driver.history.timer_fired("1")
    driver.history.task()
    commands = new_instance(Effects).activate(driver.history.events)
    assert result(commands[-1])[0] == 7  # type: ignore[index]


def decode_payloads(value: object) -> common_pb2.Payloads:
    return payloads(value)
