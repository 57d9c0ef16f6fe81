"""The one SQLite connection a store owns, its transactions, and error translation.

Why one connection used inline on the event loop thread: SQLite admits one
writer at a time anyway, and a write transaction here is a handful of indexed
statements that take microseconds. Handing each call to a thread pool would
cost more than the work and would let two transactions of the same process
interleave. Instead every store method opens a transaction, runs all of its
statements and commits without awaiting in between, so it is atomic with
respect to everything else on the loop and needs no locks of its own.

Why ``BEGIN IMMEDIATE`` for writes: it takes the database's write lock before
the first read, so a conditional write (read the range_id, then write) cannot
be interleaved by another *process* on the same file. A second process waits
up to the busy timeout for the lock; that wait blocks its loop, which is the
price of an embedded single-writer database (it is meant for one server
process; a second one is tolerated, not optimised for).

Durability: WAL with ``synchronous=NORMAL`` makes a committed transaction
survive a crash of the process (kill -9); only an OS crash or power loss may
lose the last transactions. That is the trade SQLite's authors recommend for
WAL and what the embedded/dev use case needs.

Errors: every ``sqlite3`` exception leaving a store is translated here.
``SQLITE_BUSY``/``SQLITE_LOCKED`` ("database is locked") become
``TransientError`` (retry the whole operation); anything else becomes
``PersistenceError``. The transaction is rolled back first, so nothing of a
failed operation is written.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from legato_server.persistence.interface import PersistenceError, TransientError

DEFAULT_BUSY_TIMEOUT_MS = 5_000
"""How long a writer waits for another process's write lock before TransientError."""

_TRANSIENT_PRIMARY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


def translate_error(error: sqlite3.Error, action: str) -> PersistenceError:
    """The interface error for a driver error raised while doing ``action``."""
    code = getattr(error, "sqlite_errorcode", None)
    # Extended result codes carry the primary code in their low byte.
    if code is not None and code & 0xFF in _TRANSIENT_PRIMARY_CODES:
        return TransientError(f"{action}: {error} (another connection holds the database; retry)")
    return PersistenceError(f"{action}: {error}")


def connect(path: Path | None, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> sqlite3.Connection:
    """Open the database file (``None`` = in memory) with the pragmas the store relies on."""
    target = ":memory:" if path is None else str(path)
    try:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: the driver never opens transactions behind our
        # back; each store method issues BEGIN/COMMIT itself.
        connection = sqlite3.connect(
            target, timeout=busy_timeout_ms / 1000, isolation_level=None, cached_statements=512
        )
    except (sqlite3.Error, OSError) as error:
        raise PersistenceError(f"cannot open SQLite database {target}: {error}") from error
    try:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute("PRAGMA foreign_keys = OFF")
        # A WAL checkpoint is the only fsync on the commit path under
        # synchronous=NORMAL, and it runs inside whichever commit crosses the
        # threshold: checkpoint every ~40 MiB of WAL instead of every 4 MiB so
        # that cost is paid ten times less often. Keep hot pages in memory.
        connection.execute("PRAGMA wal_autocheckpoint = 10000")
        connection.execute("PRAGMA cache_size = -65536")
        connection.execute("PRAGMA temp_store = MEMORY")
    except sqlite3.Error as error:
        connection.close()
        raise translate_error(error, f"configure SQLite database {target}") from error
    return connection


class Database:
    """The store's connection plus its two ways of using it: a write transaction or a read."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    @contextmanager
    def write(self, action: str) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; rolled back if the body raises.

        ``action`` names the operation in error messages ("update shard 3").
        The body must not await: the transaction belongs to the loop thread.
        """
        connection = self._connection
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            raise translate_error(error, action) from error
        try:
            yield connection
            connection.execute("COMMIT")
        except BaseException as error:
            self._rollback()
            if isinstance(error, sqlite3.Error):
                raise translate_error(error, action) from error
            raise

    @contextmanager
    def read(self, action: str) -> Iterator[sqlite3.Connection]:
        """Run reads (autocommit: each statement sees one consistent snapshot)."""
        try:
            yield self._connection
        except sqlite3.Error as error:
            raise translate_error(error, action) from error

    def close(self) -> None:
        try:
            self._connection.close()
        except sqlite3.Error as error:
            raise translate_error(error, "close SQLite database") from error

    def _rollback(self) -> None:
        if not self._connection.in_transaction:
            return
        try:
            self._connection.execute("ROLLBACK")
        except sqlite3.Error:
            # The original error is the one worth reporting; SQLite rolls back
            # an open transaction when the connection closes in any case.
            pass
