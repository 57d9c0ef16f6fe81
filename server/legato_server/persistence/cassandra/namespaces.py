"""Namespaces on Cassandra: the record by id, plus a unique name index.

Cassandra has no multi-table transactions, so uniqueness of both keys takes
two lightweight transactions in a fixed order: create the record
(``namespaces_by_id ... IF NOT EXISTS``), then claim the name
(``namespaces_by_name ... IF NOT EXISTS``), removing the record again if
another namespace holds the name. A name row therefore only ever points at a
record that already exists; one whose record is missing is the leftover of a
delete that died between its two steps (the record goes first), and the next
create of that name takes it over. Claiming the name first would not do:
a second host could not tell a create paused between its two steps from a
leftover, take the name over, and both would believe they had registered it.

A create that dies between its two steps leaves a record no name points at:
nothing lists it, and nobody holds its id. A namespace's name never changes.
"""

from __future__ import annotations

import asyncio

from legato_server.persistence.cassandra.session import CassandraSession, Row, applied
from legato_server.persistence.interface import (
    AlreadyExistsError,
    ConditionFailedError,
    NamespaceRecord,
    NamespaceStore,
    NotFoundError,
)
from legato_server.persistence.paging import check_page_size, decode_token, encode_token

_SELECT_BY_ID = "SELECT id, name, data, notification_version FROM namespaces_by_id WHERE id = ?"


def _to_record(row: Row) -> NamespaceRecord:
    return NamespaceRecord(
        id=row["id"],
        name=row["name"],
        data=bytes(row["data"] or b""),
        notification_version=int(row["notification_version"]),
    )


class CassandraNamespaceStore(NamespaceStore):
    def __init__(self, session: CassandraSession) -> None:
        self._session = session

    async def _by_id(self, id_: str, action: str) -> NamespaceRecord | None:
        rows = await self._session.execute(action, _SELECT_BY_ID, (id_,), idempotent=True)
        return _to_record(rows[0]) if rows and rows[0]["name"] is not None else None

    async def _claim_name(self, name: str, id_: str, action: str) -> bool:
        """Make the name row point at ``id_``; False if another live namespace holds it."""
        rows = await self._session.execute(
            action,
            "INSERT INTO namespaces_by_name (bucket, name, id) VALUES (0, ?, ?) IF NOT EXISTS",
            (name, id_),
        )
        if applied(rows):
            return True
        holder = rows[0].get("id")
        owner = await self._by_id(holder, action) if holder else None
        if owner is not None and owner.name == name:
            return False
        # The record went first, so a holder without one is the leftover of an interrupted delete.
        rows = await self._session.execute(
            action,
            "UPDATE namespaces_by_name SET id = ? WHERE bucket = 0 AND name = ? IF id = ?",
            (id_, name, holder),
        )
        return applied(rows)

    async def _release_name(self, name: str, id_: str, action: str) -> None:
        await self._session.execute(
            action, "DELETE FROM namespaces_by_name WHERE bucket = 0 AND name = ? IF id = ?", (name, id_)
        )

    async def create_namespace(self, record: NamespaceRecord) -> None:
        action = f"create namespace {record.name!r}"
        rows = await self._session.execute(
            action,
            "INSERT INTO namespaces_by_id (id, name, data, notification_version) VALUES (?, ?, ?, ?) IF NOT EXISTS",
            (record.id, record.name, record.data, record.notification_version),
        )
        if not applied(rows):
            raise AlreadyExistsError(
                f"namespace id {record.id} already exists (name {rows[0].get('name')!r})"
            )
        if not await self._claim_name(record.name, record.id, action):
            await self._session.execute(
                action, "DELETE FROM namespaces_by_id WHERE id = ? IF EXISTS", (record.id,)
            )
            raise AlreadyExistsError(f"namespace {record.name!r} already exists")

    async def get_namespace(self, *, name: str | None = None, id: str | None = None) -> NamespaceRecord:
        if (name is None) == (id is None):
            raise ValueError("get_namespace takes exactly one of name= or id=")
        action = f"get namespace {name or id!r}"
        if id is not None:
            record = await self._by_id(id, action)
            if record is None:
                raise NotFoundError(f"namespace id {id!r} not found")
            return record
        rows = await self._session.execute(
            action,
            "SELECT id FROM namespaces_by_name WHERE bucket = 0 AND name = ?",
            (name,),
            idempotent=True,
        )
        record = await self._by_id(rows[0]["id"], action) if rows else None
        if record is None or record.name != name:
            raise NotFoundError(f"namespace {name!r} not found")
        return record

    async def update_namespace(self, record: NamespaceRecord, *, previous_notification_version: int) -> None:
        action = f"update namespace {record.name!r}"
        stored = await self._by_id(record.id, action)
        if stored is None:
            raise NotFoundError(f"namespace id {record.id!r} not found")
        if stored.name != record.name:
            raise ValueError(f"namespace {stored.name!r} cannot be renamed to {record.name!r}")
        rows = await self._session.execute(
            action,
            "UPDATE namespaces_by_id SET name = ?, data = ?, notification_version = ? WHERE id = ? "
            "IF notification_version = ?",
            (record.name, record.data, record.notification_version, record.id, previous_notification_version),
        )
        if not applied(rows):
            raise ConditionFailedError(
                f"namespace {record.name!r}: notification_version is {rows[0].get('notification_version')}, "
                f"writer read {previous_notification_version}"
            )

    async def list_namespaces(
        self, *, page_size: int, page_token: bytes = b""
    ) -> tuple[list[NamespaceRecord], bytes]:
        check_page_size(page_size)
        after = decode_token(page_token, what="namespaces", types=(str,))[0] if page_token else ""
        action = "list namespaces"
        records: list[NamespaceRecord] = []
        more = False
        # Dangling name rows are skipped, so a page may take more than one read.
        while len(records) < page_size:
            rows = await self._session.execute(
                action,
                "SELECT name, id FROM namespaces_by_name WHERE bucket = 0 AND name > ? LIMIT ?",
                (after, page_size + 1),
                idempotent=True,
            )
            if not rows:
                break
            found = await asyncio.gather(*(self._by_id(r["id"], action) for r in rows))
            for row, record in zip(rows, found, strict=True):
                after = row["name"]
                if record is None or record.name != row["name"]:
                    continue
                if len(records) == page_size:
                    more = True
                    break
                records.append(record)
            if more or len(rows) <= page_size:
                break
        if len(records) == page_size and not more:
            # Look one further to decide whether there is a next page.
            rows = await self._session.execute(
                action,
                "SELECT name FROM namespaces_by_name WHERE bucket = 0 AND name > ? LIMIT 1",
                (records[-1].name,),
                idempotent=True,
            )
            more = bool(rows)
        return records, encode_token(records[-1].name) if more and records else b""

    async def delete_namespace(self, *, id: str) -> None:
        action = f"delete namespace {id!r}"
        stored = await self._by_id(id, action)
        if stored is None:
            return
        # The record first: a name row left behind by a crash here points at no record,
        # which create treats as free and list skips.
        await self._session.execute(action, "DELETE FROM namespaces_by_id WHERE id = ? IF EXISTS", (id,))
        await self._release_name(stored.name, id, action)
