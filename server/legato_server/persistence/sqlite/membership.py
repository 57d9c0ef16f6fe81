"""Cluster membership: hosts heartbeat a row; whoever lists sees the live ones.

Liveness is an expiry time computed at write time (last heartbeat + ttl), so
"live at now_ms" is a plain comparison and every host, given the same now_ms,
computes the same ring. Expired rows are left in place (a restarted host
overwrites its own); they are invisible to ``list_members``. Roles are stored
comma-separated and filtered here: a cluster has tens of hosts, not millions.
"""

from __future__ import annotations

from legato_server.persistence.interface import ClusterMember, MembershipStore
from legato_server.persistence.sqlite.database import Database

_ROLE_SEPARATOR = ","


class SQLiteMembershipStore(MembershipStore):
    def __init__(self, database: Database) -> None:
        self._database = database

    async def upsert_member(self, member: ClusterMember, *, ttl_ms: int) -> None:
        for role in member.roles:
            if _ROLE_SEPARATOR in role or not role:
                raise ValueError(f"invalid role name {role!r}")
        with self._database.write(f"upsert member {member.host_id!r}") as connection:
            connection.execute(
                "INSERT OR REPLACE INTO cluster_membership "
                "(host_id, rpc_address, roles, session_start_ms, last_heartbeat_ms, expiry_ms) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    member.host_id,
                    member.rpc_address,
                    _ROLE_SEPARATOR.join(member.roles),
                    member.session_start_ms,
                    member.last_heartbeat_ms,
                    member.last_heartbeat_ms + ttl_ms,
                ),
            )

    async def list_members(self, *, now_ms: int, role: str | None = None) -> list[ClusterMember]:
        with self._database.read("list members") as connection:
            rows = connection.execute(
                "SELECT host_id, rpc_address, roles, session_start_ms, last_heartbeat_ms "
                "FROM cluster_membership WHERE expiry_ms > ? ORDER BY host_id",
                (now_ms,),
            ).fetchall()
        members = [
            ClusterMember(
                host_id=host_id,
                rpc_address=rpc_address,
                roles=tuple(roles.split(_ROLE_SEPARATOR)) if roles else (),
                session_start_ms=session_start_ms,
                last_heartbeat_ms=last_heartbeat_ms,
            )
            for host_id, rpc_address, roles, session_start_ms, last_heartbeat_ms in rows
        ]
        return members if role is None else [member for member in members if role in member.roles]

    async def remove_member(self, host_id: str) -> None:
        with self._database.write(f"remove member {host_id!r}") as connection:
            connection.execute("DELETE FROM cluster_membership WHERE host_id = ?", (host_id,))
