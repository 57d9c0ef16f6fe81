"""Kubernetes objects for Legato in the e2e cluster, as Python dicts.

Shape: one Deployment per *role group*, so the same functions describe both
topologies the tests run:

* ``server_deployment(role="all")``: frontend, history and matching in one
  process (the simplest deployment);
* ``server_deployment(role="history", services=("history",), replicas=2)``
  and so on: each role in its own Deployment (cluster mode). Processes find
  each other through membership in the database; each pod advertises its own
  IP (downward API) and keeps the default identity (its hostname, the pod
  name), so a replacement pod is a new member and shards move to it.
* Pods that serve the frontend carry ``legato.dev/frontend: "true"``, and the
  ``legato-frontend`` Service selects that label, not a Deployment: clients
  keep one DNS name however the roles are split.
* The config file is one ConfigMap for every group (roles come from
  ``--services``); the database password is a Secret, read by the server
  from ``LEGATO_DB_PASSWORD``.
* The schema is set up by a Job before any server starts, as the operator
  will do, so several role Deployments never race to create it.

Every container runs as the image's non-root user with a read-only root
filesystem and only an emptyDir at /tmp.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
FRONTEND_PORT = 7233
FRONTEND_SERVICE = "legato-frontend"
APP_LABEL = "app.kubernetes.io/name"
ROLE_LABEL = "app.kubernetes.io/component"
FRONTEND_LABEL = "legato.dev/frontend"
ALL_ROLES = ("frontend", "history", "matching")
APP_UID = 10001


def image_name() -> str:
    """The image scripts/image/build.sh makes: legato.local/legato/legato:<package version>."""
    version = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    return f"legato.local/legato/legato:{version}"


def _pod_security() -> dict[str, Any]:
    return {"runAsNonRoot": True, "runAsUser": APP_UID, "runAsGroup": APP_UID, "fsGroup": APP_UID}


def _container_security() -> dict[str, Any]:
    return {
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    }


def _container(name: str, image: str, args: list[str], **extra: Any) -> dict[str, Any]:
    mounts = [{"name": "tmp", "mountPath": "/tmp"}, *extra.pop("volumeMounts", [])]
    return {
        "name": name,
        "image": image,
        # Nothing can be pulled in the e2e cluster; images are imported.
        "imagePullPolicy": "Never",
        # args, not command: the image's entrypoint (tini) stays PID 1.
        "args": args,
        "securityContext": _container_security(),
        "volumeMounts": mounts,
        "resources": {"requests": {"cpu": "50m", "memory": "96Mi"}},
        **extra,
    }


def _pod_spec(
    containers: list[dict[str, Any]], *, volumes: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "securityContext": _pod_security(),
        "enableServiceLinks": False,
        "automountServiceAccountToken": False,
        "containers": containers,
        "volumes": [{"name": "tmp", "emptyDir": {}}, *(volumes or [])],
        **extra,
    }


def _meta(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"name": name, "labels": {APP_LABEL: "legato", **(labels or {})}}


# ---------------------------------------------------------------- server


def server_config(*, db_host: str, database: str, num_history_shards: int = 4) -> dict[str, Any]:
    """The ``legato-server start`` config; roles come from ``--services`` per Deployment."""
    return {
        "host": "0.0.0.0",
        "port": FRONTEND_PORT,
        "num_history_shards": num_history_shards,
        "namespaces": ["default"],
        "persistence": {
            "kind": "mysql",
            "mysql": {"host": db_host, "port": 3306, "user": "legato", "database": database},
        },
        "shutdown_grace_seconds": 5,
    }


def server_config_map(config: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta("legato-config"),
        # JSON is YAML: no YAML library needed here.
        "data": {"config.yaml": json.dumps(config, indent=2)},
    }


def db_secret(password: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta("legato-db"),
        "stringData": {"password": password},
    }


def _db_password_env() -> dict[str, Any]:
    return {
        "name": "LEGATO_DB_PASSWORD",
        "valueFrom": {"secretKeyRef": {"name": "legato-db", "key": "password"}},
    }


def schema_job(*, image: str, db_host: str, database: str) -> dict[str, Any]:
    """``legato-server schema setup`` then ``update``: both are no-ops when already done."""
    target = f"--db mysql --host {db_host} --port 3306 --user legato --database {database}"
    script = f"legato-server schema setup {target} && legato-server schema update {target}"
    container = _container("schema", image, ["sh", "-c", script], env=[_db_password_env()])
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _meta("legato-schema", {ROLE_LABEL: "schema"}),
        "spec": {
            "backoffLimit": 3,
            "template": {
                "metadata": {"labels": {APP_LABEL: "legato", ROLE_LABEL: "schema"}},
                "spec": _pod_spec([container], restartPolicy="Never"),
            },
        },
    }


def server_deployment(
    *, image: str, role: str = "all", services: tuple[str, ...] = ALL_ROLES, replicas: int = 1
) -> dict[str, Any]:
    """One role group's Deployment, ``legato-<role>``, running ``services``."""
    labels = {APP_LABEL: "legato", ROLE_LABEL: role}
    pod_labels = {**labels, **({FRONTEND_LABEL: "true"} if "frontend" in services else {})}
    args = ["legato-server", "start", "--config", "/etc/legato/config.yaml", "--services", ",".join(services)]
    container = _container(
        "server",
        image,
        args,
        env=[
            _db_password_env(),
            {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            # Where the other roles reach this process (the config listens on 0.0.0.0).
            {"name": "LEGATO_ADVERTISE_ADDRESS", "value": f"$(POD_IP):{FRONTEND_PORT}"},
        ],
        ports=[{"name": "grpc", "containerPort": FRONTEND_PORT}],
        readinessProbe={"grpc": {"port": FRONTEND_PORT}, "periodSeconds": 2, "failureThreshold": 2},
        volumeMounts=[{"name": "config", "mountPath": "/etc/legato", "readOnly": True}],
    )
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(f"legato-{role}", {ROLE_LABEL: role}),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": _pod_spec(
                    [container],
                    volumes=[{"name": "config", "configMap": {"name": "legato-config"}}],
                    # Longer than the server's drain (shutdown_grace_seconds).
                    terminationGracePeriodSeconds=30,
                ),
            },
        },
    }


