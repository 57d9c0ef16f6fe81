"""What ``helm template`` makes of each value: one test per option, asserting on parsed objects.

Also that the chart's RBAC is exactly the kubectl install's (``operator/deploy/rbac.yaml``),
its CRDs are the operator's, it has no hooks but its test Pod and no Jobs,
and its test Pod asks the Service the operator names.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.helm import NAMESPACE, ROOT, find, one, render, run, template

OPERATOR = "legato-operator"  # release "legato": the names operator/deploy/ uses
IMAGE = "legato.local/legato/legato:0.1.0"

CLUSTER = {
    "enabled": True,
    "name": "orders",
    "spec": {
        "numHistoryShards": 16,
        "persistence": {
            "type": "mysql",
            "mysql": {"host": "db.example", "database": "orders", "passwordSecretRef": {"name": "orders-db"}},
        },
        "history": {"replicas": 3},
    },
}

EVERYTHING: dict[str, Any] = {
    "image": {"repository": "registry.example/legato/legato", "tag": "0.1.1", "pullPolicy": "Always"},
    "imagePullSecrets": [{"name": "registry-example"}],
    "logLevel": "debug",
    "logFormat": "plain",
    "watchNamespaces": ["legato-system", "team-b"],
    "tracing": {"otlpEndpoint": "http://collector.observability:4317"},
    "resources": {"requests": {"cpu": "100m", "memory": "200Mi"}, "limits": {"memory": "1Gi"}},
    "podSecurityContext": {"runAsNonRoot": True, "runAsUser": 20002, "fsGroup": 20002},
    "securityContext": {"readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}},
    "podAnnotations": {"example.com/team": "platform"},
    "podLabels": {"example.com/tier": "control"},
    "nodeSelector": {"kubernetes.io/os": "linux"},
    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "legato", "effect": "NoSchedule"}],
    "affinity": {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["control"]}]}
                ]
            }
        }
    },
    "priorityClassName": "system-cluster-critical",
    "serviceAccount": {"annotations": {"example.com/role": "operator"}},
    "crds": {"keep": False},
    "cluster": CLUSTER,
    "namespaces": [{"name": "orders", "spec": {"clusterRef": {"name": "orders"}, "retention": "96h"}}],
    "test": {"timeoutSeconds": 60},
}


def operator_container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    (container,) = one(objects, "Deployment", OPERATOR)["spec"]["template"]["spec"]["containers"]
    return dict(container)


def pod_spec(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return dict(one(objects, "Deployment", OPERATOR)["spec"]["template"]["spec"])


def deploy_documents(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((ROOT / "operator" / "deploy" / name).read_text()) if d]


# ------------------------------------------------------------------ defaults


def test_defaults_install_the_crds_the_operator_and_cluster_wide_rbac(tmp_path: Path) -> None:
    objects = render(tmp_path)
    kinds = sorted((o["kind"], o["metadata"]["name"]) for o in objects)
    assert kinds == [
        ("ClusterRole", OPERATOR),
        ("ClusterRoleBinding", OPERATOR),
        ("CustomResourceDefinition", "clusterkopfpeerings.kopf.dev"),
        ("CustomResourceDefinition", "legatoclusters.legato.dev"),
        ("CustomResourceDefinition", "legatonamespaces.legato.dev"),
        ("Deployment", OPERATOR),
        ("ServiceAccount", OPERATOR),
    ]
    container = operator_container(objects)
    assert container["image"] == IMAGE
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert container["args"] == [
        "legato-operator",
        "--log-level=info",
        "--log-format=json",
        f"--peering={OPERATOR}",
    ]
    assert "env" not in container
    deployment = one(objects, "Deployment", OPERATOR)
    assert deployment["metadata"]["namespace"] == NAMESPACE
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert pod_spec(objects)["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_no_hooks_and_no_jobs_the_operator_owns_migrations(tmp_path: Path) -> None:
    objects = render(tmp_path, {"cluster": CLUSTER})
    assert not find(objects, "Job")
    hooked = [o for o in objects if "helm.sh/hook" in (o["metadata"].get("annotations") or {})]
    assert [(o["kind"], o["metadata"]["annotations"]["helm.sh/hook"]) for o in hooked] == [("Pod", "test")]


def test_cluster_wide_rbac_is_the_kubectl_installs(tmp_path: Path) -> None:
    objects = render(tmp_path)
    (kubectl_role,) = [d for d in deploy_documents("rbac.yaml") if d["kind"] == "ClusterRole"]
    assert one(objects, "ClusterRole", OPERATOR)["rules"] == kubectl_role["rules"]
    binding = one(objects, "ClusterRoleBinding", OPERATOR)
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": OPERATOR, "namespace": NAMESPACE}]


def test_crds_are_the_operators_and_kept_on_uninstall(tmp_path: Path) -> None:
    objects = render(tmp_path)
    crds = ROOT / "operator" / "legato_operator" / "crds"
    sources = {
        "legatoclusters.legato.dev": crds / "legatoclusters.legato.dev.yaml",
        "legatonamespaces.legato.dev": crds / "legatonamespaces.legato.dev.yaml",
        "clusterkopfpeerings.kopf.dev": ROOT / "operator" / "deploy" / "peering.yaml",
    }
    for name, source in sources.items():
        crd = one(objects, "CustomResourceDefinition", name)
        assert crd["spec"] == yaml.safe_load(source.read_text())["spec"], name
        assert crd["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}
        assert crd["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"


# ------------------------------------------------------------------ each option


def test_crds_keep_false_lets_uninstall_delete_them(tmp_path: Path) -> None:
    for crd in find(render(tmp_path, {"crds": {"keep": False}}), "CustomResourceDefinition"):
        assert "helm.sh/resource-policy" not in (crd["metadata"].get("annotations") or {})


def test_crds_install_false_renders_none(tmp_path: Path) -> None:
    assert not find(render(tmp_path, {"crds": {"install": False}}), "CustomResourceDefinition")


def test_image_values(tmp_path: Path) -> None:
    objects = render(tmp_path, {k: EVERYTHING[k] for k in ("image", "imagePullSecrets")})
    container = operator_container(objects)
    assert container["image"] == "registry.example/legato/legato:0.1.1"
    assert container["imagePullPolicy"] == "Always"
    assert pod_spec(objects)["imagePullSecrets"] == [{"name": "registry-example"}]


def test_log_level_and_format(tmp_path: Path) -> None:
    args = operator_container(render(tmp_path, {"logLevel": "warning", "logFormat": "plain"}))["args"]
    assert "--log-level=warning" in args and "--log-format=plain" in args


def test_log_level_arguments_are_ones_the_operator_accepts(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "operator"))
    from legato_operator.main import parse_args

    for level in ("debug", "info", "warning", "error"):
        args = operator_container(render(tmp_path, {"logLevel": level, "watchNamespaces": ["a"]}))["args"]
        parsed = parse_args(args[1:])
        assert (parsed.log_level, parsed.namespace) == (level, ["a"])


def test_default_tracing_endpoint_reaches_the_operator(tmp_path: Path) -> None:
    container = operator_container(render(tmp_path, {"tracing": EVERYTHING["tracing"]}))
    assert container["env"] == [
        {"name": "LEGATO_DEFAULT_OTLP_ENDPOINT", "value": "http://collector.observability:4317"}
    ]


def test_resources_and_security_contexts(tmp_path: Path) -> None:
    values = {k: EVERYTHING[k] for k in ("resources", "podSecurityContext", "securityContext")}
    objects = render(tmp_path, values)
    container = operator_container(objects)
    assert container["resources"] == EVERYTHING["resources"]
    # Helm merges maps with the defaults: the values given win, the rest stay
    # (a user unsets a default key with null).
    assert EVERYTHING["securityContext"].items() <= container["securityContext"].items()
    assert EVERYTHING["podSecurityContext"].items() <= pod_spec(objects)["securityContext"].items()
    unset = render(tmp_path, {"podSecurityContext": {"seccompProfile": None}})
    assert "seccompProfile" not in pod_spec(unset)["securityContext"]


def test_scheduling_values(tmp_path: Path) -> None:
    keys = ("nodeSelector", "tolerations", "affinity", "priorityClassName")
    spec = pod_spec(render(tmp_path, {k: EVERYTHING[k] for k in keys}))
    for key in keys:
        assert spec[key] == EVERYTHING[key], key


def test_pod_labels_and_annotations(tmp_path: Path) -> None:
    deployment = one(
        render(tmp_path, {k: EVERYTHING[k] for k in ("podLabels", "podAnnotations")}), "Deployment"
    )
    metadata = deployment["spec"]["template"]["metadata"]
    assert metadata["annotations"] == {"example.com/team": "platform"}
    assert metadata["labels"]["example.com/tier"] == "control"
    # The selector stays the chart's own: extra labels never break upgrades.
    assert deployment["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "legato-operator",
        "app.kubernetes.io/instance": "legato",
    }


def test_service_account_values(tmp_path: Path) -> None:
    objects = render(tmp_path, {"serviceAccount": {"name": "custom", "annotations": {"a": "b"}}})
    account = one(objects, "ServiceAccount", "custom")
    assert account["metadata"]["annotations"] == {"a": "b"}
    assert pod_spec(objects)["serviceAccountName"] == "custom"
    assert one(objects, "ClusterRoleBinding")["subjects"][0]["name"] == "custom"
    objects = render(
        tmp_path, {"serviceAccount": {"create": False, "name": "existing"}, "rbac": {"create": False}}
    )
    assert not find(objects, "ServiceAccount") and not find(objects, "ClusterRole")
    assert pod_spec(objects)["serviceAccountName"] == "existing"


def test_watch_namespaces_gives_namespaced_roles_and_tells_the_operator(tmp_path: Path) -> None:
    objects = render(tmp_path, {"watchNamespaces": ["team-a", "team-b"]})
    assert not find(objects, "ClusterRole") and not find(objects, "ClusterRoleBinding")
    roles = find(objects, "Role")
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["team-a", "team-b"]
    (kubectl_role,) = [d for d in deploy_documents("rbac.yaml") if d["kind"] == "ClusterRole"]
    cluster_only = {"kopf.dev", "apiextensions.k8s.io"}
    expected = [
        rule
        for rule in kubectl_role["rules"]
        if not set(rule["apiGroups"]) & cluster_only and rule["resources"] != ["namespaces"]
    ]
    for role in roles:
        assert role["rules"] == expected
    for binding in find(objects, "RoleBinding"):
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": OPERATOR,
        }
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": OPERATOR, "namespace": NAMESPACE}]
    args = operator_container(objects)["args"]
    assert args[-2:] == ["--namespace=team-a", "--namespace=team-b"]
    assert not any(a.startswith("--peering") for a in args)
    # Standalone: kopf's peering CRD is not needed.
    assert not find(objects, "CustomResourceDefinition", "clusterkopfpeerings.kopf.dev")


def test_release_names_prefix_every_object(tmp_path: Path) -> None:
    result = run(
        "template", "blue", ROOT / "charts" / "legato", "--namespace", "ops", "--kube-version", "1.32.13"
    )
    assert result.code == 0, result.stderr
    objects = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert one(objects, "Deployment")["metadata"]["name"] == "blue-legato-operator"
    assert "--peering=blue-legato-operator" in operator_container_of(objects)["args"]


def operator_container_of(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return dict(one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0])


# ------------------------------------------------------------------ cluster and namespaces


def test_cluster_values_make_a_legato_cluster(tmp_path: Path) -> None:
    objects = render(tmp_path, {"cluster": CLUSTER})
    cluster = one(objects, "LegatoCluster", "orders")
    assert cluster["metadata"]["namespace"] == NAMESPACE
    assert cluster["spec"] == {**CLUSTER["spec"], "version": "0.1.0"}  # version: the chart's appVersion
    pinned = render(tmp_path, {"cluster": {**CLUSTER, "spec": {**CLUSTER["spec"], "version": "0.2.0"}}})
    assert one(pinned, "LegatoCluster")["spec"]["version"] == "0.2.0"


def test_the_test_pod_asks_the_frontend_service_the_operator_names(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "operator"))
    from legato_operator import render as operator_render

    objects = render(tmp_path, {"cluster": CLUSTER})
    pod = one(objects, "Pod")
    (container,) = pod["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["FRONTEND"] == operator_render.frontend_address("orders", NAMESPACE)
    assert container["image"] == IMAGE
    assert pod["spec"]["restartPolicy"] == "Never"
    # Never the operator Deployment's selector: its ReplicaSet would adopt the pod.
    selector = one(objects, "Deployment", OPERATOR)["spec"]["selector"]["matchLabels"]
    assert not selector.items() <= pod["metadata"]["labels"].items()
    assert "legato_operator import health" in container["args"][-1]


@pytest.mark.parametrize(
    "tls",
    [{"secretName": "orders-tls"}, {"issuerRef": {"name": "ca", "kind": "ClusterIssuer"}}],
    ids=["own-secret", "cert-manager"],
)
def test_the_test_pod_checks_over_tls_with_the_secret_the_frontend_mounts(
    tmp_path: Path, tls: dict[str, Any]
) -> None:
    # With issuerRef there is no secretName in values: the Pod must name the
    # Secret cert-manager writes, as the operator does, or the API refuses it.
    sys.path.insert(0, str(ROOT / "operator"))
    from legato_operator import render as operator_render

    spec = {**CLUSTER["spec"], "frontend": {"tls": tls}}
    spec["internodeTLS"] = {"secretName": "orders-internode", "serverName": "internode.orders"}
    pod = one(render(tmp_path, {"cluster": {**CLUSTER, "spec": spec}}), "Pod")
    secret = operator_render.frontend_tls_secret("orders", spec)
    assert secret in ("orders-tls", "orders-frontend-tls")
    assert pod["spec"]["volumes"] == [{"name": "frontend-tls", "secret": {"secretName": secret}}]
    env = {e["name"]: e["value"] for e in pod["spec"]["containers"][0]["env"]}
    assert env["CA_FILE"] == "/tls/ca.crt"


def test_no_cluster_no_test_pod(tmp_path: Path) -> None:
    objects = render(tmp_path)
    assert not find(objects, "LegatoCluster") and not find(objects, "Pod")


def test_cluster_waits_for_its_crd_to_be_served(tmp_path: Path) -> None:
    # Helm checks every object before creating the CRDs: a LegatoCluster in the
    # first install would fail the whole install with "no matches for kind".
    objects = render(
        tmp_path, {"cluster": CLUSTER, "namespaces": EVERYTHING["namespaces"]}, crds_served=False
    )
    assert not find(objects, "LegatoCluster") and not find(objects, "LegatoNamespace")
    assert not find(objects, "Pod")
    assert find(objects, "CustomResourceDefinition")


def test_namespaces_values_make_legato_namespaces(tmp_path: Path) -> None:
    namespaces = [
        {"name": "orders", "spec": {"clusterRef": {"name": "orders"}, "retention": "96h"}},
        {"name": "billing", "spec": {"clusterRef": {"name": "orders"}, "deletionPolicy": "Delete"}},
    ]
    objects = render(tmp_path, {"namespaces": namespaces})
    made = find(objects, "LegatoNamespace")
    assert [(n["metadata"]["name"], n["spec"]) for n in made] == [(n["name"], n["spec"]) for n in namespaces]
    assert all(n["metadata"]["namespace"] == NAMESPACE for n in made)


def test_everything_at_once_renders(tmp_path: Path) -> None:
    objects = render(tmp_path, EVERYTHING)
    assert one(objects, "LegatoCluster", "orders") and one(objects, "LegatoNamespace", "orders")
    assert len(find(objects, "Role")) == 2


@pytest.mark.parametrize("served", [True, False])
def test_notes_say_what_to_do_next(tmp_path: Path, served: bool) -> None:
    # `helm install --dry-run` needs a cluster; a copy of the chart whose
    # NOTES.txt is also an ordinary template renders it with `helm template`.
    chart = tmp_path / "legato"
    shutil.copytree(ROOT / "charts" / "legato", chart)
    notes_source = (chart / "templates" / "NOTES.txt").read_text()
    (chart / "templates" / "_notes.tpl").write_text('{{- define "notes" -}}' + notes_source + "{{- end -}}")
    (chart / "templates" / "notes.yaml").write_text(
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes}\ndata:\n  notes: {{ include "notes" . | quote }}\n'
    )
    args = ["template", "legato", chart, "--namespace", NAMESPACE, "--kube-version", "1.32.13"]
    args += ["--show-only", "templates/notes.yaml"]
    if served:
        args += ["--api-versions", "legato.dev/v1alpha1/LegatoCluster"]
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump({"cluster": CLUSTER}))
    result = run(*args, "--values", values)
    assert result.code == 0, result.stderr
    notes = yaml.safe_load(result.stdout)["data"]["notes"]
    assert "helm uninstall legato" in notes and "stay" in notes
    assert "orders-frontend.legato-system.svc:7233" in notes
    if served:
        assert "helm test legato" in notes and "was NOT created" not in notes
    else:
        assert "was NOT created" in notes and "helm upgrade legato" in notes


def test_template_output_is_stable(tmp_path: Path) -> None:
    # Two renders of the same values are byte-identical: no random names or
    # timestamps, so GitOps tools see no diff on every sync.
    assert template(tmp_path, EVERYTHING).stdout == template(tmp_path, EVERYTHING).stdout
