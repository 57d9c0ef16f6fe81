"""Workflow executions: mutable state, the current-execution row, and their atomic writes.

Every write is one ``BEGIN IMMEDIATE`` transaction that first checks the
shard's range_id (fencing), then its own conditions, then writes the
execution row, the current row, event batches and tasks. Any failed check
raises and the transaction rolls back, so the order of checks and writes
inside it does not matter for atomicity; it is chosen so the common success
path is as few statements as possible (e.g. the db_version condition is the
WHERE clause of the UPDATE itself, and only on failure do we read why).

The current-execution row is how "the run that owns this workflow id" is
found. Creation modes decide when it may be replaced:

* BRAND_NEW: there must be no row at all (even a closed run blocks: the
  engine applies its id-reuse policy and retries with WORKFLOW_ID_REUSE).
* WORKFLOW_ID_REUSE: the row must name ``previous_run_id`` and that run must be
  closed, so a reuse decided on a stale read cannot replace a newer run.

On failure the row found travels in CurrentWorkflowConditionFailedError, so
the engine can answer a retried start (same request id) with the existing run.
"""

from __future__ import annotations

import sqlite3

from legato_server.persistence.interface import (
    ConditionFailedError,
    CreateMode,
    CurrentExecution,
    CurrentWorkflowConditionFailedError,
    EventBatch,
    ExecutionState,
    ExecutionStore,
    NotFoundError,
    TimerTask,
    TransferTask,
    WorkflowMutation,
    WorkflowSnapshot,
)
from legato_server.persistence.sqlite import history, shard_tasks
from legato_server.persistence.sqlite.database import Database
from legato_server.persistence.sqlite.fencing import require_shard_owner

