"""Assembly: persistence -> namespace registry -> matching -> history -> frontend.

``start_server(ServerConfig)`` runs any subset of the roles in this process
(``services``) behind one grpc.aio server:

* ``frontend``: the public ``legato.api.v1.WorkflowService`` plus the standard
  ``grpc.health.v1.Health`` service (SERVING for "" and for
  "legato.api.v1.WorkflowService" once every local role is up);
* ``matching`` and ``history``: their internal services, so roles in other
  processes can reach them.

Every process registers in membership with a heartbeat and reads the rings of
live hosts per role. Roles reach each other through routing clients
(``history.client.HistoryClient``, ``matching.client.MatchingClient``) that
ask the rings who owns a history shard or a task queue: the handler in this
process when it is the owner, a gRPC client to the owner otherwise. The
history shards a host owns are the ones its ring gives it; the
``ShardController`` acquires and releases them as hosts come and go. History
and matching need each other, so matching is created first and given
history's client once history is up.

Health: each local role reports SERVING only when it can serve (history: its
shards acquired; frontend: some history and matching host alive); see
``_Readiness``. ``RunningServer.stop`` drains (see there).

Shard count: ``num_history_shards`` is fixed when a cluster's database is
first used (``init_cluster_metadata``; the first value wins and a different
configured value is ignored with a warning). ``ServerConfig`` defaults to 4,
right for start-dev and tests; ``legato-server start`` defaults to 64 when the
YAML file does not say, and production clusters should set it explicitly.

Each RPC's gRPC deadline is recorded (``matching.deadline``) before its handler
runs, so long-polls and queries end before their caller gives up.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypedDict, cast

import grpc
from google.protobuf import descriptor as _descriptor
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from legato.api.v1 import (
    schedule_pb2,
    schedule_pb2_grpc,
    test_service_pb2,
    test_service_pb2_grpc,
    workflow_service_pb2,
    workflow_service_pb2_grpc,
)
from legato_server.common import tracing
from legato_server.common.deadline import call_deadline, set_call_timeout
from legato_server.common.errors import NotOwner
from legato_server.common.instrument import instrument_handler
from legato_server.common.metrics import MetricsConfig, MetricsEndpoint, register_state, serve_metrics
from legato_server.common.routing import PeerClients
from legato_server.common.rpc import servicer_for
from legato_server.common.task_queue_partitions import DEFAULT_PARTITIONS
from legato_server.common.task_queue_partitions import check_count as check_partition_count
from legato_server.common.tls import (
    InternodeTLSConfig,
    ServerTLSConfig,
    bind_port,
    open_channel,
    server_interceptors,
)
from legato_server.common.tls import validate as validate_tls
from legato_server.common.tracing import TracingConfig, tracing_config_from_environment
from legato_server.frontend import FrontendHandler
from legato_server.frontend.schedules import ScheduleHandler
from legato_server.history.client import HistoryClient, RingShardRouter
from legato_server.history.clock import SkippingClock
from legato_server.history.routing import shard_for
from legato_server.history.shards.shard_controller import ShardController
from legato_server.history.tokens import log_fields_of_token
from legato_server.internal.v1 import (
    history_service_pb2,
    history_service_pb2_grpc,
    matching_service_pb2,
    matching_service_pb2_grpc,
    tokens_pb2,
)
from legato_server.matching import MatchingConfig, MatchingHandler
from legato_server.matching import metrics as matching_metrics
from legato_server.matching.client import MatchingClient, RingQueueRouter, queue_owner
from legato_server.membership import MembershipMonitor
from legato_server.namespace import NamespaceRegistry
from legato_server.namespace.deleter import NamespaceDeleter
from legato_server.persistence.config import PersistenceConfig
from legato_server.persistence.factory import create_persistence
from legato_server.persistence.interface import Persistence
from legato_server.persistence.metrics import instrument_persistence
from legato_server.scheduler.loop import SchedulerLoop
from legato_server.scheduler.operations import Schedules
from legato_server.time_skipping import TimeSkipper

log = logging.getLogger(__name__)

ROLES = ("frontend", "history", "matching")
WORKFLOW_SERVICE = workflow_service_pb2.DESCRIPTOR.services_by_name["WorkflowService"]
TEST_SERVICE = test_service_pb2.DESCRIPTOR.services_by_name["TestService"]
SCHEDULE_SERVICE = schedule_pb2.DESCRIPTOR.services_by_name["ScheduleService"]
HISTORY_SERVICE = history_service_pb2.DESCRIPTOR.services_by_name["HistoryService"]
MATCHING_SERVICE = matching_service_pb2.DESCRIPTOR.services_by_name["MatchingService"]
MIB = 1024 * 1024


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    """Interface the gRPC server binds."""
    port: int = 7233
    """gRPC port; 0 picks a free one (see ``RunningServer.address``)."""
    persistence: PersistenceConfig = field(default_factory=PersistenceConfig)
    services: tuple[str, ...] = ROLES
    """Roles this process runs: any of "frontend", "history", "matching"."""
    num_history_shards: int = 4
    """Used only when the database is new; the stored count wins afterwards."""
    cluster_name: str = "legato"
    namespaces: tuple[str, ...] = ()
    """Namespaces registered at start if missing (start-dev: "default")."""
    matching: MatchingConfig = field(default_factory=MatchingConfig)
    task_queue_partitions: int = DEFAULT_PARTITIONS
    """Partitions of each normal task queue (sticky queues have one), spread over the
    matching hosts; set the same in every process (see ``common.task_queue_partitions``).
    A process with a different count still works (partitions forward to the root),
    but lowering it strands the backlog of the partitions dropped."""
    host_id: str | None = None
    """Identity in membership; None = "<hostname>:<port>", stable across restarts,
    so a restarted process replaces its own row instead of leaving a dead member
    in the ring until its TTL runs out."""
    advertise_address: str | None = None
    """Address peers use to reach this process; None = host:port as bound."""
    membership_heartbeat: timedelta = timedelta(seconds=5)
    membership_refresh: timedelta = timedelta(seconds=1)
    """How often the rings are re-read: how fast work moves after a host joins or leaves."""
    membership_ttl: timedelta = timedelta(seconds=20)
    """A host whose heartbeat is older than this is dead: its shards and queues move."""
    max_receive_message_bytes: int = 16 * MIB
    max_send_message_bytes: int = 64 * MIB
    shutdown_grace: timedelta = timedelta(seconds=5)
    """How long in-flight calls may finish when the server stops."""
    tls: ServerTLSConfig | None = None
    """TLS of the public API on this process's port; None = plaintext (see ``common.tls``)."""
    internode_tls: InternodeTLSConfig | None = None
    """Mutual TLS between roles in different processes; None = plaintext (see ``common.tls``)."""
    time_skipping: bool = False
    """Tests only: history's clock jumps to the next timer when all is idle (``time_skipping``)."""
    tracing: TracingConfig = field(default_factory=tracing_config_from_environment)
    """Span export over OTLP; off unless set here or by ``OTEL_TRACES_EXPORTER=otlp`` (docs/tracing.md)."""
    metrics: MetricsConfig | None = None
    """Where this process serves Prometheus ``/metrics``; None = not served (docs/metrics.md)."""
    log_format: str = "text"
    """"text" or "json" (one JSON object per line; see ``common.log_format``). Applied by the CLI."""
    namespace_deletion_interval: timedelta = timedelta(seconds=5)
    """How often history hosts look for namespaces being deleted (``namespace.deleter``)."""
    namespace_deletion_grace: timedelta = timedelta(seconds=15)
    """How long a deleted namespace must stay empty before its record goes and its name is free;
    longer than the namespace cache's refresh (10 s), so no host still accepts work in it."""
    namespace_deletion_rate: float = 200.0
    """At most this many runs of deleted namespaces are removed per second, per history host."""

    def __post_init__(self) -> None:
        unknown = sorted(set(self.services) - set(ROLES))
        if unknown or not self.services:
            raise ValueError(
                f"services must be a non-empty subset of {', '.join(ROLES)}; got {list(self.services)}"
            )
        if self.tls is not None and self.internode_tls is None and set(self.services) != set(ROLES):
            raise ValueError(
                "tls is set but roles run in other processes: set internode_tls too, "
                "since peers reach this process on the same TLS port"
            )
        validate_tls(self.tls, self.internode_tls)
        check_partition_count(self.task_queue_partitions)
        if self.log_format not in LOG_FORMATS:
            raise ValueError(f"log.format: expected one of {', '.join(LOG_FORMATS)}, got {self.log_format!r}")


