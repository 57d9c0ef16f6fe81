"""How a run ends: result, failure, task failure, continue-as-new."""

from __future__ import annotations

import pytest

from legato import exceptions, workflow
from legato.api.v1 import enums_pb2

from .history import Driver, decode, new_instance


class NotMyFault(Exception):
    pass


@workflow.defn(name="Ending", failure_exception_types=[NotMyFault])
class Ending:
    @workflow.run
    async def run(self, how: str) -> str:
        if how == "app":
            raise exceptions.ApplicationError("bad input", {"field": "x"}, type="Invalid", non_retryable=True)
        if how == "declared":
            raise NotMyFault("declared")
        if how == "bug":
            raise ZeroDivisionError("bug")
        if how == "again":
            workflow.continue_as_new("app", task_queue="next", run_timeout=60, memo={"gen": 2})
        return how


def test_application_error_fails_workflow() -> None:
    [command] = Driver(Ending, "app").run_task()
    assert command.command_type == enums_pb2.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION
    failure = command.fail_workflow_execution_command_attributes.failure
    assert failure.message == "bad input"
    assert failure.application_failure_info.type == "Invalid"
    assert failure.application_failure_info.non_retryable
    assert decode(failure.application_failure_info.details) == [{"field": "x"}]


def test_declared_exception_types_fail_workflow() -> None:
    [command] = Driver(Ending, "declared").run_task()
    assert command.command_type == enums_pb2.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION
    assert (
        command.fail_workflow_execution_command_attributes.failure.application_failure_info.type
        == "NotMyFault"
    )


def test_other_exceptions_fail_the_task() -> None:
    driver = Driver(Ending, "bug")
    with pytest.raises(ZeroDivisionError):
        driver.run_task()


def test_fixed_code_continues_after_failed_task() -> None:
    driver = Driver(Ending, "bug")
    with pytest.raises(ZeroDivisionError):
        driver.run_task(record=False)
    driver.history.task_failed()

    @workflow.defn(name="Ending")
    class Fixed:
        @workflow.run
        async def run(self, how: str) -> str:
            return f"fixed {how}"

    driver.history.task()
    # The worker rebuilds the instance from the whole history: the failed task is skipped.
    fresh = new_instance(Fixed)
    [command] = fresh.activate(driver.history.events)
    assert decode(command.complete_workflow_execution_command_attributes.result) == ["fixed bug"]


def test_continue_as_new() -> None:
    [command] = Driver(Ending, "again").run_task()
    assert command.command_type == enums_pb2.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION
    attrs = command.continue_as_new_workflow_execution_command_attributes
    assert attrs.workflow_type.name == "Ending"
    assert attrs.task_queue.name == "next"
    assert attrs.workflow_run_timeout.seconds == 60
    assert decode(attrs.input) == ["app"]
    assert "gen" in attrs.memo.fields


def test_continue_as_new_is_not_caught_by_except_exception() -> None:
    @workflow.defn
    class Swallows:
        @workflow.run
        async def run(self) -> None:
            try:
                workflow.continue_as_new()
            except Exception:  # noqa: BLE001 - the point of the test
                pass

    [command] = Driver(Swallows).run_task()
    assert command.command_type == enums_pb2.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION


def test_init_may_take_run_arguments() -> None:
    @workflow.defn
    class WithInit:
        def __init__(self, name: str) -> None:
            self.greeting = f"hello {name}"

        @workflow.run
        async def run(self, name: str) -> str:
            return self.greeting

    [command] = Driver(WithInit, "ada").run_task()
    assert decode(command.complete_workflow_execution_command_attributes.result) == ["hello ada"]


def test_info_from_started_event() -> None:
    @workflow.defn
    class Introspects:
        @workflow.run
        async def run(self) -> dict[str, object]:
            info = workflow.info()
            return {
                "id": info.workflow_id,
                "type": info.workflow_type,
                "attempt": info.attempt,
                "cron": info.cron_schedule,
                "memo": dict(info.memo),
                "start": info.start_time.isoformat() if info.start_time else None,
                "replaying": workflow.unsafe.is_replaying(),
            }

    from .history import PC

    driver = Driver(Introspects, attempt=3, cron_schedule="* * * * *")
    driver.history.events[0].workflow_execution_started_event_attributes.memo.fields["team"].CopyFrom(
        PC.to_payload("payments")
    )
    [command] = driver.run_task()
    assert decode(command.complete_workflow_execution_command_attributes.result) == [
        {
            "id": "wf-1",
            "type": "Introspects",
            "attempt": 3,
            "cron": "* * * * *",
            "memo": {"team": "payments"},
            "start": "2024-01-01T00:00:00+00:00",
            "replaying": False,
        }
    ]
