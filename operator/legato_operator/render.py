"""A LegatoCluster's children as plain dicts: pure functions, no API calls.

Everything the operator creates is decided here from the resource's spec (and
the few facts of the live cluster passed in as arguments), so it can be read
and unit-tested without a cluster:

* one ConfigMap ``<cluster>-config`` with one server config per role
  (``frontend.yaml``, ...); each role's pod template carries the hash of its
  own file, so a config change rolls exactly the pods it concerns;
* per role a Deployment ``<cluster>-<role>`` (``legato-server start --services
  <role>``; the pod IP from the downward API as ``LEGATO_ADVERTISE_ADDRESS``;
  the DB password from its Secret as ``LEGATO_DB_PASSWORD``; readiness on the
  role's gRPC health, which is SERVING only when the role can serve;
  ``terminationGracePeriodSeconds`` longer than the server's drain), a
  headless Service ``<cluster>-<role>-headless`` and a PodDisruptionBudget;
* a ClusterIP (or the configured type) Service ``<cluster>-frontend``;
* Prometheus metrics (``spec.metrics``, on by default): each role serves
  ``/metrics`` on ``metrics.port`` (9090), named ``metrics`` on the container
  and on the role's headless Service, which then carries the
  ``legato.dev/metrics`` label a ServiceMonitor selects by; the pod template
  carries the ``prometheus.io/scrape``, ``/port`` and ``/path`` annotations
  that annotation-based scrape configs read. Pods only, not Services, so such
  a config does not scrape twice; and not when a ServiceMonitor scrapes the
  pods (the reconciler created one), so a Prometheus that reads both does not
  scrape each pod twice either. A ``pod.annotations`` override of the same
  keys wins. With ``metrics.enabled: false`` none of this is rendered (no
  port, no label, no annotations, no ``metrics:`` in the server config);
* with ``metrics.serviceMonitor.enabled``, a ``monitoring.coreos.com/v1``
  ServiceMonitor ``<cluster>`` selecting those headless Services (the
  reconciler creates it only when that CRD is served);
* the server's log level and format (``spec.logging``) as ``legato-server
  start --log-level/--log-format``;
* with ``frontend.tls.issuerRef``, a ``cert-manager.io/v1`` Certificate
  ``<cluster>-frontend-tls`` for the frontend Service's DNS names; its Secret
  (same name) is mounted exactly as a ``frontend.tls.secretName`` would be;
* with autoscaling on, a HorizontalPodAutoscaler, and the Deployment is
  rendered **without** ``replicas`` so a patch never fights the HPA;
* the schema Job ``<cluster>-schema-<digest>``: its name is a digest of what
  the migration depends on (image, persistence, the password Secret's
  resourceVersion, a retry token), so a changed input gets a new Job and a
  failed Job is kept, never recreated under the same name.

Persistence secrets never enter the ConfigMap: the password reaches the server
and the schema tool only through ``LEGATO_DB_PASSWORD``.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from typing import Any

from legato_operator import GROUP, VERSION

ROLES = ("frontend", "history", "matching")
GRPC_PORT = 7233
METRICS_PORT = 9090
"""The default ``metrics.port``: where every role serves Prometheus ``/metrics`` (docs/metrics.md)."""
METRICS_PATH = "/metrics"
DEFAULT_SCRAPE_INTERVAL = "30s"
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("text", "json")
"""What ``legato-server start --log-level/--log-format`` accept (the CRD's enums say the same)."""
DEFAULT_REPOSITORY = "legato.local/legato/legato"
DRAIN_MARGIN_S = 20
"""Seconds a pod gets beyond the server's drain before the kubelet kills it."""
APP_UID = 10001

NAME_LABEL = "app.kubernetes.io/name"
INSTANCE_LABEL = "app.kubernetes.io/instance"
COMPONENT_LABEL = "app.kubernetes.io/component"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
VERSION_LABEL = "app.kubernetes.io/version"
CONFIG_HASH_ANNOTATION = f"{GROUP}/config-hash"
SCHEMA_JOB_LABEL = f"{GROUP}/schema-job"
RETRY_SCHEMA_ANNOTATION = f"{GROUP}/retry-schema"
"""Set (to any new value) on a LegatoCluster to run its schema Job again."""
METRICS_SERVICE_LABEL = f"{GROUP}/metrics"
"""On the headless Services that expose a ``metrics`` port: what the ServiceMonitor selects."""
SERVICE_MONITOR_API = ("monitoring.coreos.com", "v1", "servicemonitors")
CERTIFICATE_API = ("cert-manager.io", "v1", "certificates")
"""(group, version, plural) of the optional kinds; the reconciler asks API discovery for them."""
SIDECAR_OPT_OUT = {"sidecar.istio.io/inject": "false", "linkerd.io/inject": "disabled"}
"""A schema Job must finish: a mesh sidecar that never exits would keep it running."""


# ---------------------------------------------------------------- names and labels


def labels(cluster: str, component: str | None = None, *, version: str | None = None) -> dict[str, str]:
    result = {NAME_LABEL: "legato", INSTANCE_LABEL: cluster, MANAGED_BY_LABEL: "legato-operator"}
    if component is not None:
        result[COMPONENT_LABEL] = component
    if version is not None:
        result[VERSION_LABEL] = version
    return result


def selector(cluster: str, role: str) -> dict[str, str]:
    """The labels that pick one role's pods (never changes for a Deployment's lifetime)."""
    return {NAME_LABEL: "legato", INSTANCE_LABEL: cluster, COMPONENT_LABEL: role}


def deployment_name(cluster: str, role: str) -> str:
    return f"{cluster}-{role}"


def headless_service_name(cluster: str, role: str) -> str:
    return f"{cluster}-{role}-headless"


def frontend_service_name(cluster: str) -> str:
    return f"{cluster}-frontend"


def config_map_name(cluster: str) -> str:
    return f"{cluster}-config"


def frontend_tls_certificate_name(cluster: str) -> str:
    """The Certificate, and the Secret cert-manager writes for it, with ``frontend.tls.issuerRef``."""
    return f"{cluster}-frontend-tls"


def service_monitor_name(cluster: str) -> str:
    return cluster


def frontend_address(cluster: str, namespace: str) -> str:
    return f"{frontend_service_name(cluster)}.{namespace}.svc:{GRPC_PORT}"


def _meta(name: str, namespace: str, object_labels: dict[str, str]) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": dict(object_labels)}


def _digest(value: Any, length: int = 16) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:length]


