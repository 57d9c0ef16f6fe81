"""What the transfer and timer queue processors share: running tasks and acks with retries.

A task that fails (matching unreachable, a peer shard moving, the store down)
is retried with capped exponential backoff until it succeeds or the shard
closes; the ack level never passes it meanwhile, so a crash replays it from the
store. Executors must therefore be idempotent, and they are: each first checks
the run's mutable state and drops a task whose subject is already gone or done.

During an outage every task of a shard fails at once, so transient failures
are logged through one ``TransientLog`` per queue of a shard (``cause``): one
WARNING when they start, a summary now and then, one INFO line on recovery.

The processors sit below the shard: they see it only through ``QueueShard``
(what a processor reads and the one write it makes, persisting ack levels),
and the shard hands them new tasks after each commit. What a task *does* is
the executor the engine gives each processor, so this package knows nothing
of workflows or operations.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from legato_server.common.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from legato_server.common.logs import TransientLog
from legato_server.history.clock import Clock
from legato_server.internal.v1 import history_state_pb2 as hs
from legato_server.persistence import interface as p

log = logging.getLogger(__name__)
transient_log = TransientLog(log)

INITIAL_RETRY_S = 0.1
MAX_RETRY_S = 10.0


class QueueShard(Protocol):
    """The shard as its queue processors see it (``shards.shard.Shard`` implements it)."""

    @property
    def shard_id(self) -> int: ...

    @property
    def range_id(self) -> int: ...

    @property
    def info(self) -> p.ShardInfo: ...

    @property
    def persistence(self) -> p.Persistence: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def closed(self) -> bool: ...

    def transfer_read_ceiling(self) -> int:
        """Highest transfer task id below which every allocated id is committed or abandoned."""
        ...

    def timer_floor_ms(self) -> int | None:
        """Earliest timer time of a write still in flight (None if none)."""
        ...

    async def persist_ack_levels(
        self, *, transfer_ack: int | None = None, timer_ack_ms: int | None = None
    ) -> None: ...


def decode_transfer_task(task: p.TransferTask) -> hs.TransferTaskInfo:
    info = hs.TransferTaskInfo()
    info.ParseFromString(task.data)
    return info


def decode_timer_task(task: p.TimerTask) -> hs.TimerTaskInfo:
    info = hs.TimerTaskInfo()
    info.ParseFromString(task.data)
    return info


async def run_with_retries(
    *,
    clock: Clock,
    cause: str,
    describe: str,
    attempt_fn: Callable[[], Awaitable[None]],
    is_closed: Callable[[], bool],
) -> bool:
    """Run until success; False if the shard closed first.

    ``cause`` groups the log lines of transient failures (e.g. "shard 3 timer
    tasks"); ``describe`` names this task in the lines that are logged.
    """
    delay = INITIAL_RETRY_S
    while not is_closed():
        try:
            await attempt_fn()
            transient_log.succeeded(cause)
            return True
        except asyncio.CancelledError:
            raise
        except NotFound:
            # The run (or the thing the task refers to) is gone: nothing left to do.
            return True
        except (InvalidArgument, FailedPrecondition) as err:
            # Retrying cannot help; dropping it beats blocking the ack level forever.
            log.error("%s: dropped, it can never succeed: %s", describe, err)
            return True
        except Unavailable as err:
            if is_closed():
                return False
            transient_log.failed(cause, f"{describe}: {err}")
        except Exception:
            log.exception("%s failed; retrying in %.1fs", describe, delay)
        await clock.sleep(delay)
        delay = min(delay * 2, MAX_RETRY_S)
    return False


async def ack_forever(
    *,
    clock: Clock,
    interval_s: float,
    cause: str,
    advance: Callable[[], Awaitable[None]],
    is_closed: Callable[[], bool],
) -> None:
    """Call ``advance`` (persist the ack level, delete what is below it) every ``interval_s``.

    A transient failure is retried at the next tick: the ack level and the
    deletion below it catch up once the store is back. The loop ends when the
    shard closes (an ``Unavailable`` then means the shard moved).
    """
    while not is_closed():
        await clock.sleep(interval_s)
        try:
            await advance()
            transient_log.succeeded(cause)
        except asyncio.CancelledError:
            raise
        except Unavailable as err:
            if is_closed():
                return
            transient_log.failed(cause, err)
        except Exception:
            log.exception("%s failed; retrying in %.1fs", cause, interval_s)
