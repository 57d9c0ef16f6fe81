"""Workflows and activities shared by the runtime tests."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from legato import workflow


async def charge(order_id: str, cents: int) -> str:
    raise NotImplementedError  # activities never run in these tests


def refund(order_id: str) -> int:
    raise NotImplementedError


@dataclass
class Receipt:
    order_id: str
    cents: int


async def make_receipt(order_id: str) -> Receipt:
    raise NotImplementedError


@workflow.defn
class Checkout:
    def __init__(self) -> None:
        self.approved = False
        self.status = "new"

    @workflow.run
    async def run(self, order_id: str) -> str:
        self.status = "waiting"
        await workflow.wait_condition(lambda: self.approved)
        self.status = "charging"
        charge_id = await workflow.execute_activity(
            charge, order_id, 1999, start_to_close_timeout=timedelta(seconds=10)
        )
        self.status = "done"
        return f"charged {charge_id}"

    @workflow.signal
    def approve(self) -> None:
        self.approved = True

    @workflow.query
    def current_status(self) -> str:
        return self.status


@workflow.defn
class Sleeper:
    @workflow.run
    async def run(self, seconds: float) -> str:
        before = workflow.now()
        await asyncio.sleep(seconds)
        return f"slept {(workflow.now() - before).total_seconds()}"
