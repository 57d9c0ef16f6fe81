"""``legato workflow terminate --query``: a batch of 1,000+ runs on the dev server, with progress and refusals.

The workflows are started by the SDK client with no worker, so they stay
running until the batch ends them. Visibility is written after each change by
the history's transfer queue, so the tests wait (with a deadline) for counts.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from legato.client import Client
from tests.cli.harness import Cli, CliRun, DevServer, unique

MATCHING = 1_050
ALREADY_CLOSED = 50
BYSTANDERS = 5
COUNT_DEADLINE = 60.0


async def run_cli(cli: Cli, *args: str) -> CliRun:
    return await asyncio.to_thread(cli.run, *args)


@pytest_asyncio.fixture
async def client(dev_server: DevServer) -> AsyncIterator[Client]:
    client = await Client.connect(dev_server.address)
    try:
        yield client
    finally:
        await client.close()


async def start_many(client: Client, workflow_type: str, count: int, task_queue: str) -> list[str]:
    ids = [f"{workflow_type}-{i}" for i in range(count)]
    slots = asyncio.Semaphore(20)

    async def start(workflow_id: str) -> None:
        async with slots:
            await client.start_workflow(workflow_type, id=workflow_id, task_queue=task_queue)

    await asyncio.gather(*(start(i) for i in ids))
    return ids


async def wait_for_count(client: Client, query: str, expected: int) -> None:
    deadline = time.monotonic() + COUNT_DEADLINE
    while (count := await client.count_workflows(query=query)) != expected:
        if time.monotonic() > deadline:
            pytest.fail(f"{query!r} counts {count}, expected {expected} within {COUNT_DEADLINE:.0f}s")
        await asyncio.sleep(0.2)


async def test_batch_terminate_of_a_thousand_runs_shows_progress_and_skips_closed_ones(
    client: Client, cli: Cli
) -> None:
    victim, bystander, queue = unique("BatchVictim"), unique("BatchBystander"), unique("batch-queue")
    ids = await start_many(client, victim, MATCHING, queue)
    await start_many(client, bystander, BYSTANDERS, queue)
    for workflow_id in ids[:ALREADY_CLOSED]:
        await client.get_workflow_handle(workflow_id).terminate("closed before the batch")
    query = f"WorkflowType = '{victim}'"
    await wait_for_count(client, f"{query} AND ExecutionStatus = 'Running'", MATCHING - ALREADY_CLOSED)
    await wait_for_count(client, query, MATCHING)

    run = await run_cli(
        cli, "workflow", "terminate", "--query", query, "--reason", "batch cleanup", "--rps", "400", "--yes"
    )

    assert run.returncode == 0, run
    assert (
        f"Terminated {MATCHING - ALREADY_CLOSED} of {MATCHING} workflow run(s) matching the query "
        f"(skipped {ALREADY_CLOSED} already closed, failed 0) in " in run.stdout
    )
    progress = re.findall(r"^terminate (\d+)/(\d+) ", run.stderr, re.M)
    assert progress[-1] == (str(MATCHING), str(MATCHING)), run.stderr
    assert len(progress) >= 2, f"no progress shown before the end:\n{run.stderr}"
    done = [int(n) for n, _ in progress]
    assert done == sorted(done) and done[0] < MATCHING
    assert f"succeeded {MATCHING - ALREADY_CLOSED}, skipped {ALREADY_CLOSED}, failed 0" in run.stderr

    await wait_for_count(client, f"{query} AND ExecutionStatus = 'Terminated'", MATCHING)
    await wait_for_count(client, f"WorkflowType = '{bystander}' AND ExecutionStatus = 'Running'", BYSTANDERS)
    close = (await client.get_workflow_handle(ids[-1]).fetch_history()).events[-1]
    assert close.workflow_execution_terminated_event_attributes.reason == "batch cleanup"

    # Run again: every run is closed now, so all are skipped and nothing fails.
    again = await run_cli(
        cli, "workflow", "terminate", "-q", query, "--reason", "again", "--rps", "1000", "-y"
    )
    assert again.returncode == 0, again
    assert (
        f"Terminated 0 of {MATCHING} workflow run(s) matching the query (skipped {MATCHING}" in again.stdout
    )


async def test_batch_is_refused_without_confirmation_or_with_bad_options(client: Client, cli: Cli) -> None:
    kind, queue = unique("BatchUnconfirmed"), unique("batch-queue")
    await start_many(client, kind, 3, queue)
    query = f"WorkflowType = '{kind}' AND ExecutionStatus = 'Running'"
    await wait_for_count(client, query, 3)

    unconfirmed = await run_cli(cli, "workflow", "terminate", "--query", query, "--reason", "no")
    assert unconfirmed.returncode != 0
    assert "Terminate 3 workflow run(s) matching" in unconfirmed.stderr
    assert "pass --yes" in unconfirmed.stderr

    with_run_id = await run_cli(cli, "workflow", "cancel", "--query", query, "--run-id", "r-1", "--yes")
    assert with_run_id.returncode != 0
    assert "--run-id goes with --id, not with --query" in with_run_id.stderr

    zero_rate = await run_cli(cli, "workflow", "signal", "--query", query, "--name", "go", "--rps", "0")
    assert zero_rate.returncode != 0
    assert "expected more than 0 calls per second" in zero_rate.stderr

    both = await run_cli(cli, "workflow", "terminate", "--query", query, "--id", "x", "--reason", "no")
    assert both.returncode != 0
    assert "not allowed with argument" in both.stderr

    bad_query = await run_cli(
        cli, "workflow", "terminate", "--query", "WorkflowType = ", "--reason", "no", "--yes"
    )
    assert bad_query.returncode != 0
    assert "INVALID_ARGUMENT" in bad_query.stderr

    await wait_for_count(client, query, 3)  # nothing was changed
