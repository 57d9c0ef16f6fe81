"""Which stores the conformance suite runs against, and how each one is opened.

Every test in this folder takes the ``persistence`` fixture and so runs once
per store kind (ids ``[sqlite]``, ``[mysql]``, ``[cassandra]``). This file is
the one place that knows how to reach each kind:

* sqlite: a fresh file under the test's tmp_path (real file, WAL and all).
* mysql / cassandra: the server from ``tests.infra`` (skipped off CI when it
  is not running, failed in CI), one database/keyspace per test session named
  ``legato_test_<random>``. Tests therefore never assume an empty database:
  they use unique ids (see ``builders``) and only assert on their own rows.

``prepare_store`` is the hook for kinds that need setup before opening (the
MySQL/Cassandra schema tool); it runs once per kind per session.

``open_store`` opens *additional* instances on the same database, which the
ownership race tests use to model two hosts.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from legato_server.persistence.config import (
    CassandraConfig,
    PersistenceConfig,
    SQLiteConfig,
)
from legato_server.persistence.factory import create_persistence
from legato_server.persistence.interface import Persistence, ShardInfo
from tests import infra
from tests.persistence.builders import acquire_shard, unique_shard_id

STORE_KINDS = ("sqlite", "mysql", "cassandra")

SESSION_DATABASE = f"legato_test_{secrets.token_hex(4)}"
"""The MySQL database / Cassandra keyspace this test session uses."""

_prepared_kinds: set[str] = set()


async def prepare_store(kind: str, config: PersistenceConfig) -> None:
    """Get the database ready for ``create_persistence(config)``; runs once per kind per session.

    SQLite applies its schema itself when it opens. MySQL and Cassandra get
    their database/keyspace created and brought to the newest schema by the
    schema tool, as an operator would (``legato-server schema setup`` then
    ``update``).
    """
    if kind == "sqlite":
        return
    if kind in ("mysql", "cassandra"):
        import asyncio

        from legato_server import schema_tool

        db_config = config.mysql if kind == "mysql" else config.cassandra
        await asyncio.to_thread(schema_tool.run, "setup", kind, db_config)
        await asyncio.to_thread(schema_tool.run, "update", kind, db_config)
        return
    raise ValueError(f"unknown store kind {kind!r}")


def config_for(kind: str, tmp_path: Path) -> PersistenceConfig:
    """The configuration of a ``kind`` store for one test (skipping if it cannot run here)."""
    if kind == "sqlite":
        return PersistenceConfig(kind="sqlite", sqlite=SQLiteConfig(path=tmp_path / "legato.db"))
    if kind == "mysql":
        infra.require_mysql()
        return PersistenceConfig(
            kind="mysql",
            mysql=infra.mysql_config(SESSION_DATABASE),
        )
    if kind == "cassandra":
        infra.require_cassandra()
        return PersistenceConfig(
            kind="cassandra",
            cassandra=CassandraConfig(
                hosts=[infra.CASSANDRA_HOST], port=infra.CASSANDRA_PORT, keyspace=SESSION_DATABASE
            ),
        )
    raise ValueError(f"unknown store kind {kind!r}")


@pytest.fixture(scope="session", autouse=True)
def _drop_session_databases() -> Iterator[None]:
    """At the end of the session, drop the MySQL database and Cassandra keyspace it created."""
    yield
    from tests.store_servers import drop_schema

    for kind in sorted(_prepared_kinds - {"sqlite"}):
        drop_schema(kind, SESSION_DATABASE)


@pytest.fixture(params=STORE_KINDS)
def store_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def persistence_config(store_kind: str, tmp_path: Path) -> PersistenceConfig:
    return config_for(store_kind, tmp_path)


OpenStore = Callable[[], Awaitable[Persistence]]


@pytest.fixture
async def open_store(store_kind: str, persistence_config: PersistenceConfig) -> AsyncIterator[OpenStore]:
    """Opens a new store instance on the test's database each call; closes them all afterwards."""
    if store_kind not in _prepared_kinds:
        await prepare_store(store_kind, persistence_config)
        _prepared_kinds.add(store_kind)
    opened: list[Persistence] = []

    async def open_one() -> Persistence:
        store = await create_persistence(persistence_config)
        opened.append(store)
        return store

    yield open_one
    for store in reversed(opened):
        await store.close()


@pytest.fixture
async def persistence(open_store: OpenStore) -> Persistence:
    return await open_store()


@pytest.fixture
async def shard(persistence: Persistence) -> ShardInfo:
    """A fresh shard owned (range_id 1) through ``persistence``."""
    return await acquire_shard(persistence, unique_shard_id())
