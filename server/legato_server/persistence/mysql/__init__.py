"""The MySQL / MariaDB store (production SQL), on pymysql.

Layout: ``database`` (pool, thread pool, transactions, faults and retries),
one module per concern (``shards``, ``executions``, ``task_queues``,
``namespaces``, ``membership``, ``visibility``), ``schema`` (what the schema
tool runs here). The schema is ``legato_server/schema/mysql/legato/versioned``
and is applied by ``legato-server schema setup|update --db mysql``, never by
the server: at open the store only checks that the database's version is one
this code can use, and refuses with the versions and the command otherwise.
"""

from __future__ import annotations

from pathlib import Path

from legato_server.persistence.config import MySQLConfig
from legato_server.persistence.interface import Persistence, PersistenceError
from legato_server.persistence.mysql.database import UNKNOWN_DATABASE, Database, error_code
from legato_server.persistence.mysql.executions import MySQLExecutionStore
from legato_server.persistence.mysql.membership import MySQLMembershipStore
from legato_server.persistence.mysql.namespaces import MySQLNamespaceStore
from legato_server.persistence.mysql.schedules import MySQLScheduleStore
from legato_server.persistence.mysql.schema import read_current_version
from legato_server.persistence.mysql.shards import MySQLClusterMetadataStore, MySQLShardStore
from legato_server.persistence.mysql.task_queues import MySQLTaskQueueStore
from legato_server.persistence.mysql.visibility import MySQLVisibilityStore
from legato_server.schema.compat import check_compatible, shipped_versions


class MySQLPersistence(Persistence):
    def __init__(self, database: Database, visibility_database: Database) -> None:
        self._database = database
        self._visibility_database = visibility_database
        self.cluster_metadata = MySQLClusterMetadataStore(database)
        self.shards = MySQLShardStore(database)
        self.executions = MySQLExecutionStore(database)
        self.task_queues = MySQLTaskQueueStore(database)
        self.namespaces = MySQLNamespaceStore(database)
        self.membership = MySQLMembershipStore(database)
        self.visibility = MySQLVisibilityStore(visibility_database)
        self.schedules = MySQLScheduleStore(database)

    async def close(self) -> None:
        await self._database.close()
        if self._visibility_database is not self._database:
            await self._visibility_database.close()


def connection_args(config: MySQLConfig, *, database: str | None = None) -> str:
    """The schema tool flags that reach this database (the password comes from LEGATO_DB_PASSWORD)."""
    return f"--host {config.host} --port {config.port} --user {config.user} --database {database or config.database}"


async def check_schema(database: Database, config: MySQLConfig, *, schema_root: Path | None = None) -> str:
    """Refuse a database whose schema version this code cannot use; return its version."""
    try:
        current = await database.read(f"read the schema version of {database.name!r}", read_current_version)
    except PersistenceError as error:
        if error_code(error.__cause__) != UNKNOWN_DATABASE:
            raise
        current = None  # no database at all: the same advice as an empty one
    return check_compatible(
        db="mysql",
        location=f"database {database.name!r} on {config.host}:{config.port}",
        current=current,
        known=shipped_versions("mysql", schema_root=schema_root),
        connection_args=connection_args(config, database=database.name),
    )


async def open_mysql_persistence(config: MySQLConfig, *, schema_root: Path | None = None) -> Persistence:
    """Connect, check the schema version, and return the stores.

    ``schema_root`` replaces the shipped schema directory (tests use it to
    pretend this code needs a newer schema).
    """
    database = Database(config)
    visibility = database
    try:
        await check_schema(database, config, schema_root=schema_root)
        if config.visibility_database and config.visibility_database != config.database:
            visibility = Database(config, database=config.visibility_database)
            await check_schema(visibility, config, schema_root=schema_root)
    except BaseException:
        await database.close()
        if visibility is not database:
            await visibility.close()
        raise
    return MySQLPersistence(database, visibility)


__all__ = ["MySQLPersistence", "open_mysql_persistence"]
