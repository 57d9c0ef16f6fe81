"""The rendezvous of tasks and pollers on one task queue, in memory.

Pollers wait in arrival order (FIFO fairness): a task offered to the matcher
goes to the poller that has waited longest. When no poller is waiting, tasks
wait instead, in three lines that pollers serve first-come:

* queries, first: a caller is blocked on each of them, and they are never
  persisted;
* backlog tasks read ahead from the store (at most ``prefetch`` of them, so a
  large backlog stays on disk), plus tasks given back by pollers that went
  away;
* new tasks whose add waits a short while for a poller before it writes them
  to the backlog (``offer_within``): under load the poller that will take the
  task is usually busy with the previous one for a few milliseconds, and a
  hand-off in memory saves the write, the read back and the delete.

Everything is futures and callbacks on the event loop: a sync match is one
``set_result`` on the waiting poller's future, with no sleeping, no polling and
no lock. A poll that times out gets ``None``.

The one race: a poller can be cancelled (its client disconnected) after a task
was handed to it but before it ran. The matcher notices (the future holds a
result although the poller was cancelled) and gives the task to
``on_orphan``, which puts it back; a task is never lost in the hand-off.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import Callable

from legato_server.matching.tasks import MatchTask, QueryTask, Task


class TaskMatcher:
    def __init__(self, *, prefetch: int, on_orphan: Callable[[Task], None]) -> None:
        self._prefetch = max(1, prefetch)
        self._on_orphan = on_orphan
        # Insertion-ordered: the first key is the poller that has waited longest.
        self._pollers: dict[int, asyncio.Future[Task | None]] = {}
        self._poller_ids = itertools.count()
        self._queries: deque[QueryTask] = deque()
        # Adds waiting for a poller (``offer_within``), oldest first.
        self._offers: dict[int, tuple[MatchTask, asyncio.Future[bool]]] = {}
        self._offer_ids = itertools.count()
        self._ready: deque[MatchTask] = deque()
        self._room = asyncio.Event()
        self._room.set()
        self._has_ready = asyncio.Event()
        self._last_poll_monotonic: float | None = None
        self.released = False
        """Set by ``release_pollers``: the queue is being unloaded or the host is stopping."""

    # ------------------------------------------------------------ producers

    def offer(self, task: Task) -> bool:
        """Hand ``task`` to the longest-waiting poller; False if no poller is waiting."""
        while self._pollers:
            poller = self._pollers.pop(next(iter(self._pollers)))
            if not poller.done():
                poller.set_result(task)
                return True
        return False

    async def offer_within(self, task: MatchTask, wait_s: float) -> bool:
        """Hand ``task`` to a poller now or to one that polls within ``wait_s``; False if none did."""
        if self.offer(task):
            return True
        if wait_s <= 0 or self.released:
            return False
        loop = asyncio.get_running_loop()
        taken: asyncio.Future[bool] = loop.create_future()
        offer_id = next(self._offer_ids)
        self._offers[offer_id] = (task, taken)
        expiry = loop.call_later(wait_s, _resolve_untaken, taken)
        try:
            return await taken
        finally:
            expiry.cancel()
            self._offers.pop(offer_id, None)

    def add_query(self, query: QueryTask) -> None:
        """Give a query to a poller now, or to the next one that comes."""
        if not self.offer(query):
            self._queries.append(query)

    def add_ready(self, task: MatchTask, *, front: bool = False) -> None:
        """Give a backlog task to a poller now, or queue it in memory for the next one."""
        if self.offer(task):
            return
        if front:
            self._ready.appendleft(task)
        else:
            self._ready.append(task)
        self._has_ready.set()
        if len(self._ready) >= self._prefetch:
            self._room.clear()

    def give_back(self, task: Task) -> None:
        """Return a task a poller took but could not use, ahead of everything else."""
        if isinstance(task, QueryTask):
            if not self.offer(task):
                self._queries.appendleft(task)
        else:
            self.add_ready(task, front=True)

    async def take_ready(self) -> MatchTask:
        """Wait for a ready task no local poller took, and remove it (a child partition's forwarder).

        A ready task only waits while no poller does (``add_ready`` offers it
        first), so what this returns is a task this partition cannot serve now.
        """
        while True:
            if self._ready:
                return self._pop_ready()
            self._has_ready.clear()
            await self._has_ready.wait()

    async def wait_for_room(self) -> None:
        """Wait until the read-ahead buffer has room (the backlog reader calls this)."""
        while len(self._ready) >= self._prefetch:
            self._room.clear()
            await self._room.wait()

    # ------------------------------------------------------------ consumers

    async def poll(self, timeout_s: float) -> Task | None:
        """The next task for this poller, or None after ``timeout_s`` without one."""
        self._last_poll_monotonic = time.monotonic()
        task = self._take_waiting()
        if task is not None or timeout_s <= 0:
            return task
        loop = asyncio.get_running_loop()
        poller: asyncio.Future[Task | None] = loop.create_future()
        poller_id = next(self._poller_ids)
        self._pollers[poller_id] = poller
        expiry = loop.call_later(timeout_s, _resolve_empty, poller)
        try:
            return await poller
        except asyncio.CancelledError:
            if poller.done() and not poller.cancelled():
                orphan = poller.result()
                if orphan is not None:
                    self._on_orphan(orphan)
            raise
        finally:
            expiry.cancel()
            self._pollers.pop(poller_id, None)
            self._last_poll_monotonic = time.monotonic()

    def _take_waiting(self) -> Task | None:
        while self._queries:
            query = self._queries.popleft()
            if not query.answer.done():  # done = its caller gave up
                return query
        if self._ready:
            return self._pop_ready()
        while self._offers:
            task, taken = self._offers.pop(next(iter(self._offers)))
            if not taken.done():  # done = its add stopped waiting
                taken.set_result(True)
                return task
        return None

    def _pop_ready(self) -> MatchTask:
        task = self._ready.popleft()
        if len(self._ready) < self._prefetch:
            self._room.set()
        return task

    # ------------------------------------------------------------ state

    @property
    def has_waiting_tasks(self) -> bool:
        """A query, a ready task or an add waits for a poller."""
        return (
            bool(self._ready)
            or any(not query.answer.done() for query in self._queries)
            or any(not taken.done() for _, taken in self._offers.values())
        )

    @property
    def waiting_pollers(self) -> int:
        return sum(1 for poller in self._pollers.values() if not poller.done())

    def polled_within(self, seconds: float) -> bool:
        """True if a poller is waiting now or one was active in the last ``seconds``."""
        if self.waiting_pollers:
            return True
        last = self._last_poll_monotonic
        return last is not None and time.monotonic() - last <= seconds

    def release_pollers(self) -> None:
        """Answer every waiting poller with no task (on shutdown: workers get an empty poll, not an error)."""
        self.released = True
        pollers = list(self._pollers.values())
        self._pollers.clear()
        for poller in pollers:
            _resolve_empty(poller)
        for _, taken in self._offers.values():
            _resolve_untaken(taken)  # those adds write their tasks to the backlog now

    def drain_ready(self) -> list[MatchTask]:
        """Remove and return the in-memory backlog tasks (on unload; they stay in the store)."""
        tasks = list(self._ready)
        self._ready.clear()
        self._room.set()
        return tasks


def _resolve_empty(poller: asyncio.Future[Task | None]) -> None:
    if not poller.done():
        poller.set_result(None)


def _resolve_untaken(taken: asyncio.Future[bool]) -> None:
    if not taken.done():
        taken.set_result(False)