# ---------------------------------------------------------------- spec helpers


def image(spec: dict[str, Any]) -> str:
    """``spec.image``, else ``<imageRepository>:<version>``."""
    if spec.get("image"):
        return str(spec["image"])
    return f"{spec.get('imageRepository') or DEFAULT_REPOSITORY}:{spec['version']}"


def role_spec(spec: dict[str, Any], role: str) -> dict[str, Any]:
    return dict(spec.get(role) or {})


def autoscaling(spec: dict[str, Any], role: str) -> dict[str, Any] | None:
    """The role's autoscaling settings with defaults, or None when it is off."""
    settings = role_spec(spec, role).get("autoscaling") or {}
    if not settings.get("enabled"):
        return None
    return {
        "minReplicas": int(settings.get("minReplicas", 1)),
        "maxReplicas": int(settings.get("maxReplicas", 3)),
        "targetCPUUtilizationPercentage": int(settings.get("targetCPUUtilizationPercentage", 75)),
    }


def replicas(spec: dict[str, Any], role: str) -> int:
    return int(role_spec(spec, role).get("replicas", 1))


def shutdown_grace_seconds(spec: dict[str, Any]) -> int:
    return int(spec.get("shutdownGraceSeconds", 10))


def metrics_port(spec: dict[str, Any]) -> int | None:
    """The port every role serves ``/metrics`` on, or None with ``metrics.enabled: false``."""
    settings = spec.get("metrics") or {}
    if not settings.get("enabled", True):
        return None
    return int(settings.get("port", METRICS_PORT))


