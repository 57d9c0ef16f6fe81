"""Activities: scheduling, results, failures, cancellation."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from legato import exceptions, workflow
from legato.api.v1 import enums_pb2

from .history import Driver, application_failure, command_types, decode
from .workflows import Checkout, Receipt, charge, make_receipt, refund


def test_first_task_schedules_activity_after_signal() -> None:
    driver = Driver(Checkout, "o1")
    assert driver.run_task() == []
    driver.history.signal("approve")
    [command] = driver.run_task()
    attrs = command.schedule_activity_task_command_attributes
    assert command.command_type == enums_pb2.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK
    assert (attrs.activity_id, attrs.activity_type.name, attrs.task_queue.name) == ("1", "charge", "tq")
    assert decode(attrs.input) == ["o1", 1999]
    assert attrs.start_to_close_timeout.ToTimedelta() == timedelta(seconds=10)


def test_completion_completes_workflow_with_result() -> None:
    driver = Driver(Checkout, "o1")
    driver.history.signal("approve")
    driver.run_task()
    driver.history.activity_completed("1", "ch_9")
    [command] = driver.run_task()
    assert command.command_type == enums_pb2.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION
    assert decode(command.complete_workflow_execution_command_attributes.result) == ["charged ch_9"]
    assert driver.instance.is_completed
    assert driver.replay().is_completed


@workflow.defn
class Options:
    @workflow.run
    async def run(self) -> Receipt:
        refunded = await workflow.execute_activity(
            refund,
            "o1",
            task_queue="other",
            schedule_to_close_timeout=60,
            schedule_to_start_timeout=timedelta(seconds=5),
            heartbeat_timeout=timedelta(seconds=2),
            retry_policy=workflow.RetryPolicy(maximum_attempts=3),
            activity_id="refund-o1",
        )
        assert refunded == 7
        receipt = await workflow.execute_activity(make_receipt, "o1", start_to_close_timeout=5)
        assert isinstance(receipt, Receipt)
        raw = await workflow.execute_activity("by_name", start_to_close_timeout=5)
        assert raw == {"order_id": "o1", "cents": 5}
        return await workflow.execute_activity("by_name", start_to_close_timeout=5, result_type=Receipt)


def test_options_names_and_result_types() -> None:
    driver = Driver(Options)
    [command] = driver.run_task()
    attrs = command.schedule_activity_task_command_attributes
    assert attrs.activity_type.name == "refund"
    assert attrs.activity_id == "refund-o1"
    assert attrs.task_queue.name == "other"
    assert attrs.schedule_to_close_timeout.seconds == 60
    assert attrs.schedule_to_start_timeout.seconds == 5
    assert attrs.heartbeat_timeout.seconds == 2
    assert attrs.retry_policy.maximum_attempts == 3
    driver.history.activity_completed("refund-o1", 7)
    [command] = driver.run_task()
    assert command.schedule_activity_task_command_attributes.activity_id == "2"
    driver.history.activity_completed("2", {"order_id": "o1", "cents": 5})
    [command] = driver.run_task()
    assert command.schedule_activity_task_command_attributes.activity_type.name == "by_name"
    driver.history.activity_completed("3", {"order_id": "o1", "cents": 5})
    driver.run_task()
    driver.history.activity_completed("4", {"order_id": "o1", "cents": 5})
    [command] = driver.run_task()
    assert decode(command.complete_workflow_execution_command_attributes.result) == [
        {"order_id": "o1", "cents": 5}
    ]
    driver.replay()


def test_activity_definition_name_is_used() -> None:
    async def fn() -> None: ...

    fn.__legato_activity_definition__ = type("D", (), {"name": "custom-name"})()  # type: ignore[attr-defined]

    @workflow.defn
    class UsesDefinition:
        @workflow.run
        async def run(self) -> None:
            await workflow.execute_activity(fn, start_to_close_timeout=1)

    [command] = Driver(UsesDefinition).run_task()
    assert command.schedule_activity_task_command_attributes.activity_type.name == "custom-name"


@workflow.defn
class CatchesFailure:
    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.execute_activity(charge, "o1", 1, start_to_close_timeout=5)
        except exceptions.ActivityError as err:
            cause = err.__cause__
            assert isinstance(cause, exceptions.ApplicationError)
            return f"{err.activity_type}/{err.activity_id}: {cause.type}: {cause.message}"
        return "no error"


def test_failure_raises_activity_error_with_cause() -> None:
    driver = Driver(CatchesFailure)
    driver.run_task()
    driver.history.activity_failed("1", application_failure("card declined", type="Declined"))
    [command] = driver.run_task()
    assert decode(command.complete_workflow_execution_command_attributes.result) == [
        "charge/1: Declined: card declined"
    ]


@workflow.defn
class LetsFailurePropagate:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity(charge, "o1", 1, start_to_close_timeout=5)


def test_uncaught_activity_error_fails_workflow() -> None:
    driver = Driver(LetsFailurePropagate)
    driver.run_task()
    driver.history.activity_failed("1", application_failure("card declined"))
    [command] = driver.run_task()
    assert command.command_type == enums_pb2.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION
    failure = command.fail_workflow_execution_command_attributes.failure
    assert failure.WhichOneof("failure_info") == "activity_failure_info"
    assert failure.activity_failure_info.activity_type.name == "charge"
    assert failure.cause.message == "card declined"


def test_missing_timeouts_is_a_clear_task_failure() -> None:
    @workflow.defn
    class NoTimeout:
        @workflow.run
        async def run(self) -> None:
            await workflow.execute_activity(charge, "o1", 1)

    with pytest.raises(ValueError, match="start_to_close_timeout"):
        Driver(NoTimeout).run_task()


@workflow.defn
class CancelsActivity:
    def __init__(self) -> None:
        self.cancel = False
        self.outcome = ""

    @workflow.run
    async def run(self, cancellation_type: int) -> str:
        handle = workflow.start_activity(
            charge,
            "o1",
            1,
            start_to_close_timeout=5,
            cancellation_type=workflow.ActivityCancellationType(cancellation_type),
        )
        await workflow.wait_condition(lambda: self.cancel)
        handle.cancel()
        try:
            await handle
        except asyncio.CancelledError:
            return "cancelled"
        return "finished"

    @workflow.signal
    def stop(self) -> None:
        self.cancel = True


@pytest.mark.parametrize(
    ("cancellation_type", "commands_after_cancel", "result_without_ack"),
    [
        pytest.param(
            workflow.ActivityCancellationType.TRY_CANCEL,
            ["REQUEST_CANCEL_ACTIVITY_TASK", "COMPLETE_WORKFLOW_EXECUTION"],
            "cancelled",
            id="try-cancel",
        ),
        pytest.param(
            workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            ["REQUEST_CANCEL_ACTIVITY_TASK"],
            None,
            id="wait",
        ),
        pytest.param(
            workflow.ActivityCancellationType.ABANDON,
            ["COMPLETE_WORKFLOW_EXECUTION"],
            "cancelled",
            id="abandon",
        ),
    ],
)
def test_cancel_activity(
    cancellation_type: int, commands_after_cancel: list[str], result_without_ack: str | None
) -> None:
    driver = Driver(CancelsActivity, int(cancellation_type))
    driver.run_task()
    driver.history.signal("stop")
    commands = driver.run_task()
    assert command_types(commands) == commands_after_cancel
    if "REQUEST_CANCEL_ACTIVITY_TASK" in commands_after_cancel:
        assert commands[0].request_cancel_activity_task_command_attributes.scheduled_event_id == (
            driver.history.scheduled_id("1")
        )
    if result_without_ack is None:
        driver.history.activity_canceled("1")
        [command] = driver.run_task()
        assert decode(command.complete_workflow_execution_command_attributes.result) == ["cancelled"]
    else:
        assert decode(commands[-1].complete_workflow_execution_command_attributes.result) == [
            result_without_ack
        ]
    driver.replay()


def test_cancel_before_scheduling_sends_nothing() -> None:
    @workflow.defn
    class CancelsAtOnce:
        @workflow.run
        async def run(self) -> str:
            handle = workflow.start_activity(charge, "o1", 1, start_to_close_timeout=5)
            handle.cancel()
            try:
                await handle
            except asyncio.CancelledError:
                return "cancelled"
            return "?"

    [command] = Driver(CancelsAtOnce).run_task()
    assert decode(command.complete_workflow_execution_command_attributes.result) == ["cancelled"]


def test_gather_activities_in_parallel() -> None:
    @workflow.defn
    class Parallel:
        @workflow.run
        async def run(self) -> list[str]:
            return list(
                await asyncio.gather(
                    *(
                        workflow.execute_activity(charge, f"o{i}", i, start_to_close_timeout=5)
                        for i in range(3)
                    )
                )
            )

    driver = Driver(Parallel)
    assert [c.schedule_activity_task_command_attributes.activity_id for c in driver.run_task()] == [
        "1",
        "2",
        "3",
    ]
    for i in (3, 1, 2):
        driver.history.activity_completed(str(i), f"r{i}")
    [command] = driver.run_task()
    assert decode(command.complete_workflow_execution_command_attributes.result) == [["r1", "r2", "r3"]]
    driver.replay()
