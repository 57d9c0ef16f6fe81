"""The sticky cache: workflow instances kept in memory between their tasks, by run id.

A cached instance saves replaying the whole history on every task: the server
sends a task for a cached run to this worker's sticky queue with only the
events since the previous task, and the worker feeds just those. The cache is
an LRU bounded by ``max_cached_workflows``; evicting a run that is busy (a
task or query of that run in progress) is never done, so the bound can be
exceeded briefly while every cached run is busy.

It also serialises each run: ``lock(run_id)`` must be held while a task or a
query of that run is processed, so two tasks of one run never interleave.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any


class WorkflowCache:
    def __init__(self, max_size: int, *, on_evict: Callable[[str, Any], None] | None = None) -> None:
        self.max_size = max_size
        self._instances: OrderedDict[str, Any] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}
        self._lock_users: dict[str, int] = {}
        self._on_evict = on_evict

    def __len__(self) -> int:
        return len(self._instances)

    def __contains__(self, run_id: object) -> bool:
        return run_id in self._instances

    def run_ids(self) -> list[str]:
        return list(self._instances)

    @asynccontextmanager
    async def lock(self, run_id: str) -> AsyncIterator[None]:
        """Hold the run's lock; the lock object lives only while someone uses it."""
        lock = self._locks.setdefault(run_id, asyncio.Lock())
        self._lock_users[run_id] = self._lock_users.get(run_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._lock_users[run_id] -= 1
            if self._lock_users[run_id] == 0:
                del self._lock_users[run_id]
                del self._locks[run_id]

    def get(self, run_id: str) -> Any | None:
        instance = self._instances.get(run_id)
        if instance is not None:
            self._instances.move_to_end(run_id)
        return instance

    def put(self, run_id: str, instance: Any) -> None:
        if self.max_size <= 0:
            return
        self._instances[run_id] = instance
        self._instances.move_to_end(run_id)
        self._shrink(keep=run_id)

    def evict(self, run_id: str) -> None:
        instance = self._instances.pop(run_id, None)
        if instance is not None and self._on_evict is not None:
            self._on_evict(run_id, instance)

    def _shrink(self, keep: str) -> None:
        if len(self._instances) <= self.max_size:
            return
        for candidate in list(self._instances):
            if len(self._instances) <= self.max_size:
                return
            if candidate == keep or candidate in self._lock_users:
                continue  # busy: its task holds the instance
            self.evict(candidate)
