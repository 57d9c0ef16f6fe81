"""The chart's CRDs and values schema are generated from the operator's CRDs, never edited by hand.

One source of truth (``operator/legato_operator/crds/``, ``operator/deploy/peering.yaml``);
``scripts/gen_chart.py`` copies them into the chart and derives
``values.schema.json``. These checks need no Helm, so they run everywhere.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def gen_chart() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_chart", ROOT / "scripts" / "gen_chart.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_chart"] = module
    spec.loader.exec_module(module)
    return module


def test_the_charts_generated_files_are_current() -> None:
    stale = gen_chart().stale_files()
    assert stale == [], f"stale chart files {stale}: run python3 scripts/gen_chart.py"


def test_the_charts_app_version_is_the_packages_version() -> None:
    assert gen_chart().app_version_problem() is None


def test_the_values_schema_takes_the_crds_limits() -> None:
    schema = gen_chart().values_schema()
    spec = schema["properties"]["cluster"]["properties"]["spec"]["properties"]
    assert spec["history"]["properties"]["replicas"]["minimum"] == 0
    assert spec["persistence"]["properties"]["type"]["enum"] == ["mysql", "cassandra"]
    # CEL rules are the API server's; JSON Schema would ignore them anyway.
    assert "x-kubernetes-validations" not in repr(schema)
