"""Updates: a ticket counter that sells seats through durable request/response calls.

An update is like a signal that answers. ``@workflow.update`` handlers may be
async and run activities; the optional ``@<update>.validator`` runs first and
rejects bad requests without a trace in the workflow's history. An update id
makes retries safe: sending the same id again returns the first answer.
Update-with-start starts the workflow if it is not running yet.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from _common import run_with_worker, unique_id

from legato import activity, workflow
from legato.client import Client, WorkflowUpdateStage
from legato.exceptions import ApplicationError, WorkflowUpdateFailedError

TASK_QUEUE = "samples-updates"


@dataclass
class Booking:
    customer: str
    seats: int


@activity.defn
async def issue_tickets(booking: Booking) -> str:
    return f"{booking.seats} ticket(s) for {booking.customer}"


@workflow.defn
class TicketCounter:
    def __init__(self, capacity: int) -> None:
        self.left = capacity
        self.sold = 0
        self.closed = False

    @workflow.run
    async def run(self, capacity: int) -> int:
        await workflow.wait_condition(lambda: self.closed)
        # Let bookings still being served finish before the workflow completes.
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.sold

    @workflow.update
    async def book(self, booking: Booking) -> str:
        self.left -= booking.seats  # reserved at once: a concurrent booking sees fewer seats
        tickets = await workflow.execute_activity(
            issue_tickets, booking, start_to_close_timeout=timedelta(seconds=10)
        )
        self.sold += booking.seats
        return tickets

    @book.validator
    def check_booking(self, booking: Booking) -> None:
        if self.closed:
            raise ApplicationError("sales are closed", type="SalesClosed")
        if not 0 < booking.seats <= self.left:
            raise ApplicationError(
                f"only {self.left} seats left, asked for {booking.seats}", type="NotEnoughSeats"
            )

    @workflow.update
    def close_sales(self) -> int:
        self.closed = True
        return self.left


async def main() -> str:
    async def body(client: Client) -> str:
        counter_id = unique_id("tickets")
        # The first booking starts the counter (8 seats) and books in one call.
        first = await client.execute_update_with_start(
            TicketCounter.book,
            Booking("ada", 2),
            start_workflow=TicketCounter.run,
            args=[8],
            id=counter_id,
            task_queue=TASK_QUEUE,
        )
        print("booked:", first)
        counter = client.get_workflow_handle_for(TicketCounter.run, counter_id)
        # A retry with the same update id is answered once: no double booking.
        second = await counter.execute_update(TicketCounter.book, Booking("grace", 3), id="grace-1")
        retried = await counter.execute_update(TicketCounter.book, Booking("grace", 3), id="grace-1")
        print("booked:", second, "(retried:", retried + ")")
        rejection = "none"
        try:
            await counter.execute_update(TicketCounter.book, Booking("alan", 10))
        except WorkflowUpdateFailedError as err:
            rejection = str(err.cause)
            print("rejected:", rejection, "(nothing recorded)" if err.rejected else "")
        # start_update returns once the update is accepted; result() waits for the handler.
        pending = await counter.start_update(
            TicketCounter.book, Booking("edsger", 1), wait_for_stage=WorkflowUpdateStage.ACCEPTED
        )
        print("booked:", await pending.result())
        left = await counter.execute_update(TicketCounter.close_sales)
        sold = await counter.result()
        return f"Sold {sold} seats, {left} left; rejected: {rejection}"

    summary = await run_with_worker(
        task_queue=TASK_QUEUE, workflows=[TicketCounter], activities=[issue_tickets], body=body
    )
    print(summary)
    return summary


if __name__ == "__main__":
    asyncio.run(main())
