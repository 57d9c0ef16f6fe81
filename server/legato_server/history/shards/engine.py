"""The history engine: the shards this host owns and the dependencies every operation uses.

Operations (start, signal, workflow tasks, ...) are plain functions taking the
engine; the handler maps RPCs onto them. The engine knows which shards it owns,
routes a (namespace_id, workflow_id) to its open shard, and creates each
shard's queue processors. What a transfer or timer task does is an operation
(``operations.transfer_tasks``, ``operations.timer_tasks``) that itself uses the
engine, so the service hands those executors in: the engine runs them without
importing the operations above it. Calls to other workflows (child start, signal or
cancel of another run, parent notification) go through ``history_client``,
which may route them to another host.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Protocol

from legato_server.common.errors import FailedPrecondition, NotOwner, Unavailable
from legato_server.common.log_context import workflow_fields
from legato_server.history.clock import Clock
from legato_server.history.queues.timer_queue import TimerQueueProcessor
from legato_server.history.queues.transfer_queue import TransferQueueProcessor
from legato_server.history.routing import shard_for
from legato_server.history.shards.shard import Shard
from legato_server.internal.v1 import history_state_pb2 as hs
from legato_server.persistence.interface import Persistence, ShardOwnershipLostError

log = logging.getLogger(__name__)


class NamespaceEntry(Protocol):
    id: str
    name: str
    retention: timedelta

    @property
    def deleted(self) -> bool: ...


class NamespaceRegistry(Protocol):
    async def get_by_id(self, id: str) -> Any: ...

    async def get_by_name(self, name: str) -> Any: ...


TransferTaskExecutor = Callable[["HistoryEngine", Shard, hs.TransferTaskInfo], Awaitable[None]]
TimerTaskExecutor = Callable[["HistoryEngine", Shard, hs.TimerTaskInfo, int], Awaitable[None]]


class HistoryEngine:
    def __init__(
        self,
        *,
        persistence: Persistence,
        matching_client: Any,
        namespace_registry: NamespaceRegistry,
        host_identity: str,
        num_history_shards: int,
        clock: Clock,
        execute_transfer_task: TransferTaskExecutor,
        execute_timer_task: TimerTaskExecutor,
    ) -> None:
        self.persistence = persistence
        self.matching = matching_client
        self.namespaces = namespace_registry
        self.host_identity = host_identity
        self.num_shards = num_history_shards
        self.clock = clock
        self._execute_transfer_task = execute_transfer_task
        self._execute_timer_task = execute_timer_task
        self.shards: dict[int, Shard] = {}
        self.history_client: Any = None  # set by the service once the client exists
        self._acquiring: dict[int, asyncio.Future[Shard]] = {}
        self.fenced_at: dict[int, float] = {}
        """When another host fenced this one off each shard (``time.monotonic()``)."""
        self.should_own: Callable[[int], bool] = lambda shard_id: False
        """Whether the membership ring gives this host ``shard_id`` (set by the ShardController)."""

    def shard_id_for(self, namespace_id: str, workflow_id: str) -> int:
        return shard_for(namespace_id, workflow_id, self.num_shards)

    def shard(self, namespace_id: str, workflow_id: str) -> Shard:
        """The open shard owning this workflow id, or Unavailable if this host does not own it."""
        shard_id = self.shard_id_for(namespace_id, workflow_id)
        shard = self.shards.get(shard_id)
        if shard is None or shard.closed:
            raise NotOwner(
                f"shard {shard_id} is not owned by history host {self.host_identity}; retry",
                shard_id=shard_id,
            )
        return shard

    async def acquire_shard(self, shard_id: int) -> Shard:
        """Own ``shard_id`` (idempotent; concurrent calls for one shard share one acquisition)."""
        pending = self._acquiring.get(shard_id)
        if pending is None:
            # A fresh context: the shard's queue processors belong to no request, so
            # they must not inherit the log fields or trace of the one that loaded it.
            pending = asyncio.get_running_loop().create_task(
                self._acquire(shard_id), context=contextvars.Context()
            )
            self._acquiring[shard_id] = pending
            pending.add_done_callback(lambda _: self._acquiring.pop(shard_id, None))
        return await asyncio.shield(pending)

    async def _acquire(self, shard_id: int) -> Shard:
        old = self.shards.get(shard_id)
        if old is not None and not old.closed:
            return old
        shard = Shard(
            shard_id=shard_id,
            persistence=self.persistence,
            host_identity=self.host_identity,
            clock=self.clock,
        )
        for _ in range(3):
            try:
                await shard.acquire()
                break
            except ShardOwnershipLostError:
                continue  # another host bumped it between our read and write; read again
        else:
            raise Unavailable(f"shard {shard_id}: could not acquire ownership; retry")
        shard.on_lost(self._shard_lost)

        async def transfer(info: hs.TransferTaskInfo) -> None:
            with workflow_fields(
                namespace_id=info.namespace_id, workflow_id=info.workflow_id, run_id=info.run_id
            ):
                await self._execute_transfer_task(self, shard, info)

        async def timer(info: hs.TimerTaskInfo, fire_ms: int) -> None:
            with workflow_fields(
                namespace_id=info.namespace_id, workflow_id=info.workflow_id, run_id=info.run_id
            ):
                await self._execute_timer_task(self, shard, info, fire_ms)

        shard.transfer_processor = TransferQueueProcessor(shard, transfer)
        shard.timer_processor = TimerQueueProcessor(shard, timer)
        self.shards[shard_id] = shard
        await shard.transfer_processor.start()
        await shard.timer_processor.start()
        return shard

    def _shard_lost(self, shard: Shard) -> None:
        if self.shards.get(shard.shard_id) is shard:
            del self.shards[shard.shard_id]
        if shard.fenced:
            self.fenced_at[shard.shard_id] = time.monotonic()

    async def release_shard(self, shard_id: int) -> None:
        shard = self.shards.pop(shard_id, None)
        if shard is not None:
            await shard.close()

    async def stop(self) -> None:
        for shard_id in list(self.shards):
            await self.release_shard(shard_id)

    async def retention_ms(self, namespace_id: str) -> int:
        entry = await self.namespaces.get_by_id(namespace_id)
        return int(entry.retention.total_seconds() * 1000)

    async def namespace_name(self, namespace_id: str) -> str:
        entry = await self.namespaces.get_by_id(namespace_id)
        return str(entry.name)

    async def namespace_for_new_run(self, namespace_id: str) -> str:
        """The namespace's name; FailedPrecondition if it is being deleted.

        The frontend refuses starts in such a namespace already; this also stops
        the ones that do not pass through it (a schedule firing, a child started
        by a run the deleter has not terminated yet).
        """
        entry = await self.namespaces.get_by_id(namespace_id)
        if entry.deleted:
            raise FailedPrecondition(
                f'namespace "{entry.name}" is being deleted; it accepts no new work '
                "(register it again once the deletion is done)"
            )
        return str(entry.name)
