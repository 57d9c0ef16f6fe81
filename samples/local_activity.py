"""Local activities: short steps run by the workflow's own worker, inside the workflow task.

A local activity skips the round trip of an activity task through the server:
the worker running the workflow calls the function, and its result is
recorded as a marker in the history, so a replay reuses it instead of calling
the function again. Use them for short, cheap steps (a lookup, a validation);
use normal activities for anything long, rate-limited or that needs
heartbeats. Failed attempts are retried by the worker; a backoff longer than
``local_retry_threshold`` becomes a durable timer.

Async completion (``activity.raise_complete_async()`` and
``client.get_async_activity_handle(...)``) is shown at the end: an activity
that hands its task token to someone else, who completes it later.

legato-server start-dev &        # in another terminal
python samples/local_activity.py
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from _common import run_with_worker, unique_id

from legato import RetryPolicy, activity, workflow
from legato.client import Client

TASK_QUEUE = "samples-local-activity"
pending_approvals: asyncio.Queue[bytes] = asyncio.Queue()


@activity.defn
async def normalize_email(raw: str) -> str:
    return raw.strip().lower()


@activity.defn
async def check_domain(email: str) -> str:
    # A flaky lookup: the first attempt fails and the worker retries it locally.
    if activity.info().attempt == 1:
        raise RuntimeError("DNS timeout")
    return email.split("@", 1)[1]


@activity.defn
async def request_approval(email: str) -> str:
    # Completed later by whoever holds the token (here: main(), below).
    await pending_approvals.put(activity.info().task_token)
    activity.raise_complete_async()


@workflow.defn
class SignUpWorkflow:
    @workflow.run
    async def run(self, raw_email: str) -> str:
        email = await workflow.execute_local_activity(
            normalize_email, raw_email, start_to_close_timeout=timedelta(seconds=5)
        )
        domain = await workflow.execute_local_activity(
            check_domain,
            email,
            start_to_close_timeout=timedelta(seconds=5),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100)),
        )
        approval = await workflow.execute_activity(
            request_approval, email, start_to_close_timeout=timedelta(minutes=5)
        )
        return f"{email} ({domain}): {approval}"


async def main() -> str:
    async def body(client: Client) -> str:
        handle = await client.start_workflow(
            SignUpWorkflow.run, "  Ada@Example.ORG ", id=unique_id("sign-up"), task_queue=TASK_QUEUE
        )
        token = await asyncio.wait_for(pending_approvals.get(), 30)
        await client.get_async_activity_handle(task_token=token).complete("approved")
        return await handle.result()

    result = await run_with_worker(
        task_queue=TASK_QUEUE,
        workflows=[SignUpWorkflow],
        activities=[normalize_email, check_domain, request_approval],
        body=body,
    )
    print(f"Signed up: {result}")
    return result


if __name__ == "__main__":
    asyncio.run(main())
