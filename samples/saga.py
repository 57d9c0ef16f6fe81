"""Saga: book a trip step by step; when a step fails for good, undo what was done.

The car rental always fails (non-retryable), so the hotel and the flight that
were booked are cancelled in reverse order, and the workflow reports the failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from _common import run_with_worker, unique_id

from legato import activity, workflow
from legato.client import Client
from legato.exceptions import ActivityError, ApplicationError, WorkflowFailureError

TASK_QUEUE = "samples-saga"
STEP_TIMEOUT = timedelta(seconds=10)


@activity.defn
async def book_flight(trip: str) -> str:
    return f"flight for {trip}"


@activity.defn
async def book_hotel(trip: str) -> str:
    return f"hotel for {trip}"


@activity.defn
async def book_car(trip: str) -> str:
    raise ApplicationError(f"no cars left for {trip}", type="SoldOut", non_retryable=True)


@activity.defn
async def cancel_booking(booking: str) -> str:
    return f"cancelled {booking}"


@workflow.defn
class TripSaga:
    @workflow.run
    async def run(self, trip: str) -> list[str]:
        done: list[str] = []
        compensations: list[str] = []
        steps: list[Callable[[str], Any]] = [book_flight, book_hotel, book_car]
        try:
            for step in steps:
                done.append(await workflow.execute_activity(step, trip, start_to_close_timeout=STEP_TIMEOUT))
        except ActivityError as err:
            for booking in reversed(done):
                compensations.append(
                    await workflow.execute_activity(
                        cancel_booking, booking, start_to_close_timeout=STEP_TIMEOUT
                    )
                )
            raise ApplicationError(
                f"trip {trip} failed and was rolled back: {'; '.join(compensations)}", type="TripFailed"
            ) from err
        return done


async def main() -> str:
    async def body(client: Client) -> str:
        try:
            await client.execute_workflow(TripSaga.run, "lisbon", id=unique_id("trip"), task_queue=TASK_QUEUE)
        except WorkflowFailureError as err:
            return str(err.__cause__)
        raise RuntimeError("the saga was expected to fail and compensate")

    message = await run_with_worker(
        task_queue=TASK_QUEUE,
        workflows=[TripSaga],
        activities=[book_flight, book_hotel, book_car, cancel_booking],
        body=body,
    )
    print(message)
    return message


if __name__ == "__main__":
    asyncio.run(main())
