"""One task queue: the in-memory matcher in front of its persisted backlog.

``add`` tries a sync match first (a poller is waiting: hand the task over, no
write) and persists only when nobody is waiting. ``poll`` serves queries, then
backlog tasks, then waits for the next ``add``. Tasks a poller takes but cannot
use come back through ``give_back``: a backlog task returns to the front of the
line (it is still in the store); an in-memory task goes to another waiting
poller or, failing that, to the store.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from legato_server.common import errors
from legato_server.common.logs import TransientLog
from legato_server.matching import metrics
from legato_server.matching.backlog import TaskBacklog, TaskQueueKey
from legato_server.matching.config import MatchingConfig
from legato_server.matching.matcher import TaskMatcher
from legato_server.matching.tasks import MatchTask, QueryTask, Task
from legato_server.persistence.interface import TaskQueueStore

log = logging.getLogger(__name__)
transient_log = TransientLog(log)

_SYNC_MATCH_SETTLE_S = 30.0
"""How long AddTask waits for a sync-matched task to be recorded started (normally milliseconds)."""
_RETURN_RETRY_S = 0.1
_RETURN_RETRY_MAX_S = 5.0


class TaskQueue:
    def __init__(
        self,
        *,
        key: TaskQueueKey,
        store: TaskQueueStore,
        config: MatchingConfig,
        now_ms: Callable[[], int],
    ) -> None:
        self.key = key
        self._now_ms = now_ms
        self.matcher = TaskMatcher(prefetch=config.backlog_prefetch, on_orphan=self.give_back)
        self.backlog = TaskBacklog(
            key=key, store=store, matcher=self.matcher, read_batch=config.backlog_read_batch, now_ms=now_ms
        )
        self._background: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        await self.backlog.start()

    async def stop(self) -> None:
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        await self.backlog.stop()

    async def add(self, task: MatchTask) -> None:
        """Sync-match ``task`` with a waiting poller, or persist it as backlog."""
        task.settled = asyncio.get_running_loop().create_future()
        if not self.matcher.offer(task):
            task.settled = None
            await self.backlog.persist(task)
            metrics.task_added(self.key.task_type, sync_match=False)
            return
        metrics.task_added(self.key.task_type, sync_match=True)
        try:
            async with asyncio.timeout(_SYNC_MATCH_SETTLE_S):
                await asyncio.shield(task.settled)
        except TimeoutError:
            raise errors.Unavailable(
                f"task queue {self.key.name!r}: the poller given the task did not record it in "
                f"{_SYNC_MATCH_SETTLE_S:g}s; dispatch it again"
            ) from None

    def add_query(self, query: QueryTask) -> None:
        self.matcher.add_query(query)

    async def poll(self, timeout_s: float) -> Task | None:
        """The next live task within ``timeout_s``; expired tasks are dropped on the way."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            task = await self.matcher.poll(deadline - loop.time())
            if isinstance(task, MatchTask) and task.expired(self._now_ms()):
                await self.ack(task)
                continue
            return task

    async def ack(self, task: Task) -> None:
        """The task was consumed (or is stale): remove it from the backlog if it is there."""
        if isinstance(task, MatchTask):
            await self.backlog.ack(task)
            task.settle()

    def ack_later(self, task: Task) -> None:
        self._spawn(self.ack(task))

    def give_back(self, task: Task) -> None:
        """A poller took ``task`` but could not deliver it: serve it again."""
        if isinstance(task, QueryTask) or task.task_id:
            self.matcher.give_back(task)
        elif not self.matcher.offer(task):
            self._spawn(self._persist_returned(task))

    async def _persist_returned(self, task: MatchTask) -> None:
        """Keep a returned task until a poller takes it or the backlog holds it.

        It was sync-matched, so it exists nowhere else: history counted it as
        delivered. While the store is down it stays here and is offered to
        pollers; it is written once the store is back.
        """
        delay = _RETURN_RETRY_S
        while not self.matcher.offer(task):
            try:
                await self.backlog.persist(task)
            except errors.Unavailable as err:
                transient_log.failed("matching returned tasks", f"task queue {self.key}: {err}")
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RETURN_RETRY_MAX_S)
                continue
            transient_log.succeeded("matching returned tasks")
            task.settle()
            return

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @property
    def backlog_count(self) -> int:
        return self.backlog.count
