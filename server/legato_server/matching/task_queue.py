"""One task queue: the in-memory matcher in front of its persisted backlog.

``add`` tries a sync match first (a poller is waiting: hand the task over, no
write) and persists only when nobody is waiting. ``poll`` serves queries, then
backlog tasks, then waits for the next ``add``. Tasks a poller takes but cannot
use come back through ``give_back``: a backlog task returns to the front of the
line (it is still in the store); an in-memory task goes to another waiting
poller or, failing that, to the store.

A child partition (see ``common.task_queue_partitions``) is given
``forward_task``: its backlog tasks that no local poller takes are offered to
the root partition, where pollers of every partition wait (``MatchingHandler``
forwards polls there), so a task persisted on a partition nobody polls right
now still reaches a poller within ``_FORWARD_RETRY_MAX_S``. The offer is a
sync match only: the root hands the task to a waiting poller and answers once
it is recorded started (then the task is acked here), or answers at once that
nobody waits (then it goes back to the front of this partition's line and the
offer is repeated with a short backoff). ``forward_slots`` caps the polls this
partition forwards to the root at once, so under load pollers match locally
and the root is not a hot spot.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from legato_server.common import errors
from legato_server.common.logs import TransientLog
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
_FORWARD_RETRY_S = 0.01
_FORWARD_RETRY_MAX_S = 0.5
"""Backoff of a child partition's backlog offers while the root has no poller:
a poller that comes to any partition gets the task within about this long."""
_FORWARD_IDLE_RETRY_MAX_S = 30.0
_POLLED_RECENTLY_S = 10.0
"""Pollers pick partitions at random, so a partition nobody polled for this long
belongs to a queue with no active poller (workers down, or a queue left behind):
its offers back off to ``_FORWARD_IDLE_RETRY_MAX_S``, so thousands of such
queues cost next to nothing. A poller that comes back still gets the task at
once: the root remembers which children offered tasks it could not place
(``children_with_backlog``) and pulls from them when a poll arrives."""
_CHILD_BACKLOG_MEMORY_S = 2 * _FORWARD_IDLE_RETRY_MAX_S
"""How long the root remembers a child's unplaced offer; the child offers again sooner."""

ForwardTask = Callable[[MatchTask], Awaitable[bool]]


class TaskQueue:
    def __init__(
        self,
        *,
        key: TaskQueueKey,
        store: TaskQueueStore,
        config: MatchingConfig,
        now_ms: Callable[[], int],
        forward_task: ForwardTask | None = None,
    ) -> None:
        self.key = key
        self._now_ms = now_ms
        self._sync_match_wait_s = config.sync_match_wait.total_seconds()
        self.matcher = TaskMatcher(prefetch=config.backlog_prefetch, on_orphan=self.give_back)
        self.backlog = TaskBacklog(
            key=key, store=store, matcher=self.matcher, read_batch=config.backlog_read_batch, now_ms=now_ms
        )
        self._background: set[asyncio.Task[None]] = set()
        self._forward_task = forward_task
        self._forwarder: asyncio.Task[None] | None = None
        self.forward_slots = asyncio.Semaphore(max(1, config.forwarded_polls_per_partition))
        """Polls of this (child) partition that may wait at the root at once."""
        self._children_with_backlog: dict[str, float] = {}
        self._kick = asyncio.Event()

    async def start(self) -> None:
        await self.backlog.start()
        if self._forward_task is not None:
            self._forwarder = asyncio.create_task(
                self._forward_backlog(), name=f"backlog forwarder {self.key}"
            )

    async def stop(self) -> None:
        if self._forwarder is not None:
            # A task it holds stays in the store: whoever loads the partition next serves it.
            self._forwarder.cancel()
            await asyncio.gather(self._forwarder, return_exceptions=True)
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        await self.backlog.stop()

    async def add(self, task: MatchTask) -> bool:
        """Sync-match ``task`` with a poller (True), or persist it as backlog (False).

        With no backlog it waits up to ``sync_match_wait`` for a poller; behind a
        backlog it does not, so it does not overtake the tasks already written.
        """
        wait_s = self._sync_match_wait_s if not self.backlog.count else 0.0
        if not await self.offer(task, wait_s=wait_s):
            await self.backlog.persist(task)
            return False
        return True

    async def offer(self, task: MatchTask, *, wait_s: float = 0.0) -> bool:
        """Hand ``task`` to a poller (one waiting, or one polling within ``wait_s``) and wait until it is
        recorded started; False if none came.

        Once a poller took it, the task is this queue's to deliver (a poller
        that cannot record it gives it back, and it is persisted if need be),
        so True means "delivered or safely kept", never "lost".
        """
        task.settled = asyncio.get_running_loop().create_future()
        if not await self.matcher.offer_within(task, wait_s):
            task.settled = None
            return False
        try:
            async with asyncio.timeout(_SYNC_MATCH_SETTLE_S):
                await asyncio.shield(task.settled)
        except TimeoutError:
            raise errors.Unavailable(
                f"task queue {self.key.name!r}: the poller given the task did not record it in "
                f"{_SYNC_MATCH_SETTLE_S:g}s; dispatch it again"
            ) from None
        return True

    def note_child_backlog(self, child: str) -> None:
        """(Root) child partition ``child`` offered a task no poller here took: it holds a backlog."""
        self._children_with_backlog[child] = asyncio.get_running_loop().time()

    def children_with_backlog(self) -> list[str]:
        """(Root) the children that recently offered tasks no poller took, oldest offer first."""
        cutoff = asyncio.get_running_loop().time() - _CHILD_BACKLOG_MEMORY_S
        for child in [name for name, when in self._children_with_backlog.items() if when < cutoff]:
            del self._children_with_backlog[child]
        return list(self._children_with_backlog)

    def forget_child_backlog(self, child: str) -> None:
        self._children_with_backlog.pop(child, None)

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

    async def _forward_backlog(self) -> None:
        """Offer the ready backlog tasks no local poller takes to the root, until one matches there."""
        assert self._forward_task is not None
        delay = _FORWARD_RETRY_S
        while True:
            task = await self.matcher.take_ready()
            if task.expired(self._now_ms()):
                await self.ack(task)
                continue
            try:
                matched = await self._forward_task(task)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # the root is moving or unreachable: keep the task, try later
                transient_log.failed("matching backlog forwarding", f"task queue {self.key}: {err}")
                matched = False
            if matched:
                transient_log.succeeded("matching backlog forwarding")
                await self.ack(task)
                delay = _FORWARD_RETRY_S
                continue
            self.matcher.give_back(task)
            try:
                await asyncio.wait_for(self._kick.wait(), delay)
                self._kick.clear()
                delay = _FORWARD_RETRY_S  # a poller is waiting at the root now
            except TimeoutError:
                active = self.matcher.polled_within(_POLLED_RECENTLY_S)
                delay = min(delay * 2, _FORWARD_RETRY_MAX_S if active else _FORWARD_IDLE_RETRY_MAX_S)

    def kick_forwarder(self) -> None:
        """(Child) the root has a poller but pulled nothing from here: offer the backlog again now.

        The pull can miss a task the backlog reader has not read yet, or that the
        forwarder is offering that instant; the root then forgets this child, so
        without the kick the task would wait out the forwarder's backoff.
        """
        if self.backlog_count:
            self._kick.set()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @property
    def backlog_count(self) -> int:
        return self.backlog.count
