"""Command-line input errors: argparse-style messages and exit code 2, before any RPC.

These run ``main`` in-process against an address where nothing listens, so a
test that wrongly reached the network would fail with exit code 1, not pass.
"""

from __future__ import annotations

import socket

import pytest

from legato.cli.arguments import resolve_namespace
from legato.cli.main import build_parser, main


@pytest.fixture
def dead_address() -> str:
    """A local port with no listener (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"127.0.0.1:{port}"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "required: COMMAND"),
        (["workflow"], "required: COMMAND"),
        (["bogus"], "invalid choice: 'bogus'"),
        (["workflow", "start", "--task-queue", "q"], "the following arguments are required: --type"),
        (
            ["workflow", "start", "--type", "T", "--task-queue", "q", "--input", "hello"],
            "argument --input: invalid JSON 'hello'",
        ),
        (
            ["workflow", "start", "--type", "T", "--task-queue", "q", "--input", '{"a": }'],
            "argument --input: invalid JSON",
        ),
        (
            ["workflow", "start", "--type", "T", "--task-queue", "q", "--memo", "owner"],
            "argument --memo: expected key=JSON",
        ),
        (
            ["workflow", "start", "--type", "T", "--task-queue", "q", "--memo", "owner=ana"],
            "argument --memo: invalid JSON 'ana'",
        ),
        (
            ["workflow", "start", "--type", "T", "--task-queue", "q", "--run-timeout", "5x"],
            "argument --run-timeout: invalid duration '5x'",
        ),
        (
            ["workflow", "start", "--type", "T", "--task-queue", "q", "--execution-timeout", "10"],
            "argument --execution-timeout: duration '10' has no unit",
        ),
        (
            ["workflow", "start", "--type", "T", "--task-queue", "q", "--id-reuse-policy", "sometimes"],
            "argument --id-reuse-policy: invalid choice",
        ),
        (["workflow", "list", "--status", "sleeping"], "argument --status: invalid choice: 'sleeping'"),
        (["workflow", "list", "--limit", "-1"], "argument --limit: expected 0 or more"),
        (["workflow", "list", "--output", "yaml"], "argument -o/--output: invalid choice"),
        (["workflow", "terminate", "--id", "w"], "required: --reason"),
        (["workflow", "signal", "--id", "w"], "required: --name"),
        (["workflow", "query", "--type", "status"], "required: --id"),
        (["workflow", "result", "--id", "w", "--timeout", "soon"], "argument --timeout: invalid duration"),
        (["namespace", "create"], "required: NAME"),
        (["namespace", "create", "ns", "--retention", "3 days"], "argument --retention: invalid duration"),
        (["namespace", "update", "ns", "--data", "novalue"], "argument --data: expected key=value"),
    ],
    ids=[
        "no-command",
        "no-workflow-command",
        "unknown-command",
        "missing-type",
        "unquoted-json-string",
        "broken-json",
        "memo-without-equals",
        "memo-unquoted",
        "bad-duration",
        "duration-without-unit",
        "bad-reuse-policy",
        "bad-status",
        "negative-limit",
        "bad-output",
        "terminate-without-reason",
        "signal-without-name",
        "query-without-id",
        "bad-result-timeout",
        "namespace-without-name",
        "bad-retention",
        "bad-data",
    ],
)
def test_bad_input_exits_2_with_a_message_naming_the_problem(
    argv: list[str], message: str, dead_address: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--address", dead_address, *argv]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.startswith("usage: legato")


def test_unquoted_json_string_gets_a_hint(capsys: pytest.CaptureFixture[str]) -> None:
    main(["workflow", "signal", "--id", "w", "--name", "go", "--input", "hello"])
    assert """a JSON string needs quotes, e.g. '"hello"'""" in capsys.readouterr().err


def test_namespace_update_with_nothing_to_change_is_a_usage_error(
    dead_address: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["namespace", "update", "ns", "--address", dead_address]) == 2
    err = capsys.readouterr().err
    assert "legato namespace update: error: nothing to update" in err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["workflow", "start", "--help"]) == 0
    assert "--id-reuse-policy" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [["namespace", "list"], ["workflow", "list"], ["workflow", "describe", "--id", "w"]],
    ids=["namespace-list", "workflow-list", "workflow-describe"],
)
def test_unreachable_server_is_one_clear_line_and_exit_1(
    argv: list[str], dead_address: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--address", dead_address, *argv]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"legato: error: cannot reach the Legato frontend at {dead_address} "
        "(is `legato-server start-dev` running?)\n"
    )


def test_address_and_namespace_come_from_the_environment(
    dead_address: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LEGATO_ADDRESS", dead_address)
    assert main(["workflow", "count"]) == 1
    assert dead_address in capsys.readouterr().err


def test_options_after_the_subcommand_override_the_environment(
    dead_address: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LEGATO_ADDRESS", "127.0.0.1:1")
    assert main(["workflow", "count", "--address", dead_address]) == 1
    assert dead_address in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "env", "namespace"),
    [
        (["workflow", "count"], {}, "default"),
        (["workflow", "count"], {"LEGATO_NAMESPACE": "from-env"}, "from-env"),
        (["-n", "before", "workflow", "count"], {"LEGATO_NAMESPACE": "from-env"}, "before"),
        (["workflow", "count", "--namespace", "after"], {}, "after"),
        (["-n", "before", "workflow", "count", "-n", "after"], {}, "after"),
    ],
    ids=["default", "env", "before-subcommand", "after-subcommand", "after-wins"],
)
def test_namespace_is_resolved_from_flags_then_env_then_default(
    argv: list[str], env: dict[str, str], namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEGATO_NAMESPACE", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert resolve_namespace(build_parser().parse_args(argv)) == namespace
