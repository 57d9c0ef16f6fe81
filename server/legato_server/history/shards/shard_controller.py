"""Which history shards this host owns: the membership ring decides, this module acts.

On every change of the history ring, and every ``recheck_interval`` in case a
change was missed or an acquire failed, the controller computes the shards the
ring gives this host, releases those it lost (stop accepting, stop the queue
processors) and acquires those it gained (bump ``range_id``, load, start the
processors). Acquiring steals a shard from a dead or paused owner: the bump
fences that owner's writes off, which is what makes moving shards safe; the
ring only keeps moves rare and agreed on.

A request that reaches this host for a shard the ring gives it before the
controller has acquired it does not wait for the next round: the handler
acquires on first use (``HistoryEngine.should_own``).

``ready`` turns true once every shard the ring gives this host is owned; the
health service reports NOT_SERVING until then, so a pod receives traffic only
when its shards are loaded.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from legato_server.common.logs import TransientLog
from legato_server.history.shards.engine import HistoryEngine

log = logging.getLogger(__name__)
transient_log = TransientLog(log)

RECHECK_INTERVAL_S = 5.0
ACQUIRE_CONCURRENCY = 8


class ShardController:
    def __init__(
        self, engine: HistoryEngine, membership: Any, *, recheck_interval_s: float = RECHECK_INTERVAL_S
    ) -> None:
        self._engine = engine
        self._membership = membership
        self._recheck_s = recheck_interval_s
        self._changed = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        self._stopped = False
        self.ready = False
        engine.should_own = self.should_own
        membership.add_listener(self._on_ring_change)

    def should_own(self, shard_id: int) -> bool:
        if self._stopped or self._fenced_since_refresh(shard_id):
            return False
        ring = self._membership.ring("history")
        return bool(ring.hosts) and ring.shard_owner(shard_id) == self._membership.host_id

    def desired(self) -> set[int]:
        if self._stopped:
            return set()
        ring = self._membership.ring("history")
        mine = ring.shards_of(self._membership.host_id, self._engine.num_shards)
        return {shard_id for shard_id in mine if not self._fenced_since_refresh(shard_id)}

    def _fenced_since_refresh(self, shard_id: int) -> bool:
        """Another host took the shard after our last look at the ring: our ring is stale for it.

        Taking it back now would only fence the new owner off in turn; wait
        for the next membership refresh, which tells who should own it.
        """
        fenced_at = self._engine.fenced_at.get(shard_id)
        return fenced_at is not None and fenced_at >= self._membership.refreshed_at

    def owned(self) -> set[int]:
        return {shard_id for shard_id, shard in self._engine.shards.items() if not shard.closed}

    async def start(self) -> None:
        await self.rebalance()
        self._loop = asyncio.create_task(self._run(), name="history shard controller")

    def _on_ring_change(self, role: str, ring: Any) -> None:
        if role == "history":
            self._changed.set()

    async def _run(self) -> None:
        while not self._stopped:
            try:
                await asyncio.wait_for(self._changed.wait(), self._recheck_s)
            except TimeoutError:
                pass
            self._changed.clear()
            await self.rebalance()

    async def rebalance(self) -> None:
        """Release the shards the ring took away, acquire those it gave; failures wait for the next round."""
        desired, owned = self.desired(), self.owned()
        lost, gained = owned - desired, desired - owned
        if lost or gained:
            log.info(
                "history host %s: ring gives %d shards; releasing %s, acquiring %s",
                self._membership.host_id,
                len(desired),
                sorted(lost) or "none",
                sorted(gained) or "none",
            )
        for shard_id in sorted(lost):
            await self._engine.release_shard(shard_id)
        semaphore = asyncio.Semaphore(ACQUIRE_CONCURRENCY)

        async def acquire(shard_id: int) -> None:
            async with semaphore:
                try:
                    await self._engine.acquire_shard(shard_id)
                    transient_log.succeeded("history shard acquisition")
                except Exception as err:  # noqa: BLE001 - retried next round, whatever it was
                    transient_log.failed("history shard acquisition", f"shard {shard_id}: {err}")

        await asyncio.gather(*(acquire(shard_id) for shard_id in sorted(gained)))
        in_ring = self._membership.host_id in self._membership.ring("history").hosts
        self.ready = in_ring and desired <= self.owned()

    async def stop(self) -> None:
        """Stop rebalancing and release every shard (a graceful stop: new owners take them at once)."""
        self._stopped = True
        self.ready = False
        if self._loop is not None:
            self._loop.cancel()
            await asyncio.gather(self._loop, return_exceptions=True)
        await self._engine.stop()