LOG_FORMATS = ("text", "json")


@dataclass
class RunningServer:
    """A started server. ``stop()`` shuts it down gracefully (idempotent)."""

    address: str
    config: ServerConfig
    persistence: Persistence
    namespaces: NamespaceRegistry
    membership: MembershipMonitor
    num_history_shards: int
    frontend: FrontendHandler | None = None
    matching: MatchingHandler | None = None
    history: Any = None
    """The in-process HistoryService (``.handler``, ``.client``), if history runs here."""
    shard_controller: ShardController | None = None
    time_skipper: TimeSkipper | None = None
    scheduler: SchedulerLoop | None = None
    namespace_deleter: NamespaceDeleter | None = None
    _grpc: grpc.aio.Server | None = None
    _health: Any = None
    _health_task: asyncio.Task[None] | None = None
    _peers: PeerClients | None = None
    _stopped: asyncio.Event = field(default_factory=asyncio.Event)
    _stopping: bool = False
    metrics_endpoint: MetricsEndpoint | None = None
    """The ``/metrics`` HTTP endpoint, if ``config.metrics`` is set (``.url``)."""
    _metrics_stops: list[Callable[[], None]] = field(default_factory=list)

    async def stop(self) -> None:
        """Drain: leave the ring, turn NOT_SERVING, release shards and pollers, finish in-flight calls, exit.

        Leaving first lets peers route around this host within one membership
        refresh; releasing the shards lets their new owners take them at once
        instead of after the heartbeat TTL.
        """
        if self._stopping:
            await self._stopped.wait()
            return
        self._stopping = True
        try:
            await _quietly("membership", self.membership.leave())
            if self._health_task is not None:
                self._health_task.cancel()
            if self._health is not None:
                await self._health.enter_graceful_shutdown()
            if self.matching is not None:
                self.matching.release_pollers()
            if self.scheduler is not None:
                await _quietly("scheduler", self.scheduler.stop())
            if self.namespace_deleter is not None:
                await _quietly("namespace deleter", self.namespace_deleter.stop())
            if self.shard_controller is not None:
                await _quietly("history shards", self.shard_controller.stop())
            if self._grpc is not None:
                await self._grpc.stop(self.config.shutdown_grace.total_seconds())
            if self.time_skipper is not None:
                await _quietly("time skipping", self.time_skipper.stop())
            await _quietly("history", self.history.stop() if self.history is not None else None)
            await _quietly("matching", self.matching.stop() if self.matching is not None else None)
            if self._peers is not None:
                await _quietly("peer channels", self._peers.close())
            await _quietly("persistence", self.persistence.close())
        finally:
            tracing.release(self.config.tracing)
            for stop_metrics in self._metrics_stops:
                stop_metrics()
            self._stopped.set()

    async def wait_stopped(self) -> None:
        await self._stopped.wait()


