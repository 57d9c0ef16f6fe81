"""Transfer and timer tasks: each shard's transactional outbox.

Tasks are inserted only inside the execution transaction that creates them
(after the range_id check), and read/deleted by the shard's queue processors.
Reads and deletes are not fenced: a host that lost the shard may still read
or complete tasks, which is harmless because the new owner re-reads from its
ack level and processing is idempotent on the engine side.

Both tables are clustered on their read order ((shard, task_id) and
(shard, time, task_id)), so a range read is one b-tree walk.
"""

from __future__ import annotations

import sqlite3

from legato_server.persistence.interface import TimerTask, TransferTask


def insert_transfer_tasks(connection: sqlite3.Connection, shard_id: int, tasks: list[TransferTask]) -> None:
    if tasks:
        connection.executemany(
            "INSERT INTO transfer_tasks (shard_id, task_id, data) VALUES (?, ?, ?)",
            [(shard_id, task.task_id, task.data) for task in tasks],
        )


def insert_timer_tasks(connection: sqlite3.Connection, shard_id: int, tasks: list[TimerTask]) -> None:
    if tasks:
        connection.executemany(
            "INSERT INTO timer_tasks (shard_id, visibility_time_ms, task_id, data) VALUES (?, ?, ?, ?)",
            [(shard_id, task.visibility_time_ms, task.task_id, task.data) for task in tasks],
        )


def select_transfer_tasks(
    connection: sqlite3.Connection,
    *,
    shard_id: int,
    exclusive_min_task_id: int,
    inclusive_max_task_id: int,
    batch_size: int,
) -> list[TransferTask]:
    rows = connection.execute(
        "SELECT task_id, data FROM transfer_tasks "
        "WHERE shard_id = ? AND task_id > ? AND task_id <= ? ORDER BY task_id LIMIT ?",
        (shard_id, exclusive_min_task_id, inclusive_max_task_id, batch_size),
    ).fetchall()
    return [TransferTask(task_id=task_id, data=data) for task_id, data in rows]


def delete_transfer_tasks(
    connection: sqlite3.Connection, *, shard_id: int, inclusive_max_task_id: int
) -> None:
    connection.execute(
        "DELETE FROM transfer_tasks WHERE shard_id = ? AND task_id <= ?", (shard_id, inclusive_max_task_id)
    )


def select_timer_tasks(
    connection: sqlite3.Connection, *, shard_id: int, min_time_ms: int, max_time_ms: int, batch_size: int
) -> list[TimerTask]:
    rows = connection.execute(
        "SELECT visibility_time_ms, task_id, data FROM timer_tasks "
        "WHERE shard_id = ? AND visibility_time_ms >= ? AND visibility_time_ms < ? "
        "ORDER BY visibility_time_ms, task_id LIMIT ?",
        (shard_id, min_time_ms, max_time_ms, batch_size),
    ).fetchall()
    return [
        TimerTask(visibility_time_ms=time_ms, task_id=task_id, data=data) for time_ms, task_id, data in rows
    ]


def delete_timer_tasks_before(
    connection: sqlite3.Connection, *, shard_id: int, exclusive_max_time_ms: int
) -> None:
    connection.execute(
        "DELETE FROM timer_tasks WHERE shard_id = ? AND visibility_time_ms < ?",
        (shard_id, exclusive_max_time_ms),
    )
