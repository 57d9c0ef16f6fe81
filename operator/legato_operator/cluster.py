"""One reconcile pass of a LegatoCluster: make the children match the spec, then report.

The pass is level-based: it reads the resource and the live children, never a
diff, so the create/update handlers and the periodic timer all run the same
function and a missed event costs one timer interval at most. Order matters:

1. **Version policy** (``versions``): a refused change (skipping a minor,
   downgrading, another major) writes nothing; status says why, an Event too.
2. **Password Secret**: missing -> ``SchemaReady=False/SecretNotFound``,
   nothing else written.
3. ConfigMap, Services and PodDisruptionBudgets: safe before the schema.
   The add-on kinds too, each only when the cluster serves it (API
   discovery): the ServiceMonitor (``metrics.serviceMonitor.enabled``) and
   the frontend's cert-manager Certificate (``frontend.tls.issuerRef``). A
   missing add-on is a condition of its own (``ServiceMonitorReady=False/
   ServiceMonitorCRDMissing``, ``FrontendCertificateReady=False/
   CertManagerCRDMissing``) and a Warning Event, never a failed pass: the
   rest of the cluster is reconciled as usual. Pods carry the
   ``prometheus.io/scrape`` annotations only while no ServiceMonitor of the
   cluster scrapes them (one scrape per pod, not two).
4. **Schema Job first**: its name digests the migration's inputs (see
   ``render.schema_job_name``), so a new version, a fixed password Secret or
   the retry annotation each start a new Job, and a failed Job is kept as it is
   (``SchemaReady=False/MigrationFailed`` quoting its log), never deleted and
   recreated in a loop.
5. Deployments (and HPAs) are created or patched only once the current Job has
   completed: pods of a new version never start against an old schema.
6. Status from the live state: each role's Deployment and each pod's gRPC
   health (through the role's headless Service), the frontend's health through
   its ClusterIP Service. ``Ready`` only when every role answers SERVING.

Every child is adopted (owner reference), so deleting the LegatoCluster
deletes them all through the garbage collector; so is the frontend's Secret
that cert-manager issues for the cluster's Certificate, once it exists (as an
owner, not the controller: see ``_adopt_issued_secret``).
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from kubernetes.client import ApiException

from legato_operator import health, render, versions
from legato_operator.conditions import (
    DEGRADED,
    FRONTEND_CERTIFICATE_READY,
    PROGRESSING,
    READY,
    SCHEMA_READY,
    SERVICE_MONITOR_READY,
    Condition,
    merge,
)
from legato_operator.kube import Kube

LOG_TAIL_LINES = 15
CERTIFICATE_NAME_ANNOTATION = "cert-manager.io/certificate-name"
"""What cert-manager sets on each Secret it issues, naming the Certificate."""
HEALTH_TIMEOUT_S = 2.0
log = logging.getLogger(__name__)

Adopt = Callable[[dict[str, Any]], None]


@dataclass
class Event:
    type: str  # Normal | Warning
    reason: str
    message: str


@dataclass
class Outcome:
    status: dict[str, Any]
    events: list[Event] = field(default_factory=list)


DEFAULT_OTLP_ENDPOINT_ENV = "LEGATO_DEFAULT_OTLP_ENDPOINT"
"""The operator's default OTLP endpoint for clusters whose spec names none (set by the Helm chart)."""


@dataclass
class SchemaState:
    ready: bool
    condition: Condition
    job: str | None = None
    version: str | None = None


