"""``helm lint --strict`` is clean, with the default values and with every option set."""

from __future__ import annotations

from pathlib import Path

from tests.chart.helm import CHART, KUBE_VERSION, run, values_file
from tests.chart.test_render import EVERYTHING


def test_lint_strict_with_default_values() -> None:
    result = run("lint", "--strict", CHART, "--kube-version", KUBE_VERSION)
    assert result.code == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


def test_lint_strict_with_every_option(tmp_path: Path) -> None:
    values = values_file(tmp_path, EVERYTHING)
    result = run("lint", "--strict", CHART, "--kube-version", KUBE_VERSION, "--values", values)
    assert result.code == 0, result.stdout + result.stderr
