"""A fresh, uniquely named MySQL database or Cassandra keyspace per test, dropped afterwards.

Parametrized over both databases (ids ``[mysql]``, ``[cassandra]``); a
database that is not running is skipped here and fails in CI (``tests.infra``).
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator

import pytest

from legato_server.persistence.config import CassandraConfig, MySQLConfig
from tests import infra

DBConfig = MySQLConfig | CassandraConfig


def drop(db: str, config: DBConfig) -> None:
    """Remove the test's database/keyspace (best effort: a failed test must still clean up)."""
    from legato_server import schema_tool

    schema_tool.run("drop", db, config, confirmed=True)


@pytest.fixture(params=["mysql", "cassandra"])
def db(request: pytest.FixtureRequest) -> str:
    if request.param == "mysql":
        infra.require_mysql()
    else:
        infra.require_cassandra()
    return request.param


@pytest.fixture
def db_config(db: str) -> Iterator[DBConfig]:
    name = f"legato_schema_{secrets.token_hex(4)}"
    config: DBConfig
    if db == "mysql":
        config = infra.mysql_config(name)
    else:
        config = CassandraConfig(hosts=[infra.CASSANDRA_HOST], port=infra.CASSANDRA_PORT, keyspace=name)
    yield config
    with contextlib.suppress(Exception):
        drop(db, config)
