"""What only the SQLite store promises: WAL durability, self-migration, lock handling, no leaked errors.

These complement the conformance suite (which runs against every store) with
properties of the embedded store itself: a commit survives kill -9, a second
process on the same file waits for the lock or gets a TransientError, the
schema is applied once and recorded, and a database from a newer, incompatible
Legato is refused with a clear message.
"""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import grpc
import pytest

from legato_server.persistence.config import SQLiteConfig
from legato_server.persistence.interface import (
    CreateMode,
    EventBatch,
    NamespaceRecord,
    NotFoundError,
    PersistenceError,
    ShardInfo,
    ShardOwnershipLostError,
    StorageFullError,
    TransientError,
    VisibilityFilter,
)
from legato_server.persistence.sqlite import SQLitePersistence, open_sqlite_persistence
from legato_server.persistence.sqlite.database import WAL_SIZE_LIMIT_BYTES
from legato_server.persistence.sqlite.migrate import split_statements
from legato_server.schema import list_versions
from tests.persistence.builders import (
    acquire_shard,
    find_run,
    new_run,
    snapshot,
    task_id,
    transfer,
    transfer_tasks_of,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
_SHIPPED = list_versions("sqlite")


def _raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


async def test_file_is_in_wal_mode_and_schema_is_recorded_once(tmp_path: Path) -> None:
    path = tmp_path / "legato.db"
    for _ in range(2):  # the second open must find the schema applied and change nothing
        store = SQLitePersistence.open(path)
        assert store.schema_version == _SHIPPED[-1].version
        await store.close()

    raw = _raw(path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        recorded = raw.execute("SELECT version, min_compatible_version FROM schema_version").fetchall()
        assert sorted(recorded) == sorted((v.version, v.min_compatible_version) for v in _SHIPPED)
    finally:
        raw.close()


async def test_connection_pragmas(tmp_path: Path) -> None:
    store = SQLitePersistence.open(tmp_path / "legato.db", busy_timeout_ms=1234)
    try:
        connection = store._database._connection  # the store's own connection: pragmas are per connection
        assert connection.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert connection.execute("PRAGMA busy_timeout").fetchone()[0] == 1234
    finally:
        await store.close()


async def test_in_memory_databases_are_private_to_their_store() -> None:
    one = await open_sqlite_persistence(SQLiteConfig(path=None))
    other = await open_sqlite_persistence(SQLiteConfig(path=None))
    try:
        await one.namespaces.create_namespace(NamespaceRecord(id="id-1", name="default", data=b""))

        assert (await one.namespaces.get_namespace(name="default")).id == "id-1"
        with pytest.raises(NotFoundError):
            await other.namespaces.get_namespace(name="default")
    finally:
        await one.close()
        await other.close()


@pytest.mark.parametrize(
    ("min_compatible", "opens"),
    [("1.0", True), ("99.0", False)],
    ids=["newer-but-compatible", "newer-and-incompatible"],
)
async def test_database_from_a_newer_legato(tmp_path: Path, min_compatible: str, opens: bool) -> None:
    path = tmp_path / "legato.db"
    await SQLitePersistence.open(path).close()
    raw = _raw(path)
    raw.execute(
        "INSERT INTO schema_version (version, min_compatible_version, description, applied_at_ms) "
        "VALUES ('99.0', ?, 'from the future', 0)",
        (min_compatible,),
    )
    raw.close()

    if opens:
        store = SQLitePersistence.open(path)
        assert store.schema_version == "99.0"
        await store.close()
    else:
        newest = _SHIPPED[-1].version.replace(".", r"\.")
        with pytest.raises(PersistenceError, match=rf"schema is 99\.0.*knows up to {newest}"):
            SQLitePersistence.open(path)


async def test_write_blocked_by_another_process_is_transient_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "legato.db"
    store = SQLitePersistence.open(path, busy_timeout_ms=50)
    shard = await acquire_shard(store, 1)
    next_owner = dataclasses.replace(shard, range_id=2, owner="host-b")
    blocker = _raw(path)
    blocker.execute("BEGIN IMMEDIATE")  # another process holding the write lock
    try:
        with pytest.raises(TransientError, match="retry"):
            await store.shards.update_shard(next_owner, previous_range_id=1)
        # WAL: readers are not blocked by the writer.
        assert await store.shards.get_or_create_shard(1) == shard
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()

    await store.shards.update_shard(next_owner, previous_range_id=1)  # the retry succeeds
    assert await store.shards.get_or_create_shard(1) == next_owner
    await store.close()


def test_a_commit_survives_kill_9_of_the_process(tmp_path: Path) -> None:
    path = tmp_path / "legato.db"
    writer = f"""
import asyncio, os, signal
from pathlib import Path
from legato_server.persistence.interface import ShardInfo
from legato_server.persistence.sqlite import SQLitePersistence

async def main():
    store = SQLitePersistence.open(Path({str(path)!r}))
    await store.shards.get_or_create_shard(7)
    await store.shards.update_shard(ShardInfo(shard_id=7, range_id=1, owner="crashed-host"), previous_range_id=0)
    print("committed", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # no close, no checkpoint, no atexit

asyncio.run(main())
"""
    finished = subprocess.run(
        [sys.executable, "-c", writer], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )

    assert finished.returncode == -signal.SIGKILL, finished.stderr
    assert finished.stdout.strip() == "committed"

    async def read_back() -> ShardInfo:
        store = SQLitePersistence.open(path)
        try:
            return await store.shards.get_or_create_shard(7)
        finally:
            await store.close()

    shard = asyncio.run(read_back())
    assert (shard.range_id, shard.owner) == (1, "crashed-host")


def test_threads_with_their_own_stores_race_for_a_shard(tmp_path: Path) -> None:
    """Truly concurrent writers on one file: the lock serializes them, exactly one wins."""
    path = tmp_path / "legato.db"
    racers = 6
    asyncio.run(_prepare_shard(path))
    barrier = threading.Barrier(racers)
    outcomes: list[object] = [None] * racers

    def race(index: int) -> None:
        async def attempt() -> object:
            store = SQLitePersistence.open(path)
            try:
                read = await store.shards.get_or_create_shard(1)
                barrier.wait(timeout=30)
                wanted = dataclasses.replace(read, range_id=read.range_id + 1, owner=f"host-{index}")
                await store.shards.update_shard(wanted, previous_range_id=read.range_id)
                return wanted
            except PersistenceError as error:
                return error
            finally:
                await store.close()

        outcomes[index] = asyncio.run(attempt())

    threads = [threading.Thread(target=race, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    winners = [o for o in outcomes if isinstance(o, ShardInfo)]
    assert len(winners) == 1, outcomes
    assert all(isinstance(o, ShardOwnershipLostError) for o in outcomes if o is not winners[0]), outcomes
    assert asyncio.run(_read_shard(path)) == winners[0]


async def _prepare_shard(path: Path) -> None:
    store = SQLitePersistence.open(path)
    await acquire_shard(store, 1)
    await store.close()


async def _read_shard(path: Path) -> ShardInfo:
    store = SQLitePersistence.open(path)
    try:
        return await store.shards.get_or_create_shard(1)
    finally:
        await store.close()


async def test_a_failing_statement_rolls_back_the_whole_transaction(tmp_path: Path) -> None:
    store = SQLitePersistence.open(tmp_path / "legato.db")
    shard = await acquire_shard(store, 1)
    run = new_run()
    duplicate = transfer(task_id(1, 1))

    with pytest.raises(PersistenceError) as caught:
        await store.executions.create_workflow_execution(
            shard_id=1,
            range_id=shard.range_id,
            mode=CreateMode.BRAND_NEW,
            snapshot=snapshot(run),
            events=[],
            transfer_tasks=[duplicate, duplicate],  # the second insert violates the key
            timer_tasks=[],
        )

    assert not isinstance(caught.value, sqlite3.Error)
    assert await find_run(store, 1, run) is None
    assert await transfer_tasks_of(store, 1) == []
    await store.close()


async def test_driver_errors_never_leak(tmp_path: Path) -> None:
    store = SQLitePersistence.open(tmp_path / "legato.db")
    await store.close()

    with pytest.raises(PersistenceError) as caught:
        await store.shards.get_or_create_shard(1)

    assert not isinstance(caught.value, sqlite3.Error)


@pytest.mark.parametrize("token", [b"garbage", b"[1,2,3]", b"{}", b"\xff"], ids=repr)
async def test_invalid_page_tokens_are_persistence_errors(tmp_path: Path, token: bytes) -> None:
    store = SQLitePersistence.open(tmp_path / "legato.db")
    try:
        with pytest.raises(PersistenceError, match="invalid page token"):
            await store.executions.read_history(
                namespace_id="ns", workflow_id="wf", run_id="run", min_event_id=1, max_event_id=9, page_size=5,
                page_token=token,
            )  # fmt: skip
        with pytest.raises(PersistenceError, match="invalid page token"):
            await store.visibility.list_executions(
                namespace_id="ns", filter=VisibilityFilter(), page_size=5, page_token=token
            )
        with pytest.raises(PersistenceError, match="invalid page token"):
            await store.namespaces.list_namespaces(page_size=5, page_token=token)
    finally:
        await store.close()


async def test_history_is_stored_as_written(tmp_path: Path) -> None:
    """Blobs are opaque: arbitrary bytes (NUL, invalid UTF-8) come back unchanged."""
    store = SQLitePersistence.open(tmp_path / "legato.db")
    shard = await acquire_shard(store, 1)
    run = new_run()
    blob = bytes(range(256)) * 4
    events = [
        EventBatch(run.namespace_id, run.workflow_id, run.run_id, first_event_id=1, event_count=2, data=blob)
    ]
    await store.executions.create_workflow_execution(
        shard_id=1, range_id=shard.range_id, mode=CreateMode.BRAND_NEW, snapshot=snapshot(run),
        events=events, transfer_tasks=[], timer_tasks=[],
    )  # fmt: skip

    page, _ = await store.executions.read_history(
        namespace_id=run.namespace_id, workflow_id=run.workflow_id, run_id=run.run_id,
        min_event_id=1, max_event_id=3, page_size=5,
    )  # fmt: skip

    assert page == events
    await store.close()


@pytest.mark.parametrize(
    ("script", "statements"),
    [
        ("CREATE TABLE a (x);\nCREATE TABLE b (y);\n", ["CREATE TABLE a (x);", "CREATE TABLE b (y);"]),
        ("INSERT INTO a VALUES ('x;y'); -- a comment; with a semicolon\n", ["INSERT INTO a VALUES ('x;y');"]),
        ("-- only a comment\n\n", []),
        ("SELECT 1", ["SELECT 1;"]),
        (
            "CREATE TRIGGER t AFTER INSERT ON a BEGIN DELETE FROM b; DELETE FROM c; END;",
            ["CREATE TRIGGER t AFTER INSERT ON a BEGIN DELETE FROM b; DELETE FROM c; END;"],
        ),
    ],
    ids=[
        "two-statements",
        "semicolon-in-string-and-comment",
        "comments-only",
        "no-final-semicolon",
        "trigger-body",
    ],
)
def test_schema_files_split_into_whole_statements(script: str, statements: list[str]) -> None:
    assert split_statements(script) == statements


async def test_a_full_database_is_storage_full_writes_nothing_and_recovers(tmp_path: Path) -> None:
    store = SQLitePersistence.open(tmp_path / "legato.db")
    connection = store._database._connection
    pages = connection.execute("PRAGMA page_count").fetchone()[0]
    connection.execute(f"PRAGMA max_page_count = {pages + 8}")  # a disk with room for 8 more pages
    blob = b"x" * 8192
    created: list[str] = []
    with pytest.raises(StorageFullError) as caught:
        for n in range(100):
            await store.namespaces.create_namespace(NamespaceRecord(id=f"id-{n}", name=f"ns-{n}", data=blob))
            created.append(f"ns-{n}")
    assert "database or disk is full" in caught.value.message
    assert caught.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    failed = f"ns-{len(created)}"
    with pytest.raises(NotFoundError):
        await store.namespaces.get_namespace(name=failed)  # nothing of the failed write

    connection.execute("PRAGMA max_page_count = 1073741823")  # space freed
    await store.namespaces.create_namespace(NamespaceRecord(id="id-after", name=failed, data=blob))
    assert (await store.namespaces.get_namespace(name=failed)).data == blob
    await store.close()


async def test_the_wal_stays_bounded_and_a_clean_close_empties_it(tmp_path: Path) -> None:
    path = tmp_path / "legato.db"
    wal = tmp_path / "legato.db-wal"
    store = SQLitePersistence.open(path)
    blob = b"y" * 100_000
    largest = 0
    for n in range(400):  # ~40 MB written
        await store.namespaces.create_namespace(NamespaceRecord(id=f"id-{n}", name=f"ns-{n}", data=blob))
        largest = max(largest, wal.stat().st_size)
    assert largest <= WAL_SIZE_LIMIT_BYTES + 1024 * 1024, f"the WAL grew to {largest} bytes"
    await store.close()
    assert not wal.exists() or wal.stat().st_size == 0

    reopened = SQLitePersistence.open(path)  # everything is in the main file
    assert (await reopened.namespaces.get_namespace(name="ns-399")).data == blob
    await reopened.close()
