"""Legato's Kubernetes operator: ``LegatoCluster`` and ``LegatoNamespace`` (group ``legato.dev``).

Layers, each only looking down:

* ``handlers`` (kopf decorators) and ``main`` (the ``legato-operator`` command)
* ``cluster`` / ``namespaces``: one reconcile pass each, level-based and
  idempotent, written against ``kube`` (get-or-create, then patch)
* ``render`` (pure: spec in, Kubernetes objects out), ``versions`` (the upgrade
  policy), ``conditions`` (status conditions), ``health`` (a gRPC health check
  with no dependency beyond grpcio, also run as the pods' exec probe under TLS)
* ``crds/``: the CustomResourceDefinitions as YAML (package data, shared with
  the Helm chart)

Importing this package imports neither kopf nor the kubernetes client, so the
server image can run ``python -m legato_operator.health`` as a probe.
"""

from __future__ import annotations

from pathlib import Path

CRD_DIR = Path(__file__).resolve().parent / "crds"
"""The CustomResourceDefinitions, one YAML file each."""

GROUP = "legato.dev"
VERSION = "v1alpha1"
