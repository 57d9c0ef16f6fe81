"""Fired timer tasks and dispatched transfer tasks leave no rows behind, even when deletes fail.

The store fails every task delete for a while (as during a database outage);
once it works again, the queues' ack loops delete what was left, without a
restart and without anything firing twice.
"""

from __future__ import annotations

from typing import Any

from legato_server.history.routing import shard_for
from legato_server.persistence.interface import Persistence, TransientError
from tests.server.history import commands as cmd
from tests.server.history.conftest import NS_ID, NUM_SHARDS, Harness, make_service

FAR = 1 << 62


class DeletesFail:
    """The real execution store, except that task deletes fail while ``failing``."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.failing = True
        self.refused = 0

    def _refuse(self) -> None:
        self.refused += 1
        raise TransientError("complete tasks: the database is unreachable")

    async def complete_timer_tasks_before(self, **kwargs: Any) -> None:
        if self.failing:
            self._refuse()
        await self._store.complete_timer_tasks_before(**kwargs)

    async def complete_transfer_tasks(self, **kwargs: Any) -> None:
        if self.failing:
            self._refuse()
        await self._store.complete_transfer_tasks(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


class StoreWithFailingDeletes:
    def __init__(self, persistence: Persistence) -> None:
        self._persistence = persistence
        self.executions = DeletesFail(persistence.executions)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._persistence, name)


async def test_timer_and_transfer_tasks_whose_deletes_failed_are_deleted_later(
    persistence: Persistence, clock: Any, matching: Any, namespaces: Any
) -> None:
    store = StoreWithFailingDeletes(persistence)
    service = await make_service(store, clock, matching, namespaces)  # type: ignore[arg-type]
    harness = Harness(service, clock, matching, persistence)
    shard_id = shard_for(NS_ID, "wf", NUM_SHARDS)
    try:
        await harness.start("wf")
        task = await harness.poll_workflow_task("wf")
        await harness.complete_workflow_task(task, cmd.start_timer("t1", seconds=2))
        await clock.advance(3)  # the timer fires
        await harness.next_workflow_task_dispatch("wf")
        assert "TIMER_FIRED" in await harness.event_types("wf")
        await clock.advance(12)  # ack loops run; their deletes fail too
        assert store.executions.refused > 0
        fired = await persistence.executions.get_timer_tasks(
            shard_id=shard_id, min_time_ms=0, max_time_ms=clock.now_ms(), batch_size=100
        )
        assert fired, "the failed deletes left due timer tasks in the store"

        store.executions.failing = False  # the store is back
        for _ in range(30):
            await clock.advance(1)
            due = await persistence.executions.get_timer_tasks(
                shard_id=shard_id, min_time_ms=0, max_time_ms=clock.now_ms(), batch_size=100
            )
            transfers = await persistence.executions.get_transfer_tasks(
                shard_id=shard_id, exclusive_min_task_id=0, inclusive_max_task_id=FAR, batch_size=100
            )
            if not due and not transfers:
                break
        assert due == [], f"{len(due)} overdue timer tasks were never deleted"
        assert transfers == [], f"{len(transfers)} dispatched transfer tasks were never deleted"
        assert (await harness.event_types("wf")).count("TIMER_FIRED") == 1
    finally:
        await service.stop()