async def start_server(config: ServerConfig) -> RunningServer:
    """Start the configured roles; returns once the gRPC server accepts calls and health is SERVING."""
    persistence = instrument_persistence(await create_persistence(config.persistence))
    cleanup: list[Callable[[], Any]] = [persistence.close]
    tracing.install(config.tracing, roles=config.services)
    try:
        return await _assemble(config, persistence, cleanup)
    except BaseException:
        for undo in reversed(cleanup):
            await _quietly("cleanup", undo())
        tracing.release(config.tracing)
        raise


async def _assemble(
    config: ServerConfig, persistence: Persistence, cleanup: list[Callable[[], Any]]
) -> RunningServer:
    shards = await persistence.cluster_metadata.init_cluster_metadata(
        cluster_name=config.cluster_name, num_history_shards=config.num_history_shards
    )
    if shards != config.num_history_shards:
        log.warning(
            "the database was created with %d history shards; using %d (configured: %d; it cannot change)",
            shards,
            shards,
            config.num_history_shards,
        )
    namespaces = NamespaceRegistry(persistence.namespaces)

    server = grpc.aio.server(
        interceptors=server_interceptors(config.tls, config.internode_tls),
        options=[
            ("grpc.max_receive_message_length", config.max_receive_message_bytes),
            ("grpc.max_send_message_length", config.max_send_message_bytes),
        ],
    )
    port = bind_port(
        server, f"{config.host}:{config.port}", tls=config.tls, internode_tls=config.internode_tls
    )
    address = f"{config.host}:{port}"
    cleanup.append(lambda: server.stop(None))

    host_id = config.host_id or f"{socket.gethostname()}:{port}"
    membership = MembershipMonitor(
        store=persistence.membership,
        host_id=host_id,
        rpc_address=config.advertise_address or address,
        roles=config.services,
        heartbeat_interval=config.membership_heartbeat,
        refresh_interval=config.membership_refresh,
        ttl=config.membership_ttl,
    )
    await membership.start()
    cleanup.append(membership.stop)

    channel_options = [
        ("grpc.max_receive_message_length", config.max_send_message_bytes),
        ("grpc.max_send_message_length", config.max_receive_message_bytes),
    ]
    peers = PeerClients(
        lambda peer: open_channel(peer, internode_tls=config.internode_tls, options=channel_options)
    )
    cleanup.append(peers.close)

    def forget_gone_peers(role: str, ring: Any) -> None:
        asyncio.get_running_loop().create_task(peers.retain(membership.addresses()))

    membership.add_listener(forget_gone_peers)
    metrics_stops = [
        register_state(
            "legato_membership_hosts",
            lambda: [((role,), len(membership.ring(role).hosts)) for role in ROLES],
        )
    ]

    # Every role reaches every other through the rings: in-process when the
    # owner is this process, over gRPC otherwise. One code path either way.
    matching: MatchingHandler | None = None
    if "matching" in config.services:
        matching = MatchingHandler(task_queues=persistence.task_queues, config=config.matching)
        matching.owns = lambda key: _owns_queue(membership, key)
        cleanup.append(matching.stop)
        instrument_handler(matching, service=MATCHING_SERVICE, role="matching")
        for name, reader in matching_metrics.state_readers(matching.loaded_queues).items():
            metrics_stops.append(register_state(name, reader))
    local_matching_handler = tracing.local_handler("matching", matching, MATCHING_SERVICE)
    matching_client = MatchingClient(
        RingQueueRouter(membership=membership, peers=peers, local=local_matching_handler),
        partitions=config.task_queue_partitions,
    )
    if matching is not None:
        matching.bind_root(matching_client)  # child partitions reach their root through the ring

    history_router = RingShardRouter(membership=membership, peers=peers)
    history: Any = None
    controller: ShardController | None = None
    scheduler: SchedulerLoop | None = None
    deleter: NamespaceDeleter | None = None
    skipper: TimeSkipper | None = None
    if config.time_skipping:
        skipper = TimeSkipper(clock=SkippingClock(), persistence=persistence, num_history_shards=shards)
    if "history" in config.services:
        from legato_server.history import start_history_service

        history = await start_history_service(
            persistence=persistence,
            matching_client=matching_client,
            namespace_registry=namespaces,
            host_identity=host_id,
            num_history_shards=shards,
            owned_shards=(),
            router=history_router,
            clock=skipper.clock if skipper is not None else None,
        )
        cleanup.append(history.stop)
        instrument_handler(
            history.handler, service=HISTORY_SERVICE, role="history", token_fields=log_fields_of_token
        )
        history_router.set_local(tracing.local_handler("history", history.handler, HISTORY_SERVICE))
        history_client = history.client
        controller = ShardController(history.engine, membership)
        await controller.start()
        cleanup.append(controller.stop)
        # Schedules run on the host owning their history shard (see legato_server.scheduler).
        engine = history.engine
        scheduler = SchedulerLoop(
            store=persistence.schedules,
            history=history.client,
            clock=engine.clock,
            owned_shards=lambda: list(engine.shards),
        )
        scheduler.start()
        cleanup.append(scheduler.stop)
        # A deleted namespace is emptied by the host owning the shard of (its id, ""); see
        # legato_server.namespace.deleter. Any history host would be correct, this makes it usually one.
        deleter = NamespaceDeleter(
            registry=namespaces,
            visibility=persistence.visibility,
            schedules=persistence.schedules,
            task_queues=persistence.task_queues,
            history=history.client,
            clock=engine.clock,
            responsible_for=lambda namespace_id: shard_for(namespace_id, "", shards) in engine.shards,
            poll_interval_s=config.namespace_deletion_interval.total_seconds(),
            grace_s=config.namespace_deletion_grace.total_seconds(),
            executions_per_second=config.namespace_deletion_rate,
        )
        deleter.start()
        cleanup.append(deleter.stop)
        owned = controller.owned
        metrics_stops.append(register_state("legato_history_shards_owned", lambda: [((), len(owned()))]))
    else:
        history_client = HistoryClient(history_router, num_history_shards=shards)
    if matching is not None:
        matching.bind_history(history_client)
        local_matching = matching

        def on_ring_change(role: str, ring: Any) -> None:
            if role == "matching":
                asyncio.get_running_loop().create_task(local_matching.unload_unowned())

        membership.add_listener(on_ring_change)

    for name in config.namespaces:
        await namespaces.ensure(name=name)

    frontend: FrontendHandler | None = None
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    if "frontend" in config.services:
        frontend = FrontendHandler(
            namespaces=namespaces,
            history=history_client,
            matching=matching_client,
            visibility=persistence.visibility,
        )
        instrument_handler(
            frontend, service=WORKFLOW_SERVICE, role="frontend", token_fields=log_fields_of_token
        )
        workflow_service_pb2_grpc.add_WorkflowServiceServicer_to_server(
            _servicer(
                frontend if skipper is None else skipper.observe(frontend), WORKFLOW_SERVICE, role="frontend"
            ),
            server,
        )
        if skipper is not None:
            test_service_pb2_grpc.add_TestServiceServicer_to_server(
                _servicer(skipper, TEST_SERVICE, role="frontend"), server
            )
            skipper.start()
            cleanup.append(skipper.stop)
    if frontend is not None:
        schedules = Schedules(
            store=persistence.schedules,
            shard_of=lambda namespace_id, schedule_id: shard_for(namespace_id, schedule_id, shards),
            now_ms=lambda: time.time_ns() // 1_000_000,
        )
        schedule_pb2_grpc.add_ScheduleServiceServicer_to_server(
            servicer_for(ScheduleHandler(namespaces=namespaces, schedules=schedules), SCHEDULE_SERVICE),
            server,
        )
    if matching is not None:
        matching_service_pb2_grpc.add_MatchingServiceServicer_to_server(
            _servicer(matching, MATCHING_SERVICE, role="matching"), server
        )
    if history is not None:
        history_service_pb2_grpc.add_HistoryServiceServicer_to_server(
            _servicer(history.handler, HISTORY_SERVICE, role="history"), server
        )
    await server.start()
    endpoint = None
    if config.metrics is not None:
        endpoint = serve_metrics(config.metrics)
        metrics_stops.append(endpoint.stop)
        log.info("metrics on %s", endpoint.url)
    cleanup.extend(metrics_stops)
    advertised = None
    # Public TLS without internode TLS is allowed only with every role in this
    # process (nothing dials it as a peer), and a plaintext peer channel could
    # not talk to its port anyway.
    if {"history", "matching"} & set(config.services) and (config.tls is None or config.internode_tls):
        advertised = AddressCheck(membership.rpc_address, peers.channel)
    readiness = _Readiness(config.services, membership, controller, advertised=advertised)
    await readiness.publish(health_servicer)
    health_task = asyncio.create_task(readiness.track(health_servicer), name="health")
    log.info("legato server %s listening on %s with %s", host_id, address, ", ".join(config.services))
    return RunningServer(
        address=address,
        config=config,
        persistence=persistence,
        namespaces=namespaces,
        membership=membership,
        num_history_shards=shards,
        frontend=frontend,
        matching=matching,
        history=history,
        shard_controller=controller,
        time_skipper=skipper,
        scheduler=scheduler,
        namespace_deleter=deleter,
        _grpc=server,
        _health=health_servicer,
        _health_task=health_task,
        _peers=peers,
        metrics_endpoint=endpoint,
        _metrics_stops=metrics_stops,
    )


