"""Membership: heartbeats with a ttl; listing shows the live hosts, sorted, optionally by role."""

from __future__ import annotations

from legato_server.persistence.interface import ClusterMember, Persistence
from tests.persistence.builders import unique

NOW = 1_700_000_000_000
TTL = 10_000


def _member(host_id: str, *roles: str, heartbeat_ms: int = NOW) -> ClusterMember:
    return ClusterMember(
        host_id=host_id,
        rpc_address=f"{host_id}.local:7233",
        roles=roles,
        session_start_ms=NOW - 60_000,
        last_heartbeat_ms=heartbeat_ms,
    )


async def test_live_members_are_listed_sorted_by_host_id(persistence: Persistence) -> None:
    role = unique("role")  # the database may hold other tests' hosts
    b, a, c = (
        _member(unique("b-host"), role),
        _member(unique("a-host"), role, "history"),
        _member(unique("c-host"), role),
    )
    for member in (b, a, c):
        await persistence.membership.upsert_member(member, ttl_ms=TTL)

    listed = await persistence.membership.list_members(now_ms=NOW, role=role)

    assert listed == sorted([a, b, c], key=lambda m: m.host_id)
    everyone = await persistence.membership.list_members(now_ms=NOW)
    assert [m.host_id for m in everyone] == sorted(m.host_id for m in everyone)
    assert {a.host_id, b.host_id, c.host_id} <= {m.host_id for m in everyone}


async def test_role_filter(persistence: Persistence) -> None:
    history_role, matching_role = unique("history"), unique("matching")
    both = _member(unique("both"), history_role, matching_role)
    history_only = _member(unique("history-only"), history_role)
    for member in (both, history_only):
        await persistence.membership.upsert_member(member, ttl_ms=TTL)

    assert await persistence.membership.list_members(now_ms=NOW, role=matching_role) == [both]
    assert {m.host_id for m in await persistence.membership.list_members(now_ms=NOW, role=history_role)} == {
        both.host_id,
        history_only.host_id,
    }


async def test_a_member_expires_ttl_after_its_last_heartbeat(persistence: Persistence) -> None:
    role = unique("role")
    member = _member(unique("host"), role)
    await persistence.membership.upsert_member(member, ttl_ms=TTL)

    assert await persistence.membership.list_members(now_ms=NOW + TTL - 1, role=role) == [member]
    assert await persistence.membership.list_members(now_ms=NOW + TTL, role=role) == []


async def test_a_heartbeat_refreshes_the_member(persistence: Persistence) -> None:
    role = unique("role")
    host_id = unique("host")
    await persistence.membership.upsert_member(_member(host_id, role), ttl_ms=TTL)
    refreshed = _member(host_id, role, heartbeat_ms=NOW + TTL - 1)

    await persistence.membership.upsert_member(refreshed, ttl_ms=TTL)

    assert await persistence.membership.list_members(now_ms=NOW + TTL + 5_000, role=role) == [refreshed]


async def test_removed_member_is_gone(persistence: Persistence) -> None:
    role = unique("role")
    staying, leaving = _member(unique("staying"), role), _member(unique("leaving"), role)
    for member in (staying, leaving):
        await persistence.membership.upsert_member(member, ttl_ms=TTL)

    await persistence.membership.remove_member(leaving.host_id)

    assert await persistence.membership.list_members(now_ms=NOW, role=role) == [staying]
