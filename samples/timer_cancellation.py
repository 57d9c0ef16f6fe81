"""A long timer, cancelled: a reminder that waits a day unless the workflow is cancelled.

On cancellation the workflow catches CancelledError and runs cleanup in a
shielded step before it ends as CANCELED.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from _common import run_with_worker, unique_id

from legato import activity, workflow
from legato.client import Client
from legato.exceptions import WorkflowFailureError

TASK_QUEUE = "samples-timer"


@activity.defn
async def release_reservation(what: str) -> str:
    return f"released {what}"


@workflow.defn
class ReminderWorkflow:
    def __init__(self) -> None:
        self.cleaned_up = ""

    @workflow.run
    async def run(self, what: str) -> str:
        try:
            await workflow.sleep(timedelta(days=1))
            return f"reminder sent for {what}"
        except asyncio.CancelledError:
            self.cleaned_up = await asyncio.shield(
                workflow.execute_activity(
                    release_reservation, what, start_to_close_timeout=timedelta(seconds=10)
                )
            )
            raise

    @workflow.query
    def cleanup(self) -> str:
        return self.cleaned_up


async def main() -> str:
    async def body(client: Client) -> str:
        handle = await client.start_workflow(
            ReminderWorkflow.run, "table for two", id=unique_id("reminder"), task_queue=TASK_QUEUE
        )
        description = await handle.describe()
        status = description.status.name if description.status else "unknown"
        print("status while the timer runs:", status)
        await handle.cancel()
        try:
            await handle.result()
        except WorkflowFailureError as err:
            print("workflow ended with:", type(err.__cause__).__name__)
        return await handle.query(ReminderWorkflow.cleanup)

    result = await run_with_worker(
        task_queue=TASK_QUEUE, workflows=[ReminderWorkflow], activities=[release_reservation], body=body
    )
    print(f"cleanup: {result}")
    return result


if __name__ == "__main__":
    asyncio.run(main())
