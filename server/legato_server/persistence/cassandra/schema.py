"""Cassandra side of schema management: keyspace, versioned CQL files, version records.

The schema tool (``legato_server.schema_tool``) decides which versions to
apply; this module does it on Cassandra, synchronously (it is a CLI/Job
tool). Schema changes in Cassandra are not transactional either: a version
interrupted halfway is applied again by the next ``update``, so versioned
files use ``IF NOT EXISTS`` forms (or idempotent ``ALTER ... WITH`` options),
and "already exists" answers count as done. After each DDL statement the tool
waits for schema agreement, so the next statement (and the servers started
after the Job) see the change on every node.

``setup`` creates the keyspace with SimpleStrategy and the configured
replication factor, or NetworkTopologyStrategy when a datacenter is named.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

from cassandra import AlreadyExists, InvalidRequest
from cassandra.cluster import Session

from legato_server.persistence.cassandra.session import Row, make_cluster
from legato_server.persistence.config import CassandraConfig
from legato_server.schema import SchemaVersion

log = logging.getLogger(__name__)

SCHEMA_NAME = "legato"
_KEYSPACE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,47}$")
_ALREADY_DONE = re.compile(r"already exists|conflicts with an existing column", re.IGNORECASE)

READ_VERSION_CQL = "SELECT version, min_compatible_version FROM schema_version WHERE name = ?"
"""What a store reads at open (prepared, in its own keyspace)."""


def split_cql(text: str) -> list[str]:
    """Statements of a CQL file: ``--`` comment lines dropped, split at a ``;`` ending a line."""
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


def version_from_rows(rows: list[Row]) -> tuple[str, str] | None:
    if not rows:
        return None
    return str(rows[0]["version"]), str(rows[0]["min_compatible_version"])


def check_keyspace_name(name: str) -> str:
    if not _KEYSPACE_NAME.match(name):
        raise ValueError(f"invalid Cassandra keyspace name {name!r}: letters, digits and _, at most 48")
    return name


class CassandraSchemaBackend:
    """What the schema tool needs from Cassandra, on one driver session."""

    db = "cassandra"

    def __init__(self, config: CassandraConfig, *, bootstrap_file: Path) -> None:
        self._config = config
        self._keyspace = check_keyspace_name(config.keyspace)
        self._bootstrap_file = bootstrap_file
        self._cluster = make_cluster(config)
        self._session: Session | None = None
        # DDL waits for every node to apply it: give it longer than a query.
        self._timeout = max(60.0, config.request_timeout_s)

    @property
    def location(self) -> str:
        hosts = ",".join(self._config.hosts)
        return f"keyspace {self._keyspace!r} on {hosts}:{self._config.port}"

    def create_container(self) -> None:
        if self._config.datacenter:
            replication = (
                f"{{'class': 'NetworkTopologyStrategy', '{self._config.datacenter}': "
                f"{self._config.replication_factor}}}"
            )
        else:
            replication = (
                f"{{'class': 'SimpleStrategy', 'replication_factor': {self._config.replication_factor}}}"
            )
        self._execute(f"CREATE KEYSPACE IF NOT EXISTS {self._keyspace} WITH replication = {replication}")
        self._agree()

    def drop_container(self) -> None:
        """DROP KEYSPACE IF EXISTS: every table and row in it."""
        self._execute(f"DROP KEYSPACE IF EXISTS {self._keyspace}")
        self._agree()

    def exists(self) -> bool:
        rows = self._execute(
            "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = %s", (self._keyspace,)
        )
        return bool(rows)

    def bootstrap(self) -> None:
        self._run_statements(self._bootstrap_file.name, self._bootstrap_file.read_text(encoding="utf-8"))

    def current(self) -> tuple[str, str] | None:
        if not self._table_exists("schema_version"):
            return None
        rows = self._execute(
            f"SELECT version, min_compatible_version FROM {self._q('schema_version')} WHERE name = %s",
            (SCHEMA_NAME,),
        )
        return version_from_rows(rows)

    def history(self) -> list[tuple[str, int]]:
        rows = self._execute(f"SELECT version, applied_at_ms FROM {self._q('schema_update_history')}")
        return sorted(
            ((str(r["version"]), int(r["applied_at_ms"])) for r in rows), key=lambda item: (item[1], item[0])
        )

    def apply(self, version: SchemaVersion) -> None:
        for name, text in version.read_files():
            self._run_statements(f"{version.version}/{name}", text)
        now = int(time.time() * 1000)
        self._execute(
            f"INSERT INTO {self._q('schema_update_history')} "
            "(version, min_compatible_version, description, files, applied_at_ms) VALUES (%s, %s, %s, %s, %s)",
            (version.version, version.min_compatible_version, version.description, list(version.files), now),
        )
        self._execute(
            f"INSERT INTO {self._q('schema_version')} (name, version, min_compatible_version, updated_at_ms) "
            "VALUES (%s, %s, %s, %s)",
            (SCHEMA_NAME, version.version, version.min_compatible_version, now),
        )

    def close(self) -> None:
        self._cluster.shutdown()

    # ------------------------------------------------------------ internals

    def _q(self, table: str) -> str:
        return f"{self._keyspace}.{table}"

    def _sess(self) -> Session:
        if self._session is None:
            # Rows come back as dicts (the execution profile of make_cluster).
            self._session = self._cluster.connect()
        return self._session

    def _execute(self, cql: str, params: tuple | None = None) -> list[Row]:
        return list(self._sess().execute(cql, params, timeout=self._timeout))

    def _table_exists(self, table: str) -> bool:
        rows = self._execute(
            "SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s AND table_name = %s",
            (self._keyspace, table),
        )
        return bool(rows)

    def _agree(self) -> None:
        cluster = self._cluster
        if not cluster.control_connection.wait_for_schema_agreement(wait_time=60):
            raise RuntimeError("Cassandra nodes did not agree on the schema within 60 s")

    def _run_statements(self, source: str, text: str) -> None:
        session = self._sess()
        session.set_keyspace(self._keyspace)
        for statement in split_cql(text):
            try:
                session.execute(statement, timeout=self._timeout)
            except AlreadyExists:
                log.info("%s: already exists, skipped: %s", source, statement.splitlines()[0])
            except InvalidRequest as error:
                if _ALREADY_DONE.search(str(error)):
                    log.info("%s: already done, skipped: %s", source, statement.splitlines()[0])
                else:
                    raise RuntimeError(f"{source}: {error} in statement {statement[:160]!r}") from error
            self._agree()
