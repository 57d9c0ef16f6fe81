"""Schedules survive kill -9 of the server and start each scheduled time exactly once.

A real ``legato-server start-dev`` process on a SQLite file runs a schedule
that starts a workflow every second. Once it has taken a few actions the
server gets SIGKILL (no shutdown code runs; a pass may be cut anywhere,
between a start and the write that records it included). A new server on the
same file must go on: every second from the first action to the last has
exactly one workflow - the seconds that passed while the server was down
are caught up, and no second is started twice (the workflow id and request
id of an action come from its scheduled time). The in-process test of the
exact crash window is ``tests/server/history/test_schedules.py``.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from google.protobuf import duration_pb2

from legato import workflow
from legato.api.v1 import schedule_pb2
from legato.client import Client
from legato.schedules import schedule_action
from legato.testing import find_free_port
from legato.worker import Worker
from tests.server.test_crash_durability import start_server
from tests.waiting import wait_until

TASK_QUEUE = "schedule-crash"
PREFIX = "tick"


@workflow.defn
class Tick:
    @workflow.run
    async def run(self) -> str:
        return "tock"


def scheduled_time(workflow_id: str) -> datetime:
    return datetime.fromisoformat(workflow_id.removeprefix(f"{PREFIX}-").replace("Z", "+00:00"))


async def test_a_schedule_fires_each_second_once_across_kill_9(tmp_path: Path) -> None:
    db_file, log = tmp_path / "legato.db", tmp_path / "server.log"
    port = find_free_port()
    server = await asyncio.to_thread(start_server, db_file, port, log)
    try:
        client = await Client.connect(f"127.0.0.1:{port}")
        async with Worker(client, task_queue=TASK_QUEUE, workflows=[Tick]):
            action = await schedule_action(client, Tick, id=PREFIX, task_queue=TASK_QUEUE)
            spec = schedule_pb2.ScheduleSpec(
                interval=[schedule_pb2.IntervalSpec(interval=duration_pb2.Duration(seconds=1))]
            )
            policies = schedule_pb2.SchedulePolicies(
                overlap_policy=schedule_pb2.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL
            )
            handle = await client.create_schedule(
                "every-second", schedule_pb2.Schedule(spec=spec, action=action, policies=policies)
            )
            counts: list[int] = [0]

            async def refresh() -> None:
                counts[0] = (await handle.describe()).info.action_count

            async def actions_at_least(n: int) -> bool:
                await refresh()
                return counts[0] >= n

            await wait_until(lambda: actions_at_least(3), within=60, what="three scheduled starts")
            server.kill()  # SIGKILL
            server.wait()
            before = counts[0]

            server = await asyncio.to_thread(start_server, db_file, port, log)
            await wait_until(lambda: actions_at_least(before + 4), within=60, what="starts after the restart")
            await handle.pause(note="test over")
            await refresh()
            total = counts[0]

            runs: list[str] = []

            async def all_listed() -> bool:
                runs[:] = [run.id async for run in client.list_workflows(task_queue=TASK_QUEUE)]
                return len(runs) >= total

            await wait_until(all_listed, within=30, what="visibility of every started run")
        assert len(runs) == len(set(runs)), f"a scheduled time was started twice: {sorted(runs)}"
        times = sorted(scheduled_time(run) for run in runs)
        gaps = [(a, b) for a, b in zip(times, times[1:], strict=False) if (b - a).total_seconds() != 1]
        assert not gaps, (
            f"seconds without a run (not caught up after the restart): {gaps}\n" + log.read_text()[-3000:]
        )
        assert len(times) >= before + 4
        await client.close()
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=30)
