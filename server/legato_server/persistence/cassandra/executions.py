"""Workflow executions, history and shard tasks on Cassandra.

One history update = history event batches written first (their own table,
plain writes), then ONE logged batch on the shard's ``executions`` partition
holding the mutable state, the current-execution row and the new tasks, with
lightweight-transaction conditions on several rows of that partition:

* the shard row:       ``UPDATE ... SET range_id = ? IF range_id = ?`` (fencing);
* the run's row:       ``IF db_version = ?`` (update) / ``IF NOT EXISTS`` (create);
* the current row:     ``IF current_run_id = ?`` (update, continue-as-new),
                       ``IF NOT EXISTS`` (brand-new create) or
                       ``IF current_run_id = ? AND state_enum = COMPLETED`` (id reuse).

Cassandra applies all of it or none of it, in one Paxos round. When it is not
applied the answer carries, for each conditioned row that exists, its current
values (with ``row_type``), which tells the failures apart: a shard row with
another range_id is ``ShardOwnershipLostError`` (checked first: a fenced
writer must stop whatever else failed); a current row in the way is
``CurrentWorkflowConditionFailedError`` carrying it; anything else is
``ConditionFailedError``.

Updates of one shard that run concurrently share that Paxos round: the
store sends one batch per shard at a time and groups what queued meanwhile
(``group_commit``: the shard fence once, each update's own conditions and
rows, never two writes of one row in a group).

History written before a batch that then fails is harmless: readers stop at
the run's ``next_event_id`` and a retry rewrites the same (run,
first_event_id) key. A timed-out batch is ``TransientError`` with an unknown
outcome; the engine re-reads the run (db_version tells whether it applied).
"""

from __future__ import annotations

import asyncio

from legato_server.persistence.cassandra.group_commit import GroupCommitter
from legato_server.persistence.cassandra.session import CassandraSession, Row, applied
from legato_server.persistence.cassandra.shards import (
    KEY_COLUMNS,
    ROW_CURRENT,
    ROW_EXECUTION,
    ROW_KEY,
    ROW_SHARD,
    ROW_TIMER,
    ROW_TRANSFER,
    shard_key,
)
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
from legato_server.persistence.paging import check_page_size, decode_token, encode_token

Statement = tuple[str, tuple]

