"""Namespace records, unique by id and by name, updated under optimistic concurrency.

``notification_version`` is the condition of every update: the writer names
the version it read (``previous_notification_version``) and supplies the new
one in the record; the frontends' namespace caches use it to notice changes.
Uniqueness of both keys is checked explicitly so the error can say which one
is taken (the UNIQUE constraints remain as the backstop).
"""

from __future__ import annotations

from legato_server.persistence.interface import (
    AlreadyExistsError,
    ConditionFailedError,
    NamespaceRecord,
    NamespaceStore,
    NotFoundError,
)
from legato_server.persistence.paging import check_page_size, decode_token, encode_token
from legato_server.persistence.sqlite.database import Database

_COLUMNS = "id, name, data, notification_version"


def _to_record(row: tuple) -> NamespaceRecord:
    id_, name, data, notification_version = row
    return NamespaceRecord(id=id_, name=name, data=data, notification_version=notification_version)


class SQLiteNamespaceStore(NamespaceStore):
    def __init__(self, database: Database) -> None:
        self._database = database

    async def create_namespace(self, record: NamespaceRecord) -> None:
        with self._database.write(f"create namespace {record.name!r}") as connection:
            taken = connection.execute(
                "SELECT id, name FROM namespaces WHERE id = ? OR name = ?", (record.id, record.name)
            ).fetchone()
            if taken is not None:
                which = f"name {record.name!r}" if taken[1] == record.name else f"id {record.id}"
                raise AlreadyExistsError(f"a namespace with {which} already exists")
            connection.execute(
                f"INSERT INTO namespaces ({_COLUMNS}) VALUES (?, ?, ?, ?)",
                (record.id, record.name, record.data, record.notification_version),
            )

    async def get_namespace(self, *, name: str | None = None, id: str | None = None) -> NamespaceRecord:
        if (name is None) == (id is None):
            raise ValueError("get_namespace takes exactly one of name or id")
        column, value = ("name", name) if name is not None else ("id", id)
        with self._database.read(f"get namespace by {column} {value!r}") as connection:
            row = connection.execute(
                f"SELECT {_COLUMNS} FROM namespaces WHERE {column} = ?", (value,)
            ).fetchone()
        if row is None:
            raise NotFoundError(f"namespace with {column} {value!r} not found")
        return _to_record(row)

    async def update_namespace(self, record: NamespaceRecord, *, previous_notification_version: int) -> None:
        with self._database.write(f"update namespace {record.name!r}") as connection:
            updated = connection.execute(
                "UPDATE namespaces SET data = ?, notification_version = ? WHERE id = ? AND notification_version = ?",
                (record.data, record.notification_version, record.id, previous_notification_version),
            ).rowcount
            if updated != 1:
                row = connection.execute(
                    "SELECT notification_version FROM namespaces WHERE id = ?", (record.id,)
                ).fetchone()
                found = "it does not exist" if row is None else f"stored notification_version is {row[0]}"
                raise ConditionFailedError(
                    f"update of namespace {record.name!r} expected notification_version "
                    f"{previous_notification_version}; {found}"
                )

    async def list_namespaces(
        self, *, page_size: int, page_token: bytes = b""
    ) -> tuple[list[NamespaceRecord], bytes]:
        check_page_size(page_size)
        after = decode_token(page_token, what="namespaces", types=(str,))[0] if page_token else None
        with self._database.read("list namespaces") as connection:
            if after is None:
                rows = connection.execute(
                    f"SELECT {_COLUMNS} FROM namespaces ORDER BY name LIMIT ?", (page_size + 1,)
                ).fetchall()
            else:
                rows = connection.execute(
                    f"SELECT {_COLUMNS} FROM namespaces WHERE name > ? ORDER BY name LIMIT ?",
                    (after, page_size + 1),
                ).fetchall()
        records = [_to_record(row) for row in rows[:page_size]]
        return records, encode_token(records[-1].name) if len(rows) > page_size else b""

    async def delete_namespace(self, *, id: str) -> None:
        with self._database.write(f"delete namespace {id!r}") as connection:
            connection.execute("DELETE FROM namespaces WHERE id = ?", (id,))
