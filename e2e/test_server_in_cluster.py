"""Legato in a real Kubernetes: server on MariaDB, a sample's worker, a Job of 50 workflows.

The server (all roles in one Deployment until cluster mode lands) runs
``legato-server start`` from the Legato image against the e2e MariaDB; the
worker Deployment runs the hello_activity sample and reaches the frontend
through its Service's DNS name; a Job starts 50 workflows and waits for them.
Halfway through, the server pod is deleted: the replacement must finish every
workflow, each with its own result, and ``kubectl logs`` of the Job shows
them all.
"""

from __future__ import annotations

import re

import pytest

from e2e import manifests
from e2e.conftest import DB_PASSWORD, REPO_ROOT
from e2e.k8s import Kube, wait_until

WORKFLOWS = 50
SERVER_SELECTOR = "app.kubernetes.io/name=legato,app.kubernetes.io/component=all"
WORKER = "hello-worker"
STARTER = "hello-50"
SAMPLE_FILES = {
    "hello_activity.py": REPO_ROOT / "samples" / "hello_activity.py",
    "_common.py": REPO_ROOT / "samples" / "_common.py",
    "hello_worker.py": REPO_ROOT / "e2e" / "apps" / "hello_worker.py",
    "hello_starter.py": REPO_ROOT / "e2e" / "apps" / "hello_starter.py",
}


def deploy_server(kube: Kube, *, image: str, db_host: str, database: str) -> None:
    kube.apply(
        [
            manifests.db_secret(DB_PASSWORD),
            manifests.server_config_map(
                manifests.server_config(db_host=db_host, database=database, host_id="legato-all-0")
            ),
            manifests.schema_job(image=image, db_host=db_host, database=database),
        ]
    )
    kube.wait_for_job("legato-schema", timeout=120)
    kube.apply([manifests.server_deployment(image=image), manifests.frontend_service()])
    kube.wait_for_ready_pods(SERVER_SELECTOR, timeout=120)


def started_count(kube: Kube) -> int:
    return len(re.findall(r"^started ", kube.logs(f"job/{STARTER}"), re.MULTILINE))


@pytest.mark.timeout(900)
def test_fifty_workflows_survive_a_server_pod_deletion(
    namespace: Kube, legato_image: str, database_host: str, database: str
) -> None:
    kube = namespace
    deploy_server(kube, image=legato_image, db_host=database_host, database=database)
    (first_server,) = kube.ready_pods(SERVER_SELECTOR)

    kube.apply(
        [
            manifests.sample_config_map("hello-sample", SAMPLE_FILES),
            manifests.worker_deployment(
                name=WORKER, image=legato_image, config_map="hello-sample", script="hello_worker.py"
            ),
        ]
    )
    kube.wait_for_ready_pods(f"app.kubernetes.io/component={WORKER}", timeout=120)
    kube.apply(
        [
            manifests.app_job(
                name=STARTER,
                image=legato_image,
                config_map="hello-sample",
                args=["python", "/app/hello_starter.py", "--count", str(WORKFLOWS), "--pace", "0.3"],
            )
        ]
    )

    # Delete the server while the Job is mid-run: some workflows done, most not started.
    wait_until(
        lambda: started_count(kube) >= 10,
        timeout=120,
        what="the Job to start 10 workflows",
        describe=lambda: kube.describe_pods(f"job-name={STARTER}"),
    )
    first_name = first_server["metadata"]["name"]
    kube.run("delete", "pod", first_name, "--wait=false")
    assert started_count(kube) < WORKFLOWS, "the Job finished before the server pod was deleted"
    # tini passes SIGTERM on and the server drains (shutdown_grace_seconds=5):
    # the pod is gone long before its 30 s grace period would have killed it.
    wait_until(
        lambda: kube.get("pod", first_name) is None,
        timeout=20,
        what=f"the deleted server pod {first_name} to exit on SIGTERM",
        describe=lambda: kube.describe_pods(SERVER_SELECTOR),
    )

    kube.wait_for_job(STARTER, timeout=420)
    log = kube.logs(f"job/{STARTER}")
    results = dict(re.findall(r"^result (hello-\w+-\d{3}): (.*)$", log, re.MULTILINE))
    assert len(results) == WORKFLOWS, log[-3000:]
    expected = {f"Hello, e2e-{i}!" for i in range(WORKFLOWS)}
    assert set(results.values()) == expected
    assert f"completed {WORKFLOWS}/{WORKFLOWS}" in log

    # The run really crossed a server restart.
    (second_server,) = kube.wait_for_ready_pods(SERVER_SELECTOR, timeout=60)
    assert second_server["metadata"]["name"] != first_name
    assert "retrying" in log or "Legato server listening" in kube.logs(
        f"pod/{second_server['metadata']['name']}"
    )
