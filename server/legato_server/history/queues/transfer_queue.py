"""Per-shard transfer queue processor: the outbox that moves work out of a run.

Transfer tasks are written in the same transaction as the state change that
needs them (dispatch a workflow/activity task to matching, start a child,
signal or cancel another run, update visibility, tell a parent its child
closed). Latency matters on this path: after each commit the shard hands the
new tasks to ``add_tasks`` and each is executed at once as its own asyncio
task (bounded concurrency), so a slow matching call never holds up the shard.

Acknowledgement is in order even though execution is not: the ack level is
the highest id below every unfinished task and below every id a write has
allocated but not committed (``Shard.transfer_read_ceiling``). It is persisted
periodically with ``update_shard`` and everything at or below it is deleted
from the store. On shard acquisition tasks above the persisted ack level are
loaded from the store, so nothing committed is lost across restarts.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable

from legato_server.history.queues.queue_common import (
    QueueShard,
    ack_forever,
    decode_transfer_task,
    run_with_retries,
)
from legato_server.history.queues.task_spans import traced_transfer
from legato_server.internal.v1 import history_state_pb2 as hs
from legato_server.persistence import interface as p

log = logging.getLogger(__name__)

LOAD_BATCH = 1000
ACK_INTERVAL_S = 1.0
MAX_CONCURRENCY = 64

TransferExecutor = Callable[[hs.TransferTaskInfo], Awaitable[None]]
"""Runs one task of this processor's shard (the engine binds the shard)."""


class TransferQueueProcessor:
    def __init__(self, shard: QueueShard, execute: TransferExecutor) -> None:
        self._shard = shard
        self._execute = execute
        self._ack_level = shard.info.transfer_ack_level
        # Tasks up to here are deleted from the store. Behind the ack level when
        # a delete failed (store outage); the next ack tick deletes again.
        self._deleted_through = 0
        self._pending: set[int] = set()
        self._max_seen = self._ack_level
        self._semaphore = asyncio.Semaphore(MAX_CONCURRENCY)
        self._tasks: set[asyncio.Task[None]] = set()
        self._ack_loop: asyncio.Task[None] | None = None
        self._stopped = False

    @property
    def ack_level(self) -> int:
        return self._ack_level

    async def start(self) -> None:
        """Load what earlier owners left undone, then run the ack loop."""
        ceiling = self._shard.range_id << p.RANGE_ID_SHIFT
        cursor = self._ack_level
        while True:
            batch = await self._shard.persistence.executions.get_transfer_tasks(
                shard_id=self._shard.shard_id,
                exclusive_min_task_id=cursor,
                inclusive_max_task_id=ceiling,
                batch_size=LOAD_BATCH,
            )
            self.add_tasks(batch)
            if len(batch) < LOAD_BATCH:
                break
            cursor = batch[-1].task_id
        self._ack_loop = asyncio.get_running_loop().create_task(self._ack_forever())

    def add_tasks(self, tasks: list[p.TransferTask]) -> None:
        if self._stopped:
            return
        for task in tasks:
            if task.task_id <= self._ack_level or task.task_id in self._pending:
                continue
            self._pending.add(task.task_id)
            self._max_seen = max(self._max_seen, task.task_id)
            info = decode_transfer_task(task)
            # A fresh context: this is called from inside the request whose write made
            # the task, and a retry must not run under that caller's deadline (long
            # past by then: every retry would fail at once), log fields or trace.
            job = asyncio.get_running_loop().create_task(
                self._run(task.task_id, info), context=contextvars.Context()
            )
            self._tasks.add(job)
            job.add_done_callback(self._tasks.discard)

    async def _run(self, task_id: int, info: hs.TransferTaskInfo) -> None:
        async with self._semaphore:
            done = await run_with_retries(
                clock=self._shard.clock,
                cause="history transfer tasks",
                describe=f"shard {self._shard.shard_id} transfer task {task_id} "
                f"({hs.TransferTaskType.Name(info.task_type)} {info.workflow_id})",
                attempt_fn=traced_transfer(info, lambda: self._execute(info)),
                is_closed=lambda: self._shard.closed or self._stopped,
            )
        if done:
            self._pending.discard(task_id)

    def compute_ack_level(self) -> int:
        level = self._shard.transfer_read_ceiling()
        if self._pending:
            level = min(level, min(self._pending) - 1)
        return max(level, self._ack_level)

    async def advance_ack_level(self) -> None:
        """Persist the ack level (fenced), then delete the tasks at or below it."""
        level = self.compute_ack_level()
        if level > self._ack_level:
            await self._shard.persist_ack_levels(transfer_ack=level)
            self._ack_level = level
        if self._deleted_through < self._ack_level:
            await self._shard.persistence.executions.complete_transfer_tasks(
                shard_id=self._shard.shard_id, inclusive_max_task_id=self._ack_level
            )
            self._deleted_through = self._ack_level

    async def _ack_forever(self) -> None:
        await ack_forever(
            clock=self._shard.clock,
            interval_s=ACK_INTERVAL_S,
            cause="history transfer ack levels",
            advance=self.advance_ack_level,
            is_closed=lambda: self._stopped or self._shard.closed,
        )

    async def stop(self) -> None:
        self._stopped = True
        current = asyncio.current_task()
        jobs = [t for t in (*self._tasks, self._ack_loop) if t is not None and t is not current]
        for job in jobs:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
