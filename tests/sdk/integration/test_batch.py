"""SDK batch operations on the dev server: terminate while runs close under it, signal, cancel.

No worker runs: the workflows stay running with a pending workflow task, which
is all a terminate, signal or cancel needs.
"""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest

from legato.api.v1 import enums_pb2
from legato.client import BatchProgress, Client
from legato.exceptions import RPCError

ET = enums_pb2.EventType
COUNT_DEADLINE = 60.0


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


async def test_terminate_workflows_counts_runs_closed_during_the_batch_as_skipped(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    kind = f"BatchRace-{workflow_id[-10:]}"
    ids = await start_many(client, kind, 120, task_queue)
    query = f"WorkflowType = '{kind}' AND ExecutionStatus = 'Running'"
    await wait_for_count(client, query, 120)
    seen: list[int] = []
    listed = asyncio.Event()  # the first progress call comes after the listing

    def on_progress(progress: BatchProgress) -> None:
        seen.append(progress.done)
        listed.set()

    async def close_some_meanwhile() -> None:
        await listed.wait()
        for closing in reversed(ids[::3]):  # from the end, so it gets ahead of the batch on some runs
            try:
                await client.get_workflow_handle(closing).terminate("closed by someone else")
            except RPCError as err:  # the batch got there first
                assert err.status == grpc.StatusCode.FAILED_PRECONDITION, err

    batch = asyncio.create_task(
        client.terminate_workflows(query, reason="batch", rps=60, on_progress=on_progress)
    )
    await close_some_meanwhile()
    progress: BatchProgress = await batch

    assert progress.total == 120
    assert progress.failed == 0, progress.failures
    assert progress.succeeded + progress.skipped == 120
    assert progress.skipped >= 1  # the closer got ahead of the paced batch on some runs
    assert seen == sorted(seen) and seen[-1] == 120
    await wait_for_count(client, query, 0)
    await wait_for_count(client, f"WorkflowType = '{kind}' AND ExecutionStatus = 'Terminated'", 120)


async def test_signal_and_cancel_workflows_reach_every_matching_run(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    kind = f"BatchSignal-{workflow_id[-10:]}"
    ids = await start_many(client, kind, 12, task_queue)
    query = f"WorkflowType = '{kind}'"
    await wait_for_count(client, query, 12)

    signaled = await client.signal_workflows(query, "nudge", {"n": 1}, rps=100)
    canceled = await client.cancel_workflows(query, reason="tidy up", rps=100)

    assert (signaled.succeeded, signaled.skipped, signaled.failed) == (12, 0, 0)
    assert (canceled.succeeded, canceled.skipped, canceled.failed) == (12, 0, 0)
    for each in ids:
        events = (await client.get_workflow_handle(each).fetch_history()).events
        signals = [e for e in events if e.event_type == ET.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED]
        assert [s.workflow_execution_signaled_event_attributes.signal_name for s in signals] == ["nudge"]
        assert any(e.event_type == ET.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED for e in events)


async def test_batch_rate_options_are_checked_before_anything_changes(client: Client) -> None:
    with pytest.raises(ValueError, match="rps must be more than 0"):
        await client.terminate_workflows("WorkflowType = 'Nothing'", reason="x", rps=0)
    with pytest.raises(ValueError, match="concurrency must be 1 or more"):
        await client.cancel_workflows("WorkflowType = 'Nothing'", concurrency=0)
