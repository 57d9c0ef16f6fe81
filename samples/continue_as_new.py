"""Continue-as-new: a loop that would grow its history forever restarts itself
with fresh history every few iterations, carrying its state as arguments."""

from __future__ import annotations

import asyncio

from _common import run_with_worker, unique_id

from legato import workflow
from legato.client import Client

TASK_QUEUE = "samples-continue-as-new"
ITERATIONS_PER_RUN = 3


@workflow.defn
class CounterWorkflow:
    @workflow.run
    async def run(self, total: int, target: int) -> int:
        for _ in range(ITERATIONS_PER_RUN):
            if total >= target:
                return total
            total += 1
            await workflow.sleep(0.01)
        workflow.continue_as_new(total, target)


async def main() -> int:
    async def body(client: Client) -> int:
        return await client.execute_workflow(
            CounterWorkflow.run, args=[0, 10], id=unique_id("counter"), task_queue=TASK_QUEUE
        )

    result = await run_with_worker(task_queue=TASK_QUEUE, workflows=[CounterWorkflow], body=body)
    print(f"counted to {result} across {-(-10 // ITERATIONS_PER_RUN)} runs")
    return result


if __name__ == "__main__":
    asyncio.run(main())
