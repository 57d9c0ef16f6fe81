"""Schedules on MySQL / MariaDB: one row per schedule, updates conditional on its conflict token."""

from __future__ import annotations

import pymysql

from legato_server.persistence.interface import (
    AlreadyExistsError,
    ConditionFailedError,
    NotFoundError,
    ScheduleRecord,
    ScheduleStore,
)
from legato_server.persistence.mysql.database import DUPLICATE_KEY, Cursor, Database
from legato_server.persistence.paging import check_page_size, decode_token, encode_token

_COLUMNS = "namespace_id, schedule_id, shard_id, data, conflict_token, next_wakeup_ms"


def _to_record(row: tuple) -> ScheduleRecord:
    namespace_id, schedule_id, shard_id, data, token, wakeup = row
    return ScheduleRecord(
        namespace_id=namespace_id,
        schedule_id=schedule_id,
        shard_id=int(shard_id),
        data=bytes(data),
        conflict_token=int(token),
        next_wakeup_ms=int(wakeup),
    )


class MySQLScheduleStore(ScheduleStore):
    def __init__(self, database: Database) -> None:
        self._db = database

    async def create_schedule(self, record: ScheduleRecord) -> None:
        def body(cursor: Cursor) -> None:
            try:
                cursor.execute(
                    f"INSERT INTO schedules ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)",
                    (
                        record.namespace_id,
                        record.schedule_id,
                        record.shard_id,
                        record.data,
                        record.conflict_token,
                        record.next_wakeup_ms,
                    ),
                )
            except pymysql.err.IntegrityError as error:
                if error.args and error.args[0] == DUPLICATE_KEY:
                    raise AlreadyExistsError(f"schedule {record.schedule_id!r} already exists") from None
                raise

        await self._db.write(f"create schedule {record.schedule_id!r}", body)

    async def get_schedule(self, *, shard_id: int, namespace_id: str, schedule_id: str) -> ScheduleRecord:
        def body(cursor: Cursor) -> ScheduleRecord:
            cursor.execute(
                f"SELECT {_COLUMNS} FROM schedules WHERE namespace_id = %s AND schedule_id = %s",
                (namespace_id, schedule_id),
            )
            row = cursor.fetchone()
            if row is None:
                raise NotFoundError(f"schedule {schedule_id!r} not found")
            return _to_record(row)

        return await self._db.read(f"get schedule {schedule_id!r}", body)

    async def update_schedule(self, record: ScheduleRecord, *, previous_conflict_token: int) -> None:
        def body(cursor: Cursor) -> None:
            matched = cursor.execute(
                "UPDATE schedules SET data = %s, conflict_token = %s, next_wakeup_ms = %s "
                "WHERE namespace_id = %s AND schedule_id = %s AND conflict_token = %s",
                (
                    record.data,
                    record.conflict_token,
                    record.next_wakeup_ms,
                    record.namespace_id,
                    record.schedule_id,
                    previous_conflict_token,
                ),
            )
            if matched != 1:
                raise ConditionFailedError(
                    f"schedule {record.schedule_id!r} changed or was deleted since it was read "
                    f"(expected conflict token {previous_conflict_token})"
                )

        await self._db.write(f"update schedule {record.schedule_id!r}", body)

    async def delete_schedule(self, *, shard_id: int, namespace_id: str, schedule_id: str) -> None:
        def body(cursor: Cursor) -> None:
            cursor.execute(
                "DELETE FROM schedules WHERE namespace_id = %s AND schedule_id = %s",
                (namespace_id, schedule_id),
            )

        await self._db.write(f"delete schedule {schedule_id!r}", body)

    async def list_schedules(
        self, *, namespace_id: str, page_size: int, page_token: bytes = b""
    ) -> tuple[list[ScheduleRecord], bytes]:
        check_page_size(page_size)
        after = decode_token(page_token, what="schedules", types=(str,))[0] if page_token else ""

        def body(cursor: Cursor) -> tuple[list[ScheduleRecord], bytes]:
            cursor.execute(
                f"SELECT {_COLUMNS} FROM schedules WHERE namespace_id = %s AND schedule_id > %s "
                "ORDER BY schedule_id LIMIT %s",
                (namespace_id, after, page_size + 1),
            )
            rows = cursor.fetchall()
            records = [_to_record(row) for row in rows[:page_size]]
            return records, encode_token(records[-1].schedule_id) if len(rows) > page_size else b""

        return await self._db.read("list schedules", body)

    async def get_due_schedules(
        self, *, shard_id: int, max_wakeup_ms: int, batch_size: int
    ) -> list[ScheduleRecord]:
        def body(cursor: Cursor) -> list[ScheduleRecord]:
            cursor.execute(
                f"SELECT {_COLUMNS} FROM schedules WHERE shard_id = %s AND next_wakeup_ms <= %s "
                "ORDER BY next_wakeup_ms LIMIT %s",
                (shard_id, max_wakeup_ms, batch_size),
            )
            return [_to_record(row) for row in cursor.fetchall()]

        return await self._db.read(f"due schedules of shard {shard_id}", body)
