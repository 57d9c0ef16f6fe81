"""Signals and queries: an order that waits for approval, observable while it waits.

Signals change the workflow's state durably; queries read it without changing it.
"""

from __future__ import annotations

import asyncio

from _common import run_with_worker, unique_id

from legato import workflow
from legato.client import Client

TASK_QUEUE = "samples-signals"


@workflow.defn
class ApprovalWorkflow:
    def __init__(self) -> None:
        self.approvals: list[str] = []

    @workflow.run
    async def run(self, needed: int) -> list[str]:
        await workflow.wait_condition(lambda: len(self.approvals) >= needed)
        return self.approvals

    @workflow.signal
    def approve(self, who: str) -> None:
        self.approvals.append(who)

    @workflow.query
    def pending(self) -> int:
        return len(self.approvals)


async def main() -> list[str]:
    async def body(client: Client) -> list[str]:
        handle = await client.start_workflow(
            ApprovalWorkflow.run, 2, id=unique_id("approval"), task_queue=TASK_QUEUE
        )
        await handle.signal(ApprovalWorkflow.approve, "alice")
        print("approvals so far:", await handle.query(ApprovalWorkflow.pending))
        await handle.signal(ApprovalWorkflow.approve, "bob")
        return await handle.result()

    result = await run_with_worker(task_queue=TASK_QUEUE, workflows=[ApprovalWorkflow], body=body)
    print(f"Approved by: {', '.join(result)}")
    return result


if __name__ == "__main__":
    asyncio.run(main())
