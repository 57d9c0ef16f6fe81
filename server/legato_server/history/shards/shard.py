"""One history shard: ownership, task ids, the execution cache, and the write path.

Ownership and fencing. A host owns a shard after reading its row and bumping
``range_id`` (``update_shard``). Every write carries that range_id and the store
checks it in the same transaction, so after another host takes the shard our
next write fails with ``ShardOwnershipLostError``. The shard then closes itself
(drops its cache, stops its queue processors) and the caller gets
``Unavailable("shard N moved; retry")``; nothing of ours reaches the store.

Task ids are ``(range_id << RANGE_ID_SHIFT) + seq``. When ``seq`` runs out the
shard renews its range (bumps range_id again) once in-flight writes are done,
so ids keep growing across owners and renewals.

Writes. Every change of a run is ``update(key, action)``: take the run's lock,
load the cached mutable state, let ``action`` mutate it, write state + events +
tasks in one store call. Any failure drops the cached state, so a half-applied
action is never seen; ``ConditionFailedError`` (someone else wrote the run)
reloads and retries. After a commit the new tasks go straight to the in-memory
queue processors and long-poll readers are woken.

In-flight writes are tracked so the queue processors never advance their ack
level past a task id (or timer time) that a write has allocated but not yet
committed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from legato.api.v1 import history_pb2
from legato_server.common.errors import FailedPrecondition, NotFound, NotOwner, Unavailable
from legato_server.common.limits import quote
from legato_server.common.logs import TransientLog
from legato_server.history.clock import Clock
from legato_server.history.notifier import ExecutionKey, ExecutionNotifier
from legato_server.history.queues.timer_queue import TimerQueueProcessor
from legato_server.history.queues.transfer_queue import TransferQueueProcessor
from legato_server.history.shards.lifecycle_metrics import record_commit
from legato_server.history.workflow.mutable_state import MutableState, load_mutable_state
from legato_server.persistence import interface as p

log = logging.getLogger(__name__)
unknown_outcome_log = TransientLog(log)
T = TypeVar("T")

MAX_CONDITION_RETRIES = 5
CACHE_SIZE = 4096
SEQ_LIMIT = 1 << p.RANGE_ID_SHIFT


@dataclass
class ExecutionContext:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    ms: MutableState | None = None


class ShardClosed(NotOwner):
    """The shard closed under the request (it moved, or this host is releasing it); nothing was written.

    A ``NotOwner`` without a shard id: callers reroute, and this host does not
    take the shard back on its own (only the membership ring gives it shards).
    """


class Shard:
    def __init__(
        self, *, shard_id: int, persistence: p.Persistence, host_identity: str, clock: Clock
    ) -> None:
        self.shard_id = shard_id
        self.persistence = persistence
        self.host_identity = host_identity
        self.clock = clock
        self.info = p.ShardInfo(shard_id=shard_id, range_id=0)
        self.notifier = ExecutionNotifier()
        self.transfer_processor: TransferQueueProcessor | None = None
        self.timer_processor: TimerQueueProcessor | None = None
        self.closed = False
        self._cache: OrderedDict[ExecutionKey, ExecutionContext] = OrderedDict()
        self._seq = 0
        self._alloc_lock = asyncio.Lock()
        self.fenced = False
        """True once another host's range_id fenced this one off (it lost the shard)."""
        self._inflight: dict[int, tuple[int | None, int | None]] = {}
        self._inflight_ids = itertools.count()
        self._no_inflight = asyncio.Event()
        self._no_inflight.set()
        self._on_lost: list[Callable[[Shard], None]] = []

    # ------------------------------------------------------------ ownership

    @property
    def range_id(self) -> int:
        return self.info.range_id

    async def acquire(self) -> None:
        """Take the shard: bump its range_id so the previous owner's writes are fenced off."""
        info = await self.persistence.shards.get_or_create_shard(self.shard_id)
        previous = info.range_id
        info.range_id = previous + 1
        info.owner = self.host_identity
        info.updated_at_ms = self.clock.now_ms()
        await self.persistence.shards.update_shard(info, previous_range_id=previous)
        self.info = info
        self._seq = 0
        log.info("shard %d acquired by %s with range_id %d", self.shard_id, self.host_identity, info.range_id)

    def on_lost(self, callback: Callable[[Shard], None]) -> None:
        self._on_lost.append(callback)

    def ensure_open(self) -> None:
        if self.closed:
            raise ShardClosed(f"shard {self.shard_id} moved to another host; retry")

    async def close(self) -> None:
        """Stop processors and forget cached state (on stop, or when ownership is lost)."""
        if self.closed:
            return
        self.closed = True
        self._cache.clear()
        self.notifier.notify_all()
        for processor in (self.transfer_processor, self.timer_processor):
            if processor is not None:
                await processor.stop()

    def _ownership_lost(self, err: p.ShardOwnershipLostError) -> Unavailable:
        log.warning("shard %d: %s", self.shard_id, err)
        self.fenced = True
        self._close_for_reload()
        return ShardClosed(f"shard {self.shard_id} moved to another host; retry")

    def _close_for_reload(self) -> None:
        """Close now (no await), stop the queues in the background, and let the engine forget the shard."""
        if not self.closed:
            self.closed = True
            self._cache.clear()
            self.notifier.notify_all()
            # Closing stops the processors; never from inside one of their tasks.
            asyncio.get_running_loop().create_task(self._finish_close())
            for callback in self._on_lost:
                callback(self)

    async def _finish_close(self) -> None:
        for processor in (self.transfer_processor, self.timer_processor):
            if processor is not None:
                await processor.stop()

    # ------------------------------------------------------------ task ids

    async def _allocate(self, transfer_count: int, timers: list[int]) -> tuple[list[int], int]:
        """Allocate task ids for one write and register it as in flight; returns (ids, token)."""
        count = transfer_count + len(timers)
        async with self._alloc_lock:
            self.ensure_open()
            if self._seq + count >= SEQ_LIMIT:
                await self._renew_range()
            ids = [(self.range_id << p.RANGE_ID_SHIFT) + self._seq + 1 + i for i in range(count)]
            self._seq += count
            token = next(self._inflight_ids)
            self._inflight[token] = (
                ids[0] if transfer_count else None,
                min(timers) if timers else None,
            )
            self._no_inflight.clear()
            return ids, token

    def _release(self, token: int) -> None:
        self._inflight.pop(token, None)
        if not self._inflight:
            self._no_inflight.set()

    async def _renew_range(self) -> None:
        # Writes in flight carry the old range_id: let them land first.
        await self._no_inflight.wait()
        info = dataclasses.replace(self.info)
        info.range_id += 1
        info.updated_at_ms = self.clock.now_ms()
        try:
            await self.persistence.shards.update_shard(info, previous_range_id=self.info.range_id)
        except p.ShardOwnershipLostError as err:
            raise self._ownership_lost(err) from err
        self.info = info
        self._seq = 0

    def transfer_read_ceiling(self) -> int:
        """Highest transfer task id below which every allocated id is committed or abandoned."""
        floors = [t for t, _ in self._inflight.values() if t is not None]
        if floors:
            return min(floors) - 1
        return (self.range_id << p.RANGE_ID_SHIFT) + self._seq

    def timer_floor_ms(self) -> int | None:
        """Earliest timer time of a write still in flight (None if none)."""
        floors = [t for _, t in self._inflight.values() if t is not None]
        return min(floors) if floors else None

    async def persist_ack_levels(
        self, *, transfer_ack: int | None = None, timer_ack_ms: int | None = None
    ) -> None:
        async with self._alloc_lock:
            if self.closed:
                return
            info = dataclasses.replace(self.info)
            if transfer_ack is not None:
                info.transfer_ack_level = max(info.transfer_ack_level, transfer_ack)
            if timer_ack_ms is not None:
                info.timer_ack_level_ms = max(info.timer_ack_level_ms, timer_ack_ms)
            if (info.transfer_ack_level, info.timer_ack_level_ms) == (
                self.info.transfer_ack_level,
                self.info.timer_ack_level_ms,
            ):
                return
            info.updated_at_ms = self.clock.now_ms()
            try:
                await self.persistence.shards.update_shard(info, previous_range_id=self.info.range_id)
            except p.ShardOwnershipLostError as err:
                raise self._ownership_lost(err) from err
            self.info = info

    # ------------------------------------------------------------ cache

    def _context(self, key: ExecutionKey) -> ExecutionContext:
        ctx = self._cache.get(key)
        if ctx is None:
            ctx = ExecutionContext()
            self._cache[key] = ctx
            self._evict()
        else:
            self._cache.move_to_end(key)
        return ctx

    def _evict(self) -> None:
        while len(self._cache) > CACHE_SIZE:
            for key, ctx in self._cache.items():
                if not ctx.lock.locked():
                    del self._cache[key]
                    break
            else:
                return

    def forget(self, key: ExecutionKey) -> None:
        self._cache.pop(key, None)

    async def _load(self, key: ExecutionKey, ctx: ExecutionContext) -> MutableState:
        if ctx.ms is None:
            namespace_id, workflow_id, run_id = key
            try:
                snapshot = await self.persistence.executions.get_workflow_execution(
                    shard_id=self.shard_id, namespace_id=namespace_id, workflow_id=workflow_id, run_id=run_id
                )
            except p.NotFoundError as err:
                raise NotFound(
                    f"workflow execution {quote(workflow_id)} run {quote(run_id)} not found"
                ) from err
            ctx.ms = load_mutable_state(snapshot.state, db_version=snapshot.db_version)
        return ctx.ms

    # ------------------------------------------------------------ reads and writes

    async def current_run_id(self, namespace_id: str, workflow_id: str) -> str:
        self.ensure_open()
        try:
            current = await self.persistence.executions.get_current_execution(
                shard_id=self.shard_id, namespace_id=namespace_id, workflow_id=workflow_id
            )
        except p.NotFoundError as err:
            raise NotFound(f"workflow execution {quote(workflow_id)} not found") from err
        return current.run_id

    async def resolve_run_id(self, namespace_id: str, workflow_id: str, run_id: str) -> str:
        return run_id or await self.current_run_id(namespace_id, workflow_id)

    async def read(self, key: ExecutionKey, fn: Callable[[MutableState], T]) -> T:
        """Run ``fn`` on the run's state under its lock (``fn`` must not mutate it)."""
        self.ensure_open()
        ctx = self._context(key)
        async with ctx.lock:
            try:
                return fn(await self._load(key, ctx))
            except BaseException:
                ctx.ms = None
                raise

    async def update(self, key: ExecutionKey, action: Callable[[MutableState], Awaitable[T]]) -> T:
        """Apply ``action`` to the run and commit what it changed, retrying on write conflicts."""
        for attempt in range(MAX_CONDITION_RETRIES):
            self.ensure_open()
            ctx = self._context(key)
            async with ctx.lock:
                try:
                    cached = ctx.ms is not None
                    ms = await self._load(key, ctx)
                    ms.now_ms = self.clock.now_ms()
                    try:
                        result = await action(ms)
                    except (NotFound, FailedPrecondition):
                        if not cached:
                            raise
                        # A "gone" or "not now" answer drops work (matching deletes
                        # the task). The cache may be stale: another host may own
                        # the shard and have written since. Decide from the store.
                        ctx.ms = None
                        ms = await self._load(key, ctx)
                        ms.now_ms = self.clock.now_ms()
                        result = await action(ms)
                    if ms.has_changes:
                        await self._commit_update(ms)
                    return result
                except p.ConditionFailedError:
                    ctx.ms = None
                    log.info("shard %d: conflict on %s, retry %d", self.shard_id, key, attempt + 1)
                    continue
                except BaseException:
                    ctx.ms = None
                    raise
        raise Unavailable(f"workflow {quote(key[1])} is being changed concurrently; retry")

    async def create(self, ms: MutableState, *, mode: p.CreateMode, previous_run_id: str = "") -> None:
        """Write a brand-new run (raises CurrentWorkflowConditionFailedError per ``mode``)."""
        key = (ms.namespace_id, ms.workflow_id, ms.run_id)
        ctx = self._context(key)
        async with ctx.lock:
            [write], token = await self._prepare([ms])

            def committed() -> None:
                ctx.ms = ms
                self._after_commit(ms, write)

            await self._write(
                self.persistence.executions.create_workflow_execution(
                    shard_id=self.shard_id,
                    range_id=self.range_id,
                    mode=mode,
                    snapshot=write.snapshot,
                    events=write.events,
                    transfer_tasks=write.transfer_tasks,
                    timer_tasks=write.timer_tasks,
                    previous_run_id=previous_run_id,
                ),
                token,
                committed,
            )

    async def _commit_update(self, ms: MutableState) -> None:
        new_run = ms.new_run
        runs = [ms] if new_run is None else [ms, new_run]
        writes, token = await self._prepare(runs)
        writes[0].condition_db_version = ms.db_version

        def committed() -> None:
            self._after_commit(ms, writes[0])
            if new_run is not None:
                self._context((new_run.namespace_id, new_run.workflow_id, new_run.run_id)).ms = new_run
                self._after_commit(new_run, writes[1])

        await self._write(
            self.persistence.executions.update_workflow_execution(
                shard_id=self.shard_id,
                range_id=self.range_id,
                mutation=writes[0],
                new_run=writes[1] if new_run is not None else None,
            ),
            token,
            committed,
        )

    async def _write(self, write: Awaitable[None], token: int, committed: Callable[[], None]) -> None:
        """Run one store write to its end, then hand its tasks to the queues.

        Shielded: when the caller goes away mid-write (a peer's RPC cancelled
        because the peer died), the write still finishes and its tasks still
        reach the queue processors. Cut short, a committed write's timers
        would never fire and the ack level would move past them.

        A transient store error leaves the outcome unknown: the write may have
        committed, tasks and all, without the queues knowing. The shard is
        then closed and taken again (``NotOwner`` sends callers around; the
        next request or the controller re-acquires it), which reloads its
        queues from the store, where those tasks are.
        """

        async def run() -> None:
            try:
                await write
            except p.ShardOwnershipLostError as err:
                raise self._ownership_lost(err) from err
            except p.TransientError as err:
                unknown_outcome_log.failed(
                    "history writes with an unknown outcome", f"shard {self.shard_id}: {err}"
                )
                self._close_for_reload()
                raise
            finally:
                self._release(token)
            unknown_outcome_log.succeeded("history writes with an unknown outcome")
            committed()

        job = asyncio.ensure_future(run())
        # If the caller is gone, nobody awaits the job: its error was handled above.
        job.add_done_callback(lambda done: done.cancelled() or done.exception())
        await asyncio.shield(job)

    async def _prepare(self, runs: list[MutableState]) -> tuple[list[p.WorkflowMutation], int]:
        """Serialize each run's changes with task ids from one allocation (one in-flight write)."""
        transfer_count = sum(len(ms.transfer_tasks) for ms in runs)
        timer_times = [t.visibility_time_ms for ms in runs for t in ms.timer_tasks]
        ids, token = await self._allocate(transfer_count, timer_times)
        transfer_ids = iter(ids[:transfer_count])
        timer_ids = iter(ids[transfer_count:])
        writes = []
        for ms in runs:
            transfer = [
                p.TransferTask(task_id=next(transfer_ids), data=task.SerializeToString())
                for task in ms.transfer_tasks
            ]
            timers = [
                p.TimerTask(
                    visibility_time_ms=t.visibility_time_ms,
                    task_id=next(timer_ids),
                    data=t.info.SerializeToString(),
                )
                for t in ms.timer_tasks
            ]
            events = []
            if ms.new_events:
                events.append(
                    p.EventBatch(
                        namespace_id=ms.namespace_id,
                        workflow_id=ms.workflow_id,
                        run_id=ms.run_id,
                        first_event_id=ms.new_events[0].event_id,
                        event_count=len(ms.new_events),
                        data=history_pb2.History(events=ms.new_events).SerializeToString(),
                    )
                )
            snapshot = p.WorkflowSnapshot(
                namespace_id=ms.namespace_id,
                workflow_id=ms.workflow_id,
                run_id=ms.run_id,
                state=ms.state.SerializeToString(),
                state_enum=ms.store_state(),
                status=ms.info.status,
                next_event_id=ms.next_event_id,
                db_version=ms.db_version + 1,
                create_request_id=ms.info.create_request_id,
                start_time_ms=ms.info.start_time.ToMilliseconds(),
            )
            writes.append(
                p.WorkflowMutation(
                    snapshot=snapshot,
                    condition_db_version=0,
                    events=events,
                    transfer_tasks=transfer,
                    timer_tasks=timers,
                )
            )
        return writes, token

    def _after_commit(self, ms: MutableState, write: p.WorkflowMutation) -> None:
        ms.db_version = write.snapshot.db_version
        record_commit(ms)
        ms.remember_committed_events()
        ms.clear_pending()
        if self.transfer_processor is not None and write.transfer_tasks:
            self.transfer_processor.add_tasks(write.transfer_tasks)
        if self.timer_processor is not None and write.timer_tasks:
            self.timer_processor.add_tasks(write.timer_tasks)
        self.notifier.notify((ms.namespace_id, ms.workflow_id, ms.run_id))