_INSERT_EXECUTION = (
    "INSERT OR IGNORE INTO executions (shard_id, namespace_id, workflow_id, run_id, state, state_enum, "
    "status, next_event_id, db_version, create_request_id, start_time_ms) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

_UPDATE_EXECUTION = (
    "UPDATE executions SET state = ?, state_enum = ?, status = ?, next_event_id = ?, db_version = ?, "
    "create_request_id = ?, start_time_ms = ? "
    "WHERE shard_id = ? AND namespace_id = ? AND workflow_id = ? AND run_id = ? AND db_version = ?"
)

_SELECT_EXECUTION = (
    "SELECT state, state_enum, status, next_event_id, db_version, create_request_id, start_time_ms "
    "FROM executions WHERE shard_id = ? AND namespace_id = ? AND workflow_id = ? AND run_id = ?"
)

_REPLACE_CURRENT = (
    "INSERT OR REPLACE INTO current_executions (shard_id, namespace_id, workflow_id, run_id, "
    "create_request_id, state, status, start_time_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)

# Both conditional on the current row naming the run being updated: the
# first lets it follow that run's state, the second hands it to a successor.
_FOLLOW_CURRENT = (
    "UPDATE current_executions SET state = ?, status = ? "
    "WHERE shard_id = ? AND namespace_id = ? AND workflow_id = ? AND run_id = ?"
)
_SWITCH_CURRENT = (
    "UPDATE current_executions SET run_id = ?, create_request_id = ?, start_time_ms = ?, state = ?, status = ? "
    "WHERE shard_id = ? AND namespace_id = ? AND workflow_id = ? AND run_id = ?"
)

_SELECT_CURRENT = (
    "SELECT run_id, create_request_id, state, status, start_time_ms FROM current_executions "
    "WHERE shard_id = ? AND namespace_id = ? AND workflow_id = ?"
)


def _read_current(
    connection: sqlite3.Connection, *, shard_id: int, namespace_id: str, workflow_id: str
) -> CurrentExecution | None:
    row = connection.execute(_SELECT_CURRENT, (shard_id, namespace_id, workflow_id)).fetchone()
    if row is None:
        return None
    run_id, create_request_id, state, status, start_time_ms = row
    return CurrentExecution(
        namespace_id=namespace_id,
        workflow_id=workflow_id,
        run_id=run_id,
        create_request_id=create_request_id,
        state=ExecutionState(state),
        status=status,
        start_time_ms=start_time_ms,
    )


def _check_create_mode(mode: CreateMode, current: CurrentExecution | None, previous_run_id: str) -> None:
    if mode is CreateMode.BRAND_NEW:
        if current is not None:
            raise CurrentWorkflowConditionFailedError(
                current,
                f"workflow {current.workflow_id!r} already has a current run {current.run_id} "
                f"(state {current.state.name}); BRAND_NEW requires none",
            )
    elif mode is CreateMode.WORKFLOW_ID_REUSE:
        if current is None or current.run_id != previous_run_id:
            raise CurrentWorkflowConditionFailedError(
                current,
                f"WORKFLOW_ID_REUSE expected the current run to be {previous_run_id or '(empty)'}, "
                f"found {current.run_id if current else 'no current run'}",
            )
        if current.state is not ExecutionState.COMPLETED:
            raise CurrentWorkflowConditionFailedError(
                current,
                f"WORKFLOW_ID_REUSE needs the current run {current.run_id} closed; it is {current.state.name}",
            )
    else:
        raise ValueError(f"unknown create mode {mode!r}")


def _insert_execution(connection: sqlite3.Connection, shard_id: int, snapshot: WorkflowSnapshot) -> None:
    inserted = connection.execute(
        _INSERT_EXECUTION,
        (
            shard_id,
            snapshot.namespace_id,
            snapshot.workflow_id,
            snapshot.run_id,
            snapshot.state,
            int(snapshot.state_enum),
            snapshot.status,
            snapshot.next_event_id,
            snapshot.db_version,
            snapshot.create_request_id,
            snapshot.start_time_ms,
        ),
    ).rowcount
    if inserted != 1:
        raise ConditionFailedError(
            f"run {snapshot.run_id} of workflow {snapshot.workflow_id!r} already exists in shard {shard_id}"
        )


def _make_current(connection: sqlite3.Connection, shard_id: int, snapshot: WorkflowSnapshot) -> None:
    connection.execute(
        _REPLACE_CURRENT,
        (
            shard_id,
            snapshot.namespace_id,
            snapshot.workflow_id,
            snapshot.run_id,
            snapshot.create_request_id,
            int(snapshot.state_enum),
            snapshot.status,
            snapshot.start_time_ms,
        ),
    )


def _update_execution(connection: sqlite3.Connection, shard_id: int, mutation: WorkflowMutation) -> None:
    snapshot = mutation.snapshot
    updated = connection.execute(
        _UPDATE_EXECUTION,
        (
            snapshot.state,
            int(snapshot.state_enum),
            snapshot.status,
            snapshot.next_event_id,
            snapshot.db_version,
            snapshot.create_request_id,
            snapshot.start_time_ms,
            shard_id,
            snapshot.namespace_id,
            snapshot.workflow_id,
            snapshot.run_id,
            mutation.condition_db_version,
        ),
    ).rowcount
    if updated == 1:
        return
    row = connection.execute(
        "SELECT db_version FROM executions "
        "WHERE shard_id = ? AND namespace_id = ? AND workflow_id = ? AND run_id = ?",
        (shard_id, snapshot.namespace_id, snapshot.workflow_id, snapshot.run_id),
    ).fetchone()
    found = "the run does not exist" if row is None else f"stored db_version is {row[0]}"
    raise ConditionFailedError(
        f"update of run {snapshot.run_id} of workflow {snapshot.workflow_id!r} expected "
        f"db_version {mutation.condition_db_version}; {found}"
    )


def _write_outbox(
    connection: sqlite3.Connection,
    shard_id: int,
    *,
    events: list[EventBatch],
    transfer_tasks: list[TransferTask],
    timer_tasks: list[TimerTask],
) -> None:
    history.write_event_batches(connection, events)
    shard_tasks.insert_transfer_tasks(connection, shard_id, transfer_tasks)
    shard_tasks.insert_timer_tasks(connection, shard_id, timer_tasks)


class SQLiteExecutionStore(ExecutionStore):
    def __init__(self, database: Database) -> None:
        self._database = database

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
        action = f"create run {snapshot.run_id} of workflow {snapshot.workflow_id!r} in shard {shard_id}"
        with self._database.write(action) as connection:
            require_shard_owner(connection, shard_id=shard_id, range_id=range_id)
            current = _read_current(
                connection,
                shard_id=shard_id,
                namespace_id=snapshot.namespace_id,
                workflow_id=snapshot.workflow_id,
            )
            _check_create_mode(mode, current, previous_run_id)
            _insert_execution(connection, shard_id, snapshot)
            _make_current(connection, shard_id, snapshot)
            _write_outbox(
                connection, shard_id, events=events, transfer_tasks=transfer_tasks, timer_tasks=timer_tasks
            )

    async def update_workflow_execution(
        self,
        *,
        shard_id: int,
        range_id: int,
        mutation: WorkflowMutation,
        new_run: WorkflowMutation | None = None,
    ) -> None:
        snapshot = mutation.snapshot
        if new_run is not None and (
            new_run.snapshot.namespace_id != snapshot.namespace_id
            or new_run.snapshot.workflow_id != snapshot.workflow_id
        ):
            raise ValueError("new_run must continue the same namespace and workflow id as the mutation")
        action = f"update run {snapshot.run_id} of workflow {snapshot.workflow_id!r} in shard {shard_id}"
        with self._database.write(action) as connection:
            require_shard_owner(connection, shard_id=shard_id, range_id=range_id)
            _update_execution(connection, shard_id, mutation)
            # The current row must name this run: that condition is the WHERE
            # clause of the UPDATE, and the row is read only to explain a failure.
            where = (shard_id, snapshot.namespace_id, snapshot.workflow_id, snapshot.run_id)
            if new_run is None:
                state = (int(snapshot.state_enum), snapshot.status)
                switched = connection.execute(_FOLLOW_CURRENT, (*state, *where)).rowcount
            else:
                successor = new_run.snapshot
                identity = (successor.run_id, successor.create_request_id, successor.start_time_ms)
                state = (int(successor.state_enum), successor.status)
                switched = connection.execute(_SWITCH_CURRENT, (*identity, *state, *where)).rowcount
            if switched != 1:
                current = _read_current(
                    connection,
                    shard_id=shard_id,
                    namespace_id=snapshot.namespace_id,
                    workflow_id=snapshot.workflow_id,
                )
                raise ConditionFailedError(
                    f"run {snapshot.run_id} of workflow {snapshot.workflow_id!r} is not the current run "
                    f"(current is {current.run_id if current else 'none'})"
                )
            if new_run is not None:
                _insert_execution(connection, shard_id, new_run.snapshot)
            for change in (mutation, new_run):
                if change is not None:
                    _write_outbox(
                        connection,
                        shard_id,
                        events=change.events,
                        transfer_tasks=change.transfer_tasks,
                        timer_tasks=change.timer_tasks,
                    )

    async def get_workflow_execution(
        self, *, shard_id: int, namespace_id: str, workflow_id: str, run_id: str
    ) -> WorkflowSnapshot:
        with self._database.read(f"get run {run_id} of workflow {workflow_id!r}") as connection:
            row = connection.execute(
                _SELECT_EXECUTION, (shard_id, namespace_id, workflow_id, run_id)
            ).fetchone()
        if row is None:
            raise NotFoundError(f"run {run_id} of workflow {workflow_id!r} not found in shard {shard_id}")
        state, state_enum, status, next_event_id, db_version, create_request_id, start_time_ms = row
        return WorkflowSnapshot(
            namespace_id=namespace_id,
            workflow_id=workflow_id,
            run_id=run_id,
            state=state,
            state_enum=ExecutionState(state_enum),
            status=status,
            next_event_id=next_event_id,
            db_version=db_version,
            create_request_id=create_request_id,
            start_time_ms=start_time_ms,
        )

    async def get_current_execution(
        self, *, shard_id: int, namespace_id: str, workflow_id: str
    ) -> CurrentExecution:
        with self._database.read(f"get current run of workflow {workflow_id!r}") as connection:
            current = _read_current(
                connection, shard_id=shard_id, namespace_id=namespace_id, workflow_id=workflow_id
            )
        if current is None:
            raise NotFoundError(f"workflow {workflow_id!r} has no current run in shard {shard_id}")
        return current

    async def delete_workflow_execution(
        self, *, shard_id: int, namespace_id: str, workflow_id: str, run_id: str
    ) -> None:
        with self._database.write(f"delete run {run_id} of workflow {workflow_id!r}") as connection:
            connection.execute(
                "DELETE FROM executions WHERE shard_id = ? AND namespace_id = ? AND workflow_id = ? AND run_id = ?",
                (shard_id, namespace_id, workflow_id, run_id),
            )
            connection.execute(
                "DELETE FROM current_executions "
                "WHERE shard_id = ? AND namespace_id = ? AND workflow_id = ? AND run_id = ?",
                (shard_id, namespace_id, workflow_id, run_id),
            )
            history.delete_history(
                connection, namespace_id=namespace_id, workflow_id=workflow_id, run_id=run_id
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
        with self._database.read(f"read history of run {run_id}") as connection:
            return history.read_history_page(
                connection,
                namespace_id=namespace_id,
                workflow_id=workflow_id,
                run_id=run_id,
                min_event_id=min_event_id,
                max_event_id=max_event_id,
                page_size=page_size,
                page_token=page_token,
            )

    async def get_transfer_tasks(
        self, *, shard_id: int, exclusive_min_task_id: int, inclusive_max_task_id: int, batch_size: int
    ) -> list[TransferTask]:
        with self._database.read(f"get transfer tasks of shard {shard_id}") as connection:
            return shard_tasks.select_transfer_tasks(
                connection,
                shard_id=shard_id,
                exclusive_min_task_id=exclusive_min_task_id,
                inclusive_max_task_id=inclusive_max_task_id,
                batch_size=batch_size,
            )

    async def complete_transfer_tasks(self, *, shard_id: int, inclusive_max_task_id: int) -> None:
        with self._database.write(f"complete transfer tasks of shard {shard_id}") as connection:
            shard_tasks.delete_transfer_tasks(
                connection, shard_id=shard_id, inclusive_max_task_id=inclusive_max_task_id
            )

    async def get_timer_tasks(
        self, *, shard_id: int, min_time_ms: int, max_time_ms: int, batch_size: int
    ) -> list[TimerTask]:
        with self._database.read(f"get timer tasks of shard {shard_id}") as connection:
            return shard_tasks.select_timer_tasks(
                connection,
                shard_id=shard_id,
                min_time_ms=min_time_ms,
                max_time_ms=max_time_ms,
                batch_size=batch_size,
            )

    async def complete_timer_tasks_before(self, *, shard_id: int, exclusive_max_time_ms: int) -> None:
        with self._database.write(f"complete timer tasks of shard {shard_id}") as connection:
            shard_tasks.delete_timer_tasks_before(
                connection, shard_id=shard_id, exclusive_max_time_ms=exclusive_max_time_ms
            )
