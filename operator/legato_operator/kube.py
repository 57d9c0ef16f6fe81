"""The few Kubernetes API calls the operator makes, on plain dicts.

``ensure`` is the one write path for children: a server-side apply of what the
renderer produced, with the field manager ``legato-operator`` (forced: the
operator owns these objects). It creates an absent object and patches a
present one in one call; a field the renderer stops producing is removed
(a strategic merge patch would leave it behind); an apply that changes
nothing is a no-op in the API server (no new generation, no roll), so calling
it on every pass is what makes reconciling level-based. A field other
managers also set stays theirs: an autoscaled Deployment is rendered without
``replicas``, and the count the HPA (or ``kubectl scale``) wrote stands.

One object the operator does not make gets only its owner reference
(``add_owner_reference``): the frontend's Secret that cert-manager issues.

Two kinds come from add-ons that may not be installed: prometheus-operator's
ServiceMonitor and cert-manager's Certificate. They go through the same
``get``/``ensure``/``delete`` (by the custom objects API), and ``serves``
asks API discovery whether the cluster has them at all, so the reconciler can
say "not installed" instead of failing on a 404 from a missing API.

Objects go in and come out as dicts (``_preload_content=False`` and
``json.loads``), so the renderer's output is sent exactly as written and the
reconciler reads the same shapes kubectl shows.
"""

from __future__ import annotations

import builtins
import datetime
import json
from dataclasses import dataclass
from typing import Any

from kubernetes import client, config

from legato_operator import GROUP, VERSION, render

APPLY = "application/apply-patch+yaml"  # JSON is YAML
STRATEGIC_MERGE = "application/strategic-merge-patch+json"
FIELD_MANAGER = "legato-operator"

# kind -> (API class, method suffix)
_KINDS: dict[str, tuple[type, str]] = {
    "ConfigMap": (client.CoreV1Api, "namespaced_config_map"),
    "Service": (client.CoreV1Api, "namespaced_service"),
    "Secret": (client.CoreV1Api, "namespaced_secret"),
    "Pod": (client.CoreV1Api, "namespaced_pod"),
    "Deployment": (client.AppsV1Api, "namespaced_deployment"),
    "Job": (client.BatchV1Api, "namespaced_job"),
    "PodDisruptionBudget": (client.PolicyV1Api, "namespaced_pod_disruption_budget"),
    "HorizontalPodAutoscaler": (client.AutoscalingV2Api, "namespaced_horizontal_pod_autoscaler"),
}

# kind -> (group, version, plural), for the optional add-ons' kinds
CUSTOM_KINDS: dict[str, tuple[str, str, str]] = {
    "ServiceMonitor": render.SERVICE_MONITOR_API,
    "Certificate": render.CERTIFICATE_API,
}

# The typed APIs' verbs -> the custom objects API's (it says "get" where they say "read").
_CUSTOM_VERBS = {"read": "get", "patch": "patch", "delete": "delete"}


def load_config() -> None:
    """In a pod: its ServiceAccount; elsewhere: the kubeconfig (``KUBECONFIG`` or ~/.kube/config)."""
    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()


def _data(response: Any) -> Any:
    return json.loads(response.data) if response.data else None


