"""Workflows end to end through the client: signals, queries, children, continue-as-new, cancel, timers."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import grpc
import pytest

from legato import WorkflowExecutionStatus, WorkflowIDReusePolicy, activity, workflow
from legato.api.v1 import enums_pb2
from legato.client import Client, WorkflowHandle
from legato.exceptions import (
    ApplicationError,
    CancelledError,
    ChildWorkflowError,
    RPCError,
    TerminatedError,
    WorkflowAlreadyStartedError,
    WorkflowContinuedAsNewError,
    WorkflowFailureError,
    WorkflowQueryFailedError,
)
from legato.worker import Worker
from tests.waiting import wait_until


@workflow.defn
class ApprovalWorkflow:
    def __init__(self) -> None:
        self.approvers: list[str] = []
        self.required = 0

    @workflow.run
    async def run(self, required: int) -> str:
        self.required = required
        await workflow.wait_condition(lambda: len(self.approvers) >= self.required)
        return "approved by " + ", ".join(self.approvers)

    @workflow.signal
    def approve(self, who: str) -> None:
        self.approvers.append(who)

    @workflow.query
    def pending(self) -> int:
        return self.required - len(self.approvers)

    @workflow.query(name="approvers")
    def list_approvers(self, prefix: str) -> list[str]:
        return [f"{prefix}{a}" for a in self.approvers]


async def test_signals_and_queries(client: Client, task_queue: str, workflow_id: str) -> None:
    async with Worker(client, task_queue=task_queue, workflows=[ApprovalWorkflow]):
        handle = await client.start_workflow(ApprovalWorkflow.run, 2, id=workflow_id, task_queue=task_queue)
        await handle.signal(ApprovalWorkflow.approve, "alice")

        async def one_pending() -> bool:
            return await handle.query(ApprovalWorkflow.pending) == 1

        await wait_until(one_pending)
        assert await handle.query("approvers", "@") == ["@alice"]
        assert await handle.query(ApprovalWorkflow.list_approvers, "#") == ["#alice"]
        with pytest.raises(WorkflowQueryFailedError, match="no_such_query"):
            await handle.query("no_such_query")
        await handle.signal("approve", "bob")
        assert await handle.result() == "approved by alice, bob"
        # A closed workflow still answers queries (replayed from its history).
        assert await handle.query(ApprovalWorkflow.pending) == 0


async def test_signal_with_start_starts_once_then_signals(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with Worker(client, task_queue=task_queue, workflows=[ApprovalWorkflow]):
        first = await client.start_workflow(
            ApprovalWorkflow.run,
            2,
            id=workflow_id,
            task_queue=task_queue,
            start_signal=ApprovalWorkflow.approve,
            start_signal_args=["carol"],
        )
        second = await client.signal_with_start(
            ApprovalWorkflow.run, "approve", "dave", args=[2], id=workflow_id, task_queue=task_queue
        )
        assert first.result_run_id == second.result_run_id
        assert await first.result() == "approved by carol, dave"


@workflow.defn
class SquareWorkflow:
    @workflow.run
    async def run(self, n: int) -> int:
        if n < 0:
            raise ApplicationError("negative input", type="BadInput", non_retryable=True)
        return n * n


@workflow.defn
class SumOfSquaresWorkflow:
    @workflow.run
    async def run(self, numbers: list[int]) -> int:
        parent_id = workflow.info().workflow_id
        results = await asyncio.gather(
            *(
                workflow.execute_child_workflow(SquareWorkflow.run, n, id=f"{parent_id}-square-{i}")
                for i, n in enumerate(numbers)
            )
        )
        return sum(results)


async def test_child_workflows(client: Client, task_queue: str, workflow_id: str) -> None:
    async with Worker(client, task_queue=task_queue, workflows=[SumOfSquaresWorkflow, SquareWorkflow]):
        assert (
            await client.execute_workflow(
                SumOfSquaresWorkflow.run, [1, 2, 3, 4], id=workflow_id, task_queue=task_queue
            )
            == 30
        )
        with pytest.raises(WorkflowFailureError) as raised:
            await client.execute_workflow(
                SumOfSquaresWorkflow.run, [1, -2], id=f"{workflow_id}-neg", task_queue=task_queue
            )
    child_error = raised.value.__cause__
    assert isinstance(child_error, ChildWorkflowError)
    assert isinstance(child_error.__cause__, ApplicationError)
    assert child_error.__cause__.type == "BadInput"


@workflow.defn
class CounterWorkflow:
    @workflow.run
    async def run(self, count: int, limit: int) -> str:
        if count < limit:
            workflow.continue_as_new(count + 1, limit)
        return f"counted to {count} in run {workflow.info().run_id}"


async def test_continue_as_new_is_followed_by_result(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with Worker(client, task_queue=task_queue, workflows=[CounterWorkflow]):
        handle = await client.start_workflow(
            CounterWorkflow.run, args=[0, 5], id=workflow_id, task_queue=task_queue
        )
        result = await handle.result()
        assert result.startswith("counted to 5 in run ")
        assert handle.first_execution_run_id not in result  # the last run answered, not the first
        with pytest.raises(WorkflowContinuedAsNewError):
            await handle.result(follow_runs=False)
        runs = [e async for e in client.list_workflows(workflow_id=workflow_id)]
        assert len(runs) == 6
        assert sum(r.status == WorkflowExecutionStatus.CONTINUED_AS_NEW for r in runs) == 5


cleanups: dict[str, str] = {}


@activity.defn
async def release(what: str) -> str:
    return f"released {what}"


@workflow.defn
class ReservationWorkflow:
    def __init__(self) -> None:
        self.cleaned_up = ""

    @workflow.run
    async def run(self, what: str) -> str:
        try:
            await workflow.sleep(3600)
            return "timer fired"
        except asyncio.CancelledError:
            self.cleaned_up = await workflow.execute_activity(
                release, what, start_to_close_timeout=timedelta(seconds=10)
            )
            raise

    @workflow.query
    def cleanup(self) -> str:
        return self.cleaned_up


async def test_cancellation_runs_cleanup_and_surfaces_as_cancelled(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with Worker(client, task_queue=task_queue, workflows=[ReservationWorkflow], activities=[release]):
        handle = await client.start_workflow(
            ReservationWorkflow.run, "table 7", id=workflow_id, task_queue=task_queue
        )

        async def running_with_timer() -> bool:
            description = await handle.describe()
            return description.status == WorkflowExecutionStatus.RUNNING and description.history_length >= 4

        await wait_until(running_with_timer)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as raised:
            await handle.result()
        assert isinstance(raised.value.__cause__, CancelledError)
        assert await handle.query(ReservationWorkflow.cleanup) == "released table 7"
        assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED


@workflow.defn
class TimerWorkflow:
    @workflow.run
    async def run(self, seconds: float) -> list[str]:
        started = workflow.now()
        order: list[str] = []

        async def after(delay: float, label: str) -> None:
            await workflow.sleep(delay)
            order.append(label)

        await asyncio.gather(after(seconds * 2, "slow"), after(seconds, "fast"))
        elapsed = (workflow.now() - started).total_seconds()
        order.append("elapsed-ok" if elapsed >= seconds * 2 else f"elapsed-too-short:{elapsed}")
        return order


async def test_timers_fire_in_order_of_their_deadlines(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with Worker(client, task_queue=task_queue, workflows=[TimerWorkflow]):
        result = await client.execute_workflow(TimerWorkflow.run, 0.5, id=workflow_id, task_queue=task_queue)
    assert result == ["fast", "slow", "elapsed-ok"]
    events = [e async for e in client.get_workflow_handle(workflow_id).fetch_history_events()]
    assert sum(e.WhichOneof("attributes") == "timer_fired_event_attributes" for e in events) == 2


@workflow.defn
class FailingWorkflow:
    @workflow.run
    async def run(self) -> None:
        try:
            raise KeyError("root cause")
        except KeyError as err:
            raise ApplicationError("order invalid", {"order": 7}, type="InvalidOrder") from err


async def test_workflow_failure_surfaces_typed_with_cause_chain(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with Worker(client, task_queue=task_queue, workflows=[FailingWorkflow]):
        with pytest.raises(WorkflowFailureError) as raised:
            await client.execute_workflow(FailingWorkflow.run, id=workflow_id, task_queue=task_queue)
    error = raised.value.__cause__
    assert isinstance(error, ApplicationError)
    assert (error.type, error.message, list(error.details)) == (
        "InvalidOrder",
        "order invalid",
        [{"order": 7}],
    )
    assert isinstance(error.__cause__, ApplicationError) and error.__cause__.type == "KeyError"


async def test_terminate_describe_and_duplicate_start(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with Worker(client, task_queue=task_queue, workflows=[ApprovalWorkflow]):
        handle = await client.start_workflow(
            ApprovalWorkflow.run, 5, id=workflow_id, task_queue=task_queue, memo={"team": "billing"}
        )
        with pytest.raises(WorkflowAlreadyStartedError) as running:
            await client.start_workflow(
                ApprovalWorkflow.run,
                5,
                id=workflow_id,
                task_queue=task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        assert running.value.run_id == handle.result_run_id
        assert "already running" in str(running.value)
        description = await handle.describe()
        assert description.status == WorkflowExecutionStatus.RUNNING
        assert description.workflow_type == "ApprovalWorkflow"
        assert description.memo == {"team": "billing"}
        assert description.run_id == handle.result_run_id
        assert description.start_time is not None and description.close_time is None
        await handle.terminate("operator said so")
        with pytest.raises(WorkflowFailureError) as raised:
            await handle.result()
        assert isinstance(raised.value.__cause__, TerminatedError)
        assert "operator said so" in raised.value.__cause__.message
        description = await handle.describe()
        assert description.status == WorkflowExecutionStatus.TERMINATED
        assert description.close_time is not None
        history = await handle.fetch_history()
        assert history.events[0].event_id == 1
        assert len(history.events) == description.history_length
        with pytest.raises(WorkflowAlreadyStartedError) as closed:
            await client.start_workflow(
                ApprovalWorkflow.run,
                5,
                id=workflow_id,
                task_queue=task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        # The run is closed: the refusal says the reuse policy refused it, not that it runs.
        assert closed.value.run_id == handle.result_run_id
        assert "REJECT_DUPLICATE" in str(closed.value)
        assert "already started" not in str(closed.value)


async def test_list_and_count_workflows(client: Client, task_queue: str, workflow_id: str) -> None:
    async with Worker(client, task_queue=task_queue, workflows=[SquareWorkflow, ApprovalWorkflow]):
        for i in range(3):
            await client.execute_workflow(
                SquareWorkflow.run, i, id=f"{workflow_id}-{i}", task_queue=task_queue
            )
        running = await client.start_workflow(
            ApprovalWorkflow.run, 1, id=f"{workflow_id}-running", task_queue=task_queue
        )
        listed = [e async for e in client.list_workflows(task_queue=task_queue, page_size=2)]
        assert sorted(e.id for e in listed) == sorted([f"{workflow_id}-{i}" for i in range(3)] + [running.id])
        assert await client.count_workflows(task_queue=task_queue) == 4
        assert (
            await client.count_workflows(task_queue=task_queue, status=WorkflowExecutionStatus.COMPLETED) == 3
        )
        assert await client.count_workflows(task_queue=task_queue, workflow_type=ApprovalWorkflow) == 1
        only_running = [
            e
            async for e in client.list_workflows(
                task_queue=task_queue, status=WorkflowExecutionStatus.RUNNING
            )
        ]
        assert [e.id for e in only_running] == [running.id]
        await running.terminate()


async def test_a_query_no_worker_can_answer_fails_once_with_the_servers_reason(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    # No worker polls this queue: the workflow never runs its first task. The
    # server must say so before the client's deadline (not DEADLINE_EXCEEDED,
    # which the client used to retry for 20-30 s).
    handle = await client.start_workflow(ApprovalWorkflow.run, 1, id=workflow_id, task_queue=task_queue)
    with pytest.raises(RPCError) as raised:
        await handle.query(ApprovalWorkflow.pending)
    assert raised.value.status == grpc.StatusCode.FAILED_PRECONDITION
    assert "has not completed its first workflow task" in raised.value.details


class FlakyBugWorkflow:
    fixed_after = 3
    attempts = 0


@workflow.defn
class BuggyUntilFixedWorkflow:
    @workflow.run
    async def run(self) -> str:
        FlakyBugWorkflow.attempts += 1
        if FlakyBugWorkflow.attempts <= FlakyBugWorkflow.fixed_after:
            raise RuntimeError("a bug in the workflow code")  # fails the workflow task, not the workflow
        return "fixed"


async def test_a_workflow_task_that_keeps_failing_records_one_failure(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    FlakyBugWorkflow.attempts = 0
    handle = await client.start_workflow(BuggyUntilFixedWorkflow.run, id=workflow_id, task_queue=task_queue)
    async with Worker(client, task_queue=task_queue, workflows=[BuggyUntilFixedWorkflow]):
        await wait_until(lambda: _attempt_at_least(handle, 3))
        assert await handle.result() == "fixed"
    events = [enums_pb2.EventType.Name(e.event_type) for e in (await handle.fetch_history()).events]
    assert events.count("EVENT_TYPE_WORKFLOW_TASK_FAILED") == 1
    assert (
        events.count("EVENT_TYPE_WORKFLOW_TASK_SCHEDULED") == 2
    )  # the first attempt and the one that worked
    assert FlakyBugWorkflow.attempts == 4


async def _attempt_at_least(handle: WorkflowHandle, attempt: int) -> bool:
    description = await handle.describe()
    return description.workflow_task_attempt >= attempt or description.close_time is not None
