"""Bad values are refused by ``helm template``/``install`` before anything is made, naming the value.

Helm checks ``values.schema.json`` (generated from the CRDs by
``scripts/gen_chart.py``); each case asserts the failure and that the message
points at the offending value's path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.chart.helm import template
from tests.chart.test_render import CLUSTER


def cluster_with(**spec: Any) -> dict[str, Any]:
    return {"cluster": {**CLUSTER, "spec": {**CLUSTER["spec"], **spec}}}


BAD_VALUES = [
    pytest.param(
        cluster_with(history={"replicas": -1}), "/cluster/spec/history/replicas", id="negative-replicas"
    ),
    pytest.param(
        cluster_with(
            persistence={"type": "postgres", "mysql": {"host": "h", "passwordSecretRef": {"name": "s"}}}
        ),
        "/cluster/spec/persistence/type",
        id="unknown-store-type",
    ),
    pytest.param(cluster_with(numHistoryShards=0), "/cluster/spec/numHistoryShards", id="zero-shards"),
    pytest.param(cluster_with(version="latest"), "/cluster/spec/version", id="version-not-semver"),
    pytest.param(cluster_with(histroy={"replicas": 2}), "histroy", id="misspelt-role"),
    pytest.param({"cluster": {"enabled": True, "spec": {}}}, "persistence", id="cluster-without-persistence"),
    pytest.param(
        cluster_with(logging={"level": "loud"}), "/cluster/spec/logging/level", id="server-log-level"
    ),
    pytest.param(
        cluster_with(metrics={"port": 80}), "/cluster/spec/metrics/port", id="privileged-metrics-port"
    ),
    pytest.param(
        cluster_with(metrics={"serviceMonitor": {"interval": "soon"}}),
        "/cluster/spec/metrics/serviceMonitor/interval",
        id="scrape-interval",
    ),
    pytest.param(
        cluster_with(frontend={"tls": {"issuerRef": {"name": "ca", "kind": "Vault"}}}),
        "/cluster/spec/frontend/tls/issuerRef/kind",
        id="issuer-kind",
    ),
    pytest.param({"replicas": -1}, "/replicas", id="negative-operator-replicas"),
    pytest.param({"watchNamespaces": ["a"], "replicas": 2}, "/replicas", id="two-standalone-operators"),
    pytest.param({"logLevel": "loud"}, "/logLevel", id="unknown-log-level"),
    pytest.param({"image": {"repository": "r", "tag": "latest"}}, "/image/tag", id="latest-tag"),
    pytest.param(
        {"image": {"repository": "r", "pullPolicy": "Sometimes"}}, "/image/pullPolicy", id="pull-policy"
    ),
    pytest.param({"watchNamespaces": ["Team_A"]}, "/watchNamespaces/0", id="bad-namespace-name"),
    pytest.param({"watchNamspaces": ["a"]}, "watchNamspaces", id="misspelt-top-level-key"),
    pytest.param(
        {
            "namespaces": [
                {"name": "orders", "spec": {"clusterRef": {"name": "x"}, "deletionPolicy": "Purge"}}
            ]
        },
        "/namespaces/0/spec/deletionPolicy",
        id="namespace-deletion-policy",
    ),
]


@pytest.mark.parametrize(("values", "named"), BAD_VALUES)
def test_bad_values_fail_naming_the_value(tmp_path: Path, values: dict[str, Any], named: str) -> None:
    result = template(tmp_path, values, check=False)
    assert result.code != 0, f"accepted: {values}"
    assert "values don't meet the specifications of the schema" in result.stderr, result.stderr
    assert named in result.stderr, result.stderr


def test_a_cluster_outside_the_watched_namespaces_is_refused(tmp_path: Path) -> None:
    result = template(tmp_path, {"watchNamespaces": ["team-a"], "cluster": CLUSTER}, check=False)
    assert result.code != 0
    assert "watchNamespaces [team-a] leaves out the release namespace legato-system" in result.stderr
    assert template(tmp_path, {"watchNamespaces": ["team-a", "legato-system"], "cluster": CLUSTER}).code == 0


def test_a_cluster_with_metrics_logging_and_an_issuer_passes_into_the_manifest(tmp_path: Path) -> None:
    from tests.chart.helm import find, render

    spec = {
        "logging": {"level": "debug", "format": "json"},
        "metrics": {
            "port": 9464,
            "serviceMonitor": {"enabled": True, "interval": "1m", "labels": {"release": "p"}},
        },
        "frontend": {"replicas": 1, "tls": {"issuerRef": {"name": "ca", "kind": "ClusterIssuer"}}},
        "internodeTLS": {"secretName": "internode", "serverName": "legato-internode"},
    }
    objects = render(tmp_path, cluster_with(**spec))
    [cluster] = find(objects, "LegatoCluster")
    for key, value in spec.items():
        assert cluster["spec"][key] == value, key