def service_monitor_settings(spec: dict[str, Any]) -> dict[str, Any] | None:
    """``{interval, labels}`` when a ServiceMonitor is wanted (metrics on and asked for), else None."""
    settings = (spec.get("metrics") or {}).get("serviceMonitor") or {}
    if metrics_port(spec) is None or not settings.get("enabled"):
        return None
    return {
        "interval": str(settings.get("interval") or DEFAULT_SCRAPE_INTERVAL),
        "labels": dict(settings.get("labels") or {}),
    }


def logging_settings(spec: dict[str, Any]) -> tuple[str, str]:
    """``(level, format)`` for the server's ``--log-level``/``--log-format`` (defaults info, text)."""
    settings = spec.get("logging") or {}
    return str(settings.get("level", "info")), str(settings.get("format", "text"))


def frontend_tls_secret(name: str, spec: dict[str, Any]) -> str | None:
    """The Secret the frontend's certificate is mounted from: the named one, or cert-manager's."""
    tls = role_spec(spec, "frontend").get("tls")
    if not tls:
        return None
    if tls.get("issuerRef"):
        return frontend_tls_certificate_name(name)
    return str(tls["secretName"])


def password_secret(spec: dict[str, Any]) -> tuple[str, str] | None:
    """``(secret name, key)`` of the database password, if the spec names one."""
    persistence = spec["persistence"]
    ref = (persistence.get(persistence["type"]) or {}).get("passwordSecretRef")
    if not ref:
        return None
    return str(ref["name"]), str(ref.get("key") or "password")


# ---------------------------------------------------------------- server config

CONFIG_DIR = "/etc/legato/config"
DB_TLS_DIR = "/etc/legato/db-tls"
FRONTEND_TLS_DIR = "/etc/legato/tls"
INTERNODE_TLS_DIR = "/etc/legato/internode"


def _persistence_config(spec: dict[str, Any]) -> dict[str, Any]:
    persistence = spec["persistence"]
    kind = persistence["type"]
    settings = persistence.get(kind) or {}
    if kind == "mysql":
        store: dict[str, Any] = {
            "host": settings["host"],
            "port": int(settings.get("port", 3306)),
            "user": settings.get("user", "legato"),
            "database": settings.get("database", "legato"),
        }
        if settings.get("tls"):
            store["tls_ca"] = f"{DB_TLS_DIR}/ca.crt"
    else:
        store = {
            "hosts": list(settings["hosts"]),
            "port": int(settings.get("port", 9042)),
            "keyspace": settings.get("keyspace", "legato"),
            "replication_factor": int(settings.get("replicationFactor", 1)),
            "consistency": settings.get("consistency", "LOCAL_QUORUM"),
        }
        for source, target in (("user", "user"), ("datacenter", "datacenter")):
            if settings.get(source):
                store[target] = settings[source]
        if settings.get("tls"):
            store["tls_ca"] = f"{DB_TLS_DIR}/ca.crt"
    return {"kind": kind, kind: store}


