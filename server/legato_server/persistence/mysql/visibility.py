"""Visibility records: list and count the runs of a namespace with filters.

Every filter is a WHERE clause; the indexes (namespace_id, <column>,
start_time_ms, run_id) let MySQL read the matching runs already in result
order (newest start first, ties by run_id ascending). Pages use a keyset
token (start_time_ms, run_id) of the last row, so paging stays stable while
runs are added. The table may live in its own database
(``MySQLConfig.visibility_database``), which then needs the same schema.
"""

from __future__ import annotations

from typing import Any

from legato_server.persistence.interface import VisibilityFilter, VisibilityRecord, VisibilityStore
from legato_server.persistence.mysql.database import Cursor, Database
from legato_server.persistence.paging import check_page_size, decode_token, encode_token

_COLUMNS = (
    "namespace_id, run_id, workflow_id, workflow_type, task_queue, status, start_time_ms, execution_time_ms, "
    "close_time_ms, history_length, memo, search_attributes, parent_workflow_id, parent_run_id"
)


def _where(namespace_id: str, f: VisibilityFilter) -> tuple[str, list[Any]]:
    clauses = ["namespace_id = %s"]
    params: list[Any] = [namespace_id]
    if f.workflow_id is not None:
        clauses.append("workflow_id = %s")
        params.append(f.workflow_id)
    if f.workflow_type is not None:
        clauses.append("workflow_type = %s")
        params.append(f.workflow_type)
    if f.task_queue is not None:
        clauses.append("task_queue = %s")
        params.append(f.task_queue)
    if f.statuses:
        clauses.append(f"status IN ({', '.join(['%s'] * len(f.statuses))})")
        params.extend(f.statuses)
    if f.start_time_from_ms is not None:
        clauses.append("start_time_ms >= %s")
        params.append(f.start_time_from_ms)
    if f.start_time_to_ms is not None:
        clauses.append("start_time_ms < %s")
        params.append(f.start_time_to_ms)
    if f.close_time_from_ms is not None:
        clauses.append("close_time_ms >= %s")
        params.append(f.close_time_from_ms)
    if f.close_time_to_ms is not None:
        clauses.append("close_time_ms < %s")
        params.append(f.close_time_to_ms)
    return " AND ".join(clauses), params


def _to_record(row: tuple) -> VisibilityRecord:
    (
        namespace_id,
        run_id,
        workflow_id,
        workflow_type,
        task_queue,
        status,
        start_time_ms,
        execution_time_ms,
        close_time_ms,
        history_length,
        memo,
        search_attributes,
        parent_workflow_id,
        parent_run_id,
    ) = row
    return VisibilityRecord(
        namespace_id=namespace_id,
        workflow_id=workflow_id,
        run_id=run_id,
        workflow_type=workflow_type,
        task_queue=task_queue,
        status=int(status),
        start_time_ms=int(start_time_ms),
        execution_time_ms=int(execution_time_ms),
        close_time_ms=None if close_time_ms is None else int(close_time_ms),
        history_length=int(history_length),
        memo=bytes(memo),
        search_attributes=bytes(search_attributes),
        parent_workflow_id=parent_workflow_id,
        parent_run_id=parent_run_id,
    )


class MySQLVisibilityStore(VisibilityStore):
    def __init__(self, database: Database) -> None:
        self._db = database

    async def upsert_execution(self, record: VisibilityRecord) -> None:
        r = record

        def body(cursor: Cursor) -> None:
            cursor.execute(
                f"REPLACE INTO executions_visibility ({_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    r.namespace_id,
                    r.run_id,
                    r.workflow_id,
                    r.workflow_type,
                    r.task_queue,
                    r.status,
                    r.start_time_ms,
                    r.execution_time_ms,
                    r.close_time_ms,
                    r.history_length,
                    r.memo,
                    r.search_attributes,
                    r.parent_workflow_id,
                    r.parent_run_id,
                ),
            )

        await self._db.write(f"upsert visibility of run {record.run_id}", body)

    async def list_executions(
        self, *, namespace_id: str, filter: VisibilityFilter, page_size: int, page_token: bytes = b""
    ) -> tuple[list[VisibilityRecord], bytes]:
        check_page_size(page_size)
        where, params = _where(namespace_id, filter)
        if page_token:
            start_time_ms, run_id = decode_token(page_token, what="visibility", types=(int, str))
            where += " AND (start_time_ms < %s OR (start_time_ms = %s AND run_id > %s))"
            params += [start_time_ms, start_time_ms, run_id]

        def body(cursor: Cursor) -> tuple[list[VisibilityRecord], bytes]:
            cursor.execute(
                f"SELECT {_COLUMNS} FROM executions_visibility WHERE {where} "
                "ORDER BY start_time_ms DESC, run_id ASC LIMIT %s",
                (*params, page_size + 1),
            )
            rows = cursor.fetchall()
            records = [_to_record(row) for row in rows[:page_size]]
            token = (
                encode_token(records[-1].start_time_ms, records[-1].run_id) if len(rows) > page_size else b""
            )
            return records, token

        return await self._db.read(f"list executions of namespace {namespace_id}", body)

    async def count_executions(self, *, namespace_id: str, filter: VisibilityFilter) -> int:
        where, params = _where(namespace_id, filter)

        def body(cursor: Cursor) -> int:
            cursor.execute(f"SELECT COUNT(*) FROM executions_visibility WHERE {where}", params)
            return int(cursor.fetchone()[0])

        return await self._db.read(f"count executions of namespace {namespace_id}", body)

    async def delete_execution(self, *, namespace_id: str, run_id: str) -> None:
        def body(cursor: Cursor) -> None:
            cursor.execute(
                "DELETE FROM executions_visibility WHERE namespace_id = %s AND run_id = %s",
                (namespace_id, run_id),
            )

        await self._db.write(f"delete visibility of run {run_id}", body)
