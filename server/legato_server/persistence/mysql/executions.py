"""Workflow executions, their history, and the shard's transfer and timer tasks.

Every create/update is one InnoDB transaction that starts by locking the
shard row (``SELECT range_id ... FOR UPDATE``) and comparing its range_id with
the writer's: a host that lost the shard is refused before it writes anything,
and the new owner's ``update_shard`` waits for (or wins against) the lock, so
there is no window between check and write. Taking the shard row lock also
serialises the writes of one shard, which is what makes the current-execution
checks (a read, then a write) race-free without gap locks.

Then the execution row (for its ``db_version``) and the current-execution
row are locked ``FOR UPDATE`` and checked, and mutable state, events, current
row and tasks are written. Any failed check raises and the transaction rolls
back: all or nothing.

History batches are written inside the same transaction here (MySQL can), with
``REPLACE`` so a retried write of the same (run, first_event_id) replaces an
earlier one; readers still bound reads by ``next_event_id`` as the interface
requires of every store.
"""

from __future__ import annotations

from legato_server.persistence.interface import (
    ConditionFailedError,
    CreateMode,
    CurrentExecution,
    CurrentWorkflowConditionFailedError,
    EventBatch,
    ExecutionState,
    ExecutionStore,
    NotFoundError,
    ShardOwnershipLostError,
    TimerTask,
    TransferTask,
    WorkflowMutation,
    WorkflowSnapshot,
)
from legato_server.persistence.mysql.database import Cursor, Database
from legato_server.persistence.paging import check_page_size, decode_token, encode_token

_LOCK_SHARD = "SELECT range_id FROM shards WHERE shard_id = %s FOR UPDATE"
_LOCK_CURRENT = (
    "SELECT run_id, create_request_id, state, status, start_time_ms FROM current_executions "
    "WHERE shard_id = %s AND namespace_id = %s AND workflow_id = %s FOR UPDATE"
)
_INSERT_EXECUTION = (
    "INSERT INTO executions (shard_id, namespace_id, workflow_id, run_id, state, state_enum, status, "
    "next_event_id, db_version, create_request_id, start_time_ms) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_UPSERT_CURRENT = (
    "INSERT INTO current_executions (shard_id, namespace_id, workflow_id, run_id, create_request_id, "
    "state, status, start_time_ms) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
    "ON DUPLICATE KEY UPDATE run_id = VALUES(run_id), create_request_id = VALUES(create_request_id), "
    "state = VALUES(state), status = VALUES(status), start_time_ms = VALUES(start_time_ms)"
)
_SELECT_EXECUTION = (
    "SELECT state, state_enum, status, next_event_id, db_version, create_request_id, start_time_ms "
    "FROM executions WHERE shard_id = %s AND namespace_id = %s AND workflow_id = %s AND run_id = %s"
)


def lock_shard(cursor: Cursor, *, shard_id: int, range_id: int) -> None:
    """Raise ShardOwnershipLostError unless the shard row holds ``range_id``; keeps it locked."""
    cursor.execute(_LOCK_SHARD, (shard_id,))
    row = cursor.fetchone()
    actual = None if row is None else int(row[0])
    if actual != range_id:
        raise ShardOwnershipLostError(shard_id, range_id, actual)


def _current_from_row(namespace_id: str, workflow_id: str, row: tuple) -> CurrentExecution:
    run_id, create_request_id, state, status, start_time_ms = row
    return CurrentExecution(
        namespace_id=namespace_id,
        workflow_id=workflow_id,
        run_id=run_id,
        create_request_id=create_request_id,
        state=ExecutionState(int(state)),
        status=int(status),
        start_time_ms=int(start_time_ms),
    )


def _lock_current(
    cursor: Cursor, *, shard_id: int, namespace_id: str, workflow_id: str
) -> CurrentExecution | None:
    cursor.execute(_LOCK_CURRENT, (shard_id, namespace_id, workflow_id))
    row = cursor.fetchone()
    return None if row is None else _current_from_row(namespace_id, workflow_id, row)


def _write_events(cursor: Cursor, batches: list[EventBatch]) -> None:
    if batches:
        cursor.executemany(
            "REPLACE INTO history_batches (namespace_id, workflow_id, run_id, first_event_id, event_count, data) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            [
                (b.namespace_id, b.workflow_id, b.run_id, b.first_event_id, b.event_count, b.data)
                for b in batches
            ],
        )


