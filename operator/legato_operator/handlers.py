"""kopf wiring: which events run which reconcile pass, and the operator's settings.

Both resources are reconciled level-based: create, update (spec, labels or
annotations, e.g. the retry-schema annotation), resume after a restart, and a
periodic resync all call the same pass, which reads the live state and writes
status. The resync is also how changes the operator does not watch show up: a
fixed password Secret, pods turning SERVING, a frontend coming back. It is not
a kopf timer, because timers put a finalizer on every resource (see
``resync``): a LegatoCluster carries no finalizer at all, and a LegatoNamespace
only while its ``deletionPolicy`` is Delete (its delete handler must see it).

Handlers are synchronous (kopf runs them in its thread pool): the kubernetes
client and the gRPC health checks block, and a pass takes well under a second
when the cluster answers.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any, cast

import kopf
from kubernetes.client import ApiException

from legato_operator import GROUP, VERSION, cluster, namespaces
from legato_operator.kube import Kube, load_config
from legato_operator.resync import Resync

CLUSTERS = "legatoclusters"
NAMESPACES = "legatonamespaces"
STATUS_INTERVAL_S = 10.0
"""How often the resync recomputes each resource's status from the live state."""
ANNOTATION_PREFIX = "operator.legato.dev"

log = logging.getLogger(__name__)
_kube: Kube | None = None


def kube() -> Kube:
    global _kube
    if _kube is None:
        load_config()
        _kube = Kube.connect()
    return _kube


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    # A watch with no server-side timeout can stall silently behind a proxy or
    # after an apiserver restart: ask the server to end each watch, and give up
    # on the client side shortly after.
    settings.watching.server_timeout = 240
    settings.watching.client_timeout = 270
    settings.watching.connect_timeout = 15
    settings.watching.reconnect_backoff = 1.0
    settings.networking.request_timeout = 60
    settings.networking.connect_timeout = 15
    # kopf's bookkeeping in annotations, so status holds only what users read.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=ANNOTATION_PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=ANNOTATION_PREFIX, key="last-handled-configuration"
    )
    settings.persistence.finalizer = f"{ANNOTATION_PREFIX}/finalizer"
    # Events are for what users must see (refused changes, failed migrations),
    # not for every handler's log line.
    settings.posting.level = logging.WARNING
    settings.execution.max_workers = 8
    kube()


def _api_message(error: ApiException) -> str:
    try:
        return f"{error.status} {json.loads(error.body or '')['message']}"
    except (TypeError, ValueError, KeyError):
        return f"{error.status} {error.reason}"


def _post(body: kopf.Body, events: list[cluster.Event]) -> None:
    for event in events:
        if event.type == "Warning":
            kopf.warn(body, reason=event.reason, message=event.message[:1000])
        else:
            kopf.info(body, reason=event.reason, message=event.message[:1000])


def _cluster_pass(body: kopf.Body, post: Callable[[kopf.Body, list[cluster.Event]], None]) -> dict[str, Any]:
    """Reconcile one LegatoCluster, post its events with ``post``, and return the status to write."""

    def adopt(child: dict[str, Any]) -> None:
        kopf.adopt(child, owner=body)

    outcome = cluster.reconcile(kube(), dict(body), adopt=adopt)
    post(body, outcome.events)
    return outcome.status


def _post_from_resync(body: kopf.Body, events: list[cluster.Event]) -> None:
    # kopf.warn/info only work inside kopf's per-object handlers, not in the resync's thread.
    for event in events:
        kube().post_event(dict(body), type=event.type, reason=event.reason, message=event.message[:1000])


def _reconcile_cluster(body: kopf.Body, patch: kopf.Patch) -> None:
    try:
        status = _cluster_pass(body, _post)
    except ApiException as error:
        # The API server's own message (e.g. which permission is missing), not a page of headers.
        message = _api_message(error)
        log.error(
            "reconcile of LegatoCluster %s/%s: %s", body.metadata.namespace, body.metadata.name, message
        )
        raise kopf.TemporaryError(f"reconcile failed: {message}", delay=5) from None
    except Exception as error:
        log.exception("reconcile of LegatoCluster %s/%s failed", body.metadata.namespace, body.metadata.name)
        raise kopf.TemporaryError(f"reconcile failed: {error}", delay=5) from error
    patch.status.update(status)


@kopf.on.resume(GROUP, VERSION, CLUSTERS)
@kopf.on.create(GROUP, VERSION, CLUSTERS)
@kopf.on.update(GROUP, VERSION, CLUSTERS)
def cluster_changed(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
    _reconcile_cluster(body, patch)


@kopf.on.resume(GROUP, VERSION, NAMESPACES)
@kopf.on.create(GROUP, VERSION, NAMESPACES)
@kopf.on.update(GROUP, VERSION, NAMESPACES)
def namespace_changed(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
    patch.status.update(namespaces.reconcile(kube(), dict(body)))


def _deletes_on_the_server(spec: kopf.Spec, **_: Any) -> bool:
    return spec.get("deletionPolicy", "Retain") == "Delete"


@kopf.on.delete(GROUP, VERSION, NAMESPACES, retries=1, timeout=30, when=_deletes_on_the_server)
def namespace_deleted(body: kopf.Body, logger: kopf.Logger, **_: Any) -> None:
    # Never raises, never retries for long: deletion must not hang on an unhealthy cluster.
    logger.info("LegatoNamespace deleted: %s", namespaces.on_delete(kube(), dict(body)))


# ------------------------------------------------------------ periodic resync


def _resync_cluster(body: dict[str, Any]) -> None:
    status = _cluster_pass(kopf.Body(cast(kopf.RawBody, body)), _post_from_resync)
    _write_status(CLUSTERS, body, status)


def _resync_namespace(body: dict[str, Any]) -> None:
    _write_status(NAMESPACES, body, namespaces.reconcile(kube(), body))


def _write_status(plural: str, body: dict[str, Any], status: dict[str, Any]) -> None:
    meta = body["metadata"]
    kube().patch_custom_status(plural, meta["namespace"], meta["name"], status)


resync = Resync(fetch=lambda plural, namespace, name: kube().get_custom(plural, namespace, name))
resync.register(CLUSTERS, _resync_cluster)
resync.register(NAMESPACES, _resync_namespace)


@kopf.on.event(GROUP, VERSION, CLUSTERS)
def cluster_seen(event: kopf.RawEvent, **_: Any) -> None:
    resync.saw(CLUSTERS, event.get("type"), dict(event["object"]))


@kopf.on.event(GROUP, VERSION, NAMESPACES)
def namespace_seen(event: kopf.RawEvent, **_: Any) -> None:
    resync.saw(NAMESPACES, event.get("type"), dict(event["object"]))


@kopf.on.startup()
async def start_resync(memo: kopf.Memo, **_: Any) -> None:
    memo.resync = asyncio.create_task(resync.run(interval_s=STATUS_INTERVAL_S), name="resync")


@kopf.on.cleanup()
async def stop_resync(memo: kopf.Memo, **_: Any) -> None:
    task = memo.get("resync")
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
