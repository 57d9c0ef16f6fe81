"""Which store the server uses, and how to reach it.

Values come from the server's config (CLI flags or a YAML file) and, for
secrets, from a file (``password_file``, e.g. a mounted Kubernetes Secret) or
the environment: ``LEGATO_DB_PASSWORD`` overrides both.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class SQLiteConfig:
    path: Path | None = None
    """Database file; None = an in-memory database (lost at exit)."""


@dataclass
class MySQLConfig:
    host: str = "127.0.0.1"
    port: int = 3306
    user: str = "legato"
    password: str = ""
    database: str = "legato"
    visibility_database: str | None = None
    """Separate database for visibility; None = the same one."""
    pool_size: int = 8
    connect_timeout_s: float = 5.0
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None

    password_file: str | None = None
    """A file holding the password (a mounted Kubernetes Secret); LEGATO_DB_PASSWORD still wins."""

    def __post_init__(self) -> None:
        self.password = os.environ.get(
            "LEGATO_DB_PASSWORD", _read_password(self.password_file, self.password)
        )


@dataclass
class CassandraConfig:
    hosts: list[str] = field(default_factory=lambda: ["127.0.0.1"])
    port: int = 9042
    keyspace: str = "legato"
    user: str | None = None
    password: str | None = None
    datacenter: str | None = None
    replication_factor: int = 1
    consistency: str = "LOCAL_QUORUM"
    serial_consistency: str = "LOCAL_SERIAL"
    connect_timeout_s: float = 10.0
    request_timeout_s: float = 10.0
    tls_ca: str | None = None

    password_file: str | None = None
    """A file holding the password (a mounted Kubernetes Secret); LEGATO_DB_PASSWORD still wins."""

    def __post_init__(self) -> None:
        self.password = (
            os.environ.get("LEGATO_DB_PASSWORD", _read_password(self.password_file, self.password or ""))
            or None
        )


def _read_password(path: str | None, default: str) -> str:
    """The password in ``path`` (one trailing newline dropped), or ``default`` without a file."""
    if not path:
        return default
    try:
        text = open(path, encoding="utf-8").read()  # noqa: SIM115 - read once at start
    except OSError as err:
        raise ValueError(f"password_file {path}: {err.strerror or err}") from None
    return text[:-1] if text.endswith("\n") else text


@dataclass
class PersistenceConfig:
    kind: str = "sqlite"
    """One of "sqlite", "mysql", "cassandra"."""
    sqlite: SQLiteConfig = field(default_factory=SQLiteConfig)
    mysql: MySQLConfig = field(default_factory=MySQLConfig)
    cassandra: CassandraConfig = field(default_factory=CassandraConfig)