def _write_tasks(
    cursor: Cursor, shard_id: int, transfer: list[TransferTask], timers: list[TimerTask]
) -> None:
    if transfer:
        cursor.executemany(
            "INSERT INTO transfer_tasks (shard_id, task_id, data) VALUES (%s, %s, %s)",
            [(shard_id, t.task_id, t.data) for t in transfer],
        )
    if timers:
        cursor.executemany(
            "INSERT INTO timer_tasks (shard_id, visibility_time_ms, task_id, data) VALUES (%s, %s, %s, %s)",
            [(shard_id, t.visibility_time_ms, t.task_id, t.data) for t in timers],
        )


def _insert_execution(cursor: Cursor, shard_id: int, s: WorkflowSnapshot) -> None:
    cursor.execute(
        "SELECT 1 FROM executions WHERE shard_id = %s AND namespace_id = %s AND workflow_id = %s AND run_id = %s",
        (shard_id, s.namespace_id, s.workflow_id, s.run_id),
    )
    if cursor.fetchone() is not None:
        raise ConditionFailedError(f"run {s.run_id} of workflow {s.workflow_id!r} already exists")
    cursor.execute(
        _INSERT_EXECUTION,
        (
            shard_id,
            s.namespace_id,
            s.workflow_id,
            s.run_id,
            s.state,
            int(s.state_enum),
            s.status,
            s.next_event_id,
            s.db_version,
            s.create_request_id,
            s.start_time_ms,
        ),
    )


def _upsert_current(cursor: Cursor, shard_id: int, s: WorkflowSnapshot) -> None:
    cursor.execute(
        _UPSERT_CURRENT,
        (
            shard_id,
            s.namespace_id,
            s.workflow_id,
            s.run_id,
            s.create_request_id,
            int(s.state_enum),
            s.status,
            s.start_time_ms,
        ),
    )


