"""MySQL store under connection faults, against real MariaDB.

The server side kills every connection of the store's pool (``KILL <id>``, as
a failover or an idle timeout would). The next read and the next fenced write
must succeed on fresh connections - retried because the failure happened
before anything was committed - and leave exactly one committed result.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from legato_server.persistence.interface import Persistence, ShardOwnershipLostError
from tests import infra
from tests.store_servers import create_schema, drop_schema


@pytest.fixture
async def mysql_store() -> AsyncIterator[tuple[Persistence, str]]:
    infra.require_mysql()
    from legato_server.persistence.mysql import open_mysql_persistence

    name = f"legato_faults_{uuid.uuid4().hex[:10]}"
    create_schema("mysql", name)
    store = await open_mysql_persistence(infra.mysql_config(name, pool_size=4))
    try:
        yield store, name
    finally:
        await store.close()
        drop_schema("mysql", name)


def kill_connections_to(database: str) -> int:
    """Kill (server side) every connection using ``database``; return how many."""
    admin = infra.mysql_connect()
    try:
        with admin.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM information_schema.processlist WHERE db = %s AND id <> CONNECTION_ID()",
                (database,),
            )
            ids = [row[0] for row in cursor.fetchall()]
            for connection_id in ids:
                cursor.execute(f"KILL {int(connection_id)}")
        return len(ids)
    finally:
        admin.close()


async def test_reads_and_fenced_writes_survive_killed_connections(
    mysql_store: tuple[Persistence, str],
) -> None:
    store, name = mysql_store
    shard = await store.shards.get_or_create_shard(7)
    assert kill_connections_to(name) >= 1  # the pool really had connections to lose

    again = await store.shards.get_or_create_shard(7)  # a read on a dead pooled connection
    assert again.range_id == shard.range_id

    assert kill_connections_to(name) >= 1
    acquired = type(shard)(shard_id=7, range_id=shard.range_id + 1, owner="host-a")
    await store.shards.update_shard(acquired, previous_range_id=shard.range_id)  # a fenced write

    stored = await store.shards.get_or_create_shard(7)
    assert (stored.range_id, stored.owner) == (shard.range_id + 1, "host-a")  # committed exactly once
    # The retried write did not apply twice: a writer still holding the old range is fenced off.
    with pytest.raises(ShardOwnershipLostError):
        stale = type(shard)(shard_id=7, range_id=shard.range_id + 1, owner="host-b")
        await store.shards.update_shard(stale, previous_range_id=shard.range_id)
