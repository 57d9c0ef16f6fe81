"""Eager dispatch between a worker's two sides, both ways.

* Activities: the worker completing a workflow task runs the activities it
  scheduled. The worker asks for it only when it runs the activity type on the
  workflow's own task queue and has a free slot; the server starts those
  attempts in the same update that completes the workflow task and returns
  them in the response.
* Workflow tasks: the worker completing an activity of a run it caches, with a
  free workflow task slot, gets the workflow task the result wakes in the
  completion's answer, started in the same update.

Everything else (other queues, no free slot, retries, no cache, the option
turned off) goes through matching as before. Each test checks where the task
ran (the worker's counters, the started event's identity) and that the
workflow's result is right.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from legato import RetryPolicy, activity, workflow
from legato.api.v1 import enums_pb2
from legato.client import Client
from legato.worker import Worker

attempts: Counter[str] = Counter()


@activity.defn
async def shout(text: str) -> str:
    return text.upper()


@activity.defn
async def fails_once(key: str) -> str:
    attempts[key] += 1
    if activity.info().attempt == 1:
        raise RuntimeError("the first attempt fails")
    return f"attempt {activity.info().attempt}"


@activity.defn
async def slow_echo(text: str) -> str:
    await asyncio.sleep(0.2)
    return text


@workflow.defn
class ShoutTwice:
    @workflow.run
    async def run(self, text: str) -> str:
        first = await workflow.execute_activity(shout, text, start_to_close_timeout=timedelta(seconds=10))
        second = await workflow.execute_activity(
            shout, text + "!", start_to_close_timeout=timedelta(seconds=10)
        )
        return f"{first} {second}"


@workflow.defn
class ShoutElsewhere:
    @workflow.run
    async def run(self, text: str, queue: str) -> str:
        return await workflow.execute_activity(
            shout, text, task_queue=queue, start_to_close_timeout=timedelta(seconds=10)
        )


@workflow.defn
class RetryOnce:
    @workflow.run
    async def run(self, key: str) -> str:
        return await workflow.execute_activity(
            fails_once,
            key,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=50)),
        )


@workflow.defn
class FanOut:
    @workflow.run
    async def run(self, count: int) -> list[str]:
        return list(
            await asyncio.gather(
                *(
                    workflow.execute_activity(slow_echo, str(i), start_to_close_timeout=timedelta(seconds=10))
                    for i in range(count)
                )
            )
        )


async def started_identities(client: Client, workflow_id: str) -> list[str]:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return [
        e.activity_task_started_event_attributes.identity
        for e in history.events
        if e.event_type == enums_pb2.EVENT_TYPE_ACTIVITY_TASK_STARTED
    ]


async def test_activities_and_the_workflow_tasks_their_results_wake_come_back_eagerly(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    worker = Worker(
        client, task_queue=task_queue, workflows=[ShoutTwice], activities=[shout], identity="eager-1"
    )
    async with worker:
        result = await client.execute_workflow(ShoutTwice.run, "hi", id=workflow_id, task_queue=task_queue)
    assert result == "HI HI!"
    stats = worker.workflow_stats
    assert stats is not None and stats.eager_activities == 2
    assert await started_identities(client, workflow_id) == ["eager-1", "eager-1"]
    # Both results woke a task that came back eagerly; none was polled from the sticky queue.
    assert (stats.eager_workflow_tasks, stats.sticky_tasks, stats.full_replays) == (2, 0, 1)
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    types = [enums_pb2.EventType.Name(e.event_type)[len("EVENT_TYPE_") :] for e in history.events]
    for completed in (i for i, t in enumerate(types) if t == "ACTIVITY_TASK_COMPLETED"):
        assert types[completed + 1 : completed + 3] == ["WORKFLOW_TASK_SCHEDULED", "WORKFLOW_TASK_STARTED"]
        assert history.events[completed + 2].workflow_task_started_event_attributes.identity == "eager-1"


async def test_turned_off_every_activity_goes_through_matching(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[ShoutTwice],
        activities=[shout],
        disable_eager_activity_execution=True,
    )
    async with worker:
        result = await client.execute_workflow(ShoutTwice.run, "hi", id=workflow_id, task_queue=task_queue)
    assert result == "HI HI!"
    assert worker.workflow_stats is not None and worker.workflow_stats.eager_activities == 0


async def test_an_activity_on_another_queue_is_dispatched_to_that_queue(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    other_queue = task_queue + "-activities"
    workflows = Worker(client, task_queue=task_queue, workflows=[ShoutElsewhere], activities=[shout])
    activities = Worker(client, task_queue=other_queue, activities=[shout], identity="other-queue")
    async with workflows, activities:
        result = await client.execute_workflow(
            ShoutElsewhere.run, args=["hey", other_queue], id=workflow_id, task_queue=task_queue
        )
    assert result == "HEY"
    assert workflows.workflow_stats is not None and workflows.workflow_stats.eager_activities == 0
    assert await started_identities(client, workflow_id) == ["other-queue"]


async def test_a_retry_of_an_eager_activity_goes_through_matching(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    worker = Worker(client, task_queue=task_queue, workflows=[RetryOnce], activities=[fails_once])
    async with worker:
        result = await client.execute_workflow(
            RetryOnce.run, workflow_id, id=workflow_id, task_queue=task_queue
        )
    assert result == "attempt 2"
    assert attempts[workflow_id] == 2
    assert worker.workflow_stats is not None and worker.workflow_stats.eager_activities == 1


async def test_no_more_activities_are_taken_than_free_slots(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    # Two slots, one held by the activity poller while it waits: one is free for eager dispatch.
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[FanOut],
        activities=[slow_echo],
        max_concurrent_activities=2,
        activity_pollers=1,
    )
    async with worker:
        result = await client.execute_workflow(FanOut.run, 3, id=workflow_id, task_queue=task_queue)
    assert result == ["0", "1", "2"]
    # The first activity ran eagerly, the other two went through matching.
    assert worker.workflow_stats is not None and worker.workflow_stats.eager_activities == 1


async def test_no_eager_workflow_task_without_a_cache_or_with_the_option_off(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    for n, options in enumerate(({"max_cached_workflows": 0}, {"disable_eager_activity_execution": True})):
        worker = Worker(client, task_queue=task_queue, workflows=[ShoutTwice], activities=[shout], **options)
        async with worker:
            result = await client.execute_workflow(
                ShoutTwice.run, "hi", id=f"{workflow_id}-{n}", task_queue=task_queue
            )
        assert result == "HI HI!"
        assert worker.workflow_stats is not None and worker.workflow_stats.eager_workflow_tasks == 0, options


async def test_an_activity_run_by_another_worker_leaves_the_workflow_task_to_matching(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    other_queue = task_queue + "-activities"
    workflows = Worker(client, task_queue=task_queue, workflows=[ShoutElsewhere], activities=[shout])
    activities = Worker(client, task_queue=other_queue, workflows=[ShoutTwice], activities=[shout])
    async with workflows, activities:
        result = await client.execute_workflow(
            ShoutElsewhere.run, args=["hey", other_queue], id=workflow_id, task_queue=task_queue
        )
    assert result == "HEY"
    for worker in (workflows, activities):
        assert worker.workflow_stats is not None and worker.workflow_stats.eager_workflow_tasks == 0
    assert workflows.workflow_stats.sticky_tasks == 1  # the result's task went through the sticky queue
