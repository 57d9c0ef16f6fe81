"""The persisted part of one task queue: tasks no poller was waiting for.

Ownership. The queue's owner leases it with ``TaskQueueStore.lease_task_queue``
(bumping ``range_id``) and allocates task ids from its range,
``[range_id << RANGE_ID_SHIFT, (range_id + 1) << RANGE_ID_SHIFT)``; ids grow
across owners, so reading in id order is arrival order. Writes are conditional
on the range_id: a host that lost the queue cannot add to it unnoticed (it
re-leases and retries once, which is right while a queue has one owner).

Writes are group-committed: concurrent ``persist`` calls that arrive while a
write is in flight go to the store together in the next one, so a burst of
tasks with no pollers costs a few transactions, not one each.

One reader per queue reads tasks in id order and feeds them to the matcher's
read-ahead buffer; it sleeps on an event that writes set, and reads again
after ``_IDLE_REREAD_S`` of quiet in case another host wrote.
A task is deleted (acked) once a poller consumed it, or dropped as stale or
expired; ``count`` is the number persisted and not yet acked (the backlog
hint in poll responses). A delete that fails (the store is down) is kept and
retried every ``_DELETE_RETRY_S`` until it succeeds, so an outage leaves no
rows behind (such a row would otherwise be served again after a restart, or
sit forever on the sticky queue of a worker that is gone).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from legato_server.common import errors
from legato_server.common.logs import TransientLog
from legato_server.internal.v1 import matching_service_pb2
from legato_server.matching.matcher import TaskMatcher
from legato_server.matching.tasks import MatchTask
from legato_server.persistence.interface import (
    RANGE_ID_SHIFT,
    ConditionFailedError,
    PersistenceError,
    QueuedTask,
    TaskQueueRecord,
    TaskQueueStore,
)

log = logging.getLogger(__name__)
transient_log = TransientLog(log)

_MAX_TASK_ID = (1 << 62) - 1
_LEASE_ATTEMPTS = 5
_READ_RETRY_S = (0.1, 0.5, 1.0, 2.0, 5.0)
_DELETE_RETRY_S = 2.0
_IDLE_REREAD_S = 10.0


@dataclass(frozen=True, slots=True)
class TaskQueueKey:
    namespace_id: str
    name: str
    task_type: int  # legato.api.v1.TaskQueueType

    def __str__(self) -> str:
        return f"{self.name} (type {self.task_type}, namespace {self.namespace_id})"


class TaskBacklog:
    def __init__(
        self,
        *,
        key: TaskQueueKey,
        store: TaskQueueStore,
        matcher: TaskMatcher,
        read_batch: int,
        now_ms: Callable[[], int],
    ) -> None:
        self._key = key
        self._store = store
        self._matcher = matcher
        self._read_batch = read_batch
        self._now_ms = now_ms
        self._record: TaskQueueRecord | None = None
        self._next_task_id = 0
        self._range_end = 0
        self._pending: list[tuple[MatchTask, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._written = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self._count = 0
        self._undeleted: set[int] = set()
        self._deleter: asyncio.Task[None] | None = None

    @property
    def count(self) -> int:
        return self._count

    async def start(self) -> None:
        """Lease the queue, count what is persisted, and start feeding it to pollers."""
        await self._lease()
        self._count = await self._count_persisted()
        self._reader = asyncio.create_task(self._read_loop(), name=f"backlog reader {self._key}")

    async def stop(self) -> None:
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)
        for job in (self._reader, self._deleter):
            if job is not None:
                job.cancel()
                await asyncio.gather(job, return_exceptions=True)

    # ------------------------------------------------------------ writing

    async def persist(self, task: MatchTask) -> None:
        """Write ``task`` to the store (batched with concurrent calls); raises Unavailable on failure."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((task, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name=f"backlog writer {self._key}")
        await done

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await self._write([task for task, _ in batch])
            except Exception as err:
                failure = errors.Unavailable(
                    f"could not persist task on task queue {self._key.name!r}: {err}"
                )
                for _, done in batch:
                    if not done.done():
                        done.set_exception(failure)
                continue
            self._count += len(batch)
            self._written.set()
            for _, done in batch:
                if not done.done():
                    done.set_result(None)

    async def _write(self, tasks: list[MatchTask]) -> None:
        for attempt in range(2):
            if self._next_task_id + len(tasks) > self._range_end:
                await self._lease()
            first_id = self._next_task_id
            rows = [self._row(task, first_id + offset) for offset, task in enumerate(tasks)]
            assert self._record is not None
            try:
                await self._store.create_tasks(
                    namespace_id=self._key.namespace_id,
                    name=self._key.name,
                    task_type=self._key.task_type,
                    range_id=self._record.range_id,
                    tasks=rows,
                )
            except ConditionFailedError:
                if attempt:
                    raise
                # Another host leased the queue since; take it back and retry with fresh ids.
                log.warning("task queue %s: lease lost; re-leasing", self._key)
                await self._lease()
                continue
            self._next_task_id = first_id + len(tasks)
            for task, row in zip(tasks, rows, strict=True):
                task.task_id = row.task_id
            return

    def _row(self, task: MatchTask, task_id: int) -> QueuedTask:
        blob = matching_service_pb2.PersistedTask(
            namespace_id=task.namespace_id,
            execution=task.execution,
            scheduled_event_id=task.scheduled_event_id,
            create_time_unix_ms=task.create_time_ms,
            expiry_time_unix_ms=task.expiry_time_ms,
        )
        return QueuedTask(task_id=task_id, data=blob.SerializeToString(), expiry_time_ms=task.expiry_time_ms)

    async def _lease(self) -> None:
        for _ in range(_LEASE_ATTEMPTS):
            try:
                record = await self._store.lease_task_queue(
                    namespace_id=self._key.namespace_id, name=self._key.name, task_type=self._key.task_type
                )
            except ConditionFailedError:
                continue  # a concurrent lease won; bump again
            self._record = record
            self._next_task_id = record.range_id << RANGE_ID_SHIFT
            self._range_end = (record.range_id + 1) << RANGE_ID_SHIFT
            return
        raise errors.Unavailable(f"could not lease task queue {self._key.name!r}: contended; retry")

    # ------------------------------------------------------------ reading

    async def _count_persisted(self) -> int:
        count, after = 0, 0
        while True:
            rows = await self._store.get_tasks(
                namespace_id=self._key.namespace_id,
                name=self._key.name,
                task_type=self._key.task_type,
                exclusive_min_task_id=after,
                inclusive_max_task_id=_MAX_TASK_ID,
                batch_size=1000,
            )
            count += len(rows)
            if len(rows) < 1000:
                return count
            after = rows[-1].task_id

    async def _read_loop(self) -> None:
        read_level = 0
        failures = 0
        while True:
            self._written.clear()
            try:
                rows = await self._store.get_tasks(
                    namespace_id=self._key.namespace_id,
                    name=self._key.name,
                    task_type=self._key.task_type,
                    exclusive_min_task_id=read_level,
                    inclusive_max_task_id=_MAX_TASK_ID,
                    batch_size=self._read_batch,
                )
            except errors.Unavailable as err:
                transient_log.failed("matching backlog reads", f"task queue {self._key}: {err}")
                await asyncio.sleep(_READ_RETRY_S[min(failures, len(_READ_RETRY_S) - 1)])
                failures += 1
                continue
            except PersistenceError:
                log.exception("task queue %s: backlog read failed; retrying", self._key)
                await asyncio.sleep(_READ_RETRY_S[-1])
                continue
            transient_log.succeeded("matching backlog reads")
            failures = 0
            if not rows:
                # Woken by this host's writes; the timeout also catches rows that
                # another host wrote while both believed they owned the queue
                # (a ring in transition), which no local event announces.
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for drops a
                # cancellation that lands as the write wakes it, and stop() then
                # waits for this loop forever.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(_IDLE_REREAD_S):
                        await self._written.wait()
                continue
            for row in rows:
                read_level = row.task_id
                task = _decode(row)
                if task.expired(self._now_ms()):
                    await self.ack(task)
                    continue
                await self._matcher.wait_for_room()
                self._matcher.add_ready(task)

    async def ack(self, task: MatchTask) -> None:
        """Delete a consumed (or stale, or expired) task; a failed delete is retried in the background."""
        if not task.task_id:
            return
        task_id, task.task_id = task.task_id, 0
        self._count = max(0, self._count - 1)
        if not await self._delete(task_id):
            self._undeleted.add(task_id)
            if self._deleter is None or self._deleter.done():
                self._deleter = asyncio.create_task(
                    self._retry_deletes(), name=f"backlog deleter {self._key}"
                )

    async def _delete(self, task_id: int) -> bool:
        cause = "matching backlog deletes"
        try:
            await self._store.complete_task(
                namespace_id=self._key.namespace_id,
                name=self._key.name,
                task_type=self._key.task_type,
                task_id=task_id,
            )
        except PersistenceError as err:
            transient_log.failed(cause, f"task queue {self._key}: could not delete task {task_id}: {err}")
            return False
        transient_log.succeeded(cause)
        return True

    async def _retry_deletes(self) -> None:
        while self._undeleted:
            await asyncio.sleep(_DELETE_RETRY_S)
            for task_id in sorted(self._undeleted):
                if not await self._delete(task_id):
                    break  # the store is still down; try again later
                self._undeleted.discard(task_id)


def _decode(row: QueuedTask) -> MatchTask:
    blob = matching_service_pb2.PersistedTask.FromString(row.data)
    return MatchTask(
        namespace_id=blob.namespace_id,
        execution=blob.execution,
        scheduled_event_id=blob.scheduled_event_id,
        create_time_ms=blob.create_time_unix_ms,
        expiry_time_ms=blob.expiry_time_unix_ms or row.expiry_time_ms,
        task_id=row.task_id,
    )


def wall_clock_ms() -> int:
    return int(time.time() * 1000)
