"""This host's membership: register, heartbeat, and the rings of live hosts.

Each process registers itself (host id, RPC address, roles) in the
``MembershipStore`` and refreshes the row every ``heartbeat_interval``; a row
not refreshed within ``ttl`` is no longer listed, so a crashed host drops out
of every ring after at most ``ttl``. After each heartbeat the monitor re-reads
the live members and rebuilds one ``HashRing`` per role; ``on_change`` is
called when a role's ring changed, so a role can re-balance (history acquires
or releases shards; shard fencing keeps a late owner harmless).

The heartbeat is a periodic timer: it is the one place where waiting on a
clock is the point.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import timedelta

from legato_server.common.logs import TransientLog
from legato_server.membership.ring import HashRing
from legato_server.persistence.interface import (
    ClusterMember,
    MembershipStore,
    PersistenceError,
    TransientError,
)

log = logging.getLogger(__name__)
transient_log = TransientLog(log)


def new_host_id() -> str:
    """A host id unique to this process: "<hostname>-<random>"."""
    return f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"


class MembershipMonitor:
    def __init__(
        self,
        *,
        store: MembershipStore,
        host_id: str,
        rpc_address: str,
        roles: Iterable[str],
        heartbeat_interval: timedelta = timedelta(seconds=5),
        ttl: timedelta = timedelta(seconds=20),
        on_change: Callable[[str, HashRing], None] | None = None,
    ) -> None:
        self.host_id = host_id
        self._store = store
        self._rpc_address = rpc_address
        self._roles = tuple(roles)
        self._interval_s = heartbeat_interval.total_seconds()
        self._ttl_ms = int(ttl.total_seconds() * 1000)
        self._on_change = on_change
        self._session_start_ms = _now_ms()
        self._rings: dict[str, HashRing] = {}
        self._loop_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Register, read the live members once, then keep heartbeating in the background."""
        await self._heartbeat()
        await self.refresh()
        self._loop_task = asyncio.create_task(self._heartbeat_loop(), name="membership heartbeat")

    async def stop(self) -> None:
        """Stop heartbeating and leave the ring, so peers take over without waiting for the TTL."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
        try:
            await self._store.remove_member(self.host_id)
        except PersistenceError:
            log.warning("could not deregister host %s; it expires after its TTL", self.host_id)

    def ring(self, role: str) -> HashRing:
        """The ring of live hosts running ``role`` (as of the last refresh)."""
        return self._rings.get(role) or HashRing(())

    def owned_shards(self, num_shards: int, *, role: str = "history") -> list[int]:
        return self.ring(role).shards_of(self.host_id, num_shards)

    async def refresh(self) -> None:
        members = await self._store.list_members(now_ms=_now_ms())
        for role in self._roles or ():
            ring = HashRing(member.host_id for member in members if role in member.roles)
            if ring != self._rings.get(role):
                self._rings[role] = ring
                if self._on_change is not None:
                    self._on_change(role, ring)

    async def _heartbeat(self) -> None:
        await self._store.upsert_member(
            ClusterMember(
                host_id=self.host_id,
                rpc_address=self._rpc_address,
                roles=self._roles,
                session_start_ms=self._session_start_ms,
                last_heartbeat_ms=_now_ms(),
            ),
            ttl_ms=self._ttl_ms,
        )

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            cause = f"membership heartbeat of {self.host_id}"
            try:
                await self._heartbeat()
                await self.refresh()
            except TransientError as err:
                transient_log.failed(cause, err)
                continue
            except PersistenceError:
                log.exception("%s failed; retrying", cause)
                continue
            transient_log.succeeded(cause)


def _now_ms() -> int:
    return int(time.time() * 1000)