def _owns_queue(membership: MembershipMonitor, key: Any) -> bool:
    try:
        return queue_owner(membership, key) == membership.host_id
    except NotOwner:
        return False


class _Readiness:
    """Each local role's health: SERVING only when it can do its job.

    history: every shard the ring gives this host is acquired. frontend: some
    history and some matching host is alive. matching: this host is in the
    matching ring. history and matching also need their advertised address to
    reach this process, since that is where peers call them: a wrong
    ``advertise_address`` (another pod's IP, a port nobody listens on) would
    otherwise put a host in the ring that every call to it then fails on. The
    overall status ("") is SERVING when every local role is.

    A role that is not ready logs why, again whenever the reason changes (a
    frontend first missing both roles, then only matching), and one line
    when it is ready again.
    """

    def __init__(
        self,
        services: Iterable[str],
        membership: MembershipMonitor,
        controller: Any,
        *,
        advertised: AddressCheck | None = None,
    ) -> None:
        self._services = tuple(services)
        self._membership = membership
        self._controller = controller
        self._advertised = advertised
        self._published: dict[str, bool] = {}
        self._logged: dict[str, str] = {}
        """Role -> the reason last logged for its not being ready."""

    def problems(self) -> dict[str, str]:
        found: dict[str, list[str]] = {}
        if "history" in self._services and not (self._controller is not None and self._controller.ready):
            found.setdefault("history", []).append("history shards are not all acquired yet")
        if (
            "matching" in self._services
            and self._membership.host_id not in self._membership.ring("matching").hosts
        ):
            found.setdefault("matching", []).append("this host is not in the matching ring yet")
        if "frontend" in self._services:
            missing = [role for role in ("history", "matching") if not self._membership.ring(role).hosts]
            if missing:
                found.setdefault("frontend", []).append(
                    f"no live {' or '.join(missing)} host in the membership ring"
                )
        unreachable = None if self._advertised is None else self._advertised.problem
        if unreachable is not None:
            for role in ("history", "matching"):
                if role in self._services:
                    found.setdefault(role, []).append(unreachable)
        return {role: "; ".join(reasons) for role, reasons in found.items()}

    async def publish(self, servicer: Any) -> None:
        if self._advertised is not None:
            await self._advertised.check()
        problems = self.problems()
        for name, ready in _health_states(self._services, problems).items():
            if self._published.get(name) != ready:
                self._published[name] = ready
                status = (
                    health_pb2.HealthCheckResponse.SERVING
                    if ready
                    else health_pb2.HealthCheckResponse.NOT_SERVING
                )
                await servicer.set(name, status)
        for role, problem in problems.items():
            if self._logged.get(role) != problem:
                self._logged[role] = problem
                log.warning("%s is not ready: %s", role, problem)
        for role in self._services:
            if role not in problems and self._logged.pop(role, None) is not None:
                log.info("%s is ready", role)

    async def track(self, servicer: Any) -> None:
        while True:
            await asyncio.sleep(0.5)
            await self.publish(servicer)


