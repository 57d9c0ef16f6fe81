"""History event batches: written inside execution transactions, read in pages.

A batch is keyed by (run, first_event_id) and written with INSERT OR REPLACE:
if a transaction that wrote a batch failed and the engine retries from the
same next_event_id, the retry's batch replaces the orphan instead of
colliding with it. Orphans *beyond* the run's next_event_id can remain, which
is why readers pass ``max_event_id`` (the mutable state's next_event_id) and
batches starting at or past it are never returned.

Reading from ``min_event_id`` first seeks the batch that holds it (the last one
starting at or before it, a covering-index lookup) so a worker fetching only
the newest events of a long history does not scan it from the start.
"""

from __future__ import annotations

import sqlite3

from legato_server.persistence.interface import EventBatch
from legato_server.persistence.paging import check_page_size, decode_token, encode_token

_INSERT = (
    "INSERT OR REPLACE INTO history_batches "
    "(namespace_id, workflow_id, run_id, first_event_id, event_count, data) VALUES (?, ?, ?, ?, ?, ?)"
)

_FIRST_BATCH_AT_OR_BEFORE = (
    "SELECT max(first_event_id) FROM history_batches "
    "WHERE namespace_id = ? AND workflow_id = ? AND run_id = ? AND first_event_id <= ?"
)

_PAGE = (
    "SELECT first_event_id, event_count, data FROM history_batches "
    "WHERE namespace_id = ? AND workflow_id = ? AND run_id = ? "
    "AND first_event_id >= ? AND first_event_id < ? AND first_event_id + event_count > ? "
    "ORDER BY first_event_id LIMIT ?"
)


def write_event_batches(connection: sqlite3.Connection, batches: list[EventBatch]) -> None:
    if batches:
        connection.executemany(
            _INSERT,
            [
                (b.namespace_id, b.workflow_id, b.run_id, b.first_event_id, b.event_count, b.data)
                for b in batches
            ],
        )


def delete_history(
    connection: sqlite3.Connection, *, namespace_id: str, workflow_id: str, run_id: str
) -> None:
    connection.execute(
        "DELETE FROM history_batches WHERE namespace_id = ? AND workflow_id = ? AND run_id = ?",
        (namespace_id, workflow_id, run_id),
    )


def read_history_page(
    connection: sqlite3.Connection,
    *,
    namespace_id: str,
    workflow_id: str,
    run_id: str,
    min_event_id: int,
    max_event_id: int,
    page_size: int,
    page_token: bytes,
) -> tuple[list[EventBatch], bytes]:
    check_page_size(page_size)
    run = (namespace_id, workflow_id, run_id)
    if page_token:
        (last_first_event_id,) = decode_token(page_token, what="history", types=(int,))
        start = last_first_event_id + 1
    else:
        (holder,) = connection.execute(_FIRST_BATCH_AT_OR_BEFORE, (*run, min_event_id)).fetchone()
        start = min_event_id if holder is None else holder
    rows = connection.execute(_PAGE, (*run, start, max_event_id, min_event_id, page_size + 1)).fetchall()
    batches = [
        EventBatch(
            namespace_id=namespace_id,
            workflow_id=workflow_id,
            run_id=run_id,
            first_event_id=first_event_id,
            event_count=event_count,
            data=data,
        )
        for first_event_id, event_count, data in rows[:page_size]
    ]
    next_token = encode_token(batches[-1].first_event_id) if len(rows) > page_size else b""
    return batches, next_token
