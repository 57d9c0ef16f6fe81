"""Local activities against a real dev server: markers, replay without re-running, retries, timeouts."""

from __future__ import annotations

import asyncio
import builtins
from collections import Counter
from datetime import timedelta

import pytest

from legato import RetryPolicy, activity, workflow
from legato.api.v1 import enums_pb2
from legato.client import Client
from legato.exceptions import (
    ActivityError,
    ApplicationError,
    NondeterminismError,
    TimeoutError,
    TimeoutType,
    WorkflowFailureError,
)
from legato.replayer import Replayer
from legato.worker import Worker

E = enums_pb2
runs: Counter[str] = Counter()
attempts_seen: dict[str, list[int]] = {}


@activity.defn
async def shout(text: str) -> str:
    runs[text] += 1
    return text.upper()


@activity.defn
def whisper(text: str) -> str:
    runs[text] += 1
    return text.lower()


@activity.defn
async def flaky(key: str, failures: int) -> str:
    info = activity.info()
    attempts_seen.setdefault(key, []).append(info.attempt)
    if info.attempt <= failures:
        raise ApplicationError(f"attempt {info.attempt} fails")
    return f"ok after {info.attempt}"


@activity.defn
async def never_retry(key: str) -> str:
    runs[key] += 1
    raise ApplicationError("bad input", type="BadInput", non_retryable=True)


@activity.defn
async def slow(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "finished"


@workflow.defn
class LocalHello:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_local_activity(shout, name, start_to_close_timeout=timedelta(seconds=5))


@workflow.defn
class LocalThenSignal:
    """Two local activities around a signal wait: every later task replays the first one's marker."""

    def __init__(self) -> None:
        self.go = False

    @workflow.run
    async def run(self, key: str) -> list[str]:
        first = await workflow.execute_local_activity(shout, key, start_to_close_timeout=timedelta(seconds=5))
        await workflow.wait_condition(lambda: self.go)
        second = await workflow.execute_local_activity(
            whisper, key + "-B", start_to_close_timeout=timedelta(seconds=5)
        )
        await workflow.sleep(0.05)
        return [first, second]

    @workflow.signal
    def proceed(self) -> None:
        self.go = True


@workflow.defn
class LocalRetries:
    @workflow.run
    async def run(self, key: str, failures: int, threshold: float) -> str:
        return await workflow.execute_local_activity(
            flaky,
            key,
            failures,
            start_to_close_timeout=timedelta(seconds=5),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100), backoff_coefficient=2.0),
            local_retry_threshold=timedelta(seconds=threshold),
        )


@workflow.defn
class LocalFailure:
    @workflow.run
    async def run(self, key: str) -> str:
        try:
            return await workflow.execute_local_activity(
                never_retry, key, start_to_close_timeout=timedelta(seconds=5)
            )
        except ActivityError as err:
            cause = err.__cause__
            assert isinstance(cause, ApplicationError)
            return f"caught {cause.type}: {cause}"


@workflow.defn
class LocalTimeout:
    @workflow.run
    async def run(self, seconds: float) -> str:
        return await workflow.execute_local_activity(
            slow,
            seconds,
            start_to_close_timeout=timedelta(milliseconds=200),
            retry_policy=RetryPolicy(maximum_attempts=2, initial_interval=timedelta(milliseconds=10)),
        )


@workflow.defn(name="LocalOrder")
class LocalOrderV1:
    @workflow.run
    async def run(self, key: str) -> str:
        a = await workflow.execute_local_activity(shout, key, start_to_close_timeout=timedelta(seconds=5))
        b = await workflow.execute_local_activity(whisper, key, start_to_close_timeout=timedelta(seconds=5))
        return a + b


@workflow.defn(name="LocalOrder")
class LocalOrderV2:
    @workflow.run
    async def run(self, key: str) -> str:
        b = await workflow.execute_local_activity(whisper, key, start_to_close_timeout=timedelta(seconds=5))
        a = await workflow.execute_local_activity(shout, key, start_to_close_timeout=timedelta(seconds=5))
        return a + b


async def _event_types(client: Client, workflow_id: str) -> list[int]:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return [e.event_type for e in history.events]


