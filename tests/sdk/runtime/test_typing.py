"""The public workflow API type-checks: mypy sees through execute_activity to the result type."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parents[2]


def test_typing_check_file_passes_mypy() -> None:
    api = pytest.importorskip("mypy.api")
    os.environ["MYPYPATH"] = str(ROOT / "sdk")  # the editable install hides the package from mypy
    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        stdout, stderr, status = api.run(
            [
                "--disallow-untyped-decorators",
                "--disallow-untyped-defs",
                "--warn-unused-ignores",
                "--follow-imports=silent",
                "--ignore-missing-imports",
                "tests/sdk/runtime/typing_check.py",
            ]
        )
    finally:
        os.chdir(cwd)
    assert status == 0, stdout + stderr
