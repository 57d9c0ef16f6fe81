"""Fixtures for the end-to-end suite: a real Kubernetes, the Legato image, MariaDB.

Run it with ``scripts/e2e.sh`` (builds what is missing, brings the cluster up,
runs ``pytest e2e``, tears down) or, with a cluster already up,
``python3 -m pytest e2e``.

* ``cluster`` (session): reuses a healthy cluster, else brings one up with
  ``e2e/infra/cluster.sh up`` when its binaries are built, and then takes it
  down at the end (unless ``LEGATO_E2E_KEEP_CLUSTER=1``, or another session
  still uses it: each registers itself in the cluster's state dir). When the cluster
  cannot be had, tests skip naming the script that starts it; in CI (env
  ``CI`` set) they fail with the same message instead.
* ``legato_image`` (session): builds the image (seconds when cached) and
  imports it into the cluster's containerd.
* ``next_release`` (session): the same for this build's next release
  (``e2e/next_release.py``: one minor up, one MySQL schema version more),
  built from a copy of the sources; the upgrade test rolls to it.
* ``database_host`` (session): the e2e MariaDB on the pod bridge
  (``e2e/infra/db.sh``).
* ``cassandra_host`` (session): the e2e Cassandra on the pod bridge
  (``e2e/infra/db.sh start-cassandra``); when it cannot be started, tests
  fail in CI and skip elsewhere, naming that command.
* ``namespace`` (per test): a fresh Kubernetes namespace, deleted afterwards
  (kept with ``LEGATO_E2E_KEEP_NAMESPACES=1``); when the test failed, its
  pods' state, events and logs are printed first.
* ``database`` (per test): a fresh database name, dropped afterwards.
* ``keyspace`` (per test): a fresh Cassandra keyspace name, dropped afterwards.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e.k8s import Kube, wait_until
from e2e.next_release import NextRelease, write_source

REPO_ROOT = Path(__file__).resolve().parent.parent
CLUSTER_SCRIPT = REPO_ROOT / "e2e" / "infra" / "cluster.sh"
DB_SCRIPT = REPO_ROOT / "e2e" / "infra" / "db.sh"
IMAGE_SCRIPT = REPO_ROOT / "scripts" / "image" / "build.sh"
START_HINT = "run scripts/e2e.sh (or: e2e/infra/cluster.sh build && e2e/infra/cluster.sh up)"
CASSANDRA_HINT = "run e2e/infra/db.sh start-cassandra (after e2e/infra/cluster.sh up)"
BRIDGE_ADDRESS = "10.244.0.1"
"""The pod bridge (the node IP): where pods reach the e2e databases."""
IN_CI = bool(os.environ.get("CI"))
DB_PASSWORD = "legato"
SCRIPT_TIMEOUT_S = 1800  # a cold image build included


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: needs the e2e Kubernetes cluster (scripts/e2e.sh)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.e2e)
        # The first test's setup may build the image and bring the cluster up.
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(SCRIPT_TIMEOUT_S))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    # Remember each phase's outcome so fixtures can tell a failed test.
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def unavailable(reason: str, *, hint: str = START_HINT) -> None:
    """Fail in CI, skip elsewhere, naming the script that brings the component up."""
    message = f"{reason}; {hint}"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def run_script(*args: str | Path, what: str, env: dict[str, str] | None = None) -> str:
    """Run one of the infra scripts; its stderr (the phase logs) is kept for the failure message."""
    result = subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT_S,
        env=None if env is None else {**os.environ, **env},
    )
    if result.returncode != 0:
        pytest.fail(f"{what} failed (exit {result.returncode}):\n{result.stderr[-3000:]}", pytrace=False)
    return result.stdout


def cluster_paths() -> dict[str, str]:
    out = subprocess.run([str(CLUSTER_SCRIPT), "paths"], capture_output=True, text=True, check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Kube]:
    paths = cluster_paths()
    kube = Kube(kubectl=Path(paths["KUBECTL"]), kubeconfig=Path(paths["KUBECONFIG"]))
    status = subprocess.run([str(CLUSTER_SCRIPT), "status"], capture_output=True, text=True)
    started_here = False
    if status.returncode != 0:
        if not Path(paths["KUBECTL"]).exists():
            unavailable(f"the e2e cluster is not built ({paths['KUBECTL']} is missing)")
        if os.geteuid() != 0:
            unavailable("the e2e cluster is down and bringing it up needs root")
        run_script(CLUSTER_SCRIPT, "up", what="e2e/infra/cluster.sh up")
        started_here = True
    # While this file exists, `cluster.sh down` (someone else's run ending)
    # leaves the cluster up.
    session = Path(paths["STATE"]) / "sessions" / str(os.getpid())
    session.parent.mkdir(parents=True, exist_ok=True)
    session.touch()
    try:
        yield kube
    finally:
        session.unlink(missing_ok=True)
    if started_here and os.environ.get("LEGATO_E2E_KEEP_CLUSTER") != "1":
        run_script(CLUSTER_SCRIPT, "down", what="e2e/infra/cluster.sh down")


@pytest.fixture(scope="session")
def legato_image(cluster: Kube) -> str:
    from e2e.manifests import image_name

    archive = run_script(IMAGE_SCRIPT, what="scripts/image/build.sh").strip().splitlines()[-1]
    run_script(CLUSTER_SCRIPT, "import", archive, what="e2e/infra/cluster.sh import")
    return image_name()


@pytest.fixture(scope="session")
def next_release(cluster: Kube, legato_image: str) -> NextRelease:
    """This build's next release, its image built (cached by content like ``legato_image``) and imported."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="legato-next-release-") as source:
        release = write_source(REPO_ROOT, Path(source))
        archive = run_script(
            IMAGE_SCRIPT, what="scripts/image/build.sh (next release)", env={"LEGATO_IMAGE_SOURCE": source}
        )
    run_script(CLUSTER_SCRIPT, "import", archive.strip().splitlines()[-1], what="e2e/infra/cluster.sh import")
    print(f"next release {release.image} (MySQL schema {release.schema_version}) ready in "
          f"{time.monotonic() - started:.1f} s")  # fmt: skip
    return release


