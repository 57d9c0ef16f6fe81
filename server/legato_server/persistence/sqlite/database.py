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

The WAL is kept bounded. SQLite checkpoints it into the database when it
passes ``wal_autocheckpoint`` pages, but a busy server may cross that rarely
and the file never shrinks by itself; so a write also checkpoints when the last
checkpoint is older than ``CHECKPOINT_INTERVAL_S``, ``journal_size_limit``
truncates the file after a checkpoint, and a clean close checkpoints and
truncates it to nothing.

Errors: every ``sqlite3`` exception leaving a store is translated here.
``SQLITE_BUSY``/``SQLITE_LOCKED`` ("database is locked") and ``SQLITE_IOERR``
("disk I/O error", what a full disk often looks like to the WAL) become
``TransientError`` (retry the whole operation); ``SQLITE_FULL`` ("database or
disk is full") becomes ``StorageFullError``; anything else becomes
``PersistenceError``. The transaction is rolled back first, so nothing of a
failed operation is written, and the connection stays usable: once space is
freed the next operation succeeds.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from legato_server.persistence.interface import PersistenceError, StorageFullError, TransientError

log = logging.getLogger(__name__)

DEFAULT_BUSY_TIMEOUT_MS = 5_000
"""How long a writer waits for another process's write lock before TransientError."""

WAL_AUTOCHECKPOINT_PAGES = 2_500
"""Checkpoint when the WAL passes this many pages (~10 MiB at 4 KiB pages)."""

WAL_SIZE_LIMIT_BYTES = 16 * 1024 * 1024
"""After a checkpoint, a WAL file larger than this is truncated to it."""

CHECKPOINT_INTERVAL_S = 60.0
"""A write checkpoints the WAL if the last checkpoint is older than this."""

_LOCKED_PRIMARY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


def translate_error(error: sqlite3.Error, action: str) -> PersistenceError:
    """The interface error for a driver error raised while doing ``action``."""
    code = getattr(error, "sqlite_errorcode", None)
    # Extended result codes carry the primary code in their low byte.
    primary = code & 0xFF if code is not None else None
    if primary in _LOCKED_PRIMARY_CODES:
        return TransientError(f"{action}: {error} (another connection holds the database; retry)")
    if primary == sqlite3.SQLITE_FULL:
        return StorageFullError(f"{action}: {error} (free disk space; nothing was written)")
    if primary == sqlite3.SQLITE_IOERR:
        return TransientError(f"{action}: {error} (is the disk full or failing? nothing was written)")
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
        # threshold: checkpoint every ~10 MiB of WAL rather than every 4 MiB
        # (the default) so that cost is paid less often, while the file stays
        # bounded. Keep hot pages in memory.
        connection.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
        connection.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT_BYTES}")
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
        self._last_checkpoint = time.monotonic()

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
        if time.monotonic() - self._last_checkpoint > CHECKPOINT_INTERVAL_S:
            self.checkpoint("PASSIVE")

    def checkpoint(self, mode: str) -> None:
        """Copy the WAL into the database (``PASSIVE``: without waiting for readers; ``TRUNCATE``: and empty it).

        A failure is logged, not raised: the commit it follows has succeeded,
        and the next checkpoint catches up.
        """
        self._last_checkpoint = time.monotonic()
        try:
            self._connection.execute(f"PRAGMA wal_checkpoint({mode})")
        except sqlite3.Error as error:
            log.warning("SQLite WAL checkpoint (%s) failed: %s", mode, error)

    @contextmanager
    def read(self, action: str) -> Iterator[sqlite3.Connection]:
        """Run reads (autocommit: each statement sees one consistent snapshot)."""
        try:
            yield self._connection
        except sqlite3.Error as error:
            raise translate_error(error, action) from error

    def close(self) -> None:
        """Checkpoint and empty the WAL, then close (a clean stop leaves one compact file)."""
        self._rollback()
        self.checkpoint("TRUNCATE")
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