def frontend_service() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(FRONTEND_SERVICE, {ROLE_LABEL: "frontend"}),
        "spec": {
            "selector": {APP_LABEL: "legato", FRONTEND_LABEL: "true"},
            "ports": [{"name": "grpc", "port": FRONTEND_PORT, "targetPort": "grpc", "appProtocol": "grpc"}],
        },
    }


# ---------------------------------------------------------------- sample apps


def sample_config_map(name: str, files: dict[str, Path]) -> dict[str, Any]:
    """A ConfigMap holding Python files (a sample and its runner), mounted at /app."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(name, {ROLE_LABEL: "sample"}),
        "data": {key: path.read_text() for key, path in files.items()},
    }


def _app_container(
    name: str, image: str, args: list[str], config_map: str | None, **extra: Any
) -> dict[str, Any]:
    """A container of a sample app; its files (``config_map``, if any) at /app."""
    env = [
        {"name": "LEGATO_ADDRESS", "value": f"{FRONTEND_SERVICE}:{FRONTEND_PORT}"},
        {"name": "PYTHONPATH", "value": "/app"},
    ]
    return _container(
        name,
        image,
        args,
        env=env,
        volumeMounts=[{"name": "app", "mountPath": "/app", "readOnly": True}] if config_map else [],
        **extra,
    )


def _app_volumes(config_map: str | None) -> list[dict[str, Any]]:
    return [{"name": "app", "configMap": {"name": config_map}}] if config_map else []


def worker_deployment(
    *, name: str, image: str, config_map: str, script: str, replicas: int = 1
) -> dict[str, Any]:
    labels = {APP_LABEL: "legato-sample", ROLE_LABEL: name}
    container = _app_container(
        "worker",
        image,
        ["python", f"/app/{script}"],
        config_map,
        readinessProbe={"exec": {"command": ["test", "-f", "/tmp/ready"]}, "periodSeconds": 1},
    )
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": _pod_spec(
                    [container], volumes=_app_volumes(config_map), terminationGracePeriodSeconds=15
                ),
            },
        },
    }


def app_job(
    *, name: str, image: str, config_map: str | None, args: list[str], deadline_s: int = 600
) -> dict[str, Any]:
    labels = {APP_LABEL: "legato-sample", ROLE_LABEL: name}
    container = _app_container("run", image, args, config_map)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": deadline_s,
            "template": {
                "metadata": {"labels": labels},
                "spec": _pod_spec([container], volumes=_app_volumes(config_map), restartPolicy="Never"),
            },
        },
    }
