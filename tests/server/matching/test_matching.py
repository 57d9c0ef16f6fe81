"""Matching: sync match, backlog, stale tasks, fairness, sticky queues, expiry, queries."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from google.protobuf import duration_pb2

from legato.api.v1 import common_pb2, enums_pb2, workflow_service_pb2
from legato_server.common import deadline, errors
from legato_server.internal.v1 import matching_service_pb2, tokens_pb2
from legato_server.matching import MatchingConfig, MatchingHandler, backlog
from legato_server.persistence.interface import Persistence, TransientError
from tests.server.matching.conftest import Clock
from tests.server.matching.fake_history import FakeHistory

NS = "ns-1"
QUEUE = "orders"
WORKFLOW = enums_pb2.TASK_QUEUE_TYPE_WORKFLOW
ACTIVITY = enums_pb2.TASK_QUEUE_TYPE_ACTIVITY


def add_workflow_task(
    workflow_id: str, *, queue: str = QUEUE, sticky: bool = False, schedule_to_start_s: int = 0
) -> matching_service_pb2.AddWorkflowTaskRequest:
    request = matching_service_pb2.AddWorkflowTaskRequest(
        namespace_id=NS,
        execution=common_pb2.WorkflowExecution(workflow_id=workflow_id, run_id="run"),
        task_queue=common_pb2.TaskQueue(
            name=queue,
            kind=enums_pb2.TASK_QUEUE_KIND_STICKY if sticky else enums_pb2.TASK_QUEUE_KIND_NORMAL,
            normal_name=QUEUE if sticky else "",
        ),
        scheduled_event_id=2,
    )
    if schedule_to_start_s:
        request.schedule_to_start_timeout.CopyFrom(duration_pb2.Duration(seconds=schedule_to_start_s))
    return request


def poll_workflow(queue: str = QUEUE) -> matching_service_pb2.PollWorkflowTaskQueueRequest:
    return matching_service_pb2.PollWorkflowTaskQueueRequest(
        namespace_id=NS,
        poller_id="poller",
        poll_request=workflow_service_pb2.PollWorkflowTaskQueueRequest(
            namespace="default", task_queue=common_pb2.TaskQueue(name=queue), identity="worker-1"
        ),
    )


async def persisted(persistence: Persistence, *, queue: str = QUEUE, task_type: int = WORKFLOW) -> int:
    rows = await persistence.task_queues.get_tasks(
        namespace_id=NS,
        name=queue,
        task_type=task_type,
        exclusive_min_task_id=0,
        inclusive_max_task_id=1 << 62,
        batch_size=1000,
    )
    return len(rows)


async def until(condition, *, timeout_s: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    """Wait for ``condition()`` to hold, yielding to the loop; fail after ``timeout_s``."""
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110 - the state is plain attributes; yield until it holds
            await asyncio.sleep(0)


async def waiting_poller(matching: MatchingHandler, queue: str = QUEUE) -> asyncio.Task:  # type: ignore[type-arg]
    """Start a workflow poll and return once it is parked waiting for a task."""
    poll = asyncio.create_task(matching.PollWorkflowTaskQueue(poll_workflow(queue)))
    await until(lambda: _waiting(matching, queue) >= 1 or poll.done())
    return poll


def _waiting(matching: MatchingHandler, queue: str) -> int:
    from legato_server.matching.backlog import TaskQueueKey

    task_queue = matching._queues.get(TaskQueueKey(NS, queue, WORKFLOW))
    return task_queue.matcher.waiting_pollers if task_queue else 0


async def test_sync_match_hands_the_task_to_the_waiting_poller_without_writing_it(
    matching: MatchingHandler, persistence: Persistence
) -> None:
    poll = await waiting_poller(matching)
    await matching.AddWorkflowTask(add_workflow_task("wf-1"))
    response = await poll
    assert response.task_token == b"token/wf-1"
    assert response.workflow_execution.workflow_id == "wf-1"
    assert await persisted(persistence) == 0


async def test_a_task_with_no_poller_is_persisted_and_served_to_the_next_poll(
    matching: MatchingHandler, persistence: Persistence
) -> None:
    await matching.AddWorkflowTask(add_workflow_task("wf-backlog"))
    assert await persisted(persistence) == 1
    assert matching.backlog_count(namespace_id=NS, name=QUEUE, task_type=WORKFLOW) == 1
    response = await matching.PollWorkflowTaskQueue(poll_workflow())
    assert response.workflow_execution.workflow_id == "wf-backlog"
    assert response.backlog_count_hint == 0
    assert await persisted(persistence) == 0


async def test_backlog_is_served_in_arrival_order_and_survives_a_restart(
    persistence: Persistence, history: FakeHistory, clock: Clock
) -> None:
    first = MatchingHandler(task_queues=persistence.task_queues, history=history, now_ms=clock)
    for n in range(5):
        await first.AddWorkflowTask(add_workflow_task(f"wf-{n}"))
    await first.stop()

    second = MatchingHandler(task_queues=persistence.task_queues, history=history, now_ms=clock)
    try:
        served = [
            (await second.PollWorkflowTaskQueue(poll_workflow())).workflow_execution.workflow_id
            for _ in range(5)
        ]
    finally:
        await second.stop()
    assert served == [f"wf-{n}" for n in range(5)]
    assert await persisted(persistence) == 0


async def test_concurrent_adds_without_pollers_are_all_persisted_and_all_served(
    matching: MatchingHandler, persistence: Persistence
) -> None:
    await asyncio.gather(*(matching.AddActivityTask(_activity(f"wf-{n}")) for n in range(50)))
    assert await persisted(persistence, task_type=ACTIVITY) == 50
    served = set()
    for _ in range(50):
        response = await matching.PollActivityTaskQueue(_poll_activity())
        served.add(response.workflow_execution.workflow_id)
    assert served == {f"wf-{n}" for n in range(50)}


async def test_poll_returns_empty_after_the_poll_timeout(
    persistence: Persistence, history: FakeHistory
) -> None:
    handler = MatchingHandler(
        task_queues=persistence.task_queues,
        config=MatchingConfig(poll_timeout=timedelta(milliseconds=50)),
        history=history,
    )
    try:
        response = await handler.PollWorkflowTaskQueue(poll_workflow())
        activity = await handler.PollActivityTaskQueue(_poll_activity())
    finally:
        await handler.stop()
    assert response == workflow_service_pb2.PollWorkflowTaskQueueResponse()
    assert activity == workflow_service_pb2.PollActivityTaskQueueResponse()


async def test_poll_ends_before_the_callers_deadline(matching: MatchingHandler) -> None:
    token = deadline.set_call_timeout(1.2)  # margin 1s: the poll may wait ~0.2s
    try:
        started = asyncio.get_running_loop().time()
        response = await matching.PollWorkflowTaskQueue(poll_workflow())
        elapsed = asyncio.get_running_loop().time() - started
    finally:
        deadline.call_deadline.reset(token)
    assert not response.task_token
    assert elapsed < 1.0


async def test_stale_tasks_are_dropped_and_the_poller_gets_the_next_one(
    matching: MatchingHandler, persistence: Persistence, history: FakeHistory
) -> None:
    history.stale.add("wf-closed")
    await matching.AddWorkflowTask(add_workflow_task("wf-closed"))
    await matching.AddWorkflowTask(add_workflow_task("wf-live"))
    response = await matching.PollWorkflowTaskQueue(poll_workflow())
    assert response.workflow_execution.workflow_id == "wf-live"
    assert await persisted(persistence) == 0


async def test_pollers_are_served_first_come_first_served(matching: MatchingHandler) -> None:
    first = await waiting_poller(matching)
    second = asyncio.create_task(matching.PollWorkflowTaskQueue(poll_workflow()))
    await until(lambda: _waiting(matching, QUEUE) == 2)
    await matching.AddWorkflowTask(add_workflow_task("wf-a"))
    await matching.AddWorkflowTask(add_workflow_task("wf-b"))
    assert (await first).workflow_execution.workflow_id == "wf-a"
    assert (await second).workflow_execution.workflow_id == "wf-b"


async def test_a_task_handed_to_a_poller_that_went_away_is_served_again(
    matching: MatchingHandler, persistence: Persistence
) -> None:
    poll = await waiting_poller(matching)
    add = asyncio.create_task(matching.AddWorkflowTask(add_workflow_task("wf-orphan")))
    await asyncio.sleep(0)  # handed over...
    poll.cancel()  # ...but the poller is gone before it ran
    with pytest.raises(asyncio.CancelledError):
        await poll
    await add  # answered once the task is safe again (persisted), not when it was handed over
    response = await matching.PollWorkflowTaskQueue(poll_workflow())
    assert response.workflow_execution.workflow_id == "wf-orphan"


async def test_a_sync_matched_task_is_answered_only_once_the_poller_recorded_it(
    matching: MatchingHandler, history: FakeHistory
) -> None:
    history.gate = asyncio.Event()
    poll = await waiting_poller(matching)
    add = asyncio.create_task(matching.AddWorkflowTask(add_workflow_task("wf-sync")))
    await history.entered.wait()  # the poller is recording the start with history
    assert not add.done()  # a crash of matching now fails history's call: history dispatches again
    history.gate.set()
    await add
    assert (await poll).workflow_execution.workflow_id == "wf-sync"


async def test_a_poller_cancelled_while_history_records_the_start_does_not_lose_a_failed_task(
    matching: MatchingHandler, history: FakeHistory
) -> None:
    history.gate = asyncio.Event()
    await matching.AddWorkflowTask(add_workflow_task("wf-slow"))
    poll = asyncio.create_task(matching.PollWorkflowTaskQueue(poll_workflow()))
    await history.entered.wait()
    poll.cancel()
    history.gate.set()
    with pytest.raises(asyncio.CancelledError):
        await poll
    # History recorded the start: the task is consumed, not served twice.
    assert history.started == ["wf-slow"]
    history.gate = None
    empty = MatchingConfig(poll_timeout=timedelta(milliseconds=50))
    matching._config = empty
    assert not (await matching.PollWorkflowTaskQueue(poll_workflow())).task_token


async def test_sticky_queue_without_recent_poller_is_rejected_so_history_can_fall_back(
    matching: MatchingHandler,
) -> None:
    with pytest.raises(errors.FailedPrecondition, match="sticky worker unavailable"):
        await matching.AddWorkflowTask(add_workflow_task("wf-1", queue="worker-1-sticky", sticky=True))
    poll = await waiting_poller(matching, "worker-1-sticky")
    await matching.AddWorkflowTask(add_workflow_task("wf-1", queue="worker-1-sticky", sticky=True))
    assert (await poll).workflow_execution.workflow_id == "wf-1"


async def test_sticky_queries_fail_fast_without_a_poller_and_leave_time_for_the_fallback(
    matching: MatchingHandler,
) -> None:
    sticky = common_pb2.TaskQueue(
        name="worker-1-sticky", kind=enums_pb2.TASK_QUEUE_KIND_STICKY, normal_name=QUEUE
    )
    request = _query_request()
    request.task_queue.CopyFrom(sticky)
    with pytest.raises(errors.Unavailable, match="sticky worker unavailable"):
        await matching.QueryWorkflow(request)
    poll = await waiting_poller(matching, "worker-1-sticky")
    token = deadline.set_call_timeout(1.0)
    try:
        started = asyncio.get_running_loop().time()
        with pytest.raises(errors.DeadlineExceeded):
            query = asyncio.create_task(matching.QueryWorkflow(request))
            task = await poll  # the sticky worker takes it but never answers
            assert task.query.query_type == "status"
            await query
        assert asyncio.get_running_loop().time() - started < 0.6
    finally:
        deadline.call_deadline.reset(token)


async def test_expired_backlog_tasks_are_dropped(
    persistence: Persistence, history: FakeHistory, clock: Clock
) -> None:
    handler = MatchingHandler(
        task_queues=persistence.task_queues,
        config=MatchingConfig(poll_timeout=timedelta(milliseconds=100)),
        history=history,
        now_ms=clock,
    )
    try:
        await handler.AddWorkflowTask(add_workflow_task("wf-expiring", schedule_to_start_s=5))
        await handler.AddWorkflowTask(add_workflow_task("wf-fresh"))
        clock.now_ms += 6_000
        response = await handler.PollWorkflowTaskQueue(poll_workflow())
        assert response.workflow_execution.workflow_id == "wf-fresh"
        assert history.started == ["wf-fresh"]
        await until(lambda: handler.backlog_count(namespace_id=NS, name=QUEUE, task_type=WORKFLOW) == 0)
    finally:
        await handler.stop()
    assert await persisted(persistence) == 0


async def test_query_is_handed_to_a_poller_and_answered(matching: MatchingHandler) -> None:
    query = asyncio.create_task(matching.QueryWorkflow(_query_request()))
    task = await matching.PollWorkflowTaskQueue(poll_workflow())
    assert task.query.query_type == "status"
    assert task.workflow_type.name == "Checkout"
    token = tokens_pb2.QueryTaskToken.FromString(task.task_token)
    assert (token.namespace_id, token.task_queue) == (NS, QUEUE)
    await matching.RespondQueryTaskCompleted(_answer(token, "approved"))
    response = await query
    assert response.query_result.payloads[0].data == b'"approved"'


async def test_a_failed_query_is_invalid_argument_with_the_workers_message(matching: MatchingHandler) -> None:
    query = asyncio.create_task(matching.QueryWorkflow(_query_request()))
    task = await matching.PollWorkflowTaskQueue(poll_workflow())
    token = tokens_pb2.QueryTaskToken.FromString(task.task_token)
    failed = _answer(token, "")
    failed.completed_request.completed_type = enums_pb2.QUERY_RESULT_TYPE_FAILED
    failed.completed_request.error_message = "unknown query type 'status'"
    await matching.RespondQueryTaskCompleted(failed)
    with pytest.raises(errors.InvalidArgument, match="query failed: unknown query type 'status'"):
        await query


async def test_a_long_query_failure_message_is_cut_to_fit_a_grpc_status(matching: MatchingHandler) -> None:
    query = asyncio.create_task(matching.QueryWorkflow(_query_request()))
    task = await matching.PollWorkflowTaskQueue(poll_workflow())
    token = tokens_pb2.QueryTaskToken.FromString(task.task_token)
    failed = _answer(token, "")
    failed.completed_request.completed_type = enums_pb2.QUERY_RESULT_TYPE_FAILED
    failed.completed_request.error_message = "\U0001d11e" * 64_000  # 256 KB of UTF-8
    await matching.RespondQueryTaskCompleted(failed)
    with pytest.raises(errors.InvalidArgument) as caught:
        await query
    assert caught.value.message.startswith("query failed: \U0001d11e")
    assert caught.value.message.endswith("... (64000 chars)")
    assert len(caught.value.message) < 600


async def test_an_unanswered_query_times_out_with_deadline_exceeded(matching: MatchingHandler) -> None:
    token = deadline.set_call_timeout(0.3)
    try:
        with pytest.raises(errors.DeadlineExceeded, match=r"no worker answered the query within 0\.\d+s"):
            await matching.QueryWorkflow(_query_request())
    finally:
        deadline.call_deadline.reset(token)
    with pytest.raises(errors.NotFound):
        await matching.RespondQueryTaskCompleted(
            matching_service_pb2.RespondQueryTaskCompletedRequest(
                namespace_id=NS, task_queue=QUEUE, query_id="gone"
            )
        )


async def test_history_errors_other_than_stale_reach_the_poller_and_keep_the_task(
    matching: MatchingHandler, history: FakeHistory
) -> None:
    async def unavailable(request):  # type: ignore[no-untyped-def]
        raise errors.Unavailable("shard moving")

    original = history.RecordWorkflowTaskStarted
    history.RecordWorkflowTaskStarted = unavailable  # type: ignore[method-assign]
    await matching.AddWorkflowTask(add_workflow_task("wf-retry"))
    with pytest.raises(errors.Unavailable):
        await matching.PollWorkflowTaskQueue(poll_workflow())
    history.RecordWorkflowTaskStarted = original  # type: ignore[method-assign]
    response = await matching.PollWorkflowTaskQueue(poll_workflow())
    assert response.workflow_execution.workflow_id == "wf-retry"


def _activity(workflow_id: str) -> matching_service_pb2.AddActivityTaskRequest:
    return matching_service_pb2.AddActivityTaskRequest(
        namespace_id=NS,
        execution=common_pb2.WorkflowExecution(workflow_id=workflow_id, run_id="run"),
        task_queue=common_pb2.TaskQueue(name=QUEUE),
        scheduled_event_id=5,
    )


def _poll_activity() -> matching_service_pb2.PollActivityTaskQueueRequest:
    return matching_service_pb2.PollActivityTaskQueueRequest(
        namespace_id=NS,
        poller_id="poller",
        poll_request=workflow_service_pb2.PollActivityTaskQueueRequest(
            task_queue=common_pb2.TaskQueue(name=QUEUE)
        ),
    )


def _query_request() -> matching_service_pb2.QueryWorkflowRequest:
    return matching_service_pb2.QueryWorkflowRequest(
        namespace_id=NS,
        task_queue=common_pb2.TaskQueue(name=QUEUE),
        query_request=workflow_service_pb2.QueryWorkflowRequest(
            namespace="default",
            execution=common_pb2.WorkflowExecution(workflow_id="wf-q"),
            query=workflow_service_pb2.WorkflowQuery(query_type="status"),
        ),
        task=workflow_service_pb2.PollWorkflowTaskQueueResponse(
            workflow_execution=common_pb2.WorkflowExecution(workflow_id="wf-q", run_id="run"),
            workflow_type=common_pb2.WorkflowType(name="Checkout"),
        ),
    )


def _answer(
    token: tokens_pb2.QueryTaskToken, value: str
) -> matching_service_pb2.RespondQueryTaskCompletedRequest:
    return matching_service_pb2.RespondQueryTaskCompletedRequest(
        namespace_id=token.namespace_id,
        task_queue=token.task_queue,
        query_id=token.query_id,
        completed_request=workflow_service_pb2.RespondQueryTaskCompletedRequest(
            completed_type=enums_pb2.QUERY_RESULT_TYPE_ANSWERED,
            query_result=common_pb2.Payloads(payloads=[common_pb2.Payload(data=f'"{value}"'.encode())]),
        ),
    )


class DeletesFail:
    """The real task queue store, except that deletes fail while ``failing`` (a store outage)."""

    def __init__(self, store: object) -> None:
        self._store = store
        self.failing = True

    async def complete_task(self, **kwargs: object) -> None:
        if self.failing:
            raise TransientError("delete task: the database is unreachable")
        await self._store.complete_task(**kwargs)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)


async def test_backlog_tasks_whose_delete_failed_are_deleted_once_the_store_is_back(
    persistence: Persistence, history: FakeHistory, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backlog, "_DELETE_RETRY_S", 0.05)
    store = DeletesFail(persistence.task_queues)
    handler = MatchingHandler(task_queues=store, history=history, now_ms=clock)  # type: ignore[arg-type]
    try:
        for n in range(3):
            await handler.AddWorkflowTask(add_workflow_task(f"wf-{n}"))
        for _ in range(3):
            await handler.PollWorkflowTaskQueue(poll_workflow())  # consumed; the delete fails
        assert await persisted(persistence) == 3
        store.failing = False
        async with asyncio.timeout(5):
            while await persisted(persistence):  # noqa: ASYNC110 - rows in a store, not an event
                await asyncio.sleep(0.05)
    finally:
        await handler.stop()