class AddressCheck:
    """Whether this process answers at the address it advertises to its peers.

    A gRPC health call to that address over the peer channel (internode TLS
    included), every ``interval_s`` (every ``retry_s`` while it fails). Any
    answer counts, even an error status: the question is only whether a peer
    dialling the address reaches a server. A refused connection is a problem at
    once; a call that times out only after ``timeouts_tolerated`` in a row, since
    a busy event loop (this process serves its own check) can be slow to answer.
    """

    def __init__(
        self,
        address: str,
        channel: Callable[[str], grpc.aio.Channel],
        *,
        interval_s: float = 10.0,
        retry_s: float = 2.0,
        timeouts_tolerated: int = 2,
    ) -> None:
        self._address = address
        self._channel = channel
        self._interval_s = interval_s
        self._retry_s = retry_s
        self._timeouts_tolerated = timeouts_tolerated
        self._timeouts = 0
        self._next_check = 0.0
        self.problem: str | None = None

    async def check(self) -> None:
        if time.monotonic() < self._next_check:
            return
        try:
            stub = health_pb2_grpc.HealthStub(self._channel(self._address))
            await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=2.0)
            self.problem, self._timeouts = None, 0
        except grpc.aio.AioRpcError as error:
            timed_out = error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            self._timeouts = self._timeouts + 1 if timed_out else 0
            if error.code() == grpc.StatusCode.UNAVAILABLE or self._timeouts > self._timeouts_tolerated:
                self.problem = (
                    f"its advertised address {self._address} does not reach it "
                    f"({error.code().name}: {error.details()}); peers call it there, so set "
                    "advertise_address (LEGATO_ADVERTISE_ADDRESS) to an address they can reach"
                )
            elif not timed_out:
                self.problem = None
        failing = self.problem is not None or self._timeouts > 0
        self._next_check = time.monotonic() + (self._retry_s if failing else self._interval_s)


