"""The schema step across passes (``cluster.reconcile`` on an in-memory Kube): the version status reports.

``status.schemaVersion`` is what the newest completed schema Job printed. An
upgrade's Job must not inherit the version the Job before it reported: while
it runs, status still says the old version (the database's), and once it
completed, the version its own log names (a bug the upgrade e2e test found:
the old version stuck after an upgrade whose schema gained one).
"""

from __future__ import annotations

from typing import Any

from legato_operator import cluster
from tests.operator.conftest import spec
from tests.operator.fake_kube import FakeKube, complete, password_secret

NAME, NAMESPACE = "prod", "team-a"


def _pass(
    kube: FakeKube, cluster_spec: dict[str, Any], previous: dict[str, Any], generation: int
) -> dict[str, Any]:
    body = {
        "apiVersion": "legato.dev/v1alpha1",
        "kind": "LegatoCluster",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "uid": "u1", "generation": generation},
        "spec": cluster_spec,
        "status": previous,
    }
    return cluster.reconcile(kube, body, adopt=lambda _: None).status  # type: ignore[arg-type]


def _schema_log(version: str) -> str:
    return f"mysql db.example:3306/legato: schema version {version} (min compatible 1.0; newest shipped {version}, up to date)\n"


def test_an_upgrade_reports_the_version_its_own_job_migrated_to() -> None:
    kube = FakeKube()
    kube.put(password_secret(NAMESPACE))
    first = spec(version="0.1.0")
    status = _pass(kube, first, {}, 1)
    first_job = status["schemaJob"]
    complete(kube, first_job, log=_schema_log("1.3"))
    status = _pass(kube, first, status, 1)
    assert (status["schemaJob"], status["schemaVersion"]) == (first_job, "1.3")

    upgraded = spec(version="0.2.0")
    status = _pass(kube, upgraded, status, 2)
    second_job = status["schemaJob"]
    assert second_job != first_job
    # Migrating: the database is still at the old version, and status says so.
    assert status["schemaVersion"] == "1.3"
    complete(kube, second_job, log=_schema_log("1.4"))

    status = _pass(kube, upgraded, status, 2)
    assert (status["schemaJob"], status["schemaVersion"]) == (second_job, "1.4")
    # Later passes keep it without reading the log again.
    kube.logs.clear()
    assert _pass(kube, upgraded, status, 2)["schemaVersion"] == "1.4"
