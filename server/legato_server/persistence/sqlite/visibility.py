"""Visibility: one searchable row per run, listed newest start first.

Order is (start_time_ms DESC, run_id ASC); the page token is that key of the
last row returned, and the next page seeks past it. Because the key never
changes for a run, paging is stable while runs are added or closed: nothing
is skipped or repeated. Every filter column has an index ending in the same
order (see the schema), so a filtered page is an index range scan, and the
seek is written as ``start_time_ms <= ? AND (...)`` so SQLite can use it as a
range bound, not only as a row filter.

A list query (``VisibilityFilter.query``) compiles to SQL through
``persistence.visibility_sql``; custom search attributes are kept, one row
per value, in ``executions_search_attributes``, written in the same
transaction as the visibility row. Its ORDER BY replaces the start-time
order; the page token is then (that time, run_id).
"""

from __future__ import annotations

from typing import Any

from legato_server.persistence import visibility_sql
from legato_server.persistence.interface import VisibilityFilter, VisibilityRecord, VisibilityStore
from legato_server.persistence.paging import check_page_size, decode_token, encode_token
from legato_server.persistence.sqlite.database import Database
from legato_server.visibility.attributes import typed_values
from legato_server.visibility.query import DEFAULT_ORDER

_SQL = visibility_sql.SqlQuery("?")

_COLUMNS = (
    "namespace_id, run_id, workflow_id, workflow_type, task_queue, status, start_time_ms, execution_time_ms, "
    "close_time_ms, history_length, memo, search_attributes, parent_workflow_id, parent_run_id"
)
_SELECT = ", ".join(f"v.{column.strip()}" for column in _COLUMNS.split(","))


def _where(namespace_id: str, filter: VisibilityFilter) -> tuple[list[str], list[Any]]:
    clauses = ["v.namespace_id = ?"]
    params: list[Any] = [namespace_id]
    for column, value in (
        ("workflow_id", filter.workflow_id),
        ("workflow_type", filter.workflow_type),
        ("task_queue", filter.task_queue),
    ):
        if value is not None:
            clauses.append(f"v.{column} = ?")
            params.append(value)
    if filter.statuses:
        clauses.append(f"v.status IN ({', '.join('?' * len(filter.statuses))})")
        params.extend(filter.statuses)
    for column, low, high in (
        ("start_time_ms", filter.start_time_from_ms, filter.start_time_to_ms),
        ("close_time_ms", filter.close_time_from_ms, filter.close_time_to_ms),
    ):
        if low is not None:
            clauses.append(f"v.{column} >= ?")
            params.append(low)
        if high is not None:
            clauses.append(f"v.{column} < ?")
            params.append(high)
    if filter.query is not None and filter.query.where is not None:
        sql, query_params = _SQL.where(filter.query.where)
        clauses.append(sql)
        params.extend(query_params)
    return clauses, params


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
        status=status,
        start_time_ms=start_time_ms,
        execution_time_ms=execution_time_ms,
        close_time_ms=close_time_ms,
        history_length=history_length,
        memo=memo,
        search_attributes=search_attributes,
        parent_workflow_id=parent_workflow_id,
        parent_run_id=parent_run_id,
    )


class SQLiteVisibilityStore(VisibilityStore):
    def __init__(self, database: Database) -> None:
        self._database = database

    async def upsert_execution(self, record: VisibilityRecord) -> None:
        with self._database.write(f"upsert visibility of run {record.run_id}") as connection:
            connection.execute(
                f"INSERT OR REPLACE INTO executions_visibility ({_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.namespace_id,
                    record.run_id,
                    record.workflow_id,
                    record.workflow_type,
                    record.task_queue,
                    record.status,
                    record.start_time_ms,
                    record.execution_time_ms,
                    record.close_time_ms,
                    record.history_length,
                    record.memo,
                    record.search_attributes,
                    record.parent_workflow_id,
                    record.parent_run_id,
                ),
            )
            connection.execute(
                "DELETE FROM executions_search_attributes WHERE namespace_id = ? AND run_id = ?",
                (record.namespace_id, record.run_id),
            )
            rows = visibility_sql.search_attribute_rows(
                namespace_id=record.namespace_id,
                run_id=record.run_id,
                values=typed_values(record.search_attributes),
            )
            if rows:
                connection.executemany(
                    f"INSERT INTO executions_search_attributes ({visibility_sql.SEARCH_ATTRIBUTE_COLUMNS}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )

    async def list_executions(
        self, *, namespace_id: str, filter: VisibilityFilter, page_size: int, page_token: bytes = b""
    ) -> tuple[list[VisibilityRecord], bytes]:
        check_page_size(page_size)
        clauses, params = _where(namespace_id, filter)
        order_by = filter.query.order_by if filter.query is not None else DEFAULT_ORDER
        if page_token:
            key, run_id = decode_token(page_token, what="workflow executions", types=(int, str))
            seek, seek_params = visibility_sql.seek(order_by, "?", key=key, run_id=run_id)
            clauses.append(seek)
            params.extend(seek_params)
        params.append(page_size + 1)
        sql = (
            f"SELECT {_SELECT} FROM executions_visibility v WHERE {' AND '.join(clauses)} "
            f"{visibility_sql.order_clause(order_by)} LIMIT ?"
        )
        with self._database.read(f"list workflow executions of namespace {namespace_id}") as connection:
            rows = connection.execute(sql, params).fetchall()
        records = [_to_record(row) for row in rows[:page_size]]
        next_token = b""
        if len(rows) > page_size:
            last = records[-1]
            key = visibility_sql.order_attribute_value(
                order_by, start=last.start_time_ms, close=last.close_time_ms, execution=last.execution_time_ms
            )
            next_token = encode_token(key, last.run_id)
        return records, next_token

    async def count_executions(self, *, namespace_id: str, filter: VisibilityFilter) -> int:
        clauses, params = _where(namespace_id, filter)
        with self._database.read(f"count workflow executions of namespace {namespace_id}") as connection:
            (count,) = connection.execute(
                f"SELECT count(*) FROM executions_visibility v WHERE {' AND '.join(clauses)}", params
            ).fetchone()
        return int(count)

    async def delete_execution(self, *, namespace_id: str, run_id: str) -> None:
        with self._database.write(f"delete visibility of run {run_id}") as connection:
            connection.execute(
                "DELETE FROM executions_visibility WHERE namespace_id = ? AND run_id = ?",
                (namespace_id, run_id),
            )
            connection.execute(
                "DELETE FROM executions_search_attributes WHERE namespace_id = ? AND run_id = ?",
                (namespace_id, run_id),
            )
