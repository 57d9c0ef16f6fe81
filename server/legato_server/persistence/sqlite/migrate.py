"""Bring an SQLite database file to the newest schema this code ships, at open.

SQLite is embedded, so there is no separate schema tool to run first (MySQL
and Cassandra have one): the store applies ``schema/sqlite/legato/versioned``
itself. Every version newer than the newest one recorded in ``schema_version``
is applied in order, each file split into statements, all inside one
``BEGIN IMMEDIATE`` transaction together with the ``schema_version`` rows. So
a crash mid-migration leaves the previous schema intact, and two processes
opening a fresh file at once cannot both apply it: the second waits for the
write lock, then finds the versions recorded and applies nothing.

``schema_version`` itself is created here rather than in a versioned file
because it is what tells us which files have been applied.

A database written by a newer Legato may carry versions this code does not
know; it is opened only if the newest one's ``min_compatible_version`` is
within what this code knows, otherwise open fails with a message saying so.
"""

from __future__ import annotations

import sqlite3
import time

from legato_server.persistence.interface import PersistenceError
from legato_server.persistence.sqlite.database import translate_error
from legato_server.schema import SchemaError, SchemaVersion, list_versions, parse_version

SCHEMA_DB = "sqlite"

_CREATE_SCHEMA_VERSION = """
CREATE TABLE IF NOT EXISTS schema_version (
    version                 TEXT    NOT NULL PRIMARY KEY,
    min_compatible_version  TEXT    NOT NULL,
    description             TEXT    NOT NULL,
    applied_at_ms           INTEGER NOT NULL
)
"""


def split_statements(script: str) -> list[str]:
    """Split SQL text into complete statements (a ';' inside a string or trigger body does not split)."""
    statements: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if _has_code(pending):
                statements.append(pending.strip())
            pending = ""
    if _has_code(pending):
        raise SchemaError(f"incomplete SQL statement at the end of the script: {pending.strip()[:80]!r}")
    return statements


def _has_code(sql: str) -> bool:
    lines = (line.split("--", 1)[0].strip() for line in sql.splitlines())
    return any(line and line != ";" for line in lines)


def migrate(connection: sqlite3.Connection) -> str:
    """Apply pending schema versions; return the database's schema version afterwards."""
    try:
        known = list_versions(SCHEMA_DB)
    except SchemaError as error:
        raise PersistenceError(f"cannot load the SQLite schema shipped with Legato: {error}") from error
    try:
        connection.execute("BEGIN IMMEDIATE")
        try:
            version = _migrate_locked(connection, known)
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
    except sqlite3.Error as error:
        raise translate_error(error, "migrate the SQLite schema") from error
    except SchemaError as error:
        raise PersistenceError(f"cannot migrate the SQLite schema: {error}") from error
    return version


def _migrate_locked(connection: sqlite3.Connection, known: list[SchemaVersion]) -> str:
    connection.execute(_CREATE_SCHEMA_VERSION)
    current = _newest_applied(connection)
    if current is not None and parse_version(current[0]) >= known[-1].key:
        _check_compatible(current, newest_known=known[-1])
        return current[0]
    for version in known:
        if current is None or version.key > parse_version(current[0]):
            _apply(connection, version)
    return known[-1].version


def _newest_applied(connection: sqlite3.Connection) -> tuple[str, str] | None:
    rows = connection.execute("SELECT version, min_compatible_version FROM schema_version").fetchall()
    if not rows:
        return None
    return max(((str(v), str(m)) for v, m in rows), key=lambda row: parse_version(row[0]))


def _check_compatible(current: tuple[str, str], *, newest_known: SchemaVersion) -> None:
    version, min_compatible = current
    if parse_version(min_compatible) > newest_known.key:
        raise PersistenceError(
            f"the database's schema is {version}, which needs a Legato that knows schema "
            f">= {min_compatible}; this one knows up to {newest_known.version}. Upgrade Legato "
            "or use a database file written by this version."
        )


def _apply(connection: sqlite3.Connection, version: SchemaVersion) -> None:
    for name, text in version.read_files():
        for statement in split_statements(text):
            try:
                connection.execute(statement)
            except sqlite3.Error as error:
                raise PersistenceError(
                    f"schema {version.version}, {name}: {error} in statement {statement[:120]!r}"
                ) from error
    connection.execute(
        "INSERT INTO schema_version (version, min_compatible_version, description, applied_at_ms) "
        "VALUES (?, ?, ?, ?)",
        (version.version, version.min_compatible_version, version.description, int(time.time() * 1000)),
    )
