"""The embedded SQLite store: Legato's zero-setup default (``start-dev``, tests, single node).

Stdlib ``sqlite3`` only, one connection per store, WAL journal with
``synchronous=NORMAL``. Each store method runs its whole transaction inline
on the event loop thread (see ``database``); the schema is applied from
``legato_server/schema/sqlite`` when the store opens (see ``migrate``).

Modules, one concern each: ``database`` (connection, transactions, errors),
``migrate`` (schema versions), ``fencing`` (the shard range_id check),
``shards``, ``executions`` with ``history`` and ``shard_tasks``,
``task_queues``, ``namespaces``, ``membership``, ``visibility``,
``cluster_metadata``, ``paging`` (page tokens), ``persistence`` (assembly).
"""

from __future__ import annotations

from legato_server.persistence.config import SQLiteConfig
from legato_server.persistence.interface import Persistence
from legato_server.persistence.sqlite.persistence import SQLitePersistence


async def open_sqlite_persistence(config: SQLiteConfig) -> Persistence:
    """Open the database file ``config.path`` (None = in memory), migrating its schema."""
    return SQLitePersistence.open(config.path)


__all__ = ["SQLitePersistence", "open_sqlite_persistence"]
