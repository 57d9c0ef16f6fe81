"""This host's membership: register, heartbeat, and the rings of live hosts.

Each process registers itself (host id, RPC address, roles) in the
``MembershipStore`` and refreshes the row every ``heartbeat_interval``; a row
not refreshed within ``ttl`` is no longer listed, so a crashed host drops out
of every ring after at most ``ttl``. Every ``refresh_interval`` (shorter) the
monitor re-reads the live members and rebuilds one ``HashRing`` per role, for
every role, not only its own: a frontend routes to history and matching hosts
by their rings. Listeners (``add_listener``) are called when a role's ring
changed, so a role can re-balance (history acquires or releases shards,
matching unloads task queues it no longer owns); fencing in storage keeps a
host that acts on a stale ring harmless, the rings only make it efficient.

Every host reads the same rows, so all hosts converge on the same rings within
one refresh interval. A host that cannot read the store keeps its last rings
(and keeps retrying) rather than concluding it is alone.

``leave()`` deletes this host's row at once (a graceful stop), so peers move
its work within one refresh interval instead of waiting out the TTL.
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
        refresh_interval: timedelta = timedelta(seconds=1),
        ttl: timedelta = timedelta(seconds=20),
        all_roles: Iterable[str] = ("frontend", "history", "matching"),
    ) -> None:
        self.host_id = host_id
        self.rpc_address = rpc_address
        self._store = store
        self._roles = tuple(roles)
        self._all_roles = tuple(dict.fromkeys((*all_roles, *self._roles)))
        self._heartbeat_s = heartbeat_interval.total_seconds()
        self._refresh_s = min(refresh_interval.total_seconds(), self._heartbeat_s)
        self._ttl_ms = int(ttl.total_seconds() * 1000)
        self._listeners: list[Callable[[str, HashRing], None]] = []
        self._session_start_ms = _now_ms()
        self._rings: dict[str, HashRing] = {}
        self._addresses: dict[str, str] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._left = False
        self.refreshed_at = 0.0
        """``time.monotonic()`` of the last successful read of the members."""

    async def start(self, *, within: timedelta = timedelta(seconds=30)) -> None:
        """Register, read the live members once, then keep heartbeating in the background.

        A transient store error (a deadlock between hosts registering at once, a
        store that is still starting) is retried until ``within`` has passed.
        """
        deadline = time.monotonic() + within.total_seconds()
        delay = 0.1
        while True:
            try:
                await self._heartbeat()
                await self.refresh()
                break
            except TransientError as err:
                if time.monotonic() + delay > deadline:
                    raise
                transient_log.failed(f"membership registration of {self.host_id}", err)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
        self._loop_task = asyncio.create_task(self._heartbeat_loop(), name="membership heartbeat")

    async def stop(self) -> None:
        """Stop heartbeating and leave the ring, so peers take over without waiting for the TTL."""
        await self.leave()

    async def leave(self) -> None:
        """Delete this host's row and stop heartbeating and refreshing (idempotent)."""
        if self._left:
            return
        self._left = True
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
            self._loop_task = None
        try:
            await self._store.remove_member(self.host_id)
            await self.refresh()  # our own rings without us: what is still routed goes to peers
        except PersistenceError:
            log.warning("could not deregister host %s; it expires after its TTL", self.host_id)

    def add_listener(self, listener: Callable[[str, HashRing], None]) -> None:
        """Call ``listener(role, ring)`` whenever the ring of a role changes."""
        self._listeners.append(listener)

    def ring(self, role: str) -> HashRing:
        """The ring of live hosts running ``role`` (as of the last refresh)."""
        return self._rings.get(role) or HashRing(())

    def addresses(self) -> set[str]:
        """The RPC addresses of every live host (as of the last refresh)."""
        return set(self._addresses.values())

    def address_of(self, host_id: str) -> str | None:
        """The RPC address a live host registered, or None if it is not (or no longer) listed."""
        return self._addresses.get(host_id)

    def owned_shards(self, num_shards: int, *, role: str = "history") -> list[int]:
        return self.ring(role).shards_of(self.host_id, num_shards)

    async def refresh(self) -> None:
        members = await self._store.list_members(now_ms=_now_ms())
        if self._left:
            members = [member for member in members if member.host_id != self.host_id]
        self._addresses = {member.host_id: member.rpc_address for member in members}
        self.refreshed_at = time.monotonic()
        for role in self._all_roles:
            ring = HashRing(member.host_id for member in members if role in member.roles)
            if ring != self._rings.get(role):
                self._rings[role] = ring
                for listener in self._listeners:
                    listener(role, ring)

    async def _heartbeat(self) -> None:
        await self._store.upsert_member(
            ClusterMember(
                host_id=self.host_id,
                rpc_address=self.rpc_address,
                roles=self._roles,
                session_start_ms=self._session_start_ms,
                last_heartbeat_ms=_now_ms(),
            ),
            ttl_ms=self._ttl_ms,
        )

    async def _heartbeat_loop(self) -> None:
        last_heartbeat = time.monotonic()
        while True:
            await asyncio.sleep(self._refresh_s)
            cause = f"membership heartbeat of {self.host_id}"
            try:
                if time.monotonic() - last_heartbeat >= self._heartbeat_s:
                    await self._heartbeat()
                    last_heartbeat = time.monotonic()
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
