"""Visibility on Cassandra: runs of a namespace, newest start first, filtered.

Layout: ``executions_visibility`` has one partition per namespace, clustered
by (start_time_ms DESC, run_id ASC) — exactly the listing order, so a page
is a slice read and the page token is the (start_time_ms, run_id) of its
last record. ``executions_visibility_by_run`` remembers each run's start
time, so a record can be replaced or deleted by run id.

Filtering and its cost: Cassandra can only slice the clustering order, so a
start-time range is pushed into the query and every other filter (workflow
id, type, status, task queue, close time) is applied here while reading the
slice in chunks. A page therefore reads as many rows as it takes to find
``page_size`` matches: cheap for unfiltered or start-time-bounded listings,
proportional to the namespace's runs in the slice for a rare match, and
``count_executions`` with such filters reads the whole slice. That is
acceptable for operational listings of modest namespaces; large ones need an
external visibility index (Elasticsearch/OpenSearch in Temporal's design).
One namespace's visibility partition also grows without bound; retention
deletes keep it in check.

Writes: an upsert is the record and the run's start time in ``_by_run``,
sent as one unlogged batch: one request, and no batchlog (which a logged
batch across partitions costs Cassandra, a write and its removal); a record
too big for a batch goes as two plain writes instead. Without the batch's
atomicity a failed upsert may leave one of the two written; its caller (the
visibility transfer task) runs it again until both have landed.
An upsert reads nothing: a run's start time is fixed at its creation (the
interface's rule), so a record never has to be moved between two start
times, and ``_by_run`` is only read to delete a run.

List queries (``VisibilityFilter.query``) follow the same rule. What is
pushed into CQL: the StartTime bounds implied by the query's top-level AND
(``visibility.query.start_time_bounds``), as the slice's range. Everything
else (OR, IN, other attributes, custom search attributes) is decided here
by ``visibility.evaluate`` (the reference semantics the SQL stores are
tested against) on each row of the slice, reading custom values from the
row's stamped ``search_attributes`` blob, so no schema change or secondary
index is needed per registered attribute. Cassandra 5's SAI indexes could
push some equality predicates down; they are not used because a scan stays
bounded by the start-time slice either way, and indexing custom attributes
would need a column per attribute. ORDER BY other than StartTime DESC is
refused (INVALID_ARGUMENT): the clustering order is the only order a slice
can be read in without reading the whole partition and sorting it.
"""

from __future__ import annotations

import asyncio

from legato_server.common.errors import InvalidArgument
from legato_server.persistence.cassandra.session import CassandraSession, Row, bound_size
from legato_server.persistence.interface import VisibilityFilter, VisibilityRecord, VisibilityStore
from legato_server.persistence.paging import check_page_size, decode_token, encode_token
from legato_server.visibility import evaluate
from legato_server.visibility.attributes import Attribute, Value, ValueType, typed_values
from legato_server.visibility.query import DEFAULT_ORDER, start_time_bounds

MAX_BATCH_BYTES = 4 * 1024
"""An upsert larger than this (a big memo) is sent as separate writes.

Below Cassandra's default batch_size_warn_threshold (5 KiB): a batch over it
logs a warning on the node, and over batch_size_fail_threshold (50 KiB) it is
refused, where two plain writes of the same record are not.
"""

MIN_CHUNK = 100
MAX_CHUNK = 1000
_MAX_TIME = 2**63 - 1
_MIN_TIME = -(2**63)

_COLUMNS = (
    "namespace_id, start_time_ms, run_id, workflow_id, workflow_type, task_queue, status, execution_time_ms, "
    "close_time_ms, history_length, memo, search_attributes, parent_workflow_id, parent_run_id"
)
_SAME_START_AFTER_RUN = f"SELECT {_COLUMNS} FROM executions_visibility WHERE namespace_id = ? AND start_time_ms = ? AND run_id > ? LIMIT ?"
_START_BEFORE = (
    f"SELECT {_COLUMNS} FROM executions_visibility WHERE namespace_id = ? AND start_time_ms < ? "
    "AND start_time_ms >= ? LIMIT ?"
)


