"""MySQL side of schema management: run versioned files, record them, read the version.

The schema tool (``legato_server.schema_tool``) decides *which* versions to
apply; this module knows how to do it on MySQL/MariaDB. DDL is not
transactional in MySQL, so a version interrupted halfway is recorded as not
applied and is run again by the next ``update``: statements that find their
work already done (table, column or index exists: errors 1050, 1060, 1061)
count as done. Hence every versioned file must be written so that re-running
it is harmless, which plain CREATE TABLE / ADD COLUMN / CREATE INDEX are.

The bookkeeping tables (``schema_version`` with the current version,
``schema_update_history`` with one row per applied version) come from
``bootstrap.sql`` beside the versioned directories.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from pathlib import Path

import pymysql

from legato_server.persistence.config import MySQLConfig
from legato_server.persistence.mysql.database import connect
from legato_server.schema import SchemaVersion

log = logging.getLogger(__name__)

SCHEMA_NAME = "legato"
"""Key of the one row of ``schema_version``."""

# Errors meaning "this DDL's effect is already there".
_ALREADY_DONE = {1050: "table exists", 1060: "column exists", 1061: "index exists"}
_NO_SUCH_TABLE = 1146


def split_sql(text: str) -> list[str]:
    """Statements of a schema file: ``--`` comment lines dropped, split at a ``;`` ending a line."""
    statements: list[str] = []
    pending: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("--"):
            continue
        pending.append(line)
        if stripped.endswith(";"):
            statements.append("\n".join(pending).rstrip().rstrip(";"))
            pending = []
    if pending:
        statements.append("\n".join(pending))
    return statements


def read_current_version(cursor: pymysql.cursors.Cursor) -> tuple[str, str] | None:
    """``(version, min_compatible_version)`` recorded in the database; None if it has no Legato schema."""
    try:
        cursor.execute(
            "SELECT version, min_compatible_version FROM schema_version WHERE name = %s", (SCHEMA_NAME,)
        )
    except pymysql.err.ProgrammingError as error:
        if error.args and error.args[0] == _NO_SUCH_TABLE:
            return None
        raise
    row = cursor.fetchone()
    return None if row is None else (str(row[0]), str(row[1]))


class MySQLSchemaBackend:
    """What the schema tool needs from MySQL, on one connection."""

    db = "mysql"

    def __init__(self, config: MySQLConfig, *, bootstrap_file: Path) -> None:
        self._config = config
        self._bootstrap_file = bootstrap_file
        self._connection: pymysql.connections.Connection | None = None

    @property
    def location(self) -> str:
        return f"database {self._config.database!r} on {self._config.host}:{self._config.port}"

    def create_container(self) -> None:
        """CREATE DATABASE IF NOT EXISTS, utf8mb4 with binary collation (case-sensitive ids)."""
        name = self._config.database
        if "`" in name:
            raise ValueError(f"invalid database name {name!r}")
        server = connect(self._config, database=None)
        try:
            with server.cursor() as cursor:
                cursor.execute(
                    f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
                )
        finally:
            server.close()

    def drop_container(self) -> None:
        """DROP DATABASE IF EXISTS: every table and row in it."""
        name = self._config.database
        if "`" in name:
            raise ValueError(f"invalid database name {name!r}")
        self.close()
        server = connect(self._config, database=None)
        try:
            with server.cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        finally:
            server.close()

    def exists(self) -> bool:
        server = connect(self._config, database=None)
        try:
            with server.cursor() as cursor:
                cursor.execute(
                    "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s",
                    (self._config.database,),
                )
                return cursor.fetchone() is not None
        finally:
            server.close()

    def bootstrap(self) -> None:
        self._run_statements(self._bootstrap_file.name, self._bootstrap_file.read_text(encoding="utf-8"))

    def current(self) -> tuple[str, str] | None:
        with self._conn().cursor() as cursor:
            return read_current_version(cursor)

    def history(self) -> list[tuple[str, int]]:
        """``(version, applied_at_ms)`` of every applied version, oldest first."""
        with self._conn().cursor() as cursor:
            cursor.execute(
                "SELECT version, applied_at_ms FROM schema_update_history ORDER BY applied_at_ms, version"
            )
            return [(str(v), int(t)) for v, t in cursor.fetchall()]

    def apply(self, version: SchemaVersion) -> None:
        for name, text in version.read_files():
            self._run_statements(f"{version.version}/{name}", text)
        now = int(time.time() * 1000)
        connection = self._conn()
        connection.begin()
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO schema_update_history "
                    "(version, min_compatible_version, description, files, applied_at_ms) "
                    "VALUES (%s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE applied_at_ms = VALUES(applied_at_ms)",
                    (
                        version.version,
                        version.min_compatible_version,
                        version.description,
                        json.dumps(list(version.files)),
                        now,
                    ),
                )
                cursor.execute(
                    "INSERT INTO schema_version (name, version, min_compatible_version, updated_at_ms) "
                    "VALUES (%s, %s, %s, %s) ON DUPLICATE KEY UPDATE version = VALUES(version), "
                    "min_compatible_version = VALUES(min_compatible_version), updated_at_ms = VALUES(updated_at_ms)",
                    (SCHEMA_NAME, version.version, version.min_compatible_version, now),
                )
            connection.commit()
        except BaseException:
            with contextlib.suppress(Exception):
                connection.rollback()
            raise

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None

    def _conn(self) -> pymysql.connections.Connection:
        if self._connection is None:
            self._connection = connect(self._config, database=self._config.database)
        return self._connection

    def _run_statements(self, source: str, text: str) -> None:
        with self._conn().cursor() as cursor:
            for statement in split_sql(text):
                try:
                    cursor.execute(statement)
                except pymysql.err.MySQLError as error:
                    code = error.args[0] if error.args else None
                    if code in _ALREADY_DONE:
                        log.info(
                            "%s: %s, skipped: %s", source, _ALREADY_DONE[code], statement.splitlines()[0]
                        )
                        continue
                    raise RuntimeError(f"{source}: {error} in statement {statement[:160]!r}") from error
