"""Matching's task queues on Cassandra: a lease row and its backlog in one partition.

The queue row (row_type 0) and its tasks (row_type 1) share the partition
(namespace_id, name, task_type), so appending tasks is one logged batch with
the lease condition ``IF range_id = ?`` on the queue row: a host whose lease
was taken over appends nothing. Appends to one queue that run concurrently
share one such batch (``group_commit``), so a busy queue costs one Paxos
round per batch of appends, not one per task. Leasing is a read, then
``UPDATE ... IF range_id = <read>`` (or ``INSERT ... IF NOT EXISTS`` for a new
queue): of two hosts racing, one gets ConditionFailedError and retries.

Tasks with an expiry in the future carry a TTL a minute past it, so expired
backlog disappears even if nobody reads it; the engine still checks
``expiry_time_ms`` itself.
"""

from __future__ import annotations

import math
import time

from legato_server.persistence.cassandra.group_commit import GroupCommitter
from legato_server.persistence.cassandra.session import CassandraSession, applied
from legato_server.persistence.interface import (
    ConditionFailedError,
    QueuedTask,
    TaskQueueRecord,
    TaskQueueStore,
)

ROW_QUEUE = 0
ROW_TASK = 1
TTL_GRACE_S = 60

_PARTITION = "namespace_id = ? AND name = ? AND task_type = ?"
_QUEUE_ROW = f"{_PARTITION} AND row_type = 0 AND task_id = 0"
_TASK_COLUMNS = "namespace_id, name, task_type, row_type, task_id, data, expiry_time_ms"


class CassandraTaskQueueStore(TaskQueueStore):
    def __init__(self, session: CassandraSession) -> None:
        self._session = session
        self._appends = GroupCommitter(session)

    async def lease_task_queue(self, *, namespace_id: str, name: str, task_type: int) -> TaskQueueRecord:
        key = (namespace_id, name, task_type)
        action = f"lease task queue {name!r}"
        rows = await self._session.execute(
            action, f"SELECT range_id, ack_level, data FROM tasks WHERE {_QUEUE_ROW}", key, idempotent=True
        )
        if not rows or rows[0]["range_id"] is None:
            result = await self._session.execute(
                action,
                "INSERT INTO tasks (namespace_id, name, task_type, row_type, task_id, range_id, ack_level, data) "
                "VALUES (?, ?, ?, 0, 0, 1, 0, 0x) IF NOT EXISTS",
                key,
            )
            if not applied(result):
                raise ConditionFailedError(f"task queue {name!r} was created concurrently; lease again")
            return TaskQueueRecord(namespace_id=namespace_id, name=name, task_type=task_type, range_id=1)
        previous = int(rows[0]["range_id"])
        result = await self._session.execute(
            action,
            f"UPDATE tasks SET range_id = ? WHERE {_QUEUE_ROW} IF range_id = ?",
            (previous + 1, *key, previous),
        )
        if not applied(result):
            raise ConditionFailedError(f"task queue {name!r} was leased concurrently; lease again")
        return TaskQueueRecord(
            namespace_id=namespace_id,
            name=name,
            task_type=task_type,
            range_id=previous + 1,
            ack_level=int(rows[0]["ack_level"] or 0),
            data=bytes(rows[0]["data"] or b""),
        )

    async def update_task_queue(self, record: TaskQueueRecord) -> None:
        rows = await self._session.execute(
            f"update task queue {record.name!r}",
            f"UPDATE tasks SET ack_level = ?, data = ? WHERE {_QUEUE_ROW} IF range_id = ?",
            (
                record.ack_level,
                record.data,
                record.namespace_id,
                record.name,
                record.task_type,
                record.range_id,
            ),
        )
        if not applied(rows):
            raise ConditionFailedError(
                f"task queue {record.name!r}: range_id {record.range_id} is no longer held"
            )

    async def create_tasks(
        self, *, namespace_id: str, name: str, task_type: int, range_id: int, tasks: list[QueuedTask]
    ) -> None:
        key = (namespace_id, name, task_type)
        now_ms = int(time.time() * 1000)
        statements: list[tuple[str, tuple]] = []
        for task in tasks:
            values = (*key, ROW_TASK, task.task_id, task.data, task.expiry_time_ms)
            if task.expiry_time_ms > now_ms:
                ttl = math.ceil((task.expiry_time_ms - now_ms) / 1000) + TTL_GRACE_S
                statements.append(
                    (
                        f"INSERT INTO tasks ({_TASK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) USING TTL ?",
                        (*values, ttl),
                    )
                )
            else:
                statements.append(
                    (f"INSERT INTO tasks ({_TASK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", values)
                )
        rows = await self._appends.commit(
            partition=key,
            action=f"create tasks in queue {name!r}",
            fence=(
                f"UPDATE tasks SET range_id = ? WHERE {_QUEUE_ROW} IF range_id = ?",
                (range_id, *key, range_id),
            ),
            statements=statements,
            keys=frozenset(task.task_id for task in tasks),
        )
        if not applied(rows):
            actual = rows[0].get("range_id") if rows else None
            raise ConditionFailedError(f"task queue {name!r}: range_id is {actual}, writer holds {range_id}")

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
        rows = await self._session.execute(
            f"get tasks of queue {name!r}",
            f"SELECT task_id, data, expiry_time_ms FROM tasks WHERE {_PARTITION} AND row_type = 1 "
            "AND task_id > ? AND task_id <= ? LIMIT ?",
            (namespace_id, name, task_type, exclusive_min_task_id, inclusive_max_task_id, batch_size),
            idempotent=True,
        )
        return [
            QueuedTask(
                task_id=int(r["task_id"]), data=bytes(r["data"]), expiry_time_ms=int(r["expiry_time_ms"] or 0)
            )
            for r in rows
        ]

    async def complete_tasks_less_than(
        self, *, namespace_id: str, name: str, task_type: int, exclusive_max_task_id: int
    ) -> int:
        action = f"complete tasks of queue {name!r}"
        params = (namespace_id, name, task_type, exclusive_max_task_id)
        # Cassandra does not report how many rows a delete removed; count first (best effort).
        counted = await self._session.execute(
            action,
            f"SELECT COUNT(*) AS n FROM tasks WHERE {_PARTITION} AND row_type = 1 AND task_id < ?",
            params,
            idempotent=True,
        )
        await self._session.execute(
            action,
            f"DELETE FROM tasks WHERE {_PARTITION} AND row_type = 1 AND task_id < ?",
            params,
            idempotent=True,
        )
        return int(counted[0]["n"]) if counted else 0

    async def complete_task(self, *, namespace_id: str, name: str, task_type: int, task_id: int) -> None:
        await self._session.execute(
            f"complete task {task_id} of queue {name!r}",
            f"DELETE FROM tasks WHERE {_PARTITION} AND row_type = 1 AND task_id = ?",
            (namespace_id, name, task_type, task_id),
            idempotent=True,
        )
