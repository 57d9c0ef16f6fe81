"""The client's typing: mypy sees through start_workflow/execute_workflow/query to the workflow's types.

The snippet is type-checked, never run: it needs no workflow runtime and no server.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api")

SNIPPET = textwrap.dedent(
    """
    from legato.client import Client

    class Checkout:
        async def run(self, order_id: str) -> int: raise NotImplementedError
        async def no_args(self) -> list[str]: raise NotImplementedError
        def status(self) -> str: raise NotImplementedError
        def lookup(self, key: int) -> float: raise NotImplementedError

    async def main(client: Client) -> None:
        handle = await client.start_workflow(Checkout.run, "order-1", id="x", task_queue="q")
        reveal_type(handle)
        reveal_type(await handle.result())
        reveal_type(await client.execute_workflow(Checkout.no_args, id="x", task_queue="q"))
        reveal_type(await client.start_workflow("Checkout", "order-1", id="x", task_queue="q"))
        reveal_type(await handle.query(Checkout.status))
        reveal_type(await handle.query(Checkout.lookup, 3))
        reveal_type(client.get_workflow_handle("x", result_type=int))
        reveal_type(client.get_workflow_handle_for(Checkout.run, "x"))
        await client.start_workflow(Checkout.run, 42, id="x", task_queue="q")  # wrong argument type
        await client.start_workflow(Checkout.run, "o", task_queue="q")  # missing id
    """
)


SDK_ROOT = Path(__file__).resolve().parents[3] / "sdk"


def test_handles_and_results_are_typed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "snippet.py"
    path.write_text(SNIPPET)
    monkeypatch.setenv("MYPYPATH", str(SDK_ROOT))  # an editable install is invisible to mypy
    stdout, _, _ = mypy_api.run(
        [str(path), "--no-incremental", "--follow-imports=silent", "--show-error-codes"]
    )
    revealed = [
        line.split("Revealed type is ")[1].strip('"')
        for line in stdout.splitlines()
        if "Revealed type" in line
    ]
    revealed = [r.replace("builtins.", "") for r in revealed]  # older mypy spells builtins out
    assert revealed == [
        "legato.client.WorkflowHandle[int]",
        "int",
        "list[str]",
        "legato.client.WorkflowHandle[Any]",
        "str",
        "float",
        "legato.client.WorkflowHandle[int]",
        "legato.client.WorkflowHandle[int]",
    ], stdout
    error_lines = sorted({line.split(":")[1] for line in stdout.splitlines() if ": error:" in line})
    assert error_lines == ["20", "21"], stdout  # the wrong argument type, the missing id
