"""The range_id check every shard-scoped write makes, inside its own transaction.

A history host owns a shard while the shard row holds the range_id it wrote.
Checking that value inside the same ``BEGIN IMMEDIATE`` transaction as the
write (the write lock is held from the first statement) is what makes fencing
airtight: no other owner can bump range_id between the check and the write.
"""

from __future__ import annotations

import sqlite3

from legato_server.persistence.interface import ShardOwnershipLostError


def require_shard_owner(connection: sqlite3.Connection, *, shard_id: int, range_id: int) -> None:
    """Raise ShardOwnershipLostError unless the shard row exists with ``range_id``."""
    row = connection.execute("SELECT range_id FROM shards WHERE shard_id = ?", (shard_id,)).fetchone()
    actual = None if row is None else row[0]
    if actual != range_id:
        raise ShardOwnershipLostError(shard_id, range_id, actual)
