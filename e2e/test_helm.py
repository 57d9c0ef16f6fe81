"""The Helm chart (``charts/legato``) on the real e2e Kubernetes, driven by the real Helm binary.

One release, in its own Kubernetes namespace, goes through a user's life
cycle, one test per step (they run in file order and share the release):

1. ``helm install`` (defaults: cluster-wide RBAC, peering) brings the
   operator up, creating the CRDs (or adopting ones ``kubectl`` installed);
2. every manifest the chart renders (cluster-wide and namespaced, with a
   cluster and LegatoNamespaces) is accepted by ``kubectl apply
   --dry-run=server``: the API server, not only Helm, takes them (after 1,
   so the API knows the CRDs the custom resources need);
3. bad values (a negative replica count, an unknown store type) are refused
   at install with a message naming the value, and nothing is created;
4. ``helm upgrade`` with a cluster in values, watching only the release's
   namespace (namespaced Roles, no cluster-wide access): the operator brings
   the LegatoCluster Ready, and ``helm test`` (the frontend's gRPC health)
   passes;
5. ``helm upgrade`` to a copy of the chart whose CRD gained a field updates
   the CRD in the API server (and upgrading back removes it);
6. ``helm uninstall`` removes the operator and leaves the LegatoCluster and
   its serving pods.

The e2e cluster may already run the kubectl-installed operator
(``e2e/test_operator.py`` leaves it in legato-system): it is scaled to zero
for this module and back afterwards, so one operator reconciles at a time.
The CRDs already exist there, installed by ``kubectl apply``; the fixture
lets the release adopt them the way the chart's README tells users to.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from e2e import manifests
from e2e.conftest import DB_PASSWORD, IN_CI, REPO_ROOT, diagnostics
from e2e.k8s import Kube, wait_until

CHART = REPO_ROOT / "charts" / "legato"
HELM_VERSION = "v3.22.0"
RELEASE = "lgh"
CLUSTER = "legato"
OPERATOR = f"{RELEASE}-legato-operator"
OPERATOR_SELECTOR = f"app.kubernetes.io/name=legato-operator,app.kubernetes.io/instance={RELEASE}"
CRDS = ("legatoclusters.legato.dev", "legatonamespaces.legato.dev", "clusterkopfpeerings.kopf.dev")
KUBECTL_OPERATOR_NAMESPACE = "legato-system"
ADDED_FIELD = "e2eAddedField"


def helm_binary() -> Path:
    cache = Path(os.environ.get("LEGATO_E2E_CACHE", Path.home() / ".cache" / "legato-e2e"))
    path = Path(os.environ.get("LEGATO_HELM") or cache / f"helm-{HELM_VERSION}" / "bin" / "helm")
    if not path.exists():
        message = f"helm is not built ({path} is missing); build it with: e2e/infra/build.sh helm"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


@dataclass(frozen=True)
class Helm:
    binary: Path
    kube: Kube
    home: Path

    def run(
        self, *args: str | Path, check: bool = True, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "KUBECONFIG": str(self.kube.kubeconfig),
            "HELM_CACHE_HOME": str(self.home / "cache"),
            "HELM_CONFIG_HOME": str(self.home / "config"),
            "HELM_DATA_HOME": str(self.home / "data"),
        }
        result = subprocess.run(
            [str(self.binary), *map(str, args)], capture_output=True, text=True, timeout=timeout, env=env
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"helm {' '.join(map(str, args))} failed ({result.returncode}):\n{result.stderr}"
            )
        return result

    def values(self, values: dict[str, Any]) -> Path:
        path = self.home / f"values-{uuid.uuid4().hex[:8]}.yaml"
        path.write_text(yaml.safe_dump(values))
        return path


@dataclass(frozen=True)
class Release:
    helm: Helm
    kube: Kube  # the release's namespace
    image: str
    database_host: str
    database: str

    def base_values(self) -> dict[str, Any]:
        repository, tag = self.image.rsplit(":", 1)
        # Imported into the node, nothing to pull.
        return {"image": {"repository": repository, "tag": tag, "pullPolicy": "Never"}, "logLevel": "debug"}

    def cluster_values(self) -> dict[str, Any]:
        return {
            **self.base_values(),
            "watchNamespaces": [self.kube.namespace],
            "cluster": {
                "enabled": True,
                "name": CLUSTER,
                "spec": {
                    "imagePullPolicy": "Never",
                    "numHistoryShards": 8,
                    "shutdownGraceSeconds": 5,
                    "persistence": {
                        "type": "mysql",
                        "mysql": {
                            "host": self.database_host,
                            "database": self.database,
                            "passwordSecretRef": {"name": "legato-db"},
                        },
                    },
                    "frontend": {"replicas": 1},
                    "history": {"replicas": 1},
                    "matching": {"replicas": 1},
                },
            },
        }


def _scale_kubectl_operator(cluster: Kube, replicas: int) -> bool:
    kube = cluster.in_namespace(KUBECTL_OPERATOR_NAMESPACE)
    if kube.get("deployment", "legato-operator") is None:
        return False
    kube.run("scale", "deployment/legato-operator", f"--replicas={replicas}")
    if replicas == 0:
        wait_until(
            lambda: not kube.pods("app.kubernetes.io/name=legato-operator"),
            timeout=90,
            what="the kubectl-installed operator to stop",
            describe=lambda: kube.describe_pods("app.kubernetes.io/name=legato-operator"),
        )
    return True


def _adopt_crds(cluster: Kube, namespace: str) -> None:
    """Let this release take over CRDs ``kubectl apply`` installed (the README's migration steps)."""
    existing = [crd for crd in CRDS if cluster.get("crd", crd) is not None]
    if not existing:
        return
    cluster.run("label", "--overwrite", "crd", *existing, "app.kubernetes.io/managed-by=Helm")
    cluster.run(
        "annotate", "--overwrite", "crd", *existing,
        f"meta.helm.sh/release-name={RELEASE}", f"meta.helm.sh/release-namespace={namespace}",
    )  # fmt: skip


@pytest.fixture(scope="module")
def release(
    cluster: Kube, legato_image: str, database_host: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Release]:
    helm = Helm(helm_binary(), cluster, tmp_path_factory.mktemp("helm"))
    name = f"e2e-helm-{uuid.uuid4().hex[:5]}"
    cluster.run("create", "namespace", name)
    kube = cluster.in_namespace(name)
    wait_until(
        lambda: kube.get("serviceaccount", "default"), timeout=30, what=f"ServiceAccount default in {name}"
    )
    database = f"legato_e2e_{uuid.uuid4().hex[:10]}"
    scaled = _scale_kubectl_operator(cluster, 0)
    _adopt_crds(cluster, name)
    try:
        yield Release(helm, kube, legato_image, database_host, database)
    finally:
        if os.environ.get("LEGATO_E2E_KEEP_NAMESPACES") != "1":
            helm.run("uninstall", RELEASE, "-n", name, "--wait", check=False)
            cluster.run("delete", "namespace", name, "--wait=false", check=False)
        subprocess.run(
            ["mariadb", "--no-defaults", "-h", database_host, "-u", "legato", f"-p{DB_PASSWORD}"],
            input=f"DROP DATABASE IF EXISTS `{database}`;", capture_output=True, text=True, check=False,
        )  # fmt: skip
        if scaled:
            _scale_kubectl_operator(cluster, 1)


@pytest.fixture
def diagnose_on_failure(release: Release, request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if any(getattr(getattr(request.node, f"report_{w}", None), "failed", False) for w in ("setup", "call")):
        print(diagnostics(release.kube))
        print("===== operator log")
        print(release.kube.logs(f"deployment/{OPERATOR}")[-8000:])


def render(release: Release, values: dict[str, Any]) -> str:
    return release.helm.run(
        "template", RELEASE, CHART, "-n", release.kube.namespace, "--kube-version", "1.32.13",
        "--api-versions", "legato.dev/v1alpha1/LegatoCluster", "-f", release.helm.values(values),
    ).stdout  # fmt: skip


def wait_cluster_ready(kube: Kube, *, timeout: float) -> dict[str, Any]:
    def ready() -> dict[str, Any] | None:
        resource = kube.get("legatocluster", CLUSTER) or {}
        conditions = {c["type"]: c for c in (resource.get("status") or {}).get("conditions") or []}
        return resource if conditions.get("Ready", {}).get("status") == "True" else None

    def describe() -> str:
        status = (kube.get("legatocluster", CLUSTER) or {}).get("status") or {}
        lines = [f"{c['type']}={c['status']} {c.get('reason')}" for c in status.get("conditions", [])]
        return " | ".join(lines) + f" || pods: {kube.describe_pods()}"

    return wait_until(
        ready, timeout=timeout, what=f"LegatoCluster {CLUSTER} Ready", describe=describe, interval=1.0
    )


def assert_no_permission_trouble(kube: Kube, pod: dict[str, Any]) -> None:
    log = kube.logs(f"pod/{pod['metadata']['name']}")
    for sign in ("Forbidden", "forbidden", "Not enough permissions"):
        assert sign not in log, f"{sign!r} in the operator's log:\n{log[-4000:]}"


# ---------------------------------------------------------------- tests


@pytest.mark.usefixtures("diagnose_on_failure")
def test_helm_install_brings_the_operator_up(release: Release) -> None:
    result = release.helm.run(
        "install", RELEASE, CHART, "-n", release.kube.namespace, "-f", release.helm.values(release.base_values()),
        "--wait", "--timeout", "3m",
    )  # fmt: skip
    assert "STATUS: deployed" in result.stdout
    assert "Next, create a cluster" in result.stdout  # NOTES.txt
    (pod,) = release.kube.wait_for_ready_pods(OPERATOR_SELECTOR, timeout=120)
    args = pod["spec"]["containers"][0]["args"]
    assert f"--peering={OPERATOR}" in args
    for crd in CRDS:
        labels = release.kube.get("crd", crd)["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "Helm", crd
    # kopf is up and found its resources (no permission trouble in its log).
    wait_until(
        lambda: "legatoclusters" in release.kube.logs(f"pod/{pod['metadata']['name']}"),
        timeout=60,
        what="the operator to start watching legatoclusters",
        describe=lambda: release.kube.logs(f"pod/{pod['metadata']['name']}")[-2000:],
    )
    assert_no_permission_trouble(release.kube, pod)


@pytest.mark.usefixtures("diagnose_on_failure")
def test_every_rendered_manifest_is_accepted_by_the_api_server(release: Release) -> None:
    everything = {
        **release.cluster_values(),
        "tracing": {"otlpEndpoint": "http://collector.observability:4317"},
        "imagePullSecrets": [{"name": "registry-example"}],
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}],
        "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": []}},
        "namespaces": [{"name": "orders", "spec": {"clusterRef": {"name": CLUSTER}, "retention": "96h"}}],
    }
    cluster_wide = {**everything, "watchNamespaces": []}
    # Frontend TLS from cert-manager: the test Pod then mounts the Secret cert-manager
    # writes, which values never name (it once rendered secretName: null, which the API refuses).
    cert_manager = copy.deepcopy(everything)
    spec = cert_manager["cluster"]["spec"]
    issuer = {"issuerRef": {"name": "ca", "kind": "ClusterIssuer"}}
    spec["frontend"] = {**spec.get("frontend", {}), "tls": issuer}
    spec["internodeTLS"] = {"secretName": "internode", "serverName": "internode.legato"}
    for values in (everything, cluster_wide, cert_manager):
        manifest = render(release, values)
        kinds = sorted({doc["kind"] for doc in yaml.safe_load_all(manifest) if doc})
        out = release.kube.run(
            "apply", "--dry-run=server", "--server-side", "--force-conflicts", "-f", "-", stdin=manifest
        )
        assert "(server dry run)" in out, out
        for kind in ("CustomResourceDefinition", "Deployment", "LegatoCluster", "LegatoNamespace", "Pod"):
            assert kind in kinds
        assert ("Role" if values["watchNamespaces"] else "ClusterRole") in kinds


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"cluster": {"spec": {"history": {"replicas": -1}}}}, "/cluster/spec/history/replicas"),
        ({"cluster": {"spec": {"persistence": {"type": "postgres"}}}}, "/cluster/spec/persistence/type"),
    ],
    ids=["negative-replicas", "unknown-store-type"],
)
def test_bad_values_are_refused_at_install(release: Release, values: dict[str, Any], named: str) -> None:
    merged = release.cluster_values()
    merged["cluster"]["spec"] = {**merged["cluster"]["spec"], **values["cluster"]["spec"]}
    result = release.helm.run(
        "install", "bad", CHART, "-n", release.kube.namespace, "-f", release.helm.values(merged), check=False
    )
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr, result.stderr
    assert named in result.stderr, result.stderr
    assert "bad" not in release.helm.run("list", "-q", "-n", release.kube.namespace).stdout.split()
    assert release.kube.get("legatocluster", CLUSTER) is None  # nothing was created


