"""Workflow updates against a real dev server: results, rejections, ids, stages, start, crashes, replay."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import grpc
import pytest

from legato import interceptor as icp
from legato import workflow
from legato.api.v1 import common_pb2, enums_pb2, update_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato.client import Client, WorkflowUpdateStage
from legato.converter import default_converter
from legato.exceptions import ApplicationError, NondeterminismError, RPCError, WorkflowUpdateFailedError
from legato.interceptor import Interceptor
from legato.replayer import Replayer
from legato.testing import WorkflowEnvironment
from legato.worker import Worker

from .update_workflows import Cart, reserve

REPO_ROOT = Path(__file__).resolve().parents[3]
E = enums_pb2
ACCEPTED = E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
COMPLETED = E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED


async def event_types(client: Client, workflow_id: str) -> list[int]:
    return [e.event_type async for e in client.get_workflow_handle(workflow_id).fetch_history_events()]


def cart_worker(client: Client, task_queue: str) -> Worker:
    return Worker(client, task_queue=task_queue, workflows=[Cart], activities=[reserve])


async def test_update_runs_an_activity_and_returns_its_result(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with cart_worker(client, task_queue):
        handle = await client.start_workflow(Cart.run, id=workflow_id, task_queue=task_queue)
        receipt = await handle.execute_update(Cart.add_item, "apple")
        assert receipt == "reserved apple"
        await handle.signal(Cart.close)
        assert await handle.result() == ["apple"]
    types = await event_types(client, workflow_id)
    accepted, completed = types.index(ACCEPTED), types.index(COMPLETED)
    # The handler's activity ran between acceptance and completion.
    assert accepted < types.index(E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) < completed
    history = await handle.fetch_history()
    outcome = history.events[completed].workflow_execution_update_completed_event_attributes.outcome
    assert outcome.HasField("success")
    # The recorded history replays with the same code.
    Replayer(workflows=[Cart]).replay_workflow(history)


async def test_validator_rejection_leaves_no_event(client: Client, task_queue: str, workflow_id: str) -> None:
    async with cart_worker(client, task_queue):
        handle = await client.start_workflow(Cart.run, id=workflow_id, task_queue=task_queue)
        await handle.execute_update(Cart.count, 1)  # the workflow has run its first task
        before = await event_types(client, workflow_id)
        with pytest.raises(WorkflowUpdateFailedError) as caught:
            await handle.execute_update(Cart.add_item, "")
        assert caught.value.rejected
        assert isinstance(caught.value.cause, ApplicationError)
        assert caught.value.cause.type == "EmptyItem"
        assert "item must not be empty" in str(caught.value)
        assert await event_types(client, workflow_id) == before
        # The rejected handler never ran.
        assert await handle.query(Cart.adds_so_far) == 1
        await handle.terminate("done")


async def test_same_update_id_twice_gives_one_result_and_one_set_of_events(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with cart_worker(client, task_queue):
        handle = await client.start_workflow(Cart.run, id=workflow_id, task_queue=task_queue)
        first = await handle.execute_update(Cart.count, 5, id="count-once")
        again = await handle.execute_update(Cart.count, 5, id="count-once")
        later = await handle.get_update_handle("count-once", result_type=int).result()
        assert first == again == later == 5
        assert await handle.query(Cart.adds_so_far) == 5
        types = await event_types(client, workflow_id)
        assert types.count(ACCEPTED) == 1 and types.count(COMPLETED) == 1
        # Concurrent requests with one id: still one update.
        results = await asyncio.gather(
            *(handle.execute_update(Cart.count, 1, id="count-race") for _ in range(4))
        )
        assert results == [6, 6, 6, 6]
        types = await event_types(client, workflow_id)
        assert types.count(ACCEPTED) == 2 and types.count(COMPLETED) == 2
        await handle.terminate("done")


async def test_bad_updates_are_rejected_with_a_reason_and_leave_history_alone(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with cart_worker(client, task_queue):
        handle = await client.start_workflow(Cart.run, id=workflow_id, task_queue=task_queue)
        await handle.execute_update(Cart.count, 1)
        before = await event_types(client, workflow_id)
        with pytest.raises(WorkflowUpdateFailedError) as unknown:
            await handle.execute_update("no_such_update", 1)
        assert unknown.value.rejected
        assert "has no update handler 'no_such_update'" in str(unknown.value)
        assert "known updates: add_item, count, fail, ship_to, wait_closed" in str(unknown.value)
        with pytest.raises(WorkflowUpdateFailedError) as undecodable:
            await handle.execute_update("ship_to", "not an address")
        assert undecodable.value.rejected
        assert "do not decode" in str(undecodable.value)
        assert await event_types(client, workflow_id) == before
        # A handler that raises fails the update, not the workflow, and is recorded.
        with pytest.raises(WorkflowUpdateFailedError) as failed:
            await handle.execute_update(Cart.fail, "no thanks")
        assert not failed.value.rejected
        assert isinstance(failed.value.cause, ApplicationError) and failed.value.cause.type == "Refused"
        assert (await event_types(client, workflow_id)).count(COMPLETED) == 2
        assert await handle.execute_update(Cart.count, 1) == 2  # still running and taking updates
        await handle.terminate("done")


async def test_update_to_a_closed_workflow_is_a_clear_error(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with cart_worker(client, task_queue):
        handle = await client.start_workflow(Cart.run, id=workflow_id, task_queue=task_queue)
        assert await handle.execute_update(Cart.count, 3, id="before-close") == 3
        await handle.signal(Cart.close)
        await handle.result()
    with pytest.raises(RPCError) as caught:
        await handle.execute_update(Cart.count, 1)
    assert caught.value.status == grpc.StatusCode.FAILED_PRECONDITION
    assert "already closed (COMPLETED)" in str(caught.value)
    # An id used while it ran still answers with its outcome.
    assert await handle.execute_update(Cart.count, 3, id="before-close") == 3


async def test_start_update_returns_once_accepted_and_result_waits(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with cart_worker(client, task_queue):
        handle = await client.start_workflow(Cart.run, id=workflow_id, task_queue=task_queue)
        update = await handle.start_update(Cart.wait_closed, id="wait-1")
        assert update.id == "wait-1"
        assert (await event_types(client, workflow_id)).count(ACCEPTED) == 1
        result = asyncio.ensure_future(update.result())
        await asyncio.sleep(0)  # the handler waits for the signal; the result cannot be there yet
        assert not result.done()
        await handle.signal(Cart.close)
        assert await asyncio.wait_for(result, 30) == 0
        completed = await handle.start_update(
            Cart.wait_closed, id="wait-1", wait_for_stage=WorkflowUpdateStage.COMPLETED
        )
        assert await completed.result() == 0
        assert await handle.result() == []


async def test_update_with_start_starts_once_then_updates_the_running_workflow(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with cart_worker(client, task_queue):
        handle, update = await client.start_update_with_start(
            Cart.count, 2, start_workflow=Cart.run, id=workflow_id, task_queue=task_queue
        )
        assert handle.started_run_id is not None
        assert await update.result() == 2
        second = await client.execute_update_with_start(
            Cart.count, 3, start_workflow=Cart.run, id=workflow_id, task_queue=task_queue
        )
        assert second == 5
        types = await event_types(client, workflow_id)
        assert types.count(E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED) == 1
        assert types.count(COMPLETED) == 2
        await handle.signal(Cart.close)
        assert await handle.result() == []


async def test_update_in_flight_when_the_worker_is_killed_completes_on_another_worker(
    env: WorkflowEnvironment, client: Client, task_queue: str, workflow_id: str
) -> None:
    process = subprocess.Popen(  # noqa: ASYNC220 - started once, never awaited on
        [sys.executable, "-m", "tests.sdk.integration.update_workflows", env.address, task_queue],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        handle = await client.start_workflow(Cart.run, id=workflow_id, task_queue=task_queue)
        update = await handle.start_update(Cart.add_item, "pear", id="add-pear")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        # Kill once the handler's activity started on the doomed worker.
        while True:
            pending = (await handle.describe()).pending_activities
            if any(a.last_started_time for a in pending):
                break
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            assert loop.time() < deadline, f"the update's activity never started: {pending}"
            await asyncio.sleep(0.1)
        process.send_signal(signal.SIGKILL)
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    async with cart_worker(client, task_queue) as worker:
        assert await asyncio.wait_for(update.result(), 60) == "reserved pear"
        await handle.signal(Cart.close)
        assert await asyncio.wait_for(handle.result(), 30) == ["pear"]
        assert worker.workflow_stats is not None and worker.workflow_stats.full_replays >= 1
    types = await event_types(client, workflow_id)
    assert types.count(ACCEPTED) == 1 and types.count(COMPLETED) == 1


@workflow.defn(name="Cart")
class CartWithoutActivity(Cart):
    """Cart whose add_item no longer runs the activity: an incompatible change."""

    @workflow.update
    async def add_item(self, item: str) -> str:
        self.items.append(item)
        return f"reserved {item}"


@workflow.defn(name="Cart")
class CartWithoutAddItem:
    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: False)
        return []


async def test_replay_detects_changed_and_removed_update_handlers(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with cart_worker(client, task_queue):
        handle = await client.start_workflow(Cart.run, id=workflow_id, task_queue=task_queue)
        await handle.execute_update(Cart.add_item, "plum")
        await handle.signal(Cart.close)
        await handle.result()
    history = await handle.fetch_history()
    Replayer(workflows=[Cart]).replay_workflow(history)
    with pytest.raises(
        NondeterminismError, match="history has ActivityTaskScheduled.*issued CompleteWorkflowUpdate"
    ):
        Replayer(workflows=[CartWithoutActivity]).replay_workflow(history)
    with pytest.raises(NondeterminismError, match="has no update handler 'add_item'"):
        Replayer(workflows=[CartWithoutAddItem]).replay_workflow(history)


async def test_an_accepted_update_whose_workflow_closes_first_gets_a_clear_error(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with cart_worker(client, task_queue):
        handle = await client.start_workflow(Cart.run, id=workflow_id, task_queue=task_queue)
        waiting = await handle.start_update(Cart.wait_closed, id="never-done")
        await handle.terminate("stock take")
        with pytest.raises(RPCError) as caught:
            await waiting.result()
    assert caught.value.status == grpc.StatusCode.FAILED_PRECONDITION
    assert "closed (TERMINATED) before update 'never-done' completed" in str(caught.value)


async def test_malformed_update_requests_are_refused_by_the_frontend(
    client: Client, task_queue: str, workflow_id: str
) -> None:
    async with cart_worker(client, task_queue):
        handle = await client.start_workflow(Cart.run, id=workflow_id, task_queue=task_queue)
        await handle.execute_update(Cart.count, 1)
        before = await event_types(client, workflow_id)
        execution = common_pb2.WorkflowExecution(workflow_id=workflow_id)

        async def refused(rpc: str, request: object) -> str:
            with pytest.raises(RPCError) as caught:
                await client.service.call(rpc, request, retry=False)
            assert caught.value.status == grpc.StatusCode.INVALID_ARGUMENT, caught.value
            return str(caught.value)

        update = ws.UpdateWorkflowExecutionRequest
        assert "update.name" in await refused(
            "UpdateWorkflowExecution",
            update(namespace=client.namespace, workflow_execution=execution, update=update_pb2.UpdateInput()),
        )
        assert "update.update_id" in await refused(
            "UpdateWorkflowExecution",
            update(
                namespace=client.namespace,
                workflow_execution=execution,
                update=update_pb2.UpdateInput(name="count", update_id="x" * 300),
            ),
        )
        assert "validate_update is set only by the server" in await refused(
            "QueryWorkflow",
            ws.QueryWorkflowRequest(
                namespace=client.namespace,
                execution=execution,
                query=ws.WorkflowQuery(query_type="x", validate_update=update_pb2.UpdateInput(name="count")),
            ),
        )
        assert "update_id" in await refused(
            "PollWorkflowExecutionUpdate",
            ws.PollWorkflowExecutionUpdateRequest(namespace=client.namespace, workflow_execution=execution),
        )
        with pytest.raises(RPCError) as unknown:
            await handle.get_update_handle("no-such-update").result()
        assert unknown.value.status == grpc.StatusCode.NOT_FOUND
        assert "has no update with id 'no-such-update'" in str(unknown.value)
        assert await event_types(client, workflow_id) == before
        await handle.terminate("done")


class _Recorder(Interceptor):
    """Puts a header on every update the client sends and notes what the workflow side saw."""

    seen: ClassVar[list[tuple[str, str, str]]] = []

    def intercept_client(self, next: icp.ClientOutboundInterceptor) -> icp.ClientOutboundInterceptor:
        class Outbound(icp.ClientOutboundInterceptor):
            async def start_workflow_update(self, input: icp.StartWorkflowUpdateInput) -> Any:
                input.headers["tenant"] = default_converter.payload_converter.to_payload("acme")
                return await self.next.start_workflow_update(input)

        return Outbound(next)

    def workflow_interceptor_class(self) -> type[icp.WorkflowInboundInterceptor]:
        class Inbound(icp.WorkflowInboundInterceptor):
            def _note(self, stage: str, input: icp.HandleUpdateInput) -> None:
                tenant = default_converter.payload_converter.from_payload(input.headers["tenant"])
                _Recorder.seen.append((stage, input.update_name, tenant))

            def handle_update_validator(self, input: icp.HandleUpdateInput) -> None:
                self._note("validator", input)  # validators never run on replay
                super().handle_update_validator(input)

            async def handle_update_handler(self, input: icp.HandleUpdateInput) -> Any:
                if not workflow.unsafe.is_replaying():
                    self._note("handler", input)
                return await super().handle_update_handler(input)

        return Inbound


async def test_updates_pass_through_client_and_workflow_interceptors(
    env: WorkflowEnvironment, task_queue: str, workflow_id: str
) -> None:
    client = await Client.connect(env.address, interceptors=[_Recorder()])
    try:
        async with cart_worker(client, task_queue):
            handle = await client.start_workflow(Cart.run, id=workflow_id, task_queue=task_queue)
            assert await handle.execute_update(Cart.count, 4) == 4
            with pytest.raises(WorkflowUpdateFailedError):
                await handle.execute_update(Cart.add_item, "")
            await handle.terminate("done")
    finally:
        await client.close()
    assert _Recorder.seen == [
        ("validator", "count", "acme"),
        ("handler", "count", "acme"),
        ("validator", "add_item", "acme"),
    ]
