"""Argument parsing and sizing of the plan (no server, no SDK)."""

from __future__ import annotations

import pytest

from bench.cli import parse_args, plan_workloads
from bench.specs import WORKLOAD_NAMES


def sizes(argv: list[str]) -> dict[str, tuple[int, int, int]]:
    return {p.spec.name: (p.n, p.conc, p.warmup) for p in plan_workloads(parse_args(argv))}


def test_defaults_run_every_workload_at_the_documented_sizes() -> None:
    args = parse_args([])
    assert args.workload == list(WORKLOAD_NAMES)
    assert args.address is None and args.db_file is None and not args.in_memory
    assert {name: n_conc[:2] for name, n_conc in sizes([]).items()} == {
        "hello": (500, 50),
        "local": (500, 50),
        "chain": (100, 50),
        "signal": (500, 50),
        "timer": (500, 50),
        "fanout": (20, 20),
    }


def test_n_and_conc_override_every_selected_workload() -> None:
    assert sizes(["--workload", "hello", "fanout", "--n", "3", "--conc", "2", "--warmup", "0"]) == {
        "hello": (3, 2, 0),
        "fanout": (3, 2, 0),
    }


def test_conc_is_capped_by_n() -> None:
    assert sizes(["--workload", "chain", "--n", "4"])["chain"][:2] == (4, 4)


def test_conc_one_is_the_latency_floor() -> None:
    assert sizes(["--workload", "hello", "--conc", "1"])["hello"][:2] == (500, 1)


def test_workloads_keep_order_and_drop_repeats() -> None:
    assert parse_args(["--workload", "timer", "hello", "timer"]).workload == ["timer", "hello"]


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["--workload", "nope"], id="unknown-workload"),
        pytest.param(["--n", "0"], id="zero-n"),
        pytest.param(["--conc", "-1"], id="negative-conc"),
        pytest.param(["--warmup", "-1"], id="negative-warmup"),
        pytest.param(["--address", "localhost"], id="address-without-port"),
        pytest.param(["--address", "h:99999"], id="port-out-of-range"),
        pytest.param(["--db-file", "x.db", "--in-memory"], id="two-stores"),
        pytest.param(["--address", "h:1", "--in-memory"], id="store-with-address"),
        pytest.param(["--address", "h:1", "--server-arg=--x"], id="server-arg-with-address"),
        pytest.param(["--timeout", "0"], id="zero-timeout"),
        pytest.param(["--store", "postgres"], id="unknown-store"),
        pytest.param(["--cluster", "frontend=1,history=2,matching=1"], id="cluster-on-sqlite"),
        pytest.param(["--store", "mysql", "--cluster", "frontend=1,history=2"], id="cluster-missing-role"),
        pytest.param(["--store", "mysql", "--cluster", "frontend=1,history=0,matching=1"], id="cluster-zero"),
        pytest.param(["--store", "mysql", "--cluster", "gateway=1"], id="cluster-unknown-role"),
        pytest.param(["--store", "mysql", "--in-memory"], id="sqlite-option-on-mysql"),
        pytest.param(["--store", "cassandra", "--address", "h:1"], id="store-with-address"),
    ],
)
def test_bad_arguments_exit_with_usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_args(argv)
    assert exited.value.code == 2
    assert "error" in capsys.readouterr().err


def test_server_args_accumulate() -> None:
    args = parse_args(["--server-arg=--log-level=debug", "--server-arg", "x"])
    assert args.server_arg == ["--log-level=debug", "x"]


def test_address_and_store_options() -> None:
    assert parse_args(["--address", "127.0.0.1:7233"]).address == "127.0.0.1:7233"
    assert parse_args(["--in-memory"]).in_memory
    assert parse_args(["--db-file", "/tmp/x.db"]).db_file == "/tmp/x.db"


def test_store_and_cluster_options() -> None:
    args = parse_args(["--store", "cassandra", "--cluster", "frontend=1,history=2,matching=1"])
    assert args.store == ["cassandra"]
    assert args.cluster == {"frontend": 1, "history": 2, "matching": 1}
    assert parse_args(["--store", "mysql"]).cluster is None


def test_help_is_the_module_docstring(capsys: pytest.CaptureFixture[str]) -> None:
    import bench.__main__ as entry

    with pytest.raises(SystemExit) as exited:
        parse_args(["--help"], description=entry.__doc__)
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "timer_lateness" in out and "--address" in out and "--conc" in out
