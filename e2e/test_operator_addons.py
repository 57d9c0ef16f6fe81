"""legato-operator with the optional add-ons: metrics, a ServiceMonitor, server logs, cert-manager TLS.

The same operator install as ``e2e/test_operator.py`` (its ``operator``
fixture and helpers are reused), a LegatoCluster on the e2e MariaDB.

Neither prometheus-operator nor cert-manager runs here. What the operator
needs of them is their API kinds, so each test installs a minimal CRD of its
own (``addon_crd``: the group, kind and version, a schema that keeps any
field), which makes the API server serve ``monitoring.coreos.com/v1``
ServiceMonitors or ``cert-manager.io/v1`` Certificates, and then checks what
the operator wrote there. In the cert-manager test the test itself plays
cert-manager's part: it reads the Certificate the operator created and writes
the Secret it names, with a certificate for its DNS names signed by a CA made
with ``cryptography``. Real prometheus-operator and cert-manager were not run.

* metrics and logs: a ServiceMonitor asked for while its CRD is missing is a
  condition and an Event (``ServiceMonitorCRDMissing``) while the pods still
  carry scrape annotations; once the CRD exists the operator creates the
  ServiceMonitor, which selects exactly the roles' headless Services, and the
  pod templates lose the scrape annotations (one scrape per pod); the
  pods serve ``/metrics`` on the configured port; ``logging.format: json``
  makes every line of a role pod's log a JSON object; ``metrics.enabled:
  false`` rolls the pods without port or annotations and removes the
  ServiceMonitor; bad values are refused at apply.
* cert-manager: ``issuerRef`` and ``secretName`` together are refused at
  apply; without the CRD, ``CertManagerCRDMissing``; with it, a Certificate
  for the frontend Service's names, ``WaitingForCertManager`` until the
  Secret exists, then the frontend serves TLS with that certificate (a gRPC
  health check from this machine that trusts only the test issuer's CA); the
  operator makes the cluster an owner of that Secret, so deleting the
  cluster deletes it.
"""

from __future__ import annotations

import base64
import datetime
import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from e2e import manifests
from e2e.conftest import DB_PASSWORD
from e2e.k8s import Kube, KubectlError, wait_until

# The operator install and the helpers of the MariaDB tests (see test_operator_cassandra.py).
from e2e.test_operator import (  # noqa: F401 - fixtures are used by name
    CLUSTER,
    Timer,
    cluster_resource,
    condition,
    describe_status,
    operator,
    operator_logs_on_failure,
    wait_condition,
)

METRICS_PORT = 9464
INTERNODE_NAME = "legato-internode"
EXTERNAL_NAME = "legato.e2e.example"


# ---------------------------------------------------------------- minimal add-on CRDs


def addon_crd(*, group: str, kind: str, plural: str) -> dict[str, Any]:
    """A namespaced CRD that serves ``group/v1`` ``kind`` and keeps whatever fields an object has.

    Enough for the operator, which only needs the API to exist: it applies,
    reads and deletes these objects and never relies on their controller.
    """
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}", "labels": {"legato.dev/e2e": "addon"}},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": f"{kind}List"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {
                        "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                    },
                }
            ],
        },
    }


SERVICE_MONITOR_CRD = addon_crd(
    group="monitoring.coreos.com", kind="ServiceMonitor", plural="servicemonitors"
)
CERTIFICATE_CRD = addon_crd(group="cert-manager.io", kind="Certificate", plural="certificates")


def _install_crd(cluster: Kube, crd: dict[str, Any]) -> None:
    cluster.apply([crd])
    cluster.run("wait", "--for=condition=Established", "--timeout=60s", f"crd/{crd['metadata']['name']}")


def _remove_crd(cluster: Kube, crd: dict[str, Any]) -> None:
    cluster.run("delete", "crd", crd["metadata"]["name"], "--ignore-not-found", "--wait=true", timeout=120)