def _to_record(row: Row) -> VisibilityRecord:
    return VisibilityRecord(
        namespace_id=row["namespace_id"],
        workflow_id=row["workflow_id"],
        run_id=row["run_id"],
        workflow_type=row["workflow_type"],
        task_queue=row["task_queue"],
        status=int(row["status"]),
        start_time_ms=int(row["start_time_ms"]),
        execution_time_ms=int(row["execution_time_ms"] or 0),
        close_time_ms=None if row["close_time_ms"] is None else int(row["close_time_ms"]),
        history_length=int(row["history_length"] or 0),
        memo=bytes(row["memo"] or b""),
        search_attributes=bytes(row["search_attributes"] or b""),
        parent_workflow_id=row["parent_workflow_id"] or "",
        parent_run_id=row["parent_run_id"] or "",
    )


def _matches(r: VisibilityRecord, f: VisibilityFilter) -> bool:
    if f.workflow_id is not None and r.workflow_id != f.workflow_id:
        return False
    if f.workflow_type is not None and r.workflow_type != f.workflow_type:
        return False
    if f.task_queue is not None and r.task_queue != f.task_queue:
        return False
    if f.statuses and r.status not in f.statuses:
        return False
    if f.close_time_from_ms is not None and (
        r.close_time_ms is None or r.close_time_ms < f.close_time_from_ms
    ):
        return False
    if f.close_time_to_ms is not None and (r.close_time_ms is None or r.close_time_ms >= f.close_time_to_ms):
        return False
    if f.query is not None and f.query.where is not None:
        return evaluate.matches(f.query.where, _lookup(r))
    return True


def _lookup(record: VisibilityRecord) -> evaluate.Lookup:
    custom: dict[str, tuple[ValueType, Value]] | None = None

    def value(attribute: Attribute) -> Value | None:
        nonlocal custom
        if attribute.column is not None:
            found: Value | None = getattr(record, attribute.column)
            return found
        if custom is None:  # decoded once per row, and only if the query names a custom attribute
            custom = typed_values(record.search_attributes)
        typed = custom.get(attribute.name)
        return None if typed is None or typed[0] is not attribute.type else typed[1]

    return value


def _bounds(f: VisibilityFilter) -> tuple[int, int]:
    """The start-time slice [lower, upper) to read: the filter's range and the query's, intersected."""
    upper = _MAX_TIME if f.start_time_to_ms is None else f.start_time_to_ms
    lower = _MIN_TIME if f.start_time_from_ms is None else f.start_time_from_ms
    if f.query is not None:
        low, high = start_time_bounds(f.query.where)
        lower = lower if low is None else max(lower, low)
        upper = upper if high is None else min(upper, high)
    return lower, upper


def _check_order(f: VisibilityFilter) -> None:
    if f.query is not None and f.query.order_by != DEFAULT_ORDER:
        order = f.query.order_by
        direction = "DESC" if order.descending else "ASC"
        raise InvalidArgument(
            f"query: ORDER BY {order.attribute.name} {direction} is not supported on Cassandra visibility, "
            "which lists newest start first only (ORDER BY StartTime DESC); drop the ORDER BY, "
            "or use a SQL store for other orders"
        )


def _has_client_filters(f: VisibilityFilter) -> bool:
    return any(
        (
            f.workflow_id,
            f.workflow_type,
            f.task_queue,
            f.statuses,
            f.close_time_from_ms is not None,
            f.close_time_to_ms is not None,
            f.query is not None and f.query.where is not None,
        )
    )


