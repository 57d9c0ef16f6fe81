"""The Cassandra store (production at scale), on the DataStax/Apache cassandra-driver.

Layout: ``session`` (connection, asyncio bridge over ``execute_async``,
consistency levels, error translation), one module per concern (``shards``,
``executions``, ``task_queues``, ``namespaces``, ``membership``,
``visibility``), ``schema`` (what the schema tool runs here). The keyspace's
schema is ``legato_server/schema/cassandra/legato/versioned`` and is applied by
``legato-server schema setup|update --db cassandra``; at open the store only
checks the keyspace's version and refuses an incompatible one with the
versions and the command to run.

Fencing and atomicity come from lightweight transactions on single
partitions; see ``executions`` for how one history update is one conditional
batch on the shard's partition.
"""

from __future__ import annotations

from pathlib import Path

from legato_server.persistence.cassandra.executions import CassandraExecutionStore
from legato_server.persistence.cassandra.membership import CassandraMembershipStore
from legato_server.persistence.cassandra.namespaces import CassandraNamespaceStore
from legato_server.persistence.cassandra.schedules import CassandraScheduleStore
from legato_server.persistence.cassandra.schema import (
    READ_VERSION_CQL,
    check_keyspace_name,
    version_from_rows,
)
from legato_server.persistence.cassandra.session import CassandraSession, KeyspaceMissingError
from legato_server.persistence.cassandra.shards import CassandraClusterMetadataStore, CassandraShardStore
from legato_server.persistence.cassandra.task_queues import CassandraTaskQueueStore
from legato_server.persistence.cassandra.visibility import CassandraVisibilityStore
from legato_server.persistence.config import CassandraConfig
from legato_server.persistence.interface import Persistence
from legato_server.schema.compat import (
    IncompatibleSchemaError,
    check_compatible,
    setup_command,
    shipped_versions,
)


class CassandraPersistence(Persistence):
    def __init__(self, session: CassandraSession) -> None:
        self._session = session
        self.cluster_metadata = CassandraClusterMetadataStore(session)
        self.shards = CassandraShardStore(session)
        self.executions = CassandraExecutionStore(session)
        self.task_queues = CassandraTaskQueueStore(session)
        self.namespaces = CassandraNamespaceStore(session)
        self.membership = CassandraMembershipStore(session)
        self.visibility = CassandraVisibilityStore(session)
        self.schedules = CassandraScheduleStore(session)

    async def close(self) -> None:
        await self._session.close()


def connection_args(config: CassandraConfig) -> str:
    """The schema tool flags that reach this keyspace (the password comes from LEGATO_DB_PASSWORD)."""
    args = f"--host {','.join(config.hosts)} --port {config.port} --keyspace {config.keyspace}"
    if config.user:
        args += f" --user {config.user}"
    return args


async def check_schema(
    session: CassandraSession, config: CassandraConfig, *, schema_root: Path | None = None
) -> str:
    """Refuse a keyspace whose schema version this code cannot use; return its version."""
    action = f"read the schema version of keyspace {config.keyspace!r}"
    tables = await session.execute(
        action,
        "SELECT table_name FROM system_schema.tables WHERE keyspace_name = ? AND table_name = 'schema_version'",
        (config.keyspace,),
        idempotent=True,
    )
    rows = await session.execute(action, READ_VERSION_CQL, ("legato",), idempotent=True) if tables else []
    return check_compatible(
        db="cassandra",
        location=f"keyspace {config.keyspace!r} on {','.join(config.hosts)}:{config.port}",
        current=version_from_rows(rows),
        known=shipped_versions("cassandra", schema_root=schema_root),
        connection_args=connection_args(config),
    )


async def open_cassandra_persistence(
    config: CassandraConfig, *, schema_root: Path | None = None
) -> Persistence:
    """Connect to the keyspace, check its schema version, and return the stores.

    ``schema_root`` replaces the shipped schema directory (tests use it to
    pretend this code needs a newer schema).
    """
    keyspace = check_keyspace_name(config.keyspace)
    try:
        session = await CassandraSession.connect(config, keyspace=keyspace)
    except KeyspaceMissingError as error:
        raise IncompatibleSchemaError(
            f"{error}; create it with: {setup_command('cassandra', connection_args=connection_args(config))}"
        ) from error
    try:
        await check_schema(session, config, schema_root=schema_root)
    except BaseException:
        await session.close()
        raise
    return CassandraPersistence(session)


__all__ = ["CassandraPersistence", "open_cassandra_persistence"]