def server_config(name: str, spec: dict[str, Any], role: str) -> dict[str, Any]:
    """The ``legato-server start --config`` file of one role (see ``server_config_from_mapping``)."""
    config: dict[str, Any] = {
        "host": "0.0.0.0",
        "port": GRPC_PORT,
        "services": [role],
        "num_history_shards": int(spec["numHistoryShards"]),
        "cluster_name": name,
        "persistence": _persistence_config(spec),
        "shutdown_grace_seconds": shutdown_grace_seconds(spec),
    }
    port = metrics_port(spec)
    if port is not None:
        config["metrics"] = {"port": port, "host": "0.0.0.0"}
    if role == "frontend":
        config["namespaces"] = ["default"]
        tls = role_spec(spec, "frontend").get("tls")
        if tls:
            config["tls"] = {
                "cert_file": f"{FRONTEND_TLS_DIR}/tls.crt",
                "key_file": f"{FRONTEND_TLS_DIR}/tls.key",
            }
            if tls.get("requireClientCertificate"):
                config["tls"]["client_ca_file"] = f"{FRONTEND_TLS_DIR}/ca.crt"
                config["tls"]["require_client_certificate"] = True
    internode = spec.get("internodeTLS")
    if internode:
        config["internode_tls"] = {
            "cert_file": f"{INTERNODE_TLS_DIR}/tls.crt",
            "key_file": f"{INTERNODE_TLS_DIR}/tls.key",
            "ca_file": f"{INTERNODE_TLS_DIR}/ca.crt",
        }
        if internode.get("serverName"):
            config["internode_tls"]["server_name"] = internode["serverName"]
    return config


def config_file(role: str) -> str:
    return f"{role}.yaml"


def config_map(name: str, namespace: str, spec: dict[str, Any]) -> dict[str, Any]:
    # JSON is YAML: the server's YAML loader reads it, and the operator needs no YAML writer.
    data = {
        config_file(role): json.dumps(server_config(name, spec, role), indent=2, sort_keys=True) + "\n"
        for role in ROLES
    }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(config_map_name(name), namespace, labels(name, "config")),
        "data": data,
    }


def config_hash(config_map_object: dict[str, Any], role: str) -> str:
    """The hash of one role's config file, set on that role's pod template."""
    return _digest(config_map_object["data"][config_file(role)])


# ---------------------------------------------------------------- pods


def _container_security() -> dict[str, Any]:
    return {
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }


def _pod_security() -> dict[str, Any]:
    return {"runAsNonRoot": True, "runAsUser": APP_UID, "runAsGroup": APP_UID, "fsGroup": APP_UID}


def _password_env(spec: dict[str, Any]) -> list[dict[str, Any]]:
    secret = password_secret(spec)
    if secret is None:
        return []
    name, key = secret
    return [{"name": "LEGATO_DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": name, "key": key}}}]


