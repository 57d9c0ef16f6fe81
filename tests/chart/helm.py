"""Running the Helm binary the repo builds (``e2e/infra/build.sh helm``) over the chart.

The chart tests render ``charts/legato`` with ``helm template`` (client only,
for a stated Kubernetes version) and assert on the parsed objects, so each
value is shown to reach the manifest it should. Helm is a 100 MiB Go build:
when it is missing the tests skip naming the build script, and in CI (env
``CI`` set) they fail with the same message.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.infra import IN_CI

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "legato"
HELM_VERSION = "v3.22.0"
BUILD_HINT = "build it with: e2e/infra/build.sh helm"
KUBE_VERSION = "1.32.13"
CRD_API = "legato.dev/v1alpha1/LegatoCluster"
RELEASE = "legato"
NAMESPACE = "legato-system"


def helm_path() -> Path:
    """LEGATO_HELM, else the build cache's binary (where e2e/infra/build.sh puts it)."""
    if os.environ.get("LEGATO_HELM"):
        return Path(os.environ["LEGATO_HELM"])
    cache = Path(os.environ.get("LEGATO_E2E_CACHE", Path.home() / ".cache" / "legato-e2e"))
    return cache / f"helm-{HELM_VERSION}" / "bin" / "helm"


def require_helm() -> Path:
    path = helm_path()
    if path.exists():
        return path
    message = f"helm is not built ({path} is missing); {BUILD_HINT}"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str


def run(*args: str | Path, helm: Path | None = None) -> Result:
    """``helm ARGS`` with a private HOME-free config (no repositories, no plugins)."""
    binary = helm or require_helm()
    env = {
        **os.environ,
        "HELM_CACHE_HOME": "/tmp/legato-helm/cache",
        "HELM_CONFIG_HOME": "/tmp/legato-helm/config",
        "HELM_DATA_HOME": "/tmp/legato-helm/data",
    }
    result = subprocess.run(
        [str(binary), *map(str, args)], capture_output=True, text=True, timeout=120, env=env
    )
    return Result(result.returncode, result.stdout, result.stderr)


def values_file(tmp_path: Path, values: dict[str, Any]) -> Path:
    path = tmp_path / f"values-{abs(hash(repr(values)))}.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


def template(
    tmp_path: Path, values: dict[str, Any] | None = None, *, crds_served: bool = True, check: bool = True
) -> Result:
    args: list[str | Path] = [
        "template", RELEASE, CHART, "--namespace", NAMESPACE, "--kube-version", KUBE_VERSION,
    ]  # fmt: skip
    if crds_served:
        args += ["--api-versions", CRD_API]
    if values:
        args += ["--values", values_file(tmp_path, values)]
    result = run(*args)
    if check and result.code != 0:
        raise AssertionError(f"helm template failed ({result.code}): {result.stderr}")
    return result


def render(tmp_path: Path, values: dict[str, Any] | None = None, **kwargs: Any) -> list[dict[str, Any]]:
    """The rendered objects, in order."""
    return [doc for doc in yaml.safe_load_all(template(tmp_path, values, **kwargs).stdout) if doc]


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def one(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = find(objects, kind, name)
    assert len(found) == 1, f"expected one {kind} {name or ''}, got {[o['metadata']['name'] for o in found]}"
    return found[0]
