"""The CRD files: loadable, with the schema pieces the issue asks for."""

from __future__ import annotations

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
