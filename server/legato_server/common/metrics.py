"""Prometheus metrics of every server role, and the HTTP endpoint that serves them.

Every metric the server exports is declared here, once, so the names, help
texts, labels and buckets live in one place (``docs/metrics.md`` lists them
and ``docs/grafana/legato-server.json`` charts them; a test scrapes a real
server and checks every series the dashboard queries exists).

Two kinds of metric:

* **Events** (counters and histograms) are recorded where they happen, through
  the objects below: an RPC answered (``common.instrument``), a store operation
  (``persistence.metrics``), a task added to or taken from a task queue
  (``matching``), a run started or closed (``history.shards``), a timer fired.
  Each record is a dictionary look-up and an add under a lock: a few
  microseconds, nothing on the network. Hot paths bind their label children
  once (``Labelled``) rather than formatting labels on every call.
* **State** (gauges: shards owned, task queue backlog, live members) is read
  only when Prometheus scrapes, from callbacks the server assembly registers
  with ``STATE`` (``register_state``). Nothing is kept up to date between
  scrapes, so a rarely scraped server pays nothing for them.

The metrics go to ``prometheus_client``'s default registry, which also carries
its ``process_*`` (CPU, memory, file descriptors) and ``python_*`` series.
``serve_metrics`` starts its HTTP server (a daemon thread) on the configured
port; off unless configured (``MetricsConfig``), as in Temporal, whose
server exposes metrics only when its config names a listen address. Several
servers in one process (tests) share the registry: their counts add up and
each registers its own state callbacks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import REGISTRY, Counter, Histogram, disable_created_metrics, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

NAMESPACE = "legato"

# The "_created" timestamp series double every counter's and histogram's
# series for a value Prometheus does not use; turned off for this process.
disable_created_metrics()

# Latency buckets in seconds. RPCs include long polls (up to a minute);
# store calls are fast; waits for a poller or a timer may be long.
RPC_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
STORE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
WAIT_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600)

# ---------------------------------------------------------------- RPCs

RPC_REQUESTS = Counter(
    "rpc_requests",
    "RPCs a role answered, by method and gRPC status code (errors: code != OK).",
    ["role", "method", "code"],
    namespace=NAMESPACE,
)
RPC_LATENCY = Histogram(
    "rpc_latency_seconds",
    "Time a role took to answer an RPC (long polls included), by method.",
    ["role", "method"],
    namespace=NAMESPACE,
    buckets=RPC_BUCKETS,
)

# ---------------------------------------------------------------- persistence

PERSISTENCE_LATENCY = Histogram(
    "persistence_latency_seconds",
    "Time of one store operation, by store (executions, shards, ...) and operation.",
    ["store", "operation"],
    namespace=NAMESPACE,
    buckets=STORE_BUCKETS,
)
PERSISTENCE_ERRORS = Counter(
    "persistence_errors",
    "Store operations that raised, by store, operation and error type "
    "(ConditionFailedError and NotFoundError are often expected).",
    ["store", "operation", "error"],
    namespace=NAMESPACE,
)

# ---------------------------------------------------------------- workflows

WORKFLOW_STARTS = Counter(
    "workflow_started",
    "Runs started (new workflows, children, retries, cron and continue-as-new runs).",
    ["namespace", "workflow_type"],
    namespace=NAMESPACE,
)
WORKFLOW_CLOSES = Counter(
    "workflow_closed",
    "Runs closed, by close status (completed, failed, canceled, terminated, timed_out, continued_as_new).",
    ["namespace", "workflow_type", "status"],
    namespace=NAMESPACE,
)
TIMER_LATENESS = Histogram(
    "history_timer_lateness_seconds",
    "How long after its due time a timer task (user timer, timeout, backoff) began to run.",
    namespace=NAMESPACE,
    buckets=WAIT_BUCKETS,
)

# ---------------------------------------------------------------- matching

MATCHING_TASKS_ADDED = Counter(
    "matching_tasks_added",
    "Workflow and activity tasks added to task queues: handed straight to a waiting poller "
    "(outcome=sync_match) or written to the backlog (outcome=backlog).",
    ["task_type", "outcome"],
    namespace=NAMESPACE,
)
MATCHING_SCHEDULE_TO_START = Histogram(
    "matching_schedule_to_start_seconds",
    "From a task reaching matching to a poller recording it started.",
    ["task_type"],
    namespace=NAMESPACE,
    buckets=WAIT_BUCKETS,
)


class Labelled:
    """Children of one metric, bound once per label values and reused (``labels()`` costs a lock and a join)."""

    def __init__(self, metric: Any) -> None:
        self._metric = metric
        self._children: dict[tuple[str, ...], Any] = {}

    def __call__(self, *values: str) -> Any:
        child = self._children.get(values)
        if child is None:
            child = self._children.setdefault(values, self._metric.labels(*values))
        return child


# ---------------------------------------------------------------- state read at scrape time

StateReader = Callable[[], Iterable[tuple[tuple[str, ...], float]]]
"""Returns (label values, value) pairs of one gauge, read from live objects."""

STATE_GAUGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "legato_history_shards_owned": ("History shards this process owns.", ()),
    "legato_membership_hosts": (
        "Live hosts of each role in this process's membership ring.",
        ("role",),
    ),
    "legato_matching_task_queue_backlog": (
        "Tasks persisted and not yet consumed, per loaded task queue of this matching host.",
        ("namespace_id", "task_queue", "task_type"),
    ),
    "legato_matching_task_queues_loaded": ("Task queues this matching host has loaded.", ("task_type",)),
    "legato_matching_pollers": (
        "Pollers waiting on this matching host's task queues.",
        ("task_type",),
    ),
}


class _StateCollector(Collector):
    """One collector for every scrape-time gauge; servers add and remove their readers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._readers: dict[int, tuple[str, StateReader]] = {}
        self._next = 0

    def add(self, name: str, reader: StateReader) -> int:
        if name not in STATE_GAUGES:
            raise ValueError(f"unknown state gauge {name!r}; declare it in STATE_GAUGES")
        with self._lock:
            self._next += 1
            self._readers[self._next] = (name, reader)
            return self._next

    def remove(self, handle: int) -> None:
        with self._lock:
            self._readers.pop(handle, None)

    def describe(self) -> Iterator[GaugeMetricFamily]:
        for name, (doc, labels) in STATE_GAUGES.items():
            yield GaugeMetricFamily(name, doc, labels=labels)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        # Runs on the HTTP server's thread while the event loop mutates the
        # objects read: readers copy what they iterate (list(dict) holds the GIL).
        with self._lock:
            readers = list(self._readers.values())
        sums: dict[str, dict[tuple[str, ...], float]] = {name: {} for name in STATE_GAUGES}
        for name, reader in readers:
            try:
                samples = list(reader())
            except Exception:  # noqa: BLE001 - a half-torn-down server must not break the scrape
                continue
            for labels, value in samples:
                sums[name][labels] = sums[name].get(labels, 0.0) + value
        for name, (doc, labels) in STATE_GAUGES.items():
            family = GaugeMetricFamily(name, doc, labels=labels)
            for values, value in sums[name].items():
                family.add_metric(list(values), value)
            yield family


