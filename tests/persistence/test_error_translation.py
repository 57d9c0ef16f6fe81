"""Each store maps its driver's out-of-space and outage errors to the retryable interface errors.

Unit tests of the translation functions alone (a real full disk on MariaDB or
Cassandra cannot be made in a test); the SQLite store's full database is
exercised for real in test_sqlite_store.py.
"""

from __future__ import annotations

import grpc
import pymysql
import pytest
from cassandra import OperationTimedOut, WriteFailure
from cassandra.policies import ConstantReconnectionPolicy
from cassandra.protocol import ServerError

from legato_server.persistence.cassandra import session as cassandra_session
from legato_server.persistence.config import CassandraConfig
from legato_server.persistence.interface import PersistenceError, StorageFullError, TransientError
from legato_server.persistence.mysql import database as mysql_database


@pytest.mark.parametrize(
    ("error", "expected", "code"),
    [
        (
            pymysql.err.OperationalError(1114, "The table 'tasks' is full"),
            StorageFullError,
            "RESOURCE_EXHAUSTED",
        ),
        (
            pymysql.err.OperationalError(1021, "Disk full (/var/lib/mysql)"),
            StorageFullError,
            "RESOURCE_EXHAUSTED",
        ),
        (pymysql.err.OperationalError(2003, "Can't connect to MySQL server"), TransientError, "UNAVAILABLE"),
        (pymysql.err.OperationalError(1213, "Deadlock found"), TransientError, "UNAVAILABLE"),
    ],
    ids=["table-full", "disk-full", "unreachable", "deadlock"],
)
def test_mysql_errors(error: Exception, expected: type[PersistenceError], code: str) -> None:
    translated = mysql_database.translate(error, "update shard 1")
    assert type(translated) is expected
    assert translated.code == getattr(grpc.StatusCode, code)  # type: ignore[attr-defined]
    assert str(error.args[1]) in str(translated)


def test_a_mysql_syntax_error_is_not_retryable() -> None:
    translated = mysql_database.translate(pymysql.err.ProgrammingError(1064, "syntax"), "x")
    assert type(translated) is PersistenceError


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ServerError(0, "java.io.IOException: No space left on device", {}), StorageFullError),
        (WriteFailure("Operation failed - received 0 responses and 1 failures"), TransientError),
        (OperationTimedOut("timed out"), TransientError),
    ],
    ids=["no-space", "write-failure", "timeout"],
)
def test_cassandra_errors(error: Exception, expected: type[PersistenceError]) -> None:
    assert type(cassandra_session.translate(error, "update shard 1")) is expected


def test_cassandra_reconnects_to_a_node_within_a_second_or_two() -> None:
    cluster = cassandra_session.make_cluster(CassandraConfig())
    policy = cluster.reconnection_policy
    assert isinstance(policy, ConstantReconnectionPolicy)
    delays = policy.new_schedule()
    assert [next(delays) for _ in range(5)] == [cassandra_session.RECONNECT_INTERVAL_S] * 5
    assert cassandra_session.RECONNECT_INTERVAL_S <= 2
