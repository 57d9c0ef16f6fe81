"""The SQLite ``Persistence``: one connection, migrated at open, shared by every store.

All stores share the connection because SQLite serializes writers per file
anyway; separate connections in one process would only contend for the same
lock. The stores are thin: each owns the SQL of one concern, and the shared
``Database`` owns transactions and error translation.
"""

from __future__ import annotations

from pathlib import Path

from legato_server.persistence.interface import Persistence
from legato_server.persistence.sqlite.cluster_metadata import SQLiteClusterMetadataStore
from legato_server.persistence.sqlite.database import DEFAULT_BUSY_TIMEOUT_MS, Database, connect
from legato_server.persistence.sqlite.executions import SQLiteExecutionStore
from legato_server.persistence.sqlite.membership import SQLiteMembershipStore
from legato_server.persistence.sqlite.migrate import migrate
from legato_server.persistence.sqlite.namespaces import SQLiteNamespaceStore
from legato_server.persistence.sqlite.schedules import SQLiteScheduleStore
from legato_server.persistence.sqlite.shards import SQLiteShardStore
from legato_server.persistence.sqlite.task_queues import SQLiteTaskQueueStore
from legato_server.persistence.sqlite.visibility import SQLiteVisibilityStore


class SQLitePersistence(Persistence):
    def __init__(self, database: Database, *, schema_version: str) -> None:
        self.schema_version = schema_version
        """The database's schema version after migration at open."""
        self._database = database
        self.cluster_metadata = SQLiteClusterMetadataStore(database)
        self.shards = SQLiteShardStore(database)
        self.executions = SQLiteExecutionStore(database)
        self.task_queues = SQLiteTaskQueueStore(database)
        self.namespaces = SQLiteNamespaceStore(database)
        self.membership = SQLiteMembershipStore(database)
        self.visibility = SQLiteVisibilityStore(database)
        self.schedules = SQLiteScheduleStore(database)

    @classmethod
    def open(cls, path: Path | None, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> SQLitePersistence:
        """Open (creating if needed) and migrate the database at ``path``; None = in memory."""
        connection = connect(path, busy_timeout_ms=busy_timeout_ms)
        try:
            version = migrate(connection)
        except BaseException:
            connection.close()
            raise
        return cls(Database(connection), schema_version=version)

    async def close(self) -> None:
        self._database.close()
