"""Query dispatch and GetWorkflowExecutionHistory paging and long-poll."""

from __future__ import annotations

import asyncio

import pytest

from legato.api.v1 import common_pb2, enums_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato_server.common.errors import FailedPrecondition
from legato_server.history.workflow.events import duration
from legato_server.internal.v1 import history_service_pb2 as hsvc
from tests.server.history import commands as cmd
from tests.server.history.conftest import NS, NS_ID, Harness


def _query(workflow_id: str = "wf") -> hsvc.QueryWorkflowRequest:
    return hsvc.QueryWorkflowRequest(
        namespace_id=NS_ID,
        request=ws.QueryWorkflowRequest(
            namespace=NS,
            execution=common_pb2.WorkflowExecution(workflow_id=workflow_id),
            query=ws.WorkflowQuery(query_type="status"),
        ),
    )


async def test_query_before_first_task_fails_when_no_worker_comes(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("legato_server.history.operations.query.FIRST_TASK_WAIT_S", 0.05)
    await harness.start("wf")
    with pytest.raises(FailedPrecondition, match="first workflow task"):
        await harness.handler.QueryWorkflow(_query())
    assert harness.matching.queries == []


async def test_query_before_first_task_waits_for_it(harness: Harness) -> None:
    harness.matching.query_result = ws.QueryWorkflowResponse(
        query_result=common_pb2.Payloads(payloads=[common_pb2.Payload(data=b"ready")])
    )
    await harness.start("wf")
    query = asyncio.ensure_future(harness.handler.QueryWorkflow(_query()))
    task = await harness.poll_workflow_task("wf")
    assert not query.done()  # still waiting for the first workflow task
    await harness.complete_workflow_task(task, cmd.start_timer())
    response = await asyncio.wait_for(query, 5)
    assert response.query_result.payloads[0].data == b"ready"


async def test_query_goes_to_normal_queue_with_history_to_last_started(harness: Harness) -> None:
    harness.matching.query_result = ws.QueryWorkflowResponse(
        query_result=common_pb2.Payloads(payloads=[common_pb2.Payload(data=b"waiting")])
    )
    await harness.start("wf")
    task = await harness.poll_workflow_task("wf")
    await harness.complete_workflow_task(task, cmd.start_timer())
    response = await harness.handler.QueryWorkflow(_query())
    assert response.query_result.payloads[0].data == b"waiting"
    sent = harness.matching.queries[-1]
    assert sent.task_queue.name == "tq"
    assert sent.task.workflow_type.name == "MyWorkflow"
    assert [e.event_id for e in sent.task.history.events] == [1, 2, 3, 4]  # through WorkflowTaskCompleted
    assert sent.query_request.query.query_type == "status"


async def test_query_prefers_sticky_and_falls_back(harness: Harness) -> None:
    await harness.start("wf")
    task = await harness.poll_workflow_task("wf")
    sticky = ws.StickyExecutionAttributes(
        worker_task_queue=common_pb2.TaskQueue(name="s1"), schedule_to_start_timeout=duration(5)
    )
    await harness.complete_workflow_task(task, sticky_attributes=sticky)
    harness.matching.sticky_unanswered = True
    await harness.handler.QueryWorkflow(_query())
    assert [q.task_queue.name for q in harness.matching.queries] == ["s1", "tq"]


def _history_request(workflow_id: str = "wf", **fields) -> hsvc.GetWorkflowExecutionHistoryRequest:  # type: ignore[no-untyped-def]
    timeout = fields.pop("timeout", None)
    request = hsvc.GetWorkflowExecutionHistoryRequest(
        namespace_id=NS_ID,
        request=ws.GetWorkflowExecutionHistoryRequest(
            namespace=NS, execution=common_pb2.WorkflowExecution(workflow_id=workflow_id), **fields
        ),
    )
    if timeout is not None:
        request.long_poll_timeout.CopyFrom(duration(timeout))
    return request


async def test_history_is_paged(harness: Harness) -> None:
    await harness.start("wf")
    for _ in range(3):
        task = await harness.poll_workflow_task("wf")
        await harness.complete_workflow_task(task, cmd.record_marker())
        await harness.signal("wf")
    seen = []
    token = b""
    while True:
        page = await harness.handler.GetWorkflowExecutionHistory(
            _history_request(maximum_page_size=2, next_page_token=token)
        )
        seen.extend(e.event_id for e in page.history.events)
        token = page.next_page_token
        if not token:
            break
    assert seen == list(range(1, len(seen) + 1))
    assert len(seen) == len(await harness.history("wf"))


async def test_long_poll_for_close_event_returns_when_the_run_closes(harness: Harness) -> None:
    await harness.start("wf")
    waiter = asyncio.ensure_future(
        harness.handler.GetWorkflowExecutionHistory(
            _history_request(
                wait_new_event=True, history_event_filter_type=enums_pb2.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT
            )
        )
    )
    task = await harness.poll_workflow_task("wf")
    await asyncio.sleep(0)
    assert not waiter.done()
    await harness.complete_workflow_task(task, cmd.complete(b"answer"))
    response = await asyncio.wait_for(waiter, 2)
    [close] = response.history.events
    assert close.workflow_execution_completed_event_attributes.result.payloads[0].data == b"answer"


async def test_long_poll_times_out_with_a_token_to_continue(harness: Harness) -> None:
    await harness.start("wf")
    first = await harness.handler.GetWorkflowExecutionHistory(_history_request(wait_new_event=True))
    assert len(first.history.events) == 2 and first.next_page_token
    empty = await harness.handler.GetWorkflowExecutionHistory(
        _history_request(wait_new_event=True, next_page_token=first.next_page_token, timeout=0.05)
    )
    assert not empty.history.events and empty.next_page_token
    waiter = asyncio.ensure_future(
        harness.handler.GetWorkflowExecutionHistory(
            _history_request(wait_new_event=True, next_page_token=empty.next_page_token, timeout=5)
        )
    )
    await harness.poll_workflow_task("wf")
    response = await asyncio.wait_for(waiter, 2)
    assert [e.event_id for e in response.history.events] == [3]