def reconcile(kube: Kube, body: dict[str, Any], *, adopt: Adopt) -> Outcome:
    """Bring one LegatoCluster's children in line with its spec; return its new status."""
    meta = body["metadata"]
    spec = render.with_default_tracing(body["spec"], os.environ.get(DEFAULT_OTLP_ENDPOINT_ENV))
    name, namespace, generation = meta["name"], meta["namespace"], int(meta.get("generation", 1))
    previous = dict(body.get("status") or {})
    events: list[Event] = []
    running = previous.get("runningVersion") or _deployed_version(kube, namespace, name)

    verdict = versions.check_upgrade(running, str(spec["version"]))
    if not verdict.allowed:
        schema = SchemaState(
            ready=_condition_status(previous, SCHEMA_READY) is True,
            condition=_previous_condition(previous, SCHEMA_READY)
            or Condition(SCHEMA_READY, None, "Unknown", "not checked: the spec was refused"),
            job=previous.get("schemaJob"),
            version=previous.get("schemaVersion"),
        )
        refused = Condition(DEGRADED, True, verdict.reason, verdict.message)
        # Nothing is applied, so the add-ons' conditions stay as they were.
        kept = [
            _previous_condition(previous, kind)
            for kind in (SERVICE_MONITOR_READY, FRONTEND_CERTIFICATE_READY)
        ]
        status = _status(
            kube, name, namespace, spec, previous, generation, schema, refused=refused,
            extras=[condition for condition in kept if condition is not None],
        )  # fmt: skip
        status["runningVersion"] = running
        if _condition_reason(previous, DEGRADED) != verdict.reason:
            events.append(Event("Warning", verdict.reason, verdict.message))
        return Outcome(status, events)

    secret_version = _secret_version(kube, namespace, spec)
    extras: list[Condition] = []
    if isinstance(secret_version, Condition):
        schema = SchemaState(False, secret_version, previous.get("schemaJob"), previous.get("schemaVersion"))
    else:
        _ensure_supporting_objects(kube, name, namespace, spec, adopt=adopt)
        extras = _ensure_addons(kube, name, namespace, spec, adopt=adopt, owner=_owner_reference(body))
        schema = _ensure_schema(kube, name, namespace, spec, body, secret_version, previous, adopt=adopt)
        if schema.ready:
            # A ServiceMonitor in place scrapes the pods: their scrape annotations would make it twice.
            monitored = any(c.type == SERVICE_MONITOR_READY and c.status is True for c in extras)
            _ensure_roles(kube, name, namespace, spec, service_monitor=monitored, adopt=adopt)
    if schema.condition.reason != _condition_reason(previous, SCHEMA_READY):
        if schema.condition.status is False and schema.condition.reason != "Migrating":
            events.append(Event("Warning", schema.condition.reason, schema.condition.message))
        elif schema.ready:
            events.append(Event("Normal", "SchemaReady", schema.condition.message))
    for extra in extras:
        if extra.status is False and extra.reason != _condition_reason(previous, extra.type):
            events.append(Event("Warning", extra.reason, extra.message))
    status = _status(kube, name, namespace, spec, previous, generation, schema, refused=None, extras=extras)
    return Outcome(status, events)


# ---------------------------------------------------------------- steps


def _deployed_version(kube: Kube, namespace: str, name: str) -> str | None:
    """The version label of the cluster's existing Deployments (a resource that lost its status)."""
    found = [
        (d.get("metadata", {}).get("labels") or {}).get(render.VERSION_LABEL)
        for d in kube.list("Deployment", namespace, selector=f"{render.INSTANCE_LABEL}={name}")
    ]
    known = sorted({v for v in found if v}, key=versions.parse)
    return known[-1] if known else None


def _secret_version(kube: Kube, namespace: str, spec: dict[str, Any]) -> str | Condition:
    """The password Secret's resourceVersion ("" without one), or the condition saying what is wrong."""
    ref = render.password_secret(spec)
    if ref is None:
        return ""
    secret_name, key = ref
    secret = kube.get("Secret", namespace, secret_name)
    if secret is None:
        return Condition(
            SCHEMA_READY,
            False,
            "SecretNotFound",
            f"Secret {secret_name} (persistence password) not found in namespace {namespace}: create it "
            f"with the database password under key {key!r}",
        )
    if key not in (secret.get("data") or {}):
        return Condition(
            SCHEMA_READY,
            False,
            "SecretKeyNotFound",
            f"Secret {secret_name} has no key {key!r}: add the database password under that key "
            f"or set passwordSecretRef.key",
        )
    return str(secret["metadata"]["resourceVersion"])


