"""Workflows and activities of the update tests, and a worker process the worker-kill test kills.

Run as ``python -m tests.sdk.integration.update_workflows ADDRESS TASK_QUEUE``:
a worker whose ``reserve`` activity never finishes, so the test can kill it
while an update's handler awaits that activity.
"""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from datetime import timedelta

from legato import RetryPolicy, activity, workflow
from legato.client import Client
from legato.exceptions import ApplicationError
from legato.worker import Worker

HANGING_ENV = "LEGATO_TEST_HANG_RESERVE"


@dataclass
class Address:
    street: str
    city: str


@activity.defn
async def reserve(item: str) -> str:
    if os.environ.get(HANGING_ENV):
        await asyncio.sleep(3600)  # this worker gets killed meanwhile
    return f"reserved {item}"


@workflow.defn
class Cart:
    def __init__(self) -> None:
        self.items: list[str] = []
        self.adds = 0
        self.closed = False

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: self.closed)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.items

    @workflow.update
    async def add_item(self, item: str) -> str:
        """Runs an activity, then records the item; returns the activity's result."""
        self.adds += 1
        receipt = await workflow.execute_activity(
            reserve,
            item,
            start_to_close_timeout=timedelta(seconds=5),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100)),
        )
        self.items.append(item)
        return receipt

    @add_item.validator
    def validate_add_item(self, item: str) -> None:
        if not item:
            raise ApplicationError("item must not be empty", type="EmptyItem")
        if self.closed:
            raise ApplicationError("the cart is closed", type="CartClosed")

    @workflow.update
    def count(self, step: int) -> int:
        """Sync: adds ``step`` to the counter and returns it."""
        self.adds += step
        return self.adds

    @workflow.update
    def ship_to(self, address: Address) -> str:
        return f"{address.street}, {address.city}"

    @workflow.update
    async def fail(self, reason: str) -> None:
        raise ApplicationError(reason, type="Refused")

    @workflow.update
    async def wait_closed(self) -> int:
        await workflow.wait_condition(lambda: self.closed)
        return len(self.items)

    @workflow.signal
    def close(self) -> None:
        self.closed = True

    @workflow.query
    def adds_so_far(self) -> int:
        return self.adds


async def main(address: str, task_queue: str) -> None:
    client = await Client.connect(address)
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[Cart],
        activities=[reserve],
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=1),
    )
    print("worker ready", flush=True)
    await worker.run()


if __name__ == "__main__":
    os.environ[HANGING_ENV] = "1"
    asyncio.run(main(sys.argv[1], sys.argv[2]))