def _secret_volume(volume: str, secret_name: str, mount_path: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return (
        {"name": volume, "secret": {"secretName": secret_name, "defaultMode": 0o440}},
        {"name": volume, "mountPath": mount_path, "readOnly": True},
    )


def _db_tls_volumes(spec: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    persistence = spec["persistence"]
    tls = (persistence.get(persistence["type"]) or {}).get("tls")
    return [_secret_volume("db-tls", tls["secretName"], DB_TLS_DIR)] if tls else []


def _tls_on_port(spec: dict[str, Any], role: str) -> bool:
    """Whether this role's gRPC port speaks TLS (then the kubelet's grpc probe cannot check it)."""
    return bool(spec.get("internodeTLS")) or (role == "frontend" and bool(role_spec(spec, role).get("tls")))


def readiness_probe(spec: dict[str, Any], role: str) -> dict[str, Any]:
    """The role's gRPC health ("" is SERVING only when the role can serve: history has its shards).

    Plain gRPC: the kubelet's native ``grpc`` probe. Over TLS: an exec probe of
    ``legato_operator.health`` (in the same image) that trusts the mounted CA.
    """
    timing = {"periodSeconds": 2, "timeoutSeconds": 2, "failureThreshold": 2}
    if not _tls_on_port(spec, role):
        return {"grpc": {"port": GRPC_PORT}, **timing}
    command = ["python", "-m", "legato_operator.health", f"127.0.0.1:{GRPC_PORT}"]
    if spec.get("internodeTLS"):
        directory = INTERNODE_TLS_DIR
    else:
        directory = FRONTEND_TLS_DIR
    command += [
        "--ca",
        f"{directory}/ca.crt",
        "--cert",
        f"{directory}/tls.crt",
        "--key",
        f"{directory}/tls.key",
    ]
    server_name = (spec.get("internodeTLS") or {}).get("serverName")
    if server_name:
        command += ["--server-name", server_name]
    return {"exec": {"command": command}, **{**timing, "timeoutSeconds": 5}}


def with_default_tracing(spec: dict[str, Any], endpoint: str | None) -> dict[str, Any]:
    """``spec`` with ``tracing.otlpEndpoint`` set to the operator's default when the cluster names none.

    The default comes from the operator's installation (the Helm chart's
    ``tracing.otlpEndpoint``), so every cluster it manages reports traces
    without each one repeating the collector's address; a cluster's own value wins.
    """
    if not endpoint or (spec.get("tracing") or {}).get("otlpEndpoint"):
        return spec
    return {**spec, "tracing": {**(spec.get("tracing") or {}), "otlpEndpoint": endpoint}}


def scrape_annotations(spec: dict[str, Any], *, service_monitor: bool) -> dict[str, str]:
    """The ``prometheus.io/*`` pod annotations: none with metrics off or a ServiceMonitor scraping the pods."""
    port = metrics_port(spec)
    if port is None or service_monitor:
        return {}
    return {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(port),
        "prometheus.io/path": METRICS_PATH,
    }


def role_deployment(
    name: str,
    namespace: str,
    spec: dict[str, Any],
    role: str,
    *,
    config_digest: str,
    service_monitor: bool = False,
) -> dict[str, Any]:
    """One role's Deployment; without ``replicas`` when the role autoscales (the HPA owns it).

    ``service_monitor``: whether the cluster's ServiceMonitor exists and scrapes
    the pods (then they carry no scrape annotations).
    """
    role_settings = role_spec(spec, role)
    pod_overrides = role_settings.get("pod") or {}
    version = str(spec["version"])
    pod_labels = {**(pod_overrides.get("labels") or {}), **labels(name, role, version=version)}
    port = metrics_port(spec)
    scrape = scrape_annotations(spec, service_monitor=service_monitor)
    pod_annotations = {
        **scrape,
        **(pod_overrides.get("annotations") or {}),
        CONFIG_HASH_ANNOTATION: config_digest,
    }
    env: list[dict[str, Any]] = [
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "LEGATO_ADVERTISE_ADDRESS", "value": f"$(POD_IP):{GRPC_PORT}"},
        *_password_env(spec),
    ]
    endpoint = (spec.get("tracing") or {}).get("otlpEndpoint")
    if endpoint:
        env.append({"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": endpoint})
        env.append({"name": "OTEL_SERVICE_NAME", "value": f"legato-{role}"})
    secret_volumes = list(_db_tls_volumes(spec))
    tls_secret = frontend_tls_secret(name, spec) if role == "frontend" else None
    if tls_secret:
        secret_volumes.append(_secret_volume("frontend-tls", tls_secret, FRONTEND_TLS_DIR))
    if spec.get("internodeTLS"):
        secret_volumes.append(
            _secret_volume("internode-tls", spec["internodeTLS"]["secretName"], INTERNODE_TLS_DIR)
        )
    log_level, log_format = logging_settings(spec)
    ports = [{"name": "grpc", "containerPort": GRPC_PORT, "protocol": "TCP"}]
    if port is not None:
        ports.append({"name": "metrics", "containerPort": port, "protocol": "TCP"})
    container = {
        "name": "server",
        "image": image(spec),
        "imagePullPolicy": spec.get("imagePullPolicy", "IfNotPresent"),
        # args, not command: the image's entrypoint (tini) stays PID 1 and forwards SIGTERM.
        # The config files sit in a sub-directory so TLS material can live beside them.
        "args": [
            "legato-server",
            "start",
            "--config",
            f"{CONFIG_DIR}/{config_file(role)}",
            "--services",
            role,
            "--log-level",
            log_level,
            "--log-format",
            log_format,
        ],
        "env": env,
        "ports": ports,
        "readinessProbe": readiness_probe(spec, role),
        # Liveness asks only that the process answers on its port: a history host
        # waiting for shards is not ready, but restarting it would not help.
        "startupProbe": {"tcpSocket": {"port": GRPC_PORT}, "periodSeconds": 2, "failureThreshold": 90},
        "livenessProbe": {"tcpSocket": {"port": GRPC_PORT}, "periodSeconds": 10, "failureThreshold": 6},
        "resources": role_settings.get("resources") or {"requests": {"cpu": "50m", "memory": "128Mi"}},
        "securityContext": _container_security(),
        "volumeMounts": [
            {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
            *(mount for _, mount in secret_volumes),
        ],
    }
    pod_spec: dict[str, Any] = {
        "securityContext": _pod_security(),
        "enableServiceLinks": False,
        "automountServiceAccountToken": False,
        "terminationGracePeriodSeconds": shutdown_grace_seconds(spec) + DRAIN_MARGIN_S,
        "containers": [container],
        "volumes": [
            {"name": "config", "configMap": {"name": config_map_name(name)}},
            {"name": "tmp", "emptyDir": {}},
            *(volume for volume, _ in secret_volumes),
        ],
    }
    for key in ("nodeSelector", "tolerations", "affinity"):
        if pod_overrides.get(key):
            pod_spec[key] = pod_overrides[key]
    if spec.get("imagePullSecrets"):
        pod_spec["imagePullSecrets"] = spec["imagePullSecrets"]
    deployment_spec: dict[str, Any] = {
        "selector": {"matchLabels": selector(name, role)},
        # Never below the wanted count during a roll: a new pod must be Ready
        # (its role serving) before an old one is asked to drain.
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
        "template": {"metadata": {"labels": pod_labels, "annotations": pod_annotations}, "spec": pod_spec},
    }
    if autoscaling(spec, role) is None:
        deployment_spec["replicas"] = replicas(spec, role)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(deployment_name(name, role), namespace, labels(name, role, version=version)),
        "spec": deployment_spec,
    }


# ---------------------------------------------------------------- services, budgets, autoscalers


def _grpc_port() -> dict[str, Any]:
    return {"name": "grpc", "port": GRPC_PORT, "targetPort": "grpc", "protocol": "TCP", "appProtocol": "grpc"}


def headless_service(name: str, namespace: str, spec: dict[str, Any], role: str) -> dict[str, Any]:
    """Per-pod DNS records of one role; not-ready pods included, so their health can be asked.

    With metrics on, it also names the ``metrics`` port and carries
    ``METRICS_SERVICE_LABEL``: the ServiceMonitor selects these Services (not
    the frontend's ClusterIP one, which shares the role's labels), so each pod
    is scraped once.
    """
    service_labels = labels(name, role)
    ports = [_grpc_port()]
    port = metrics_port(spec)
    if port is not None:
        service_labels[METRICS_SERVICE_LABEL] = "true"
        ports.append({"name": "metrics", "port": port, "targetPort": "metrics", "protocol": "TCP"})
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(headless_service_name(name, role), namespace, service_labels),
        "spec": {
            "clusterIP": "None",
            "publishNotReadyAddresses": True,
            "selector": selector(name, role),
            "ports": ports,
        },
    }


