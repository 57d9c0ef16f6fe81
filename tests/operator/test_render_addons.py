"""Rendering of the optional parts: server logging, metrics on or off, the ServiceMonitor, the
cert-manager Certificate of the frontend; and what the reconciler says when an add-on is missing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from legato_operator import cluster, render
from legato_operator.conditions import FRONTEND_CERTIFICATE_READY, SERVICE_MONITOR_READY
from tests.operator.conftest import spec

ISSUER = {"name": "letsencrypt", "kind": "ClusterIssuer", "group": "cert-manager.io"}


def _container(cluster_spec: dict[str, Any], role: str) -> dict[str, Any]:
    deployment = render.role_deployment("prod", "ns", cluster_spec, role, config_digest="x")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    return dict(container)


def _annotations(cluster_spec: dict[str, Any], role: str) -> dict[str, str]:
    deployment = render.role_deployment("prod", "ns", cluster_spec, role, config_digest="x")
    return dict(deployment["spec"]["template"]["metadata"]["annotations"])


# ---------------------------------------------------------------- logging


@pytest.mark.parametrize(("level", "log_format"), [("debug", "json"), ("error", "text"), ("warning", "json")])
def test_logging_reaches_every_role_as_flags_the_server_accepts(level: str, log_format: str) -> None:
    cli = pytest.importorskip("legato_server.cli")
    logging_spec = spec(logging={"level": level, "format": log_format})
    for role in render.ROLES:
        args = _container(logging_spec, role)["args"]
        assert args[args.index("--log-level") + 1] == level
        assert args[args.index("--log-format") + 1] == log_format
        # The server's own parser takes them as they are.
        parsed = cli.build_parser().parse_args(args[1:])
        assert (parsed.log_level, parsed.log_format, parsed.services) == (level, log_format, role)


def test_logging_defaults_to_info_text_and_the_enums_are_the_servers() -> None:
    cli = pytest.importorskip("legato_server.cli")
    assert render.logging_settings(spec()) == ("info", "text")
    assert render.LOG_LEVELS == cli.LOG_LEVELS
    assert render.LOG_FORMATS == cli.LOG_FORMATS


def test_a_logging_change_rolls_the_pods() -> None:
    before = render.role_deployment("prod", "ns", spec(), "history", config_digest="x")
    after = render.role_deployment(
        "prod", "ns", spec(logging={"format": "json"}), "history", config_digest="x"
    )
    assert before["spec"]["template"] != after["spec"]["template"]


# ---------------------------------------------------------------- metrics


def test_metrics_on_a_custom_port_everywhere_it_is_named() -> None:
    server = pytest.importorskip("legato_server.server")
    custom = spec(metrics={"enabled": True, "port": 9464})
    for role in render.ROLES:
        config = server.server_config_from_mapping(render.server_config("prod", custom, role))
        assert config.metrics is not None and config.metrics.port == 9464
        assert {"name": "metrics", "containerPort": 9464, "protocol": "TCP"} in _container(custom, role)[
            "ports"
        ]
        assert _annotations(custom, role)["prometheus.io/port"] == "9464"
        headless = render.headless_service("prod", "ns", custom, role)
        assert {"name": "metrics", "port": 9464, "targetPort": "metrics", "protocol": "TCP"} in headless[
            "spec"
        ]["ports"]
        assert headless["metadata"]["labels"][render.METRICS_SERVICE_LABEL] == "true"


def test_metrics_disabled_renders_no_port_no_label_no_annotations_no_config() -> None:
    server = pytest.importorskip("legato_server.server")
    off = spec(metrics={"enabled": False, "serviceMonitor": {"enabled": True}})
    for role in render.ROLES:
        config_dict = render.server_config("prod", off, role)
        assert "metrics" not in config_dict
        assert server.server_config_from_mapping(config_dict).metrics is None
        container = _container(off, role)
        assert [p["name"] for p in container["ports"]] == ["grpc"]
        assert not any(key.startswith("prometheus.io/") for key in _annotations(off, role))
        headless = render.headless_service("prod", "ns", off, role)
        assert [p["name"] for p in headless["spec"]["ports"]] == ["grpc"]
        assert render.METRICS_SERVICE_LABEL not in headless["metadata"]["labels"]
    # Nothing to scrape: no ServiceMonitor either, whatever serviceMonitor says.
    assert render.service_monitor("prod", "ns", off) is None


def test_pods_a_service_monitor_scrapes_carry_no_scrape_annotations() -> None:
    monitored = spec(metrics={"serviceMonitor": {"enabled": True}})
    for role in render.ROLES:
        plain = render.role_deployment("prod", "ns", monitored, role, config_digest="x")
        scraped = render.role_deployment(
            "prod", "ns", monitored, role, config_digest="x", service_monitor=True
        )
        annotations = scraped["spec"]["template"]["metadata"]["annotations"]
        assert not any(key.startswith("prometheus.io/") for key in annotations), role
        assert annotations[render.CONFIG_HASH_ANNOTATION] == "x"
        assert plain["spec"]["template"]["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
        # Only the annotations differ: the metrics port stays for the ServiceMonitor.
        del plain["spec"]["template"]["metadata"]["annotations"]
        del scraped["spec"]["template"]["metadata"]["annotations"]
        assert plain == scraped, role
    # What the user put on the pods stays theirs.
    overridden = spec(history={"pod": {"annotations": {"prometheus.io/scrape": "false"}}})
    scraped = render.role_deployment(
        "prod", "ns", overridden, "history", config_digest="x", service_monitor=True
    )
    assert scraped["spec"]["template"]["metadata"]["annotations"]["prometheus.io/scrape"] == "false"


def test_no_service_monitor_unless_asked() -> None:
    assert render.service_monitor("prod", "ns", spec()) is None
    assert render.service_monitor("prod", "ns", spec(metrics={"serviceMonitor": {"enabled": False}})) is None


def test_service_monitor_selects_only_the_headless_services_metrics_port() -> None:
    monitored = spec(
        metrics={"enabled": True, "port": 9090, "serviceMonitor": {"enabled": True, "interval": "15s",
                                                                    "labels": {"release": "prom"}}}
    )  # fmt: skip
    monitor = render.service_monitor("prod", "team-a", monitored)
    assert monitor is not None
    assert (monitor["apiVersion"], monitor["kind"]) == ("monitoring.coreos.com/v1", "ServiceMonitor")
    assert monitor["metadata"]["name"] == "prod"
    assert monitor["metadata"]["namespace"] == "team-a"
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert monitor["metadata"]["labels"][render.INSTANCE_LABEL] == "prod"
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["team-a"]}
    assert monitor["spec"]["endpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "15s"}]
    match = monitor["spec"]["selector"]["matchLabels"]
    # Each role's headless Service matches; the frontend's ClusterIP Service (same role labels) does not.
    for role in render.ROLES:
        headless = render.headless_service("prod", "team-a", monitored, role)
        assert match.items() <= headless["metadata"]["labels"].items()
        assert "metrics" in {p["name"] for p in headless["spec"]["ports"]}
    frontend = render.frontend_service("prod", "team-a", monitored)
    assert not match.items() <= frontend["metadata"]["labels"].items()


def test_service_monitor_interval_defaults() -> None:
    monitor = render.service_monitor("prod", "ns", spec(metrics={"serviceMonitor": {"enabled": True}}))
    assert monitor is not None
    assert monitor["spec"]["endpoints"][0]["interval"] == "30s"


# ---------------------------------------------------------------- cert-manager


def _issued_spec(**tls: Any) -> dict[str, Any]:
    return spec(
        frontend={"replicas": 1, "tls": {"issuerRef": dict(ISSUER), **tls}},
        internodeTLS={"secretName": "internode", "serverName": "legato-internode"},
    )


def test_issuer_ref_renders_a_certificate_for_the_frontend_service_names() -> None:
    certificate = render.frontend_certificate("prod", "team-a", _issued_spec())
    assert certificate is not None
    assert (certificate["apiVersion"], certificate["kind"]) == ("cert-manager.io/v1", "Certificate")
    assert certificate["metadata"]["name"] == "prod-frontend-tls"
    assert certificate["spec"]["secretName"] == "prod-frontend-tls"
    assert certificate["spec"]["issuerRef"] == ISSUER
    assert certificate["spec"]["dnsNames"] == [
        "prod-frontend",
        "prod-frontend.team-a",
        "prod-frontend.team-a.svc",
        "prod-frontend.team-a.svc.cluster.local",
    ]
    # The address the operator reports is one of them.
    assert render.frontend_address("prod", "team-a").split(":")[0] in certificate["spec"]["dnsNames"]


def test_extra_dns_names_follow_the_service_names_once_each() -> None:
    extra = ["legato.example.com", "prod-frontend.team-a.svc"]
    certificate = render.frontend_certificate("prod", "team-a", _issued_spec(extraDNSNames=extra))
    assert certificate is not None
    assert certificate["spec"]["dnsNames"][4:] == ["legato.example.com"]
    assert len(certificate["spec"]["dnsNames"]) == len(set(certificate["spec"]["dnsNames"]))


def test_issuer_kind_and_group_default_as_cert_manager_does() -> None:
    certificate = render.frontend_certificate(
        "prod", "ns", spec(frontend={"tls": {"issuerRef": {"name": "ca"}}}, internodeTLS={"secretName": "i"})
    )
    assert certificate is not None
    assert certificate["spec"]["issuerRef"] == {"name": "ca", "kind": "Issuer", "group": "cert-manager.io"}


def test_the_issued_secret_is_mounted_like_a_named_one() -> None:
    named = spec(
        frontend={"replicas": 1, "tls": {"secretName": "prod-frontend-tls"}},
        internodeTLS={"secretName": "internode", "serverName": "legato-internode"},
    )
    assert render.frontend_certificate("prod", "ns", named) is None
    issued = _issued_spec()
    for role in render.ROLES:
        a = render.role_deployment("prod", "ns", named, role, config_digest="x")
        b = render.role_deployment("prod", "ns", issued, role, config_digest="x")
        assert a == b, role
        assert render.server_config("prod", named, role) == render.server_config("prod", issued, role)
    volumes = render.role_deployment("prod", "ns", issued, "frontend", config_digest="x")["spec"]["template"][
        "spec"
    ]["volumes"]
    assert {
        "name": "frontend-tls",
        "secret": {"secretName": "prod-frontend-tls", "defaultMode": 0o440},
    } in volumes
    config = render.server_config("prod", issued, "frontend")
    assert config["tls"]["cert_file"] == f"{render.FRONTEND_TLS_DIR}/tls.crt"


# ---------------------------------------------------------------- the reconciler's add-on steps


class _AddonKube:
    """The few Kube calls the add-on steps make, on dicts (a unit test of those steps only)."""

    def __init__(self, *, serves: set[str], secrets: dict[str, dict[str, Any]] | None = None) -> None:
        self.kinds = serves
        self.secrets = secrets or {}
        self.applied: list[dict[str, Any]] = []
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.deleted: list[tuple[str, str]] = []
        self.adopted: list[str] = []

    def serves(self, kind: str) -> bool:
        return kind in self.kinds

    def ensure(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.applied.append(obj)
        self.objects[(obj["kind"], obj["metadata"]["name"])] = obj
        return obj

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        if kind == "Secret":
            return self.secrets.get(name)
        return self.objects.get((kind, name))

    def delete(self, kind: str, namespace: str, name: str) -> bool:
        self.deleted.append((kind, name))
        return self.objects.pop((kind, name), None) is not None

    def add_owner_reference(self, kind: str, namespace: str, name: str, reference: dict[str, Any]) -> bool:
        assert kind == "Secret"
        if name not in self.secrets:
            return False
        meta = self.secrets[name].setdefault("metadata", {"name": name})
        owners = meta.setdefault("ownerReferences", [])
        # As the strategic merge patch does: merged by uid.
        meta["ownerReferences"] = [o for o in owners if o["uid"] != reference["uid"]] + [reference]
        self.adopted.append(name)
        return True


OWNER = {"apiVersion": "legato.dev/v1alpha1", "kind": "LegatoCluster", "name": "prod", "uid": "uid-of-prod"}


def _addons(kube: _AddonKube, cluster_spec: dict[str, Any]) -> dict[str, Any]:
    conditions = cluster._ensure_addons(kube, "prod", "ns", cluster_spec, adopt=lambda _: None, owner=OWNER)  # type: ignore[arg-type]
    return {c.type: c for c in conditions}


def test_a_missing_service_monitor_crd_is_a_condition_not_a_failure() -> None:
    kube = _AddonKube(serves=set())
    found = _addons(kube, spec(metrics={"serviceMonitor": {"enabled": True}}))
    condition = found[SERVICE_MONITOR_READY]
    assert (condition.status, condition.reason) == (False, "ServiceMonitorCRDMissing")
    assert "prometheus-operator" in condition.message and "prometheus.io/scrape" in condition.message
    assert kube.applied == []


def test_the_service_monitor_is_applied_when_the_crd_exists_and_removed_when_turned_off() -> None:
    kube = _AddonKube(serves={"ServiceMonitor"})
    found = _addons(kube, spec(metrics={"serviceMonitor": {"enabled": True}}))
    assert (found[SERVICE_MONITOR_READY].status, found[SERVICE_MONITOR_READY].reason) == (
        True,
        "ServiceMonitorApplied",
    )
    assert [o["kind"] for o in kube.applied] == ["ServiceMonitor"]
    assert _addons(kube, spec()) == {}
    assert kube.deleted == [("ServiceMonitor", "prod")]


def test_a_same_named_service_monitor_of_someone_else_is_left_alone() -> None:
    kube = _AddonKube(serves={"ServiceMonitor"})
    kube.objects[("ServiceMonitor", "prod")] = {
        "kind": "ServiceMonitor",
        "metadata": {"name": "prod", "labels": {}},
    }
    _addons(kube, spec())
    assert kube.deleted == []


def test_certificate_conditions_follow_cert_manager() -> None:
    missing = _addons(_AddonKube(serves=set()), _issued_spec())[FRONTEND_CERTIFICATE_READY]
    assert (missing.status, missing.reason) == (False, "CertManagerCRDMissing")
    assert "install cert-manager" in missing.message and "secretName" in missing.message

    kube = _AddonKube(serves={"Certificate"})
    waiting = _addons(kube, _issued_spec())[FRONTEND_CERTIFICATE_READY]
    assert (waiting.status, waiting.reason) == (False, "WaitingForCertManager")
    assert "prod-frontend-tls" in waiting.message
    assert [o["kind"] for o in kube.applied] == ["Certificate"]

    kube.secrets["prod-frontend-tls"] = _issued_secret()
    issued = _addons(kube, _issued_spec())[FRONTEND_CERTIFICATE_READY]
    assert (issued.status, issued.reason) == (True, "CertificateIssued")


def _issued_secret(**annotations: str) -> dict[str, Any]:
    """The Secret as cert-manager writes it for Certificate prod-frontend-tls (no owner)."""
    return {
        "metadata": {
            "name": "prod-frontend-tls",
            "annotations": {"cert-manager.io/certificate-name": "prod-frontend-tls", **annotations},
        },
        "data": {"tls.crt": "eA==", "tls.key": "eA=="},
    }


def test_the_certificate_has_cert_manager_label_the_secret_as_the_clusters() -> None:
    certificate = render.frontend_certificate("prod", "ns", _issued_spec())
    assert certificate is not None
    assert certificate["spec"]["secretTemplate"] == {"labels": render.labels("prod", "frontend")}


def test_the_issued_secret_gets_the_cluster_as_owner_once() -> None:
    kube = _AddonKube(serves={"Certificate"})
    secret = _issued_secret()
    # cert-manager running with --enable-certificate-owner-ref: its Certificate is the controller.
    by_cert_manager = {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "name": "prod-frontend-tls",
                       "uid": "uid-of-certificate", "controller": True, "blockOwnerDeletion": True}  # fmt: skip
    secret["metadata"]["ownerReferences"] = [by_cert_manager]
    kube.secrets["prod-frontend-tls"] = secret

    issued = _addons(kube, _issued_spec())[FRONTEND_CERTIFICATE_READY]

    assert (issued.status, issued.reason) == (True, "CertificateIssued")
    assert "owned by the LegatoCluster and deleted with it" in issued.message
    owners = kube.secrets["prod-frontend-tls"]["metadata"]["ownerReferences"]
    assert owners == [by_cert_manager, OWNER]
    # Not a second controller (the API server refuses two), and no finalizer rights needed.
    assert "controller" not in OWNER and "blockOwnerDeletion" not in OWNER
    # Already owned: the next passes write nothing.
    _addons(kube, _issued_spec())
    _addons(kube, _issued_spec())
    assert kube.adopted == ["prod-frontend-tls"]


def test_owner_reference_is_the_resource_itself() -> None:
    body = {"apiVersion": "legato.dev/v1alpha1", "kind": "LegatoCluster",
            "metadata": {"name": "prod", "namespace": "ns", "uid": "abc"}}  # fmt: skip
    assert cluster._owner_reference(body) == {
        "apiVersion": "legato.dev/v1alpha1",
        "kind": "LegatoCluster",
        "name": "prod",
        "uid": "abc",
    }


def test_a_same_named_secret_cert_manager_did_not_issue_is_not_adopted() -> None:
    kube = _AddonKube(serves={"Certificate"})
    secret = _issued_secret()
    del secret["metadata"]["annotations"]["cert-manager.io/certificate-name"]
    kube.secrets["prod-frontend-tls"] = secret

    issued = _addons(kube, _issued_spec())[FRONTEND_CERTIFICATE_READY]

    assert (issued.status, issued.reason) == (True, "CertificateIssued")
    assert "lacks annotation cert-manager.io/certificate-name=prod-frontend-tls" in issued.message
    assert kube.adopted == []
    assert "ownerReferences" not in kube.secrets["prod-frontend-tls"]["metadata"]


def test_an_adoption_the_api_refuses_says_what_permission_is_missing() -> None:
    from kubernetes.client import ApiException

    kube = _AddonKube(serves={"Certificate"})
    kube.secrets["prod-frontend-tls"] = _issued_secret()

    def refuse(kind: str, namespace: str, name: str, reference: dict[str, Any]) -> bool:
        error = ApiException(status=403, reason="Forbidden")
        error.body = json.dumps({"message": 'secrets "prod-frontend-tls" is forbidden: cannot patch'})
        raise error

    kube.add_owner_reference = refuse  # type: ignore[method-assign]
    issued = _addons(kube, _issued_spec())[FRONTEND_CERTIFICATE_READY]
    # The certificate is there and used: still issued, with what keeps it from being cleaned up.
    assert (issued.status, issued.reason) == (True, "CertificateIssued")
    assert "403 secrets" in issued.message and "needs patch on secrets" in issued.message


def test_waiting_quotes_what_cert_manager_said() -> None:
    kube = _AddonKube(serves={"Certificate"})

    def ensure(obj: dict[str, Any]) -> dict[str, Any]:
        live = json.loads(json.dumps(obj))
        live["status"] = {"conditions": [{"type": "Ready", "status": "False", "message": "issuer not found"}]}
        return live

    kube.ensure = ensure  # type: ignore[method-assign]
    waiting = _addons(kube, _issued_spec())[FRONTEND_CERTIFICATE_READY]
    assert "cert-manager says: issuer not found" in waiting.message


@pytest.mark.parametrize("verb", ["read", "patch", "delete"])
def test_the_optional_kinds_go_through_methods_the_custom_objects_api_has(verb: str) -> None:
    from kubernetes import client

    from legato_operator import kube

    assert hasattr(client.CustomObjectsApi, f"{kube._CUSTOM_VERBS[verb]}_namespaced_custom_object")
    assert kube.CUSTOM_KINDS == {
        "ServiceMonitor": render.SERVICE_MONITOR_API,
        "Certificate": render.CERTIFICATE_API,
    }


def test_an_add_on_the_api_refuses_is_a_condition_not_a_failed_pass() -> None:
    from kubernetes.client import ApiException

    kube = _AddonKube(serves={"ServiceMonitor"})

    def refuse(obj: dict[str, Any]) -> dict[str, Any]:
        error = ApiException(status=403, reason="Forbidden")
        error.body = json.dumps({"message": "servicemonitors is forbidden: cannot patch"})
        raise error

    kube.ensure = refuse  # type: ignore[method-assign]
    found = _addons(kube, spec(metrics={"serviceMonitor": {"enabled": True}}))[SERVICE_MONITOR_READY]
    assert (found.status, found.reason) == (False, "ServiceMonitorApplyFailed")
    assert "403 servicemonitors is forbidden" in found.message
