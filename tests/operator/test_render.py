"""The pure rendering of a LegatoCluster's children (no cluster needed)."""

from __future__ import annotations

import json

import pytest

from legato_operator import render
from tests.operator.conftest import spec


def test_each_role_gets_its_own_config_file_without_secrets(cluster_spec: dict) -> None:
    config_map = render.config_map("prod", "team-a", cluster_spec)
    assert set(config_map["data"]) == {"frontend.yaml", "history.yaml", "matching.yaml"}
    history = json.loads(config_map["data"]["history.yaml"])
    assert history["services"] == ["history"]
    assert history["num_history_shards"] == 8
    assert history["cluster_name"] == "prod"
    assert history["persistence"] == {
        "kind": "mysql",
        "mysql": {"host": "db.example", "port": 3306, "user": "legato", "database": "legato"},
    }
    assert "password" not in config_map["data"]["history.yaml"]


def test_config_parses_with_the_servers_own_loader(cluster_spec: dict) -> None:
    server = pytest.importorskip("legato_server.server")
    for role in render.ROLES:
        config = server.server_config_from_mapping(render.server_config("prod", cluster_spec, role))
        assert config.services == (role,)
        assert config.persistence.mysql.host == "db.example"


def test_a_config_change_rolls_only_the_role_it_concerns(cluster_spec: dict) -> None:
    before = render.config_map("prod", "ns", cluster_spec)
    tls_spec = spec(frontend={"replicas": 2, "tls": {"secretName": "frontend-tls"}})
    after = render.config_map("prod", "ns", tls_spec)
    assert render.config_hash(before, "frontend") != render.config_hash(after, "frontend")
    assert render.config_hash(before, "history") == render.config_hash(after, "history")