def _ensure_supporting_objects(
    kube: Kube, name: str, namespace: str, spec: dict[str, Any], *, adopt: Adopt
) -> None:
    objects = [render.config_map(name, namespace, spec), render.frontend_service(name, namespace, spec)]
    for role in render.ROLES:
        objects.append(render.headless_service(name, namespace, spec, role))
        objects.append(render.pod_disruption_budget(name, namespace, role))
    for obj in objects:
        adopt(obj)
        kube.ensure(obj)


def _owner_reference(body: dict[str, Any]) -> dict[str, Any]:
    """The LegatoCluster as an owner, but not the controller, of an object another controller made.

    cert-manager may already be the controller of the Secret it issues (its
    ``--enable-certificate-owner-ref`` makes the Certificate that), and an
    object has at most one. The garbage collector deletes an object once all
    its owners are gone: that Certificate is the cluster's child, so deleting
    the cluster removes both owners.
    """
    meta = body["metadata"]
    return {
        "apiVersion": str(body.get("apiVersion") or render.api_version()),
        "kind": str(body.get("kind") or "LegatoCluster"),
        "name": meta["name"],
        "uid": meta["uid"],
    }


def _ensure_addons(
    kube: Kube, name: str, namespace: str, spec: dict[str, Any], *, adopt: Adopt, owner: dict[str, Any]
) -> list[Condition]:
    """The ServiceMonitor and the frontend Certificate, as far as the spec asks and the cluster has them."""
    conditions: list[Condition] = []
    steps: tuple[tuple[str, str, Callable[[], Condition | None]], ...] = (
        (
            SERVICE_MONITOR_READY,
            "ServiceMonitor",
            lambda: _ensure_service_monitor(kube, name, namespace, spec, adopt=adopt),
        ),
        (
            FRONTEND_CERTIFICATE_READY,
            "Certificate",
            lambda: _ensure_frontend_certificate(kube, name, namespace, spec, adopt=adopt, owner=owner),
        ),
    )
    for kind, what, step in steps:
        try:
            condition = step()
        except ApiException as error:
            # An add-on's API refusing (e.g. RBAC without its rules) must not stop the cluster's pass.
            log.warning("LegatoCluster %s/%s: %s step failed: %s", namespace, name, what, error)
            condition = Condition(
                kind, False, f"{what}ApplyFailed", f"the API server refused the {what}: {_api_reason(error)}"
            )
        if condition is not None:
            conditions.append(condition)
    return conditions


def _api_reason(error: ApiException) -> str:
    try:
        return f"{error.status} {json.loads(error.body or '')['message']}"
    except (TypeError, ValueError, KeyError):
        return f"{error.status} {error.reason}"


def _remove_owned(kube: Kube, kind: str, namespace: str, name: str, *, cluster: str) -> None:
    """Delete a child the spec no longer asks for; never an object of the same name someone else made."""
    if not kube.serves(kind):
        return
    found = kube.get(kind, namespace, name)
    found_labels = ((found or {}).get("metadata") or {}).get("labels") or {}
    if (
        found is not None
        and found_labels.get(render.INSTANCE_LABEL) == cluster
        and (found_labels.get(render.MANAGED_BY_LABEL) == "legato-operator")
    ):
        kube.delete(kind, namespace, name)


def _ensure_service_monitor(
    kube: Kube, name: str, namespace: str, spec: dict[str, Any], *, adopt: Adopt
) -> Condition | None:
    wanted = render.service_monitor(name, namespace, spec)
    monitor = render.service_monitor_name(name)
    if wanted is None:
        _remove_owned(kube, "ServiceMonitor", namespace, monitor, cluster=name)
        return None
    if not kube.serves("ServiceMonitor"):
        return Condition(
            SERVICE_MONITOR_READY,
            False,
            "ServiceMonitorCRDMissing",
            "metrics.serviceMonitor.enabled is set, but this Kubernetes has no monitoring.coreos.com/v1 "
            "ServiceMonitor kind: install prometheus-operator (or its CRDs) and the operator creates it on "
            "its next pass, or set metrics.serviceMonitor.enabled=false. Meanwhile the pods carry "
            "prometheus.io/scrape annotations for annotation-based scraping.",
        )
    adopt(wanted)
    kube.ensure(wanted)
    interval = wanted["spec"]["endpoints"][0]["interval"]
    return Condition(
        SERVICE_MONITOR_READY,
        True,
        "ServiceMonitorApplied",
        f"ServiceMonitor {monitor} scrapes port metrics of every role's pods every {interval}",
    )


