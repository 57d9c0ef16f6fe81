"""The JSON line and the human table."""

from __future__ import annotations

import dataclasses
import json

import pytest

from bench.loadgen import LoadResult
from bench.report import REQUIRED_KEYS, RunContext, WorkloadMeasurement, build_record, format_table, json_line
from bench.specs import LATENCY_TIMER_LATENESS, WORKLOADS

CONTEXT = RunContext(commit="abc1234", store="sqlite-file", address="127.0.0.1:1", loop="uvloop")


def measurement(
    name: str, latencies: list[float], errors: list[str] | None = None, **server: object
) -> WorkloadMeasurement:
    load = LoadResult(
        n=len(latencies) + len(errors or []), conc=2, latencies_s=latencies, errors=errors or [], wall_s=2.0
    )
    return WorkloadMeasurement(spec=WORKLOADS[name], load=load, warmup=1, **server)  # type: ignore[arg-type]


def test_record_has_every_required_key_and_round_trips_as_json() -> None:
    record = build_record(
        measurement("hello", [0.1, 0.2, 0.3, 0.4], server_cpu_s=0.8, server_peak_rss_bytes=150 * 1024 * 1024),
        CONTEXT,
    )
    parsed = json.loads(json_line(record))
    assert set(REQUIRED_KEYS) <= set(parsed)
    assert parsed["workload"] == "hello"
    assert parsed["n"] == 4 and parsed["conc"] == 2
    assert parsed["wall_s"] == 2.0
    assert parsed["wf_per_s"] == 2.0
    assert parsed["p50_ms"] == 250.0
    assert parsed["p99_ms"] == pytest.approx(397.0)
    assert parsed["max_ms"] == 400.0
    assert parsed["server_cpu_s_per_wf"] == 0.2
    assert parsed["server_peak_rss_mb"] == 150.0
    assert parsed["errors"] == 0
    assert parsed["latency_kind"] == "start_to_result"
    assert parsed["commit"] == "abc1234" and parsed["store"] == "sqlite-file"
    assert parsed["activities_per_s"] == 2.0
    assert "error_summary" not in parsed


def test_timer_record_reports_lateness() -> None:
    record = build_record(measurement("timer", [1.010, 1.030, 1.050]), CONTEXT)
    assert record["latency_kind"] == LATENCY_TIMER_LATENESS
    assert record["p50_ms"] == 30.0
    assert record["max_ms"] == 50.0


def test_external_server_figures_are_null() -> None:
    record = build_record(measurement("signal", [0.1]), CONTEXT)
    assert record["server_cpu_s_per_wf"] is None
    assert record["server_peak_rss_mb"] is None
    assert json.loads(json_line(record))["server_cpu_s_per_wf"] is None


def test_errors_are_counted_and_summarised_but_not_in_latency() -> None:
    errors = ["TimeoutError: no result within 5 s"] * 3 + ["RPCError: boom"]
    record = build_record(measurement("chain", [0.5], errors), CONTEXT)
    assert record["n"] == 5 and record["completed"] == 1 and record["errors"] == 4
    assert record["p50_ms"] == record["p99_ms"] == 500.0
    assert record["wf_per_s"] == 0.5  # completed workflows only
    assert record["error_summary"][0] == {"error": "TimeoutError: no result within 5 s", "count": 3}


def test_all_failed_gives_null_latencies_and_valid_json() -> None:
    record = build_record(measurement("hello", [], ["X: y"]), CONTEXT)
    parsed = json.loads(json_line(record))
    assert parsed["p50_ms"] is None and parsed["wf_per_s"] == 0.0


def test_table_aligns_columns_and_marks_the_timer() -> None:
    records = [
        build_record(
            measurement("hello", [0.1, 0.2], server_cpu_s=0.05, server_peak_rss_bytes=2**27), CONTEXT
        ),
        build_record(measurement("timer", [1.001, 1.002]), CONTEXT),
    ]
    table = format_table(records).splitlines()
    assert table[0].split()[:4] == ["workload", "n", "conc", "wf/s"]
    assert len({len(line) for line in table[:4]}) == 1  # header, rule and rows are the same width
    assert table[2].startswith("hello")
    assert "25.00" in table[2]  # 0.05 s / 2 wf = 25 ms per workflow
    assert "128.0" in table[2]
    assert table[3].startswith("timer *")
    assert "lateness" in table[-1]


def test_a_table_of_several_stores_names_the_store_on_each_row() -> None:
    records = [
        build_record(measurement("hello", [0.1]), dataclasses.replace(CONTEXT, store=store))
        for store in ("sqlite-file", "mysql")
    ]
    rows = format_table(records).splitlines()[2:4]
    assert [row.split()[:2] for row in rows] == [["sqlite-file", "hello"], ["mysql", "hello"]]
