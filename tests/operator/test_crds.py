"""The CRD files: loadable, with the schema pieces the issue asks for."""

from __future__ import annotations

import re

import pytest
import yaml

from legato_operator import CRD_DIR


def load(name: str) -> dict:
    return yaml.safe_load((CRD_DIR / f"{name}.legato.dev.yaml").read_text())


def schema_of(crd: dict) -> dict:
    (version,) = crd["spec"]["versions"]
    return version["schema"]["openAPIV3Schema"]["properties"]["spec"]


@pytest.mark.parametrize("name", ["legatoclusters", "legatonamespaces"])
def test_crd_has_status_subresource_and_printer_columns(name: str) -> None:
    crd = load(name)
    (version,) = crd["spec"]["versions"]
    assert crd["spec"]["group"] == "legato.dev"
    assert version["name"] == "v1alpha1"
    assert version["subresources"] == {"status": {}}
    assert any(column["name"] == "Ready" for column in version["additionalPrinterColumns"])


def test_cluster_immutables_are_cel_rules() -> None:
    spec = schema_of(load("legatoclusters"))
    shard_rules = spec["properties"]["numHistoryShards"]["x-kubernetes-validations"]
    assert shard_rules[0]["rule"] == "self == oldSelf"
    assert "immutable" in shard_rules[0]["message"]
    type_rules = spec["properties"]["persistence"]["properties"]["type"]["x-kubernetes-validations"]
    assert type_rules[0]["rule"] == "self == oldSelf"


def test_role_specs_share_one_definition_and_the_frontend_adds_its_own() -> None:
    properties = schema_of(load("legatoclusters"))["properties"]
    assert properties["history"] == properties["matching"]
    assert {"replicas", "autoscaling", "resources", "pod"} <= set(properties["frontend"]["properties"])
    assert {"service", "tls"} <= set(properties["frontend"]["properties"])


def cassandra_schema() -> dict:
    persistence = schema_of(load("legatoclusters"))["properties"]["persistence"]
    return persistence["properties"]["cassandra"]


@pytest.mark.parametrize(
    ("keyspace", "allowed"),
    [
        pytest.param("legato", True, id="default"),
        pytest.param("legato_prod_2", True, id="digits-and-underscore"),
        # Cassandra folds an unquoted name to lower case: the schema Job would
        # create "legato" and then not find "Legato".
        pytest.param("Legato", False, id="upper-case"),
        pytest.param("legato-prod", False, id="hyphen"),
        pytest.param("2legato", False, id="leading-digit"),
        pytest.param("_legato", False, id="leading-underscore"),
    ],
)
def test_cassandra_keyspace_rule_allows_only_names_the_schema_job_can_create(
    keyspace: str, allowed: bool
) -> None:
    from legato_server.persistence.cassandra.schema import check_keyspace_name

    keyspace_schema = cassandra_schema()["properties"]["keyspace"]
    assert keyspace_schema["maxLength"] == 48
    (rule,) = keyspace_schema["x-kubernetes-validations"]
    # The rule is self.matches('<RE2>'); this pattern means the same in Python's re.
    pattern = re.fullmatch(r"self\.matches\('(.*)'\)", rule["rule"]).group(1)
    assert bool(re.search(pattern, keyspace)) is allowed
    assert "lower-case" in rule["message"]
    if allowed:
        # What the CRD lets through, the server's own check accepts as it is.
        assert check_keyspace_name(keyspace) == keyspace == keyspace.lower()


def test_cassandra_password_needs_a_user() -> None:
    cassandra = cassandra_schema()
    (rule,) = cassandra["x-kubernetes-validations"]
    assert rule["rule"] == "!has(self.passwordSecretRef) || has(self.user)"
    assert "passwordSecretRef needs persistence.cassandra.user" in rule["message"]
    assert cassandra["properties"]["user"]["minLength"] == 1
    # Without a Secret the cluster runs against a Cassandra without authentication.
    assert "passwordSecretRef" not in cassandra["required"]


def test_logging_enums_are_the_servers_flags() -> None:
    cli = pytest.importorskip("legato_server.cli")
    logging = schema_of(load("legatoclusters"))["properties"]["logging"]["properties"]
    assert tuple(logging["level"]["enum"]) == cli.LOG_LEVELS
    assert tuple(logging["format"]["enum"]) == cli.LOG_FORMATS
    assert (logging["level"]["default"], logging["format"]["default"]) == ("info", "text")


def test_metrics_port_range_and_rules() -> None:
    metrics = schema_of(load("legatoclusters"))["properties"]["metrics"]
    port = metrics["properties"]["port"]
    assert (port["minimum"], port["maximum"], port["default"]) == (1024, 65535, 9090)
    assert port["x-kubernetes-validations"][0]["rule"] == "self != 7233"
    assert metrics["properties"]["enabled"]["default"] is True
    (rule,) = metrics["x-kubernetes-validations"]
    assert "serviceMonitor.enabled needs metrics.enabled" in rule["message"]
    interval = re.compile(metrics["properties"]["serviceMonitor"]["properties"]["interval"]["pattern"])
    assert all(interval.fullmatch(v) for v in ("30s", "1m", "1m30s", "500ms"))
    assert not any(interval.fullmatch(v) for v in ("30", "s", "1 m", "-1s"))


def test_frontend_tls_is_a_secret_or_an_issuer_never_both() -> None:
    tls = schema_of(load("legatoclusters"))["properties"]["frontend"]["properties"]["tls"]
    assert "required" not in tls
    rule, extra_names = tls["x-kubernetes-validations"]
    assert rule["rule"] == "has(self.secretName) != has(self.issuerRef)"
    assert extra_names["rule"] == "!has(self.extraDNSNames) || has(self.issuerRef)"
    issuer = tls["properties"]["issuerRef"]
    assert issuer["required"] == ["name"]
    assert issuer["properties"]["kind"]["enum"] == ["Issuer", "ClusterIssuer"]
