"""Cluster membership: hosts heartbeat a row; a row past its expiry is not a member.

Expired rows are not deleted by readers (a host that comes back refreshes its
own row); ``upsert_member`` prunes rows long expired so the table stays small.
"""

from __future__ import annotations

from legato_server.persistence.interface import ClusterMember, MembershipStore
from legato_server.persistence.mysql.database import Cursor, Database

PRUNE_AFTER_MS = 24 * 3600 * 1000
"""Rows expired for this long are deleted by the next heartbeat of any host."""


class MySQLMembershipStore(MembershipStore):
    def __init__(self, database: Database) -> None:
        self._db = database

    async def upsert_member(self, member: ClusterMember, *, ttl_ms: int) -> None:
        def body(cursor: Cursor) -> None:
            cursor.execute(
                "INSERT INTO cluster_membership "
                "(host_id, rpc_address, roles, session_start_ms, last_heartbeat_ms, expiry_ms) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE rpc_address = VALUES(rpc_address), "
                "roles = VALUES(roles), session_start_ms = VALUES(session_start_ms), "
                "last_heartbeat_ms = VALUES(last_heartbeat_ms), expiry_ms = VALUES(expiry_ms)",
                (
                    member.host_id,
                    member.rpc_address,
                    ",".join(member.roles),
                    member.session_start_ms,
                    member.last_heartbeat_ms,
                    member.last_heartbeat_ms + ttl_ms,
                ),
            )
            cursor.execute(
                "DELETE FROM cluster_membership WHERE expiry_ms < %s",
                (member.last_heartbeat_ms - PRUNE_AFTER_MS,),
            )

        await self._db.write(f"upsert member {member.host_id!r}", body)

    async def list_members(self, *, now_ms: int, role: str | None = None) -> list[ClusterMember]:
        def body(cursor: Cursor) -> list[ClusterMember]:
            cursor.execute(
                "SELECT host_id, rpc_address, roles, session_start_ms, last_heartbeat_ms FROM cluster_membership "
                "WHERE expiry_ms > %s ORDER BY host_id",
                (now_ms,),
            )
            members = [
                ClusterMember(
                    host_id=host_id,
                    rpc_address=rpc_address,
                    roles=tuple(r for r in roles.split(",") if r),
                    session_start_ms=int(session_start_ms),
                    last_heartbeat_ms=int(last_heartbeat_ms),
                )
                for host_id, rpc_address, roles, session_start_ms, last_heartbeat_ms in cursor.fetchall()
            ]
            return [m for m in members if role is None or role in m.roles]

        return await self._db.read("list members", body)

    async def remove_member(self, host_id: str) -> None:
        def body(cursor: Cursor) -> None:
            cursor.execute("DELETE FROM cluster_membership WHERE host_id = %s", (host_id,))

        await self._db.write(f"remove member {host_id!r}", body)
