"""legato-operator in a real Kubernetes with a LegatoCluster on Cassandra.

The same operator install as ``e2e/test_operator.py`` (its ``operator`` fixture
and helpers are reused), against the e2e Cassandra: a second node on the pod
bridge 10.244.0.1:9042 (``e2e/infra/db.sh start-cassandra``), its own keyspace
per test (``e2e/conftest.py``), no authentication, so the resource names no
password Secret (``passwordSecretRef`` is optional for Cassandra in the CRD).

One test, as a user would see it: a keyspace name Cassandra would fold to
lower case, or a password without a user, is refused at apply; the schema Job
creates the keyspace at the newest shipped Cassandra schema version before any
role pod exists; frontend, history (two pods) and matching answer SERVING and
the cluster turns Ready; a LegatoNamespace registers; a worker Deployment and a
starter Job run workflows through the frontend Service; the rows are in that
keyspace (read from this machine with the driver); deleting the LegatoCluster
removes every child.

Timings of each phase are printed (run with ``-s`` to see them).
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from e2e import manifests
from e2e.k8s import Kube, KubectlError, wait_until

# The operator install and the helpers of the MariaDB tests. `operator` is a
# module-scoped fixture: imported here, pytest finds it for this module too
# (applying the same manifests again is a no-op).
from e2e.test_operator import (  # noqa: F401 - fixtures are used by name
    CLUSTER,
    Timer,
    children,
    legato_namespace,
    operator,
    operator_logs_on_failure,
    start_hello_starter,
    start_hello_worker,
    wait_condition,
)

WORKFLOWS = 20


def newest_cassandra_schema() -> str:
    from legato_server.schema.compat import shipped_versions

    return shipped_versions("cassandra")[-1].version


def cassandra_cluster_resource(*, host: str, keyspace: str) -> dict[str, Any]:
    """A LegatoCluster on the e2e Cassandra; port, replication and consistency left to their defaults."""
    return {
        "apiVersion": "legato.dev/v1alpha1",
        "kind": "LegatoCluster",
        "metadata": {"name": CLUSTER},
        "spec": {
            "version": manifests.image_name().rsplit(":", 1)[1],
            "imagePullPolicy": "Never",
            "numHistoryShards": 8,
            "shutdownGraceSeconds": 5,
            "persistence": {"type": "cassandra", "cassandra": {"hosts": [host], "keyspace": keyspace}},
            "frontend": {"replicas": 1},
            "history": {"replicas": 2},
            "matching": {"replicas": 1},
        },
    }


def schema_tool_version(host: str, keyspace: str) -> str:
    """``legato-server schema version`` from this machine against the keyspace; its output."""
    done = subprocess.run(
        [sys.executable, "-m", "legato_server.schema_cli", "schema", "version", "--db", "cassandra",
         "--host", host, "--keyspace", keyspace],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def cql_rows(host: str, statement: str) -> list[dict[str, Any]]:
    """Rows of one CQL statement, read from this machine (what the pods wrote)."""
    from cassandra.cluster import Cluster
    from cassandra.query import dict_factory

    cluster = Cluster([host], protocol_version=5, connect_timeout=10)
    try:
        session = cluster.connect()
        session.row_factory = dict_factory
        return list(session.execute(statement, timeout=30))
    finally:
        cluster.shutdown()


@pytest.mark.timeout(600)
@pytest.mark.usefixtures("operator_logs_on_failure")
def test_cluster_on_cassandra_comes_up_schema_first_runs_workflows_and_is_deleted_whole(
    namespace: Kube, legato_image: str, cassandra_host: str, keyspace: str
) -> None:
    kube = namespace
    timer = Timer()
    newest = newest_cassandra_schema()
    # Cassandra settings the schema Job could not use are refused at apply, saying what to fix.
    with pytest.raises(KubectlError, match="keyspace must be lower-case letters"):
        kube.apply([cassandra_cluster_resource(host=cassandra_host, keyspace="Legato-Prod")])
    password_only = cassandra_cluster_resource(host=cassandra_host, keyspace=keyspace)
    password_only["spec"]["persistence"]["cassandra"]["passwordSecretRef"] = {"name": "legato-db"}
    with pytest.raises(KubectlError, match="passwordSecretRef needs persistence.cassandra.user"):
        kube.apply([password_only])
    assert not kube.get("legatoclusters")

    kube.apply([cassandra_cluster_resource(host=cassandra_host, keyspace=keyspace)])

    schema = wait_condition(kube, "SchemaReady", status="True", reason="SchemaUpToDate", timeout=240)
    timer.mark("schema Job completed (SchemaReady=True)")
    assert f"schema at version {newest} " in schema["message"], schema["message"]
    (job,) = kube.get("jobs", selector="app.kubernetes.io/component=schema")
    script = job["spec"]["template"]["spec"]["containers"][0]["args"][-1]
    assert f"--db cassandra --host {cassandra_host} --port 9042 --keyspace {keyspace}" in script, script
    # No Secret named, so no password reaches the pods.
    assert not job["spec"]["template"]["spec"]["containers"][0].get("env")
    # The keyspace exists at the newest version, as the schema tool reads it from here.
    assert f"schema version {newest} " in schema_tool_version(cassandra_host, keyspace)

    ready = wait_condition(kube, "Ready", status="True", reason="AllRolesServing", timeout=300)
    timer.mark("Ready=True (every role SERVING)")
    assert ready["observedGeneration"] == kube.get("legatocluster", CLUSTER)["metadata"]["generation"]
    status = kube.get("legatocluster", CLUSTER)["status"]
    assert status["readyRoles"] == "3/3"
    assert status["schemaVersion"] == newest
    assert status["schemaJob"] == job["metadata"]["name"]
    for role, count in (("frontend", 1), ("history", 2), ("matching", 1)):
        assert status["roles"][role] == {
            "desired": count,
            "ready": count,
            "serving": count,
            "version": status["runningVersion"],
        }, role
        # Schema before pods: every role pod was created after the Job completed.
        pods = kube.ready_pods(f"app.kubernetes.io/instance={CLUSTER},app.kubernetes.io/component={role}")
        assert len(pods) == count, role
        completed = kube.get("job", job["metadata"]["name"])["status"]["completionTime"]
        assert all(pod["metadata"]["creationTimestamp"] >= completed for pod in pods), role
    config = json.loads(kube.get("configmap", f"{CLUSTER}-config")["data"]["history.yaml"])
    assert config["persistence"] == {
        "kind": "cassandra",
        "cassandra": {
            "hosts": [cassandra_host],
            "port": 9042,
            "keyspace": keyspace,
            "replication_factor": 1,
            "consistency": "LOCAL_QUORUM",
        },
    }
    # Every role process joined through the keyspace's membership table, at its pod IP.
    pod_ips = {p["status"]["podIP"] for p in kube.ready_pods(f"app.kubernetes.io/instance={CLUSTER}")}
    members = cql_rows(cassandra_host, f"SELECT rpc_address, roles FROM {keyspace}.cluster_membership")
    assert {m["rpc_address"].rsplit(":", 1)[0] for m in members} >= pod_ips, members

    kube.apply([legato_namespace("orders")])
    wait_condition(
        kube, "Ready", status="True", reason="Registered", timeout=60, kind="legatonamespace", name="orders"
    )
    names = {r["name"] for r in cql_rows(cassandra_host, f"SELECT name FROM {keyspace}.namespaces_by_name")}
    assert {"default", "orders"} <= names, names
    timer.mark("LegatoNamespace registered")

    start_hello_worker(kube, legato_image)
    start_hello_starter(kube, legato_image, count=WORKFLOWS, pace=0.05)
    kube.wait_for_job("hello-starter", timeout=300)
    timer.mark(f"{WORKFLOWS} workflows completed")
    log = kube.logs("job/hello-starter")
    assert f"completed {WORKFLOWS}/{WORKFLOWS}" in log, log[-3000:]
    # Closed, in this keyspace's visibility table.
    rows = cql_rows(
        cassandra_host, f"SELECT workflow_id, close_time_ms FROM {keyspace}.executions_visibility"
    )
    hello = [r for r in rows if r["workflow_id"].startswith("hello-")]
    assert len(hello) == WORKFLOWS and all(r["close_time_ms"] for r in hello), rows

    # Deleting the cluster removes every child (owner references).
    assert len(children(kube)) == 12, children(kube)  # 3 Deployments, 4 Services, 3 PDBs, ConfigMap, Job
    kube.run("delete", "legatocluster", CLUSTER, "--wait=true", "--timeout=60s")
    wait_until(lambda: not children(kube), timeout=90, what="every child of the LegatoCluster to be gone",
               describe=lambda: " ".join(children(kube)))  # fmt: skip
    wait_until(
        lambda: not kube.pods(f"app.kubernetes.io/instance={CLUSTER}"),
        timeout=90,
        what="the cluster's pods to be gone",
        describe=kube.describe_pods,
    )
    timer.mark("LegatoCluster deleted with its children")
    kube.run("delete", "legatonamespace", "orders", "--wait=true", "--timeout=30s")
