"""Status conditions in the Kubernetes shape, with ``observedGeneration``.

``merge`` keeps ``lastTransitionTime`` when a condition's status did not
change, so recomputing status every few seconds (the timer) does not make
every condition look new.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

READY = "Ready"
PROGRESSING = "Progressing"
SCHEMA_READY = "SchemaReady"
DEGRADED = "Degraded"
SERVICE_MONITOR_READY = "ServiceMonitorReady"
"""Only with ``metrics.serviceMonitor.enabled``: whether the ServiceMonitor exists, or why not."""
FRONTEND_CERTIFICATE_READY = "FrontendCertificateReady"
"""Only with ``frontend.tls.issuerRef``: whether cert-manager has issued the frontend's Secret."""


@dataclass(frozen=True)
class Condition:
    type: str
    status: bool | None
    """True, False, or None for Unknown."""
    reason: str
    message: str

    def as_dict(self, *, generation: int, now: str) -> dict[str, Any]:
        return {
            "type": self.type,
            "status": {True: "True", False: "False", None: "Unknown"}[self.status],
            "reason": self.reason,
            "message": self.message,
            "observedGeneration": generation,
            "lastTransitionTime": now,
        }


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def merge(
    previous: list[dict[str, Any]] | None,
    current: list[Condition],
    *,
    generation: int,
    now: str | None = None,
) -> list[dict[str, Any]]:
    """``current`` as dicts; a condition whose status is unchanged keeps its transition time."""
    stamp = now or now_iso()
    before = {c.get("type"): c for c in previous or []}
    merged = []
    for condition in current:
        entry = condition.as_dict(generation=generation, now=stamp)
        old = before.get(condition.type)
        if old is not None and old.get("status") == entry["status"] and old.get("lastTransitionTime"):
            entry["lastTransitionTime"] = old["lastTransitionTime"]
        merged.append(entry)
    return merged


def find(conditions: list[dict[str, Any]] | None, kind: str) -> dict[str, Any] | None:
    return next((c for c in conditions or [] if c.get("type") == kind), None)