def _ensure_frontend_certificate(
    kube: Kube, name: str, namespace: str, spec: dict[str, Any], *, adopt: Adopt, owner: dict[str, Any]
) -> Condition | None:
    wanted = render.frontend_certificate(name, namespace, spec)
    certificate = render.frontend_tls_certificate_name(name)
    if wanted is None:
        _remove_owned(kube, "Certificate", namespace, certificate, cluster=name)
        return None
    issuer = wanted["spec"]["issuerRef"]
    if not kube.serves("Certificate"):
        return Condition(
            FRONTEND_CERTIFICATE_READY,
            False,
            "CertManagerCRDMissing",
            f"frontend.tls.issuerRef names {issuer['kind']} {issuer['name']}, but this Kubernetes has no "
            "cert-manager.io/v1 Certificate kind: install cert-manager, or give frontend.tls.secretName "
            "(a Secret with tls.crt and tls.key) instead. The frontend pods wait for Secret "
            f"{certificate} until then.",
        )
    adopt(wanted)
    live = kube.ensure(wanted)
    secret = kube.get("Secret", namespace, certificate)
    data = (secret or {}).get("data") or {}
    if secret is not None and "tls.crt" in data and "tls.key" in data:
        ownership = _adopt_issued_secret(kube, namespace, secret, certificate=certificate, owner=owner)
        return Condition(
            FRONTEND_CERTIFICATE_READY,
            True,
            "CertificateIssued",
            f"Secret {certificate} holds the frontend certificate (Certificate {certificate}, "
            f"{issuer['kind']} {issuer['name']}); {ownership}",
        )
    said = next(
        (
            c.get("message", "")
            for c in ((live or {}).get("status") or {}).get("conditions") or []
            if c.get("type") == "Ready" and c.get("status") == "False"
        ),
        "",
    )
    return Condition(
        FRONTEND_CERTIFICATE_READY,
        False,
        "WaitingForCertManager",
        f"waiting for cert-manager to issue Certificate {certificate} ({issuer['kind']} {issuer['name']}) "
        f"into Secret {certificate}; the frontend pods start once it exists"
        + (f". cert-manager says: {said}" if said else "")
        + f". See kubectl describe certificate {certificate}.",
    )


def _adopt_issued_secret(
    kube: Kube, namespace: str, secret: dict[str, Any], *, certificate: str, owner: dict[str, Any]
) -> str:
    """Make the cluster an owner of the Secret cert-manager issued, so deleting the cluster deletes it.

    cert-manager writes the Secret without an owner (unless it runs with
    ``--enable-certificate-owner-ref``, and then its owner is the Certificate),
    so without this it would outlive the LegatoCluster and its Certificate.
    Only a Secret cert-manager says it issued for this Certificate (its
    ``cert-manager.io/certificate-name`` annotation) is adopted: one of the
    same name that someone else made is theirs to keep. Returns what the
    condition says about it.
    """
    meta = secret.get("metadata") or {}
    if any(ref.get("uid") == owner["uid"] for ref in meta.get("ownerReferences") or []):
        return "it is owned by the LegatoCluster and deleted with it"
    issued_for = (meta.get("annotations") or {}).get(CERTIFICATE_NAME_ANNOTATION)
    if issued_for != certificate:
        return (
            f"it lacks annotation {CERTIFICATE_NAME_ANNOTATION}={certificate}, so cert-manager did not issue "
            "it: it is left as it is and outlives the LegatoCluster"
        )
    try:
        kube.add_owner_reference("Secret", namespace, meta["name"], owner)
    except ApiException as error:
        log.warning("LegatoCluster %s/%s: could not adopt Secret %s: %s", namespace, owner["name"],
                    meta["name"], _api_reason(error))  # fmt: skip
        return (
            f"it could not be given the LegatoCluster as owner ({_api_reason(error)}; the operator needs "
            "patch on secrets), so it would outlive the LegatoCluster"
        )
    return "it is owned by the LegatoCluster and deleted with it"


