"""Schedules on a fake clock against a real history service (in-memory SQLite): no sleeping.

Each test creates a schedule through ``scheduler.operations`` (what the
frontend calls), moves the fake clock and runs one scheduler poll
(``SchedulerLoop.run_once``), then looks at what history really started,
cancelled or terminated.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from google.protobuf import duration_pb2

from legato.api.v1 import common_pb2, enums_pb2, schedule_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato_server.common.errors import InvalidArgument, NotFound
from legato_server.history.routing import shard_for
from legato_server.internal.v1 import history_service_pb2 as hsvc
from legato_server.scheduler.loop import SchedulerLoop
from legato_server.scheduler.operations import Schedules
from legato_server.scheduler.state import NEVER_MS, workflow_id_for
from tests.server.history.conftest import NS, NS_ID, NUM_SHARDS, TASK_QUEUE, Harness

OVERLAP = schedule_pb2.ScheduleOverlapPolicy
MINUTE_MS = 60_000
RUNNING = enums_pb2.WORKFLOW_EXECUTION_STATUS_RUNNING


class Rig:
    def __init__(self, harness: Harness, history: Any = None) -> None:
        self.harness = harness
        self.schedules = Schedules(
            store=harness.persistence.schedules,
            shard_of=lambda ns, sid: shard_for(ns, sid, NUM_SHARDS),
            now_ms=harness.clock.now_ms,
        )
        self.loop = self.make_loop(history or harness.service.client)
        self.start_ms = harness.clock.now_ms()

    def make_loop(self, history: Any) -> SchedulerLoop:
        return SchedulerLoop(
            store=self.harness.persistence.schedules,
            history=history,
            clock=self.harness.clock,
            owned_shards=lambda: list(self.harness.service.engine.shards),
        )

    async def create(self, schedule_id: str = "sched", **kwargs: Any) -> None:
        await self.schedules.create(
            namespace_id=NS_ID,
            namespace=NS,
            schedule_id=schedule_id,
            schedule=schedule(**kwargs),
            patch=schedule_pb2.SchedulePatch(),
            request_id="",
        )

    async def tick(self, minutes: float = 1) -> None:
        await self.harness.clock.advance(minutes * 60)
        await self.loop.run_once()

    async def info(self, schedule_id: str = "sched") -> schedule_pb2.ScheduleInfo:
        _, info, _ = await self.schedules.describe(namespace_id=NS_ID, schedule_id=schedule_id)
        return info

    def workflow_id(self, minutes: int) -> str:
        return workflow_id_for("job", self.start_ms + minutes * MINUTE_MS)

    async def status(self, workflow_id: str) -> int:
        described = await self.harness.describe(workflow_id)
        return described.workflow_execution_info.status

    async def exists(self, workflow_id: str) -> bool:
        try:
            await self.harness.describe(workflow_id)
            return True
        except NotFound:
            return False

    async def terminate(self, workflow_id: str) -> None:
        await self.harness.handler.TerminateWorkflowExecution(
            hsvc.TerminateWorkflowExecutionRequest(
                namespace_id=NS_ID,
                terminate_request=ws.TerminateWorkflowExecutionRequest(
                    namespace=NS, workflow_execution=common_pb2.WorkflowExecution(workflow_id=workflow_id)
                ),
            )
        )


def schedule(
    *,
    overlap: int = OVERLAP.SCHEDULE_OVERLAP_POLICY_SKIP,
    every_s: int = 60,
    catchup_s: int = 0,
    paused: bool = False,
    remaining: int | None = None,
) -> schedule_pb2.Schedule:
    result = schedule_pb2.Schedule(
        spec=schedule_pb2.ScheduleSpec(
            interval=[schedule_pb2.IntervalSpec(interval=duration_pb2.Duration(seconds=every_s))]
        ),
        action=schedule_pb2.ScheduleAction(
            start_workflow=schedule_pb2.ScheduleWorkflowAction(
                workflow_id="job",
                workflow_type=common_pb2.WorkflowType(name="Job"),
                task_queue=common_pb2.TaskQueue(name=TASK_QUEUE),
            )
        ),
        policies=schedule_pb2.SchedulePolicies(overlap_policy=overlap),
        state=schedule_pb2.ScheduleState(paused=paused),
    )
    if catchup_s:
        result.policies.catchup_window.seconds = catchup_s
    if remaining is not None:
        result.state.limited_actions = True
        result.state.remaining_actions = remaining
    return result


@pytest.fixture
def rig(harness: Harness) -> Iterator[Rig]:
    yield Rig(harness)


async def test_skip_drops_actions_while_the_last_one_runs(rig: Rig) -> None:
    await rig.create(overlap=OVERLAP.SCHEDULE_OVERLAP_POLICY_SKIP)
    await rig.tick()
    assert await rig.status(rig.workflow_id(1)) == RUNNING
    await rig.tick()
    assert not await rig.exists(rig.workflow_id(2))
    assert (await rig.info()).overlap_skipped == 1
    await rig.terminate(rig.workflow_id(1))
    await rig.tick()
    assert await rig.status(rig.workflow_id(3)) == RUNNING
    info = await rig.info()
    assert info.action_count == 2
    assert [e.workflow_id for e in info.running_workflows] == [rig.workflow_id(3)]


async def test_buffer_one_keeps_one_waiting_and_drops_the_rest(rig: Rig) -> None:
    await rig.create(overlap=OVERLAP.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE)
    await rig.tick()
    await rig.tick()
    await rig.tick()
    info = await rig.info()
    assert (info.buffer_size, info.overlap_skipped, info.action_count) == (1, 1, 1)
    await rig.terminate(rig.workflow_id(1))
    await rig.tick(0.05)  # the waiting action starts at the next poll, not at the next spec time
    assert await rig.status(rig.workflow_id(2)) == RUNNING
    assert not await rig.exists(rig.workflow_id(3))


async def test_buffer_all_starts_every_action_one_after_another(rig: Rig) -> None:
    await rig.create(overlap=OVERLAP.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL)
    await rig.tick()
    await rig.tick()
    await rig.tick()
    assert (await rig.info()).buffer_size == 2
    await rig.terminate(rig.workflow_id(1))
    await rig.tick(0.05)
    assert await rig.status(rig.workflow_id(2)) == RUNNING
    assert not await rig.exists(rig.workflow_id(3))
    await rig.terminate(rig.workflow_id(2))
    await rig.tick(0.05)
    assert await rig.status(rig.workflow_id(3)) == RUNNING
    assert (await rig.info()).overlap_skipped == 0


async def test_cancel_other_asks_the_running_one_to_cancel_then_starts(rig: Rig) -> None:
    await rig.create(overlap=OVERLAP.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER)
    await rig.tick()
    await rig.tick()
    first = rig.workflow_id(1)
    assert "WORKFLOW_EXECUTION_CANCEL_REQUESTED" in await rig.harness.event_types(first)
    assert not await rig.exists(rig.workflow_id(2))  # waits until the first one has closed
    await rig.tick(0.05)
    cancel_requests = [t for t in await rig.harness.event_types(first) if t.endswith("CANCEL_REQUESTED")]
    assert len(cancel_requests) == 1  # asked once
    await rig.terminate(first)  # it closes (as a workflow honouring the cancel would)
    await rig.tick(0.05)
    assert await rig.status(rig.workflow_id(2)) == RUNNING


async def test_terminate_other_terminates_and_starts_at_once(rig: Rig) -> None:
    await rig.create(overlap=OVERLAP.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER)
    await rig.tick()
    await rig.tick()
    assert await rig.status(rig.workflow_id(1)) == enums_pb2.WORKFLOW_EXECUTION_STATUS_TERMINATED
    assert await rig.status(rig.workflow_id(2)) == RUNNING


async def test_allow_all_starts_regardless(rig: Rig) -> None:
    await rig.create(overlap=OVERLAP.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL)
    for _ in range(3):
        await rig.tick()
    assert [await rig.status(rig.workflow_id(m)) for m in (1, 2, 3)] == [RUNNING] * 3
    assert len((await rig.info()).running_workflows) == 3


async def test_catch_up_after_downtime_takes_only_what_is_inside_the_window(rig: Rig) -> None:
    await rig.create(overlap=OVERLAP.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL, catchup_s=600)
    await rig.harness.clock.advance(30 * 60)  # the scheduler was down for 30 minutes
    while await rig.loop.run_once():
        pass
    info = await rig.info()
    # Minutes 1..19 are more than 10 minutes late; 20..30 are taken.
    assert (info.missed_catchup_window, info.action_count) == (19, 11)
    assert not await rig.exists(rig.workflow_id(19))
    assert all([await rig.exists(rig.workflow_id(m)) for m in range(20, 31)])


async def test_pause_trigger_unpause_and_backfill(rig: Rig) -> None:
    await rig.create(overlap=OVERLAP.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL)
    await rig.schedules.patch(
        namespace_id=NS_ID,
        schedule_id="sched",
        patch=schedule_pb2.SchedulePatch(pause="maintenance"),
        request_id="p1",
    )
    await rig.tick()
    await rig.tick()
    described, info, _ = await rig.schedules.describe(namespace_id=NS_ID, schedule_id="sched")
    assert (described.state.paused, described.state.notes, info.action_count) == (True, "maintenance", 0)
    assert list(info.future_action_times) == []

    # Trigger now works while paused; a retried trigger (same request id) is applied once.
    await rig.harness.clock.advance(15)
    for _ in range(2):
        await rig.schedules.patch(
            namespace_id=NS_ID,
            schedule_id="sched",
            patch=schedule_pb2.SchedulePatch(trigger_immediately=schedule_pb2.TriggerImmediatelyRequest()),
            request_id="t1",
        )
    await rig.tick(0.25)
    triggered = workflow_id_for("job", rig.harness.clock.now_ms() - 15_000)
    assert await rig.status(triggered) == RUNNING
    info = await rig.info()
    assert info.action_count == 1 and info.recent_actions[-1].manual

    await rig.schedules.patch(
        namespace_id=NS_ID,
        schedule_id="sched",
        patch=schedule_pb2.SchedulePatch(unpause="done"),
        request_id="u1",
    )
    await rig.tick(0.5)  # minute 3: the first time after the unpause
    assert not await rig.exists(rig.workflow_id(1)) and not await rig.exists(rig.workflow_id(2))
    assert await rig.exists(rig.workflow_id(3))

    backfill = schedule_pb2.BackfillRequest()
    backfill.start_time.FromMilliseconds(rig.start_ms + MINUTE_MS)
    backfill.end_time.FromMilliseconds(rig.start_ms + 2 * MINUTE_MS)
    await rig.schedules.patch(
        namespace_id=NS_ID,
        schedule_id="sched",
        patch=schedule_pb2.SchedulePatch(backfill_request=[backfill]),
        request_id="b1",
    )
    await rig.tick(0.1)
    assert await rig.exists(rig.workflow_id(1)) and await rig.exists(rig.workflow_id(2))
    info = await rig.info()
    assert info.action_count == 4
    assert [a.start_workflow_result.workflow_id for a in info.recent_actions[-2:]] == [
        rig.workflow_id(1),
        rig.workflow_id(2),
    ]


async def test_describe_shows_recent_and_next_action_times(rig: Rig) -> None:
    await rig.create(overlap=OVERLAP.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL)
    await rig.tick()
    info = await rig.info()
    assert [t.ToMilliseconds() for t in info.future_action_times[:3]] == [
        rig.start_ms + m * MINUTE_MS for m in (2, 3, 4)
    ]
    assert len(info.future_action_times) == 10
    assert info.recent_actions[0].schedule_time.ToMilliseconds() == rig.start_ms + MINUTE_MS


async def test_limited_actions_stop_after_the_last_one(rig: Rig) -> None:
    await rig.create(overlap=OVERLAP.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL, remaining=2)
    for _ in range(4):
        await rig.tick()
    described, info, _ = await rig.schedules.describe(namespace_id=NS_ID, schedule_id="sched")
    assert (info.action_count, described.state.remaining_actions) == (2, 0)
    assert not await rig.exists(rig.workflow_id(3))
    for minute in (1, 2):
        await rig.terminate(rig.workflow_id(minute))
    await rig.tick()
    record = await rig.harness.persistence.schedules.get_schedule(
        shard_id=shard_for(NS_ID, "sched", NUM_SHARDS), namespace_id=NS_ID, schedule_id="sched"
    )
    assert record.next_wakeup_ms == NEVER_MS  # nothing running, no actions left: no wakeups


async def test_jittered_actions_are_delayed_within_the_bound_and_shown_ahead(rig: Rig) -> None:
    jittered = schedule(overlap=OVERLAP.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL)
    jittered.spec.jitter.seconds = 30
    await rig.schedules.create(
        namespace_id=NS_ID,
        namespace=NS,
        schedule_id="sched",
        schedule=jittered,
        patch=schedule_pb2.SchedulePatch(),
        request_id="",
    )
    next_times = [t.ToMilliseconds() for t in (await rig.info()).future_action_times]
    offsets = [t - (rig.start_ms + (i + 1) * MINUTE_MS) for i, t in enumerate(next_times)]
    assert all(0 <= offset < 30_000 for offset in offsets) and len(set(offsets)) > 1
    await rig.harness.clock.advance(60)
    await rig.loop.run_once()
    assert not await rig.exists(rig.workflow_id(1)) or offsets[0] == 0  # not before its jittered time
    await rig.harness.clock.advance(30)
    await rig.loop.run_once()
    assert await rig.exists(rig.workflow_id(1))
    started = (await rig.info()).recent_actions[0]
    assert started.schedule_time.ToMilliseconds() == rig.start_ms + MINUTE_MS


class CrashAfterStart:
    """History that starts the workflow, then 'crashes' before the scheduler records it."""

    def __init__(self, history: Any) -> None:
        self._history = history

    def __getattr__(self, name: str) -> Any:
        return getattr(self._history, name)

    async def StartWorkflowExecution(self, request: Any) -> Any:
        await self._history.StartWorkflowExecution(request)
        raise RuntimeError("process killed between start and record")


async def test_a_crash_between_start_and_record_does_not_start_twice(rig: Rig) -> None:
    await rig.create(overlap=OVERLAP.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL)
    crashing = rig.make_loop(CrashAfterStart(rig.harness.service.client))
    await rig.harness.clock.advance(60)
    await crashing.run_once()
    first = await rig.harness.describe(rig.workflow_id(1))
    assert (await rig.info()).action_count == 0  # nothing recorded

    await rig.loop.run_once()  # the next owner redoes the pass
    info = await rig.info()
    assert info.action_count == 1
    assert info.running_workflows[0].run_id == first.workflow_execution_info.execution.run_id
    again = await rig.harness.describe(rig.workflow_id(1))
    assert again.workflow_execution_info.execution.run_id == first.workflow_execution_info.execution.run_id


class PauseDuringStart:
    """History whose start lets a user's pause win the write race against the pass."""

    def __init__(self, rig: Rig) -> None:
        self._rig = rig

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rig.harness.service.client, name)

    async def StartWorkflowExecution(self, request: Any) -> Any:
        response = await self._rig.harness.service.client.StartWorkflowExecution(request)
        await self._rig.schedules.patch(
            namespace_id=NS_ID,
            schedule_id="sched",
            patch=schedule_pb2.SchedulePatch(pause="now"),
            request_id="",
        )
        return response