@pytest.fixture
def without_addon_crds(cluster: Kube, namespace: Kube) -> Iterator[Kube]:
    """The test starts with neither add-on CRD, and leaves none behind (the cluster is shared).

    The test's LegatoCluster goes first: left to the namespace's deletion, it
    would outlive the CRDs, and an operator passing over it (another test's
    Helm-installed one, too) would report the missing kind with an Event in a
    namespace that no longer takes any.
    """
    for crd in (SERVICE_MONITOR_CRD, CERTIFICATE_CRD):
        _remove_crd(cluster, crd)
    yield cluster
    namespace.run("delete", "legatoclusters", "--all", "--wait=true", "--timeout=90s", timeout=120)
    for crd in (SERVICE_MONITOR_CRD, CERTIFICATE_CRD):
        _remove_crd(cluster, crd)


def _role_selector(role: str) -> str:
    return f"app.kubernetes.io/instance={CLUSTER},app.kubernetes.io/component={role}"


def _events(kube: Kube) -> str:
    return kube.run("get", "events", "--field-selector", "involvedObject.kind=LegatoCluster")


# ---------------------------------------------------------------- metrics and logs


@pytest.mark.timeout(900)
@pytest.mark.usefixtures("operator_logs_on_failure")
def test_metrics_service_monitor_and_json_logs(
    namespace: Kube, database_host: str, database: str, without_addon_crds: Kube
) -> None:
    kube = namespace
    timer = Timer()
    resource = cluster_resource(db_host=database_host, database=database)
    resource["spec"]["logging"] = {"level": "debug", "format": "json"}
    resource["spec"]["metrics"] = {
        "port": METRICS_PORT,
        "serviceMonitor": {"enabled": True, "interval": "15s", "labels": {"release": "prometheus"}},
    }
    kube.apply([manifests.db_secret(DB_PASSWORD), resource])

    # Bad values are refused at apply, with the API server's message.
    def refused(change: dict[str, Any]) -> str:
        with pytest.raises(KubectlError) as error:
            kube.run("patch", "legatocluster", CLUSTER, "--type", "merge", "-p", json.dumps({"spec": change}))
        return str(error.value)

    assert "must differ from 7233" in refused({"metrics": {"port": 7233}})
    assert "spec.metrics.port" in refused({"metrics": {"port": 80}})
    assert "spec.logging.level" in refused({"logging": {"level": "verbose"}})
    assert "spec.logging.format" in refused({"logging": {"format": "xml"}})
    assert "serviceMonitor.enabled needs metrics.enabled" in refused({"metrics": {"enabled": False}})
    assert "spec.metrics.serviceMonitor.interval" in refused(
        {"metrics": {"serviceMonitor": {"interval": "soon"}}}
    )

    # No ServiceMonitor CRD: a condition and an Event, and the cluster comes up regardless.
    missing = wait_condition(
        kube, "ServiceMonitorReady", status="False", reason="ServiceMonitorCRDMissing", timeout=120
    )
    assert "monitoring.coreos.com/v1" in missing["message"], missing
    wait_until(
        lambda: "ServiceMonitorCRDMissing" in _events(kube),
        timeout=30,
        what="a ServiceMonitorCRDMissing Event",
    )
    wait_condition(kube, "Ready", status="True", reason="AllRolesServing", timeout=300)
    timer.mark("Ready=True with ServiceMonitorReady=False/ServiceMonitorCRDMissing")

    # Every role pod serves /metrics on the port and says so in its annotations.
    for role in ("frontend", "history", "matching"):
        (pod,) = kube.ready_pods(_role_selector(role))
        annotations = pod["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true", role
        assert annotations["prometheus.io/port"] == str(METRICS_PORT), role
        body = _scrape(pod["status"]["podIP"])
        assert "# TYPE" in body and "legato_" in body, body[:500]
        args = pod["spec"]["containers"][0]["args"]
        assert args[-4:] == ["--log-level", "debug", "--log-format", "json"], args

    # logging.format json: every line the server wrote is one JSON object.
    (history,) = kube.ready_pods(_role_selector("history"))
    lines = [line for line in kube.logs(f"pod/{history['metadata']['name']}").splitlines() if line.strip()]
    assert len(lines) >= 3, lines
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            pytest.fail(f"a history log line is not JSON: {line!r}")
    assert all({"time", "level", "logger", "message"} <= entry.keys() for entry in parsed), parsed[:3]
    assert any(entry["level"] == "DEBUG" for entry in parsed), "logging.level debug: no DEBUG line"
    timer.mark(f"/metrics served on {METRICS_PORT}; {len(parsed)} JSON log lines")

    # The CRD appears: the operator creates the ServiceMonitor on its next pass.
    _install_crd(without_addon_crds, SERVICE_MONITOR_CRD)
    applied = wait_condition(
        kube, "ServiceMonitorReady", status="True", reason="ServiceMonitorApplied", timeout=60
    )
    assert "every 15s" in applied["message"]
    timer.mark("ServiceMonitor created once its CRD existed")
    monitor = kube.get("servicemonitor", CLUSTER)
    owner = kube.get("legatocluster", CLUSTER)["metadata"]["uid"]
    assert [ref["uid"] for ref in monitor["metadata"]["ownerReferences"]] == [owner]
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert monitor["spec"]["endpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "15s"}]
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [kube.namespace]}
    # It selects the three headless Services, each naming the metrics port, and nothing else.
    selector = ",".join(f"{k}={v}" for k, v in monitor["spec"]["selector"]["matchLabels"].items())
    selected = kube.get("services", selector=selector)
    assert sorted(s["metadata"]["name"] for s in selected) == [
        f"{CLUSTER}-{role}-headless" for role in ("frontend", "history", "matching")
    ]
    for service in selected:
        assert {"name": "metrics", "port": METRICS_PORT} in [
            {k: p[k] for k in ("name", "port")} for p in service["spec"]["ports"]
        ]
    # The ServiceMonitor scrapes the pods now, so their templates drop the scrape annotations
    # (a Prometheus reading both would scrape each pod twice) and keep the metrics port.
    for role in ("frontend", "history", "matching"):
        template = kube.get("deployment", f"{CLUSTER}-{role}")["spec"]["template"]
        assert not any(k.startswith("prometheus.io/") for k in template["metadata"]["annotations"]), role
        assert "metrics" in [port["name"] for port in template["spec"]["containers"][0]["ports"]], role

    # Metrics off: the pods roll without port or annotations, the ServiceMonitor goes.
    off = {"metrics": {"enabled": False, "serviceMonitor": {"enabled": False}}}
    kube.run("patch", "legatocluster", CLUSTER, "--type", "merge", "-p", json.dumps({"spec": off}))
    wait_until(
        lambda: kube.get("servicemonitor", CLUSTER) is None,
        timeout=60,
        what="the ServiceMonitor to be removed",
        describe=lambda: describe_status(kube),
    )
    wait_until(
        lambda: condition(kube, "legatocluster", CLUSTER, "ServiceMonitorReady") == {},
        timeout=30,
        what="the ServiceMonitorReady condition to go (no ServiceMonitor is asked for)",
    )

    def rolled_without_metrics() -> bool:
        pods = [
            p for role in ("frontend", "history", "matching") for p in kube.ready_pods(_role_selector(role))
        ]
        return len(pods) == 3 and all(
            not any(k.startswith("prometheus.io/") for k in p["metadata"].get("annotations", {}))
            and [port["name"] for port in p["spec"]["containers"][0]["ports"]] == ["grpc"]
            for p in pods
        )

    wait_until(rolled_without_metrics, timeout=300, what="pods without metrics port or annotations",
               describe=lambda: kube.describe_pods(f"app.kubernetes.io/instance={CLUSTER}"))  # fmt: skip
    wait_condition(kube, "Ready", status="True", reason="AllRolesServing", timeout=300)
    for role in ("frontend", "history", "matching"):
        headless = kube.get("service", f"{CLUSTER}-{role}-headless")
        assert [p["name"] for p in headless["spec"]["ports"]] == ["grpc"], role
    timer.mark("metrics turned off: pods rolled, ServiceMonitor removed, Ready again")


def _scrape(pod_ip: str) -> str:
    """GET /metrics from this machine (on the pod bridge, it reaches pod IPs)."""
    url = f"http://{pod_ip}:{METRICS_PORT}/metrics"

    def fetch() -> str | None:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return str(response.read().decode())
        except OSError:
            return None

    return wait_until(fetch, timeout=30, what=f"{url} to answer")


# ---------------------------------------------------------------- cert-manager


@dataclass(frozen=True)
class Issued:
    cert: bytes
    key: bytes


def _new_ca(common_name: str) -> tuple[Any, Any, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert, key, cert.public_bytes(serialization.Encoding.PEM)


def _issue(ca: tuple[Any, Any, bytes], dns_names: list[str]) -> Issued:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_cert, ca_key, _ = ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_names[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return Issued(
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )


def _tls_secret(
    name: str, issued: Issued, ca_pem: bytes, *, annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    data = {"tls.crt": issued.cert, "tls.key": issued.key, "ca.crt": ca_pem}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {"name": name, "annotations": dict(annotations or {})},
        "data": {key: base64.b64encode(value).decode() for key, value in data.items()},
    }


@pytest.mark.timeout(900)
@pytest.mark.usefixtures("operator_logs_on_failure")
def test_frontend_tls_from_a_cert_manager_issuer(
    namespace: Kube, database_host: str, database: str, without_addon_crds: Kube
) -> None:
    from legato_operator import health

    kube = namespace
    timer = Timer()
    internode_ca = _new_ca("legato e2e internode CA")
    issuer_ca = _new_ca("legato e2e issuer CA (the test plays cert-manager)")
    internode = _issue(internode_ca, [INTERNODE_NAME])
    resource = cluster_resource(db_host=database_host, database=database)
    resource["spec"]["internodeTLS"] = {"secretName": "internode-tls", "serverName": INTERNODE_NAME}
    resource["spec"]["frontend"]["tls"] = {
        "issuerRef": {"name": "e2e-ca", "kind": "ClusterIssuer"},
        "extraDNSNames": [EXTERNAL_NAME],
    }
    kube.apply([manifests.db_secret(DB_PASSWORD), _tls_secret("internode-tls", internode, internode_ca[2])])

    both = json.loads(json.dumps(resource))
    both["spec"]["frontend"]["tls"]["secretName"] = "mine"
    with pytest.raises(KubectlError, match="exactly one of secretName"):
        kube.apply([both])
    names_without_issuer = json.loads(json.dumps(resource))
    names_without_issuer["spec"]["frontend"]["tls"] = {"secretName": "mine", "extraDNSNames": [EXTERNAL_NAME]}
    with pytest.raises(KubectlError, match="extraDNSNames goes with issuerRef"):
        kube.apply([names_without_issuer])
    kube.apply([resource])

    # No cert-manager: a condition that says so; the frontend waits for its Secret.
    missing = wait_condition(
        kube, "FrontendCertificateReady", status="False", reason="CertManagerCRDMissing", timeout=120
    )
    assert "install cert-manager" in missing["message"], missing
    wait_until(
        lambda: "CertManagerCRDMissing" in _events(kube), timeout=30, what="a CertManagerCRDMissing Event"
    )
    timer.mark("FrontendCertificateReady=False/CertManagerCRDMissing")

    # cert-manager's kind appears: the operator creates the Certificate and waits for its Secret.
    _install_crd(without_addon_crds, CERTIFICATE_CRD)
    wait_condition(
        kube, "FrontendCertificateReady", status="False", reason="WaitingForCertManager", timeout=60
    )
    certificate = kube.get("certificate", f"{CLUSTER}-frontend-tls")
    owner = kube.get("legatocluster", CLUSTER)["metadata"]["uid"]
    assert [ref["uid"] for ref in certificate["metadata"]["ownerReferences"]] == [owner]
    assert certificate["spec"]["issuerRef"] == {
        "name": "e2e-ca",
        "kind": "ClusterIssuer",
        "group": "cert-manager.io",
    }
    dns_names = certificate["spec"]["dnsNames"]
    service_name = f"{CLUSTER}-frontend.{kube.namespace}.svc"
    assert service_name in dns_names and EXTERNAL_NAME in dns_names, dns_names
    assert condition(kube, "legatocluster", CLUSTER, "Ready")["status"] == "False"
    # The frontend's roll waits for the Secret, and Progressing says so (once the Deployment exists).
    waiting = wait_condition(kube, "Progressing", status="True", reason="WaitingForCertificate", timeout=60)
    assert "waiting for cert-manager" in waiting["message"], waiting
    timer.mark("Certificate created; waiting for cert-manager")

    # The test plays cert-manager: the Secret the Certificate names, for its DNS names, with the
    # annotation cert-manager puts on what it issues, the Certificate's Secret labels, and no owner.
    secret_name = certificate["spec"]["secretName"]
    issued = _issue(issuer_ca, dns_names)
    issued_secret = _tls_secret(
        secret_name,
        issued,
        issuer_ca[2],
        annotations={"cert-manager.io/certificate-name": certificate["metadata"]["name"]},
    )
    issued_secret["metadata"]["labels"] = certificate["spec"]["secretTemplate"]["labels"]
    kube.apply([issued_secret])
    wait_condition(kube, "FrontendCertificateReady", status="True", reason="CertificateIssued", timeout=60)
    wait_condition(kube, "Ready", status="True", reason="AllRolesServing", timeout=300)
    timer.mark("Ready=True with the issued frontend certificate")

    # The frontend Service serves TLS with that certificate: a health check that trusts only the
    # issuer's CA and expects the Service's name (the client certificate is the internode one:
    # with internode TLS every port wants one, docs/tls.md).
    address = f"{kube.get('service', f'{CLUSTER}-frontend')['spec']['clusterIP']}:7233"
    material = health.TLSMaterial(
        ca=issuer_ca[2], cert=internode.cert, key=internode.key, server_name=service_name
    )
    wait_until(
        lambda: health.check(address, timeout=3, tls=material) == health.SERVING,
        timeout=60,
        what=f"SERVING over TLS from {address} as {service_name}",
        describe=lambda: health.check(address, timeout=3, tls=material),
    )
    # The name clients outside would use is in it too.
    external = health.TLSMaterial(
        ca=issuer_ca[2], cert=internode.cert, key=internode.key, server_name=EXTERNAL_NAME
    )
    assert health.check(address, timeout=3, tls=external) == health.SERVING
    # And the same check trusting only the internode CA fails: what answered is the issued certificate.
    wrong = health.TLSMaterial(
        ca=internode_ca[2], cert=internode.cert, key=internode.key, server_name=service_name
    )
    assert health.check(address, timeout=3, tls=wrong).startswith("UNREACHABLE")
    timer.mark("frontend Service serves TLS with the issued certificate")

    # cert-manager's Secret is the cluster's (an owner, not the controller): it goes with the cluster.
    def secret_owners() -> list[dict[str, Any]]:
        return list((kube.get("secret", secret_name) or {}).get("metadata", {}).get("ownerReferences") or [])

    wait_until(
        lambda: [ref["uid"] for ref in secret_owners()] == [owner],
        timeout=30,
        what=f"Secret {secret_name} to be owned by the LegatoCluster",
        describe=lambda: str(secret_owners()),
    )
    assert not secret_owners()[0].get("controller")
    assert certificate["spec"]["secretTemplate"]["labels"]["app.kubernetes.io/instance"] == CLUSTER
    kube.run("delete", "legatocluster", CLUSTER, "--wait=true", "--timeout=60s")
    wait_until(
        lambda: kube.get("secret", secret_name) is None and kube.get("certificate", secret_name) is None,
        timeout=90,
        what=f"Secret {secret_name} and its Certificate to be deleted with the LegatoCluster",
    )
    assert kube.get("secret", "internode-tls") is not None, "the user's own Secret is not the operator's"
    timer.mark("LegatoCluster deleted: the issued Secret went with it")
