"""Per-shard timer queue processor: fires timer tasks when their time comes.

Timer tasks cover user timers, activity timeouts and retry backoff, workflow
task timeouts, workflow run/execution timeouts, first-task backoff (start
delay, cron, retry) and deletion after retention. They live in the store ordered
by (visibility time, task id); the processor keeps those due within a
look-ahead window in a heap and sleeps on the shard's clock until the earliest
one, woken early when a commit adds an earlier timer. The clock is injected,
so tests move time with a fake clock instead of sleeping.

Loading is windowed: ``loaded_until`` is raised *before* each store read, so a
task committed during the read arrives through ``add_tasks`` (or the read) and
is deduplicated by id; tasks beyond the window are read when the window moves.
A fired task is executed (the executor drops it if stale, e.g. the timer was
canceled or the activity already completed). The persisted ack level is the
earliest time still unfinished, and every few seconds one range delete removes
all tasks below it. Fired tasks are not deleted one by one: that was a database
transaction per timer (two per workflow for the workflow-task timeouts alone),
the most frequent write after the workflow updates themselves. A task fired
but not yet below the ack level when its shard moves is fired again by the
new owner, which its executor drops as stale (or, for a dispatch, matching
drops as already started), as it would after a crash between fire and delete.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Awaitable, Callable

from legato_server.common.metrics import TIMER_LATENESS
from legato_server.history.queues.queue_common import (
    QueueShard,
    ack_forever,
    decode_timer_task,
    run_with_retries,
)
from legato_server.history.queues.task_spans import traced_timer
from legato_server.internal.v1 import history_state_pb2 as hs
from legato_server.persistence import interface as p

log = logging.getLogger(__name__)

WINDOW_MS = 5 * 60_000
LOAD_BATCH = 1000
ACK_INTERVAL_S = 5.0
MAX_CONCURRENCY = 64

TimerExecutor = Callable[[hs.TimerTaskInfo, int], Awaitable[None]]
"""Runs one task of this processor's shard (the engine binds the shard)."""


class TimerQueueProcessor:
    def __init__(self, shard: QueueShard, execute: TimerExecutor) -> None:
        self._shard = shard
        self._execute = execute
        self._heap: list[tuple[int, int]] = []
        self._known: dict[int, int] = {}  # task id -> visibility time, until deleted from the store
        self._infos: dict[int, hs.TimerTaskInfo] = {}
        self._loaded_until = shard.info.timer_ack_level_ms
        self._ack_level = shard.info.timer_ack_level_ms
        # Timer tasks below this time are deleted from the store. Behind the ack
        # level while a range delete has not succeeded yet (a store outage, or
        # tasks a previous owner left); the next ack tick deletes again.
        self._deleted_below = 0
        self._wake = asyncio.Event()
        self._semaphore = asyncio.Semaphore(MAX_CONCURRENCY)
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._ack_task: asyncio.Task[None] | None = None
        self._stopped = False

    async def start(self) -> None:
        await self._load_window()
        loop = asyncio.get_running_loop()
        self._loop_task = loop.create_task(self._fire_forever())
        self._ack_task = loop.create_task(self._ack_forever())

    def add_tasks(self, tasks: list[p.TimerTask]) -> None:
        if self._stopped:
            return
        earliest = self._heap[0][0] if self._heap else None
        for task in tasks:
            if task.visibility_time_ms >= self._loaded_until or task.task_id in self._known:
                continue
            self._known[task.task_id] = task.visibility_time_ms
            self._infos[task.task_id] = decode_timer_task(task)
            heapq.heappush(self._heap, (task.visibility_time_ms, task.task_id))
        if self._heap and (earliest is None or self._heap[0][0] < earliest):
            self._wake.set()

    async def _load_window(self) -> None:
        start = self._loaded_until
        until = self._shard.clock.now_ms() + WINDOW_MS
        if until <= start:
            return
        self._loaded_until = until
        cursor = start
        while True:
            batch = await self._shard.persistence.executions.get_timer_tasks(
                shard_id=self._shard.shard_id, min_time_ms=cursor, max_time_ms=until, batch_size=LOAD_BATCH
            )
            self.add_tasks(batch)
            if len(batch) < LOAD_BATCH or batch[-1].visibility_time_ms == cursor:
                break
            cursor = batch[-1].visibility_time_ms

    async def _fire_forever(self) -> None:
        clock = self._shard.clock
        while not self._stopped and not self._shard.closed:
            now = clock.now_ms()
            if now + WINDOW_MS // 2 >= self._loaded_until:
                try:
                    await self._load_window()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("shard %d: loading timer tasks failed", self._shard.shard_id)
            while self._heap and self._heap[0][0] <= now:
                fire_ms, task_id = heapq.heappop(self._heap)
                info = self._infos.pop(task_id)
                job = asyncio.get_running_loop().create_task(self._run(task_id, fire_ms, info))
                self._tasks.add(job)
                job.add_done_callback(self._tasks.discard)
            next_ms = self._loaded_until - WINDOW_MS // 2
            if self._heap:
                next_ms = min(next_ms, self._heap[0][0])
            self._wake.clear()
            await self._sleep_or_wake(max(0, next_ms - now) / 1000)

    async def _sleep_or_wake(self, seconds: float) -> None:
        sleeper = asyncio.ensure_future(self._shard.clock.sleep(seconds))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for f in (sleeper, waker):
                f.cancel()

    async def _run(self, task_id: int, fire_ms: int, info: hs.TimerTaskInfo) -> None:
        async def attempt() -> None:
            await self._execute(info, fire_ms)

        async with self._semaphore:
            # Measured once, as the task begins: retries after a failure are not lateness.
            TIMER_LATENESS.observe(max(0, self._shard.clock.now_ms() - fire_ms) / 1000)
            done = await run_with_retries(
                clock=self._shard.clock,
                cause="history timer tasks",
                describe=f"shard {self._shard.shard_id} timer task {task_id} "
                f"({hs.TimerTaskType.Name(info.task_type)} {info.workflow_id})",
                attempt_fn=traced_timer(info, attempt),
                is_closed=lambda: self._shard.closed or self._stopped,
            )
            if not done:
                return
        self._known.pop(task_id, None)

    def compute_ack_level(self) -> int:
        level = self._loaded_until
        if self._known:
            level = min(level, min(self._known.values()))
        floor = self._shard.timer_floor_ms()
        if floor is not None:
            level = min(level, floor)
        # A write that has not allocated yet may still add a timer due "now".
        level = min(level, self._shard.clock.now_ms())
        return max(level, self._ack_level)

    async def advance_ack_level(self) -> None:
        """Persist the ack level (fenced), then delete every timer task below it (fired or stale)."""
        level = self.compute_ack_level()
        if level > self._ack_level:
            await self._shard.persist_ack_levels(timer_ack_ms=level)
            self._ack_level = level
        if self._deleted_below < self._ack_level:
            await self._shard.persistence.executions.complete_timer_tasks_before(
                shard_id=self._shard.shard_id, exclusive_max_time_ms=self._ack_level
            )
            self._deleted_below = self._ack_level

    async def _ack_forever(self) -> None:
        await ack_forever(
            clock=self._shard.clock,
            interval_s=ACK_INTERVAL_S,
            cause="history timer ack levels",
            advance=self.advance_ack_level,
            is_closed=lambda: self._stopped or self._shard.closed,
        )

    async def stop(self) -> None:
        self._stopped = True
        current = asyncio.current_task()
        jobs = [
            t for t in (*self._tasks, self._loop_task, self._ack_task) if t is not None and t is not current
        ]
        for job in jobs:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