class CassandraVisibilityStore(VisibilityStore):
    def __init__(self, session: CassandraSession) -> None:
        self._session = session

    async def upsert_execution(self, record: VisibilityRecord) -> None:
        r = record
        action = f"upsert visibility of run {r.run_id}"
        writes = [
            (
                f"INSERT INTO executions_visibility ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    r.namespace_id,
                    r.start_time_ms,
                    r.run_id,
                    r.workflow_id,
                    r.workflow_type,
                    r.task_queue,
                    r.status,
                    r.execution_time_ms,
                    r.close_time_ms,
                    r.history_length,
                    r.memo,
                    r.search_attributes,
                    r.parent_workflow_id,
                    r.parent_run_id,
                ),
            ),
            (
                "INSERT INTO executions_visibility_by_run (namespace_id, run_id, start_time_ms) VALUES (?, ?, ?)",
                (r.namespace_id, r.run_id, r.start_time_ms),
            ),
        ]
        if bound_size(writes) <= MAX_BATCH_BYTES:
            await self._session.execute_batch(action, writes, logged=False)
        else:
            await asyncio.gather(*(self._session.execute(action, cql, params) for cql, params in writes))

    async def _scan(
        self,
        *,
        namespace_id: str,
        filter: VisibilityFilter,
        after: tuple[int, str] | None,
        want: int | None,
        chunk: int,
    ) -> list[VisibilityRecord]:
        """Matching records after the cursor in listing order; stops at ``want`` (None = all)."""
        action = f"list executions of namespace {namespace_id}"
        lower, upper = _bounds(filter)
        found: list[VisibilityRecord] = []
        cursor = after
        while want is None or len(found) < want:
            rows: list[Row] = []
            if cursor is not None:
                rows = await self._session.execute(
                    action,
                    _SAME_START_AFTER_RUN,
                    (namespace_id, cursor[0], cursor[1], chunk),
                    idempotent=True,
                )
            exhausted = False
            if len(rows) < chunk:
                before = upper if cursor is None else min(upper, cursor[0])
                more = await self._session.execute(
                    action, _START_BEFORE, (namespace_id, before, lower, chunk - len(rows)), idempotent=True
                )
                exhausted = len(more) < chunk - len(rows)
                rows += more
            for row in rows:
                record = _to_record(row)
                if lower <= record.start_time_ms < upper and _matches(record, filter):
                    found.append(record)
                    if want is not None and len(found) >= want:
                        return found
            if exhausted or not rows:
                break
            cursor = (int(rows[-1]["start_time_ms"]), rows[-1]["run_id"])
        return found

    async def list_executions(
        self, *, namespace_id: str, filter: VisibilityFilter, page_size: int, page_token: bytes = b""
    ) -> tuple[list[VisibilityRecord], bytes]:
        check_page_size(page_size)
        _check_order(filter)
        after: tuple[int, str] | None = None
        if page_token:
            start_time_ms, run_id = decode_token(page_token, what="visibility", types=(int, str))
            after = (start_time_ms, run_id)
        chunk = (
            max(MIN_CHUNK, min(MAX_CHUNK, page_size * 4)) if _has_client_filters(filter) else page_size + 1
        )
        found = await self._scan(
            namespace_id=namespace_id, filter=filter, after=after, want=page_size + 1, chunk=chunk
        )
        records = found[:page_size]
        token = encode_token(records[-1].start_time_ms, records[-1].run_id) if len(found) > page_size else b""
        return records, token

    async def count_executions(self, *, namespace_id: str, filter: VisibilityFilter) -> int:
        if not _has_client_filters(filter):
            lower, upper = _bounds(filter)
            rows = await self._session.execute(
                f"count executions of namespace {namespace_id}",
                "SELECT COUNT(*) AS n FROM executions_visibility WHERE namespace_id = ? AND start_time_ms < ? "
                "AND start_time_ms >= ?",
                (namespace_id, upper, lower),
                idempotent=True,
            )
            return int(rows[0]["n"]) if rows else 0
        found = await self._scan(
            namespace_id=namespace_id, filter=filter, after=None, want=None, chunk=MAX_CHUNK
        )
        return len(found)

    async def delete_execution(self, *, namespace_id: str, run_id: str) -> None:
        action = f"delete visibility of run {run_id}"
        located = await self._session.execute(
            action,
            "SELECT start_time_ms FROM executions_visibility_by_run WHERE namespace_id = ? AND run_id = ?",
            (namespace_id, run_id),
            idempotent=True,
        )
        if not located:
            return
        await self._session.execute_batch(
            action,
            [
                (
                    "DELETE FROM executions_visibility WHERE namespace_id = ? AND start_time_ms = ? AND run_id = ?",
                    (namespace_id, int(located[0]["start_time_ms"]), run_id),
                ),
                (
                    "DELETE FROM executions_visibility_by_run WHERE namespace_id = ? AND run_id = ?",
                    (namespace_id, run_id),
                ),
            ],
        )
