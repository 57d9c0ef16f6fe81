"""A new task waits a short while for a poller before it is written to the backlog (``sync_match_wait``).

Real handler, real in-memory SQLite task store, fake history (as in ``test_matching``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from legato_server.matching import MatchingConfig, MatchingHandler
from legato_server.matching.matcher import TaskMatcher
from legato_server.matching.tasks import MatchTask
from legato_server.persistence.interface import Persistence
from tests.server.matching.conftest import Clock
from tests.server.matching.fake_history import FakeHistory
from tests.server.matching.test_matching import add_workflow_task, persisted, poll_workflow, until

# Long enough that a test which wrongly waits it out hits its own timeout first.
LONG_WAIT = timedelta(seconds=60)


def _matching(
    persistence: Persistence, history: FakeHistory, clock: Clock, *, wait: timedelta
) -> MatchingHandler:
    """The real handler on the test's store, with polls of 5 s and an add waiting ``wait`` for a poller."""
    return MatchingHandler(
        task_queues=persistence.task_queues,
        config=MatchingConfig(poll_timeout=timedelta(seconds=5), sync_match_wait=wait),
        history=history,
        now_ms=clock,
    )


@pytest.fixture
async def patient(
    persistence: Persistence, history: FakeHistory, clock: Clock
) -> AsyncIterator[MatchingHandler]:
    handler = _matching(persistence, history, clock, wait=LONG_WAIT)
    yield handler
    await handler.stop()


def _waiting_adds(handler: MatchingHandler) -> int:
    return sum(len(queue.matcher._offers) for queue in handler._queues.values())


async def test_a_poller_that_comes_while_the_add_waits_takes_the_task_and_nothing_is_written(
    patient: MatchingHandler, persistence: Persistence
) -> None:
    add = asyncio.create_task(patient.AddWorkflowTask(add_workflow_task("wf-1")))
    await until(lambda: _waiting_adds(patient) == 1)
    response = await asyncio.wait_for(patient.PollWorkflowTaskQueue(poll_workflow()), 10)
    assert response.workflow_execution.workflow_id == "wf-1"
    assert (await asyncio.wait_for(add, 10)).matched
    assert await persisted(persistence) == 0


async def test_with_no_poller_the_task_is_written_once_the_wait_is_over(
    persistence: Persistence, history: FakeHistory, clock: Clock
) -> None:
    handler = _matching(persistence, history, clock, wait=timedelta(milliseconds=50))
    try:
        added = await asyncio.wait_for(handler.AddWorkflowTask(add_workflow_task("wf-late")), 10)
        assert not added.matched
        assert await persisted(persistence) == 1
        assert _waiting_adds(handler) == 0
        response = await asyncio.wait_for(handler.PollWorkflowTaskQueue(poll_workflow()), 10)
        assert response.workflow_execution.workflow_id == "wf-late"
    finally:
        await handler.stop()


async def test_behind_a_backlog_an_add_does_not_wait_and_the_backlog_is_served_first(
    patient: MatchingHandler, persistence: Persistence
) -> None:
    # The first add waits; stopping its wait the way shutdown does writes it to the backlog.
    first = asyncio.create_task(patient.AddWorkflowTask(add_workflow_task("wf-old")))
    await until(lambda: _waiting_adds(patient) == 1)
    for queue in patient._queues.values():
        for _, taken in queue.matcher._offers.values():
            taken.set_result(False)
    assert not (await asyncio.wait_for(first, 10)).matched
    # With that task in the backlog, the next add is written at once (the test would time out if it waited).
    second = await asyncio.wait_for(patient.AddWorkflowTask(add_workflow_task("wf-new")), 10)
    assert not second.matched
    assert await persisted(persistence) == 2
    served = [
        (
            await asyncio.wait_for(patient.PollWorkflowTaskQueue(poll_workflow()), 10)
        ).workflow_execution.workflow_id
        for _ in range(2)
    ]
    assert served == ["wf-old", "wf-new"]


async def test_stopping_matching_writes_the_waiting_adds_to_the_backlog(
    persistence: Persistence, history: FakeHistory, clock: Clock
) -> None:
    handler = _matching(persistence, history, clock, wait=LONG_WAIT)
    add = asyncio.create_task(handler.AddWorkflowTask(add_workflow_task("wf-stop")))
    await until(lambda: _waiting_adds(handler) == 1)
    stopping = asyncio.create_task(handler.stop())
    outcome = await asyncio.wait_for(asyncio.gather(add, return_exceptions=True), 10)
    await asyncio.wait_for(stopping, 10)
    # Written (history is told "not matched") or refused (history adds it again): never lost in memory.
    if isinstance(outcome[0], BaseException):
        assert await persisted(persistence) == 0
    else:
        assert not outcome[0].matched
        assert await persisted(persistence) == 1


def _task(workflow_id: str) -> MatchTask:
    from legato.api.v1 import common_pb2

    return MatchTask(
        namespace_id="ns",
        execution=common_pb2.WorkflowExecution(workflow_id=workflow_id, run_id="r"),
        scheduled_event_id=2,
        create_time_ms=0,
        expiry_time_ms=0,
    )


async def test_a_cancelled_add_is_not_handed_to_a_later_poller() -> None:
    matcher = TaskMatcher(prefetch=4, on_orphan=lambda task: None)
    waiting = asyncio.create_task(matcher.offer_within(_task("gone"), 60))
    await until(lambda: len(matcher._offers) == 1)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert not matcher._offers
    assert await matcher.poll(0) is None


async def test_waiting_adds_are_taken_oldest_first_and_after_ready_backlog_tasks() -> None:
    matcher = TaskMatcher(prefetch=4, on_orphan=lambda task: None)
    adds = [asyncio.create_task(matcher.offer_within(_task(name), 60)) for name in ("a1", "a2")]
    await until(lambda: len(matcher._offers) == 2)
    matcher.add_ready(_task("ready"))
    taken = [await matcher.poll(1) for _ in range(3)]
    assert [t.execution.workflow_id for t in taken if t is not None] == ["ready", "a1", "a2"]
    assert await asyncio.gather(*adds) == [True, True]
