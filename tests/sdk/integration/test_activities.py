"""Activities end to end: results, retries, non-retryable failures, heartbeats and cancellation."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections import Counter
from datetime import timedelta

import pytest

from legato import RetryPolicy, activity, workflow
from legato.client import Client
from legato.exceptions import ActivityError, ApplicationError, CancelledError, WorkflowFailureError
from legato.worker import Worker

FAST_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=50), maximum_interval=timedelta(milliseconds=200)
)

attempts: Counter[str] = Counter()


@dataclasses.dataclass
class Greeting:
    greeting: str
    name: str


@activity.defn
async def compose_greeting(request: Greeting) -> str:
    return f"{request.greeting}, {request.name}!"


@activity.defn
def compose_greeting_sync(request: Greeting) -> str:
    assert threading.current_thread() is not threading.main_thread()
    return f"{request.greeting}, {request.name} (from a thread)!"


@workflow.defn
class HelloWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        first = await workflow.execute_activity(
            compose_greeting, Greeting("Hello", name), start_to_close_timeout=timedelta(seconds=10)
        )
        second = await workflow.execute_activity(
            compose_greeting_sync, Greeting("Hi", name), start_to_close_timeout=timedelta(seconds=10)
        )
        return f"{first} {second}"


async def test_hello_activity_async_and_sync(client: Client, task_queue: str, workflow_id: str) -> None:
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[HelloWorkflow],
        activities=[compose_greeting, compose_greeting_sync],
    ):
        result = await client.execute_workflow(
            HelloWorkflow.run, "World", id=workflow_id, task_queue=task_queue
        )
    assert result == "Hello, World! Hi, World (from a thread)!"


@activity.defn
async def flaky(key: str) -> str:
    attempts[key] += 1
    if activity.info().attempt <= 3:
        raise RuntimeError(f"transient failure on attempt {activity.info().attempt}")
    return f"succeeded on attempt {activity.info().attempt}"


@workflow.defn
class FlakyWorkflow:
    @workflow.run
    async def run(self, key: str) -> str:
        return await workflow.execute_activity(
            flaky, key, start_to_close_timeout=timedelta(seconds=10), retry_policy=FAST_RETRY
        )


async def test_activity_fails_three_times_then_succeeds(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with Worker(client, task_queue=task_queue, workflows=[FlakyWorkflow], activities=[flaky]):
        result = await client.execute_workflow(
            FlakyWorkflow.run, workflow_id, id=workflow_id, task_queue=task_queue
        )
    assert result == "succeeded on attempt 4"
    assert attempts[workflow_id] == 4


class PaymentDeclined(Exception):
    pass


@activity.defn
async def declined_by_flag(key: str) -> None:
    attempts[key] += 1
    raise ApplicationError("card declined", "card-1234", type="Declined", non_retryable=True)


@activity.defn
async def declined_by_policy(key: str) -> None:
    attempts[key] += 1
    raise PaymentDeclined("insufficient funds")


@workflow.defn
class PaymentWorkflow:
    @workflow.run
    async def run(self, how: str, key: str) -> None:
        await workflow.execute_activity(
            declined_by_flag if how == "flag" else declined_by_policy,
            key,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=dataclasses.replace(FAST_RETRY, non_retryable_error_types=("PaymentDeclined",)),
        )


@pytest.mark.parametrize(
    ("how", "error_type", "message"),
    [("flag", "Declined", "card declined"), ("policy", "PaymentDeclined", "insufficient funds")],
    ids=["non-retryable-flag", "non-retryable-type-in-policy"],
)
async def test_non_retryable_errors_fail_the_workflow_after_one_attempt(
    client: Client, task_queue: str, workflow_id: str, how: str, error_type: str, message: str
) -> None:
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[PaymentWorkflow],
        activities=[declined_by_flag, declined_by_policy],
    ):
        with pytest.raises(WorkflowFailureError) as raised:
            await client.execute_workflow(
                PaymentWorkflow.run, args=[how, workflow_id], id=workflow_id, task_queue=task_queue
            )
    activity_error = raised.value.__cause__
    assert isinstance(activity_error, ActivityError)
    assert activity_error.activity_type in ("declined_by_flag", "declined_by_policy")
    application_error = activity_error.__cause__
    assert isinstance(application_error, ApplicationError)
    assert application_error.type == error_type
    assert message in application_error.message
    assert attempts[workflow_id] == 1
    if how == "flag":
        assert list(application_error.details) == ["card-1234"]


progress: dict[str, list[int]] = {}


@activity.defn
async def process_items(key: str, count: int) -> str:
    info = activity.info()
    details = activity.heartbeat_details(int)
    start = details[0] + 1 if details else 0
    progress.setdefault(key, []).append(start)
    for item in range(start, count):
        if info.attempt == 1 and item == 6:
            raise RuntimeError("crashed half-way")
        activity.heartbeat(item)
        await asyncio.sleep(0)
    return f"attempt {info.attempt} resumed at {start}"


@workflow.defn
class BatchWorkflow:
    @workflow.run
    async def run(self, key: str) -> str:
        return await workflow.execute_activity(
            process_items,
            key,
            10,
            start_to_close_timeout=timedelta(seconds=10),
            heartbeat_timeout=timedelta(seconds=5),
            retry_policy=FAST_RETRY,
        )


async def test_heartbeat_details_are_resumed_on_retry(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with Worker(client, task_queue=task_queue, workflows=[BatchWorkflow], activities=[process_items]):
        result = await client.execute_workflow(
            BatchWorkflow.run, workflow_id, id=workflow_id, task_queue=task_queue
        )
    assert result == "attempt 2 resumed at 6"
    assert progress[workflow_id] == [0, 6]


cancelled_activities: set[str] = set()


@activity.defn
async def wait_to_be_cancelled(key: str) -> str:
    try:
        while True:
            activity.heartbeat("still going")
            await asyncio.sleep(0.1)
    except asyncio.CancelledError:
        cancelled_activities.add(key)
        raise


@workflow.defn
class CancelActivityWorkflow:
    @workflow.run
    async def run(self, key: str) -> str:
        handle = workflow.start_activity(
            wait_to_be_cancelled,
            key,
            start_to_close_timeout=timedelta(seconds=30),
            heartbeat_timeout=timedelta(seconds=1),
            # Wait for the activity to acknowledge: proves the worker reported it cancelled.
            cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        await workflow.sleep(1)
        handle.cancel()
        try:
            await handle
        except ActivityError as err:
            return f"activity ended with {type(err.__cause__).__name__}"
        except (asyncio.CancelledError, CancelledError) as err:
            return f"activity ended with {type(err).__name__}"
        return "activity was not cancelled"


async def test_activity_cancellation_is_delivered_through_heartbeats(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with Worker(
        client, task_queue=task_queue, workflows=[CancelActivityWorkflow], activities=[wait_to_be_cancelled]
    ):
        result = await asyncio.wait_for(
            client.execute_workflow(
                CancelActivityWorkflow.run, workflow_id, id=workflow_id, task_queue=task_queue
            ),
            30,
        )
    assert result.startswith("activity ended with"), result
    assert "not cancelled" not in result
    assert workflow_id in cancelled_activities
