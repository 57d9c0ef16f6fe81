"""Hello activity: a workflow that calls one activity and returns its result.

legato-server start-dev &        # in another terminal
python samples/hello_activity.py
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from _common import run_with_worker, unique_id

from legato import activity, workflow
from legato.client import Client

TASK_QUEUE = "samples-hello"


@activity.defn
async def compose_greeting(name: str) -> str:
    return f"Hello, {name}!"


@workflow.defn
class HelloWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(
            compose_greeting, name, start_to_close_timeout=timedelta(seconds=10)
        )


async def main() -> str:
    async def body(client: Client) -> str:
        return await client.execute_workflow(
            HelloWorkflow.run, "World", id=unique_id("hello"), task_queue=TASK_QUEUE
        )

    result = await run_with_worker(
        task_queue=TASK_QUEUE, workflows=[HelloWorkflow], activities=[compose_greeting], body=body
    )
    print(f"Workflow result: {result}")
    return result


if __name__ == "__main__":
    asyncio.run(main())
