"""Several statements per round trip on the MySQL store, against real MariaDB.

``pipeline`` is what keeps a workflow update at a few round trips; these tests
pin down what the store's correctness leans on: results come back per
statement and in order, a failing statement stops the rest and the write
rolls back whole, ``commit=True`` commits, and a write transaction's
``START TRANSACTION`` riding on its first statement still isolates it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from legato_server.persistence.interface import PersistenceError
from legato_server.persistence.mysql.database import Cursor, Database, pipeline, values_rows
from tests import infra


@pytest.fixture
async def database() -> AsyncIterator[Database]:
    infra.require_mysql()
    name = f"legato_pipeline_{uuid.uuid4().hex[:10]}"
    admin = infra.mysql_connect()
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
        cursor.execute(f"CREATE TABLE {name}.t (k INT PRIMARY KEY, v VARCHAR(20) NOT NULL)")
    db = Database(infra.mysql_config(name, pool_size=2))
    try:
        yield db
    finally:
        await db.close()
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE {name}")
        admin.close()


async def rows(db: Database) -> list[tuple[int, str]]:
    def body(cursor: Cursor) -> list[tuple[int, str]]:
        cursor.execute("SELECT k, v FROM t ORDER BY k")
        return [(int(k), str(v)) for k, v in cursor.fetchall()]

    return await db.read("read t", body)


async def test_results_come_back_per_statement_in_order(database: Database) -> None:
    def body(cursor: Cursor) -> list[tuple[int, tuple[tuple[object, ...], ...]]]:
        results = pipeline(
            cursor,
            [
                (f"INSERT INTO t (k, v) VALUES {values_rows(3, 2)}", (1, "a", 2, "it's; quoted", 3, "c")),
                ("UPDATE t SET v = %s WHERE k >= %s", ("z", 2)),
                ("SELECT v FROM t WHERE k = %s", (2,)),
                ("SELECT v FROM t WHERE k = %s", (99,)),
            ],
            commit=True,
        )
        return [(r.rowcount, r.rows) for r in results]

    assert await database.write("fill", body) == [(3, ()), (2, ()), (1, (("z",),)), (0, ())]
    assert await rows(database) == [(1, "a"), (2, "z"), (3, "z")]


async def test_a_failing_statement_stops_the_rest_and_the_write_rolls_back(database: Database) -> None:
    def seed(cursor: Cursor) -> None:
        cursor.execute("INSERT INTO t (k, v) VALUES (1, 'kept')")

    await database.write("seed", seed)

    def body(cursor: Cursor) -> None:
        pipeline(
            cursor,
            [
                ("UPDATE t SET v = 'changed' WHERE k = 1", None),
                ("INSERT INTO t (k, v) VALUES (1, 'duplicate')", None),
                ("INSERT INTO t (k, v) VALUES (2, 'after the failure')", None),
            ],
            commit=True,
        )

    with pytest.raises(PersistenceError, match="Duplicate entry"):
        await database.write("fail", body)
    assert await rows(database) == [(1, "kept")]

    # The connection went back to the pool in no transaction: the next write commits on its own.
    def more(cursor: Cursor) -> None:
        pipeline(cursor, [("INSERT INTO t (k, v) VALUES (3, 'next')", None)], commit=True)

    await database.write("next", more)
    assert await rows(database) == [(1, "kept"), (3, "next")]


async def test_a_body_error_after_a_pipeline_rolls_back_its_writes(database: Database) -> None:
    class Refused(PersistenceError):
        pass

    def body(cursor: Cursor) -> None:
        pipeline(cursor, [("INSERT INTO t (k, v) VALUES (5, 'uncommitted')", None)])
        raise Refused("a condition the body checked did not hold")

    with pytest.raises(Refused):
        await database.write("refuse", body)
    assert await rows(database) == []


async def test_the_first_statement_opens_the_transaction(database: Database) -> None:
    """Rows a write inserted are invisible to another connection until it commits."""

    seen_from_outside: list[list[tuple[int, str]]] = []
    outside = infra.mysql_connect(database.name, autocommit=True)

    def body(cursor: Cursor) -> None:
        cursor.execute("INSERT INTO t (k, v) VALUES (%s, %s)", (7, "pending"))
        with outside.cursor() as other:
            other.execute("SELECT k, v FROM t")
            seen_from_outside.append([(int(k), str(v)) for k, v in other.fetchall()])

    try:
        await database.write("isolated", body)
    finally:
        outside.close()
    assert seen_from_outside == [[]]
    assert await rows(database) == [(7, "pending")]