def _ensure_schema(
    kube: Kube,
    name: str,
    namespace: str,
    spec: dict[str, Any],
    body: dict[str, Any],
    secret_version: str,
    previous: dict[str, Any],
    *,
    adopt: Adopt,
) -> SchemaState:
    retry_token = (body["metadata"].get("annotations") or {}).get(render.RETRY_SCHEMA_ANNOTATION, "")
    job_name = render.schema_job_name(name, spec, secret_version=secret_version, retry_token=retry_token)
    job = kube.get("Job", namespace, job_name)
    if job is None:
        job = render.schema_job(name, namespace, spec, job_name=job_name)
        adopt(job)
        kube.ensure(job)
        return SchemaState(
            False, Condition(SCHEMA_READY, False, "Migrating", f"schema Job {job_name} started"), job_name
        )
    states = {c["type"]: c["status"] for c in (job.get("status") or {}).get("conditions") or []}
    if states.get("Complete") == "True":
        # The version a previous pass read from this Job's log; not the one carried over from the
        # Job before it while this one was still migrating (status keeps showing the old version then).
        seen_complete = (
            previous.get("schemaJob") == job_name
            and _condition_reason(previous, SCHEMA_READY) == "SchemaUpToDate"
        )
        version = previous.get("schemaVersion") if seen_complete else None
        if version is None:
            version = render.parse_schema_version(_job_log(kube, namespace, job_name)) or "unknown"
        _forget_old_schema_jobs(kube, namespace, name, keep=job_name)
        message = f"schema at version {version} (Job {job_name} completed)"
        return SchemaState(True, Condition(SCHEMA_READY, True, "SchemaUpToDate", message), job_name, version)
    if states.get("Failed") == "True":
        tail = _job_log(kube, namespace, job_name).strip() or "(the pod left no log)"
        message = (
            f"schema Job {job_name} failed; last lines of its log:\n{tail}\n"
            f"Fix the cause (a wrong password: update the Secret; the operator then runs a new Job), "
            f"or set annotation {render.RETRY_SCHEMA_ANNOTATION} to a new value to retry. "
            f"The failed Job is kept for inspection."
        )
        return SchemaState(False, Condition(SCHEMA_READY, False, "MigrationFailed", message), job_name)
    return SchemaState(
        False, Condition(SCHEMA_READY, False, "Migrating", f"schema Job {job_name} is running"), job_name
    )


def _job_log(kube: Kube, namespace: str, job_name: str) -> str:
    pods = kube.list("Pod", namespace, selector=f"job-name={job_name}")
    if not pods:
        return ""
    pods.sort(key=lambda pod: pod["metadata"].get("creationTimestamp", ""))
    return kube.pod_log(namespace, pods[-1]["metadata"]["name"], tail_lines=LOG_TAIL_LINES)


def _forget_old_schema_jobs(kube: Kube, namespace: str, name: str, *, keep: str) -> None:
    """Once a migration succeeded, earlier Jobs (failed ones included) have told their story."""
    selector = f"{render.INSTANCE_LABEL}={name},{render.COMPONENT_LABEL}=schema"
    for job in kube.list("Job", namespace, selector=selector):
        if job["metadata"]["name"] != keep:
            kube.delete("Job", namespace, job["metadata"]["name"])


def _ensure_roles(
    kube: Kube, name: str, namespace: str, spec: dict[str, Any], *, service_monitor: bool, adopt: Adopt
) -> None:
    config_map = render.config_map(name, namespace, spec)
    for role in render.ROLES:
        deployment = render.role_deployment(
            name,
            namespace,
            spec,
            role,
            config_digest=render.config_hash(config_map, role),
            service_monitor=service_monitor,
        )
        adopt(deployment)
        kube.ensure(deployment)
        autoscaler = render.horizontal_pod_autoscaler(name, namespace, spec, role)
        if autoscaler is None:
            kube.delete("HorizontalPodAutoscaler", namespace, render.deployment_name(name, role))
        else:
            adopt(autoscaler)
            kube.ensure(autoscaler)


