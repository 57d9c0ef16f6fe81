"""A worker killed with SIGKILL mid-workflow: a new worker replays the history and finishes the same way."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from legato.api.v1 import enums_pb2
from legato.client import Client
from legato.testing import WorkflowEnvironment
from legato.worker import Worker

from .crash_worker import CrashWorkflow, step_one, step_two

REPO_ROOT = Path(__file__).resolve().parents[3]


async def event_types(client: Client, workflow_id: str) -> list[int]:
    return [e.event_type async for e in client.get_workflow_handle(workflow_id).fetch_history_events()]


async def test_worker_killed_mid_workflow_is_replaced_transparently(
    env: WorkflowEnvironment, client: Client, task_queue: str, workflow_id: str
) -> None:
    process = subprocess.Popen(  # noqa: ASYNC220 - started once, never awaited on
        [sys.executable, "-m", "tests.sdk.integration.crash_worker", env.address, task_queue],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        handle = await client.start_workflow(
            CrashWorkflow.run, "order-9", id=workflow_id, task_queue=task_queue
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        # Kill once the first activity completed and the second one started on the doomed worker.
        while True:
            types = await event_types(client, workflow_id)
            if types.count(enums_pb2.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) >= 1 and (
                types.count(enums_pb2.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) >= 2
            ):
                break
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            assert loop.time() < deadline, f"first activity never completed: {types}"
            await asyncio.sleep(0.1)
        process.send_signal(signal.SIGKILL)
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    async with Worker(
        client, task_queue=task_queue, workflows=[CrashWorkflow], activities=[step_one, step_two]
    ) as worker:
        result = await asyncio.wait_for(handle.result(), 60)
        assert worker.workflow_stats is not None and worker.workflow_stats.full_replays >= 1
    assert result == "one(order-9) then two(order-9)"
    types = await event_types(client, workflow_id)
    assert types.count(enums_pb2.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) == 2
