"""Cluster membership on Cassandra: one small partition of host rows with a TTL.

Liveness is decided by ``expiry_ms`` against the caller's clock (``now_ms``),
so it is exact and testable; the row TTL (a minute past expiry) only keeps
the partition from accumulating hosts that never come back.
"""

from __future__ import annotations

import math

from legato_server.persistence.cassandra.session import CassandraSession
from legato_server.persistence.interface import ClusterMember, MembershipStore

TTL_GRACE_S = 60
MAX_MEMBERS = 10_000


class CassandraMembershipStore(MembershipStore):
    def __init__(self, session: CassandraSession) -> None:
        self._session = session

    async def upsert_member(self, member: ClusterMember, *, ttl_ms: int) -> None:
        await self._session.execute(
            f"upsert member {member.host_id!r}",
            "INSERT INTO cluster_membership (bucket, host_id, rpc_address, roles, session_start_ms, "
            "last_heartbeat_ms, expiry_ms) VALUES (0, ?, ?, ?, ?, ?, ?) USING TTL ?",
            (
                member.host_id,
                member.rpc_address,
                list(member.roles),
                member.session_start_ms,
                member.last_heartbeat_ms,
                member.last_heartbeat_ms + ttl_ms,
                max(1, math.ceil(ttl_ms / 1000)) + TTL_GRACE_S,
            ),
            idempotent=True,
        )

    async def list_members(self, *, now_ms: int, role: str | None = None) -> list[ClusterMember]:
        rows = await self._session.execute(
            "list members",
            "SELECT host_id, rpc_address, roles, session_start_ms, last_heartbeat_ms, expiry_ms "
            "FROM cluster_membership WHERE bucket = 0 LIMIT ?",
            (MAX_MEMBERS,),
            idempotent=True,
        )
        members = [
            ClusterMember(
                host_id=r["host_id"],
                rpc_address=r["rpc_address"],
                roles=tuple(r["roles"] or ()),
                session_start_ms=int(r["session_start_ms"]),
                last_heartbeat_ms=int(r["last_heartbeat_ms"]),
            )
            for r in rows
            if int(r["expiry_ms"]) > now_ms
        ]
        return sorted((m for m in members if role is None or role in m.roles), key=lambda m: m.host_id)

    async def remove_member(self, host_id: str) -> None:
        await self._session.execute(
            f"remove member {host_id!r}",
            "DELETE FROM cluster_membership WHERE bucket = 0 AND host_id = ?",
            (host_id,),
            idempotent=True,
        )
