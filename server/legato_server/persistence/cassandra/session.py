"""The driver session a Cassandra store uses: connecting, async bridging, errors.

Non-blocking: statements run with the driver's ``execute_async``; its
callbacks (on the driver's I/O thread) resolve an asyncio future through
``loop.call_soon_threadsafe``, so the event loop never waits on the network.
Only connecting, preparing (once per statement text) and shutting down block,
and those run in a worker thread.

Consistency: every statement runs at the configured consistency
(LOCAL_QUORUM by default) and every lightweight transaction at the configured
serial consistency (LOCAL_SERIAL). Rows come back as dicts.

Errors: timeouts, unavailable replicas and lost connections become
``TransientError``; a timeout of a lightweight transaction is "outcome
unknown" (the Paxos round may still commit), which the engine handles by
re-reading — it is never retried here. Reads marked idempotent are retried a
couple of times before their TransientError surfaces. Anything else from the
driver becomes ``PersistenceError``.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Sequence
from typing import Any

from cassandra import (
    ConsistencyLevel,
    CoordinationFailure,
    OperationTimedOut,
    Timeout,
    Unavailable,
)
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, NoHostAvailable, Session
from cassandra.connection import ConnectionException
from cassandra.policies import (
    ConstantReconnectionPolicy,
    DCAwareRoundRobinPolicy,
    RoundRobinPolicy,
    TokenAwarePolicy,
)
from cassandra.query import BatchStatement, BatchType, PreparedStatement, dict_factory

from legato_server.persistence.config import CassandraConfig
from legato_server.persistence.interface import PersistenceError, StorageFullError, TransientError

log = logging.getLogger(__name__)

Row = dict[str, Any]
Params = Sequence[Any]

_TRANSIENT = (
    OperationTimedOut,
    Timeout,
    Unavailable,
    CoordinationFailure,
    NoHostAvailable,
    ConnectionException,
)

_NO_SPACE = "No space left on device"

READ_ATTEMPTS = 3

RECONNECT_INTERVAL_S = 1.0
"""How often the driver tries a node that went down.

The driver's default (exponential, up to 10 minutes) left Legato idle for
7-10 s after a node came back; a workflow service would rather spend one cheap
connection attempt a second on a down node than stall that long.
"""

PROTOCOL_VERSION = 4
"""Native protocol v4, which every Cassandra Legato supports (4.0 and newer) speaks.

