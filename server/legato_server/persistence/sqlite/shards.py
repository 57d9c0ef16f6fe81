"""History shard rows: ownership (range_id) and the queue ack levels of each shard.

Acquiring a shard is read, then ``update_shard`` with range_id + 1,
conditional on the range_id read: of two hosts racing, exactly one update
matches. The loser learns the range_id that beat it from the error.
"""

from __future__ import annotations

import sqlite3
import time

from legato_server.persistence.interface import ShardInfo, ShardOwnershipLostError, ShardStore
from legato_server.persistence.sqlite.database import Database

_SELECT = (
    "SELECT shard_id, range_id, owner, transfer_ack_level, timer_ack_level_ms, updated_at_ms "
    "FROM shards WHERE shard_id = ?"
)


def _to_shard(row: sqlite3.Row | tuple) -> ShardInfo:
    shard_id, range_id, owner, transfer_ack_level, timer_ack_level_ms, updated_at_ms = row
    return ShardInfo(
        shard_id=shard_id,
        range_id=range_id,
        owner=owner,
        transfer_ack_level=transfer_ack_level,
        timer_ack_level_ms=timer_ack_level_ms,
        updated_at_ms=updated_at_ms,
    )


class SQLiteShardStore(ShardStore):
    def __init__(self, database: Database) -> None:
        self._database = database

    async def get_or_create_shard(self, shard_id: int) -> ShardInfo:
        # Shards exist after the first acquisition, so try the lock-free read first.
        with self._database.read(f"get shard {shard_id}") as connection:
            row = connection.execute(_SELECT, (shard_id,)).fetchone()
        if row is not None:
            return _to_shard(row)
        with self._database.write(f"create shard {shard_id}") as connection:
            connection.execute(
                "INSERT OR IGNORE INTO shards "
                "(shard_id, range_id, owner, transfer_ack_level, timer_ack_level_ms, updated_at_ms) "
                "VALUES (?, 0, '', 0, 0, ?)",
                (shard_id, int(time.time() * 1000)),
            )
            row = connection.execute(_SELECT, (shard_id,)).fetchone()
        return _to_shard(row)

    async def update_shard(self, info: ShardInfo, *, previous_range_id: int) -> None:
        with self._database.write(f"update shard {info.shard_id}") as connection:
            updated = connection.execute(
                "UPDATE shards SET range_id = ?, owner = ?, transfer_ack_level = ?, "
                "timer_ack_level_ms = ?, updated_at_ms = ? WHERE shard_id = ? AND range_id = ?",
                (
                    info.range_id,
                    info.owner,
                    info.transfer_ack_level,
                    info.timer_ack_level_ms,
                    info.updated_at_ms,
                    info.shard_id,
                    previous_range_id,
                ),
            ).rowcount
            if updated != 1:
                row = connection.execute(
                    "SELECT range_id FROM shards WHERE shard_id = ?", (info.shard_id,)
                ).fetchone()
                raise ShardOwnershipLostError(
                    info.shard_id, previous_range_id, None if row is None else row[0]
                )
