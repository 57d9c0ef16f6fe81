"""Layers only look down: the import rules of docs/internals.md, checked.

Parses every module (no import side effects) and fails naming the file and the
forbidden import, so a shortcut across layers is caught in review, not in prod.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# (package folder, forbidden import prefixes, why)
RULES = [
    (
        "server/legato_server/persistence",
        ("legato_server.history", "legato_server.matching", "legato_server.frontend", "legato_server.server"),
        "persistence knows nothing of the roles above it",
    ),
    (
        "server/legato_server/history",
        ("legato_server.frontend", "legato_server.server", "legato_server.cli"),
        "history knows nothing of the frontend or the assembly",
    ),
    (
        "server/legato_server/matching",
        ("legato_server.frontend", "legato_server.server", "legato_server.cli", "legato_server.history"),
        "matching reaches history only through the client it is given",
    ),
    (
        "sdk/legato",
        ("legato_server", "legato_operator"),
        "a worker pod must not need the server's or the operator's code",
    ),
]

RUNTIME_MODULES = [
    "sdk/legato/workflow.py",
    *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "sdk/legato").glob("_workflow_*.py")),
]


def imports_of(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize(("folder", "forbidden", "why"), RULES, ids=[r[0] for r in RULES])
def test_layer_does_not_import_upward(folder: str, forbidden: tuple[str, ...], why: str) -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / folder).rglob("*.py"))
        if "_pb2" not in path.name
        for name in imports_of(path)
        if name.startswith(forbidden)
    ]
    assert not offenders, f"{why}:\n" + "\n".join(offenders)


@pytest.mark.parametrize("module", RUNTIME_MODULES)
def test_workflow_runtime_knows_nothing_of_grpc(module: str) -> None:
    bad = [
        name for name in imports_of(ROOT / module) if name.split(".")[0] == "grpc" or name == "legato.client"
    ]
    assert not bad, f"{module} is part of the deterministic runtime and must not import {bad}"