@pytest.mark.timeout(900)
@pytest.mark.usefixtures("diagnose_on_failure")
def test_a_cluster_in_values_comes_up_and_helm_test_passes(release: Release) -> None:
    kube = release.kube
    kube.apply([manifests.db_secret(DB_PASSWORD)])
    result = release.helm.run(
        "upgrade", RELEASE, CHART, "-n", kube.namespace, "-f", release.helm.values(release.cluster_values()),
        "--wait", "--timeout", "3m",
    )  # fmt: skip
    assert f"helm test {RELEASE}" in result.stdout  # NOTES.txt
    # Namespaced now: Roles in the watched namespace, no ClusterRole, the operator told which namespace.
    assert kube.get("role", OPERATOR) is not None
    assert release.kube.run("get", "clusterrole", OPERATOR, check=False).strip() == ""
    (pod,) = kube.wait_for_ready_pods(OPERATOR_SELECTOR, timeout=120)
    assert f"--namespace={kube.namespace}" in pod["spec"]["containers"][0]["args"]

    wait_cluster_ready(kube, timeout=420)
    # Namespaced Roles were enough: kopf neither hit a 403 nor fell back.
    assert_no_permission_trouble(kube, pod)
    tested = release.helm.run("test", RELEASE, "-n", kube.namespace, "--logs", "--timeout", "5m")
    assert "Phase:          Succeeded" in tested.stdout or "Succeeded" in tested.stdout, tested.stdout
    assert "SERVING" in tested.stdout, tested.stdout


