"""Search attributes end to end on the dev server: register, set at start, upsert, list/count by query.

Visibility is written by the history's transfer queue after each change, so
the tests wait (with a deadline) for a listing to show the change.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

import pytest
import pytest_asyncio

from legato import workflow
from legato.api.v1 import enums_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato.client import Client
from legato.exceptions import RPCError
from legato.worker import Worker

T = TypeVar("T")
ATTRIBUTES = {
    "IssueCustomerId": enums_pb2.INDEXED_VALUE_TYPE_KEYWORD,
    "IssueStage": enums_pb2.INDEXED_VALUE_TYPE_KEYWORD,
    "IssueAmount": enums_pb2.INDEXED_VALUE_TYPE_DOUBLE,
    "IssueTags": enums_pb2.INDEXED_VALUE_TYPE_KEYWORD_LIST,
    "IssueDue": enums_pb2.INDEXED_VALUE_TYPE_DATETIME,
}


@workflow.defn
class StagedOrder:
    @workflow.run
    async def run(self, stage: str) -> str:
        workflow.upsert_search_attributes({"IssueStage": stage, "IssueTags": ["packed", stage]})
        return str(workflow.info().search_attributes["IssueStage"])


@workflow.defn
class UpsertsUnregistered:
    @workflow.run
    async def run(self) -> None:
        workflow.upsert_search_attributes({"IssueNeverRegistered": "x"})


async def _eventually(
    probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], *, within: float = 15.0
) -> T:
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if done(value) or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.1)


@pytest_asyncio.fixture(loop_scope="session")
async def registered(client: Client) -> None:
    await client.service.call(
        "UpdateNamespace",
        ws.UpdateNamespaceRequest(namespace=client.namespace, add_search_attributes=ATTRIBUTES),
    )


async def test_attributes_set_at_start_and_upserted_are_listed_counted_and_described(
    client: Client, registered: None, task_queue: str, workflow_id: str
) -> None:
    customer = f"c-{workflow_id[-8:]}"
    async with Worker(client, task_queue=task_queue, workflows=[StagedOrder]):
        handle = await client.start_workflow(
            StagedOrder.run,
            "shipped",
            id=workflow_id,
            task_queue=task_queue,
            search_attributes={
                "IssueCustomerId": customer,
                "IssueAmount": 42.5,
                "IssueDue": datetime(2026, 3, 1, tzinfo=UTC).isoformat(),
            },
        )
        assert await handle.result() == "shipped"

    query = (
        f"IssueCustomerId = '{customer}' AND IssueStage = 'shipped' AND IssueTags = 'packed' "
        "AND IssueAmount BETWEEN 40 AND 50 AND IssueDue > '2026-01-01T00:00:00Z' AND ExecutionStatus = 'Completed'"
    )

    async def listed() -> list[str]:
        return [e.id async for e in client.list_workflows(query=query)]

    assert await _eventually(listed, lambda ids: ids == [workflow_id]) == [workflow_id]
    assert await client.count_workflows(query=query) == 1
    assert (
        await client.count_workflows(query=f"IssueCustomerId = '{customer}' AND IssueStage = 'packed'") == 0
    )
    described = await handle.describe()
    assert described.search_attributes["IssueStage"] == "shipped"
    assert described.search_attributes["IssueCustomerId"] == customer


async def test_unregistered_or_mistyped_attribute_refuses_the_start(
    client: Client, registered: None, task_queue: str, workflow_id: str
) -> None:
    with pytest.raises(RPCError, match="'NotRegistered15' is not registered") as unknown:
        await client.start_workflow("StagedOrder", "x", id=workflow_id, task_queue=task_queue,
                                    search_attributes={"NotRegistered15": "x"})  # fmt: skip
    with pytest.raises(RPCError, match=r"'IssueAmount' \(Double\): expected a number") as mistyped:
        await client.start_workflow("StagedOrder", "x", id=workflow_id, task_queue=task_queue,
                                    search_attributes={"IssueAmount": "lots"})  # fmt: skip

    for raised in (unknown, mistyped):
        assert raised.value.status.name == "INVALID_ARGUMENT"
    assert await client.count_workflows(workflow_id=workflow_id) == 0


async def test_a_malformed_query_is_invalid_argument_naming_the_position(
    client: Client, registered: None
) -> None:
    with pytest.raises(RPCError) as raised:
        [e async for e in client.list_workflows(query="IssueStage = 'a' AND AND")]

    assert raised.value.status.name == "INVALID_ARGUMENT"
    assert "unexpected 'AND' at position 22" in raised.value.details
    with pytest.raises(RPCError, match="does not fit IssueAmount"):
        await client.count_workflows(query="IssueAmount > 'many'")


async def test_an_upsert_of_an_unregistered_attribute_fails_the_workflow_task_naming_it(
    client: Client, registered: None, task_queue: str, workflow_id: str
) -> None:
    async with Worker(client, task_queue=task_queue, workflows=[UpsertsUnregistered]):
        handle = await client.start_workflow(UpsertsUnregistered.run, id=workflow_id, task_queue=task_queue)

        history = await _eventually(
            handle.fetch_history,
            lambda h: any(e.event_type == enums_pb2.EVENT_TYPE_WORKFLOW_TASK_FAILED for e in h.events),
        )
    failed = [e for e in history.events if e.event_type == enums_pb2.EVENT_TYPE_WORKFLOW_TASK_FAILED]
    assert failed, "the workflow task never failed"
    attributes = failed[0].workflow_task_failed_event_attributes
    assert attributes.cause == enums_pb2.WORKFLOW_TASK_FAILED_CAUSE_BAD_COMMAND
    assert "IssueNeverRegistered" in attributes.failure.message
    assert not [
        e for e in history.events if e.event_type == enums_pb2.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
    ]
    described = await handle.describe()
    assert "IssueNeverRegistered" not in described.search_attributes
    await handle.terminate("test over")
