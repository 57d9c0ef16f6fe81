"""The CLI driving a workflow that the SDK's worker runs: query, signal, result, show, replay.

The worker runs on this test's event loop; each CLI call runs in a thread (and
a child process) so the loop keeps serving the worker meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

import pytest

from legato import activity, workflow
from legato.client import Client
from legato.replayer import Replayer
from legato.worker import Worker
from tests.cli.harness import Cli, CliRun, DevServer, ok, unique

HISTORY_DEADLINE = 30.0


@activity.defn
async def charge(order_id: str, cents: int) -> str:
    return f"charged {order_id}: {cents}"


@workflow.defn(name="CliCheckout")
class CliCheckout:
    def __init__(self) -> None:
        self.approved_by: str | None = None

    @workflow.run
    async def run(self, order_id: str) -> str:
        await workflow.wait_condition(lambda: self.approved_by is not None)
        return await workflow.execute_activity(
            charge, order_id, 1999, start_to_close_timeout=timedelta(seconds=10)
        )

    @workflow.signal
    def approve(self, by: str) -> None:
        self.approved_by = by

    @workflow.query
    def status(self) -> dict[str, object]:
        return {"approved_by": self.approved_by}


async def run_cli(cli: Cli, *args: str) -> CliRun:
    return await asyncio.to_thread(cli.run, *args)


async def wait_for_event(cli: Cli, workflow_id: str, event_type: str) -> None:
    deadline = time.monotonic() + HISTORY_DEADLINE
    while True:
        table = ok(await run_cli(cli, "workflow", "show", "--id", workflow_id))
        if any(line.split()[2:3] == [event_type] for line in table.splitlines()[1:]):
            return
        if time.monotonic() > deadline:
            pytest.fail(f"no {event_type} in the history of {workflow_id}:\n{table}")


async def test_cli_drives_a_workflow_hosted_by_the_sdk_worker(dev_server: DevServer, cli: Cli) -> None:
    task_queue = unique("sdk-queue")
    workflow_id = unique("checkout")
    client = await Client.connect(dev_server.address)
    try:
        async with Worker(client, task_queue=task_queue, workflows=[CliCheckout], activities=[charge]):
            ok(
                await run_cli(
                    cli,
                    "workflow",
                    "start",
                    "--type",
                    "CliCheckout",
                    "--task-queue",
                    task_queue,
                    "--id",
                    workflow_id,
                    "--input",
                    '"order-7"',
                )
            )
            await wait_for_event(cli, workflow_id, "WorkflowTaskCompleted")

            queried = await run_cli(cli, "workflow", "query", "--id", workflow_id, "--type", "status")
            assert json.loads(ok(queried)) == {"approved_by": None}

            ok(
                await run_cli(
                    cli, "workflow", "signal", "--id", workflow_id, "--name", "approve", "--input", '"ana"'
                )
            )
            result = await run_cli(cli, "workflow", "result", "--id", workflow_id, "--timeout", "60s")
            assert json.loads(ok(result)) == "charged order-7: 1999"

            queried = await run_cli(cli, "workflow", "query", "--id", workflow_id, "--type", "status")
            assert json.loads(ok(queried)) == {"approved_by": "ana"}
    finally:
        await client.close()

    table = ok(cli.run("workflow", "show", "--id", workflow_id))
    summaries = {line.split()[2]: line for line in table.splitlines()[1:]}
    assert 'signal=approve, input="ana"' in summaries["WorkflowExecutionSignaled"]
    assert "activity=charge" in summaries["ActivityTaskScheduled"]
    assert 'input=["order-7", 1999]' in summaries["ActivityTaskScheduled"]
    assert 'result="charged order-7: 1999"' in summaries["ActivityTaskCompleted"]
    assert 'result="charged order-7: 1999"' in summaries["WorkflowExecutionCompleted"]

    # What `show --output json` prints is what the Replayer reads.
    history_json = ok(cli.run("workflow", "show", "--id", workflow_id, "--output", "json"))
    replayed = Replayer(workflows=[CliCheckout]).replay_workflow(history_json, workflow_id=workflow_id)
    assert replayed.completed
