"""Task queues that change hosts: a host never keeps a queue the ring moved away.

A host that kept a moved queue loaded would serve it again, with its stale
lease and a reader asleep since before the other owner wrote, once the queue
came back (say, after the other host was killed): the other owner's backlog
would sit unread. Both ways a queue could linger are tested here: the ring
changing while the queue loads, and two unloads running at once.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from legato_server.common import errors
from legato_server.matching import MatchingConfig, MatchingHandler
from legato_server.matching.backlog import TaskQueueKey
from legato_server.persistence.interface import Persistence
from tests.server.matching.conftest import Clock
from tests.server.matching.fake_history import FakeHistory
from tests.server.matching.test_matching import QUEUE, add_workflow_task, persisted, poll_workflow


class _Ring:
    """Which task queues this host owns; tests move them by hand."""

    def __init__(self) -> None:
        self.mine = True

    def __call__(self, key: TaskQueueKey) -> bool:
        return self.mine


class _MovesWhileLeasing:
    """The host's task queue store, where the ring moves the queue away while its lease is taken."""

    def __init__(self, store: Any, ring: _Ring) -> None:
        self._store = store
        self._ring = ring
        self.armed = True

    async def lease_task_queue(self, **kwargs: Any) -> Any:
        record = await self._store.lease_task_queue(**kwargs)
        if self.armed:
            self.armed = False
            self._ring.mine = False
        return record

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def _host(store: Any, history: FakeHistory, clock: Clock, ring: _Ring) -> MatchingHandler:
    host = MatchingHandler(
        task_queues=store,
        config=MatchingConfig(poll_timeout=timedelta(seconds=5)),
        history=history,
        now_ms=clock,
    )
    host.owns = ring
    return host


@pytest.mark.timeout(30)
async def test_a_queue_the_ring_moves_while_it_loads_is_not_kept(
    persistence: Persistence, history: FakeHistory, clock: Clock
) -> None:
    ring, other_ring = _Ring(), _Ring()
    host = _host(_MovesWhileLeasing(persistence.task_queues, ring), history, clock, ring)
    other = _host(persistence.task_queues, history, clock, other_ring)
    try:
        with pytest.raises(errors.NotOwner, match="moved to another matching host"):
            await host.PollWorkflowTaskQueue(poll_workflow())

        # The other host owns the queue now; with no poller there, its task is persisted.
        await other.AddWorkflowTask(add_workflow_task("wf-while-away"))
        assert await persisted(persistence) == 1

        # The queue comes back (the other host died): the first host loads it afresh and serves its backlog.
        other_ring.mine = False
        ring.mine = True
        response = await host.PollWorkflowTaskQueue(poll_workflow())
        assert response.workflow_execution.workflow_id == "wf-while-away"
        assert history.started == ["wf-while-away"]
    finally:
        await asyncio.gather(host.stop(), other.stop())


@pytest.mark.timeout(30)
async def test_unloads_running_at_once_release_every_moved_queue(
    persistence: Persistence, history: FakeHistory, clock: Clock
) -> None:
    ring = _Ring()
    host = _host(persistence.task_queues, history, clock, ring)
    try:
        for name in (QUEUE, "payments", "shipping"):
            await host.AddWorkflowTask(add_workflow_task(f"wf-{name}", queue=name))
        ring.mine = False

        await asyncio.gather(host.unload_unowned(), host.unload_unowned())

        ring.mine = True  # back again: each queue is loaded afresh and serves its persisted task
        for name in (QUEUE, "payments", "shipping"):
            response = await host.PollWorkflowTaskQueue(poll_workflow(name))
            assert response.workflow_execution.workflow_id == f"wf-{name}"
    finally:
        await host.stop()
