"""NamespaceRegistry: lookups, cache refresh, and errors, on a real SQLite store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import grpc
import pytest

from legato_server.common import errors
from legato_server.namespace import NamespaceRegistry
from legato_server.persistence.config import PersistenceConfig
from legato_server.persistence.factory import create_persistence
from legato_server.persistence.interface import NamespaceRecord, NamespaceStore, Persistence, TransientError


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def persistence() -> AsyncIterator[Persistence]:
    store = await create_persistence(PersistenceConfig())
    yield store
    await store.close()


async def test_register_and_look_up_by_name_and_id(persistence: Persistence) -> None:
    registry = NamespaceRegistry(persistence.namespaces)
    entry = await registry.register(
        name="orders", retention=timedelta(days=2), description="d", data={"a": "b"}
    )
    assert await registry.get_by_name("orders") == entry
    assert await registry.get_by_id(entry.id) == entry
    assert entry.retention == timedelta(days=2)
    assert dict(entry.data) == {"a": "b"}


async def test_unknown_namespaces_are_not_found_with_the_name(persistence: Persistence) -> None:
    registry = NamespaceRegistry(persistence.namespaces)
    with pytest.raises(errors.NotFound, match='^namespace "ghost" not found$'):
        await registry.get_by_name("ghost")
    with pytest.raises(errors.NotFound):
        await registry.get_by_id("no-such-id")


async def test_a_change_by_another_host_is_seen_after_the_refresh_interval(persistence: Persistence) -> None:
    clock = FakeMonotonic()
    here = NamespaceRegistry(persistence.namespaces, refresh_interval=timedelta(seconds=10), monotonic=clock)
    elsewhere = NamespaceRegistry(persistence.namespaces)
    await here.register(name="shared", description="v1")
    assert (await here.get_by_name("shared")).description == "v1"
    await elsewhere.update(name="shared", description="v2")
    assert (await here.get_by_name("shared")).description == "v1"  # cached
    clock.now += 11
    assert (await here.get_by_name("shared")).description == "v2"


async def test_a_namespace_registered_elsewhere_is_usable_at_once(persistence: Persistence) -> None:
    here = NamespaceRegistry(persistence.namespaces)
    with pytest.raises(errors.NotFound):
        await here.get_by_name("late")
    await NamespaceRegistry(persistence.namespaces).register(name="late")
    assert (await here.get_by_name("late")).name == "late"


async def test_ensure_is_idempotent(persistence: Persistence) -> None:
    registry = NamespaceRegistry(persistence.namespaces)
    first = await registry.ensure(name="default")
    second = await registry.ensure(name="default")
    assert first.id == second.id


async def test_update_merges_data_and_bumps_the_version(persistence: Persistence) -> None:
    registry = NamespaceRegistry(persistence.namespaces)
    created = await registry.register(name="ns", data={"a": "1"}, owner_email="x@y")
    updated = await registry.update(name="ns", data={"b": "2"}, retention=timedelta(days=9))
    assert dict(updated.data) == {"a": "1", "b": "2"}
    assert updated.owner_email == "x@y"
    assert updated.retention == timedelta(days=9)
    assert updated.notification_version == created.notification_version + 1


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        pytest.param({"name": "bad name"}, "not allowed", id="name"),
        pytest.param(
            {"name": "ok", "retention": timedelta(minutes=59)}, "the minimum is 1:00:00", id="retention"
        ),
    ],
)
async def test_register_validates(persistence: Persistence, kwargs: dict, needle: str) -> None:  # type: ignore[type-arg]
    registry = NamespaceRegistry(persistence.namespaces)
    with pytest.raises(errors.InvalidArgument, match=needle):
        await registry.register(**kwargs)
    entries, _ = await registry.list()
    assert entries == []


class OutageNamespaceStore:
    """The real store, except that every read fails like an unreachable database while ``down``."""

    def __init__(self, store: NamespaceStore) -> None:
        self._store = store
        self.down = False

    async def get_namespace(self, **kwargs: str) -> NamespaceRecord:
        if self.down:
            raise TransientError("get namespace: the database is unreachable")
        return await self._store.get_namespace(**kwargs)

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)


async def test_a_cached_namespace_is_served_through_a_store_outage(persistence: Persistence) -> None:
    clock = FakeMonotonic()
    store = OutageNamespaceStore(persistence.namespaces)
    registry = NamespaceRegistry(store, refresh_interval=timedelta(seconds=10), monotonic=clock)  # type: ignore[arg-type]
    entry = await registry.register(name="orders", description="v1")
    store.down = True
    clock.now += 3600  # far past the refresh interval: the entry is stale
    assert await registry.get_by_name("orders") == entry
    assert await registry.get_by_id(entry.id) == entry
    store.down = False
    await NamespaceRegistry(persistence.namespaces).update(name="orders", description="v2")
    assert (await registry.get_by_name("orders")).description == "v2"  # re-read once the store is back


async def test_an_uncached_namespace_during_an_outage_is_unavailable_not_internal(
    persistence: Persistence,
) -> None:
    await NamespaceRegistry(persistence.namespaces).register(name="orders")
    store = OutageNamespaceStore(persistence.namespaces)
    store.down = True
    registry = NamespaceRegistry(store)  # type: ignore[arg-type]
    with pytest.raises(errors.Unavailable, match="the database is unreachable") as caught:
        await registry.get_by_name("orders")
    assert caught.value.code == grpc.StatusCode.UNAVAILABLE
