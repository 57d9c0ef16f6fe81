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
from legato_server.persistence.paging import check_page_size, decode_token, encode_token

ROW_QUEUE = 0
ROW_TASK = 1
TTL_GRACE_S = 60

_PARTITION = "namespace_id = ? AND name = ? AND task_type = ?"
_QUEUE_ROW = f"{_PARTITION} AND row_type = 0 AND task_id = 0"
_TASK_COLUMNS = "namespace_id, name, task_type, row_type, task_id, data, expiry_time_ms"
# list_task_queues walks partition keys: this many per read, at most this many reads per page.
_LIST_SCAN_SIZE = 500
_LIST_SCANS_PER_PAGE = 20


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

    async def list_task_queues(
        self, *, namespace_id: str, page_size: int, page_token: bytes = b""
    ) -> tuple[list[TaskQueueRecord], bytes]:
        check_page_size(page_size)
        cursor = decode_token(page_token, what="task queues", types=(str, str, int)) if page_token else None
        action = f"list task queues of namespace {namespace_id}"
        # Queues are partitions keyed by (namespace, name, type): no index by namespace.
        # Walk the partition keys in token order, a bounded number per call, and keep
        # this namespace's; a short page with a token means the walk is not done.
        found: list[tuple[str, int]] = []
        for _ in range(_LIST_SCANS_PER_PAGE):
            if cursor is None:
                rows = await self._session.execute(
                    action,
                    "SELECT DISTINCT namespace_id, name, task_type FROM tasks LIMIT ?",
                    (_LIST_SCAN_SIZE,),
                    idempotent=True,
                )
            else:
                rows = await self._session.execute(
                    action,
                    "SELECT DISTINCT namespace_id, name, task_type FROM tasks "
                    "WHERE token(namespace_id, name, task_type) > token(?, ?, ?) LIMIT ?",
                    (*cursor, _LIST_SCAN_SIZE),
                    idempotent=True,
                )
            for row in rows:
                cursor = [row["namespace_id"], row["name"], int(row["task_type"])]
                if row["namespace_id"] == namespace_id:
                    found.append((row["name"], int(row["task_type"])))
                    if len(found) == page_size:
                        break
            if len(found) == page_size or len(rows) < _LIST_SCAN_SIZE:
                exhausted = len(found) < page_size
                break
        else:
            exhausted = False
        records = []
        for name, task_type in found:
            queue = await self._session.execute(
                action,
                f"SELECT range_id, ack_level, data FROM tasks WHERE {_QUEUE_ROW}",
                (namespace_id, name, task_type),
                idempotent=True,
            )
            head = queue[0] if queue and queue[0]["range_id"] is not None else None
            records.append(
                TaskQueueRecord(
                    namespace_id=namespace_id,
                    name=name,
                    task_type=task_type,
                    range_id=int(head["range_id"]) if head else 0,
                    ack_level=int(head["ack_level"] or 0) if head else 0,
                    data=bytes(head["data"] or b"") if head else b"",
                )
            )
        return records, b"" if exhausted or cursor is None else encode_token(*cursor)

    async def delete_task_queue(self, *, namespace_id: str, name: str, task_type: int) -> None:
        action = f"delete task queue {name!r}"
        key = (namespace_id, name, task_type)
        # The lease row goes by LWT, as it is written, so a host still holding the lease
        # fails its next conditional write; then the backlog.
        await self._session.execute(action, f"DELETE FROM tasks WHERE {_QUEUE_ROW} IF EXISTS", key)
        await self._session.execute(
            action, f"DELETE FROM tasks WHERE {_PARTITION} AND row_type = 1", key, idempotent=True
        )
