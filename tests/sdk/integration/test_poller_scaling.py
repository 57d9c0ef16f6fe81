"""Workflow polls scale up while the server reports a backlog, against the real dev server."""

from __future__ import annotations

import asyncio

import pytest

from legato import workflow
from legato.api.v1 import common_pb2, enums_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato.client import Client
from legato.worker import Worker

STARTED = 12


@workflow.defn
class Quick:
    @workflow.run
    async def run(self, n: int) -> int:
        return n


async def _probe_backlog(client: Client, task_queue: str) -> int:
    """Take one task as a bare poller would and give it back failed (retried at once); the backlog hint."""
    response: ws.PollWorkflowTaskQueueResponse = await client.service.call(
        "PollWorkflowTaskQueue",
        ws.PollWorkflowTaskQueueRequest(
            namespace=client.namespace, task_queue=common_pb2.TaskQueue(name=task_queue), identity="probe"
        ),
        long_poll=True,
    )
    assert response.task_token, "no task came although workflows were started"
    await client.service.call(
        "RespondWorkflowTaskFailed",
        ws.RespondWorkflowTaskFailedRequest(
            task_token=response.task_token,
            cause=enums_pb2.WORKFLOW_TASK_FAILED_CAUSE_UNSPECIFIED,
            failure=common_pb2.Failure(message="probe: handing the task back"),
            identity="probe",
            namespace=client.namespace,
        ),
    )
    return int(response.backlog_count_hint)


async def _with_backlog(client: Client, task_queue: str, workflow_id: str) -> list:  # type: ignore[type-arg]
    handles = [
        await client.start_workflow(Quick.run, n, id=f"{workflow_id}-{n}", task_queue=task_queue)
        for n in range(STARTED)
    ]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    # No worker polls yet: each add waits briefly for a poll, then the server stores it.
    while await _probe_backlog(client, task_queue) < 2:
        assert loop.time() < deadline, "the started workflows' tasks never reached the server's backlog"
        await asyncio.sleep(0.2)
    return handles


@pytest.mark.parametrize(
    ("max_pollers", "lowest_peak", "highest_peak"),
    [pytest.param(4, 2, 4, id="scaling"), pytest.param(1, 1, 1, id="scaling-off")],
)
async def test_polls_grow_while_tasks_wait_in_the_backlog_up_to_the_maximum(
    client: Client, task_queue: str, workflow_id: str, max_pollers: int, lowest_peak: int, highest_peak: int
) -> None:
    handles = await _with_backlog(client, task_queue, workflow_id)
    async with Worker(
        client, task_queue=task_queue, workflows=[Quick], workflow_pollers=1, max_workflow_pollers=max_pollers
    ) as worker:
        assert sorted([await h.result() for h in handles]) == list(range(STARTED))
        stats = worker.workflow_stats
        assert stats is not None and stats.backlogged_tasks >= 1
        normal = worker._workflow_worker.scalers[task_queue]  # type: ignore[union-attr]
        assert lowest_peak <= normal.peak <= highest_peak