# ---------------------------------------------------------------- status


def _health_tls(kube: Kube, namespace: str, spec: dict[str, Any]) -> health.TLSMaterial | None | str:
    """How to reach the roles' ports: plain (None), with the internode certificate, or why not (a str).

    With internode TLS every port wants a client certificate, so the operator
    presents the internode one, read from its Secret, and asks for the
    internode name; the frontend's public certificate needs internode TLS too
    (the CRD says so), so this one material reaches every port.
    """
    internode = spec.get("internodeTLS")
    if not internode:
        return None
    secret = kube.get("Secret", namespace, internode["secretName"])
    data = (secret or {}).get("data") or {}
    missing = [key for key in ("ca.crt", "tls.crt", "tls.key") if key not in data]
    if secret is None or missing:
        return f"internodeTLS Secret {internode['secretName']} is missing or lacks {', '.join(missing) or 'it all'}"
    return health.TLSMaterial(
        ca=base64.b64decode(data["ca.crt"]),
        cert=base64.b64decode(data["tls.crt"]),
        key=base64.b64decode(data["tls.key"]),
        server_name=internode.get("serverName"),
    )


def _role_status(
    kube: Kube, name: str, namespace: str, role: str, tls: health.TLSMaterial | None | str
) -> dict[str, Any]:
    deployment = kube.get("Deployment", namespace, render.deployment_name(name, role))
    if deployment is None:
        return {
            "desired": 0,
            "ready": 0,
            "serving": 0,
            "rolledOut": False,
            "version": None,
            "problems": ["no Deployment yet"],
        }
    desired = int(deployment["spec"].get("replicas", 0))
    state = deployment.get("status") or {}
    rolled_out = (
        int(state.get("observedGeneration", 0)) >= int(deployment["metadata"].get("generation", 0))
        and int(state.get("updatedReplicas", 0)) == desired
        and int(state.get("replicas", 0)) == desired
        and int(state.get("availableReplicas", 0)) == desired
    )
    addresses = kube.endpoint_addresses(namespace, render.headless_service_name(name, role))

    def ask(address: str) -> str:
        if isinstance(tls, str):
            return f"UNCHECKED: {tls}"
        return health.check(f"{address}:{render.GRPC_PORT}", timeout=HEALTH_TIMEOUT_S, tls=tls)

    # In parallel: a pass must not take (pods x timeout) when many pods do not answer.
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = dict(zip(addresses, pool.map(ask, addresses), strict=True))
    serving = sum(1 for answer in answers.values() if answer == health.SERVING)
    problems = [f"{address}: {answer}" for address, answer in answers.items() if answer != health.SERVING]
    return {
        "desired": desired,
        "ready": int(state.get("readyReplicas", 0)),
        "serving": serving,
        "rolledOut": rolled_out,
        "version": (deployment["spec"]["template"]["metadata"].get("labels") or {}).get(render.VERSION_LABEL),
        "problems": problems,
    }


def _frontend_health(kube: Kube, name: str, namespace: str, tls: health.TLSMaterial | None | str) -> str:
    service = kube.get("Service", namespace, render.frontend_service_name(name))
    if service is None or not service["spec"].get("clusterIP"):
        return "UNREACHABLE: no frontend Service yet"
    if isinstance(tls, str):
        return f"UNCHECKED: {tls}"
    return health.check(
        f"{service['spec']['clusterIP']}:{render.GRPC_PORT}", timeout=HEALTH_TIMEOUT_S, tls=tls
    )


