"""Cluster metadata and history shard rows (ownership by range_id, queue ack levels).

Acquiring a shard is a read, then ``update_shard`` with range_id + 1 whose
UPDATE is conditional on the range_id read: of two hosts racing, exactly one
matches; the loser learns the winner's range_id from the error.
"""

from __future__ import annotations

import time

from legato_server.persistence.interface import (
    ClusterMetadataStore,
    ShardInfo,
    ShardOwnershipLostError,
    ShardStore,
)
from legato_server.persistence.mysql.database import Cursor, Database

_SELECT_SHARD = (
    "SELECT shard_id, range_id, owner, transfer_ack_level, timer_ack_level_ms, updated_at_ms "
    "FROM shards WHERE shard_id = %s"
)


def _now_ms() -> int:
    return int(time.time() * 1000)


class MySQLClusterMetadataStore(ClusterMetadataStore):
    def __init__(self, database: Database) -> None:
        self._db = database

    async def init_cluster_metadata(self, *, cluster_name: str, num_history_shards: int) -> int:
        def body(cursor: Cursor) -> int:
            # INSERT IGNORE: the first server to start wins; later ones read its value.
            cursor.execute(
                "INSERT IGNORE INTO cluster_metadata (cluster_name, num_history_shards, created_at_ms) "
                "VALUES (%s, %s, %s)",
                (cluster_name, num_history_shards, _now_ms()),
            )
            cursor.execute(
                "SELECT num_history_shards FROM cluster_metadata WHERE cluster_name = %s", (cluster_name,)
            )
            return int(cursor.fetchone()[0])

        return await self._db.write(f"init cluster metadata of {cluster_name!r}", body)


def _to_shard(row: tuple) -> ShardInfo:
    shard_id, range_id, owner, transfer_ack_level, timer_ack_level_ms, updated_at_ms = row
    return ShardInfo(
        shard_id=int(shard_id),
        range_id=int(range_id),
        owner=owner,
        transfer_ack_level=int(transfer_ack_level),
        timer_ack_level_ms=int(timer_ack_level_ms),
        updated_at_ms=int(updated_at_ms),
    )


class MySQLShardStore(ShardStore):
    def __init__(self, database: Database) -> None:
        self._db = database

    async def get_or_create_shard(self, shard_id: int) -> ShardInfo:
        def read(cursor: Cursor) -> ShardInfo | None:
            cursor.execute(_SELECT_SHARD, (shard_id,))
            row = cursor.fetchone()
            return None if row is None else _to_shard(row)

        found = await self._db.read(f"get shard {shard_id}", read)
        if found is not None:
            return found

        def create(cursor: Cursor) -> ShardInfo:
            cursor.execute(
                "INSERT IGNORE INTO shards "
                "(shard_id, range_id, owner, transfer_ack_level, timer_ack_level_ms, updated_at_ms) "
                "VALUES (%s, 0, '', 0, 0, %s)",
                (shard_id, _now_ms()),
            )
            cursor.execute(_SELECT_SHARD, (shard_id,))
            return _to_shard(cursor.fetchone())

        return await self._db.write(f"create shard {shard_id}", create)

    async def update_shard(self, info: ShardInfo, *, previous_range_id: int) -> None:
        def body(cursor: Cursor) -> None:
            matched = cursor.execute(
                "UPDATE shards SET range_id = %s, owner = %s, transfer_ack_level = %s, "
                "timer_ack_level_ms = %s, updated_at_ms = %s WHERE shard_id = %s AND range_id = %s",
                (
                    info.range_id,
                    info.owner,
                    info.transfer_ack_level,
                    info.timer_ack_level_ms,
                    info.updated_at_ms,
                    info.shard_id,
                    previous_range_id,
                ),
            )
            if matched != 1:
                cursor.execute("SELECT range_id FROM shards WHERE shard_id = %s", (info.shard_id,))
                row = cursor.fetchone()
                raise ShardOwnershipLostError(
                    info.shard_id, previous_range_id, None if row is None else int(row[0])
                )

        await self._db.write(f"update shard {info.shard_id}", body)
