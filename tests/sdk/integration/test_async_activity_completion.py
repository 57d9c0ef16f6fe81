"""Async activity completion against a real dev server: by token from another process, by ids, bad tokens."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path

import grpc
import pytest

from legato import RetryPolicy, activity, workflow
from legato.api.v1 import enums_pb2
from legato.client import AsyncActivityNotFoundError, Client
from legato.exceptions import ActivityError, ApplicationError, RPCError, WorkflowFailureError
from legato.testing import WorkflowEnvironment
from legato.worker import Worker

tokens: dict[str, bytes] = {}
started: dict[str, asyncio.Event] = {}


@activity.defn
async def wait_for_approval(key: str) -> str:
    tokens[key] = activity.info().task_token
    started.setdefault(key, asyncio.Event()).set()
    activity.raise_complete_async()


@workflow.defn
class ApprovalWorkflow:
    @workflow.run
    async def run(self, key: str) -> str:
        return await workflow.execute_activity(
            wait_for_approval,
            key,
            activity_id="approval",
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=RetryPolicy(maximum_attempts=1),
        )


async def _started(key: str) -> None:
    await asyncio.wait_for(started.setdefault(key, asyncio.Event()).wait(), 10)


async def test_completed_by_token_from_a_second_process(
    env: WorkflowEnvironment, client: Client, task_queue: str, workflow_id: str
) -> None:
    async with Worker(
        client, task_queue=task_queue, workflows=[ApprovalWorkflow], activities=[wait_for_approval]
    ):
        handle = await client.start_workflow(
            ApprovalWorkflow.run, workflow_id, id=workflow_id, task_queue=task_queue
        )
        await _started(workflow_id)
        completer = Path(__file__).with_name("async_completer.py")
        process = await asyncio.create_subprocess_exec(
            sys.executable, str(completer), env.address, tokens[workflow_id].hex(), "approved elsewhere"
        )
        assert await asyncio.wait_for(process.wait(), 30) == 0
        assert await handle.result() == "approved elsewhere"
    # The token was used: a second answer is refused with a typed error, and history is unchanged.
    events_before = len((await handle.fetch_history()).events)
    with pytest.raises(AsyncActivityNotFoundError):
        await client.get_async_activity_handle(task_token=tokens[workflow_id]).complete("again")
    assert len((await handle.fetch_history()).events) == events_before


async def test_heartbeat_then_complete_by_workflow_and_activity_id(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with Worker(
        client, task_queue=task_queue, workflows=[ApprovalWorkflow], activities=[wait_for_approval]
    ):
        handle = await client.start_workflow(
            ApprovalWorkflow.run, workflow_id, id=workflow_id, task_queue=task_queue
        )
        await _started(workflow_id)
        by_id = client.get_async_activity_handle(workflow_id=workflow_id, activity_id="approval")
        assert await by_id.heartbeat("halfway") is False
        description = await handle.describe()
        assert description.pending_activities[0].heartbeat_details == ["halfway"]
        await by_id.complete("approved by id")
        assert await handle.result() == "approved by id"


async def test_failed_by_id_reaches_the_workflow(client: Client, task_queue: str, workflow_id: str) -> None:
    async with Worker(
        client, task_queue=task_queue, workflows=[ApprovalWorkflow], activities=[wait_for_approval]
    ):
        handle = await client.start_workflow(
            ApprovalWorkflow.run, workflow_id, id=workflow_id, task_queue=task_queue
        )
        await _started(workflow_id)
        await client.get_async_activity_handle(workflow_id=workflow_id, activity_id="approval").fail(
            ApplicationError("rejected by a human", type="Rejected")
        )
        with pytest.raises(WorkflowFailureError) as caught:
            await handle.result()
    activity_error = caught.value.__cause__
    assert isinstance(activity_error, ActivityError)
    assert isinstance(activity_error.__cause__, ApplicationError)
    assert activity_error.__cause__.type == "Rejected"


async def test_garbage_token_is_invalid_argument(client: Client) -> None:
    with pytest.raises(RPCError) as caught:
        await client.get_async_activity_handle(task_token=b"\xffnot a token").complete("x")
    assert caught.value.status == grpc.StatusCode.INVALID_ARGUMENT
    assert "task token is malformed" in caught.value.details


async def test_unknown_activity_id_is_not_found(client: Client, task_queue: str, workflow_id: str) -> None:
    async with Worker(
        client, task_queue=task_queue, workflows=[ApprovalWorkflow], activities=[wait_for_approval]
    ):
        handle = await client.start_workflow(
            ApprovalWorkflow.run, workflow_id, id=workflow_id, task_queue=task_queue
        )
        await _started(workflow_id)
        with pytest.raises(AsyncActivityNotFoundError) as caught:
            await client.get_async_activity_handle(workflow_id=workflow_id, activity_id="nope").complete("x")
        assert "has no pending activity" in caught.value.details and "'nope'" in caught.value.details
        await client.get_async_activity_handle(task_token=tokens[workflow_id]).complete("done")
        assert await handle.result() == "done"


def test_handle_needs_a_token_or_ids(client: Client) -> None:
    with pytest.raises(ValueError, match="task_token"):
        client.get_async_activity_handle(workflow_id="w")
    with pytest.raises(ValueError, match="not both"):
        client.get_async_activity_handle(task_token=b"t", workflow_id="w", activity_id="a")


@workflow.defn
class CancellableApproval:
    @workflow.run
    async def run(self, key: str) -> str:
        try:
            return await workflow.execute_activity(
                wait_for_approval,
                key,
                activity_id="approval",
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=RetryPolicy(maximum_attempts=1),
                cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            )
        except asyncio.CancelledError:
            return "activity canceled"


async def test_heartbeat_tells_of_a_cancel_request_and_report_cancellation_ends_it(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with Worker(
        client, task_queue=task_queue, workflows=[CancellableApproval], activities=[wait_for_approval]
    ):
        handle = await client.start_workflow(
            CancellableApproval.run, workflow_id, id=workflow_id, task_queue=task_queue
        )
        await _started(workflow_id)
        by_token = client.get_async_activity_handle(task_token=tokens[workflow_id])
        assert await by_token.heartbeat() is False
        await handle.cancel()
        for _ in range(300):  # the cancel request reaches the activity's state through a workflow task
            if await by_token.heartbeat():
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the heartbeat never reported the cancellation request")
        await by_token.report_cancellation("stopped by the approver")
        assert await handle.result() == "activity canceled"
    history = await handle.fetch_history()
    assert any(e.event_type == enums_pb2.EVENT_TYPE_ACTIVITY_TASK_CANCELED for e in history.events)
