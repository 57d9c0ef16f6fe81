"""Recent events held in memory: a sticky task's history and the close event come without a store read.

The store is the real in-memory SQLite; the spy only counts its ``read_history``
calls and passes them through. Every answer served from memory is compared with
the same events read back from the store.
"""

from __future__ import annotations

from typing import Any

import pytest

from legato.api.v1 import common_pb2, enums_pb2, history_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato_server.history.workflow import mutable_state as msm
from legato_server.history.workflow.events import duration
from legato_server.internal.v1 import history_service_pb2 as hsvc
from legato_server.internal.v1 import history_state_pb2 as hs
from tests.server.history import commands as cmd
from tests.server.history.conftest import NS, NS_ID, Harness

STICKY = ws.StickyExecutionAttributes(
    worker_task_queue=common_pb2.TaskQueue(name="sticky-1", kind=enums_pb2.TASK_QUEUE_KIND_STICKY),
    schedule_to_start_timeout=duration(5),
)


class ReadCounter:
    """Counts the store's history reads, passing each one through to the real store."""

    def __init__(self, harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        executions = harness.persistence.executions
        real = executions.read_history

        async def counted(**kwargs: Any) -> Any:
            self.calls += 1
            return await real(**kwargs)

        monkeypatch.setattr(executions, "read_history", counted)


def _close_event_request(workflow_id: str) -> hsvc.GetWorkflowExecutionHistoryRequest:
    return hsvc.GetWorkflowExecutionHistoryRequest(
        namespace_id=NS_ID,
        request=ws.GetWorkflowExecutionHistoryRequest(
            namespace=NS,
            execution=common_pb2.WorkflowExecution(workflow_id=workflow_id),
            history_event_filter_type=enums_pb2.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
        ),
    )


def _forget_run(harness: Harness, workflow_id: str, run_id: str) -> None:
    """Drop the cached run, as eviction or a shard reload would."""
    engine = harness.service.engine
    engine.shard(NS_ID, workflow_id).forget((NS_ID, workflow_id, run_id))


async def test_sticky_tasks_and_the_close_event_come_from_memory(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = await harness.start("wf")
    reads = ReadCounter(harness, monkeypatch)
    first = await harness.poll_workflow_task("wf")
    await harness.complete_workflow_task(first, sticky_attributes=STICKY)
    sticky_tasks = []
    for name in ("a", "b"):
        await harness.signal("wf", name)
        task = await harness.poll_workflow_task("wf")
        sticky_tasks.append(task)
        await harness.complete_workflow_task(
            task, *([cmd.complete()] if name == "b" else []), sticky_attributes=STICKY
        )
    close = await harness.handler.GetWorkflowExecutionHistory(_close_event_request("wf"))
    assert reads.calls == 0

    stored = {event.event_id: event for event in await harness.history("wf", run_id)}
    assert [e.event_id for e in first.history.events] == [1, 2, 3]
    for task in sticky_tasks:
        ids = [e.event_id for e in task.history.events]
        assert ids == list(range(task.previous_started_event_id + 1, task.started_event_id + 1))
        assert [e.event_type for e in task.history.events][0] == enums_pb2.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
        assert list(task.history.events) == [stored[i] for i in ids]
    [close_event] = close.history.events
    assert close_event.event_type == enums_pb2.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
    assert close_event == stored[max(stored)]


async def test_a_run_reloaded_from_the_store_reads_its_events_back(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = await harness.start("wf")
    first = await harness.poll_workflow_task("wf")
    await harness.complete_workflow_task(first, sticky_attributes=STICKY)
    await harness.signal("wf")
    _forget_run(harness, "wf", run_id)
    reads = ReadCounter(harness, monkeypatch)

    task = await harness.poll_workflow_task("wf")
    assert reads.calls == 1
    assert [e.event_type for e in task.history.events] == [
        enums_pb2.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        enums_pb2.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        enums_pb2.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        enums_pb2.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    ]
    await harness.complete_workflow_task(task, cmd.complete())
    _forget_run(harness, "wf", run_id)
    close = await harness.handler.GetWorkflowExecutionHistory(_close_event_request("wf"))
    assert reads.calls == 2
    assert [e.event_type for e in close.history.events] == [enums_pb2.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED]


def _event(event_id: int) -> history_pb2.HistoryEvent:
    return history_pb2.HistoryEvent(
        event_id=event_id, event_type=enums_pb2.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    )


def _state(last_completed_started: int = 0) -> msm.MutableState:
    state = hs.MutableState()
    state.execution_info.last_completed_workflow_task_started_event_id = last_completed_started
    return msm.MutableState(state=state, db_version=1)


def _commit(ms: msm.MutableState, *ids: int) -> None:
    ms.new_events = [_event(i) for i in ids]
    ms.remember_committed_events()
    ms.clear_pending()


def test_events_held_are_those_after_the_last_completed_task_start() -> None:
    ms = _state()
    _commit(ms, 1, 2, 3)
    assert [e.event_id for e in ms.events_between(1, 4) or []] == [1, 2, 3]
    ms.info.last_completed_workflow_task_started_event_id = 3
    _commit(ms, 4, 5)
    assert [e.event_id for e in ms.recent_events] == [4, 5]
    assert ms.events_between(3, 6) is None  # 3 was dropped: the caller reads the store
    assert [e.event_id for e in ms.events_between(4, 6) or []] == [4, 5]
    assert ms.events_between(4, 7) is None  # 6 is not written yet
    assert ms.events_between(5, 5) == []


def test_pending_events_of_the_update_extend_the_held_ones() -> None:
    ms = _state()
    _commit(ms, 1, 2)
    ms.new_events = [_event(3), _event(4)]
    assert [e.event_id for e in ms.events_between(2, 5) or []] == [2, 3, 4]


def test_a_gap_or_the_cap_drops_what_cannot_be_vouched_for() -> None:
    ms = _state()
    _commit(ms, 1, 2)
    _commit(ms, 5, 6)  # not consecutive with what was held: start again from 5
    assert [e.event_id for e in ms.recent_events] == [5, 6]
    assert ms.events_between(2, 6) is None

    ms = _state()
    _commit(ms, *range(1, msm.MAX_RECENT_EVENTS + 11))
    assert len(ms.recent_events) == msm.MAX_RECENT_EVENTS
    assert ms.recent_events[0].event_id == 11
    assert ms.events_between(1, 12) is None
