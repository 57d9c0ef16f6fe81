"""Crash durability: kill -9 the dev server mid-load, restart it, lose nothing.

A real ``legato-server start-dev`` process on a SQLite file runs workflows
that alternate activities and durable timers. Once work is in flight in every
state (activities running, timers pending, tasks queued), the server gets
SIGKILL - no shutdown code runs. A new server on the same file must carry
every workflow to its correct result: committed history, transfer and timer
tasks are recovered from the store, and the SDK worker and client reconnect.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from datetime import timedelta
from pathlib import Path

from legato import activity, workflow
from legato.client import Client
from legato.testing import find_free_port, server_command
from legato.worker import Worker
from tests.server.test_start_dev import START_DEADLINE_S, wait_until_serving
from tests.waiting import wait_until

WORKFLOWS = 20
STEPS = 6
TASK_QUEUE = "crash-durability"

completed_steps = 0


@activity.defn
async def crash_step(workflow_index: int, step: int) -> int:
    global completed_steps
    await asyncio.sleep(0.02)
    completed_steps += 1
    return workflow_index * 100 + step


@workflow.defn
class CrashChain:
    @workflow.run
    async def run(self, workflow_index: int) -> int:
        total = 0
        for step in range(STEPS):
            total += await workflow.execute_activity(
                crash_step, workflow_index, step, start_to_close_timeout=timedelta(seconds=10)
            )
            await workflow.sleep(0.2)
        return total


def expected(workflow_index: int) -> int:
    return sum(workflow_index * 100 + step for step in range(STEPS))


def start_server(db_file: Path, port: int, log: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [*server_command(), "start-dev", "--port", str(port), "--db-file", str(db_file)],
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        text=True,
    )
    wait_until_serving(f"127.0.0.1:{port}", process, time.monotonic() + START_DEADLINE_S)
    return process


async def test_workflows_survive_kill_9_of_the_server(tmp_path: Path) -> None:
    db_file, log = tmp_path / "legato.db", tmp_path / "server.log"
    port = find_free_port()
    server = await asyncio.to_thread(start_server, db_file, port, log)
    try:
        client = await Client.connect(f"127.0.0.1:{port}")
        async with Worker(client, task_queue=TASK_QUEUE, workflows=[CrashChain], activities=[crash_step]):
            ids = [f"crash-{index}" for index in range(WORKFLOWS)]
            for index, workflow_id in enumerate(ids):
                await client.start_workflow(CrashChain.run, index, id=workflow_id, task_queue=TASK_QUEUE)
            # Kill once every workflow is under way but far from done.
            await wait_until(lambda: completed_steps >= WORKFLOWS, within=60, what="first steps")
            assert completed_steps < WORKFLOWS * STEPS
            server.kill()
            server.wait()
            steps_at_crash = completed_steps

            server = await asyncio.to_thread(start_server, db_file, port, log)
            results = await asyncio.wait_for(
                asyncio.gather(*(client.get_workflow_handle(wid).result() for wid in ids)), timeout=120
            )
        assert results == [expected(index) for index in range(WORKFLOWS)], log.read_text()[-4000:]
        assert completed_steps > steps_at_crash  # the work really continued after the restart
        history = await client.get_workflow_handle(ids[0]).fetch_history()
        assert history.events[-1].event_type == 2  # WORKFLOW_EXECUTION_COMPLETED
        await client.close()
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=30)
