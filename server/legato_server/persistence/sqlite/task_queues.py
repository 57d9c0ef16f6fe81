"""Matching's task-queue backlog, fenced by a per-queue range_id like history shards.

A matching host leases a queue by bumping its range_id and then writes tasks
only while the stored range_id is still its own; a host that lost the lease
gets ConditionFailedError on its next write and stops serving the queue.

In SQLite the lease is read-and-bump inside one ``BEGIN IMMEDIATE``
transaction, which already holds the write lock, so two leases serialize and
both succeed with increasing range_ids; the conditional UPDATE is kept anyway
so the code says what the contract requires.
"""

from __future__ import annotations

import sqlite3

from legato_server.persistence.interface import (
    ConditionFailedError,
    QueuedTask,
    TaskQueueRecord,
    TaskQueueStore,
)
from legato_server.persistence.paging import check_page_size, decode_token, encode_token
from legato_server.persistence.sqlite.database import Database

_KEY = "namespace_id = ? AND name = ? AND task_type = ?"


def _describe(namespace_id: str, name: str, task_type: int) -> str:
    return f"task queue {name!r} (type {task_type}) of namespace {namespace_id}"


class SQLiteTaskQueueStore(TaskQueueStore):
    def __init__(self, database: Database) -> None:
        self._database = database

    async def lease_task_queue(self, *, namespace_id: str, name: str, task_type: int) -> TaskQueueRecord:
        key = (namespace_id, name, task_type)
        with self._database.write(f"lease {_describe(*key)}") as connection:
            row = connection.execute(
                f"SELECT range_id, ack_level, data FROM task_queues WHERE {_KEY}", key
            ).fetchone()
            if row is None:
                connection.execute(
                    "INSERT INTO task_queues (namespace_id, name, task_type, range_id, ack_level, data) "
                    "VALUES (?, ?, ?, 1, 0, x'')",
                    key,
                )
                return TaskQueueRecord(namespace_id=namespace_id, name=name, task_type=task_type, range_id=1)
            range_id, ack_level, data = row
            updated = connection.execute(
                f"UPDATE task_queues SET range_id = ? WHERE {_KEY} AND range_id = ?",
                (range_id + 1, *key, range_id),
            ).rowcount
            if updated != 1:
                raise ConditionFailedError(f"{_describe(*key)} was leased concurrently; retry the lease")
        return TaskQueueRecord(
            namespace_id=namespace_id,
            name=name,
            task_type=task_type,
            range_id=range_id + 1,
            ack_level=ack_level,
            data=data,
        )

    async def update_task_queue(self, record: TaskQueueRecord) -> None:
        key = (record.namespace_id, record.name, record.task_type)
        with self._database.write(f"update {_describe(*key)}") as connection:
            updated = connection.execute(
                f"UPDATE task_queues SET ack_level = ?, data = ? WHERE {_KEY} AND range_id = ?",
                (record.ack_level, record.data, *key, record.range_id),
            ).rowcount
            if updated != 1:
                raise ConditionFailedError(_lease_lost(connection, key, record.range_id))

    async def create_tasks(
        self, *, namespace_id: str, name: str, task_type: int, range_id: int, tasks: list[QueuedTask]
    ) -> None:
        key = (namespace_id, name, task_type)
        with self._database.write(f"create tasks in {_describe(*key)}") as connection:
            row = connection.execute(f"SELECT range_id FROM task_queues WHERE {_KEY}", key).fetchone()
            if row is None or row[0] != range_id:
                raise ConditionFailedError(_lease_lost(connection, key, range_id))
            connection.executemany(
                "INSERT INTO queued_tasks (namespace_id, name, task_type, task_id, data, expiry_time_ms) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(*key, task.task_id, task.data, task.expiry_time_ms) for task in tasks],
            )

    async def get_tasks(
        self,
        *,
        namespace_id: str,
        name: str,
        task_type: int,
        exclusive_min_task_id: int,
        inclusive_max_task_id: int,
        batch_size: int,
    ) -> list[QueuedTask]:
        key = (namespace_id, name, task_type)
        with self._database.read(f"get tasks of {_describe(*key)}") as connection:
            rows = connection.execute(
                f"SELECT task_id, data, expiry_time_ms FROM queued_tasks WHERE {_KEY} "
                "AND task_id > ? AND task_id <= ? ORDER BY task_id LIMIT ?",
                (*key, exclusive_min_task_id, inclusive_max_task_id, batch_size),
            ).fetchall()
        return [
            QueuedTask(task_id=task_id, data=data, expiry_time_ms=expiry) for task_id, data, expiry in rows
        ]

    async def complete_tasks_less_than(
        self, *, namespace_id: str, name: str, task_type: int, exclusive_max_task_id: int
    ) -> int:
        key = (namespace_id, name, task_type)
        with self._database.write(f"complete tasks of {_describe(*key)}") as connection:
            return connection.execute(
                f"DELETE FROM queued_tasks WHERE {_KEY} AND task_id < ?", (*key, exclusive_max_task_id)
            ).rowcount

    async def complete_task(self, *, namespace_id: str, name: str, task_type: int, task_id: int) -> None:
        key = (namespace_id, name, task_type)
        with self._database.write(f"complete task {task_id} of {_describe(*key)}") as connection:
            connection.execute(f"DELETE FROM queued_tasks WHERE {_KEY} AND task_id = ?", (*key, task_id))

    async def list_task_queues(
        self, *, namespace_id: str, page_size: int, page_token: bytes = b""
    ) -> tuple[list[TaskQueueRecord], bytes]:
        check_page_size(page_size)
        after = decode_token(page_token, what="task queues", types=(str, int)) if page_token else None
        with self._database.read(f"list task queues of namespace {namespace_id}") as connection:
            if after is None:
                rows = connection.execute(
                    "SELECT name, task_type, range_id, ack_level, data FROM task_queues "
                    "WHERE namespace_id = ? ORDER BY name, task_type LIMIT ?",
                    (namespace_id, page_size + 1),
                ).fetchall()
            else:
                rows = connection.execute(
                    "SELECT name, task_type, range_id, ack_level, data FROM task_queues "
                    "WHERE namespace_id = ? AND (name, task_type) > (?, ?) ORDER BY name, task_type LIMIT ?",
                    (namespace_id, after[0], after[1], page_size + 1),
                ).fetchall()
        records = [
            TaskQueueRecord(
                namespace_id=namespace_id,
                name=name,
                task_type=task_type,
                range_id=range_id,
                ack_level=ack_level,
                data=data,
            )
            for name, task_type, range_id, ack_level, data in rows[:page_size]
        ]
        more = len(rows) > page_size
        return records, encode_token(records[-1].name, records[-1].task_type) if more else b""

    async def delete_task_queue(self, *, namespace_id: str, name: str, task_type: int) -> None:
        key = (namespace_id, name, task_type)
        with self._database.write(f"delete {_describe(*key)}") as connection:
            connection.execute(f"DELETE FROM queued_tasks WHERE {_KEY}", key)
            connection.execute(f"DELETE FROM task_queues WHERE {_KEY}", key)


def _lease_lost(connection: sqlite3.Connection, key: tuple[str, str, int], range_id: int) -> str:
    row = connection.execute(f"SELECT range_id FROM task_queues WHERE {_KEY}", key).fetchone()
    found = "it does not exist" if row is None else f"its range_id is {row[0]}"
    return f"{_describe(*key)}: writer holds range_id {range_id} but {found}; the lease is lost"
