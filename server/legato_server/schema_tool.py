"""Set up, update and inspect the schema of a MySQL or Cassandra database.

This is the library behind ``legato-server schema setup|update|version`` (see
``schema_cli``) and the Kubernetes schema Job. The schemas themselves are data
(``legato_server/schema/<db>/legato/versioned/vX.Y/``, read with
``legato_server.schema``); the database-specific work — creating the database
or keyspace, running a file's statements, recording a version — is done by a
backend in ``persistence/<db>/schema.py``. This module holds what is the same
for every database:

* ``setup`` creates the database/keyspace and its bookkeeping tables and
  applies the *base* version (the oldest, or ``target_version``) — only on a
  database that has no version yet;
* ``update`` applies every version newer than the database's, up to the
  newest shipped (or ``target_version``), oldest first, recording each as it
  goes, so an interrupted update resumes where it stopped and a second run is
  a no-op;
* ``drop`` deletes the database/keyspace and everything in it (only when
  confirmed: it is how a test run or a benchmark cleans up, and how an
  operator removes a cluster's data for good).

What the stores check at open (is the database's version one this code may
use?) is ``legato_server.schema.compat``, below persistence, so the stores need
nothing from this module.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from legato_server.persistence.config import CassandraConfig, MySQLConfig
from legato_server.schema import (
    DEFAULT_KEYSPACE,
    SCHEMA_ROOT,
    SchemaError,
    SchemaVersion,
    parse_version,
    versioned_dir,
)
from legato_server.schema.compat import shipped_versions

log = logging.getLogger(__name__)

DATABASES = ("mysql", "cassandra")


class SchemaToolError(Exception):
    """The requested schema operation cannot be done; the message says why and what to do."""


class SchemaBackend(Protocol):
    db: str

    @property
    def location(self) -> str: ...
    def create_container(self) -> None: ...
    def drop_container(self) -> None: ...
    def exists(self) -> bool: ...
    def bootstrap(self) -> None: ...
    def current(self) -> tuple[str, str] | None: ...
    def history(self) -> list[tuple[str, int]]: ...
    def apply(self, version: SchemaVersion) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    db: str
    location: str
    version: str | None
    min_compatible_version: str | None
    latest_known: str
    applied: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.version is None:
            return f"{self.db} {self.location}: no Legato schema (newest shipped: {self.latest_known})"
        pending = (
            "up to date"
            if parse_version(self.version) >= parse_version(self.latest_known)
            else (f"update available to {self.latest_known}")
        )
        return (
            f"{self.db} {self.location}: schema version {self.version} "
            f"(min compatible {self.min_compatible_version}; newest shipped {self.latest_known}, {pending})"
        )


# ---------------------------------------------------------------- operations


def known_versions(db: str, *, schema_root: Path | None = None) -> list[SchemaVersion]:
    try:
        return shipped_versions(db, schema_root=schema_root)
    except SchemaError as error:
        raise SchemaToolError(f"cannot load the {db} schema: {error}") from error


def _select(known: list[SchemaVersion], target_version: str | None) -> SchemaVersion:
    if target_version is None:
        return known[-1]
    for version in known:
        if version.version == target_version or version.key == _parse(target_version):
            return version
    raise SchemaToolError(
        f"unknown target version {target_version}; shipped versions: {', '.join(v.version for v in known)}"
    )


def _parse(text: str) -> tuple[int, ...]:
    try:
        return parse_version(text)
    except SchemaError as error:
        raise SchemaToolError(str(error)) from error


def setup(backend: SchemaBackend, *, known: list[SchemaVersion], target_version: str | None = None) -> str:
    """Create the database/keyspace, the bookkeeping tables, and the base version.

    The base version is ``target_version`` if given, else the oldest shipped
    one (``update`` brings it to the newest). On a database that already has
    a version this changes nothing and says so. Returns the version afterwards.
    """
    base = known[0] if target_version is None else _select(known, target_version)
    backend.create_container()
    backend.bootstrap()
    current = backend.current()
    if current is not None:
        log.info("%s already has schema version %s; setup changes nothing", backend.location, current[0])
        return current[0]
    # A base newer than the oldest version means "set up at that version":
    # every version up to it is applied in order (versions are incremental).
    for version in known:
        if version.key <= base.key:
            log.info("applying %s schema %s: %s", backend.db, version.version, version.description)
            backend.apply(version)
    return base.version


def update(
    backend: SchemaBackend, *, known: list[SchemaVersion], target_version: str | None = None
) -> list[str]:
    """Apply every version newer than the database's, up to the target; return those applied."""
    target = _select(known, target_version)
    if not backend.exists():
        raise SchemaToolError(f"{backend.location} does not exist; run `legato-server schema setup` first")
    backend.bootstrap()
    current = backend.current()
    if current is None:
        raise SchemaToolError(
            f"{backend.location} has no Legato schema; run `legato-server schema setup` first"
        )
    current_key = _parse(current[0])
    if current_key > target.key:
        raise SchemaToolError(
            f"{backend.location} is at schema version {current[0]}, newer than the target {target.version}; "
            "schemas are never downgraded"
        )
    applied: list[str] = []
    for version in known:
        if current_key < version.key <= target.key:
            log.info("applying %s schema %s: %s", backend.db, version.version, version.description)
            backend.apply(version)
            applied.append(version.version)
    return applied


