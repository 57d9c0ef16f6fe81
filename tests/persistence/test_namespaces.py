"""Namespaces: unique by name and by id, conditional updates, paged listing by name."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from legato_server.persistence.interface import (
    AlreadyExistsError,
    ConditionFailedError,
    NamespaceRecord,
    NotFoundError,
    Persistence,
)
from tests.persistence.builders import unique
from tests.persistence.conftest import OpenStore


def _namespace(name: str | None = None, *, id: str | None = None) -> NamespaceRecord:
    name = name or unique("namespace")
    return NamespaceRecord(
        id=id or unique("ns-id"), name=name, data=f"info:{name}".encode(), notification_version=1
    )


async def test_get_by_name_and_by_id(persistence: Persistence) -> None:
    record = _namespace()

    await persistence.namespaces.create_namespace(record)

    assert await persistence.namespaces.get_namespace(name=record.name) == record
    assert await persistence.namespaces.get_namespace(id=record.id) == record


@pytest.mark.parametrize("lookup", ["name", "id"])
async def test_missing_namespace_is_not_found(persistence: Persistence, lookup: str) -> None:
    with pytest.raises(NotFoundError):
        await persistence.namespaces.get_namespace(**{lookup: unique("missing")})


@pytest.mark.parametrize("clash", ["same-name", "same-id"])
async def test_name_and_id_are_each_unique(persistence: Persistence, clash: str) -> None:
    existing = _namespace()
    await persistence.namespaces.create_namespace(existing)
    duplicate = _namespace(existing.name) if clash == "same-name" else _namespace(id=existing.id)

    with pytest.raises(AlreadyExistsError):
        await persistence.namespaces.create_namespace(duplicate)

    assert await persistence.namespaces.get_namespace(id=existing.id) == existing
    assert await persistence.namespaces.get_namespace(name=existing.name) == existing
    if clash == "same-id":
        with pytest.raises(NotFoundError):
            await persistence.namespaces.get_namespace(name=duplicate.name)


async def test_update_with_the_read_version_overwrites_data(persistence: Persistence) -> None:
    record = _namespace()
    await persistence.namespaces.create_namespace(record)
    changed = NamespaceRecord(id=record.id, name=record.name, data=b"new-info", notification_version=2)

    await persistence.namespaces.update_namespace(changed, previous_notification_version=1)

    assert await persistence.namespaces.get_namespace(id=record.id) == changed


@pytest.mark.parametrize("previous_version", [0, 2], ids=["stale-read", "future-read"])
async def test_update_with_another_version_fails_and_writes_nothing(
    persistence: Persistence, previous_version: int
) -> None:
    record = _namespace()
    await persistence.namespaces.create_namespace(record)
    changed = NamespaceRecord(
        id=record.id, name=record.name, data=b"lost-update", notification_version=previous_version + 1
    )

    with pytest.raises(ConditionFailedError):
        await persistence.namespaces.update_namespace(changed, previous_notification_version=previous_version)

    assert await persistence.namespaces.get_namespace(id=record.id) == record


async def test_list_pages_through_all_namespaces_in_name_order(persistence: Persistence) -> None:
    # Other tests may share the database, so check ours appear in order, once,
    # within a listing that is sorted as a whole.
    prefix = unique("list")
    ours = [_namespace(f"{prefix}-{letter}") for letter in "ecadb"]
    for record in ours:
        await persistence.namespaces.create_namespace(record)
    listed: list[NamespaceRecord] = []
    token = b""

    while True:
        page, token = await persistence.namespaces.list_namespaces(page_size=2, page_token=token)
        assert len(page) <= 2
        listed.extend(page)
        if not token:
            break

    names = [record.name for record in listed]
    assert names == sorted(names)
    assert len(names) == len(set(names))
    assert [r for r in listed if r.name.startswith(prefix)] == sorted(ours, key=lambda r: r.name)


async def test_delete_removes_the_namespace_and_frees_its_name(persistence: Persistence) -> None:
    record = _namespace()
    await persistence.namespaces.create_namespace(record)

    await persistence.namespaces.delete_namespace(id=record.id)

    for lookup in ({"name": record.name}, {"id": record.id}):
        with pytest.raises(NotFoundError):
            await persistence.namespaces.get_namespace(**lookup)
    again = _namespace(record.name)
    await persistence.namespaces.create_namespace(again)
    assert await persistence.namespaces.get_namespace(name=record.name) == again


async def test_delete_is_idempotent_and_spares_a_namespace_registered_again_under_the_name(
    persistence: Persistence,
) -> None:
    # A second deleter finishing late names the old id: the new namespace of the same name stays.
    old = _namespace()
    await persistence.namespaces.create_namespace(old)
    await persistence.namespaces.delete_namespace(id=old.id)
    new = _namespace(old.name)
    await persistence.namespaces.create_namespace(new)

    await persistence.namespaces.delete_namespace(id=old.id)
    await persistence.namespaces.delete_namespace(id=unique("never-existed"))

    assert await persistence.namespaces.get_namespace(name=old.name) == new
    assert await persistence.namespaces.get_namespace(id=new.id) == new


async def test_a_deleted_namespace_is_not_listed(persistence: Persistence) -> None:
    prefix = unique("listdel")
    kept, deleted = _namespace(f"{prefix}-a"), _namespace(f"{prefix}-b")
    for record in (kept, deleted):
        await persistence.namespaces.create_namespace(record)

    await persistence.namespaces.delete_namespace(id=deleted.id)

    listed, token = await persistence.namespaces.list_namespaces(page_size=1000)
    assert token == b""
    assert [r for r in listed if r.name.startswith(prefix)] == [kept]


async def test_concurrent_creates_of_one_name_have_one_winner_that_every_reader_sees(
    persistence: Persistence,
) -> None:
    # Every host of a cluster registers the configured namespaces as it starts, all at once.
    name = unique("race")
    contenders = [_namespace(name) for _ in range(12)]

    outcomes = await asyncio.gather(
        *(persistence.namespaces.create_namespace(record) for record in contenders), return_exceptions=True
    )

    winners = [record for record, outcome in zip(contenders, outcomes, strict=True) if outcome is None]
    losers = [outcome for outcome in outcomes if outcome is not None]
    assert len(winners) == 1, outcomes
    assert all(isinstance(outcome, AlreadyExistsError) for outcome in losers), losers
    assert await persistence.namespaces.get_namespace(name=name) == winners[0]
    for record in contenders:
        if record is not winners[0]:
            with pytest.raises(NotFoundError):
                await persistence.namespaces.get_namespace(id=record.id)


class _PausedAfterFirstWrite:
    """A Cassandra session that holds its caller after the first write returns, until released."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self.paused = asyncio.Event()
        self.release = asyncio.Event()

    async def execute(self, action: str, cql: str, params: Any = (), **kwargs: Any) -> Any:
        rows = await self._session.execute(action, cql, params, **kwargs)
        if not self.paused.is_set() and cql.split(None, 1)[0] in ("INSERT", "UPDATE", "DELETE"):
            self.paused.set()
            await self.release.wait()
        return rows


