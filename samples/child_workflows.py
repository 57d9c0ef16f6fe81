"""Child workflows: a parent fans work out to children and combines their results."""

from __future__ import annotations

import asyncio

from _common import run_with_worker, unique_id

from legato import workflow
from legato.client import Client

TASK_QUEUE = "samples-children"


@workflow.defn
class SquareWorkflow:
    @workflow.run
    async def run(self, n: int) -> int:
        return n * n


@workflow.defn
class SumOfSquaresWorkflow:
    @workflow.run
    async def run(self, upto: int) -> int:
        parent_id = workflow.info().workflow_id
        squares = await asyncio.gather(
            *(
                workflow.execute_child_workflow(SquareWorkflow.run, n, id=f"{parent_id}-square-{n}")
                for n in range(1, upto + 1)
            )
        )
        return sum(squares)


async def main() -> int:
    async def body(client: Client) -> int:
        return await client.execute_workflow(
            SumOfSquaresWorkflow.run, 4, id=unique_id("sum-of-squares"), task_queue=TASK_QUEUE
        )

    result = await run_with_worker(
        task_queue=TASK_QUEUE, workflows=[SumOfSquaresWorkflow, SquareWorkflow], body=body
    )
    print(f"1^2 + 2^2 + 3^2 + 4^2 = {result}")
    return result


if __name__ == "__main__":
    asyncio.run(main())