STATE = _StateCollector()
REGISTRY.register(STATE)


def register_state(name: str, reader: StateReader) -> Callable[[], None]:
    """Have gauge ``name`` read ``reader`` at every scrape; returns the function that stops it."""
    handle = STATE.add(name, reader)
    return lambda: STATE.remove(handle)


# ---------------------------------------------------------------- the endpoint


@dataclass(frozen=True)
class MetricsConfig:
    """Where a process serves ``/metrics`` (Prometheus text format)."""

    port: int
    """TCP port; 0 picks a free one (``MetricsEndpoint.port`` tells which)."""
    host: str = "127.0.0.1"
    """Interface to bind; a pod binds 0.0.0.0 so Prometheus can scrape it."""

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"metrics.port: expected 0-65535 (0 = any free port), got {self.port}")


@dataclass
class MetricsEndpoint:
    host: str
    port: int
    _server: Any
    _thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve_metrics(config: MetricsConfig) -> MetricsEndpoint:
    """Serve the registry over HTTP on a daemon thread; OSError naming the address if it cannot bind."""
    try:
        server, thread = start_http_server(config.port, addr=config.host)
    except OSError as err:
        raise OSError(
            err.errno, f"cannot serve metrics on {config.host}:{config.port}: {err.strerror or err}"
        ) from err
    return MetricsEndpoint(host=config.host, port=server.server_port, _server=server, _thread=thread)