@pytest.mark.parametrize("store_kind", ["cassandra"])
async def test_a_create_paused_between_its_two_cassandra_writes_is_not_overtaken(
    persistence: Persistence, open_store: OpenStore
) -> None:
    # Cassandra writes the record and the name index in two steps; another host's create of
    # the same name landing between them must not make a second namespace of that name.
    from legato_server.persistence.cassandra.namespaces import CassandraNamespaceStore

    other_host = await open_store()
    paused = _PausedAfterFirstWrite(other_host.namespaces._session)  # type: ignore[attr-defined]
    slow = _namespace()
    slow_create = asyncio.create_task(CassandraNamespaceStore(paused).create_namespace(slow))  # type: ignore[arg-type]
    await asyncio.wait_for(paused.paused.wait(), 30)
    fast = _namespace(slow.name)

    await persistence.namespaces.create_namespace(fast)
    paused.release.set()
    with pytest.raises(AlreadyExistsError):
        await slow_create

    assert await persistence.namespaces.get_namespace(name=slow.name) == fast
    with pytest.raises(NotFoundError):
        await persistence.namespaces.get_namespace(id=slow.id)


@pytest.mark.parametrize("store_kind", ["cassandra"])
async def test_a_name_left_by_an_interrupted_cassandra_delete_is_free(persistence: Persistence) -> None:
    # A delete removes the record first; one that dies before releasing the name leaves the name row.
    old = _namespace()
    await persistence.namespaces.create_namespace(old)
    session = persistence.namespaces._session  # type: ignore[attr-defined]
    await session.execute("test", "DELETE FROM namespaces_by_id WHERE id = ?", (old.id,))

    with pytest.raises(NotFoundError):
        await persistence.namespaces.get_namespace(name=old.name)
    again = _namespace(old.name)
    await persistence.namespaces.create_namespace(again)
    assert await persistence.namespaces.get_namespace(name=old.name) == again
