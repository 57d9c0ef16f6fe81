"""``legato activity complete|fail`` answering activities that complete asynchronously (SDK worker, dev server)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from legato import RetryPolicy, activity, workflow
from legato.client import Client
from legato.exceptions import ActivityError, ApplicationError, WorkflowFailureError
from legato.worker import Worker
from tests.cli.harness import Cli, DevServer, ok, unique

tokens: dict[str, bytes] = {}
arrived: dict[str, asyncio.Event] = {}


@activity.defn
async def await_human(key: str) -> str:
    tokens[key] = activity.info().task_token
    arrived.setdefault(key, asyncio.Event()).set()
    activity.raise_complete_async()


@workflow.defn(name="CliAsyncActivity")
class CliAsyncActivity:
    @workflow.run
    async def run(self, key: str) -> str:
        return await workflow.execute_activity(
            await_human,
            key,
            activity_id="human",
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=RetryPolicy(maximum_attempts=1),
        )


async def _wait_token(key: str) -> bytes:
    await asyncio.wait_for(arrived.setdefault(key, asyncio.Event()).wait(), 15)
    return tokens[key]


async def test_complete_by_ids_and_fail_by_token(dev_server: DevServer, cli: Cli) -> None:
    task_queue = unique("async-activity")
    client = await Client.connect(dev_server.address)
    try:
        async with Worker(
            client, task_queue=task_queue, workflows=[CliAsyncActivity], activities=[await_human]
        ):
            first = unique("human-ok")
            handle = await client.start_workflow("CliAsyncActivity", first, id=first, task_queue=task_queue)
            await _wait_token(first)
            out = ok(
                await asyncio.to_thread(
                    cli.run,
                    "activity",
                    "complete",
                    "-w",
                    first,
                    "--activity-id",
                    "human",
                    "--result",
                    '"approved"',
                )
            )
            assert "Activity completed." in out
            assert await handle.result() == "approved"

            second = unique("human-no")
            handle = await client.start_workflow("CliAsyncActivity", second, id=second, task_queue=task_queue)
            token = await _wait_token(second)
            out = ok(
                await asyncio.to_thread(
                    cli.run,
                    "activity",
                    "fail",
                    "--task-token",
                    token.hex(),
                    "--reason",
                    "declined",
                    "--type",
                    "No",
                )
            )
            assert "Activity failed." in out
            with pytest.raises(WorkflowFailureError) as caught:
                await handle.result()
            cause = caught.value.__cause__
            assert isinstance(cause, ActivityError) and isinstance(cause.__cause__, ApplicationError)
            assert str(cause.__cause__) == "declined" and cause.__cause__.type == "No"

            # The token is used up now: a typed NOT_FOUND error, exit code 1.
            again = await asyncio.to_thread(cli.run, "activity", "complete", "--task-token", token.hex())
            assert again.returncode == 1 and "NOT_FOUND" in again.stderr
    finally:
        await client.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(("--task-token", "zz"), "is not hex", id="token-not-hex"),
        pytest.param(("--workflow-id", "w"), "name the activity", id="no-activity-id"),
        pytest.param(("--task-token", "00", "--workflow-id", "w"), "not both", id="both"),
    ],
)
def test_bad_target_is_a_usage_error(cli: Cli, args: tuple[str, ...], message: str) -> None:
    run = cli.run("activity", "complete", *args)
    assert run.returncode == 2 and message in run.stderr


def test_garbage_token_is_invalid_argument(cli: Cli) -> None:
    run = cli.run("activity", "complete", "--task-token", "ff00ff")
    assert run.returncode == 1 and "INVALID_ARGUMENT" in run.stderr and "task token" in run.stderr
