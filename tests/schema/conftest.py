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
    if isinstance(config, MySQLConfig):
        from legato_server.persistence.mysql.database import connect

        connection = connect(config, database=None)
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS `{config.database}`")
        finally:
            connection.close()
    else:
        from legato_server.persistence.cassandra.session import make_cluster

        cluster = make_cluster(config)
        try:
            cluster.connect().execute(f"DROP KEYSPACE IF EXISTS {config.keyspace}", timeout=60)
        finally:
            cluster.shutdown()


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