def test_deployment_advertises_the_pod_ip_and_reads_the_password_from_the_secret(cluster_spec: dict) -> None:
    deployment = render.role_deployment("prod", "ns", cluster_spec, "history", config_digest="abc")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["POD_IP"]["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    assert env["LEGATO_ADVERTISE_ADDRESS"]["value"] == "$(POD_IP):7233"
    assert env["LEGATO_DB_PASSWORD"]["valueFrom"] == {
        "secretKeyRef": {"name": "legato-db", "key": "password"}
    }
    assert container["args"] == [
        "legato-server", "start", "--config", "/etc/legato/config/history.yaml", "--services", "history",
        "--log-level", "info", "--log-format", "text",
    ]  # fmt: skip
    assert container["image"] == "legato.local/legato/legato:0.1.0"
    assert deployment["spec"]["replicas"] == 3
    template = deployment["spec"]["template"]
    assert template["metadata"]["annotations"][render.CONFIG_HASH_ANNOTATION] == "abc"
    assert deployment["spec"]["selector"]["matchLabels"].items() <= template["metadata"]["labels"].items()


def test_readiness_is_the_roles_grpc_health_and_liveness_only_the_port(cluster_spec: dict) -> None:
    deployment = render.role_deployment("prod", "ns", cluster_spec, "history", config_digest="abc")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["grpc"] == {"port": 7233}
    assert container["livenessProbe"]["tcpSocket"] == {"port": 7233}


def test_tls_ports_are_probed_by_exec_with_the_mounted_ca() -> None:
    tls_spec = spec(internodeTLS={"secretName": "internode", "serverName": "legato-internode"})
    deployment = render.role_deployment("prod", "ns", tls_spec, "matching", config_digest="abc")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    command = container["readinessProbe"]["exec"]["command"]
    assert command[:3] == ["python", "-m", "legato_operator.health"]
    assert "/etc/legato/internode/ca.crt" in command and "legato-internode" in command
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert "/etc/legato/internode" in mounts


def test_grace_period_outlasts_the_servers_drain() -> None:
    deployment = render.role_deployment(
        "prod", "ns", spec(shutdownGraceSeconds=30), "history", config_digest="x"
    )
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > 30


def test_autoscaling_renders_an_hpa_and_never_replicas() -> None:
    scaled = spec(
        history={"replicas": 5, "autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 6}}
    )
    deployment = render.role_deployment("prod", "ns", scaled, "history", config_digest="x")
    assert "replicas" not in deployment["spec"]
    hpa = render.horizontal_pod_autoscaler("prod", "ns", scaled, "history")
    assert hpa is not None
    assert hpa["spec"]["minReplicas"] == 2 and hpa["spec"]["maxReplicas"] == 6
    assert hpa["spec"]["scaleTargetRef"]["name"] == "prod-history"
    assert render.horizontal_pod_autoscaler("prod", "ns", scaled, "matching") is None


def test_pod_overrides_are_merged_but_cannot_change_the_selector() -> None:
    overridden = spec(
        matching={
            "replicas": 1,
            "pod": {
                "labels": {"team": "a", render.COMPONENT_LABEL: "evil"},
                "nodeSelector": {"disk": "ssd"},
                "tolerations": [{"key": "k", "operator": "Exists"}],
            },
        }
    )
    deployment = render.role_deployment("prod", "ns", overridden, "matching", config_digest="x")
    template = deployment["spec"]["template"]
    assert template["metadata"]["labels"]["team"] == "a"
    assert template["metadata"]["labels"][render.COMPONENT_LABEL] == "matching"
    assert template["spec"]["nodeSelector"] == {"disk": "ssd"}
    assert template["spec"]["tolerations"] == [{"key": "k", "operator": "Exists"}]


def test_services_headless_per_role_and_one_for_the_frontend() -> None:
    headless = render.headless_service("prod", "ns", spec(), "history")
    assert headless["metadata"]["name"] == "prod-history-headless"
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["publishNotReadyAddresses"] is True
    frontend = render.frontend_service("prod", "ns", spec())
    assert frontend["metadata"]["name"] == "prod-frontend"
    assert frontend["spec"]["type"] == "ClusterIP"
    assert frontend["spec"]["selector"][render.COMPONENT_LABEL] == "frontend"
    assert render.frontend_address("prod", "ns") == "prod-frontend.ns.svc:7233"


def test_pdb_selects_the_roles_pods() -> None:
    pdb = render.pod_disruption_budget("prod", "ns", "frontend")
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"] == render.selector("prod", "frontend")


@pytest.mark.parametrize(
    ("change", "same"),
    [
        pytest.param({}, True, id="nothing-changed"),
        pytest.param({"secret_version": "2"}, False, id="password-secret-changed"),
        pytest.param({"retry_token": "again"}, False, id="retry-annotation"),
        pytest.param({"spec": spec(version="0.2.0")}, False, id="new-version"),
        pytest.param(
            {"spec": spec(version="0.2.0", image="r/legato:1")}, False, id="new-version-pinned-image"
        ),
        pytest.param({"spec": spec(history={"replicas": 9})}, True, id="replicas-do-not-migrate"),
    ],
)
def test_schema_job_name_changes_exactly_with_the_migrations_inputs(change: dict, same: bool) -> None:
    base = {"spec": spec(), "secret_version": "1", "retry_token": ""}
    first = render.schema_job_name("prod", base["spec"], secret_version="1", retry_token="")
    args = {**base, **change}
    second = render.schema_job_name(
        "prod", args["spec"], secret_version=args["secret_version"], retry_token=args["retry_token"]
    )
    assert (first == second) is same
    assert second.startswith("prod-schema-")


def test_an_upgrade_migrates_first_even_when_the_image_is_pinned() -> None:
    pinned = spec(image="registry.example/legato:build-7")
    upgraded = spec(image="registry.example/legato:build-7", version="0.2.0")
    names = {
        render.schema_job_name("prod", s, secret_version="1", retry_token="") for s in (pinned, upgraded)
    }
    assert len(names) == 2


def test_schema_job_runs_setup_then_update_without_sidecars_and_is_never_ttl_deleted(
    cluster_spec: dict,
) -> None:
    job = render.schema_job("prod", "ns", cluster_spec, job_name="prod-schema-1")
    script = job["spec"]["template"]["spec"]["containers"][0]["args"][2]
    lines = [line for line in script.splitlines() if line.startswith("legato-server")]
    assert [line.split()[2] for line in lines] == ["setup", "update", "version"]
    assert "--host db.example" in lines[0] and "--database legato" in lines[0]
    assert "password" not in script
    assert job["spec"]["template"]["metadata"]["annotations"]["sidecar.istio.io/inject"] == "false"
    assert "ttlSecondsAfterFinished" not in job["spec"]
    env = job["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env[0]["name"] == "LEGATO_DB_PASSWORD"


def test_cassandra_schema_flags() -> None:
    cassandra = spec(
        persistence={
            "type": "cassandra",
            "cassandra": {
                "hosts": ["c1", "c2"],
                "keyspace": "wf",
                "datacenter": "dc1",
                "replicationFactor": 3,
            },
        }
    )
    args = render.schema_connection_args(cassandra)
    assert args[:4] == ["--db", "cassandra", "--host", "c1,c2"]
    assert "--keyspace" in args and "wf" in args and "dc1" in args
    config = render.server_config("prod", cassandra, "history")
    assert config["persistence"]["cassandra"]["hosts"] == ["c1", "c2"]
    assert render.password_secret(cassandra) is None


@pytest.mark.parametrize(
    ("log", "version"),
    [
        pytest.param(
            "mysql db/legato: schema version 1.2 (min compatible 1.0; ...)", "1.2", id="version-line"
        ),
        pytest.param(
            "set up at version 1.0\napplied 1.1\nmysql x: schema version 1.1 (min", "1.1", id="last-wins"
        ),
        pytest.param("Access denied for user", None, id="no-version"),
    ],
)
def test_parse_schema_version(log: str, version: str | None) -> None:
    assert render.parse_schema_version(log) == version


def test_image_defaults_to_repository_and_version() -> None:
    assert render.image(spec(version="0.3.1")) == "legato.local/legato/legato:0.3.1"
    assert render.image(spec(image="registry.example/legato:custom")) == "registry.example/legato:custom"


def test_every_role_serves_metrics_and_its_pods_carry_scrape_annotations(cluster_spec: dict) -> None:
    server = pytest.importorskip("legato_server.server")
    for role in render.ROLES:
        config = server.server_config_from_mapping(render.server_config("prod", cluster_spec, role))
        assert config.metrics is not None
        assert (config.metrics.host, config.metrics.port) == ("0.0.0.0", render.METRICS_PORT)
        deployment = render.role_deployment("prod", "ns", cluster_spec, role, config_digest="x")
        template = deployment["spec"]["template"]
        [container] = template["spec"]["containers"]
        assert {"name": "metrics", "containerPort": 9090, "protocol": "TCP"} in container["ports"]
        annotations = template["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == "9090"
        assert annotations["prometheus.io/path"] == "/metrics"
        headless = render.headless_service("prod", "ns", cluster_spec, role)
        assert {"name": "metrics", "port": 9090, "targetPort": "metrics", "protocol": "TCP"} in headless[
            "spec"
        ]["ports"]
        assert "annotations" not in headless["metadata"], "pods are annotated, not Services: no double scrape"


def test_a_pod_annotation_override_of_the_scrape_keys_wins() -> None:
    overridden = spec(history={"replicas": 1, "pod": {"annotations": {"prometheus.io/scrape": "false"}}})
    deployment = render.role_deployment("prod", "ns", overridden, "history", config_digest="x")
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "false"
    assert annotations["prometheus.io/port"] == "9090"
    assert annotations[render.CONFIG_HASH_ANNOTATION] == "x"


@pytest.mark.parametrize(
    "persistence",
    [
        pytest.param(
            {"type": "cassandra", "cassandra": {"hosts": ["c1"], "tls": {"secretName": "db-ca"}}},
            id="cassandra",
        ),
        pytest.param(
            {
                "type": "mysql",
                "mysql": {"host": "db", "passwordSecretRef": {"name": "p"}, "tls": {"secretName": "db-ca"}},
            },
            id="mysql",
        ),
    ],
)
def test_schema_job_trusts_the_database_ca_the_servers_trust(persistence: dict) -> None:
    tls_spec = spec(persistence=persistence)
    ca = f"{render.DB_TLS_DIR}/ca.crt"
    args = render.schema_connection_args(tls_spec)
    assert args[args.index("--tls-ca") + 1] == ca
    job = render.schema_job("prod", "ns", tls_spec, job_name="prod-schema-1")
    pod = job["spec"]["template"]["spec"]
    assert f"--tls-ca {ca}" in pod["containers"][0]["args"][2]
    assert {"name": "db-tls", "mountPath": render.DB_TLS_DIR, "readOnly": True} in pod["containers"][0][
        "volumeMounts"
    ]
    assert any(volume.get("secret", {}).get("secretName") == "db-ca" for volume in pod["volumes"])
    kind = persistence["type"]
    assert render.server_config("prod", tls_spec, "history")["persistence"][kind]["tls_ca"] == ca
    # Without TLS, no flag.
    plain = spec(persistence={"type": kind, kind: {k: v for k, v in persistence[kind].items() if k != "tls"}})
    assert "--tls-ca" not in render.schema_connection_args(plain)


def test_cassandra_password_reaches_pods_and_job_only_through_the_secret() -> None:
    cassandra = spec(
        persistence={
            "type": "cassandra",
            "cassandra": {"hosts": ["c1"], "user": "app", "passwordSecretRef": {"name": "cass", "key": "pw"}},
        }
    )
    assert render.password_secret(cassandra) == ("cass", "pw")
    store = render.server_config("prod", cassandra, "frontend")["persistence"]["cassandra"]
    assert store["user"] == "app" and "password" not in store
    args = render.schema_connection_args(cassandra)
    assert args[args.index("--user") + 1] == "app"
    wanted = {"name": "LEGATO_DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "cass", "key": "pw"}}}
    job = render.schema_job("prod", "ns", cassandra, job_name="prod-schema-1")
    assert job["spec"]["template"]["spec"]["containers"][0]["env"] == [wanted]
    deployment = render.role_deployment("prod", "ns", cassandra, "history", config_digest="x")
    assert wanted in deployment["spec"]["template"]["spec"]["containers"][0]["env"]
