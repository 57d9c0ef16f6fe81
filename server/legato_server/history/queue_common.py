"""What the transfer and timer queue processors share: running one task with retries.

A task that fails (matching unreachable, a peer shard moving) is retried with
capped exponential backoff until it succeeds or the shard closes; the ack
level never passes it meanwhile, so a crash replays it from the store.
Executors must therefore be idempotent, and they are: each first checks the
run's mutable state and drops a task whose subject is already gone or done.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from legato_server.common.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from legato_server.history.clock import Clock

log = logging.getLogger(__name__)

INITIAL_RETRY_S = 0.1
MAX_RETRY_S = 10.0


async def run_with_retries(
    *, clock: Clock, describe: str, attempt_fn: Callable[[], Awaitable[None]], is_closed: Callable[[], bool]
) -> bool:
    """Run until success; False if the shard closed first."""
    delay = INITIAL_RETRY_S
    while not is_closed():
        try:
            await attempt_fn()
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
            log.info("%s: %s; retrying in %.1fs", describe, err, delay)
        except Exception:
            log.exception("%s failed; retrying in %.1fs", describe, delay)
        await clock.sleep(delay)
        delay = min(delay * 2, MAX_RETRY_S)
    return False