def _health_states(services: Iterable[str], problems: dict[str, str]) -> dict[str, bool]:
    states = {"": not problems}
    for role, descriptor in (
        ("frontend", WORKFLOW_SERVICE),
        ("history", HISTORY_SERVICE),
        ("matching", MATCHING_SERVICE),
    ):
        if role in services:
            states[descriptor.full_name] = role not in problems
    return states


def _servicer(handler: object, service: _descriptor.ServiceDescriptor, *, role: str) -> object:
    """``servicer_for`` with each call's gRPC deadline recorded for the handler (see ``matching.deadline``).

    With tracing on, each call is also a span of ``role`` (parent: the caller's metadata).
    """
    inner = servicer_for(handler, service)
    for method in service.methods:
        call = _with_deadline(getattr(inner, method.name))
        if tracing.is_on():
            token_context = _token_trace_context if role == "frontend" else None
            call = tracing.grpc_method(role, method.name, call, token_context=token_context)
        setattr(inner, method.name, call)
    return inner


def _token_trace_context(request: Any) -> Mapping[str, str] | None:
    """The run's trace context that history put in a worker's task token (tracing on)."""
    data = getattr(request, "task_token", b"")
    if not data:
        return None
    token = tokens_pb2.TaskToken()
    try:
        token.ParseFromString(data)
    except Exception:
        return None  # the handler answers a malformed token with InvalidArgument
    return token.trace_context


def _with_deadline(call: Callable[..., Any]) -> Callable[..., Any]:
    async def with_deadline(request: Any, context: grpc.aio.ServicerContext) -> Any:
        token = set_call_timeout(context.time_remaining())
        try:
            return await call(request, context)
        finally:
            call_deadline.reset(token)

    with_deadline.__name__ = call.__name__
    return with_deadline


async def _quietly(what: str, awaitable: Any) -> None:
    if awaitable is None:
        return
    try:
        await awaitable
    except Exception:
        log.exception("error while stopping %s", what)


# ---------------------------------------------------------------- config files

_TOP_LEVEL_KEYS = {
    "namespace_deletion",
    "host",
    "port",
    "services",
    "num_history_shards",
    "task_queue_partitions",
    "cluster_name",
    "namespaces",
    "host_id",
    "advertise_address",
    "persistence",
    "matching",
    "shutdown_grace_seconds",
    "membership",
    "tls",
    "internode_tls",
    "tracing",
    "metrics",
    "log",
}
PRODUCTION_DEFAULT_SHARDS = 64