class MySQLExecutionStore(ExecutionStore):
    def __init__(self, database: Database) -> None:
        self._db = database

    async def create_workflow_execution(
        self,
        *,
        shard_id: int,
        range_id: int,
        mode: CreateMode,
        snapshot: WorkflowSnapshot,
        events: list[EventBatch],
        transfer_tasks: list[TransferTask],
        timer_tasks: list[TimerTask],
        previous_run_id: str = "",
    ) -> None:
        def body(cursor: Cursor) -> None:
            lock_shard(cursor, shard_id=shard_id, range_id=range_id)
            current = _lock_current(
                cursor,
                shard_id=shard_id,
                namespace_id=snapshot.namespace_id,
                workflow_id=snapshot.workflow_id,
            )
            if mode is CreateMode.BRAND_NEW:
                if current is not None:
                    raise CurrentWorkflowConditionFailedError(
                        current,
                        f"workflow {snapshot.workflow_id!r} already has a current run {current.run_id}",
                    )
            elif mode is CreateMode.WORKFLOW_ID_REUSE:
                if (
                    current is None
                    or current.run_id != previous_run_id
                    or current.state != ExecutionState.COMPLETED
                ):
                    raise CurrentWorkflowConditionFailedError(
                        current,
                        f"workflow {snapshot.workflow_id!r}: expected closed current run {previous_run_id!r}, "
                        f"found {current}",
                    )
            else:  # pragma: no cover - enum is closed
                raise ValueError(f"unknown create mode {mode}")
            _write_events(cursor, events)
            _insert_execution(cursor, shard_id, snapshot)
            _upsert_current(cursor, shard_id, snapshot)
            _write_tasks(cursor, shard_id, transfer_tasks, timer_tasks)

        await self._db.write(f"create workflow {snapshot.workflow_id!r} run {snapshot.run_id}", body)

    async def update_workflow_execution(
        self,
        *,
        shard_id: int,
        range_id: int,
        mutation: WorkflowMutation,
        new_run: WorkflowMutation | None = None,
    ) -> None:
        s = mutation.snapshot

        def body(cursor: Cursor) -> None:
            lock_shard(cursor, shard_id=shard_id, range_id=range_id)
            cursor.execute(
                "SELECT db_version FROM executions "
                "WHERE shard_id = %s AND namespace_id = %s AND workflow_id = %s AND run_id = %s FOR UPDATE",
                (shard_id, s.namespace_id, s.workflow_id, s.run_id),
            )
            row = cursor.fetchone()
            if row is None:
                raise ConditionFailedError(f"run {s.run_id} of workflow {s.workflow_id!r} does not exist")
            if int(row[0]) != mutation.condition_db_version:
                raise ConditionFailedError(
                    f"run {s.run_id}: db_version is {row[0]}, writer read {mutation.condition_db_version}"
                )
            current = _lock_current(
                cursor, shard_id=shard_id, namespace_id=s.namespace_id, workflow_id=s.workflow_id
            )
            if current is None or current.run_id != s.run_id:
                raise ConditionFailedError(
                    f"workflow {s.workflow_id!r}: current run is {None if current is None else current.run_id}, "
                    f"not the updated run {s.run_id}"
                )
            if new_run is not None:
                n = new_run.snapshot
                if (n.namespace_id, n.workflow_id) != (s.namespace_id, s.workflow_id):
                    raise ValueError("new_run must continue the same workflow id")
            _write_events(cursor, mutation.events)
            cursor.execute(
                "UPDATE executions SET state = %s, state_enum = %s, status = %s, next_event_id = %s, "
                "db_version = %s, create_request_id = %s, start_time_ms = %s "
                "WHERE shard_id = %s AND namespace_id = %s AND workflow_id = %s AND run_id = %s",
                (
                    s.state,
                    int(s.state_enum),
                    s.status,
                    s.next_event_id,
                    s.db_version,
                    s.create_request_id,
                    s.start_time_ms,
                    shard_id,
                    s.namespace_id,
                    s.workflow_id,
                    s.run_id,
                ),
            )
            _write_tasks(cursor, shard_id, mutation.transfer_tasks, mutation.timer_tasks)
            if new_run is None:
                cursor.execute(
                    "UPDATE current_executions SET state = %s, status = %s "
                    "WHERE shard_id = %s AND namespace_id = %s AND workflow_id = %s",
                    (int(s.state_enum), s.status, shard_id, s.namespace_id, s.workflow_id),
                )
            else:
                _write_events(cursor, new_run.events)
                _insert_execution(cursor, shard_id, new_run.snapshot)
                _upsert_current(cursor, shard_id, new_run.snapshot)
                _write_tasks(cursor, shard_id, new_run.transfer_tasks, new_run.timer_tasks)

        await self._db.write(f"update workflow {s.workflow_id!r} run {s.run_id}", body)

    async def get_workflow_execution(
        self, *, shard_id: int, namespace_id: str, workflow_id: str, run_id: str
    ) -> WorkflowSnapshot:
        def body(cursor: Cursor) -> WorkflowSnapshot:
            cursor.execute(_SELECT_EXECUTION, (shard_id, namespace_id, workflow_id, run_id))
            row = cursor.fetchone()
            if row is None:
                raise NotFoundError(f"run {run_id} of workflow {workflow_id!r} not found")
            state, state_enum, status, next_event_id, db_version, create_request_id, start_time_ms = row
            return WorkflowSnapshot(
                namespace_id=namespace_id,
                workflow_id=workflow_id,
                run_id=run_id,
                state=bytes(state),
                state_enum=ExecutionState(int(state_enum)),
                status=int(status),
                next_event_id=int(next_event_id),
                db_version=int(db_version),
                create_request_id=create_request_id,
                start_time_ms=int(start_time_ms),
            )

        return await self._db.read(f"get workflow {workflow_id!r} run {run_id}", body)

    async def get_current_execution(
        self, *, shard_id: int, namespace_id: str, workflow_id: str
    ) -> CurrentExecution:
        def body(cursor: Cursor) -> CurrentExecution:
            cursor.execute(
                "SELECT run_id, create_request_id, state, status, start_time_ms FROM current_executions "
                "WHERE shard_id = %s AND namespace_id = %s AND workflow_id = %s",
                (shard_id, namespace_id, workflow_id),
            )
            row = cursor.fetchone()
            if row is None:
                raise NotFoundError(f"workflow {workflow_id!r} has no current run")
            return _current_from_row(namespace_id, workflow_id, row)

        return await self._db.read(f"get current run of workflow {workflow_id!r}", body)

    async def delete_workflow_execution(
        self, *, shard_id: int, namespace_id: str, workflow_id: str, run_id: str
    ) -> None:
        def body(cursor: Cursor) -> None:
            cursor.execute(
                "DELETE FROM current_executions WHERE shard_id = %s AND namespace_id = %s AND workflow_id = %s "
                "AND run_id = %s",
                (shard_id, namespace_id, workflow_id, run_id),
            )
            cursor.execute(
                "DELETE FROM executions WHERE shard_id = %s AND namespace_id = %s AND workflow_id = %s AND run_id = %s",
                (shard_id, namespace_id, workflow_id, run_id),
            )
            cursor.execute(
                "DELETE FROM history_batches WHERE namespace_id = %s AND workflow_id = %s AND run_id = %s",
                (namespace_id, workflow_id, run_id),
            )

        await self._db.write(f"delete workflow {workflow_id!r} run {run_id}", body)

    async def read_history(
        self,
        *,
        namespace_id: str,
        workflow_id: str,
        run_id: str,
        min_event_id: int,
        max_event_id: int,
        page_size: int,
        page_token: bytes = b"",
    ) -> tuple[list[EventBatch], bytes]:
        check_page_size(page_size)
        run = (namespace_id, workflow_id, run_id)
        after: int | None = None
        if page_token:
            (after,) = decode_token(page_token, what="history", types=(int,))

        def body(cursor: Cursor) -> tuple[list[EventBatch], bytes]:
            if after is not None:
                start = after + 1
            else:
                # Start at the batch holding min_event_id (the last one starting at or before it).
                cursor.execute(
                    "SELECT MAX(first_event_id) FROM history_batches "
                    "WHERE namespace_id = %s AND workflow_id = %s AND run_id = %s AND first_event_id <= %s",
                    (*run, min_event_id),
                )
                holder = cursor.fetchone()[0]
                start = min_event_id if holder is None else int(holder)
            cursor.execute(
                "SELECT first_event_id, event_count, data FROM history_batches "
                "WHERE namespace_id = %s AND workflow_id = %s AND run_id = %s "
                "AND first_event_id >= %s AND first_event_id < %s AND first_event_id + event_count > %s "
                "ORDER BY first_event_id LIMIT %s",
                (*run, start, max_event_id, min_event_id, page_size + 1),
            )
            rows = cursor.fetchall()
            batches = [
                EventBatch(
                    namespace_id=namespace_id,
                    workflow_id=workflow_id,
                    run_id=run_id,
                    first_event_id=int(first),
                    event_count=int(count),
                    data=bytes(data),
                )
                for first, count, data in rows[:page_size]
            ]
            token = encode_token(batches[-1].first_event_id) if len(rows) > page_size else b""
            return batches, token

        return await self._db.read(f"read history of run {run_id}", body)

    async def get_transfer_tasks(
        self, *, shard_id: int, exclusive_min_task_id: int, inclusive_max_task_id: int, batch_size: int
    ) -> list[TransferTask]:
        def body(cursor: Cursor) -> list[TransferTask]:
            cursor.execute(
                "SELECT task_id, data FROM transfer_tasks WHERE shard_id = %s AND task_id > %s AND task_id <= %s "
                "ORDER BY task_id LIMIT %s",
                (shard_id, exclusive_min_task_id, inclusive_max_task_id, batch_size),
            )
            return [TransferTask(task_id=int(t), data=bytes(d)) for t, d in cursor.fetchall()]

        return await self._db.read(f"get transfer tasks of shard {shard_id}", body)

    async def complete_transfer_tasks(self, *, shard_id: int, inclusive_max_task_id: int) -> None:
        def body(cursor: Cursor) -> None:
            cursor.execute(
                "DELETE FROM transfer_tasks WHERE shard_id = %s AND task_id <= %s",
                (shard_id, inclusive_max_task_id),
            )

        await self._db.write(f"complete transfer tasks of shard {shard_id}", body)

    async def get_timer_tasks(
        self, *, shard_id: int, min_time_ms: int, max_time_ms: int, batch_size: int
    ) -> list[TimerTask]:
        def body(cursor: Cursor) -> list[TimerTask]:
            cursor.execute(
                "SELECT visibility_time_ms, task_id, data FROM timer_tasks WHERE shard_id = %s "
                "AND visibility_time_ms >= %s AND visibility_time_ms < %s "
                "ORDER BY visibility_time_ms, task_id LIMIT %s",
                (shard_id, min_time_ms, max_time_ms, batch_size),
            )
            return [
                TimerTask(visibility_time_ms=int(v), task_id=int(t), data=bytes(d))
                for v, t, d in cursor.fetchall()
            ]

        return await self._db.read(f"get timer tasks of shard {shard_id}", body)

    async def complete_timer_tasks_before(self, *, shard_id: int, exclusive_max_time_ms: int) -> None:
        def body(cursor: Cursor) -> None:
            cursor.execute(
                "DELETE FROM timer_tasks WHERE shard_id = %s AND visibility_time_ms < %s",
                (shard_id, exclusive_max_time_ms),
            )

        await self._db.write(f"complete timer tasks of shard {shard_id}", body)

    async def complete_timer_task(self, *, shard_id: int, visibility_time_ms: int, task_id: int) -> None:
        def body(cursor: Cursor) -> None:
            cursor.execute(
                "DELETE FROM timer_tasks WHERE shard_id = %s AND visibility_time_ms = %s AND task_id = %s",
                (shard_id, visibility_time_ms, task_id),
            )

        await self._db.write(f"complete timer task {task_id} of shard {shard_id}", body)
