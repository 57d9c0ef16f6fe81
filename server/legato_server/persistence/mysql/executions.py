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
from legato_server.persistence.mysql.database import (
    Cursor,
    Database,
    Statement,
    StatementResult,
    pipeline,
    values_rows,
)
from legato_server.persistence.paging import check_page_size, decode_token, encode_token

_LOCK_SHARD = "SELECT range_id FROM shards WHERE shard_id = %s FOR UPDATE"
_LOCK_CURRENT = (
    "SELECT run_id, create_request_id, state, status, start_time_ms FROM current_executions "
    "WHERE shard_id = %s AND namespace_id = %s AND workflow_id = %s FOR UPDATE"
)
_LOCK_EXECUTION = (
    "SELECT db_version FROM executions "
    "WHERE shard_id = %s AND namespace_id = %s AND workflow_id = %s AND run_id = %s FOR UPDATE"
)
_EXECUTION_EXISTS = (
    "SELECT 1 FROM executions WHERE shard_id = %s AND namespace_id = %s AND workflow_id = %s AND run_id = %s"
)
_INSERT_EXECUTION = (
    "INSERT INTO executions (shard_id, namespace_id, workflow_id, run_id, state, state_enum, status, "
    "next_event_id, db_version, create_request_id, start_time_ms) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_UPDATE_EXECUTION = (
    "UPDATE executions SET state = %s, state_enum = %s, status = %s, next_event_id = %s, "
    "db_version = %s, create_request_id = %s, start_time_ms = %s "
    "WHERE shard_id = %s AND namespace_id = %s AND workflow_id = %s AND run_id = %s"
)
_UPSERT_CURRENT = (
    "INSERT INTO current_executions (shard_id, namespace_id, workflow_id, run_id, create_request_id, "
    "state, status, start_time_ms) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
    "ON DUPLICATE KEY UPDATE run_id = VALUES(run_id), create_request_id = VALUES(create_request_id), "
    "state = VALUES(state), status = VALUES(status), start_time_ms = VALUES(start_time_ms)"
)
_UPDATE_CURRENT = (
    "UPDATE current_executions SET state = %s, status = %s "
    "WHERE shard_id = %s AND namespace_id = %s AND workflow_id = %s"
)
_SELECT_EXECUTION = (
    "SELECT state, state_enum, status, next_event_id, db_version, create_request_id, start_time_ms "
    "FROM executions WHERE shard_id = %s AND namespace_id = %s AND workflow_id = %s AND run_id = %s"
)


_READ_HISTORY = (
    "SELECT first_event_id, event_count, data FROM history_batches "
    "WHERE namespace_id = %s AND workflow_id = %s AND run_id = %s "
    "AND first_event_id >= {start} AND first_event_id < %s AND first_event_id + event_count > %s "
    "ORDER BY first_event_id LIMIT %s"
)
_HISTORY_HOLDER = (
    "COALESCE((SELECT MAX(first_event_id) FROM history_batches "
    "WHERE namespace_id = %s AND workflow_id = %s AND run_id = %s AND first_event_id <= %s), %s)"
)


def lock_shard(cursor: Cursor, *, shard_id: int, range_id: int) -> None:
    """Raise ShardOwnershipLostError unless the shard row holds ``range_id``; keeps it locked."""
    cursor.execute(_LOCK_SHARD, (shard_id,))
    _check_range(cursor.fetchone(), shard_id=shard_id, range_id=range_id)


def _check_range(row: tuple | None, *, shard_id: int, range_id: int) -> None:
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


def _current(result: StatementResult, *, namespace_id: str, workflow_id: str) -> CurrentExecution | None:
    return _current_from_row(namespace_id, workflow_id, result.rows[0]) if result.rows else None


def _run_key(shard_id: int, s: WorkflowSnapshot) -> tuple[int, str, str, str]:
    return (shard_id, s.namespace_id, s.workflow_id, s.run_id)


def _events(batches: list[EventBatch]) -> list[Statement]:
    if not batches:
        return []
    return [
        (
            "REPLACE INTO history_batches (namespace_id, workflow_id, run_id, first_event_id, event_count, data) "
            f"VALUES {values_rows(len(batches), 6)}",
            [
                v
                for b in batches
                for v in (b.namespace_id, b.workflow_id, b.run_id, b.first_event_id, b.event_count, b.data)
            ],
        )
    ]


def _tasks(shard_id: int, transfer: list[TransferTask], timers: list[TimerTask]) -> list[Statement]:
    statements: list[Statement] = []
    if transfer:
        statements.append(
            (
                f"INSERT INTO transfer_tasks (shard_id, task_id, data) VALUES {values_rows(len(transfer), 3)}",
                [v for t in transfer for v in (shard_id, t.task_id, t.data)],
            )
        )
    if timers:
        statements.append(
            (
                "INSERT INTO timer_tasks (shard_id, visibility_time_ms, task_id, data) "
                f"VALUES {values_rows(len(timers), 4)}",
                [v for t in timers for v in (shard_id, t.visibility_time_ms, t.task_id, t.data)],
            )
        )
    return statements


