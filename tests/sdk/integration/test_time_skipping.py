"""The time-skipping test environment against a real dev server (``start-dev --time-skipping``)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import grpc
import pytest
import pytest_asyncio

from legato import activity, workflow
from legato.client import Client
from legato.common import WorkflowExecutionStatus
from legato.exceptions import RPCError
from legato.testing import ServerStartError, WorkflowEnvironment, start_local_environment
from legato.worker import Worker


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    try:
        environment = await start_local_environment(startup_timeout=60.0, time_skipping=True)
    except (ServerStartError, FileNotFoundError) as err:
        message = f"could not start legato-server start-dev --time-skipping: {err}"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    try:
        yield environment
    finally:
        await environment.shutdown()


@activity.defn
async def work(step: str) -> str:
    await asyncio.sleep(0.3)  # real work: time must not skip past its timeout meanwhile
    return f"did {step}"


@workflow.defn
class MonthLong:
    @workflow.run
    async def run(self) -> float:
        started = workflow.now()
        await workflow.sleep(timedelta(days=30))
        return (workflow.now() - started).total_seconds()


@workflow.defn
class ActivitiesAroundATimer:
    @workflow.run
    async def run(self) -> list[str]:
        first = await workflow.execute_activity(work, "before", start_to_close_timeout=timedelta(seconds=5))
        await workflow.sleep(timedelta(days=10))
        second = await workflow.execute_activity(work, "after", start_to_close_timeout=timedelta(seconds=5))
        return [first, second]


@workflow.defn
class ApprovalWithDeadline:
    def __init__(self) -> None:
        self.approved = False

    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.wait_condition(lambda: self.approved, timeout=timedelta(days=1))
        except TimeoutError:
            return "expired"
        return "approved"

    @workflow.signal
    def approve(self) -> None:
        self.approved = True


@workflow.defn
class HourNap:
    @workflow.run
    async def run(self) -> str:
        await workflow.sleep(timedelta(hours=1))
        return "rested"


@workflow.defn
class NapOnRequest:
    def __init__(self) -> None:
        self.napped = False

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.napped)
        return "awake"

    @workflow.update
    async def nap(self, days: int) -> float:
        started = workflow.now()
        await workflow.sleep(timedelta(days=days))
        self.napped = True
        return (workflow.now() - started).total_seconds()


async def test_a_thirty_day_timer_workflow_finishes_in_seconds(
    skipping_env: WorkflowEnvironment, task_queue: str, workflow_id: str
) -> None:
    client = skipping_env.client
    assert skipping_env.supports_time_skipping
    before = await skipping_env.get_current_time()
    wall_start = time.monotonic()
    async with Worker(client, task_queue=task_queue, workflows=[MonthLong]):
        slept = await client.execute_workflow(MonthLong.run, id=workflow_id, task_queue=task_queue)
    wall = time.monotonic() - wall_start
    assert slept >= timedelta(days=30).total_seconds()
    assert await skipping_env.get_current_time() - before >= timedelta(days=30)
    # Not a speed benchmark: without skipping this would take 30 days; the closing note has the figure.
    print(f"30-day timer workflow: {wall:.2f}s of wall time")
    assert wall < 60


async def test_activities_run_in_real_time_between_skips(
    skipping_env: WorkflowEnvironment, task_queue: str, workflow_id: str
) -> None:
    client = skipping_env.client
    async with Worker(client, task_queue=task_queue, workflows=[ActivitiesAroundATimer], activities=[work]):
        result = await client.execute_workflow(
            ActivitiesAroundATimer.run, id=workflow_id, task_queue=task_queue
        )
    assert result == ["did before", "did after"]


async def test_a_signal_sent_before_anyone_waits_arrives_before_the_deadline(
    skipping_env: WorkflowEnvironment, task_queue: str, workflow_id: str
) -> None:
    client = skipping_env.client
    async with Worker(client, task_queue=task_queue, workflows=[ApprovalWithDeadline]):
        handle = await client.start_workflow(ApprovalWithDeadline.run, id=workflow_id, task_queue=task_queue)
        await handle.signal(ApprovalWithDeadline.approve)
        assert await handle.result() == "approved"
        # Nobody signals this one: waiting for its result skips the day.
        late = await client.start_workflow(
            ApprovalWithDeadline.run, id=workflow_id + "-late", task_queue=task_queue
        )
        assert await late.result() == "expired"


async def test_env_sleep_moves_time_and_fires_due_timers(
    skipping_env: WorkflowEnvironment, client: Client, task_queue: str, workflow_id: str
) -> None:
    client = skipping_env.client
    async with Worker(client, task_queue=task_queue, workflows=[HourNap]):
        handle = await client.start_workflow(HourNap.run, id=workflow_id, task_queue=task_queue)
        before = await skipping_env.get_current_time()
        await skipping_env.sleep(timedelta(hours=2))
        assert await skipping_env.get_current_time() - before >= timedelta(hours=2)
        # SkipTime returned after the timer fired and the worker completed the run.
        description = await handle.describe()
        assert description.status == WorkflowExecutionStatus.COMPLETED
        assert await handle.result() == "rested"


async def test_time_skips_while_a_caller_waits_for_an_update_result(
    skipping_env: WorkflowEnvironment, task_queue: str, workflow_id: str
) -> None:
    client = skipping_env.client
    async with Worker(client, task_queue=task_queue, workflows=[NapOnRequest]):
        handle = await client.start_workflow(NapOnRequest.run, id=workflow_id, task_queue=task_queue)
        slept = await asyncio.wait_for(handle.execute_update(NapOnRequest.nap, 30), 60)
        assert slept >= timedelta(days=30).total_seconds()
        assert await handle.result() == "awake"


async def test_skip_time_needs_a_positive_duration(skipping_env: WorkflowEnvironment) -> None:
    before = await skipping_env.get_current_time()
    for duration in (0, timedelta(hours=-1)):
        # The SDK's typed error, as from any other call, not a bare gRPC one.
        with pytest.raises(RPCError) as caught:
            await skipping_env.sleep(duration)
        assert caught.value.status == grpc.StatusCode.INVALID_ARGUMENT
        assert "duration must be positive" in caught.value.details
        assert str(caught.value).startswith("SkipTime: ")
    # Refused, so the clock did not move.
    assert await skipping_env.get_current_time() - before < timedelta(minutes=1)