_FENCE = f"UPDATE executions SET range_id = ? WHERE {ROW_KEY} IF range_id = ?"
_INSERT_EXECUTION = (
    f"INSERT INTO executions ({KEY_COLUMNS}, state, state_enum, status, next_event_id, db_version, "
    "create_request_id, start_time_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS"
)
_UPDATE_EXECUTION = (
    "UPDATE executions SET state = ?, state_enum = ?, status = ?, next_event_id = ?, db_version = ?, "
    f"create_request_id = ?, start_time_ms = ? WHERE {ROW_KEY} IF db_version = ?"
)
_INSERT_CURRENT = (
    f"INSERT INTO executions ({KEY_COLUMNS}, current_run_id, create_request_id, state_enum, status, "
    "start_time_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS"
)
_REPLACE_CURRENT = (
    "UPDATE executions SET current_run_id = ?, create_request_id = ?, state_enum = ?, status = ?, "
    f"start_time_ms = ? WHERE {ROW_KEY} IF current_run_id = ?"
)
_REUSE_CURRENT = (
    "UPDATE executions SET current_run_id = ?, create_request_id = ?, state_enum = ?, status = ?, "
    f"start_time_ms = ? WHERE {ROW_KEY} IF current_run_id = ? AND state_enum = ?"
)
_UPDATE_CURRENT_STATE = (
    f"UPDATE executions SET state_enum = ?, status = ? WHERE {ROW_KEY} IF current_run_id = ?"
)
_INSERT_TRANSFER = f"INSERT INTO executions ({KEY_COLUMNS}, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
_INSERT_TIMER = _INSERT_TRANSFER
_WRITE_EVENTS = (
    "INSERT INTO history_batches (namespace_id, workflow_id, run_id, first_event_id, event_count, data) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_TASK_PREFIX = "shard_id = ? AND row_type = ? AND namespace_id = '' AND workflow_id = '' AND run_id = ''"


def execution_key(shard_id: int, namespace_id: str, workflow_id: str, run_id: str) -> tuple:
    return (shard_id, ROW_EXECUTION, namespace_id, workflow_id, run_id, 0, 0)


def current_key(shard_id: int, namespace_id: str, workflow_id: str) -> tuple:
    return (shard_id, ROW_CURRENT, namespace_id, workflow_id, "", 0, 0)


def _current_from_row(row: Row) -> CurrentExecution:
    return CurrentExecution(
        namespace_id=row["namespace_id"],
        workflow_id=row["workflow_id"],
        run_id=row["current_run_id"],
        create_request_id=row.get("create_request_id") or "",
        state=ExecutionState(int(row["state_enum"])),
        status=int(row["status"]),
        start_time_ms=int(row.get("start_time_ms") or 0),
    )


def _fence(shard_id: int, range_id: int) -> Statement:
    return _FENCE, (range_id, *shard_key(shard_id), range_id)


def _insert_execution(shard_id: int, s: WorkflowSnapshot) -> Statement:
    return _INSERT_EXECUTION, (
        *execution_key(shard_id, s.namespace_id, s.workflow_id, s.run_id),
        *s.state_columns(),
    )


def _run_row(s: WorkflowSnapshot) -> tuple:
    """What a group commit must not put twice in one batch: the run's row..."""
    return (ROW_EXECUTION, s.namespace_id, s.workflow_id, s.run_id)


def _current_row(s: WorkflowSnapshot) -> tuple:
    """... and the workflow id's current row."""
    return (ROW_CURRENT, s.namespace_id, s.workflow_id)


def _current_values(s: WorkflowSnapshot) -> tuple:
    return (s.run_id, s.create_request_id, int(s.state_enum), s.status, s.start_time_ms)


def _task_statements(shard_id: int, transfer: list[TransferTask], timers: list[TimerTask]) -> list[Statement]:
    statements: list[Statement] = [
        (_INSERT_TRANSFER, (shard_id, ROW_TRANSFER, "", "", "", 0, t.task_id, t.data)) for t in transfer
    ]
    statements += [
        (_INSERT_TIMER, (shard_id, ROW_TIMER, "", "", "", t.visibility_time_ms, t.task_id, t.data))
        for t in timers
    ]
    return statements


def _rows_by_type(rows: list[Row]) -> dict[int, list[Row]]:
    found: dict[int, list[Row]] = {}
    for row in rows:
        row_type = row.get("row_type")
        if row_type is not None:
            found.setdefault(int(row_type), []).append(row)
    return found


def _raise_if_fenced(found: dict[int, list[Row]], *, shard_id: int, range_id: int) -> None:
    shard_rows = found.get(ROW_SHARD, [])
    actual = shard_rows[0].get("range_id") if shard_rows else None
    if actual is None or int(actual) != range_id:
        raise ShardOwnershipLostError(shard_id, range_id, None if actual is None else int(actual))


class CassandraExecutionStore(ExecutionStore):
    def __init__(self, session: CassandraSession) -> None:
        self._session = session
        self._writes = GroupCommitter(session)

    async def _commit(
        self,
        *,
        shard_id: int,
        range_id: int,
        action: str,
        statements: list[Statement],
        keys: frozenset[tuple],
    ) -> list[Row]:
        return await self._writes.commit(
            partition=shard_id,
            action=action,
            fence=_fence(shard_id, range_id),
            statements=statements,
            keys=keys,
        )

    async def _write_events(self, batches: list[EventBatch]) -> None:
        if batches:
            await asyncio.gather(
                *(
                    self._session.execute(
                        f"write history of run {b.run_id}",
                        _WRITE_EVENTS,
                        (b.namespace_id, b.workflow_id, b.run_id, b.first_event_id, b.event_count, b.data),
                    )
                    for b in batches
                )
            )

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
        s = snapshot
        await self._write_events(events)
        key = current_key(shard_id, s.namespace_id, s.workflow_id)
        if mode is CreateMode.BRAND_NEW:
            current: Statement = (_INSERT_CURRENT, (*key, *_current_values(s)))
        elif mode is CreateMode.WORKFLOW_ID_REUSE:
            current = (
                _REUSE_CURRENT,
                (*_current_values(s), *key, previous_run_id, int(ExecutionState.COMPLETED)),
            )
        else:  # pragma: no cover - enum is closed
            raise ValueError(f"unknown create mode {mode}")
        statements = [
            _insert_execution(shard_id, s),
            current,
            *_task_statements(shard_id, transfer_tasks, timer_tasks),
        ]
        rows = await self._commit(
            shard_id=shard_id,
            range_id=range_id,
            action=f"create workflow {s.workflow_id!r} run {s.run_id}",
            statements=statements,
            keys=frozenset({_run_row(s), _current_row(s)}),
        )
        if applied(rows):
            return
        found = _rows_by_type(rows)
        _raise_if_fenced(found, shard_id=shard_id, range_id=range_id)
        current_rows = found.get(ROW_CURRENT, [])
        existing = _current_from_row(current_rows[0]) if current_rows else None
        if mode is CreateMode.BRAND_NEW and existing is not None:
            raise CurrentWorkflowConditionFailedError(
                existing, f"workflow {s.workflow_id!r} already has a current run {existing.run_id}"
            )
        if mode is CreateMode.WORKFLOW_ID_REUSE and (
            existing is None
            or existing.run_id != previous_run_id
            or existing.state != ExecutionState.COMPLETED
        ):
            raise CurrentWorkflowConditionFailedError(
                existing,
                f"workflow {s.workflow_id!r}: expected closed current run {previous_run_id!r}, found {existing}",
            )
        if found.get(ROW_EXECUTION):
            raise ConditionFailedError(f"run {s.run_id} of workflow {s.workflow_id!r} already exists")
        raise ConditionFailedError(
            f"create workflow {s.workflow_id!r} run {s.run_id}: conditions did not hold"
        )

    async def update_workflow_execution(
        self,
        *,
        shard_id: int,
        range_id: int,
        mutation: WorkflowMutation,
        new_run: WorkflowMutation | None = None,
    ) -> None:
        s = mutation.snapshot
        if new_run is not None and (new_run.snapshot.namespace_id, new_run.snapshot.workflow_id) != (
            s.namespace_id,
            s.workflow_id,
        ):
            raise ValueError("new_run must continue the same workflow id")
        await self._write_events(mutation.events + (new_run.events if new_run is not None else []))
        key = current_key(shard_id, s.namespace_id, s.workflow_id)
        statements: list[Statement] = [
            (
                _UPDATE_EXECUTION,
                (
                    *s.state_columns(),
                    *execution_key(shard_id, s.namespace_id, s.workflow_id, s.run_id),
                    mutation.condition_db_version,
                ),
            ),
        ]
        if new_run is None:
            statements.append((_UPDATE_CURRENT_STATE, (int(s.state_enum), s.status, *key, s.run_id)))
        else:
            statements.append((_REPLACE_CURRENT, (*_current_values(new_run.snapshot), *key, s.run_id)))
            statements.append(_insert_execution(shard_id, new_run.snapshot))
        statements += _task_statements(shard_id, mutation.transfer_tasks, mutation.timer_tasks)
        if new_run is not None:
            statements += _task_statements(shard_id, new_run.transfer_tasks, new_run.timer_tasks)
        keys = {_run_row(s), _current_row(s)}
        if new_run is not None:
            keys.add(_run_row(new_run.snapshot))
        rows = await self._commit(
            shard_id=shard_id,
            range_id=range_id,
            action=f"update workflow {s.workflow_id!r} run {s.run_id}",
            statements=statements,
            keys=frozenset(keys),
        )
        if applied(rows):
            return
        found = _rows_by_type(rows)
        _raise_if_fenced(found, shard_id=shard_id, range_id=range_id)
        for row in found.get(ROW_EXECUTION, []):
            if row.get("run_id") == s.run_id and row.get("db_version") != mutation.condition_db_version:
                raise ConditionFailedError(
                    f"run {s.run_id}: db_version is {row.get('db_version')}, writer read "
                    f"{mutation.condition_db_version}"
                )
        current_rows = found.get(ROW_CURRENT, [])
        if not current_rows or current_rows[0].get("current_run_id") != s.run_id:
            named = current_rows[0].get("current_run_id") if current_rows else None
            raise ConditionFailedError(
                f"workflow {s.workflow_id!r}: current run is {named}, not the updated run {s.run_id}"
            )
        raise ConditionFailedError(
            f"update workflow {s.workflow_id!r} run {s.run_id}: conditions did not hold"
        )

    async def get_workflow_execution(
        self, *, shard_id: int, namespace_id: str, workflow_id: str, run_id: str
    ) -> WorkflowSnapshot:
        rows = await self._session.execute(
            f"get workflow {workflow_id!r} run {run_id}",
            "SELECT state, state_enum, status, next_event_id, db_version, create_request_id, start_time_ms "
            f"FROM executions WHERE {ROW_KEY}",
            execution_key(shard_id, namespace_id, workflow_id, run_id),
            idempotent=True,
        )
        if not rows or rows[0]["db_version"] is None:
            raise NotFoundError(f"run {run_id} of workflow {workflow_id!r} not found")
        row = rows[0]
        return WorkflowSnapshot(
            namespace_id=namespace_id,
            workflow_id=workflow_id,
            run_id=run_id,
            state=bytes(row["state"] or b""),
            state_enum=ExecutionState(int(row["state_enum"])),
            status=int(row["status"]),
            next_event_id=int(row["next_event_id"]),
            db_version=int(row["db_version"]),
            create_request_id=row["create_request_id"] or "",
            start_time_ms=int(row["start_time_ms"] or 0),
        )

    async def get_current_execution(
        self, *, shard_id: int, namespace_id: str, workflow_id: str
    ) -> CurrentExecution:
        rows = await self._session.execute(
            f"get current run of workflow {workflow_id!r}",
            "SELECT namespace_id, workflow_id, current_run_id, create_request_id, state_enum, status, start_time_ms "
            f"FROM executions WHERE {ROW_KEY}",
            current_key(shard_id, namespace_id, workflow_id),
            idempotent=True,
        )
        if not rows or rows[0]["current_run_id"] is None:
            raise NotFoundError(f"workflow {workflow_id!r} has no current run")
        return _current_from_row(rows[0])

    async def delete_workflow_execution(
        self, *, shard_id: int, namespace_id: str, workflow_id: str, run_id: str
    ) -> None:
        action = f"delete workflow {workflow_id!r} run {run_id}"
        # The current row is only ever written by LWT, so it is removed by one too.
        await self._session.execute(
            action,
            f"DELETE FROM executions WHERE {ROW_KEY} IF current_run_id = ?",
            (*current_key(shard_id, namespace_id, workflow_id), run_id),
        )
        await self._session.execute(
            action,
            f"DELETE FROM executions WHERE {ROW_KEY}",
            execution_key(shard_id, namespace_id, workflow_id, run_id),
            idempotent=True,
        )
        await self._session.execute(
            action,
            "DELETE FROM history_batches WHERE namespace_id = ? AND workflow_id = ? AND run_id = ?",
            (namespace_id, workflow_id, run_id),
            idempotent=True,
        )

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
        action = f"read history of run {run_id}"
        if page_token:
            (after,) = decode_token(page_token, what="history", types=(int,))
            start = after + 1
        else:
            start = min_event_id
        rows = await self._session.execute(
            action,
            "SELECT first_event_id, event_count, data FROM history_batches WHERE namespace_id = ? "
            "AND workflow_id = ? AND run_id = ? AND first_event_id >= ? AND first_event_id < ? "
            "ORDER BY first_event_id LIMIT ?",
            (*run, start, max_event_id, page_size + 1),
            idempotent=True,
        )
        if not page_token and (not rows or int(rows[0]["first_event_id"]) != min_event_id):
            # min_event_id is inside a batch (or past them all): the batch that
            # holds it starts before it. Most reads start at a batch boundary
            # (event 1, or the first event of a workflow task), so this second
            # read is the exception.
            holder = await self._session.execute(
                action,
                "SELECT first_event_id, event_count, data FROM history_batches WHERE namespace_id = ? "
                "AND workflow_id = ? AND run_id = ? AND first_event_id < ? ORDER BY first_event_id DESC LIMIT 1",
                (*run, min(min_event_id, max_event_id)),
                idempotent=True,
            )
            if holder and int(holder[0]["first_event_id"]) + int(holder[0]["event_count"]) > min_event_id:
                rows = holder + rows
        batches = [
            EventBatch(
                namespace_id=namespace_id,
                workflow_id=workflow_id,
                run_id=run_id,
                first_event_id=int(r["first_event_id"]),
                event_count=int(r["event_count"]),
                data=bytes(r["data"]),
            )
            for r in rows[:page_size]
        ]
        token = encode_token(batches[-1].first_event_id) if len(rows) > page_size else b""
        return batches, token

    async def get_transfer_tasks(
        self, *, shard_id: int, exclusive_min_task_id: int, inclusive_max_task_id: int, batch_size: int
    ) -> list[TransferTask]:
        rows = await self._session.execute(
            f"get transfer tasks of shard {shard_id}",
            f"SELECT task_id, data FROM executions WHERE {_TASK_PREFIX} AND visibility_time_ms = 0 "
            "AND task_id > ? AND task_id <= ? LIMIT ?",
            (shard_id, ROW_TRANSFER, exclusive_min_task_id, inclusive_max_task_id, batch_size),
            idempotent=True,
        )
        return [TransferTask(task_id=int(r["task_id"]), data=bytes(r["data"])) for r in rows]

    async def complete_transfer_tasks(self, *, shard_id: int, inclusive_max_task_id: int) -> None:
        await self._session.execute(
            f"complete transfer tasks of shard {shard_id}",
            f"DELETE FROM executions WHERE {_TASK_PREFIX} AND visibility_time_ms = 0 AND task_id <= ?",
            (shard_id, ROW_TRANSFER, inclusive_max_task_id),
            idempotent=True,
        )

    async def get_timer_tasks(
        self, *, shard_id: int, min_time_ms: int, max_time_ms: int, batch_size: int
    ) -> list[TimerTask]:
        if max_time_ms <= min_time_ms:
            return []
        rows = await self._session.execute(
            f"get timer tasks of shard {shard_id}",
            f"SELECT visibility_time_ms, task_id, data FROM executions WHERE {_TASK_PREFIX} "
            "AND visibility_time_ms >= ? AND visibility_time_ms < ? LIMIT ?",
            (shard_id, ROW_TIMER, min_time_ms, max_time_ms, batch_size),
            idempotent=True,
        )
        return [
            TimerTask(
                visibility_time_ms=int(r["visibility_time_ms"]),
                task_id=int(r["task_id"]),
                data=bytes(r["data"]),
            )
            for r in rows
        ]

    async def complete_timer_tasks_before(self, *, shard_id: int, exclusive_max_time_ms: int) -> None:
        await self._session.execute(
            f"complete timer tasks of shard {shard_id}",
            f"DELETE FROM executions WHERE {_TASK_PREFIX} AND visibility_time_ms < ?",
            (shard_id, ROW_TIMER, exclusive_max_time_ms),
            idempotent=True,
        )
