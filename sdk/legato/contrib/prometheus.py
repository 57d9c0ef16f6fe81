"""A worker's own metrics for Prometheus (``pip install 'legato[prometheus]'``).

```python
from legato.contrib.prometheus import PrometheusWorkerMetrics

metrics = PrometheusWorkerMetrics()
worker = Worker(client, task_queue="orders", workflows=[...], activities=[...], metrics=metrics)
metrics.serve(port=9464)   # or expose prometheus_client's registry the way your app already does
```

Opt-in: a worker without ``metrics=`` measures nothing, and the SDK's base
install does not need ``prometheus_client``. One ``PrometheusWorkerMetrics``
may serve any number of workers in the process; their series differ by
``task_queue``. ``task_kind`` is ``workflow`` or ``activity``.

* ``legato_worker_task_slots_used`` (gauge): tasks being handled now, each
  holding one of the worker's ``max_concurrent_*`` slots.
* ``legato_worker_poll_latency_seconds`` (histogram, ``outcome`` = ``task`` or
  ``empty``): long-poll durations; an idle queue shows ``empty`` polls at the
  server's poll timeout.
* ``legato_worker_task_latency_seconds`` (histogram): from taking a task to
  having answered the server (workflow: replay, workflow code, local
  activities; activity: its run).
* ``legato_worker_sticky_cache_hits_total`` / ``..._misses_total``: workflow
  tasks served from the worker's cache of runs, or not (the run was new to
  this worker or evicted); ``legato_worker_full_replays_total``: tasks that
  rebuilt their run from the full history (every miss, plus a cached run found
  stale); ``legato_worker_sticky_cache_size``: runs cached now.

The counters of the cache are the worker's own (``Worker.workflow_stats``),
read when Prometheus scrapes; the rest are recorded as they happen, a few
microseconds each.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

try:
    from prometheus_client import REGISTRY, CollectorRegistry, Gauge, Histogram, start_http_server
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
    from prometheus_client.registry import Collector
except ImportError as err:  # pragma: no cover - the message is the point
    raise ImportError(
        "legato.contrib.prometheus needs prometheus_client: pip install 'legato[prometheus]'"
    ) from err

from legato._worker_metrics import WorkerMetrics

if TYPE_CHECKING:
    from legato._worker_workflow import WorkflowWorkerStats

__all__ = ["PrometheusWorkerMetrics"]

POLL_BUCKETS = (0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 90)
TASK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


@dataclass(frozen=True)
class _Attached:
    task_queue: str
    stats: Callable[[], WorkflowWorkerStats]
    cache_size: Callable[[], int]


class _CacheCollector(Collector):
    """The attached workers' cache counters, read at scrape time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.attached: list[_Attached] = []

    def add(self, attached: _Attached) -> None:
        with self._lock:
            self.attached.append(attached)

    def collect(self) -> Iterator[Any]:
        hits = CounterMetricFamily(
            "legato_worker_sticky_cache_hits", "Workflow tasks served from the cache.", labels=["task_queue"]
        )
        misses = CounterMetricFamily(
            "legato_worker_sticky_cache_misses",
            "Workflow tasks whose run was not cached (new to this worker, or evicted).",
            labels=["task_queue"],
        )
        replays = CounterMetricFamily(
            "legato_worker_full_replays",
            "Workflow tasks that rebuilt their run from the full history.",
            labels=["task_queue"],
        )
        size = GaugeMetricFamily("legato_worker_sticky_cache_size", "Runs cached now.", labels=["task_queue"])
        totals: dict[str, list[float]] = {}
        with self._lock:
            attached = list(self.attached)
        for one in attached:
            stats = one.stats()
            row = totals.setdefault(one.task_queue, [0.0, 0.0, 0.0, 0.0])
            row[0] += stats.cache_hits
            row[1] += stats.cache_misses
            row[2] += stats.full_replays
            row[3] += one.cache_size()
        for task_queue, (hit, miss, replay, cached) in totals.items():
            hits.add_metric([task_queue], hit)
            misses.add_metric([task_queue], miss)
            replays.add_metric([task_queue], replay)
            size.add_metric([task_queue], cached)
        yield from (hits, misses, replays, size)

    def describe(self) -> Iterator[Any]:
        # Names only (empty families), so registering does not call collect() early.
        yield CounterMetricFamily("legato_worker_sticky_cache_hits", "", labels=["task_queue"])
        yield CounterMetricFamily("legato_worker_sticky_cache_misses", "", labels=["task_queue"])
        yield CounterMetricFamily("legato_worker_full_replays", "", labels=["task_queue"])
        yield GaugeMetricFamily("legato_worker_sticky_cache_size", "", labels=["task_queue"])


class PrometheusWorkerMetrics(WorkerMetrics):
    """Exports what workers report (``Worker(metrics=...)``) to a ``prometheus_client`` registry.

    ``registry``: where the metrics go (default: prometheus_client's global one,
    which ``start_http_server`` and most frameworks serve). One instance per
    registry: a second one on the same registry fails with prometheus_client's
    "Duplicated timeseries" error.
    """

    def __init__(self, *, registry: CollectorRegistry = REGISTRY) -> None:
        self.registry = registry
        self._slots_used = Gauge(
            "legato_worker_task_slots_used",
            "Tasks being handled now, each holding a slot.",
            ["task_queue", "task_kind"],
            registry=registry,
        )
        self._poll_latency = Histogram(
            "legato_worker_poll_latency_seconds",
            "Long-poll durations, by outcome (task or empty).",
            ["task_queue", "task_kind", "outcome"],
            buckets=POLL_BUCKETS,
            registry=registry,
        )
        self._task_latency = Histogram(
            "legato_worker_task_latency_seconds",
            "From taking a task to having answered the server.",
            ["task_queue", "task_kind"],
            buckets=TASK_BUCKETS,
            registry=registry,
        )
        self._cache = _CacheCollector()
        registry.register(self._cache)
        self._server: Any = None

    def poll_completed(self, *, task_queue: str, task_kind: str, seconds: float, got_task: bool) -> None:
        self._poll_latency.labels(task_queue, task_kind, "task" if got_task else "empty").observe(seconds)

    def task_started(self, *, task_queue: str, task_kind: str) -> None:
        self._slots_used.labels(task_queue, task_kind).inc()

    def task_completed(self, *, task_queue: str, task_kind: str, seconds: float) -> None:
        self._slots_used.labels(task_queue, task_kind).dec()
        self._task_latency.labels(task_queue, task_kind).observe(seconds)

    def attach_workflow_stats(
        self,
        *,
        task_queue: str,
        stats: Callable[[], WorkflowWorkerStats],
        cache_size: Callable[[], int],
    ) -> None:
        self._cache.add(_Attached(task_queue=task_queue, stats=stats, cache_size=cache_size))

    def serve(self, *, port: int, host: str = "127.0.0.1") -> int:
        """Serve ``/metrics`` of ``registry`` on a daemon thread; returns the port (0 picks one)."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        self._server = server
        return int(server.server_port)

    def stop_serving(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
