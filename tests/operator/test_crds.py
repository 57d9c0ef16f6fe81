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
