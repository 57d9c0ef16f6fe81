"""Signals and queries."""

from __future__ import annotations

import pytest

from legato import exceptions, workflow
from legato.api.v1 import common_pb2

from .history import Driver, decode, payloads
from .workflows import Checkout


def result(command: object) -> object:
    return decode(command.complete_workflow_execution_command_attributes.result)[0]  # type: ignore[attr-defined]


@workflow.defn
class Collector:
    def __init__(self) -> None:
        self.items: list[str] = []

    @workflow.run
    async def run(self) -> list[str]:
        seen_at_start = list(self.items)
        await workflow.wait_condition(lambda: "stop" in self.items)
        return seen_at_start + ["|"] + self.items

    @workflow.signal(name="add-item")
    async def add(self, item: str) -> None:
        self.items.append(item)

    @workflow.query
    def count(self, prefix: str) -> str:
        return f"{prefix}{len(self.items)}"

    @workflow.query(name="raw")
    def raw_items(self) -> list[str]:
        return self.items


def test_signals_in_first_task_are_handled_before_run_starts() -> None:
    driver = Driver(Collector)
    driver.history.signal("add-item", "a")
    driver.history.signal("add-item", "b")
    assert driver.run_task() == []
    driver.history.signal("add-item", "stop")
    [command] = driver.run_task()
    assert result(command) == ["a", "b", "|", "a", "b", "stop"]
    driver.replay()


def test_query_reads_state_with_args() -> None:
    driver = Driver(Collector)
    driver.history.signal("add-item", "a")
    driver.run_task()
    answer = driver.instance.query("count", payloads("n="), None)
    assert decode(answer) == ["n=1"]
    assert decode(driver.instance.query("raw", common_pb2.Payloads(), common_pb2.Header())) == [["a"]]


def test_query_of_checkout_status() -> None:
    driver = Driver(Checkout, "o1")
    driver.run_task()
    assert decode(driver.instance.query("current_status", common_pb2.Payloads(), None)) == ["waiting"]


def test_unknown_query_lists_known_ones() -> None:
    driver = Driver(Collector)
    driver.run_task()
    with pytest.raises(exceptions.WorkflowQueryFailedError, match="known queries: count, raw"):
        driver.instance.query("nope", common_pb2.Payloads(), None)


def test_stack_trace_query() -> None:
    driver = Driver(Collector)
    driver.run_task()
    [trace] = decode(driver.instance.query("__stack_trace", common_pb2.Payloads(), None))
    assert "wait_condition" in trace


@workflow.defn
class MisbehavingQueries:
    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.query
    def sleeps(self) -> None:
        workflow.start_activity("x", start_to_close_timeout=1)

    @workflow.query
    def upserts(self) -> None:
        workflow.upsert_memo({"a": 1})


@pytest.mark.parametrize("name", ["sleeps", "upserts"])
def test_query_must_not_issue_commands(name: str) -> None:
    driver = Driver(MisbehavingQueries)
    driver.run_task()
    with pytest.raises(workflow.ReadOnlyContextError):
        driver.instance.query(name, common_pb2.Payloads(), None)
    # The instance is still usable afterwards.
    assert driver.run_task() == []


@workflow.defn
class Dynamic:
    def __init__(self) -> None:
        self.got: list[int] = []

    @workflow.run
    async def run(self) -> list[int]:
        await workflow.sleep(1)

        def on_late(value: int) -> None:
            self.got.append(value)

        workflow.set_signal_handler("late", on_late)
        await workflow.wait_condition(lambda: len(self.got) == 2)
        return self.got


def test_unknown_signals_are_buffered_until_a_handler_exists(caplog: pytest.LogCaptureFixture) -> None:
    driver = Driver(Dynamic)
    driver.history.signal("late", 1)
    driver.run_task()
    assert "no handler for signal 'late'" in caplog.text
    driver.history.signal("late", 2)
    driver.history.timer_fired("1")
    [command] = driver.run_task()
    assert result(command) == [1, 2]
    driver.replay()


def test_failing_signal_handler_fails_the_task() -> None:
    @workflow.defn
    class BadSignal:
        @workflow.run
        async def run(self) -> None:
            await workflow.wait_condition(lambda: False)

        @workflow.signal
        def boom(self) -> None:
            raise KeyError("bug")

    driver = Driver(BadSignal)
    driver.run_task()
    driver.history.signal("boom")
    with pytest.raises(KeyError, match="bug"):
        driver.run_task()
