"""``legato workflow reset`` against a workflow the SDK's worker runs: a refused point, then a reset.

The worker runs on this test's event loop; each CLI call runs in a thread (and
a child process) so the loop keeps serving the worker meanwhile.
"""

from __future__ import annotations

import asyncio

from legato import workflow
from legato.api.v1 import enums_pb2
from legato.client import Client
from legato.worker import Worker
from tests.cli.harness import Cli, CliRun, DevServer, fields, ok, unique
from tests.waiting import wait_until

HISTORY_DEADLINE = 30.0


@workflow.defn(name="CliResettable")
class CliResettable:
    def __init__(self) -> None:
        self.items: list[str] = []

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: "done" in self.items)
        return self.items

    @workflow.signal
    def add(self, item: str) -> None:
        self.items.append(item)


async def run_cli(cli: Cli, *args: str) -> CliRun:
    return await asyncio.to_thread(cli.run, *args)


async def test_cli_reset_refuses_a_bad_point_then_starts_a_new_run(dev_server: DevServer, cli: Cli) -> None:
    task_queue, workflow_id = unique("reset-queue"), unique("resettable")
    client = await Client.connect(dev_server.address)
    try:
        async with Worker(client, task_queue=task_queue, workflows=[CliResettable]):
            handle = await client.start_workflow(CliResettable.run, id=workflow_id, task_queue=task_queue)

            async def reached(event_type: int) -> bool:
                return event_type in {e.event_type for e in (await handle.fetch_history()).events}

            # The signal is sent only after the first workflow task completed, so a reset to
            # that task leaves it out for sure (sent earlier, it could land before the task).
            await wait_until(
                lambda: reached(enums_pb2.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
                within=HISTORY_DEADLINE,
                what="the first workflow task to complete",
            )
            await handle.signal(CliResettable.add, "a")
            await wait_until(
                lambda: reached(enums_pb2.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED),
                within=HISTORY_DEADLINE,
                what="the signal in the history",
            )
            old_run = (await handle.describe()).run_id
            first_completed = next(
                e.event_id
                for e in (await handle.fetch_history()).events
                if e.event_type == enums_pb2.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
            )

            refused = await run_cli(cli, "workflow", "reset", "--id", workflow_id, "--event-id", "1")
            assert refused.returncode != 0
            assert "INVALID_ARGUMENT" in refused.stderr
            assert "event 1 is a WorkflowExecutionStarted, not the end of a workflow task" in refused.stderr
            assert f"allowed event ids of run {old_run}: {first_completed}" in refused.stderr

            reset = ok(
                await run_cli(
                    cli,
                    "workflow",
                    "reset",
                    "--id",
                    workflow_id,
                    "--type",
                    "first-workflow-task",
                    "--reason",
                    "cli reset",
                    "--no-reapply-signals",
                )
            )
            new_run = fields(reset)["New run ID"]
            assert new_run and new_run != old_run

            await handle.signal(CliResettable.add, "done")
            assert await client.get_workflow_handle(workflow_id, run_id=new_run).result() == ["done"]

        described_new = fields(ok(await run_cli(cli, "workflow", "describe", "--id", workflow_id)))
        assert described_new["Run ID"] == new_run
        assert described_new["Reset from"] == f"run {old_run} at event 4: cli reset"
        described_old = fields(
            ok(await run_cli(cli, "workflow", "describe", "--id", workflow_id, "--run-id", old_run))
        )
        assert described_old["Status"].lower() == "terminated"
        assert described_old["Reset by"] == f"new run {new_run} (to event 4): cli reset"
    finally:
        await client.close()
