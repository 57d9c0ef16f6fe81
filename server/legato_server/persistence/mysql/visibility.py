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

from legato_server.persistence import visibility_sql
from legato_server.persistence.interface import VisibilityFilter, VisibilityRecord, VisibilityStore
from legato_server.persistence.mysql.database import Cursor, Database
from legato_server.persistence.paging import check_page_size, decode_token, encode_token
from legato_server.visibility.attributes import typed_values
from legato_server.visibility.query import DEFAULT_ORDER

_SQL = visibility_sql.SqlQuery("%s")

_COLUMNS = (
    "namespace_id, run_id, workflow_id, workflow_type, task_queue, status, start_time_ms, execution_time_ms, "
    "close_time_ms, history_length, memo, search_attributes, parent_workflow_id, parent_run_id"
)
_SELECT = ", ".join(f"v.{column.strip()}" for column in _COLUMNS.split(","))


def _where(namespace_id: str, f: VisibilityFilter) -> tuple[str, list[Any]]:
    clauses = ["v.namespace_id = %s"]
    params: list[Any] = [namespace_id]
    if f.workflow_id is not None:
        clauses.append("v.workflow_id = %s")
        params.append(f.workflow_id)
    if f.workflow_type is not None:
        clauses.append("v.workflow_type = %s")
        params.append(f.workflow_type)
    if f.task_queue is not None:
        clauses.append("v.task_queue = %s")
        params.append(f.task_queue)
    if f.statuses:
        clauses.append(f"v.status IN ({', '.join(['%s'] * len(f.statuses))})")
        params.extend(f.statuses)
    if f.start_time_from_ms is not None:
        clauses.append("v.start_time_ms >= %s")
        params.append(f.start_time_from_ms)
    if f.start_time_to_ms is not None:
        clauses.append("v.start_time_ms < %s")
        params.append(f.start_time_to_ms)
    if f.close_time_from_ms is not None:
        clauses.append("v.close_time_ms >= %s")
        params.append(f.close_time_from_ms)
    if f.close_time_to_ms is not None:
        clauses.append("v.close_time_ms < %s")
        params.append(f.close_time_to_ms)
    if f.query is not None and f.query.where is not None:
        sql, query_params = _SQL.where(f.query.where)
        clauses.append(sql)
        params.extend(query_params)
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
        rows = visibility_sql.search_attribute_rows(
            namespace_id=r.namespace_id, run_id=r.run_id, values=typed_values(r.search_attributes)
        )

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
            cursor.execute(
                "DELETE FROM executions_search_attributes WHERE namespace_id = %s AND run_id = %s",
                (r.namespace_id, r.run_id),
            )
            if rows:
                cursor.executemany(
                    f"INSERT INTO executions_search_attributes ({visibility_sql.SEARCH_ATTRIBUTE_COLUMNS}) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    rows,
                )

        await self._db.write(f"upsert visibility of run {record.run_id}", body)

    async def list_executions(
        self, *, namespace_id: str, filter: VisibilityFilter, page_size: int, page_token: bytes = b""
    ) -> tuple[list[VisibilityRecord], bytes]:
        check_page_size(page_size)
        where, params = _where(namespace_id, filter)
        order_by = filter.query.order_by if filter.query is not None else DEFAULT_ORDER
        if page_token:
            key, run_id = decode_token(page_token, what="visibility", types=(int, str))
            seek, seek_params = visibility_sql.seek(order_by, "%s", key=key, run_id=run_id)
            where += f" AND {seek}"
            params += seek_params

        def body(cursor: Cursor) -> tuple[list[VisibilityRecord], bytes]:
            cursor.execute(
                f"SELECT {_SELECT} FROM executions_visibility v WHERE {where} "
                f"{visibility_sql.order_clause(order_by)} LIMIT %s",
                (*params, page_size + 1),
            )
            rows = cursor.fetchall()
            records = [_to_record(row) for row in rows[:page_size]]
            token = b""
            if len(rows) > page_size:
                last = records[-1]
                key = visibility_sql.order_attribute_value(
                    order_by,
                    start=last.start_time_ms,
                    close=last.close_time_ms,
                    execution=last.execution_time_ms,
                )
                token = encode_token(key, last.run_id)
            return records, token

        return await self._db.read(f"list executions of namespace {namespace_id}", body)

    async def count_executions(self, *, namespace_id: str, filter: VisibilityFilter) -> int:
        where, params = _where(namespace_id, filter)

        def body(cursor: Cursor) -> int:
            cursor.execute(f"SELECT COUNT(*) FROM executions_visibility v WHERE {where}", params)
            return int(cursor.fetchone()[0])

        return await self._db.read(f"count executions of namespace {namespace_id}", body)

    async def delete_execution(self, *, namespace_id: str, run_id: str) -> None:
        def body(cursor: Cursor) -> None:
            cursor.execute(
                "DELETE FROM executions_visibility WHERE namespace_id = %s AND run_id = %s",
                (namespace_id, run_id),
            )
            cursor.execute(
                "DELETE FROM executions_search_attributes WHERE namespace_id = %s AND run_id = %s",
                (namespace_id, run_id),
            )

        await self._db.write(f"delete visibility of run {run_id}", body)