@pytest.mark.usefixtures("diagnose_on_failure")
def test_upgrade_to_a_chart_whose_crd_gained_a_field_updates_the_crd(
    release: Release, tmp_path: Path
) -> None:
    def properties() -> dict[str, Any]:
        crd = release.kube.get("crd", "legatoclusters.legato.dev")
        schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        return dict(schema["properties"]["spec"]["properties"])

    assert ADDED_FIELD not in properties()
    newer = tmp_path / "legato"
    shutil.copytree(CHART, newer)
    crd_file = newer / "files" / "crds" / "legatoclusters.legato.dev.yaml"
    text = crd_file.read_text()
    anchor = "                tracing:\n"
    assert anchor in text
    crd_file.write_text(
        text.replace(
            anchor, f"                {ADDED_FIELD}: {{type: string, description: added by e2e}}\n" + anchor
        )
    )
    chart_file = newer / "Chart.yaml"
    chart_file.write_text(chart_file.read_text().replace("version: 0.1.0", "version: 0.1.1"))

    values = release.helm.values(release.cluster_values())
    release.helm.run("upgrade", RELEASE, newer, "-n", release.kube.namespace, "-f", values, "--wait")
    assert properties()[ADDED_FIELD] == {"type": "string", "description": "added by e2e"}
    # And back: the field goes, as the older chart's CRD does not have it.
    release.helm.run("upgrade", RELEASE, CHART, "-n", release.kube.namespace, "-f", values, "--wait")
    assert ADDED_FIELD not in properties()


@pytest.mark.usefixtures("diagnose_on_failure")
def test_uninstall_leaves_the_cluster_running(release: Release) -> None:
    kube = release.kube
    before = kube.get("legatocluster", CLUSTER)
    assert before is not None
    release.helm.run("uninstall", RELEASE, "-n", kube.namespace, "--wait", "--timeout", "2m")
    wait_until(
        lambda: not kube.pods(OPERATOR_SELECTOR) and kube.get("deployment", OPERATOR) is None,
        timeout=90,
        what="the operator to be gone",
    )
    assert kube.get("role", OPERATOR) is None and kube.get("serviceaccount", OPERATOR) is None
    after = kube.get("legatocluster", CLUSTER)
    assert after is not None and not after["metadata"].get("deletionTimestamp")
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    for role in ("frontend", "history", "matching"):
        pods = kube.ready_pods(f"app.kubernetes.io/instance={CLUSTER},app.kubernetes.io/component={role}")
        assert len(pods) == 1, role
    for crd in CRDS:
        assert release.kube.get("crd", crd) is not None, f"{crd} was deleted"
