"""Workflow and activities of the worker-crash test, and the worker process it kills.

Run as ``python -m tests.sdk.integration.crash_worker ADDRESS TASK_QUEUE``:
a worker whose ``step_two`` never finishes, so the test can ``kill -9`` it
mid-workflow and let a fresh worker (in the test process) finish the job.
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import timedelta

from legato import RetryPolicy, activity, workflow
from legato.client import Client
from legato.worker import Worker

HANGING_ENV = "LEGATO_TEST_HANG_STEP_TWO"


@activity.defn
async def step_one(order: str) -> str:
    return f"one({order})"


@activity.defn
async def step_two(order: str) -> str:
    if os.environ.get(HANGING_ENV):
        await asyncio.sleep(3600)  # this worker gets killed meanwhile
    return f"two({order})"


@workflow.defn
class CrashWorkflow:
    @workflow.run
    async def run(self, order: str) -> str:
        options = dict(
            start_to_close_timeout=timedelta(seconds=3),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100)),
        )
        first = await workflow.execute_activity(step_one, order, **options)  # type: ignore[arg-type]
        await workflow.sleep(0.2)
        second = await workflow.execute_activity(step_two, order, **options)  # type: ignore[arg-type]
        return f"{first} then {second}"


async def main(address: str, task_queue: str) -> None:
    client = await Client.connect(address)
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[CrashWorkflow],
        activities=[step_one, step_two],
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=1),
    )
    print("worker ready", flush=True)
    await worker.run()


if __name__ == "__main__":
    os.environ[HANGING_ENV] = "1"
    asyncio.run(main(sys.argv[1], sys.argv[2]))
