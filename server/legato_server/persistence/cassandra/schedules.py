"""Schedules on Cassandra: rows partitioned by history shard, a listing index by namespace.

``schedules`` is partitioned by shard, so the host owning a shard finds its
due schedules in one partition (read whole and filtered here: a shard holds
few schedules, and a secondary index on a changing column would cost more).
Updates are lightweight transactions on ``conflict_token``.

Listing by namespace needs a second table, ``schedules_by_namespace``, and
Cassandra has no transaction across the two. The order of writes makes that
safe: create writes the index entry first and the row second (``IF NOT
EXISTS``); delete removes the row first and the entry second. So every row
has an entry, and an entry without a row (a create or delete that died
between its two writes) is skipped by ``list_schedules`` and rewritten by the
next create of that id.
"""

from __future__ import annotations

import asyncio

from legato_server.persistence.cassandra.session import CassandraSession, Row, applied
from legato_server.persistence.interface import (
    AlreadyExistsError,
    ConditionFailedError,
    NotFoundError,
    ScheduleRecord,
    ScheduleStore,
)
from legato_server.persistence.paging import check_page_size, decode_token, encode_token

_SELECT = (
    "SELECT shard_id, namespace_id, schedule_id, data, conflict_token, next_wakeup_ms FROM schedules "
    "WHERE shard_id = ? AND namespace_id = ? AND schedule_id = ?"
)


def _to_record(row: Row) -> ScheduleRecord:
    return ScheduleRecord(
        namespace_id=row["namespace_id"],
        schedule_id=row["schedule_id"],
        shard_id=int(row["shard_id"]),
        data=bytes(row["data"] or b""),
        conflict_token=int(row["conflict_token"]),
        next_wakeup_ms=int(row["next_wakeup_ms"]),
    )


class CassandraScheduleStore(ScheduleStore):
    def __init__(self, session: CassandraSession) -> None:
        self._session = session

    async def _get(
        self, shard_id: int, namespace_id: str, schedule_id: str, action: str
    ) -> ScheduleRecord | None:
        rows = await self._session.execute(
            action, _SELECT, (shard_id, namespace_id, schedule_id), idempotent=True
        )
        return _to_record(rows[0]) if rows and rows[0]["data"] is not None else None

    async def create_schedule(self, record: ScheduleRecord) -> None:
        action = f"create schedule {record.schedule_id!r}"
        await self._session.execute(
            action,
            "INSERT INTO schedules_by_namespace (namespace_id, schedule_id, shard_id) VALUES (?, ?, ?)",
            (record.namespace_id, record.schedule_id, record.shard_id),
            idempotent=True,
        )
        rows = await self._session.execute(
            action,
            "INSERT INTO schedules (shard_id, namespace_id, schedule_id, data, conflict_token, next_wakeup_ms) "
            "VALUES (?, ?, ?, ?, ?, ?) IF NOT EXISTS",
            (
                record.shard_id,
                record.namespace_id,
                record.schedule_id,
                record.data,
                record.conflict_token,
                record.next_wakeup_ms,
            ),
        )
        if not applied(rows):
            raise AlreadyExistsError(f"schedule {record.schedule_id!r} already exists")

    async def get_schedule(self, *, shard_id: int, namespace_id: str, schedule_id: str) -> ScheduleRecord:
        record = await self._get(shard_id, namespace_id, schedule_id, f"get schedule {schedule_id!r}")
        if record is None:
            raise NotFoundError(f"schedule {schedule_id!r} not found")
        return record

    async def update_schedule(self, record: ScheduleRecord, *, previous_conflict_token: int) -> None:
        rows = await self._session.execute(
            f"update schedule {record.schedule_id!r}",
            "UPDATE schedules SET data = ?, conflict_token = ?, next_wakeup_ms = ? "
            "WHERE shard_id = ? AND namespace_id = ? AND schedule_id = ? IF conflict_token = ?",
            (
                record.data,
                record.conflict_token,
                record.next_wakeup_ms,
                record.shard_id,
                record.namespace_id,
                record.schedule_id,
                previous_conflict_token,
            ),
        )
        if not applied(rows):
            raise ConditionFailedError(
                f"schedule {record.schedule_id!r} changed or was deleted since it was read "
                f"(expected conflict token {previous_conflict_token})"
            )

    async def delete_schedule(self, *, shard_id: int, namespace_id: str, schedule_id: str) -> None:
        action = f"delete schedule {schedule_id!r}"
        await self._session.execute(
            action,
            "DELETE FROM schedules WHERE shard_id = ? AND namespace_id = ? AND schedule_id = ?",
            (shard_id, namespace_id, schedule_id),
            idempotent=True,
        )
        await self._session.execute(
            action,
            "DELETE FROM schedules_by_namespace WHERE namespace_id = ? AND schedule_id = ?",
            (namespace_id, schedule_id),
            idempotent=True,
        )

    async def list_schedules(
        self, *, namespace_id: str, page_size: int, page_token: bytes = b""
    ) -> tuple[list[ScheduleRecord], bytes]:
        check_page_size(page_size)
        after = decode_token(page_token, what="schedules", types=(str,))[0] if page_token else ""
        action = "list schedules"
        records: list[ScheduleRecord] = []
        more = False
        # Index entries without a row are skipped, so a page may take more than one read.
        while not more:
            rows = await self._session.execute(
                action,
                "SELECT schedule_id, shard_id FROM schedules_by_namespace WHERE namespace_id = ? AND schedule_id > ? "
                "LIMIT ?",
                (namespace_id, after, page_size + 1),
                idempotent=True,
            )
            found = await asyncio.gather(
                *(self._get(int(r["shard_id"]), namespace_id, r["schedule_id"], action) for r in rows)
            )
            for row, record in zip(rows, found, strict=True):
                if record is None:
                    after = row["schedule_id"]
                    continue
                if len(records) == page_size:
                    more = True
                    break
                records.append(record)
                after = row["schedule_id"]
            if len(rows) <= page_size:
                break
        return records, encode_token(records[-1].schedule_id) if more and records else b""

    async def get_due_schedules(
        self, *, shard_id: int, max_wakeup_ms: int, batch_size: int
    ) -> list[ScheduleRecord]:
        rows = await self._session.execute(
            f"due schedules of shard {shard_id}",
            "SELECT shard_id, namespace_id, schedule_id, data, conflict_token, next_wakeup_ms FROM schedules "
            "WHERE shard_id = ?",
            (shard_id,),
            idempotent=True,
        )
        due = sorted(
            (_to_record(row) for row in rows if int(row["next_wakeup_ms"]) <= max_wakeup_ms),
            key=lambda record: record.next_wakeup_ms,
        )
        return due[:batch_size]
