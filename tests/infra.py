"""How tests reach real components, and what happens when one is missing.

In CI (env ``CI`` set) every component must be running: a missing one fails
the test with the script that starts it. Elsewhere the test is skipped with
the same hint, so a laptop without Cassandra can still run the rest.
"""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import pymysql.connections

    from legato_server.persistence.config import MySQLConfig

IN_CI = bool(os.environ.get("CI"))

MYSQL_HOST = os.environ.get("LEGATO_TEST_MYSQL_HOST", "127.0.0.1")
MYSQL_PORT = int(os.environ.get("LEGATO_TEST_MYSQL_PORT", "3306"))
MYSQL_USER = os.environ.get("LEGATO_TEST_MYSQL_USER", "legato")
MYSQL_PASSWORD = os.environ.get("LEGATO_TEST_MYSQL_PASSWORD", "legato")
CASSANDRA_HOST = os.environ.get("LEGATO_TEST_CASSANDRA_HOST", "127.0.0.1")
CASSANDRA_PORT = int(os.environ.get("LEGATO_TEST_CASSANDRA_PORT", "9042"))


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_component(name: str, host: str, port: int, script: str) -> None:
    """Fail (CI) or skip (elsewhere) unless host:port accepts connections."""
    if port_open(host, port):
        return
    message = f"{name} is not reachable at {host}:{port}; start it with: {script}"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def require_mysql() -> None:
    require_component("MariaDB/MySQL", MYSQL_HOST, MYSQL_PORT, "scripts/infra/mariadb.sh start")


def require_cassandra() -> None:
    require_component("Cassandra", CASSANDRA_HOST, CASSANDRA_PORT, "scripts/infra/cassandra.sh start")


def mysql_config(database: str, **overrides: Any) -> MySQLConfig:
    """The store's config for ``database`` on the test MariaDB (``overrides``: e.g. ``pool_size``)."""
    from legato_server.persistence.config import MySQLConfig

    return MySQLConfig(
        host=MYSQL_HOST,
        port=MYSQL_PORT,
        user=MYSQL_USER,
        password=MYSQL_PASSWORD,
        database=database,
        **overrides,
    )


def mysql_connect(database: str | None = None, *, autocommit: bool = False) -> pymysql.connections.Connection:
    """A plain driver connection to the test MariaDB, for setting up and checking from outside the store."""
    import pymysql

    return pymysql.connect(
        host=MYSQL_HOST,
        port=MYSQL_PORT,
        user=MYSQL_USER,
        password=MYSQL_PASSWORD,
        database=database,
        autocommit=autocommit,
    )