def _insert_execution(shard_id: int, s: WorkflowSnapshot) -> Statement:
    return (_INSERT_EXECUTION, (*_run_key(shard_id, s), *s.state_columns()))


def _upsert_current(shard_id: int, s: WorkflowSnapshot) -> Statement:
    return (
        _UPSERT_CURRENT,
        (
            *_run_key(shard_id, s),
            s.create_request_id,
            int(s.state_enum),
            s.status,
            s.start_time_ms,
        ),
    )


def _new_run_writes(shard_id: int, run: WorkflowMutation) -> list[Statement]:
    return [
        *_events(run.events),
        _insert_execution(shard_id, run.snapshot),
        _upsert_current(shard_id, run.snapshot),
        *_tasks(shard_id, run.transfer_tasks, run.timer_tasks),
    ]


def _refuse_existing(result: StatementResult, s: WorkflowSnapshot) -> None:
    if result.rows:
        raise ConditionFailedError(f"run {s.run_id} of workflow {s.workflow_id!r} already exists")


class MySQLExecutionStore(ExecutionStore):
    """Each create and update is two round trips: lock and read the rows it checks, then write and commit."""

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
        key = _run_key(shard_id, snapshot)

        def body(cursor: Cursor) -> None:
            shard, current_row, existing = pipeline(
                cursor, [(_LOCK_SHARD, (shard_id,)), (_LOCK_CURRENT, key[:3]), (_EXECUTION_EXISTS, key)]
            )
            _check_range(shard.rows[0] if shard.rows else None, shard_id=shard_id, range_id=range_id)
            current = _current(
                current_row, namespace_id=snapshot.namespace_id, workflow_id=snapshot.workflow_id
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
            _refuse_existing(existing, snapshot)
            writes = WorkflowMutation(
                snapshot=snapshot,
                condition_db_version=0,
                events=events,
                transfer_tasks=transfer_tasks,
                timer_tasks=timer_tasks,
            )
            pipeline(cursor, _new_run_writes(shard_id, writes), commit=True)

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
        key = _run_key(shard_id, s)
        if new_run is not None:
            n = new_run.snapshot
            if (n.namespace_id, n.workflow_id) != (s.namespace_id, s.workflow_id):
                raise ValueError("new_run must continue the same workflow id")

        def body(cursor: Cursor) -> None:
            checks: list[Statement] = [
                (_LOCK_SHARD, (shard_id,)),
                (_LOCK_EXECUTION, key),
                (_LOCK_CURRENT, key[:3]),
            ]
            if new_run is not None:
                checks.append((_EXECUTION_EXISTS, _run_key(shard_id, new_run.snapshot)))
            shard, execution, current_row, *new_existing = pipeline(cursor, checks)
            _check_range(shard.rows[0] if shard.rows else None, shard_id=shard_id, range_id=range_id)
            if not execution.rows:
                raise ConditionFailedError(f"run {s.run_id} of workflow {s.workflow_id!r} does not exist")
            version = int(execution.rows[0][0])
            if version != mutation.condition_db_version:
                raise ConditionFailedError(
                    f"run {s.run_id}: db_version is {version}, writer read {mutation.condition_db_version}"
                )
            current = _current(current_row, namespace_id=s.namespace_id, workflow_id=s.workflow_id)
            if current is None or current.run_id != s.run_id:
                raise ConditionFailedError(
                    f"workflow {s.workflow_id!r}: current run is {None if current is None else current.run_id}, "
                    f"not the updated run {s.run_id}"
                )
            writes: list[Statement] = [
                *_events(mutation.events),
                (_UPDATE_EXECUTION, (*s.state_columns(), *key)),
                *_tasks(shard_id, mutation.transfer_tasks, mutation.timer_tasks),
            ]
            if new_run is None:
                writes.append((_UPDATE_CURRENT, (int(s.state_enum), s.status, *key[:3])))
            else:
                _refuse_existing(new_existing[0], new_run.snapshot)
                writes.extend(_new_run_writes(shard_id, new_run))
            pipeline(cursor, writes, commit=True)

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
                cursor.execute(
                    _READ_HISTORY.format(start="%s"),
                    (*run, after + 1, max_event_id, min_event_id, page_size + 1),
                )
            else:
                # Start at the batch holding min_event_id (the last one starting at or before it), in
                # the same statement: one round trip per page.
                cursor.execute(
                    _READ_HISTORY.format(start=_HISTORY_HOLDER),
                    (*run, *run, min_event_id, min_event_id, max_event_id, min_event_id, page_size + 1),
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
