"""Schedules through the SDK against a real dev server: every handle call (create to delete), and bad specs.

Real time here (the server's own clock); the fake-clock tests of every
overlap policy and catch-up are in tests/server/history/test_schedules.py.
Waits are on conditions with deadlines.
"""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
import pytest
from google.protobuf import duration_pb2

from legato import workflow
from legato.api.v1 import schedule_pb2
from legato.client import Client
from legato.exceptions import RPCError
from legato.schedules import schedule_action
from legato.worker import Worker
from tests.waiting import wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")


@workflow.defn
class ScheduledJob:
    @workflow.run
    async def run(self, label: str) -> str:
        return f"done {label}"


async def test_a_schedule_runs_pauses_triggers_and_is_deleted(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    action = await schedule_action(client, ScheduledJob, "nightly", id=workflow_id, task_queue=task_queue)
    spec = schedule_pb2.ScheduleSpec(
        interval=[schedule_pb2.IntervalSpec(interval=duration_pb2.Duration(seconds=1))]
    )
    handle = await client.create_schedule(workflow_id, schedule_pb2.Schedule(spec=spec, action=action))
    async with Worker(client, task_queue=task_queue, workflows=[ScheduledJob]):

        async def two_actions() -> bool:
            return (await handle.describe()).info.action_count >= 2

        await wait_until(two_actions, within=30, what="two scheduled starts")
        described = await handle.describe()
        first = described.info.recent_actions[0].start_workflow_result
        assert first.workflow_id.startswith(f"{workflow_id}-20")
        assert await client.get_workflow_handle(first.workflow_id).result() == "done nightly"
        assert len(described.info.future_action_times) == 10

        await handle.pause(note="maintenance")
        paused = await handle.describe()
        assert (paused.schedule.state.paused, paused.schedule.state.notes) == (True, "maintenance")
        count = paused.info.action_count
        await handle.trigger()

        async def triggered() -> bool:
            info = (await handle.describe()).info
            return info.action_count > count and info.recent_actions[-1].manual

        await wait_until(triggered, within=30, what="the triggered start")

    ids = [entry.schedule_id async for entry in client.list_schedules()]
    assert workflow_id in ids
    await handle.delete()
    with pytest.raises(RPCError) as gone:
        await handle.describe()
    assert gone.value.status == grpc.StatusCode.NOT_FOUND


async def test_a_spec_that_never_fires_is_refused(client: Client, workflow_id: str) -> None:
    action = await schedule_action(client, ScheduledJob, "x", id=workflow_id, task_queue="q")
    spec = schedule_pb2.ScheduleSpec(calendar=[schedule_pb2.CalendarSpec(month="2", day_of_month="30")])
    with pytest.raises(RPCError) as refused:
        await client.create_schedule(workflow_id, schedule_pb2.Schedule(spec=spec, action=action))
    assert refused.value.status == grpc.StatusCode.INVALID_ARGUMENT
    assert "day_of_month [30] never occurs in month [2]" in str(refused.value)
    assert workflow_id not in [entry.schedule_id async for entry in client.list_schedules()]


async def test_malformed_requests_are_refused_before_anything_is_written(
    client: Client, workflow_id: str
) -> None:
    action = await schedule_action(client, ScheduledJob, "x", id=workflow_id, task_queue="q")
    negative = schedule_pb2.ScheduleSpec(
        interval=[schedule_pb2.IntervalSpec(interval=duration_pb2.Duration(seconds=-5))]
    )
    with pytest.raises(RPCError) as refused:
        await client.create_schedule(workflow_id, schedule_pb2.Schedule(spec=negative, action=action))
    assert refused.value.status == grpc.StatusCode.INVALID_ARGUMENT
    assert "interval" in str(refused.value)
    with pytest.raises(RPCError) as missing:
        await client.get_schedule_handle(workflow_id).describe()
    assert missing.value.status == grpc.StatusCode.NOT_FOUND

    good = schedule_pb2.ScheduleSpec(cron_string=["@daily"])
    handle = await client.create_schedule(workflow_id, schedule_pb2.Schedule(spec=good, action=action))
    with pytest.raises(RPCError) as taken:
        await client.create_schedule(workflow_id, schedule_pb2.Schedule(spec=good, action=action))
    assert taken.value.status == grpc.StatusCode.ALREADY_EXISTS
    stale = (await handle.describe()).conflict_token
    await handle.pause(note="moves the conflict token")
    with pytest.raises(RPCError) as conflict:
        await handle.update(schedule_pb2.Schedule(spec=good, action=action), conflict_token=stale)
    assert conflict.value.status == grpc.StatusCode.FAILED_PRECONDITION
    assert "describe it again" in str(conflict.value)
    await handle.delete()


async def test_backfill_unpause_and_update_through_the_handle(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    action = await schedule_action(client, ScheduledJob, "backfilled", id=workflow_id, task_queue=task_queue)
    daily = schedule_pb2.ScheduleSpec(cron_string=["0 6 * * *"])
    handle = await client.create_schedule(
        workflow_id,
        schedule_pb2.Schedule(
            spec=daily, action=action, state=schedule_pb2.ScheduleState(paused=True, notes="created paused")
        ),
    )
    async with Worker(client, task_queue=task_queue, workflows=[ScheduledJob]):
        await handle.backfill(
            (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 3, 23, tzinfo=UTC)),
            overlap=schedule_pb2.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL,
        )

        async def three_actions() -> bool:
            return (await handle.describe()).info.action_count >= 3

        await wait_until(three_actions, within=30, what="the three backfilled starts")
        described = await handle.describe()
        started = sorted(a.start_workflow_result.workflow_id for a in described.info.recent_actions)
        assert started == [f"{workflow_id}-2026-01-0{day}T06:00:00Z" for day in (1, 2, 3)]
        assert described.schedule.state.paused  # a backfill runs while paused
        assert await client.get_workflow_handle(started[0]).result() == "done backfilled"

    await handle.unpause(note="back")
    unpaused = await handle.describe()
    assert (unpaused.schedule.state.paused, unpaused.schedule.state.notes) == (False, "back")
    assert unpaused.info.future_action_times

    hourly = schedule_pb2.Schedule()
    hourly.CopyFrom(unpaused.schedule)
    hourly.spec.CopyFrom(
        schedule_pb2.ScheduleSpec(
            interval=[schedule_pb2.IntervalSpec(interval=duration_pb2.Duration(seconds=3600))]
        )
    )
    hourly.state.paused, hourly.state.notes = True, "hourly now"
    await handle.update(hourly, conflict_token=unpaused.conflict_token)
    updated = await handle.describe()
    assert [i.interval.seconds for i in updated.schedule.spec.interval] == [3600]
    assert not updated.schedule.spec.cron_string
    assert (updated.schedule.state.paused, updated.schedule.state.notes) == (True, "hourly now")
    assert updated.info.action_count == 3  # the update keeps the schedule's record of what it did
    await handle.delete()