async def test_a_start_made_by_a_pass_that_lost_to_a_pause_is_still_recorded(rig: Rig) -> None:
    await rig.create(overlap=OVERLAP.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL)
    racing = rig.make_loop(PauseDuringStart(rig))
    await rig.harness.clock.advance(60)
    await racing.run_once()
    described, info, _ = await rig.schedules.describe(namespace_id=NS_ID, schedule_id="sched")
    assert described.state.paused
    assert info.action_count == 1
    assert [e.workflow_id for e in info.running_workflows] == [rig.workflow_id(1)]
    await rig.tick()  # paused: nothing more, and the start is not counted again
    assert (await rig.info()).action_count == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(
            lambda s: s.spec.calendar.add(month="2", day_of_month="30"),
            "never occurs in month [2]",
            id="feb-30",
        ),
        pytest.param(lambda s: s.spec.end_time.FromSeconds(1000), "never fires after", id="ended"),
        pytest.param(
            lambda s: s.action.start_workflow.ClearField("task_queue"),
            "task_queue.name is required",
            id="no-queue",
        ),
        pytest.param(
            lambda s: setattr(s.policies, "overlap_policy", 42),
            "allowed: SCHEDULE_OVERLAP_POLICY_SKIP",
            id="overlap",
        ),
    ],
)
async def test_bad_schedules_are_refused_and_nothing_is_written(rig: Rig, change: Any, message: str) -> None:
    bad = schedule()
    change(bad)
    with pytest.raises(InvalidArgument, match=message.replace("[", r"\[")):
        await rig.schedules.create(
            namespace_id=NS_ID,
            namespace=NS,
            schedule_id="bad",
            schedule=bad,
            patch=schedule_pb2.SchedulePatch(),
            request_id="",
        )
    with pytest.raises(NotFound):
        await rig.schedules.describe(namespace_id=NS_ID, schedule_id="bad")