def server_config_from_mapping(data: dict[str, Any]) -> ServerConfig:
    """A ServerConfig from parsed YAML (``legato-server start --config``); ValueError names a bad key.

    Format (every key optional)::

        host: 0.0.0.0
        port: 7233
        services: [frontend, history, matching]
        num_history_shards: 64          # fixed at cluster creation
        task_queue_partitions: 4        # per normal task queue; the same in every process
        cluster_name: legato
        namespaces: [default]           # registered at start if missing
        advertise_address: 10.0.0.5:7233
        persistence:
          kind: sqlite | mysql | cassandra
          sqlite: {path: /var/lib/legato/legato.db}
          mysql: {host: db, port: 3306, user: legato, password: ..., database: legato}
          cassandra: {hosts: [c1, c2], keyspace: legato}
        matching: {poll_timeout_seconds: 60, sticky_poller_recency_seconds: 10, sync_match_wait_seconds: 0.2}
        shutdown_grace_seconds: 5
        membership: {heartbeat_seconds: 5, refresh_seconds: 1, ttl_seconds: 20}
        namespace_deletion: {interval_seconds: 5, grace_seconds: 15, runs_per_second: 200}
        tls:                            # public API over TLS (docs/tls.md)
          cert_file: /etc/legato/tls/tls.crt
          key_file: /etc/legato/tls/tls.key
          client_ca_file: /etc/legato/client-ca/ca.crt   # optional
          require_client_certificate: true               # optional, needs client_ca_file
        internode_tls:                  # mutual TLS between roles in different processes
          cert_file: /etc/legato/internode/tls.crt
          key_file: /etc/legato/internode/tls.key
          ca_file: /etc/legato/internode/ca.crt
          server_name: legato-internode  # name in the certificates; peers dial by IP
        tracing:                        # OTLP span export (docs/tracing.md); OTEL_* env overrides
          enabled: true                 # default false
          protocol: grpc                # grpc | http/protobuf
          endpoint: http://127.0.0.1:4317
          continue_as_new: link         # link: a new trace per run, linked | same: one trace
        metrics:                        # Prometheus /metrics (docs/metrics.md); absent = off
          port: 9090
          host: 0.0.0.0                 # default: the gRPC host
        log:
          format: json                  # text (default) | json: one object per line
    """
    from legato_server.persistence.config import CassandraConfig, MySQLConfig, SQLiteConfig

    _reject_unknown(data, _TOP_LEVEL_KEYS, "")
    persistence_data = dict(data.get("persistence") or {})
    _reject_unknown(persistence_data, {"kind", "sqlite", "mysql", "cassandra"}, "persistence.")
    sqlite_data = dict(persistence_data.get("sqlite") or {})
    if sqlite_data.get("path") is not None:
        from pathlib import Path

        sqlite_data["path"] = Path(sqlite_data["path"])
    try:
        persistence = PersistenceConfig(
            kind=str(persistence_data.get("kind", "sqlite")),
            sqlite=SQLiteConfig(**sqlite_data),
            mysql=MySQLConfig(**(persistence_data.get("mysql") or {})),
            cassandra=CassandraConfig(**(persistence_data.get("cassandra") or {})),
        )
    except TypeError as err:
        raise ValueError(f"persistence: {err}") from err
    matching_data = dict(data.get("matching") or {})
    matching_keys = {
        "poll_timeout_seconds": "poll_timeout",
        "sticky_poller_recency_seconds": "sticky_poller_recency",
        "default_query_timeout_seconds": "default_query_timeout",
        "sync_match_wait_seconds": "sync_match_wait",
    }
    _reject_unknown(matching_data, set(matching_keys), "matching.")
    matching = MatchingConfig()
    for key, value in matching_data.items():
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"matching.{key} must be a number of seconds, got {value!r}") from None
        if seconds < 0:
            raise ValueError(f"matching.{key} must not be negative, got {value!r}")
        setattr(matching, matching_keys[key], timedelta(seconds=seconds))
    services = data.get("services", list(ROLES))
    if isinstance(services, str):
        services = [s.strip() for s in services.split(",") if s.strip()]
    return ServerConfig(
        host=str(data.get("host", "127.0.0.1")),
        port=_integer(data, "port", 7233),
        persistence=persistence,
        services=tuple(services),
        num_history_shards=_integer(data, "num_history_shards", PRODUCTION_DEFAULT_SHARDS),
        task_queue_partitions=_integer(data, "task_queue_partitions", DEFAULT_PARTITIONS),
        cluster_name=str(data.get("cluster_name", "legato")),
        namespaces=tuple(data.get("namespaces") or ()),
        matching=matching,
        host_id=data.get("host_id"),
        advertise_address=data.get("advertise_address"),
        shutdown_grace=timedelta(seconds=float(data.get("shutdown_grace_seconds", 5))),
        **_membership_from_mapping(data.get("membership") or {}),
        **_namespace_deletion_from_mapping(data.get("namespace_deletion") or {}),
        tls=_tls_from_mapping(data.get("tls")),
        internode_tls=_internode_tls_from_mapping(data.get("internode_tls")),
        tracing=tracing.tracing_config_from_mapping(data.get("tracing")),
        metrics=_metrics_from_mapping(data.get("metrics"), default_host=str(data.get("host", "127.0.0.1"))),
        log_format=_log_format_from_mapping(data.get("log")),
    )


ENVIRONMENT_OVERRIDES: dict[str, str] = {
    "LEGATO_HOST": "host",
    "LEGATO_PORT": "port",
    "LEGATO_ADVERTISE_ADDRESS": "advertise_address",
    "LEGATO_HOST_ID": "host_id",
    "LEGATO_SERVICES": "services",
    "LEGATO_NUM_HISTORY_SHARDS": "num_history_shards",
    "LEGATO_TASK_QUEUE_PARTITIONS": "task_queue_partitions",
    "LEGATO_CLUSTER_NAME": "cluster_name",
    "LEGATO_METRICS_PORT": "metrics.port",
    "LEGATO_METRICS_HOST": "metrics.host",
    "LEGATO_LOG_FORMAT": "log.format",
}
"""Environment variables that override config keys (a pod sets
``LEGATO_ADVERTISE_ADDRESS=$(POD_IP):7233`` from the downward API); a dotted
key names a key of a section (``metrics.port``)."""


