"""Cluster-wide facts fixed at first start (the number of history shards).

The shard count decides which shard every workflow lives in, so it can never
change: the first server to start records it and every later one reads that
value back instead of its own configuration.
"""

from __future__ import annotations

import time

from legato_server.persistence.interface import ClusterMetadataStore
from legato_server.persistence.sqlite.database import Database


class SQLiteClusterMetadataStore(ClusterMetadataStore):
    def __init__(self, database: Database) -> None:
        self._database = database

    async def init_cluster_metadata(self, *, cluster_name: str, num_history_shards: int) -> int:
        with self._database.write(f"init cluster metadata of {cluster_name!r}") as connection:
            connection.execute(
                "INSERT OR IGNORE INTO cluster_metadata (cluster_name, num_history_shards, created_at_ms) "
                "VALUES (?, ?, ?)",
                (cluster_name, num_history_shards, int(time.time() * 1000)),
            )
            (stored,) = connection.execute(
                "SELECT num_history_shards FROM cluster_metadata WHERE cluster_name = ?", (cluster_name,)
            ).fetchone()
        return int(stored)
