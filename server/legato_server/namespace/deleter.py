"""The namespace deleter: empties a namespace in state DELETED, then removes its record.

``DeleteNamespace`` only moves the namespace to ``NAMESPACE_STATE_DELETED``
(durably, in the namespace store); from then on the frontend refuses new work
in it. This loop, run by every history host, does the rest. Each pass over a
DELETED namespace

1. deletes its schedules, so none starts another workflow;
2. deletes its workflow runs, found through visibility (the only index of a
   namespace's runs): history's ``DeleteWorkflowExecution``, routed to the
   run's shard owner, terminates a run that is still open (reason "namespace
   deleted", so its parent and children see an ordinary terminate) and removes
   it as retention would, visibility row last;
3. deletes its task queues and their backlogs;

and when a pass finds nothing left, and has kept finding nothing for
``grace_s``, removes the namespace record, which frees the name.

Why the grace: other hosts cache namespaces for up to their refresh interval
(10 s), so a frontend may still accept a start for a few seconds after the
namespace turned DELETED, and a new run's visibility row is written just
after its start commits. Seeing the namespace empty for longer than that
means nothing is still arriving.

Who runs it: every history host runs the loop but acts only on the
namespaces it is ``responsible_for`` (the server's choice: the owner of the
history shard of (namespace id, "")), so usually one host works on a
namespace. Every step is idempotent (deleting what is gone is no error; the
record is removed by id, never by name), so two hosts working on one
namespace while a shard moves, or a host that restarts mid-way, do no harm:
the durable DELETED state is the whole of the deleter's progress, and the next
pass picks up whatever is left.

Pacing: run deletions start at least ``1 / executions_per_second`` apart, so a namespace with a million runs drains steadily instead of
taking the shards' capacity from the namespaces still in use.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from legato.api.v1 import common_pb2
from legato_server.common.errors import ServiceError, Unavailable
from legato_server.common.logs import TransientLog
from legato_server.common.periodic import PeriodicPass
from legato_server.internal.v1 import history_service_pb2 as hsvc
from legato_server.namespace.registry import NamespaceEntry, NamespaceRegistry
from legato_server.persistence.interface import (
    PersistenceError,
    ScheduleStore,
    TaskQueueStore,
    VisibilityFilter,
    VisibilityStore,
)

log = logging.getLogger(__name__)
transient_log = TransientLog(log)

TERMINATE_REASON = "namespace deleted"
T = TypeVar("T")


class HistoryForDeleter(Protocol):
    def DeleteWorkflowExecution(
        self, request: hsvc.DeleteWorkflowExecutionRequest
    ) -> Awaitable[hsvc.DeleteWorkflowExecutionResponse]: ...


class DeleterClock(Protocol):
    def now_ms(self) -> int: ...

    async def sleep(self, seconds: float) -> None: ...


@dataclass
class DeletionPass:
    """What one pass over a namespace removed, and whether it left anything behind."""

    schedules: int = 0
    executions: int = 0
    task_queues: int = 0
    complete: bool = True
    """False when something could not be deleted this pass (an outage); it is retried."""

    @property
    def removed(self) -> int:
        return self.schedules + self.executions + self.task_queues


class NamespaceDeleter:
    def __init__(
        self,
        *,
        registry: NamespaceRegistry,
        visibility: VisibilityStore,
        schedules: ScheduleStore,
        task_queues: TaskQueueStore,
        history: HistoryForDeleter,
        clock: DeleterClock,
        responsible_for: Callable[[str], bool],
        poll_interval_s: float = 5.0,
        grace_s: float = 15.0,
        page_size: int = 100,
        executions_per_second: float = 200.0,
    ) -> None:
        self._registry = registry
        self._visibility = visibility
        self._schedules = schedules
        self._task_queues = task_queues
        self._history = history
        self._clock = clock
        self._responsible_for = responsible_for
        self._grace_ms = int(grace_s * 1000)
        self._page_size = page_size
        self._executions_per_second = executions_per_second
        self._empty_since_ms: dict[str, int] = {}
        self._next_slot = 0.0
        """When the next run deletion may start (event-loop time; see ``_pace``)."""
        self._loop = PeriodicPass(
            name="namespace deletion",
            run_once=self.run_once,
            sleep=self._clock.sleep,
            interval_s=poll_interval_s,
            log=log,
        )

    async def run_once(self) -> list[str]:
        """One pass over every DELETED namespace this host is responsible for; returns the names removed."""
        removed: list[str] = []
        deleted = [e for e in await self._registry.deleted_namespaces() if self._responsible_for(e.id)]
        for gone in set(self._empty_since_ms) - {e.id for e in deleted}:
            del self._empty_since_ms[gone]
        for entry in deleted:
            try:
                outcome = await self.delete_contents(entry)
            except Unavailable as err:  # the store or a history host is down: quiet, retried next pass
                transient_log.failed("namespace deletion", f"namespace {entry.name!r}: {err}")
                self._empty_since_ms.pop(entry.id, None)
                continue
            except Exception:  # one namespace's trouble must not stall the others
                log.exception('namespace "%s": deletion pass failed; retried on the next pass', entry.name)
                self._empty_since_ms.pop(entry.id, None)
                continue
            if outcome.removed or not outcome.complete:
                self._empty_since_ms.pop(entry.id, None)
                if outcome.removed:
                    log.info(
                        'namespace "%s" (being deleted): removed %d runs, %d schedules, %d task queues',
                        entry.name,
                        outcome.executions,
                        outcome.schedules,
                        outcome.task_queues,
                    )
                continue
            now_ms = self._clock.now_ms()
            empty_since = self._empty_since_ms.setdefault(entry.id, now_ms)
            if now_ms - empty_since < self._grace_ms:
                continue
            await self._registry.remove(entry)
            del self._empty_since_ms[entry.id]
            log.info('namespace "%s" (id %s) deleted; the name is free again', entry.name, entry.id)
            removed.append(entry.name)
        return removed

    async def delete_contents(self, entry: NamespaceEntry) -> DeletionPass:
        """Delete the namespace's schedules, runs and task queues (as many as there are now)."""
        outcome = DeletionPass()
        await self._delete_schedules(entry, outcome)
        await self._delete_executions(entry, outcome)
        await self._delete_task_queues(entry, outcome)
        return outcome

    async def _delete_schedules(self, entry: NamespaceEntry, outcome: DeletionPass) -> None:
        async for record in self._every_page(self._schedules.list_schedules, entry):
            await self._schedules.delete_schedule(
                shard_id=record.shard_id, namespace_id=record.namespace_id, schedule_id=record.schedule_id
            )
            outcome.schedules += 1

    async def _delete_executions(self, entry: NamespaceEntry, outcome: DeletionPass) -> None:
        # Always the first page: what was deleted is gone from it, so it moves forward by itself.
        attempted: set[str] = set()
        while True:
            records, _ = await self._visibility.list_executions(
                namespace_id=entry.id, filter=VisibilityFilter(), page_size=self._page_size
            )
            fresh = [record for record in records if record.run_id not in attempted]
            if not fresh:
                if records:  # rows that did not go away: try again on the next pass
                    outcome.complete = False
                return
            for record in fresh:
                await self._pace()
                attempted.add(record.run_id)
                try:
                    await self._history.DeleteWorkflowExecution(
                        hsvc.DeleteWorkflowExecutionRequest(
                            namespace_id=entry.id,
                            workflow_execution=common_pb2.WorkflowExecution(
                                workflow_id=record.workflow_id, run_id=record.run_id
                            ),
                            reason=TERMINATE_REASON,
                        )
                    )
                except (ServiceError, PersistenceError) as err:
                    outcome.complete = False
                    transient_log.failed(
                        "namespace deletion", f"run {record.run_id} of namespace {entry.name!r}: {err}"
                    )
                    continue
                outcome.executions += 1

    async def _pace(self) -> None:
        """Wait for the next slot: run deletions start at most ``executions_per_second`` apart."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        slot = max(self._next_slot, now)
        self._next_slot = slot + 1.0 / self._executions_per_second
        if slot > now:
            await asyncio.sleep(slot - now)

    async def _delete_task_queues(self, entry: NamespaceEntry, outcome: DeletionPass) -> None:
        async for record in self._every_page(self._task_queues.list_task_queues, entry):
            await self._task_queues.delete_task_queue(
                namespace_id=record.namespace_id, name=record.name, task_type=record.task_type
            )
            outcome.task_queues += 1

    async def _every_page(
        self, list_page: Callable[..., Awaitable[tuple[list[T], bytes]]], entry: NamespaceEntry
    ) -> AsyncIterator[T]:
        """Every record a paged store listing of the namespace returns, page after page."""
        token = b""
        while True:
            records, token = await list_page(
                namespace_id=entry.id, page_size=self._page_size, page_token=token
            )
            for record in records:
                yield record
            if not token:
                return

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
