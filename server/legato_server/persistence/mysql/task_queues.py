"""Matching's task queues and their backlog, leased by range_id like shards.

A lease is one atomic upsert (``INSERT ... ON DUPLICATE KEY UPDATE range_id =
range_id + 1``) read back in the same transaction, so concurrent leases are
serialised by the row lock and each gets its own range_id. Appending tasks
takes the queue row in share mode and checks range_id: a host whose lease was
taken over cannot append, and a lease waits for in-flight appends to finish.
"""

from __future__ import annotations

from legato_server.persistence.interface import (
    ConditionFailedError,
    QueuedTask,
    TaskQueueRecord,
    TaskQueueStore,
)
from legato_server.persistence.mysql.database import Cursor, Database
from legato_server.persistence.paging import check_page_size, decode_token, encode_token

_KEY = "namespace_id = %s AND name = %s AND task_type = %s"


class MySQLTaskQueueStore(TaskQueueStore):
    def __init__(self, database: Database) -> None:
        self._db = database

    async def lease_task_queue(self, *, namespace_id: str, name: str, task_type: int) -> TaskQueueRecord:
        key = (namespace_id, name, task_type)

        def body(cursor: Cursor) -> TaskQueueRecord:
            cursor.execute(
                "INSERT INTO task_queues (namespace_id, name, task_type, range_id, ack_level, data) "
                "VALUES (%s, %s, %s, 1, 0, '') ON DUPLICATE KEY UPDATE range_id = range_id + 1",
                key,
            )
            cursor.execute(f"SELECT range_id, ack_level, data FROM task_queues WHERE {_KEY}", key)
            range_id, ack_level, data = cursor.fetchone()
            return TaskQueueRecord(
                namespace_id=namespace_id,
                name=name,
                task_type=task_type,
                range_id=int(range_id),
                ack_level=int(ack_level),
                data=bytes(data),
            )

        return await self._db.write(f"lease task queue {name!r}", body)

    async def update_task_queue(self, record: TaskQueueRecord) -> None:
        def body(cursor: Cursor) -> None:
            matched = cursor.execute(
                f"UPDATE task_queues SET ack_level = %s, data = %s WHERE {_KEY} AND range_id = %s",
                (
                    record.ack_level,
                    record.data,
                    record.namespace_id,
                    record.name,
                    record.task_type,
                    record.range_id,
                ),
            )
            if matched != 1:
                raise ConditionFailedError(
                    f"task queue {record.name!r}: range_id {record.range_id} is no longer held"
                )

        await self._db.write(f"update task queue {record.name!r}", body)

    async def create_tasks(
        self, *, namespace_id: str, name: str, task_type: int, range_id: int, tasks: list[QueuedTask]
    ) -> None:
        def body(cursor: Cursor) -> None:
            cursor.execute(
                f"SELECT range_id FROM task_queues WHERE {_KEY} LOCK IN SHARE MODE",
                (namespace_id, name, task_type),
            )
            row = cursor.fetchone()
            if row is None or int(row[0]) != range_id:
                raise ConditionFailedError(
                    f"task queue {name!r}: range_id is {None if row is None else row[0]}, writer holds {range_id}"
                )
            if tasks:
                cursor.executemany(
                    "INSERT INTO queued_tasks (namespace_id, name, task_type, task_id, data, expiry_time_ms) "
                    "VALUES (%s, %s, %s, %s, %s, %s)",
                    [(namespace_id, name, task_type, t.task_id, t.data, t.expiry_time_ms) for t in tasks],
                )

        await self._db.write(f"create tasks in queue {name!r}", body)

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
        def body(cursor: Cursor) -> list[QueuedTask]:
            cursor.execute(
                f"SELECT task_id, data, expiry_time_ms FROM queued_tasks WHERE {_KEY} "
                "AND task_id > %s AND task_id <= %s ORDER BY task_id LIMIT %s",
                (namespace_id, name, task_type, exclusive_min_task_id, inclusive_max_task_id, batch_size),
            )
            return [
                QueuedTask(task_id=int(t), data=bytes(d), expiry_time_ms=int(e))
                for t, d, e in cursor.fetchall()
            ]

        return await self._db.read(f"get tasks of queue {name!r}", body)

    async def complete_tasks_less_than(
        self, *, namespace_id: str, name: str, task_type: int, exclusive_max_task_id: int
    ) -> int:
        def body(cursor: Cursor) -> int:
            return int(
                cursor.execute(
                    f"DELETE FROM queued_tasks WHERE {_KEY} AND task_id < %s",
                    (namespace_id, name, task_type, exclusive_max_task_id),
                )
            )

        return await self._db.write(f"complete tasks of queue {name!r}", body)

    async def complete_task(self, *, namespace_id: str, name: str, task_type: int, task_id: int) -> None:
        def body(cursor: Cursor) -> None:
            cursor.execute(
                f"DELETE FROM queued_tasks WHERE {_KEY} AND task_id = %s",
                (namespace_id, name, task_type, task_id),
            )

        await self._db.write(f"complete task {task_id} of queue {name!r}", body)

    async def list_task_queues(
        self, *, namespace_id: str, page_size: int, page_token: bytes = b""
    ) -> tuple[list[TaskQueueRecord], bytes]:
        check_page_size(page_size)
        after = decode_token(page_token, what="task queues", types=(str, int)) if page_token else None

        def body(cursor: Cursor) -> tuple[list[TaskQueueRecord], bytes]:
            columns = (
                "SELECT name, task_type, range_id, ack_level, data FROM task_queues WHERE namespace_id = %s"
            )
            if after is None:
                cursor.execute(f"{columns} ORDER BY name, task_type LIMIT %s", (namespace_id, page_size + 1))
            else:
                cursor.execute(
                    f"{columns} AND (name > %s OR (name = %s AND task_type > %s)) "
                    "ORDER BY name, task_type LIMIT %s",
                    (namespace_id, after[0], after[0], after[1], page_size + 1),
                )
            rows = cursor.fetchall()
            records = [
                TaskQueueRecord(
                    namespace_id=namespace_id,
                    name=name,
                    task_type=int(task_type),
                    range_id=int(range_id),
                    ack_level=int(ack_level),
                    data=bytes(data),
                )
                for name, task_type, range_id, ack_level, data in rows[:page_size]
            ]
            more = len(rows) > page_size
            return records, encode_token(records[-1].name, records[-1].task_type) if more else b""

        return await self._db.read(f"list task queues of namespace {namespace_id}", body)

    async def delete_task_queue(self, *, namespace_id: str, name: str, task_type: int) -> None:
        def body(cursor: Cursor) -> None:
            cursor.execute(f"DELETE FROM queued_tasks WHERE {_KEY}", (namespace_id, name, task_type))
            cursor.execute(f"DELETE FROM task_queues WHERE {_KEY}", (namespace_id, name, task_type))

        await self._db.write(f"delete task queue {name!r}", body)