def service_monitor(name: str, namespace: str, spec: dict[str, Any]) -> dict[str, Any] | None:
    """A prometheus-operator ServiceMonitor scraping every role's pods, or None when not wanted.

    It selects the cluster's headless Services by ``METRICS_SERVICE_LABEL``, in
    this namespace only; the user's ``labels`` go on the object, where a
    Prometheus's ``serviceMonitorSelector`` looks for them. The ``component``
    label becomes a target label, so series say which role they came from.
    """
    settings = service_monitor_settings(spec)
    if settings is None:
        return None
    match = {NAME_LABEL: "legato", INSTANCE_LABEL: name, METRICS_SERVICE_LABEL: "true"}
    group, version, _ = SERVICE_MONITOR_API
    return {
        "apiVersion": f"{group}/{version}",
        "kind": "ServiceMonitor",
        "metadata": _meta(
            service_monitor_name(name), namespace, {**settings["labels"], **labels(name, "metrics")}
        ),
        "spec": {
            "selector": {"matchLabels": match},
            "namespaceSelector": {"matchNames": [namespace]},
            "targetLabels": [COMPONENT_LABEL],
            "endpoints": [{"port": "metrics", "path": METRICS_PATH, "interval": settings["interval"]}],
        },
    }


def frontend_certificate(name: str, namespace: str, spec: dict[str, Any]) -> dict[str, Any] | None:
    """The cert-manager Certificate for the frontend, when ``frontend.tls.issuerRef`` is set.

    Its DNS names are the frontend Service's, short to fully qualified (how
    clients in the cluster address it), then ``extraDNSNames`` (how clients
    outside reach a LoadBalancer); ``secretName`` is what the frontend
    pods mount, and ``secretTemplate`` gives that Secret the cluster's labels
    (the reconciler then adds the cluster as its owner). cert-manager renews
    it into the same Secret and the server re-reads changed certificate files
    (docs/tls.md), so a renewal needs no roll.
    """
    tls = role_spec(spec, "frontend").get("tls") or {}
    issuer = tls.get("issuerRef")
    if not issuer:
        return None
    service = frontend_service_name(name)
    names = [
        service,
        f"{service}.{namespace}",
        f"{service}.{namespace}.svc",
        f"{service}.{namespace}.svc.cluster.local",
    ]
    names += [str(extra) for extra in tls.get("extraDNSNames") or [] if extra not in names]
    group, version, _ = CERTIFICATE_API
    reference = {
        "name": str(issuer["name"]),
        "kind": str(issuer.get("kind") or "Issuer"),
        "group": str(issuer.get("group") or group),
    }
    return {
        "apiVersion": f"{group}/{version}",
        "kind": "Certificate",
        "metadata": _meta(frontend_tls_certificate_name(name), namespace, labels(name, "frontend")),
        "spec": {
            "secretName": frontend_tls_certificate_name(name),
            # cert-manager copies these onto the Secret it writes: it shows as this cluster's.
            "secretTemplate": {"labels": labels(name, "frontend")},
            "dnsNames": names,
            "usages": ["digital signature", "key encipherment", "server auth"],
            "issuerRef": reference,
        },
    }


