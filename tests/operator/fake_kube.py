"""An in-memory stand-in for ``legato_operator.kube.Kube``: enough of it for a whole reconcile pass.

Objects live in a dict keyed by (kind, name) in one namespace; ``ensure``
stores what was applied (a server-side apply of a full object), ``list``
matches ``k=v,...`` label selectors. No pod ever answers a health check (no
endpoint addresses), so a pass reports roles as not serving: these tests are
about what gets written, not about readiness.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from legato_operator import render


class FakeKube:
    def __init__(self, *, serves: Iterable[str] = ()) -> None:
        self.kinds = set(serves)
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.applied: list[dict[str, Any]] = []
        self.logs: dict[str, str] = {}
        """Pod name -> its log (``pod_log``)."""

    def put(self, obj: dict[str, Any]) -> None:
        """Create an object as someone else (a Secret, cert-manager's Secret, a completed Job)."""
        self.objects[(obj["kind"], obj["metadata"]["name"])] = copy.deepcopy(obj)

    def serves(self, kind: str) -> bool:
        return kind in self.kinds

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        found = self.objects.get((kind, name))
        return copy.deepcopy(found) if found is not None else None

    def list(self, kind: str, namespace: str, *, selector: str) -> list[dict[str, Any]]:
        wanted = dict(pair.split("=", 1) for pair in selector.split(","))
        return [
            copy.deepcopy(obj)
            for (found_kind, _), obj in self.objects.items()
            if found_kind == kind and wanted.items() <= (obj["metadata"].get("labels") or {}).items()
        ]

    def ensure(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.applied.append(copy.deepcopy(obj))
        live = self.objects.get((obj["kind"], obj["metadata"]["name"]))
        stored = copy.deepcopy(obj)
        if live is not None and "status" in live:
            stored["status"] = live["status"]
        self.objects[(obj["kind"], obj["metadata"]["name"])] = stored
        return copy.deepcopy(stored)

    def delete(self, kind: str, namespace: str, name: str) -> bool:
        return self.objects.pop((kind, name), None) is not None

    def add_owner_reference(self, kind: str, namespace: str, name: str, reference: dict[str, Any]) -> bool:
        obj = self.objects.get((kind, name))
        if obj is None:
            return False
        owners = obj["metadata"].setdefault("ownerReferences", [])
        obj["metadata"]["ownerReferences"] = [o for o in owners if o["uid"] != reference["uid"]] + [reference]
        return True

    def endpoint_addresses(self, namespace: str, service: str) -> list[str]:
        return []

    def pod_log(self, namespace: str, pod: str, *, tail_lines: int) -> str:
        return "\n".join(self.logs.get(pod, "").splitlines()[-tail_lines:])

    def deployment(self, name: str, role: str) -> dict[str, Any]:
        found = self.get("Deployment", "", render.deployment_name(name, role))
        assert found is not None, f"no Deployment for {role}"
        return found


def completed_schema_job(name: str, namespace: str, spec: dict[str, Any]) -> dict[str, Any]:
    """The schema Job the pass will look for, as the Job controller leaves it after success."""
    job_name = render.schema_job_name(name, spec, secret_version="1", retry_token="")
    job = render.schema_job(name, namespace, spec, job_name=job_name)
    job["status"] = {"conditions": [{"type": "Complete", "status": "True"}]}
    return job


def complete(kube: FakeKube, job_name: str, *, log: str) -> None:
    """The Job controller's part: the Job's pod ran, left ``log``, and the Job completed."""
    job = kube.objects[("Job", job_name)]
    job["status"] = {"conditions": [{"type": "Complete", "status": "True"}]}
    pod = f"{job_name}-x1"
    kube.put({"kind": "Pod", "metadata": {"name": pod, "labels": {"job-name": job_name}}})
    kube.logs[pod] = log


def password_secret(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "legato-db", "namespace": namespace, "resourceVersion": "1"},
        "data": {"password": "bGVnYXRv"},
    }
