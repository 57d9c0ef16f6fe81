"""Activity heartbeats with retry: a long job records its progress in heartbeats;
its first attempt crashes half-way, and the retry resumes from the last heartbeat
instead of starting over."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from _common import run_with_worker, unique_id

from legato import RetryPolicy, activity, workflow
from legato.client import Client

TASK_QUEUE = "samples-heartbeat"
ITEMS = 10
CRASH_AT = 6


@activity.defn
async def process_items(count: int) -> str:
    info = activity.info()
    details = activity.heartbeat_details()
    start = int(details[0]) + 1 if details else 0
    for item in range(start, count):
        if info.attempt == 1 and item == CRASH_AT:
            raise RuntimeError(f"worker crashed at item {item}")
        activity.heartbeat(item)
    return f"attempt {info.attempt} resumed at item {start} and finished {count} items"


@workflow.defn
class BatchWorkflow:
    @workflow.run
    async def run(self, count: int) -> str:
        return await workflow.execute_activity(
            process_items,
            count,
            start_to_close_timeout=timedelta(seconds=30),
            heartbeat_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100), maximum_attempts=3),
        )


async def main() -> str:
    async def body(client: Client) -> str:
        return await client.execute_workflow(
            BatchWorkflow.run, ITEMS, id=unique_id("batch"), task_queue=TASK_QUEUE
        )

    result = await run_with_worker(
        task_queue=TASK_QUEUE, workflows=[BatchWorkflow], activities=[process_items], body=body
    )
    print(result)
    return result


if __name__ == "__main__":
    asyncio.run(main())