def frontend_service(name: str, namespace: str, spec: dict[str, Any]) -> dict[str, Any]:
    service = role_spec(spec, "frontend").get("service") or {}
    metadata = _meta(frontend_service_name(name), namespace, labels(name, "frontend"))
    if service.get("annotations"):
        metadata["annotations"] = dict(service["annotations"])
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata,
        "spec": {
            "type": service.get("type", "ClusterIP"),
            "selector": selector(name, "frontend"),
            "ports": [_grpc_port()],
        },
    }


def pod_disruption_budget(name: str, namespace: str, role: str) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(deployment_name(name, role), namespace, labels(name, role)),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector(name, role)}},
    }


def horizontal_pod_autoscaler(
    name: str, namespace: str, spec: dict[str, Any], role: str
) -> dict[str, Any] | None:
    settings = autoscaling(spec, role)
    if settings is None:
        return None
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _meta(deployment_name(name, role), namespace, labels(name, role)),
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": deployment_name(name, role),
            },
            "minReplicas": settings["minReplicas"],
            "maxReplicas": settings["maxReplicas"],
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {
                            "type": "Utilization",
                            "averageUtilization": settings["targetCPUUtilizationPercentage"],
                        },
                    },
                }
            ],
        },
    }


# ---------------------------------------------------------------- schema Job


