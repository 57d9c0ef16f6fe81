"""Every store operation timed and its errors counted, by store and operation.

``instrument_persistence`` wraps, once at start, each abstract method of the
seven narrow store interfaces on the opened ``Persistence`` (an instance
attribute shadows the class's method). The engine, matching and membership
call the stores as before and never see the difference; no call site records
anything itself, and a new store operation is measured as soon as it is
declared in ``interface``.

Errors are counted by exception type (``ConditionFailedError``,
``ShardOwnershipLostError``, ``TransientError``...): several are the normal
answer of a conditional write, and an operator wants to tell a lost race from
an outage.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any

from legato_server.common.metrics import PERSISTENCE_ERRORS, PERSISTENCE_LATENCY, Labelled
from legato_server.persistence import interface as p

STORES: dict[str, type] = {
    "cluster_metadata": p.ClusterMetadataStore,
    "shards": p.ShardStore,
    "executions": p.ExecutionStore,
    "task_queues": p.TaskQueueStore,
    "namespaces": p.NamespaceStore,
    "membership": p.MembershipStore,
    "visibility": p.VisibilityStore,
}
"""Attribute of ``Persistence`` -> the interface whose operations are measured."""

_errors = Labelled(PERSISTENCE_ERRORS)
_latencies = Labelled(PERSISTENCE_LATENCY)


def instrument_persistence(persistence: p.Persistence) -> p.Persistence:
    """Measure every operation of every store of ``persistence`` (idempotent); returns it."""
    for attribute, interface in STORES.items():
        store = getattr(persistence, attribute, None)
        if store is None or getattr(store, "_legato_instrumented", False):
            continue
        for operation in sorted(getattr(interface, "__abstractmethods__", ())):
            setattr(store, operation, _timed(getattr(store, operation), store=attribute, operation=operation))
        store._legato_instrumented = True
    return persistence


def _timed(
    call: Callable[..., Awaitable[Any]], *, store: str, operation: str
) -> Callable[..., Awaitable[Any]]:
    # The series appears on the operation's first call (no histogram of zeros per unused one).

    @functools.wraps(call)
    async def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await call(*args, **kwargs)
        except Exception as err:
            _errors(store, operation, type(err).__name__).inc()
            raise
        finally:
            _latencies(store, operation).observe(time.perf_counter() - started)

    return timed
