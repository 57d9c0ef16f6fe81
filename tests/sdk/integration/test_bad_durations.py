"""A duration the server cannot take fails where it was written, not as a workflow stuck retrying.

Issue #8: ``workflow.sleep(timedelta(days=3_000_000))`` used to build a command
the server rejected on every workflow task attempt, so the workflow looped in
workflow-task failures forever; a client start with such a timeout came back
INTERNAL. Now workflow code gets an ApplicationError (type ValueError) at the
call site, and the client raises ValueError before sending.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from legato import RetryPolicy, activity, workflow
from legato.client import Client
from legato.exceptions import ApplicationError, WorkflowFailureError
from legato.worker import Worker

HUGE = timedelta(days=3_000_000)
# Bounds the old behaviour (a workflow failing its task forever) to a failed test.
GIVE_UP = timedelta(seconds=20)


@activity.defn
async def echo(value: str) -> str:
    return value


@workflow.defn
class HugeDurationsWorkflow:
    """Tries each call site with a huge duration; returns what it caught, then shows it still works."""

    @workflow.run
    async def run(self) -> list[str]:
        attempts = {
            "workflow.sleep": lambda: workflow.sleep(HUGE),
            "asyncio.sleep": lambda: asyncio.sleep(1e12),
            "asyncio.sleep(nan)": lambda: asyncio.sleep(float("nan")),
            "wait_condition": lambda: workflow.wait_condition(lambda: False, timeout=HUGE),
            "activity timeout": lambda: workflow.execute_activity(echo, "x", start_to_close_timeout=HUGE),
            "activity retry": lambda: workflow.execute_activity(
                echo,
                "x",
                start_to_close_timeout=timedelta(seconds=5),
                retry_policy=RetryPolicy(initial_interval=HUGE),
            ),
            "child timeout": lambda: workflow.execute_child_workflow(
                HugeDurationsWorkflow.run, id=f"{workflow.info().workflow_id}-child", execution_timeout=HUGE
            ),
        }
        caught = []
        for name, attempt in attempts.items():
            try:
                await attempt()
            except ApplicationError as err:
                caught.append(f"{name}: {err.type}: {err.message}")
        await workflow.sleep(0.01)
        caught.append(
            await workflow.execute_activity(echo, "still works", start_to_close_timeout=timedelta(seconds=5))
        )
        return caught


@workflow.defn
class UncaughtHugeSleepWorkflow:
    @workflow.run
    async def run(self) -> None:
        await workflow.sleep(HUGE)


async def test_huge_durations_raise_at_the_call_site_in_workflow_code(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with Worker(client, task_queue=task_queue, workflows=[HugeDurationsWorkflow], activities=[echo]):
        caught = await client.execute_workflow(
            HugeDurationsWorkflow.run, id=workflow_id, task_queue=task_queue, execution_timeout=GIVE_UP
        )
    assert [line.split(":")[0] for line in caught[:-1]] == [
        "workflow.sleep",
        "asyncio.sleep",
        "asyncio.sleep(nan)",
        "wait_condition",
        "activity timeout",
        "activity retry",
        "child timeout",
    ]
    assert all(": ValueError: " in line and "(100 years" in line for line in caught[:-1]), caught
    assert "timer duration (sleep or timeout) is 259200000000s" in caught[0]
    assert "start_to_close_timeout is 259200000000s" in caught[4]
    assert "RetryPolicy.initial_interval is 259200000000s" in caught[5]
    assert "execution_timeout is 259200000000s" in caught[6]
    assert caught[-1] == "still works"


async def test_an_uncaught_huge_sleep_fails_the_workflow_with_the_reason(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with Worker(client, task_queue=task_queue, workflows=[UncaughtHugeSleepWorkflow]):
        with pytest.raises(WorkflowFailureError) as raised:
            await client.execute_workflow(
                UncaughtHugeSleepWorkflow.run,
                id=workflow_id,
                task_queue=task_queue,
                execution_timeout=GIVE_UP,
            )
    cause = raised.value.__cause__
    assert isinstance(cause, ApplicationError)
    assert cause.type == "ValueError" and "100 years" in cause.message


@pytest.mark.parametrize("option", ["execution_timeout", "run_timeout", "task_timeout", "start_delay"])
async def test_the_client_refuses_a_huge_start_option_before_sending(
    client: Client, task_queue: str, workflow_id: str, option: str
) -> None:
    with pytest.raises(
        ValueError, match=rf"^{option} is 259200000000s; it must be between 0 and 3153600000s"
    ):
        await client.start_workflow(
            UncaughtHugeSleepWorkflow.run, id=workflow_id, task_queue=task_queue, **{option: HUGE}
        )


async def test_the_client_refuses_a_huge_retry_interval_before_sending(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    with pytest.raises(ValueError, match="RetryPolicy.maximum_interval is 259200000000s"):
        await client.start_workflow(
            UncaughtHugeSleepWorkflow.run,
            id=workflow_id,
            task_queue=task_queue,
            retry_policy=RetryPolicy(maximum_interval=HUGE),
        )
