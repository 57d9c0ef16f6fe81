"""The operator's install-time options the Helm chart sets: default tracing endpoint, log level, namespaces."""

from __future__ import annotations

from legato_operator import render
from legato_operator.main import parse_args
from tests.operator.conftest import spec

COLLECTOR = "http://collector.observability:4317"


def env_of(cluster_spec: dict) -> dict[str, str]:
    deployment = render.role_deployment("prod", "team-a", cluster_spec, "history", config_digest="x")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value", "") for e in container["env"]}


def test_the_default_tracing_endpoint_applies_to_a_cluster_without_one() -> None:
    env = env_of(render.with_default_tracing(spec(), COLLECTOR))
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == COLLECTOR
    assert env["OTEL_SERVICE_NAME"] == "legato-history"


def test_a_clusters_own_tracing_endpoint_wins_over_the_default() -> None:
    own = spec(tracing={"otlpEndpoint": "http://team-collector:4317"})
    assert render.with_default_tracing(own, COLLECTOR) is own
    assert env_of(render.with_default_tracing(own, COLLECTOR))["OTEL_EXPORTER_OTLP_ENDPOINT"] == (
        "http://team-collector:4317"
    )


def test_no_default_no_tracing() -> None:
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in env_of(render.with_default_tracing(spec(), None))
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in env_of(render.with_default_tracing(spec(), ""))


def test_log_level_and_namespaces_arguments() -> None:
    args = parse_args(["--log-level=warning", "--namespace=team-a", "--namespace=team-b"])
    assert (args.log_level, args.namespace) == ("warning", ["team-a", "team-b"])
    assert parse_args([]).log_level == "info"