Not v5: v5 wraps every frame in checksummed segments that the driver
encodes and decodes in pure Python, while v4 frames go through its C
extension; measured with ``bench --workload hello --n 1000 --store
cassandra``, v5 cost the server 14.5-15.1 ms of CPU per workflow against
12.5-13.7 on v4, and gave nothing Legato uses in return (v4 already has
prepared statements, batches with serial consistency, and LWT answers).
Pinning it also saves the driver's version negotiation at connect.
"""


class KeyspaceMissingError(PersistenceError):
    """The configured keyspace does not exist (the schema tool has not set it up)."""


def consistency_level(name: str) -> int:
    try:
        return ConsistencyLevel.name_to_value[name.upper()]
    except KeyError:
        raise ValueError(f"unknown Cassandra consistency level {name!r}") from None


def translate(error: BaseException, action: str) -> PersistenceError:
    if isinstance(error, PersistenceError):
        return error
    if _NO_SPACE in str(error):
        # A replica's commit log or sstable write failed for lack of space
        # (Cassandra reports the OS error text); the write did not apply.
        return StorageFullError(f"{action}: {error} (free disk space on the Cassandra nodes; retry)")
    if isinstance(error, _TRANSIENT):
        return TransientError(f"{action}: Cassandra did not answer in time or is unreachable: {error}")
    return PersistenceError(f"{action}: {error}")


def make_cluster(config: CassandraConfig) -> Cluster:
    """A driver Cluster for ``config`` (not connected yet)."""
    policy = (
        TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=config.datacenter))
        if config.datacenter
        else TokenAwarePolicy(RoundRobinPolicy())
    )
    profile = ExecutionProfile(
        load_balancing_policy=policy,
        consistency_level=consistency_level(config.consistency),
        serial_consistency_level=consistency_level(config.serial_consistency),
        request_timeout=config.request_timeout_s,
        row_factory=dict_factory,
    )
    ssl_context = None
    if config.tls_ca:
        ssl_context = ssl.create_default_context(cafile=config.tls_ca)
    auth = (
        PlainTextAuthProvider(username=config.user, password=config.password or "") if config.user else None
    )
    return Cluster(
        contact_points=list(config.hosts),
        port=config.port,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        auth_provider=auth,
        ssl_context=ssl_context,
        connect_timeout=config.connect_timeout_s,
        control_connection_timeout=config.connect_timeout_s,
        protocol_version=PROTOCOL_VERSION,
        reconnection_policy=ConstantReconnectionPolicy(RECONNECT_INTERVAL_S, max_attempts=None),
    )


class CassandraSession:
    """One connected driver session plus the store's conveniences on top of it."""

    def __init__(self, cluster: Cluster, session: Session, config: CassandraConfig) -> None:
        self._cluster = cluster
        self._session = session
        self._consistency = consistency_level(config.consistency)
        self._serial = consistency_level(config.serial_consistency)
        self._prepared: dict[str, PreparedStatement] = {}
        self._prepare_lock = asyncio.Lock()

    @classmethod
    async def connect(cls, config: CassandraConfig, *, keyspace: str) -> CassandraSession:
        """Connect and switch to ``keyspace``; KeyspaceMissingError if it does not exist.

        The keyspace is checked before it is set: a driver told to use a
        missing keyspace marks the host down instead of saying so.
        """
        cluster = make_cluster(config)
        where = ", ".join(f"{h}:{config.port}" for h in config.hosts)
        try:
            session = await asyncio.to_thread(cluster.connect)
            session.default_fetch_size = None  # every query carries its own LIMIT
            # Let the coordinator stamp writes, as it stamps LWT (Paxos) writes:
            # a plain delete of a row written by an LWT batch (a completed
            # task) then cannot lose to the app host's clock being behind.
            session.use_client_timestamp = False
            connected = cls(cluster, session, config)
            rows = await connected.execute(
                f"look up keyspace {keyspace!r}",
                "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = ?",
                (keyspace,),
                idempotent=True,
            )
            if not rows:
                raise KeyspaceMissingError(f"Cassandra keyspace {keyspace!r} does not exist at {where}")
            await asyncio.to_thread(session.set_keyspace, keyspace)
        except BaseException as error:
            await asyncio.to_thread(cluster.shutdown)
            if isinstance(error, PersistenceError | asyncio.CancelledError):
                raise
            raise translate(error, f"connect to Cassandra at {where} (keyspace {keyspace})") from error
        return connected

    async def close(self) -> None:
        await asyncio.to_thread(self._cluster.shutdown)

    async def prepare(self, cql: str) -> PreparedStatement:
        prepared = self._prepared.get(cql)
        if prepared is not None:
            return prepared
        async with self._prepare_lock:
            prepared = self._prepared.get(cql)
            if prepared is None:
                try:
                    prepared = await asyncio.to_thread(self._session.prepare, cql)
                except Exception as error:
                    raise translate(error, f"prepare {cql[:80]!r}") from error
                self._prepared[cql] = prepared
        return prepared

    async def execute(
        self, action: str, cql: str, params: Params = (), *, idempotent: bool = False
    ) -> list[Row]:
        """Run one statement; return its rows. ``idempotent`` statements are retried on timeouts."""
        prepared = await self.prepare(cql)
        attempts = READ_ATTEMPTS if idempotent else 1
        for attempt in range(attempts):
            try:
                return await self._run(prepared.bind(params))
            except _TRANSIENT as error:
                if attempt + 1 >= attempts:
                    raise translate(error, action) from error
                log.debug("%s: attempt %d failed (%s); retrying", action, attempt + 1, error)
            except Exception as error:
                raise translate(error, action) from error
        raise AssertionError("unreachable")

    async def execute_batch(
        self, action: str, statements: Sequence[tuple[str, Params]], *, logged: bool = True
    ) -> list[Row]:
        """Run statements as one batch (conditional if any has IF); return its rows.

        ``logged=False`` skips the batchlog: statements on several partitions
        then cost one request but may land partly, so only callers that
        retry until all have landed may ask for it.
        """
        batch = BatchStatement(
            batch_type=BatchType.LOGGED if logged else BatchType.UNLOGGED,
            consistency_level=self._consistency,
            serial_consistency_level=self._serial,
        )
        for cql, params in statements:
            batch.add((await self.prepare(cql)).bind(params))
        try:
            return await self._run(batch)
        except Exception as error:
            raise translate(error, action) from error

    async def _run(self, statement: Any) -> list[Row]:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[list[Row]] = loop.create_future()

        def on_rows(rows: list[Row]) -> None:
            loop.call_soon_threadsafe(_resolve, done, rows, None)

        def on_error(error: BaseException) -> None:
            loop.call_soon_threadsafe(_resolve, done, None, error)

        future = self._session.execute_async(statement)
        future.add_callbacks(on_rows, on_error)
        return await done


def _resolve(done: asyncio.Future[list[Row]], rows: list[Row] | None, error: BaseException | None) -> None:
    if done.cancelled():
        return
    if error is not None:
        done.set_exception(error)
    else:
        done.set_result(list(rows or []))


def bound_size(statements: Sequence[tuple[str, Params]]) -> int:
    """Roughly the bytes of the statements' bound values, as Cassandra sizes a batch."""
    total = 0
    for _, params in statements:
        for value in params:
            total += len(value) if isinstance(value, bytes | str) else 8
    return total


def applied(rows: list[Row]) -> bool:
    """Whether a conditional statement or batch was applied."""
    return bool(rows) and bool(rows[0].get("[applied]"))