def status(backend: SchemaBackend, *, known: list[SchemaVersion]) -> SchemaStatus:
    current = backend.current() if backend.exists() else None
    history: list[tuple[str, int]] = []
    if current is not None:
        history = backend.history()
    return SchemaStatus(
        db=backend.db,
        location=backend.location,
        version=None if current is None else current[0],
        min_compatible_version=None if current is None else current[1],
        latest_known=known[-1].version,
        applied=tuple(v for v, _ in history),
    )


# ---------------------------------------------------------------- backends


def open_backend(
    db: str, config: MySQLConfig | CassandraConfig, *, schema_root: Path | None = None
) -> SchemaBackend:
    """The backend for ``db`` (drivers are imported only for the one in use)."""
    root = schema_root or SCHEMA_ROOT
    keyspace_dir = versioned_dir(db, DEFAULT_KEYSPACE, root=root).parent
    if db == "mysql":
        from legato_server.persistence.mysql.schema import MySQLSchemaBackend

        assert isinstance(config, MySQLConfig)
        return MySQLSchemaBackend(config, bootstrap_file=keyspace_dir / "bootstrap.sql")
    if db == "cassandra":
        from legato_server.persistence.cassandra.schema import CassandraSchemaBackend

        assert isinstance(config, CassandraConfig)
        return CassandraSchemaBackend(config, bootstrap_file=keyspace_dir / "bootstrap.cql")
    raise SchemaToolError(f"unknown database {db!r}; expected one of {', '.join(DATABASES)}")


def run(
    command: str,
    db: str,
    config: MySQLConfig | CassandraConfig,
    *,
    target_version: str | None = None,
    schema_root: Path | None = None,
    confirmed: bool = False,
) -> str:
    """Run ``setup``, ``update``, ``version`` or ``drop``; return a line for the user. Raises SchemaToolError."""
    if command == "drop" and not confirmed:
        raise SchemaToolError(
            "drop deletes the whole database/keyspace with every workflow in it; pass --yes to confirm"
        )
    known = known_versions(db, schema_root=schema_root)
    backend = open_backend(db, config, schema_root=schema_root)
    try:
        if command == "setup":
            version = setup(backend, known=known, target_version=target_version)
            return f"{db} {backend.location}: schema set up at version {version}"
        if command == "update":
            applied = update(backend, known=known, target_version=target_version)
            now = backend.current()
            if not applied:
                return f"{db} {backend.location}: schema already at version {now[0] if now else '?'}; nothing to do"
            return (
                f"{db} {backend.location}: applied {', '.join(applied)}; schema now at version {applied[-1]}"
            )
        if command == "version":
            return status(backend, known=known).describe()
        if command == "drop":
            if not backend.exists():
                return f"{db} {backend.location}: does not exist; nothing to drop"
            backend.drop_container()
            return f"{db} {backend.location}: dropped"
        raise SchemaToolError(f"unknown schema command {command!r}; expected setup, update, version or drop")
    except SchemaToolError:
        raise
    except Exception as error:  # driver errors: connection refused, permissions, bad DDL
        raise SchemaToolError(f"schema {command} on {db} failed: {error}") from error
    finally:
        backend.close()