@dataclass
class Kube:
    """Typed clients created once; every method takes and returns dicts."""

    api: client.ApiClient

    @classmethod
    def connect(cls) -> Kube:
        return cls(client.ApiClient())

    def _call(self, kind: str, verb: str, *args: Any, **kwargs: Any) -> Any:
        if kind in CUSTOM_KINDS:
            # (name, namespace, ...) as the typed APIs take them
            name, namespace, *rest = args
            group, version, plural = CUSTOM_KINDS[kind]
            custom_verb = _CUSTOM_VERBS[verb]
            method = getattr(client.CustomObjectsApi(self.api), f"{custom_verb}_namespaced_custom_object")
            return _data(
                method(group, version, namespace, plural, name, *rest, _preload_content=False, **kwargs)
            )
        api_class, suffix = _KINDS[kind]
        method = getattr(api_class(self.api), f"{verb}_{suffix}")
        return _data(method(*args, _preload_content=False, **kwargs))

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return self._call(kind, "read", name, namespace)
        except client.ApiException as error:
            if error.status == 404:
                return None
            raise

    def serves(self, kind: str) -> bool:
        """Whether the API server serves this optional kind (its CRD is installed and established)."""
        group, version, plural = CUSTOM_KINDS[kind]
        try:
            response = client.CustomObjectsApi(self.api).get_api_resources(
                group, version, _preload_content=False
            )
        except client.ApiException as error:
            if error.status == 404:
                return False
            raise
        return any(
            resource.get("name") == plural for resource in (_data(response) or {}).get("resources", [])
        )

    def list(self, kind: str, namespace: str, *, selector: str) -> list[dict[str, Any]]:
        return list(self._call(kind, "list", namespace, label_selector=selector)["items"])

    def ensure(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create ``obj`` or bring the live object in line with it (server-side apply); returns it."""
        meta = obj["metadata"]
        return self._call(
            obj["kind"],
            "patch",
            meta["name"],
            meta["namespace"],
            obj,
            field_manager=FIELD_MANAGER,
            force=True,
            _content_type=APPLY,
        )

    def add_owner_reference(self, kind: str, namespace: str, name: str, reference: dict[str, Any]) -> bool:
        """Add ``reference`` to an existing object's owners (typed kinds); False when it is gone.

        A strategic merge patch, which merges ``ownerReferences`` by uid: the
        owners others set stay, and a missing object is a 404, never created
        (as a server-side apply would).
        """
        body = {"metadata": {"ownerReferences": [reference]}}
        try:
            self._call(
                kind,
                "patch",
                name,
                namespace,
                body,
                field_manager=FIELD_MANAGER,
                _content_type=STRATEGIC_MERGE,
            )
        except client.ApiException as error:
            if error.status == 404:
                return False
            raise
        return True

    def delete(self, kind: str, namespace: str, name: str) -> bool:
        """Delete (children too, in the background); False when it was already gone."""
        try:
            self._call(kind, "delete", name, namespace, propagation_policy="Background")
        except client.ApiException as error:
            if error.status == 404:
                return False
            raise
        return True

    def pod_log(self, namespace: str, pod: str, *, tail_lines: int) -> str:
        try:
            # Raw (not preloaded): an HTTP response, whatever the client's annotations say.
            response: Any = client.CoreV1Api(self.api).read_namespaced_pod_log(
                pod, namespace, tail_lines=tail_lines, _preload_content=False
            )
        except client.ApiException as error:
            return f"(no log: {error.reason})"
        return str(response.data.decode("utf-8", "replace"))

    def endpoint_addresses(self, namespace: str, service: str) -> builtins.list[str]:  # not Kube.list
        """The pod IPs behind ``service`` (ready or not), from its EndpointSlices."""
        response = client.DiscoveryV1Api(self.api).list_namespaced_endpoint_slice(
            namespace, label_selector=f"kubernetes.io/service-name={service}", _preload_content=False
        )
        addresses: set[str] = set()
        for endpoint_slice in _data(response)["items"]:
            for endpoint in endpoint_slice.get("endpoints") or []:
                if (endpoint.get("conditions") or {}).get("terminating"):
                    continue
                addresses.update(endpoint.get("addresses") or [])
        return sorted(addresses)

    # ------------------------------------------------------------ custom resources

    def get_custom(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            response = client.CustomObjectsApi(self.api).get_namespaced_custom_object(
                GROUP, VERSION, namespace, plural, name, _preload_content=False
            )
        except client.ApiException as error:
            if error.status == 404:
                return None
            raise
        return _data(response)

    def patch_custom_status(self, plural: str, namespace: str, name: str, status: dict[str, Any]) -> None:
        """Merge ``status`` into a custom resource's status subresource (as kopf's patch does)."""
        client.CustomObjectsApi(self.api).patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, plural, name, {"status": status}, _preload_content=False
        )

    def post_event(self, obj: dict[str, Any], *, type: str, reason: str, message: str) -> None:
        """A core/v1 Event about ``obj`` (what ``kubectl describe`` and ``get events`` show).

        kopf's own posting works only inside its per-object handlers; the
        operator's resync loop runs outside them and posts through this.
        """
        meta = obj["metadata"]
        now = datetime.datetime.now(datetime.UTC).isoformat()
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
            "involvedObject": {
                "apiVersion": obj.get("apiVersion", f"{GROUP}/{VERSION}"),
                "kind": obj.get("kind", ""),
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta.get("uid", ""),
            },
            "type": type,
            "reason": reason,
            "message": message,
            "source": {"component": FIELD_MANAGER},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        # A dict body is sent as it is (the client's annotation asks for its model class).
        body: Any = event
        client.CoreV1Api(self.api).create_namespaced_event(meta["namespace"], body, _preload_content=False)
