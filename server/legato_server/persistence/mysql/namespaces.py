"""Namespace records: unique by id and by name, updates conditional on notification_version."""

from __future__ import annotations

import pymysql

from legato_server.persistence.interface import (
    AlreadyExistsError,
    ConditionFailedError,
    NamespaceRecord,
    NamespaceStore,
    NotFoundError,
)
from legato_server.persistence.mysql.database import DUPLICATE_KEY, Cursor, Database
from legato_server.persistence.paging import check_page_size, decode_token, encode_token


def _to_record(row: tuple) -> NamespaceRecord:
    id_, name, data, notification_version = row
    return NamespaceRecord(
        id=id_, name=name, data=bytes(data), notification_version=int(notification_version)
    )


class MySQLNamespaceStore(NamespaceStore):
    def __init__(self, database: Database) -> None:
        self._db = database

    async def create_namespace(self, record: NamespaceRecord) -> None:
        def body(cursor: Cursor) -> None:
            try:
                cursor.execute(
                    "INSERT INTO namespaces (id, name, data, notification_version) VALUES (%s, %s, %s, %s)",
                    (record.id, record.name, record.data, record.notification_version),
                )
            except pymysql.err.IntegrityError as error:
                if error.args and error.args[0] == DUPLICATE_KEY:
                    raise AlreadyExistsError(
                        f"namespace {record.name!r} (id {record.id}) already exists"
                    ) from None
                raise

        await self._db.write(f"create namespace {record.name!r}", body)

    async def get_namespace(self, *, name: str | None = None, id: str | None = None) -> NamespaceRecord:
        if (name is None) == (id is None):
            raise ValueError("get_namespace takes exactly one of name= or id=")
        column, value = ("id", id) if id is not None else ("name", name)

        def body(cursor: Cursor) -> NamespaceRecord:
            cursor.execute(
                f"SELECT id, name, data, notification_version FROM namespaces WHERE {column} = %s", (value,)
            )
            row = cursor.fetchone()
            if row is None:
                raise NotFoundError(f"namespace {column} {value!r} not found")
            return _to_record(row)

        return await self._db.read(f"get namespace {value!r}", body)

    async def update_namespace(self, record: NamespaceRecord, *, previous_notification_version: int) -> None:
        def body(cursor: Cursor) -> None:
            try:
                matched = cursor.execute(
                    "UPDATE namespaces SET name = %s, data = %s, notification_version = %s "
                    "WHERE id = %s AND notification_version = %s",
                    (
                        record.name,
                        record.data,
                        record.notification_version,
                        record.id,
                        previous_notification_version,
                    ),
                )
            except pymysql.err.IntegrityError as error:
                if error.args and error.args[0] == DUPLICATE_KEY:
                    raise AlreadyExistsError(f"namespace name {record.name!r} is taken") from None
                raise
            if matched != 1:
                cursor.execute("SELECT notification_version FROM namespaces WHERE id = %s", (record.id,))
                row = cursor.fetchone()
                if row is None:
                    raise NotFoundError(f"namespace id {record.id!r} not found")
                raise ConditionFailedError(
                    f"namespace {record.name!r}: notification_version is {row[0]}, "
                    f"writer read {previous_notification_version}"
                )

        await self._db.write(f"update namespace {record.name!r}", body)

    async def list_namespaces(
        self, *, page_size: int, page_token: bytes = b""
    ) -> tuple[list[NamespaceRecord], bytes]:
        check_page_size(page_size)
        after = decode_token(page_token, what="namespaces", types=(str,))[0] if page_token else None

        def body(cursor: Cursor) -> tuple[list[NamespaceRecord], bytes]:
            if after is None:
                cursor.execute(
                    "SELECT id, name, data, notification_version FROM namespaces ORDER BY name LIMIT %s",
                    (page_size + 1,),
                )
            else:
                cursor.execute(
                    "SELECT id, name, data, notification_version FROM namespaces WHERE name > %s "
                    "ORDER BY name LIMIT %s",
                    (after, page_size + 1),
                )
            rows = cursor.fetchall()
            records = [_to_record(row) for row in rows[:page_size]]
            return records, encode_token(records[-1].name) if len(rows) > page_size else b""

        return await self._db.read("list namespaces", body)

    async def delete_namespace(self, *, id: str) -> None:
        def body(cursor: Cursor) -> None:
            cursor.execute("DELETE FROM namespaces WHERE id = %s", (id,))

        await self._db.write(f"delete namespace {id!r}", body)