def _integer(data: dict[str, Any], key: str, default: int) -> int:
    value = data.get(key, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{key}: expected a whole number, got {value!r}") from None
    if number < 0:
        raise ValueError(f"{key}: expected zero or more, got {number}")
    return number


def apply_environment(data: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """``data`` with the keys of ``ENVIRONMENT_OVERRIDES`` replaced by the variables that are set."""
    merged = dict(data)
    for variable, key in ENVIRONMENT_OVERRIDES.items():
        value = environ.get(variable)
        if value:
            section, _, leaf = key.rpartition(".")
            if section:
                merged[section] = {**(merged.get(section) or {}), leaf: value}
            else:
                merged[key] = value
    return merged


def _metrics_from_mapping(data: Any, *, default_host: str) -> MetricsConfig | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ValueError(f"metrics: expected a mapping with port (and host), got {data!r}")
    _reject_unknown(data, {"port", "host"}, "metrics.")
    if "port" not in data:
        raise ValueError(
            "metrics.port is required (0-65535; 0 = any free port); leave out metrics: to turn it off"
        )
    try:
        port = _integer(data, "port", 0)
    except ValueError as err:
        raise ValueError(f"metrics.{err}") from None
    return MetricsConfig(port=port, host=str(data.get("host") or default_host))


def _log_format_from_mapping(data: Any) -> str:
    if data is None:
        return "text"
    if not isinstance(data, dict):
        raise ValueError(f"log: expected a mapping such as {{format: json}}, got {data!r}")
    _reject_unknown(data, {"format"}, "log.")
    value = str(data.get("format", "text"))
    if value not in LOG_FORMATS:
        raise ValueError(f"log.format: expected one of {', '.join(LOG_FORMATS)}, got {value!r}")
    return value


class _MembershipIntervals(TypedDict, total=False):
    """The ``ServerConfig`` fields a ``membership:`` section sets (those it names)."""

    membership_heartbeat: timedelta
    membership_refresh: timedelta
    membership_ttl: timedelta


def _membership_from_mapping(data: dict[str, Any]) -> _MembershipIntervals:
    keys = {
        "heartbeat_seconds": "membership_heartbeat",
        "refresh_seconds": "membership_refresh",
        "ttl_seconds": "membership_ttl",
    }
    _reject_unknown(data, set(keys), "membership.")
    values = {keys[key]: timedelta(seconds=float(value)) for key, value in data.items()}
    if any(value <= timedelta(0) for value in values.values()):
        raise ValueError(f"membership: every interval must be positive; got {data}")
    return cast(_MembershipIntervals, values)  # its keys are values of `keys`: unknown ones were rejected


class _NamespaceDeletion(TypedDict, total=False):
    """The ``ServerConfig`` fields a ``namespace_deletion:`` section sets (those it names)."""

    namespace_deletion_interval: timedelta
    namespace_deletion_grace: timedelta
    namespace_deletion_rate: float


def _namespace_deletion_from_mapping(data: Any) -> _NamespaceDeletion:
    if not isinstance(data, dict):
        raise ValueError(f"namespace_deletion: expected a mapping, got {data!r}")
    _reject_unknown(data, {"interval_seconds", "grace_seconds", "runs_per_second"}, "namespace_deletion.")
    values: _NamespaceDeletion = {}
    try:
        if "interval_seconds" in data:
            values["namespace_deletion_interval"] = timedelta(seconds=float(data["interval_seconds"]))
        if "grace_seconds" in data:
            values["namespace_deletion_grace"] = timedelta(seconds=float(data["grace_seconds"]))
        if "runs_per_second" in data:
            values["namespace_deletion_rate"] = float(data["runs_per_second"])
    except (TypeError, ValueError):
        raise ValueError(f"namespace_deletion: every value must be a number; got {data}") from None
    if values.get("namespace_deletion_interval", timedelta(1)) <= timedelta(0) or (
        values.get("namespace_deletion_rate", 1.0) <= 0
    ):
        raise ValueError(
            f"namespace_deletion: interval_seconds and runs_per_second must be positive; got {data}"
        )
    if values.get("namespace_deletion_grace", timedelta(0)) < timedelta(0):
        raise ValueError(f"namespace_deletion.grace_seconds must be zero or more; got {data}")
    return values


def _tls_from_mapping(data: Any) -> ServerTLSConfig | None:
    if data is None:
        return None
    values = _file_keys(data, "tls", required=("cert_file", "key_file"), optional=("client_ca_file",))
    flag = data.get("require_client_certificate", False)
    if not isinstance(flag, bool):
        raise ValueError(f"tls.require_client_certificate: expected true or false, got {flag!r}")
    return ServerTLSConfig(**values, require_client_certificate=flag)


def _internode_tls_from_mapping(data: Any) -> InternodeTLSConfig | None:
    if data is None:
        return None
    values = _file_keys(data, "internode_tls", required=("cert_file", "key_file", "ca_file"), optional=())
    name = data.get("server_name")
    return InternodeTLSConfig(**values, server_name=None if name is None else str(name))


def _file_keys(
    data: Any, section: str, *, required: tuple[str, ...], optional: tuple[str, ...]
) -> dict[str, Any]:
    """The file paths of a TLS section; ValueError names a missing or unknown key."""
    from pathlib import Path

    if not isinstance(data, dict):
        raise ValueError(f"{section}: expected a mapping, got {data!r}")
    flags = {"tls": {"require_client_certificate"}, "internode_tls": {"server_name"}}[section]
    _reject_unknown(data, {*required, *optional, *flags}, f"{section}.")
    values: dict[str, Any] = {}
    for key in (*required, *optional):
        if data.get(key) in (None, ""):
            if key in required:
                raise ValueError(f"{section}.{key} is required")
            continue
        values[key] = Path(str(data[key])).expanduser()
    return values


def _reject_unknown(data: dict[str, Any], allowed: set[str], prefix: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValueError(f"unknown config key {prefix}{unknown[0]}; allowed: {', '.join(sorted(allowed))}")
