"""Periodic re-reconciling without finalizers.

Some of what a LegatoCluster's status reports changes without any event on
the resource the operator watches: pods turn SERVING, a migration Job fails, a
Secret is fixed, a frontend comes back. So every resource is reconciled again
every few seconds. kopf offers timers for that, but a kopf timer (like a
daemon) puts the operator's finalizer on every resource it runs for: once the
operator is uninstalled or down, ``kubectl delete legatocluster`` hangs in
Terminating until someone edits the finalizer away, which is exactly the
failure users of a peer operator complain about.

``Resync`` keeps the keys of the live resources, fed by kopf's raw watch
events (``on.event`` adds no finalizer), and ``run`` walks them every
``interval_s``: it reads each resource fresh from the API server (a resource
deleted meanwhile is forgotten; one being deleted is left alone), and hands
it to the resource's pass, which is the same level-based reconcile the
create/update handlers run, so running it twice is harmless.

When replicas are peered, only the active one sees watch events; a replica
paused after it was active keeps walking the keys it knew, which costs a
redundant, idempotent pass and nothing else.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (namespace, name)
Fetch = Callable[[str, str, str], dict[str, Any] | None]  # (plural, namespace, name) -> body or None
Pass = Callable[[dict[str, Any]], None]


class Resync:
    def __init__(self, *, fetch: Fetch) -> None:
        self._fetch = fetch
        self._passes: dict[str, Pass] = {}
        self._keys: dict[str, set[Key]] = {}
        self._lock = threading.Lock()  # kopf runs sync event handlers in its thread pool

    def register(self, plural: str, reconcile: Pass) -> None:
        self._passes[plural] = reconcile
        self._keys.setdefault(plural, set())

    def saw(self, plural: str, event_type: str | None, body: dict[str, Any]) -> None:
        """Record a watch event: the initial listing (type None), ADDED, MODIFIED or DELETED."""
        meta = body.get("metadata") or {}
        key = (str(meta.get("namespace", "")), str(meta.get("name", "")))
        with self._lock:
            if event_type == "DELETED":
                self._keys[plural].discard(key)
            else:
                self._keys[plural].add(key)

    def keys(self, plural: str) -> set[Key]:
        with self._lock:
            return set(self._keys[plural])

    def _forget(self, plural: str, key: Key) -> None:
        with self._lock:
            self._keys[plural].discard(key)

    def pass_once(self) -> None:
        """Reconcile every known resource once, each with a fresh read; one failing does not stop the rest."""
        for plural, reconcile in self._passes.items():
            for namespace, name in sorted(self.keys(plural)):
                try:
                    body = self._fetch(plural, namespace, name)
                    if body is None:
                        self._forget(plural, (namespace, name))
                        continue
                    if body["metadata"].get("deletionTimestamp"):
                        continue
                    reconcile(body)
                except Exception:
                    log.exception(
                        "periodic reconcile of %s %s/%s failed; next round retries", plural, namespace, name
                    )

    async def run(self, *, interval_s: float) -> None:
        """Every ``interval_s``, one ``pass_once`` in a worker thread (the API client blocks)."""
        while True:
            await asyncio.sleep(interval_s)
            await asyncio.to_thread(self.pass_once)
