"""Cluster metadata and history shard rows, with lightweight transactions.

The shard row lives in the shard's ``executions`` partition (row_type 0), the
partition every write of the shard goes to: that is what lets each execution
write condition itself on ``range_id`` in the same single-partition batch.
``update_shard`` is ``UPDATE ... IF range_id = ?``; a failed condition
returns the stored range_id, which the error carries.
"""

from __future__ import annotations

import time

from legato_server.persistence.cassandra.session import CassandraSession, Row, applied
from legato_server.persistence.interface import (
    ClusterMetadataStore,
    ShardInfo,
    ShardOwnershipLostError,
    ShardStore,
)

ROW_SHARD = 0
ROW_EXECUTION = 1
ROW_CURRENT = 2
ROW_TRANSFER = 3
ROW_TIMER = 4

# WHERE clause of one row of the executions table, and the key of the shard row.
ROW_KEY = (
    "shard_id = ? AND row_type = ? AND namespace_id = ? AND workflow_id = ? AND run_id = ? "
    "AND visibility_time_ms = ? AND task_id = ?"
)
KEY_COLUMNS = "shard_id, row_type, namespace_id, workflow_id, run_id, visibility_time_ms, task_id"


def shard_key(shard_id: int) -> tuple:
    return (shard_id, ROW_SHARD, "", "", "", 0, 0)


def _now_ms() -> int:
    return int(time.time() * 1000)


class CassandraClusterMetadataStore(ClusterMetadataStore):
    def __init__(self, session: CassandraSession) -> None:
        self._session = session

    async def init_cluster_metadata(self, *, cluster_name: str, num_history_shards: int) -> int:
        rows = await self._session.execute(
            f"init cluster metadata of {cluster_name!r}",
            "INSERT INTO cluster_metadata (cluster_name, num_history_shards, created_at_ms) VALUES (?, ?, ?) "
            "IF NOT EXISTS",
            (cluster_name, num_history_shards, _now_ms()),
        )
        if applied(rows):
            return num_history_shards
        # Not applied: the first server's row comes back with the LWT answer.
        return int(rows[0]["num_history_shards"])


def _to_shard(shard_id: int, row: Row) -> ShardInfo:
    return ShardInfo(
        shard_id=shard_id,
        range_id=int(row["range_id"]),
        owner=row["owner"] or "",
        transfer_ack_level=int(row["transfer_ack_level"] or 0),
        timer_ack_level_ms=int(row["timer_ack_level_ms"] or 0),
        updated_at_ms=int(row["updated_at_ms"] or 0),
    )


class CassandraShardStore(ShardStore):
    def __init__(self, session: CassandraSession) -> None:
        self._session = session

    async def get_or_create_shard(self, shard_id: int) -> ShardInfo:
        action = f"get shard {shard_id}"
        rows = await self._session.execute(
            action,
            "SELECT range_id, owner, transfer_ack_level, timer_ack_level_ms, updated_at_ms FROM executions "
            f"WHERE {ROW_KEY}",
            shard_key(shard_id),
            idempotent=True,
        )
        if rows and rows[0]["range_id"] is not None:
            return _to_shard(shard_id, rows[0])
        now = _now_ms()
        rows = await self._session.execute(
            f"create shard {shard_id}",
            f"INSERT INTO executions ({KEY_COLUMNS}, range_id, owner, transfer_ack_level, timer_ack_level_ms, "
            "updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, 0, '', 0, 0, ?) IF NOT EXISTS",
            (*shard_key(shard_id), now),
        )
        if applied(rows):
            return ShardInfo(shard_id=shard_id, range_id=0, updated_at_ms=now)
        return _to_shard(shard_id, rows[0])

    async def update_shard(self, info: ShardInfo, *, previous_range_id: int) -> None:
        rows = await self._session.execute(
            f"update shard {info.shard_id}",
            "UPDATE executions SET range_id = ?, owner = ?, transfer_ack_level = ?, timer_ack_level_ms = ?, "
            f"updated_at_ms = ? WHERE {ROW_KEY} IF range_id = ?",
            (
                info.range_id,
                info.owner,
                info.transfer_ack_level,
                info.timer_ack_level_ms,
                info.updated_at_ms,
                *shard_key(info.shard_id),
                previous_range_id,
            ),
        )
        if not applied(rows):
            actual = rows[0].get("range_id") if rows else None
            raise ShardOwnershipLostError(
                info.shard_id, previous_range_id, None if actual is None else int(actual)
            )
