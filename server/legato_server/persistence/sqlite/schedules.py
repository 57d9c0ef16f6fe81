"""Schedules on SQLite: one row per schedule, updates conditional on its conflict token."""

from __future__ import annotations

from legato_server.persistence.interface import (
    AlreadyExistsError,
    ConditionFailedError,
    NotFoundError,
    ScheduleRecord,
    ScheduleStore,
)
from legato_server.persistence.paging import check_page_size, decode_token, encode_token
from legato_server.persistence.sqlite.database import Database

_COLUMNS = "namespace_id, schedule_id, shard_id, data, conflict_token, next_wakeup_ms"


def _to_record(row: tuple) -> ScheduleRecord:
    namespace_id, schedule_id, shard_id, data, token, wakeup = row
    return ScheduleRecord(
        namespace_id=namespace_id,
        schedule_id=schedule_id,
        shard_id=shard_id,
        data=bytes(data),
        conflict_token=token,
        next_wakeup_ms=wakeup,
    )


class SQLiteScheduleStore(ScheduleStore):
    def __init__(self, database: Database) -> None:
        self._database = database

    async def create_schedule(self, record: ScheduleRecord) -> None:
        with self._database.write(f"create schedule {record.schedule_id!r}") as connection:
            taken = connection.execute(
                "SELECT 1 FROM schedules WHERE namespace_id = ? AND schedule_id = ?",
                (record.namespace_id, record.schedule_id),
            ).fetchone()
            if taken is not None:
                raise AlreadyExistsError(f"schedule {record.schedule_id!r} already exists")
            connection.execute(
                f"INSERT INTO schedules ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    record.namespace_id,
                    record.schedule_id,
                    record.shard_id,
                    record.data,
                    record.conflict_token,
                    record.next_wakeup_ms,
                ),
            )

    async def get_schedule(self, *, shard_id: int, namespace_id: str, schedule_id: str) -> ScheduleRecord:
        with self._database.read(f"get schedule {schedule_id!r}") as connection:
            row = connection.execute(
                f"SELECT {_COLUMNS} FROM schedules WHERE namespace_id = ? AND schedule_id = ?",
                (namespace_id, schedule_id),
            ).fetchone()
        if row is None:
            raise NotFoundError(f"schedule {schedule_id!r} not found")
        return _to_record(row)

    async def update_schedule(self, record: ScheduleRecord, *, previous_conflict_token: int) -> None:
        with self._database.write(f"update schedule {record.schedule_id!r}") as connection:
            updated = connection.execute(
                "UPDATE schedules SET data = ?, conflict_token = ?, next_wakeup_ms = ? "
                "WHERE namespace_id = ? AND schedule_id = ? AND conflict_token = ?",
                (
                    record.data,
                    record.conflict_token,
                    record.next_wakeup_ms,
                    record.namespace_id,
                    record.schedule_id,
                    previous_conflict_token,
                ),
            ).rowcount
            if updated != 1:
                raise ConditionFailedError(
                    f"schedule {record.schedule_id!r} changed or was deleted since it was read "
                    f"(expected conflict token {previous_conflict_token})"
                )

    async def delete_schedule(self, *, shard_id: int, namespace_id: str, schedule_id: str) -> None:
        with self._database.write(f"delete schedule {schedule_id!r}") as connection:
            connection.execute(
                "DELETE FROM schedules WHERE namespace_id = ? AND schedule_id = ?",
                (namespace_id, schedule_id),
            )

    async def list_schedules(
        self, *, namespace_id: str, page_size: int, page_token: bytes = b""
    ) -> tuple[list[ScheduleRecord], bytes]:
        check_page_size(page_size)
        after = decode_token(page_token, what="schedules", types=(str,))[0] if page_token else ""
        with self._database.read("list schedules") as connection:
            rows = connection.execute(
                f"SELECT {_COLUMNS} FROM schedules WHERE namespace_id = ? AND schedule_id > ? "
                "ORDER BY schedule_id LIMIT ?",
                (namespace_id, after, page_size + 1),
            ).fetchall()
        records = [_to_record(row) for row in rows[:page_size]]
        return records, encode_token(records[-1].schedule_id) if len(rows) > page_size else b""

    async def get_due_schedules(
        self, *, shard_id: int, max_wakeup_ms: int, batch_size: int
    ) -> list[ScheduleRecord]:
        with self._database.read(f"due schedules of shard {shard_id}") as connection:
            rows = connection.execute(
                f"SELECT {_COLUMNS} FROM schedules WHERE shard_id = ? AND next_wakeup_ms <= ? "
                "ORDER BY next_wakeup_ms LIMIT ?",
                (shard_id, max_wakeup_ms, batch_size),
            ).fetchall()
        return [_to_record(row) for row in rows]
