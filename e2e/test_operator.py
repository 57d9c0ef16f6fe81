"""legato-operator in a real Kubernetes: LegatoCluster on MariaDB, LegatoNamespace, workflows, failures.

The operator runs in the cluster as a Deployment from the Legato image, from
the manifests users apply (``operator/legato_operator/crds/`` and
``operator/deploy/``), watching every namespace. Each test makes its own
Kubernetes namespace and MariaDB database (``e2e/conftest.py``) and talks to
the operator only through custom resources, as a user would:

* a LegatoCluster becomes a schema Job, then frontend/history/matching pods,
  then ``Ready=True`` from the roles' gRPC health; a LegatoNamespace shows in
  ``legato namespace list``; a worker Deployment and a starter Job run
  workflows through the frontend Service; deleting the cluster removes every
  child, and a LegatoNamespace of a deleted cluster deletes at once; a
  LegatoNamespace with ``deletionPolicy: Delete`` deleted while the cluster is
  up is gone from the server (DescribeNamespace NOT_FOUND);
* a wrong password: ``SchemaReady=False/MigrationFailed`` quoting the Job's
  log, no role pods, the Job kept; fixing the Secret recovers by itself;
* an upgrade from this build's image to its next release's (``next_release``
  fixture, ``e2e/next_release.py``: one minor up, one MySQL schema version
  more) with workflows in flight: the new schema Job migrates the database
  first, the new pods start after it, no workflow is lost; going back is
  refused and changes nothing;
* bad specs and immutable fields are refused by ``kubectl apply`` itself.

Timings of each phase are printed (run with ``-s`` to see them).
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from e2e import manifests
from e2e.conftest import DB_PASSWORD, REPO_ROOT
from e2e.k8s import Kube, KubectlError, wait_until
from e2e.next_release import MARKER_TABLE, NextRelease

CRD_DIR = REPO_ROOT / "operator" / "legato_operator" / "crds"
DEPLOY_DIR = REPO_ROOT / "operator" / "deploy"
OPERATOR_NAMESPACE = "legato-system"
CLUSTER = "legato"  # its frontend Service is then "legato-frontend", as the sample apps expect
WORKFLOWS = 100
SAMPLE_FILES = {
    "hello_activity.py": REPO_ROOT / "samples" / "hello_activity.py",
    "_common.py": REPO_ROOT / "samples" / "_common.py",
    "hello_worker.py": REPO_ROOT / "e2e" / "apps" / "hello_worker.py",
    "hello_starter.py": REPO_ROOT / "e2e" / "apps" / "hello_starter.py",
}


# ---------------------------------------------------------------- the operator


def _documents(path: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all((DEPLOY_DIR / path).read_text()) if doc]


@pytest.fixture(scope="module")
def operator(cluster: Kube, legato_image: str) -> Kube:
    """CRDs, RBAC and the operator Deployment (this build's image), as a user installs them."""
    cluster.run("apply", "--server-side", "--force-conflicts", "-f", str(CRD_DIR))
    cluster.apply(_documents("peering.yaml"))
    cluster.run(
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd/legatoclusters.legato.dev",
        "crd/legatonamespaces.legato.dev",
        "crd/clusterkopfpeerings.kopf.dev",
    )
    cluster.apply(_documents("rbac.yaml"))
    (deployment,) = _documents("operator.yaml")
    deployment = copy.deepcopy(deployment)
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["image"] = legato_image
    container["imagePullPolicy"] = "Never"  # imported, nothing to pull from
    # The build's content key on the pod template: a new build rolls the
    # operator, the same build leaves it be. Never deleted at the end: other
    # sessions may be using it.
    annotations = deployment["spec"]["template"]["metadata"].setdefault("annotations", {})
    annotations["legato.dev/image-build"] = image_build_key()
    kube = cluster.in_namespace(OPERATOR_NAMESPACE)
    kube.apply([deployment])
    kube.run("rollout", "status", "deployment/legato-operator", "--timeout=120s", timeout=150)
    kube.wait_for_ready_pods("app.kubernetes.io/name=legato-operator", timeout=120)
    return kube


MYSQL_SCHEMA_VERSIONS = REPO_ROOT / "server" / "legato_server" / "schema" / "mysql" / "legato" / "versioned"


def _schema_tool(command: str, host: str, database: str, *extra: str) -> str:
    """``legato-server schema <command>`` from this machine against the e2e MariaDB; its output line."""
    done = subprocess.run(
        [sys.executable, "-m", "legato_server.schema_cli", "schema", command, "--db", "mysql", "--host", host,
         "--user", "legato", "--password", DB_PASSWORD, "--database", database, *extra],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def start_hello_worker(kube: Kube, image: str) -> None:
    """The hello sample's worker as a Deployment, reaching the frontend Service; waits until it is Ready."""
    kube.apply(
        [
            manifests.sample_config_map("hello-sample", SAMPLE_FILES),
            manifests.worker_deployment(
                name="hello-worker", image=image, config_map="hello-sample", script="hello_worker.py"
            ),
        ]
    )
    kube.wait_for_ready_pods("app.kubernetes.io/component=hello-worker", timeout=120)


def start_hello_starter(kube: Kube, image: str, *, count: int, pace: float) -> None:
    """A Job that starts ``count`` hello workflows, one every ``pace`` seconds, and waits for them."""
    kube.apply(
        [
            manifests.app_job(
                name="hello-starter",
                image=image,
                config_map="hello-sample",
                args=["python", "/app/hello_starter.py", "--count", str(count), "--pace", str(pace)],
            )
        ]
    )


def image_build_key() -> str:
    """The content key scripts/image/build.sh stamps next to the archive it built."""
    cache = Path(os.environ.get("LEGATO_E2E_CACHE", Path.home() / ".cache" / "legato-e2e"))
    version = manifests.image_name().rsplit(":", 1)[1]
    stamp = cache / "image" / f"legato-{version}.key"
    return stamp.read_text().strip() if stamp.exists() else "unknown"


@pytest.fixture
def operator_logs_on_failure(operator: Kube, request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if any(getattr(getattr(request.node, f"report_{w}", None), "failed", False) for w in ("setup", "call")):
        print("===== operator log")
        print(operator.logs("deployment/legato-operator")[-8000:])


# ---------------------------------------------------------------- resources


def cluster_resource(*, db_host: str, database: str, history_replicas: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": "legato.dev/v1alpha1",
        "kind": "LegatoCluster",
        "metadata": {"name": CLUSTER},
        "spec": {
            "version": manifests.image_name().rsplit(":", 1)[1],
            "imagePullPolicy": "Never",
            "numHistoryShards": 8,
            "shutdownGraceSeconds": 5,
            "persistence": {
                "type": "mysql",
                "mysql": {"host": db_host, "database": database, "passwordSecretRef": {"name": "legato-db"}},
            },
            "frontend": {"replicas": 1},
            "history": {"replicas": history_replicas},
            "matching": {"replicas": 1},
        },
    }


def legato_namespace(name: str, *, deletion_policy: str = "Retain") -> dict[str, Any]:
    return {
        "apiVersion": "legato.dev/v1alpha1",
        "kind": "LegatoNamespace",
        "metadata": {"name": name},
        "spec": {
            "clusterRef": {"name": CLUSTER},
            "description": "orders placed in the e2e test",
            "ownerEmail": "e2e@example.com",
            "retention": "48h",
            "deletionPolicy": deletion_policy,
        },
    }


def condition(kube: Kube, kind: str, name: str, condition_type: str) -> dict[str, Any]:
    resource = kube.get(kind, name) or {}
    for entry in (resource.get("status") or {}).get("conditions") or []:
        if entry["type"] == condition_type:
            return dict(entry)
    return {}


def describe_status(kube: Kube, kind: str = "legatocluster", name: str = CLUSTER) -> str:
    status = (kube.get(kind, name) or {}).get("status") or {}
    lines = [
        f"{c['type']}={c['status']} {c.get('reason')}: {c.get('message', '')[:300]}"
        for c in status.get("conditions", [])
    ]
    return " | ".join(lines) + f" || pods: {kube.describe_pods()}"


def wait_condition(
    kube: Kube, condition_type: str, *, status: str, reason: str | None = None, timeout: float,
    kind: str = "legatocluster", name: str = CLUSTER,
) -> dict[str, Any]:  # fmt: skip
    def holds() -> dict[str, Any] | None:
        found = condition(kube, kind, name, condition_type)
        if found.get("status") == status and (reason is None or found.get("reason") == reason):
            return found
        return None

    return wait_until(
        holds,
        timeout=timeout,
        what=f"{kind} {name}: {condition_type}={status}" + (f"/{reason}" if reason else ""),
        describe=lambda: describe_status(kube, kind, name),
        interval=1.0,
    )


def children(kube: Kube) -> list[str]:
    selector = f"app.kubernetes.io/instance={CLUSTER},app.kubernetes.io/managed-by=legato-operator"
    out = kube.run(
        "get", "deployments,services,configmaps,jobs,poddisruptionbudgets,horizontalpodautoscalers",
        "-l", selector, "-o", "name",
    )  # fmt: skip
    return out.split()


def deployment_states(kube: Kube) -> dict[str, tuple[int, str]]:
    """Each role Deployment's generation and image: unchanged when a refused change applied nothing."""
    return {
        d["metadata"]["name"]: (
            d["metadata"]["generation"],
            d["spec"]["template"]["spec"]["containers"][0]["image"],
        )
        for d in kube.get("deployments", selector=f"app.kubernetes.io/instance={CLUSTER}")
    }


class Timer:
    def __init__(self) -> None:
        self.start = time.monotonic()
        self.marks: list[tuple[str, float]] = []

    def mark(self, what: str) -> None:
        self.marks.append((what, time.monotonic() - self.start))
        print(f"[operator e2e] {what}: {self.marks[-1][1]:.1f} s", flush=True)


# ---------------------------------------------------------------- tests


@pytest.mark.timeout(900)
@pytest.mark.usefixtures("operator_logs_on_failure")
def test_cluster_comes_up_schema_first_runs_workflows_and_is_deleted_whole(
    namespace: Kube, legato_image: str, database_host: str, database: str
) -> None:
    kube = namespace
    timer = Timer()
    kube.apply([manifests.db_secret(DB_PASSWORD)])
    kube.apply([cluster_resource(db_host=database_host, database=database, history_replicas=2)])

    schema = wait_condition(kube, "SchemaReady", status="True", reason="SchemaUpToDate", timeout=180)
    timer.mark("schema Job completed (SchemaReady=True)")
    assert "schema at version" in schema["message"]
    ready = wait_condition(kube, "Ready", status="True", reason="AllRolesServing", timeout=300)
    timer.mark("Ready=True (every role SERVING)")
    assert ready["observedGeneration"] == kube.get("legatocluster", CLUSTER)["metadata"]["generation"]

    # Schema before pods: every role pod was created after the Job completed.
    (job,) = kube.get("jobs", selector="app.kubernetes.io/component=schema")
    completed = job["status"]["completionTime"]
    for role, count in (("frontend", 1), ("history", 2), ("matching", 1)):
        pods = kube.ready_pods(f"app.kubernetes.io/instance={CLUSTER},app.kubernetes.io/component={role}")
        assert len(pods) == count, role
        assert all(pod["metadata"]["creationTimestamp"] >= completed for pod in pods), role
        env = {e["name"]: e for e in pods[0]["spec"]["containers"][0]["env"]}
        assert env["LEGATO_ADVERTISE_ADDRESS"]["value"] == "$(POD_IP):7233"
    status = kube.get("legatocluster", CLUSTER)["status"]
    assert status["readyRoles"] == "3/3"
    assert status["roles"]["history"] == {
        "desired": 2,
        "ready": 2,
        "serving": 2,
        "version": status["runningVersion"],
    }
    assert status["frontendAddress"] == f"{CLUSTER}-frontend.{kube.namespace}.svc:7233"
    printed = kube.run("get", "legatoclusters")
    assert re.search(rf"^{CLUSTER}\s+\S+\s+3/3\s+\S+\s+True", printed, re.MULTILINE), printed
    # No finalizer: deleting the cluster never waits for the operator (it may be uninstalled).
    assert not kube.get("legatocluster", CLUSTER)["metadata"].get("finalizers")

    # A LegatoNamespace, registered through the frontend, as `legato namespace list` shows.
    kube.apply([legato_namespace("orders")])
    wait_condition(
        kube, "Ready", status="True", reason="Registered", timeout=60, kind="legatonamespace", name="orders"
    )
    timer.mark("LegatoNamespace registered")
    # Retain (the default) needs no delete handler, so no finalizer either.
    assert not kube.get("legatonamespace", "orders")["metadata"].get("finalizers")
    kube.apply(
        [manifests.app_job(name="list-namespaces", image=legato_image, config_map=None, args=["legato", "namespace", "list"], deadline_s=120)]
    )  # fmt: skip
    kube.wait_for_job("list-namespaces", timeout=120)
    listing = kube.logs("job/list-namespaces")
    assert re.search(r"^orders\b", listing, re.MULTILINE) or "orders" in listing, listing

    # deletionPolicy Delete on a healthy cluster: the Legato namespace really goes from the server
    # (DeleteNamespace, then the history hosts' deleter removes the record: NOT_FOUND).
    kube.apply([legato_namespace("scratch", deletion_policy="Delete")])
    wait_condition(
        kube, "Ready", status="True", reason="Registered", timeout=60, kind="legatonamespace", name="scratch"
    )
    kube.run("delete", "legatonamespace", "scratch", "--wait=true", "--timeout=30s")
    until_gone = (
        "for attempt in $(seq 90); do "
        "legato namespace describe scratch 2>&1 | grep -q NOT_FOUND && exit 0; sleep 1; done; "
        "legato namespace describe scratch; exit 1"
    )
    kube.apply(
        [manifests.app_job(name="scratch-gone", image=legato_image, config_map=None, args=["sh", "-c", until_gone], deadline_s=150)]
    )  # fmt: skip
    kube.wait_for_job("scratch-gone", timeout=150)
    timer.mark("LegatoNamespace (Delete) deleted on the server: NOT_FOUND")

    # A worker Deployment and a starter Job run workflows through the frontend Service.
    start_hello_worker(kube, legato_image)
    start_hello_starter(kube, legato_image, count=WORKFLOWS, pace=0.02)
    kube.wait_for_job("hello-starter", timeout=420)
    timer.mark(f"{WORKFLOWS} workflows completed")
    log = kube.logs("job/hello-starter")
    assert f"completed {WORKFLOWS}/{WORKFLOWS}" in log, log[-3000:]

    # A version that skips a minor is refused: a condition and an Event, nothing applied.
    deployments_before = deployment_states(kube)
    kube.run(
        "patch", "legatocluster", CLUSTER, "--type", "merge", "-p", json.dumps({"spec": {"version": "0.3.0"}})
    )
    refused = wait_condition(kube, "Degraded", status="True", reason="SkipsMinorVersions", timeout=60)
    assert "one minor version at a time" in refused["message"]
    assert "SkipsMinorVersions" in kube.run(
        "get", "events", "--field-selector", "involvedObject.kind=LegatoCluster"
    )
    assert deployment_states(kube) == deployments_before
    kube.run(
        "patch",
        "legatocluster",
        CLUSTER,
        "--type",
        "merge",
        "-p",
        json.dumps({"spec": {"version": status["runningVersion"]}}),
    )
    wait_condition(kube, "Degraded", status="False", timeout=60)
    timer.mark("version skip refused, then withdrawn")

    # Deleting the cluster removes every child (owner references); the namespace then goes at once.
    assert len(children(kube)) == 12, children(kube)  # 3 Deployments, 4 Services, 3 PDBs, ConfigMap, Job
    kube.run("delete", "legatocluster", CLUSTER, "--wait=true", "--timeout=60s")
    wait_until(lambda: not children(kube), timeout=90, what="every child of the LegatoCluster to be gone",
               describe=lambda: " ".join(children(kube)))  # fmt: skip
    timer.mark("LegatoCluster deleted with its children")
    started = time.monotonic()
    kube.run("delete", "legatonamespace", "orders", "--wait=true", "--timeout=30s")
    assert time.monotonic() - started < 30
    timer.mark("LegatoNamespace of a deleted cluster deleted")


@pytest.mark.timeout(600)
@pytest.mark.usefixtures("operator_logs_on_failure")
def test_failed_migration_is_reported_kept_and_recovers_when_the_secret_is_fixed(
    namespace: Kube, database_host: str, database: str
) -> None:
    kube = namespace
    timer = Timer()
    kube.apply([manifests.db_secret("not-the-password")])
    kube.apply([cluster_resource(db_host=database_host, database=database)])

    failed = wait_condition(kube, "SchemaReady", status="False", reason="MigrationFailed", timeout=120)
    timer.mark("SchemaReady=False/MigrationFailed")
    job_name = kube.get("legatocluster", CLUSTER)["status"]["schemaJob"]
    assert job_name in failed["message"]
    assert "Access denied" in failed["message"], failed["message"]  # the Job's log tail
    assert condition(kube, "legatocluster", CLUSTER, "Degraded")["reason"] == "MigrationFailed"
    assert condition(kube, "legatocluster", CLUSTER, "Ready")["status"] == "False"
    # No pods against a database without a schema, and the failed Job is kept, not recreated.
    assert not kube.get("deployments", selector=f"app.kubernetes.io/instance={CLUSTER}")
    failed_job = kube.get("job", job_name)
    events = kube.run("get", "events", "--field-selector", "involvedObject.kind=LegatoCluster")
    assert "MigrationFailed" in events, events
    # The operator's timer runs every 10 s: after two rounds the same Job is still there.
    again = _after_two_timer_rounds(kube, job_name)
    assert again["metadata"]["uid"] == failed_job["metadata"]["uid"]

    # Fixing the password recovers with no manual cleanup: a new Job, then the roles.
    kube.apply([manifests.db_secret(DB_PASSWORD)])
    wait_condition(kube, "SchemaReady", status="True", reason="SchemaUpToDate", timeout=180)
    timer.mark("SchemaReady=True after the Secret was fixed")
    wait_condition(kube, "Ready", status="True", timeout=300)
    timer.mark("Ready=True after the fix")
    assert kube.get("legatocluster", CLUSTER)["status"]["schemaJob"] != job_name


def _after_two_timer_rounds(kube: Kube, job_name: str) -> dict[str, Any]:
    _after_two_timer_rounds_of(kube)
    job = kube.get("job", job_name)
    assert job is not None, f"the failed Job {job_name} was deleted"
    return dict(job)


@pytest.mark.timeout(300)
@pytest.mark.usefixtures("operator_logs_on_failure")
def test_bad_specs_and_immutable_fields_are_refused_at_apply(namespace: Kube, database_host: str) -> None:
    kube = namespace
    resource = cluster_resource(db_host=database_host, database="legato_never_created")
    # No Secret: the cluster waits with a condition that says what to create.
    kube.apply([resource])
    missing = wait_condition(kube, "SchemaReady", status="False", reason="SecretNotFound", timeout=60)
    assert "legato-db" in missing["message"]
    assert not kube.get("jobs")

    def refused(change: dict[str, Any]) -> str:
        patch = json.dumps({"spec": change})
        with pytest.raises(KubectlError) as error:
            kube.run("patch", "legatocluster", CLUSTER, "--type", "merge", "-p", patch)
        return str(error.value)

    assert "numHistoryShards is immutable" in refused({"numHistoryShards": 16})
    message = refused({"persistence": {"type": "cassandra", "cassandra": {"hosts": ["c1"]}}})
    assert "persistence.type is immutable" in message
    assert "spec.version" in refused({"version": "latest"})
    assert "frontend.tls needs internodeTLS" in refused({"frontend": {"tls": {"secretName": "frontend-tls"}}})
    assert "minReplicas must not exceed" in refused(
        {"history": {"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 2}}}
    )

    bad = cluster_resource(db_host=database_host, database="x")
    bad["metadata"]["name"] = "no-mysql-section"
    del bad["spec"]["persistence"]["mysql"]
    with pytest.raises(KubectlError, match="persistence.mysql or persistence.cassandra"):
        kube.apply([bad])


@pytest.mark.timeout(600)
@pytest.mark.usefixtures("operator_logs_on_failure")
def test_autoscaled_replicas_are_left_alone_and_namespace_deletion_never_waits(
    namespace: Kube, database_host: str, database: str
) -> None:
    kube = namespace
    timer = Timer()
    resource = cluster_resource(db_host=database_host, database=database)
    resource["spec"]["matching"] = {"autoscaling": {"enabled": True, "minReplicas": 1, "maxReplicas": 3}}
    kube.apply([manifests.db_secret(DB_PASSWORD), resource])
    wait_condition(kube, "Ready", status="True", timeout=300)
    timer.mark("Ready=True with matching autoscaled")
    hpa = kube.get("hpa", f"{CLUSTER}-matching")
    assert hpa["spec"]["minReplicas"] == 1 and hpa["spec"]["maxReplicas"] == 3
    assert kube.get("hpa", f"{CLUSTER}-history") is None

    # What the HPA does through the scale subresource: the operator must not undo it.
    kube.run("scale", "deployment", f"{CLUSTER}-matching", "--replicas=2")
    kube.wait_for_ready_pods(
        f"app.kubernetes.io/instance={CLUSTER},app.kubernetes.io/component=matching", count=2
    )
    _after_two_timer_rounds_of(kube)
    assert kube.get("deployment", f"{CLUSTER}-matching")["spec"]["replicas"] == 2
    wait_condition(kube, "Ready", status="True", timeout=60)
    # A non-autoscaled role follows the spec, so the operator does write those replicas.
    assert kube.get("deployment", f"{CLUSTER}-history")["spec"]["replicas"] == 1
    timer.mark("autoscaled replicas kept across timer rounds")

    # What the spec stops asking for is removed from the child (server-side apply), not left behind.
    service = f"{CLUSTER}-frontend"
    annotate = {"frontend": {"service": {"annotations": {"example.com/team": "orders"}}}}
    kube.run("patch", "legatocluster", CLUSTER, "--type", "merge", "-p", json.dumps({"spec": annotate}))
    wait_until(
        lambda: (kube.get("service", service)["metadata"].get("annotations") or {}).get("example.com/team"),
        timeout=60,
        what="the frontend Service to carry the annotation",
    )
    kube.run(
        "patch",
        "legatocluster",
        CLUSTER,
        "--type",
        "json",
        "-p",
        '[{"op": "remove", "path": "/spec/frontend/service"}]',
    )
    wait_until(
        lambda: "example.com/team" not in (kube.get("service", service)["metadata"].get("annotations") or {}),
        timeout=60,
        what="the annotation to be removed from the frontend Service",
    )
    timer.mark("a removed spec field left the child")

    # A LegatoNamespace with deletionPolicy Delete, then the frontend scaled to zero: deletion completes.
    kube.apply([legato_namespace("billing", deletion_policy="Delete")])
    wait_condition(
        kube, "Ready", status="True", reason="Registered", timeout=60, kind="legatonamespace", name="billing"
    )
    kube.run(
        "patch",
        "legatocluster",
        CLUSTER,
        "--type",
        "merge",
        "-p",
        json.dumps({"spec": {"frontend": {"replicas": 0}}}),
    )
    wait_until(
        lambda: not kube.pods(f"app.kubernetes.io/instance={CLUSTER},app.kubernetes.io/component=frontend"),
        timeout=60,
        what="the frontend pods to be gone",
        describe=kube.describe_pods,
    )
    wait_condition(kube, "Ready", status="False", timeout=60)
    started = time.monotonic()
    kube.run("delete", "legatonamespace", "billing", "--wait=true", "--timeout=30s")
    timer.mark(f"LegatoNamespace (Delete) deleted in {time.monotonic() - started:.1f} s with no frontend")


def _after_two_timer_rounds_of(kube: Kube) -> None:
    """Let the operator's 10 s status timer run twice (nothing to poll for: the point is that nothing changes)."""
    deadline = time.monotonic() + 25
    wait_until(lambda: time.monotonic() >= deadline, timeout=30, what="two status timer rounds", interval=1.0)


@pytest.mark.timeout(900)
@pytest.mark.usefixtures("operator_logs_on_failure")
def test_upgrade_runs_the_schema_job_before_rolling_and_loses_no_workflow(
    namespace: Kube, legato_image: str, next_release: NextRelease, database_host: str, database: str
) -> None:
    """This build (A) to its next release (B, ``e2e/next_release.py``: one minor up, one MySQL schema
    version more), with workflows in flight: B's schema Job migrates the database first, B's pods
    come only after it, nothing is lost. Then a downgrade back to A is refused and changes nothing.

    It starts from a database left at the first schema version, so A's own Job migrates it version
    by version before any pod starts."""
    kube = namespace
    timer = Timer()
    # The database of an older release: the schema tool stops at the first version.
    assert "schema set up at version 1.0" in _schema_tool(
        "setup", database_host, database, "--target-version", "1.0"
    )
    newest = max(
        (path.name.removeprefix("v") for path in MYSQL_SCHEMA_VERSIONS.iterdir()),
        key=lambda v: tuple(int(part) for part in v.split(".")),
    )
    assert newest != "1.0"
    version_a = legato_image.rsplit(":", 1)[1]
    assert next_release.version != version_a and next_release.schema_version != newest
    resource = cluster_resource(db_host=database_host, database=database)
    resource["spec"]["image"] = legato_image
    resource["spec"]["version"] = version_a
    kube.apply([manifests.db_secret(DB_PASSWORD), resource])
    wait_condition(kube, "Ready", status="True", timeout=300)
    first_job = kube.get("legatocluster", CLUSTER)["status"]["schemaJob"]
    assert kube.get("legatocluster", CLUSTER)["status"]["schemaVersion"] == newest
    assert f"schema version {newest} " in _schema_tool("version", database_host, database)
    assert not _has_table(database_host, database, MARKER_TABLE)
    timer.mark(f"{version_a} Ready, schema migrated 1.0 -> {newest} first")
    start_hello_worker(kube, legato_image)
    count = 60
    start_hello_starter(kube, legato_image, count=count, pace=0.5)

    def started() -> int:
        return len(re.findall(r"^started ", kube.logs("job/hello-starter"), re.MULTILINE))

    wait_until(lambda: started() > 0, timeout=120, what="the starter to start workflows")

    upgrade = {"version": next_release.version, "image": next_release.image}
    kube.run("patch", "legatocluster", CLUSTER, "--type", "merge", "-p", json.dumps({"spec": upgrade}))
    assert started() < count, "every workflow had started before the upgrade began"
    timer.mark(f"patched to {next_release.version} ({next_release.image}) after {started()} starts")
    wait_until(
        lambda: (
            (kube.get("legatocluster", CLUSTER)["status"] or {}).get("runningVersion") == next_release.version
        ),
        timeout=300,
        what=f"runningVersion {next_release.version}",
        describe=lambda: describe_status(kube),
        interval=1.0,
    )
    timer.mark(f"rolled to {next_release.version}")
    ready = wait_condition(kube, "Ready", status="True", timeout=120)
    assert ready["observedGeneration"] == 2
    status = kube.get("legatocluster", CLUSTER)["status"]
    assert status["schemaJob"] != first_job
    # B's schema Job ran B's image and brought the database to B's new version.
    (job,) = kube.get("jobs", selector="app.kubernetes.io/component=schema")
    assert job["metadata"]["name"] == status["schemaJob"]
    assert job["metadata"]["labels"]["app.kubernetes.io/version"] == next_release.version
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == next_release.image
    assert status["schemaVersion"] == next_release.schema_version
    assert f"schema version {next_release.schema_version} " in _schema_tool(
        "version", database_host, database
    )
    assert _has_table(database_host, database, MARKER_TABLE)
    completed = job["status"]["completionTime"]
    for role in ("frontend", "history", "matching"):
        pods = kube.ready_pods(f"app.kubernetes.io/instance={CLUSTER},app.kubernetes.io/component={role}")
        assert pods, role
        for pod in pods:
            assert pod["metadata"]["labels"]["app.kubernetes.io/version"] == next_release.version, role
            assert pod["spec"]["containers"][0]["image"] == next_release.image, role
            # Pods of the new version were created only after its schema Job completed.
            assert pod["metadata"]["creationTimestamp"] >= completed, role

    kube.wait_for_job("hello-starter", timeout=420)
    timer.mark(f"{count} workflows across the roll completed")
    log = kube.logs("job/hello-starter")
    assert f"completed {count}/{count}" in log, log[-3000:]

    # Back to A is a downgrade below what the database now holds: refused with a condition and an
    # Event, and nothing is applied (no Job, no roll, the schema as it is).
    deployments = deployment_states(kube)
    downgrade = {"version": version_a, "image": legato_image}
    kube.run("patch", "legatocluster", CLUSTER, "--type", "merge", "-p", json.dumps({"spec": downgrade}))
    refused = wait_condition(kube, "Degraded", status="True", reason="Downgrade", timeout=60)
    assert f"refusing {next_release.version} -> {version_a}" in refused["message"], refused
    assert condition(kube, "legatocluster", CLUSTER, "Progressing")["reason"] == "ChangeRefused"
    wait_until(
        lambda: (
            "Downgrade" in kube.run("get", "events", "--field-selector", "involvedObject.kind=LegatoCluster")
        ),
        timeout=30,
        what="a Downgrade Event",
    )
    assert deployment_states(kube) == deployments
    assert [
        j["metadata"]["name"] for j in kube.get("jobs", selector="app.kubernetes.io/component=schema")
    ] == [status["schemaJob"]]
    assert kube.get("legatocluster", CLUSTER)["status"]["runningVersion"] == next_release.version
    assert f"schema version {next_release.schema_version} " in _schema_tool(
        "version", database_host, database
    )
    kube.run("patch", "legatocluster", CLUSTER, "--type", "merge", "-p", json.dumps({"spec": upgrade}))
    wait_condition(kube, "Degraded", status="False", timeout=60)
    wait_condition(kube, "Ready", status="True", timeout=60)
    timer.mark(f"downgrade to {version_a} refused, nothing changed, then withdrawn")


def _has_table(host: str, database: str, table: str) -> bool:
    """Whether the e2e MariaDB's ``database`` has ``table`` (asked with the mariadb client)."""
    done = subprocess.run(
        ["mariadb", "--no-defaults", "-h", host, "-u", "legato", f"-p{DB_PASSWORD}", "-N", "-e",
         f"SHOW TABLES LIKE '{table}'", database],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.split() == [table]


@pytest.mark.timeout(900)
@pytest.mark.usefixtures("operator_logs_on_failure")
def test_deleting_a_pod_of_each_role_under_load_loses_no_workflow(
    namespace: Kube, legato_image: str, database_host: str, database: str
) -> None:
    kube = namespace
    timer = Timer()
    kube.apply(
        [
            manifests.db_secret(DB_PASSWORD),
            cluster_resource(db_host=database_host, database=database, history_replicas=2),
        ]
    )
    wait_condition(kube, "Ready", status="True", timeout=300)
    timer.mark("Ready")
    start_hello_worker(kube, legato_image)
    count = 80
    start_hello_starter(kube, legato_image, count=count, pace=0.3)

    def started() -> int:
        return len(re.findall(r"^started ", kube.logs("job/hello-starter"), re.MULTILINE))

    for step, role in enumerate(("history", "matching", "frontend"), start=1):
        wait_until(lambda s=step: started() >= 15 * s, timeout=180, what=f"{15 * step} workflows started")
        selector = f"app.kubernetes.io/instance={CLUSTER},app.kubernetes.io/component={role}"
        victim = kube.ready_pods(selector)[0]["metadata"]["name"]
        kube.run("delete", "pod", victim, "--wait=false")
        timer.mark(f"deleted {role} pod {victim} after {started()} starts")
    assert started() < count, "the run ended before every role lost a pod"

    kube.wait_for_job("hello-starter", timeout=600)
    timer.mark(f"{count} workflows completed")
    log = kube.logs("job/hello-starter")
    assert f"completed {count}/{count}" in log, log[-3000:]
    wait_condition(kube, "Ready", status="True", timeout=120)
