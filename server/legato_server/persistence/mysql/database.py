"""Connections, transactions, retries and error translation for the MySQL store.

Why a thread pool: pymysql is a blocking driver. Every store call hands one
synchronous function to a dedicated ``ThreadPoolExecutor`` (as many threads as
pooled connections), so the event loop never waits on the network. The
function receives a connection from a small pool that belongs to this store
and runs all of its statements on it; a write function runs between ``BEGIN``
and ``COMMIT`` on that one connection, so it is one InnoDB transaction.

Round trips. Each statement is a network round trip plus pure-Python packet
work in pymysql, and the database shares the machine with the server, so the
hot paths spend as few as they can (a workflow update went from ten round
trips to two):

* a write transaction's ``START TRANSACTION`` travels with its first
  statement instead of alone (``_TransactionCursor``);
* ``pipeline`` sends several statements in one round trip (the connections
  allow multi-statement queries) and returns each one's rows and row count;
  values are escaped by the driver exactly as for a single statement;
* ``pipeline(..., commit=True)`` sends ``COMMIT`` with the transaction's last
  writes; a connection fault on that round trip is "outcome unknown", like a
  fault during a lone ``COMMIT``.

Isolation: sessions run at READ COMMITTED. Every conditional write takes the
row locks it depends on (``SELECT ... FOR UPDATE`` on the shard row, the
execution row, the current-execution row) before checking them, so the check
and the write are atomic; READ COMMITTED avoids the gap locks REPEATABLE READ
would take on missing rows, which only cause deadlocks here.

Faults and retries. A failed statement's transaction is rolled back (by us,
or by the server when the connection dropped), so nothing half-written ever
remains. What may be retried inside the store:

* a read, after any connection fault (it has no effect);
* a write whose connection broke *before* ``COMMIT`` was sent, and a write
  chosen as a deadlock victim: the server rolled it back, so running it again
  cannot apply it twice.

A fault while ``COMMIT`` is in flight leaves the outcome unknown: that is
raised as ``TransientError`` at once, and the engine's own retry (which
re-reads state and uses db_version/range_id conditions) decides. Every other
driver error leaves as ``PersistenceError``; the interface's own errors
(``ShardOwnershipLostError`` ...) raised by a write function roll back and
pass through unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import pymysql
import pymysql.constants.CLIENT
import pymysql.cursors
from pymysql.connections import Connection
from pymysql.cursors import Cursor  # what a read/write body is given

from legato_server.persistence.config import MySQLConfig
from legato_server.persistence.interface import PersistenceError, StorageFullError, TransientError

log = logging.getLogger(__name__)

T = TypeVar("T")

# Server errors after which the server has rolled the transaction back and a
# retry is safe: lock wait timeout, deadlock.
_ROLLED_BACK_CODES = frozenset({1205, 1213})
# Out of space: ER_DISK_FULL, ER_RECORD_FILE_FULL ("The table is full"), and
# The statement (or transaction) failed and wrote nothing; it succeeds again
# once space is freed.
_STORAGE_FULL_CODES = frozenset({1021, 1114})
# Client/server errors meaning the connection is unusable.
_CONNECTION_CODES = frozenset({2003, 2006, 2013, 2055, 1927, 4031})
DUPLICATE_KEY = 1062
UNKNOWN_DATABASE = 1049

ATTEMPTS = 3
"""How many times a retry-safe operation runs before its TransientError surfaces."""


class _CommitInFlight(Exception):
    """The connection failed while COMMIT was being sent: the outcome is unknown."""


def error_code(error: BaseException | None) -> int | None:
    args = getattr(error, "args", ())
    if args and isinstance(args[0], int):
        return args[0]
    return None


def is_connection_fault(error: BaseException) -> bool:
    if isinstance(error, pymysql.err.InterfaceError | ConnectionError | OSError | EOFError):
        return True
    return isinstance(error, pymysql.err.OperationalError) and error_code(error) in _CONNECTION_CODES


def translate(error: BaseException, action: str) -> PersistenceError:
    """The interface error for a driver error raised while doing ``action``."""
    if isinstance(error, PersistenceError):
        return error
    code = error_code(error)
    if is_connection_fault(error):
        return TransientError(f"{action}: MySQL connection failed: {error}")
    if code in _ROLLED_BACK_CODES:
        return TransientError(f"{action}: {error} (transaction rolled back; retry)")
    if code in _STORAGE_FULL_CODES:
        return StorageFullError(f"{action}: {error} (free disk space on the database server; retry)")
    return PersistenceError(f"{action}: {error}")


def connect(config: MySQLConfig, *, database: str | None) -> Connection:
    """One pymysql connection configured as the store relies on."""
    ssl: dict[str, str] | None = None
    if config.tls_ca or config.tls_cert:
        ssl = {
            k: v
            for k, v in {"ca": config.tls_ca, "cert": config.tls_cert, "key": config.tls_key}.items()
            if v
        }
    return pymysql.connect(
        host=config.host,
        port=config.port,
        user=config.user,
        password=config.password,
        database=database,
        charset="utf8mb4",
        collation="utf8mb4_bin",
        autocommit=True,
        connect_timeout=config.connect_timeout_s,
        read_timeout=max(30.0, config.connect_timeout_s),
        write_timeout=max(30.0, config.connect_timeout_s),
        ssl=ssl,
        # rowcount = rows matched, not rows changed: a conditional UPDATE that
        # rewrites identical values still reports that its condition held.
        # MULTI_STATEMENTS: ``pipeline`` sends several statements at once.
        client_flag=pymysql.constants.CLIENT.FOUND_ROWS | pymysql.constants.CLIENT.MULTI_STATEMENTS,
        cursorclass=_TransactionCursor,
        init_command="SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
    )


class _TransactionCursor(Cursor):
    """A cursor that opens its write transaction with its first statement, not in a round trip of its own.

    ``Database.write`` arms it (``begin_pending``); outside a write it is a
    plain cursor. ``committed`` is set when ``pipeline`` sent the COMMIT.
    """

    begin_pending = False
    committed = False

    def execute(self, query: str, args: Any = None) -> int:
        if not self.begin_pending:
            return super().execute(query, args)
        self.begin_pending = False
        super().execute("START TRANSACTION;\n" + self.mogrify(query, args))
        self.nextset()  # past START TRANSACTION's empty result, to the caller's statement
        return self.rowcount

    def executemany(self, query: str, args: Any) -> int | None:
        if self.begin_pending:  # rare: a transaction that starts with a bulk statement
            self.begin_pending = False
            self.connection.begin()
        return super().executemany(query, args)


@dataclass(frozen=True, slots=True)
class StatementResult:
    rowcount: int
    """Rows matched (UPDATE), written (INSERT/REPLACE/DELETE) or returned (SELECT)."""
    rows: tuple[tuple[Any, ...], ...]


Statement = tuple[str, Sequence[Any] | None]


def values_rows(count: int, width: int) -> str:
    """``(%s, %s), (%s, %s)`` for a multi-row ``VALUES`` of ``count`` rows of ``width`` columns."""
    row = "(" + ", ".join(["%s"] * width) + ")"
    return ", ".join([row] * count)


def pipeline(
    cursor: Cursor, statements: Sequence[Statement], *, commit: bool = False
) -> list[StatementResult]:
    """Run ``statements`` in one round trip; each one's result, in order.

    The server stops at the first statement that fails and that error is
    raised here (nothing after it ran). ``commit=True`` appends ``COMMIT``
    (only inside ``Database.write``).
    """
    sql = ";\n".join(cursor.mogrify(query, args) for query, args in statements)
    transaction: _TransactionCursor | None = None
    if commit:
        if not isinstance(cursor, _TransactionCursor):
            raise TypeError("pipeline(commit=True) needs the cursor of a Database.write")
        transaction = cursor
        sql += ";\nCOMMIT"
    results: list[StatementResult] = []
    try:
        cursor.execute(sql)
        while True:
            results.append(StatementResult(rowcount=max(cursor.rowcount, 0), rows=tuple(cursor.fetchall())))
            if len(results) == len(statements) or not cursor.nextset():
                break
        if transaction is not None:
            while cursor.nextset():  # COMMIT's result: it reports a failure to commit
                pass
            transaction.committed = True
    except Exception as error:
        if transaction is not None and is_connection_fault(error):
            raise _CommitInFlight() from error
        raise
    return results


class Database:
    """A bounded pool of connections to one database, used from a thread pool."""

    def __init__(self, config: MySQLConfig, *, database: str | None = None) -> None:
        self._config = config
        self._database = config.database if database is None else database
        self._size = max(1, config.pool_size)
        self._idle: queue.LifoQueue[Connection] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(self._size)
        self._executor = ThreadPoolExecutor(max_workers=self._size, thread_name_prefix="legato-mysql")
        self._closed = False

    @property
    def name(self) -> str:
        return self._database

    # ------------------------------------------------------------ public API

    async def read(self, action: str, body: Callable[[Cursor], T]) -> T:
        """Run ``body(cursor)`` outside a transaction; retried after connection faults."""
        return await self._run(action, body, transaction=False)

    async def write(self, action: str, body: Callable[[Cursor], T]) -> T:
        """Run ``body(cursor)`` inside one transaction: all of it commits, or none."""
        return await self._run(action, body, transaction=True)

    async def close(self) -> None:
        self._closed = True
        await asyncio.to_thread(self._executor.shutdown, wait=True, cancel_futures=True)
        self._discard_idle()

    # ------------------------------------------------------------ internals

    async def _run(self, action: str, body: Callable[[Cursor], T], *, transaction: bool) -> T:
        if self._closed:
            raise PersistenceError(f"{action}: the MySQL store is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._run_sync, action, body, transaction)

    def _run_sync(self, action: str, body: Callable[[Cursor], T], transaction: bool) -> T:
        last: BaseException | None = None
        for attempt in range(ATTEMPTS):
            try:
                return self._attempt(body, transaction)
            except _CommitInFlight as fault:
                raise TransientError(
                    f"{action}: MySQL connection failed while committing; the outcome is unknown "
                    f"({fault.__cause__})"
                ) from fault.__cause__
            except PersistenceError:
                raise
            except Exception as error:
                if not isinstance(error, pymysql.err.MySQLError | OSError | EOFError):
                    raise  # a bug in the calling code, not a database failure
                if not (is_connection_fault(error) or error_code(error) in _ROLLED_BACK_CODES):
                    raise translate(error, action) from error
                last = error
                log.debug("%s: attempt %d failed (%s); retrying", action, attempt + 1, error)
        assert last is not None
        raise translate(last, action) from last

    def _attempt(self, body: Callable[[Cursor], T], transaction: bool) -> T:
        connection = self._acquire()
        healthy = False
        try:
            if transaction:
                try:
                    with connection.cursor() as cursor:
                        assert isinstance(cursor, _TransactionCursor)
                        cursor.begin_pending = True
                        result = body(cursor)
                        begun, committed = not cursor.begin_pending, cursor.committed
                except BaseException:
                    self._rollback(connection)
                    raise
                if begun and not committed:
                    try:
                        connection.commit()
                    except Exception as error:
                        if is_connection_fault(error):
                            raise _CommitInFlight() from error
                        raise
            else:
                with connection.cursor() as cursor:
                    result = body(cursor)
            healthy = True
            return result
        except PersistenceError:
            # The body's own condition failure: the connection is fine.
            healthy = True
            raise
        except Exception as error:
            healthy = not is_connection_fault(error)
            raise
        finally:
            self._release(connection, healthy=healthy)

    def _acquire(self) -> Connection:
        self._slots.acquire()
        try:
            try:
                return self._idle.get_nowait()
            except queue.Empty:
                return connect(self._config, database=self._database)
        except BaseException:
            self._slots.release()
            raise

    def _release(self, connection: Connection, *, healthy: bool) -> None:
        try:
            if healthy and not self._closed:
                self._idle.put(connection)
            else:
                with contextlib.suppress(Exception):
                    connection.close()
                # One broken connection usually means the server restarted or
                # the network dropped: the idle ones are most likely dead too,
                # and a retry should not waste its attempts on them.
                self._discard_idle()
        finally:
            self._slots.release()

    def _discard_idle(self) -> None:
        while True:
            try:
                connection = self._idle.get_nowait()
            except queue.Empty:
                return
            with contextlib.suppress(Exception):
                connection.close()

    @staticmethod
    def _rollback(connection: Connection) -> None:
        # If the connection is gone the server rolls back on its own.
        with contextlib.suppress(Exception):
            connection.rollback()
