"""Legato in a real Kubernetes: servers on MariaDB, a sample's worker, a Job of 50 workflows.

The servers run ``legato-server start`` from the Legato image against the e2e
MariaDB, in two topologies: every role in one Deployment, and each role in
its own (two history replicas). The worker Deployment runs the hello_activity
sample and reaches the frontend through its Service's DNS name; a Job starts
50 workflows and waits for them. A fifth of the way in, a server pod is
deleted (the all-in-one pod, or a history pod whose shards must move): every
workflow still finishes with its own result, and ``kubectl logs`` of the Job
shows them all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from e2e import manifests
from e2e.conftest import DB_PASSWORD, REPO_ROOT
from e2e.k8s import Kube, wait_until

WORKFLOWS = 50
WORKER = "hello-worker"
STARTER = "hello-50"
SAMPLE_FILES = {
    "hello_activity.py": REPO_ROOT / "samples" / "hello_activity.py",
    "_common.py": REPO_ROOT / "samples" / "_common.py",
    "hello_worker.py": REPO_ROOT / "e2e" / "apps" / "hello_worker.py",
    "hello_starter.py": REPO_ROOT / "e2e" / "apps" / "hello_starter.py",
}


@dataclass(frozen=True)
class RoleGroup:
    role: str
    services: tuple[str, ...]
    replicas: int = 1

    @property
    def selector(self) -> str:
        return f"{manifests.APP_LABEL}=legato,{manifests.ROLE_LABEL}={self.role}"


@dataclass(frozen=True)
class Topology:
    groups: tuple[RoleGroup, ...]
    victim: str
    """The role group one of whose pods is deleted mid-run."""


TOPOLOGIES = {
    "all-in-one": Topology(groups=(RoleGroup("all", manifests.ALL_ROLES),), victim="all"),
    "split-roles": Topology(
        groups=(
            RoleGroup("frontend", ("frontend",)),
            RoleGroup("history", ("history",), replicas=2),
            RoleGroup("matching", ("matching",)),
        ),
        victim="history",
    ),
}


def deploy_servers(kube: Kube, topology: Topology, *, image: str, db_host: str, database: str) -> None:
    kube.apply(
        [
            manifests.db_secret(DB_PASSWORD),
            manifests.server_config_map(manifests.server_config(db_host=db_host, database=database)),
            manifests.schema_job(image=image, db_host=db_host, database=database),
        ]
    )
    kube.wait_for_job("legato-schema", timeout=120)
    deployments = [
        manifests.server_deployment(image=image, role=g.role, services=g.services, replicas=g.replicas)
        for g in topology.groups
    ]
    kube.apply([*deployments, manifests.frontend_service()])
    for group in topology.groups:
        kube.wait_for_ready_pods(group.selector, count=group.replicas, timeout=180)


def started_count(kube: Kube) -> int:
    return len(re.findall(r"^started ", kube.logs(f"job/{STARTER}"), re.MULTILINE))


@pytest.mark.timeout(900)
@pytest.mark.parametrize("topology_name", list(TOPOLOGIES))
def test_fifty_workflows_survive_a_server_pod_deletion(
    namespace: Kube, legato_image: str, database_host: str, database: str, topology_name: str
) -> None:
    kube = namespace
    topology = TOPOLOGIES[topology_name]
    deploy_servers(kube, topology, image=legato_image, db_host=database_host, database=database)
    victim_group = next(g for g in topology.groups if g.role == topology.victim)

    kube.apply(
        [
            manifests.sample_config_map("hello-sample", SAMPLE_FILES),
            manifests.worker_deployment(
                name=WORKER, image=legato_image, config_map="hello-sample", script="hello_worker.py"
            ),
        ]
    )
    kube.wait_for_ready_pods(f"{manifests.ROLE_LABEL}={WORKER}", timeout=120)
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

    # Delete a server pod while the Job is mid-run: some workflows done, most not started.
    wait_until(
        lambda: started_count(kube) >= 10,
        timeout=120,
        what="the Job to start 10 workflows",
        describe=lambda: kube.describe_pods(f"job-name={STARTER}"),
    )
    victim = kube.ready_pods(victim_group.selector)[0]["metadata"]["name"]
    kube.run("delete", "pod", victim, "--wait=false")
    assert started_count(kube) < WORKFLOWS, "the Job finished before the server pod was deleted"
    # tini passes SIGTERM on and the server drains (shutdown_grace_seconds=5):
    # the pod is gone long before its 30 s grace period would have killed it.
    wait_until(
        lambda: kube.get("pod", victim) is None,
        timeout=20,
        what=f"the deleted server pod {victim} to exit on SIGTERM",
        describe=lambda: kube.describe_pods(victim_group.selector),
    )

    kube.wait_for_job(STARTER, timeout=420)
    log = kube.logs(f"job/{STARTER}")
    results = dict(re.findall(r"^result (hello-\w+-\d{3}): (.*)$", log, re.MULTILINE))
    assert len(results) == WORKFLOWS, log[-3000:]
    assert set(results.values()) == {f"Hello, e2e-{i}!" for i in range(WORKFLOWS)}
    assert f"completed {WORKFLOWS}/{WORKFLOWS}" in log

    # The run really crossed a restart: the replacement is a different pod.
    replacements = kube.wait_for_ready_pods(victim_group.selector, count=victim_group.replicas, timeout=60)
    assert victim not in {pod["metadata"]["name"] for pod in replacements}