@pytest.fixture(scope="session")
def database_host(cluster: Kube) -> str:
    run_script(DB_SCRIPT, "start", what="e2e/infra/db.sh start")
    return BRIDGE_ADDRESS


@pytest.fixture(scope="session")
def cassandra_host(cluster: Kube) -> str:
    """The e2e Cassandra (a no-op when it runs; a cold start takes 1-2 minutes on a busy machine)."""
    result = subprocess.run(
        [str(DB_SCRIPT), "start-cassandra"], capture_output=True, text=True, timeout=SCRIPT_TIMEOUT_S
    )
    if result.returncode != 0:
        unavailable(
            f"the e2e Cassandra did not start (exit {result.returncode}):\n{result.stderr[-3000:]}",
            hint=CASSANDRA_HINT,
        )
    return BRIDGE_ADDRESS


def _slug(name: str, limit: int) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:limit].strip("-")


@pytest.fixture
def namespace(cluster: Kube, request: pytest.FixtureRequest) -> Iterator[Kube]:
    # e2e-<test>-<parameters>-<random>, within the 63 characters a namespace may have.
    test, _, params = request.node.name.removeprefix("test_").partition("[")
    parts = [_slug(test, 30), _slug(params, 20), uuid.uuid4().hex[:5]]
    name = "-".join(["e2e", *(part for part in parts if part)])
    cluster.run("create", "namespace", name)
    kube = cluster.in_namespace(name)
    # Pods are refused until the namespace's default ServiceAccount exists.
    wait_until(
        lambda: kube.get("serviceaccount", "default"), timeout=30, what=f"ServiceAccount default in {name}"
    )
    yield kube
    failed = any(
        getattr(getattr(request.node, f"report_{when}", None), "failed", False) for when in ("setup", "call")
    )
    if failed:
        print(diagnostics(kube))
    if os.environ.get("LEGATO_E2E_KEEP_NAMESPACES") != "1":
        cluster.run("delete", "namespace", name, "--wait=false", check=False)


def diagnostics(kube: Kube) -> str:
    """What a reader of a failed e2e test needs: pods, events, every container's log."""
    parts = [f"===== namespace {kube.namespace}", kube.run("get", "all", "-o", "wide", check=False)]
    parts += ["===== events", kube.events()]
    for pod in kube.get("pods") or []:
        name = pod["metadata"]["name"]
        for container in pod["spec"].get("initContainers", []) + pod["spec"]["containers"]:
            parts.append(f"===== logs {name}/{container['name']}")
            parts.append(kube.logs(f"pod/{name}", container=container["name"])[-6000:])
    return "\n".join(parts)


@pytest.fixture
def database(database_host: str, request: pytest.FixtureRequest) -> Iterator[str]:
    name = f"legato_e2e_{uuid.uuid4().hex[:10]}"
    yield name
    subprocess.run(
        ["mariadb", "--no-defaults", "-h", database_host, "-u", "legato", f"-p{DB_PASSWORD}"],
        input=f"DROP DATABASE IF EXISTS `{name}`;",
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def keyspace(cassandra_host: str) -> Iterator[str]:
    name = f"legato_e2e_{uuid.uuid4().hex[:10]}"
    yield name
    drop_keyspace(cassandra_host, name)


def drop_keyspace(host: str, name: str) -> None:
    """Best effort, like the MariaDB database's drop: a leftover keyspace costs disk, not correctness."""
    from cassandra.cluster import Cluster

    cluster = Cluster([host], protocol_version=5, connect_timeout=10)
    try:
        session = cluster.connect()
        session.execute(f'DROP KEYSPACE IF EXISTS "{name}"', timeout=60)
    except Exception as error:  # noqa: BLE001 - reported, never fails the test
        print(f"could not drop keyspace {name} on {host}: {error}")
    finally:
        cluster.shutdown()