def schema_connection_args(spec: dict[str, Any]) -> list[str]:
    """The ``legato-server schema`` flags that reach this cluster's database (no password)."""
    persistence = spec["persistence"]
    kind = persistence["type"]
    settings = persistence.get(kind) or {}
    # The same CA the servers trust (the Secret is mounted in the Job too).
    tls = ["--tls-ca", f"{DB_TLS_DIR}/ca.crt"] if settings.get("tls") else []
    if kind == "mysql":
        return [
            "--db", "mysql",
            "--host", str(settings["host"]),
            "--port", str(settings.get("port", 3306)),
            "--user", str(settings.get("user", "legato")),
            "--database", str(settings.get("database", "legato")),
            *tls,
        ]  # fmt: skip
    args = [
        "--db", "cassandra",
        "--host", ",".join(settings["hosts"]),
        "--port", str(settings.get("port", 9042)),
        "--keyspace", str(settings.get("keyspace", "legato")),
        "--replication-factor", str(settings.get("replicationFactor", 1)),
    ]  # fmt: skip
    if settings.get("user"):
        args += ["--user", str(settings["user"])]
    if settings.get("datacenter"):
        args += ["--datacenter", str(settings["datacenter"])]
    return args + tls


def schema_job_name(name: str, spec: dict[str, Any], *, secret_version: str, retry_token: str) -> str:
    """A name per migration input: a change of any of them is a new Job; the same inputs, the same Job.

    The version counts even when ``image`` pins the same build: an upgrade
    always migrates first.

    ``secret_version``: the password Secret's resourceVersion (fixing a wrong
    password retries); ``retry_token``: the cluster's retry annotation.
    """
    inputs = {
        "version": spec["version"],
        "image": image(spec),
        "persistence": spec["persistence"],
        "secret": secret_version,
        "retry": retry_token,
    }
    return f"{name}-schema-{_digest(inputs, 10)}"


def schema_script(spec: dict[str, Any]) -> str:
    """setup (a no-op when the schema exists), update (a no-op when current), then print the version."""
    target = shlex.join(schema_connection_args(spec))
    return (
        "set -e\n"
        f"legato-server schema setup {target}\n"
        f"legato-server schema update {target}\n"
        f"legato-server schema version {target}\n"
    )


def schema_job(name: str, namespace: str, spec: dict[str, Any], *, job_name: str) -> dict[str, Any]:
    job_labels = {**labels(name, "schema", version=str(spec["version"])), SCHEMA_JOB_LABEL: job_name}
    volumes = _db_tls_volumes(spec)
    container = {
        "name": "schema",
        "image": image(spec),
        "imagePullPolicy": spec.get("imagePullPolicy", "IfNotPresent"),
        "args": ["sh", "-c", schema_script(spec)],
        "env": _password_env(spec),
        "resources": {"requests": {"cpu": "50m", "memory": "96Mi"}},
        "securityContext": _container_security(),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}, *(mount for _, mount in volumes)],
    }
    pod_spec: dict[str, Any] = {
        "securityContext": _pod_security(),
        "enableServiceLinks": False,
        "automountServiceAccountToken": False,
        "restartPolicy": "Never",
        "containers": [container],
        "volumes": [{"name": "tmp", "emptyDir": {}}, *(volume for volume, _ in volumes)],
    }
    if spec.get("imagePullSecrets"):
        pod_spec["imagePullSecrets"] = spec["imagePullSecrets"]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _meta(job_name, namespace, job_labels),
        "spec": {
            # One retry for a blip; a wrong password then shows within a minute
            # instead of after minutes of back-off.
            "backoffLimit": 1,
            "activeDeadlineSeconds": 600,
            # No ttlSecondsAfterFinished: a failed Job stays for inspection.
            "template": {
                "metadata": {"labels": job_labels, "annotations": dict(SIDECAR_OPT_OUT)},
                "spec": pod_spec,
            },
        },
    }


def parse_schema_version(log: str) -> str | None:
    """The version ``legato-server schema version`` printed (``... schema version 1.2 (...``)."""
    marker = "schema version "
    for line in reversed(log.splitlines()):
        index = line.find(marker)
        if index >= 0:
            rest = line[index + len(marker) :].split()
            if rest:
                return rest[0]
    return None


def api_version() -> str:
    return f"{GROUP}/{VERSION}"