async def test_local_activity_result_is_a_marker_not_an_activity_task(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with Worker(client, task_queue=task_queue, workflows=[LocalHello], activities=[shout]):
        result = await client.execute_workflow(
            LocalHello.run, "hello local", id=workflow_id, task_queue=task_queue
        )
    assert result == "HELLO LOCAL"
    types = await _event_types(client, workflow_id)
    assert E.EVENT_TYPE_MARKER_RECORDED in types
    assert E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in types
    # One workflow task did it all: the local activity ran inside it.
    assert types.count(E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) == 1


async def test_replay_uses_markers_and_does_not_run_again(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    key = f"replay-{workflow_id}"
    # No cache: every later workflow task rebuilds the run from its full history.
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[LocalThenSignal],
        activities=[shout, whisper],
        max_cached_workflows=0,
    ) as worker:
        handle = await client.start_workflow(LocalThenSignal.run, key, id=workflow_id, task_queue=task_queue)
        await _wait_for(lambda: runs[key] == 1)
        await handle.signal(LocalThenSignal.proceed)
        assert await handle.result() == [key.upper(), (key + "-B").lower()]
        stats = worker.workflow_stats
        assert stats is not None and stats.full_replays >= 3
    assert runs[key] == 1 and runs[key + "-B"] == 1
    history = await handle.fetch_history()
    Replayer(workflows=[LocalThenSignal]).replay_workflow(history)
    assert runs[key] == 1 and runs[key + "-B"] == 1


async def test_retries_with_backoff_inside_the_workflow_task(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    key = f"retry-{workflow_id}"
    async with Worker(client, task_queue=task_queue, workflows=[LocalRetries], activities=[flaky]):
        result = await client.execute_workflow(
            LocalRetries.run, args=[key, 2, 60.0], id=workflow_id, task_queue=task_queue
        )
    assert result == "ok after 3"
    assert attempts_seen[key] == [1, 2, 3]
    types = await _event_types(client, workflow_id)
    assert E.EVENT_TYPE_TIMER_STARTED not in types
    assert types.count(E.EVENT_TYPE_MARKER_RECORDED) == 1


async def test_long_backoff_falls_back_to_a_durable_timer(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    key = f"timer-{workflow_id}"
    async with Worker(client, task_queue=task_queue, workflows=[LocalRetries], activities=[flaky]):
        # Threshold 0.15 s: the 0.1 s backoff is slept locally, the 0.2 s one becomes a timer.
        result = await client.execute_workflow(
            LocalRetries.run, args=[key, 2, 0.15], id=workflow_id, task_queue=task_queue
        )
    assert result == "ok after 3"
    assert attempts_seen[key] == [1, 2, 3]
    types = await _event_types(client, workflow_id)
    assert types.count(E.EVENT_TYPE_TIMER_STARTED) == 1
    assert types.count(E.EVENT_TYPE_TIMER_FIRED) == 1
    assert types.count(E.EVENT_TYPE_MARKER_RECORDED) == 2  # the backoff, then the result


async def test_non_retryable_failure_reaches_the_workflow_once(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    key = f"fail-{workflow_id}"
    async with Worker(client, task_queue=task_queue, workflows=[LocalFailure], activities=[never_retry]):
        result = await client.execute_workflow(LocalFailure.run, key, id=workflow_id, task_queue=task_queue)
    assert result == "caught BadInput: bad input"
    assert runs[key] == 1


async def test_start_to_close_timeout_fails_the_activity(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with Worker(client, task_queue=task_queue, workflows=[LocalTimeout], activities=[slow]):
        with pytest.raises(WorkflowFailureError) as caught:
            await client.execute_workflow(LocalTimeout.run, 5.0, id=workflow_id, task_queue=task_queue)
    activity_error = caught.value.__cause__
    assert isinstance(activity_error, ActivityError)
    timeout = activity_error.__cause__
    assert isinstance(timeout, TimeoutError)
    assert timeout.type == TimeoutType.START_TO_CLOSE


async def test_unregistered_local_activity_fails_with_a_clear_error(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with Worker(client, task_queue=task_queue, workflows=[LocalHello], activities=[whisper]):
        with pytest.raises(WorkflowFailureError) as caught:
            await client.execute_workflow(LocalHello.run, "x", id=workflow_id, task_queue=task_queue)
    cause = caught.value.__cause__.__cause__  # type: ignore[union-attr]
    assert isinstance(cause, ApplicationError)
    assert "'shout' is not registered" in str(cause) and "whisper" in str(cause)


async def test_changed_local_activity_order_is_nondeterminism_naming_both(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with Worker(client, task_queue=task_queue, workflows=[LocalOrderV1], activities=[shout, whisper]):
        result = await client.execute_workflow("LocalOrder", "Mix", id=workflow_id, task_queue=task_queue)
    assert result == "MIXmix"
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    with pytest.raises(NondeterminismError) as caught:
        Replayer(workflows=[LocalOrderV2]).replay_workflow(history)
    message = str(caught.value)
    assert "'shout'" in message and "'whisper'" in message and "local activity #1" in message


async def _wait_for(condition: object, within: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@workflow.defn
class LocalSlow:
    @workflow.run
    async def run(self, seconds: float) -> str:
        return await workflow.execute_local_activity(
            slow, seconds, start_to_close_timeout=timedelta(seconds=30)
        )


async def test_local_activity_longer_than_the_workflow_task_heartbeats_the_task(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with Worker(client, task_queue=task_queue, workflows=[LocalSlow], activities=[slow]) as worker:
        result = await client.execute_workflow(
            LocalSlow.run, 2.5, id=workflow_id, task_queue=task_queue, task_timeout=timedelta(seconds=1)
        )
        stats = worker.workflow_stats
        assert stats is not None and stats.local_activity_heartbeats >= 2
    assert result == "finished"
    types = await _event_types(client, workflow_id)
    assert E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT not in types
    assert types.count(E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) >= 3
    assert types.count(E.EVENT_TYPE_MARKER_RECORDED) == 1


@workflow.defn
class LocalScheduleToClose:
    @workflow.run
    async def run(self, seconds: float) -> str:
        try:
            return await workflow.execute_local_activity(
                slow, seconds, schedule_to_close_timeout=timedelta(milliseconds=300)
            )
        except ActivityError as err:
            cause = err.__cause__
            assert isinstance(cause, TimeoutError)
            return f"timed out: type {cause.type}"


async def test_schedule_to_close_timeout_is_final_and_catchable(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with Worker(client, task_queue=task_queue, workflows=[LocalScheduleToClose], activities=[slow]):
        result = await client.execute_workflow(
            LocalScheduleToClose.run, 5.0, id=workflow_id, task_queue=task_queue
        )
    assert result == f"timed out: type {TimeoutType.SCHEDULE_TO_CLOSE}"
    types = await _event_types(client, workflow_id)
    assert types.count(E.EVENT_TYPE_MARKER_RECORDED) == 1
    assert types[-1] == E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED


@workflow.defn(name="LocalOrderThenSignal")
class LocalOrderThenSignalV1:
    def __init__(self) -> None:
        self.go = False

    @workflow.run
    async def run(self, key: str) -> str:
        first = await workflow.execute_local_activity(shout, key, start_to_close_timeout=timedelta(seconds=5))
        await workflow.wait_condition(lambda: self.go)
        return first

    @workflow.signal
    def proceed(self) -> None:
        self.go = True


@workflow.defn(name="LocalOrderThenSignal")
class LocalOrderThenSignalV2(LocalOrderThenSignalV1):
    @workflow.run
    async def run(self, key: str) -> str:
        first = await workflow.execute_local_activity(
            whisper, key, start_to_close_timeout=timedelta(seconds=5)
        )
        await workflow.wait_condition(lambda: self.go)
        return first


async def test_a_deploy_that_reorders_local_activities_fails_the_workflow_task(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    key = f"deploy-{workflow_id}"
    async with Worker(client, task_queue=task_queue, workflows=[LocalOrderThenSignalV1], activities=[shout]):
        handle = await client.start_workflow(
            "LocalOrderThenSignal", key, id=workflow_id, task_queue=task_queue
        )
        await _wait_for(lambda: runs[key] == 1)
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[LocalOrderThenSignalV2],
        activities=[whisper],
        max_cached_workflows=0,
    ) as worker:
        await handle.signal("proceed")
        await _wait_for(
            lambda: worker.workflow_stats is not None and worker.workflow_stats.task_failures >= 1
        )
    history = await handle.fetch_history()
    failed = [e for e in history.events if e.event_type == E.EVENT_TYPE_WORKFLOW_TASK_FAILED]
    assert failed, "the replay with reordered local activities did not fail the workflow task"
    attrs = failed[0].workflow_task_failed_event_attributes
    assert attrs.cause == E.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR
    assert "'shout'" in attrs.failure.message and "'whisper'" in attrs.failure.message
    assert runs[key] == 1  # the recorded local activity was not run again
    await handle.terminate("test done")


cancelled_attempts: list[str] = []


@activity.defn
async def patient(key: str) -> str:
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        cancelled_attempts.append(key)
        raise
    return "never"


@workflow.defn
class GiveUpOnLocal:
    @workflow.run
    async def run(self, key: str) -> str:
        try:
            return await asyncio.wait_for(
                workflow.start_local_activity(patient, key, start_to_close_timeout=timedelta(seconds=60)), 1.5
            )
        except builtins.TimeoutError:  # asyncio's, not legato.exceptions.TimeoutError imported above
            return "gave up"


async def test_cancelling_a_local_activity_stops_it_in_the_worker(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    # The workflow task heartbeats while the activity runs, so the durable timer of
    # wait_for can fire and reach the code, which then cancels the local activity.
    async with Worker(client, task_queue=task_queue, workflows=[GiveUpOnLocal], activities=[patient]):
        result = await client.execute_workflow(
            GiveUpOnLocal.run,
            workflow_id,
            id=workflow_id,
            task_queue=task_queue,
            task_timeout=timedelta(seconds=1),
        )
    assert result == "gave up"
    assert cancelled_attempts == [workflow_id]
    types = await _event_types(client, workflow_id)
    assert E.EVENT_TYPE_MARKER_RECORDED not in types
    assert E.EVENT_TYPE_TIMER_FIRED in types