def _status(
    kube: Kube,
    name: str,
    namespace: str,
    spec: dict[str, Any],
    previous: dict[str, Any],
    generation: int,
    schema: SchemaState,
    *,
    refused: Condition | None,
    extras: list[Condition],
) -> dict[str, Any]:
    tls = _health_tls(kube, namespace, spec)
    roles = {role: _role_status(kube, name, namespace, role, tls) for role in render.ROLES}
    serving_roles = [r for r, s in roles.items() if s["desired"] > 0 and s["serving"] >= s["desired"]]
    frontend = (
        _frontend_health(kube, name, namespace, tls)
        if roles["frontend"]["serving"]
        else "UNREACHABLE: no frontend pod serving"
    )
    all_rolled_out = all(s["rolledOut"] for s in roles.values())
    wanted = str(spec["version"])
    running = previous.get("runningVersion")
    if all_rolled_out and all(s["version"] == wanted for s in roles.values()) and refused is None:
        running = wanted

    if len(serving_roles) == len(render.ROLES) and frontend == health.SERVING:
        ready = Condition(
            READY, True, "AllRolesServing", "every role's gRPC health is SERVING, through its Service"
        )
    else:
        lagging = [
            f"{role}: {s['serving']}/{s['desired']} pods SERVING"
            + (f" ({'; '.join(s['problems'][:3])})" if s["problems"] else "")
            for role, s in roles.items()
            if role not in serving_roles
        ]
        if not lagging:
            lagging = [f"frontend Service: {frontend}"]
        # Why a role may be stuck that its pods cannot say (e.g. the TLS Secret not issued yet).
        lagging += [f"{c.type}: {c.reason}" for c in extras if c.status is not True]
        reason = (
            "WaitingForSchema"
            if not schema.ready and not any(s["desired"] for s in roles.values())
            else "RolesNotServing"
        )
        ready = Condition(READY, False, reason, "; ".join(lagging))

    if refused is not None:
        progressing = Condition(PROGRESSING, False, "ChangeRefused", refused.message)
    elif not schema.ready and schema.condition.reason == "Migrating":
        progressing = Condition(PROGRESSING, True, "Migrating", schema.condition.message)
    elif not schema.ready:
        progressing = Condition(
            PROGRESSING, False, "Blocked", f"waiting for the schema: {schema.condition.reason}"
        )
    elif not all_rolled_out:
        rolling = [r for r, s in roles.items() if not s["rolledOut"]]
        certificate = next(
            (c for c in extras if c.type == FRONTEND_CERTIFICATE_READY and c.status is not True), None
        )
        if "frontend" in rolling and certificate is not None:
            # Its pods cannot start without the Secret: say what the roll waits for.
            progressing = Condition(PROGRESSING, True, "WaitingForCertificate", certificate.message)
        else:
            progressing = Condition(PROGRESSING, True, "RollingOut", f"rolling out: {', '.join(rolling)}")
    else:
        progressing = Condition(PROGRESSING, False, "ReconcileComplete", f"running version {running}")

    if refused is not None:
        degraded = refused
    elif schema.condition.status is False and schema.condition.reason != "Migrating":
        degraded = Condition(DEGRADED, True, schema.condition.reason, schema.condition.message)
    elif all_rolled_out and ready.status is not True:
        degraded = Condition(DEGRADED, True, "RolesNotServing", ready.message)
    else:
        degraded = Condition(DEGRADED, False, "AsExpected", "no problem found")

    return {
        "observedGeneration": generation,
        "runningVersion": running,
        "schemaVersion": schema.version or previous.get("schemaVersion"),
        "schemaJob": schema.job,
        "frontendAddress": render.frontend_address(name, namespace),
        "readyRoles": f"{len(serving_roles)}/{len(render.ROLES)}",
        "roles": {
            role: {k: s[k] for k in ("desired", "ready", "serving", "version")} for role, s in roles.items()
        },
        "conditions": merge(
            previous.get("conditions"),
            [ready, progressing, schema.condition, degraded, *extras],
            generation=generation,
        ),
    }


def _previous_condition(previous: dict[str, Any], kind: str) -> Condition | None:
    for entry in previous.get("conditions") or []:
        if entry.get("type") == kind:
            status = {"True": True, "False": False}.get(entry.get("status", ""))
            return Condition(kind, status, entry.get("reason", ""), entry.get("message", ""))
    return None


def _condition_status(previous: dict[str, Any], kind: str) -> bool | None:
    condition = _previous_condition(previous, kind)
    return None if condition is None else condition.status


def _condition_reason(previous: dict[str, Any], kind: str) -> str | None:
    condition = _previous_condition(previous, kind)
    return None if condition is None else condition.reason
