"""``legato workflow update`` against a workflow the SDK's worker runs: results, ids, rejections, shown history."""

from __future__ import annotations

import asyncio
import json

from legato.client import Client
from legato.worker import Worker
from tests.cli.harness import Cli, CliRun, DevServer, ok, unique
from tests.sdk.integration.update_workflows import Cart, reserve


async def run_cli(cli: Cli, *args: str) -> CliRun:
    return await asyncio.to_thread(cli.run, *args)


async def test_cli_sends_updates_and_shows_them(dev_server: DevServer, cli: Cli) -> None:
    task_queue = unique("update-queue")
    workflow_id = unique("cart")
    client = await Client.connect(dev_server.address)
    try:
        async with Worker(client, task_queue=task_queue, workflows=[Cart], activities=[reserve]):
            handle = await client.start_workflow(Cart.run, id=workflow_id, task_queue=task_queue)
            added = await run_cli(
                cli, "workflow", "update", "--id", workflow_id, "--name", "add_item", "--input", '"fig"'
            )
            assert json.loads(ok(added)) == "reserved fig"

            count = ("workflow", "update", "--id", workflow_id, "--name", "count", "--input", "2")
            first = await run_cli(cli, *count, "--update-id", "cli-count")
            again = await run_cli(cli, *count, "--update-id", "cli-count")
            assert json.loads(ok(first)) == json.loads(ok(again)) == 3  # add_item counted 1, then +2 once

            accepted = await run_cli(
                cli, "workflow", "update", "--id", workflow_id, "--name", "wait_closed", "--wait", "accepted"
            )
            assert "Update wait_closed accepted (id " in ok(accepted)

            rejected = await run_cli(
                cli, "workflow", "update", "--id", workflow_id, "--name", "add_item", "--input", '""'
            )
            assert rejected.returncode == 1
            assert (
                "update 'add_item'" in rejected.stderr
                and "was rejected: item must not be empty" in rejected.stderr
            )

            unknown = await run_cli(cli, "workflow", "update", "--id", workflow_id, "--name", "nope")
            assert unknown.returncode == 1
            assert "has no update handler 'nope'" in unknown.stderr

            failed = await run_cli(
                cli, "workflow", "update", "--id", workflow_id, "--name", "fail", "--input", '"sold out"'
            )
            assert failed.returncode == 1
            assert "update 'fail'" in failed.stderr and "failed: sold out (Refused)" in failed.stderr

            await handle.signal(Cart.close)
            await handle.result()
    finally:
        await client.close()

    closed = cli.run("workflow", "update", "--id", workflow_id, "--name", "count", "--input", "1")
    assert closed.returncode == 1
    assert "FAILED_PRECONDITION" in closed.stderr and "already closed (COMPLETED)" in closed.stderr

    table = ok(cli.run("workflow", "show", "--id", workflow_id))
    accepted_rows = [line for line in table.splitlines() if "WorkflowExecutionUpdateAccepted" in line]
    completed_rows = [line for line in table.splitlines() if "WorkflowExecutionUpdateCompleted" in line]
    # add_item, count (once), wait_closed, fail: the rejected ones left nothing.
    assert len(accepted_rows) == len(completed_rows) == 4
    assert "name=add_item" in accepted_rows[0] and 'input="fig"' in accepted_rows[0]
    assert 'outcome="reserved fig"' in completed_rows[0]
    assert sum("outcome=failure" in row and "sold out" in row for row in completed_rows) == 1
