"""Layers only look down: the import rules of docs/internals.md, checked.

The rules themselves are import-linter contracts in pyproject.toml
(``[tool.importlinter]``); ``lint-imports`` checks them transitively in the
lint phase of scripts/test.sh, and this test runs the same check under pytest.
What import-linter cannot see is a module the contracts forget: a new server
package, history sub-package or workflow-runtime module would be bound by no
rule. The tests below fail until it is named in a contract.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / "server/legato_server"


def contract(contract_id: str) -> dict[str, Any]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    [found] = [c for c in config["contracts"] if c["id"] == contract_id]
    return found


def layered(contract_id: str) -> set[str]:
    return {name.strip() for layer in contract(contract_id)["layers"] for name in layer.split("|")}


def children(folder: Path) -> set[str]:
    return {
        path.stem if path.is_file() else path.name
        for path in folder.iterdir()
        if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").is_file()
    }


def test_every_server_package_has_a_layer() -> None:
    missing = children(SERVER) - layered("server-layers")
    assert not missing, f"add {sorted(missing)} to the server-layers contract in pyproject.toml"


def test_every_history_module_has_a_layer() -> None:
    missing = children(SERVER / "history") - layered("history-layers")
    assert not missing, f"add {sorted(missing)} to the history-layers contract in pyproject.toml"


def test_the_whole_workflow_runtime_is_kept_from_grpc() -> None:
    runtime = {"legato.workflow"} | {f"legato.{p.stem}" for p in (ROOT / "sdk/legato").glob("_workflow_*.py")}
    listed = set(contract("workflow-runtime-without-grpc")["source_modules"])
    assert runtime == listed, f"the runtime is {sorted(runtime)}; the contract lists {sorted(listed)}"


def test_import_contracts_are_kept() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    command = [str(lint)] if lint.exists() else ["lint-imports"]
    result = subprocess.run([*command, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
