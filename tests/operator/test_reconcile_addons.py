"""Whole reconcile passes (``cluster.reconcile``) on an in-memory Kube: what the add-ons change elsewhere.

* A ServiceMonitor that exists scrapes the pods, so their ``prometheus.io/*``
  annotations go (a Prometheus reading both would scrape each pod twice);
  without one (not asked for, or its CRD missing) the pods keep them.
* The Secret cert-manager issues for the frontend's Certificate gets the
  LegatoCluster as owner, so deleting the cluster deletes it.
"""

from __future__ import annotations

from typing import Any

import pytest

from legato_operator import cluster, render
from tests.operator.conftest import spec
from tests.operator.fake_kube import FakeKube, completed_schema_job, password_secret

NAME, NAMESPACE, UID = "prod", "team-a", "0f6d-uid"
SCRAPE_KEYS = {"prometheus.io/scrape", "prometheus.io/port", "prometheus.io/path"}


def _body(cluster_spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "legato.dev/v1alpha1",
        "kind": "LegatoCluster",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "uid": UID, "generation": 1},
        "spec": cluster_spec,
    }


def _adopt(child: dict[str, Any]) -> None:
    # What kopf.adopt does that matters here: the cluster as the controlling owner.
    child["metadata"]["ownerReferences"] = [
        {"kind": "LegatoCluster", "name": NAME, "uid": UID, "controller": True}
    ]


def _kube(cluster_spec: dict[str, Any], *, serves: set[str]) -> FakeKube:
    """A namespace with the password Secret and the schema Job already completed: roles get rendered."""
    kube = FakeKube(serves=serves)
    kube.put(password_secret(NAMESPACE))
    kube.put(completed_schema_job(NAME, NAMESPACE, cluster_spec))
    return kube


def _pass(kube: FakeKube, cluster_spec: dict[str, Any]) -> cluster.Outcome:
    return cluster.reconcile(kube, _body(cluster_spec), adopt=_adopt)  # type: ignore[arg-type]


def _scrape_annotations(kube: FakeKube) -> dict[str, dict[str, str]]:
    return {
        role: {
            key: value
            for key, value in kube.deployment(NAME, role)["spec"]["template"]["metadata"][
                "annotations"
            ].items()
            if key in SCRAPE_KEYS
        }
        for role in render.ROLES
    }


MONITORED = {"serviceMonitor": {"enabled": True}}


@pytest.mark.parametrize(
    ("metrics", "served", "annotated"),
    [
        pytest.param({}, set(), True, id="no-service-monitor-asked"),
        pytest.param({}, {"ServiceMonitor"}, True, id="crd-there-but-not-asked"),
        pytest.param(MONITORED, set(), True, id="asked-but-crd-missing"),
        pytest.param(MONITORED, {"ServiceMonitor"}, False, id="service-monitor-applied"),
    ],
)
def test_pods_carry_scrape_annotations_only_while_no_service_monitor_scrapes_them(
    metrics: dict[str, Any], served: set[str], annotated: bool
) -> None:
    cluster_spec = spec(metrics=metrics)
    kube = _kube(cluster_spec, serves=served)

    _pass(kube, cluster_spec)

    annotations = _scrape_annotations(kube)
    if annotated:
        assert all(found.keys() == SCRAPE_KEYS for found in annotations.values()), annotations
        assert kube.get("ServiceMonitor", NAMESPACE, NAME) is None
    else:
        assert annotations == {role: {} for role in render.ROLES}
        assert kube.get("ServiceMonitor", NAMESPACE, NAME) is not None
    for role in render.ROLES:
        # Either way the pods serve /metrics: the ServiceMonitor scrapes the same port.
        ports = kube.deployment(NAME, role)["spec"]["template"]["spec"]["containers"][0]["ports"]
        assert "metrics" in {port["name"] for port in ports}, role


def test_the_annotations_go_when_the_crd_appears_and_come_back_when_it_goes() -> None:
    cluster_spec = spec(metrics=MONITORED)
    kube = _kube(cluster_spec, serves=set())
    _pass(kube, cluster_spec)
    assert all(_scrape_annotations(kube).values())

    kube.kinds.add("ServiceMonitor")  # prometheus-operator installed
    _pass(kube, cluster_spec)
    assert not any(_scrape_annotations(kube).values())

    kube.kinds.discard("ServiceMonitor")  # and removed again
    _pass(kube, cluster_spec)
    assert all(_scrape_annotations(kube).values())


def test_the_issued_frontend_secret_is_owned_by_the_cluster() -> None:
    cluster_spec = spec(
        frontend={"replicas": 1, "tls": {"issuerRef": {"name": "ca", "kind": "ClusterIssuer"}}},
        internodeTLS={"secretName": "internode", "serverName": "legato-internode"},
    )
    kube = _kube(cluster_spec, serves={"Certificate"})
    _pass(kube, cluster_spec)
    assert kube.get("Certificate", NAMESPACE, "prod-frontend-tls") is not None

    # cert-manager issues the Secret: its annotation, the template's labels, no owner.
    kube.put(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/tls",
            "metadata": {
                "name": "prod-frontend-tls",
                "namespace": NAMESPACE,
                "labels": render.labels(NAME, "frontend"),
                "annotations": {"cert-manager.io/certificate-name": "prod-frontend-tls"},
            },
            "data": {"tls.crt": "eA==", "tls.key": "eA==", "ca.crt": "eA=="},
        }
    )
    outcome = _pass(kube, cluster_spec)

    secret = kube.get("Secret", NAMESPACE, "prod-frontend-tls")
    assert secret is not None
    assert secret["metadata"]["ownerReferences"] == [
        {"apiVersion": "legato.dev/v1alpha1", "kind": "LegatoCluster", "name": NAME, "uid": UID}
    ]
    issued = next(c for c in outcome.status["conditions"] if c["type"] == "FrontendCertificateReady")
    assert (issued["status"], issued["reason"]) == ("True", "CertificateIssued")
    assert "deleted with it" in issued["message"]
