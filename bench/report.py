"""What the harness prints: one JSON line per workload on stdout, a table on stderr.

The JSON line is the contract (tools diff and plot it); its required keys are
``workload n conc wall_s wf_per_s p50_ms p99_ms server_cpu_s_per_wf
server_peak_rss_mb``. Server figures are ``null`` when the harness did not
start the server (``--address``): it cannot see that process. Latency keys are
always of ``latency_kind``: ``start_to_result``, or for the timer workload
``timer_lateness`` (completion - start - 1 s). Percentiles cover successful
workflows only; ``errors`` counts the rest (warm-up failures are in
``warmup_errors``).
"""

from __future__ import annotations

import json
import math
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.loadgen import LoadResult, summarize_errors
from bench.specs import LATENCY_TIMER_LATENESS, WorkloadSpec
from bench.stats import summarize_ms

REQUIRED_KEYS = (
    "workload",
    "n",
    "conc",
    "wall_s",
    "wf_per_s",
    "p50_ms",
    "p99_ms",
    "server_cpu_s_per_wf",
    "server_peak_rss_mb",
)

_MB = 1024 * 1024


@dataclass
class RunContext:
    """Facts about the whole run, repeated in every JSON line."""

    commit: str | None
    store: str
    address: str
    loop: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class WorkloadMeasurement:
    spec: WorkloadSpec
    load: LoadResult
    warmup: int = 0
    warmup_errors: list[str] = field(default_factory=list)
    server_cpu_s: float | None = None
    server_peak_rss_bytes: int | None = None
    server_hwm_rss_bytes: int | None = None
    client_cpu_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    """Workload-specific extras (worker counters), added to the record as they are."""


def _round(value: float | None, digits: int) -> float | None:
    if value is None or math.isnan(value):
        return None
    return round(value, digits)


def _per(total: float | None, count: int, digits: int = 6) -> float | None:
    return _round(total / count, digits) if total is not None and count > 0 else None


def _mb(value: int | None) -> float | None:
    return _round(value / _MB, 1) if value is not None else None


def build_record(measurement: WorkloadMeasurement, context: RunContext) -> dict[str, Any]:
    """The JSON object for one workload (keys in a stable, readable order)."""
    spec, load = measurement.spec, measurement.load
    latency = summarize_ms(load.latencies_s, offset_s=spec.latency_offset_s)
    wf_per_s = load.completed / load.wall_s if load.wall_s > 0 else None
    record: dict[str, Any] = {
        "workload": spec.name,
        "n": load.n,
        "conc": load.conc,
        "wall_s": _round(load.wall_s, 3),
        "wf_per_s": _round(wf_per_s, 2),
        "latency_kind": spec.latency_kind,
        "p50_ms": _round(latency.p50_ms, 1),
        "p90_ms": _round(latency.p90_ms, 1),
        "p99_ms": _round(latency.p99_ms, 1),
        "min_ms": _round(latency.min_ms, 1),
        "mean_ms": _round(latency.mean_ms, 1),
        "max_ms": _round(latency.max_ms, 1),
        "completed": load.completed,
        "errors": len(load.errors),
        "server_cpu_s_per_wf": _per(measurement.server_cpu_s, load.n),
        "server_cpu_s": _round(measurement.server_cpu_s, 3),
        "server_peak_rss_mb": _mb(measurement.server_peak_rss_bytes),
        "server_hwm_rss_mb": _mb(measurement.server_hwm_rss_bytes),
        "client_cpu_s_per_wf": _per(measurement.client_cpu_s, load.n),
        "warmup": measurement.warmup,
        "warmup_errors": len(measurement.warmup_errors),
    }
    if spec.activities_per_workflow and wf_per_s is not None:
        record["activities_per_s"] = _round(wf_per_s * spec.activities_per_workflow, 1)
    record.update(measurement.extra)
    if load.errors or measurement.warmup_errors:
        record["error_summary"] = summarize_errors(load.errors + measurement.warmup_errors)
    record.update(
        {
            "commit": context.commit,
            "store": context.store,
            "address": context.address,
            "loop": context.loop,
            **context.extra,
        }
    )
    return record


def json_line(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(", ", ": "), allow_nan=False)


def _cell(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def format_table(records: Sequence[dict[str, Any]]) -> str:
    """An aligned table for humans; timer rows are marked as lateness."""
    header = (
        "workload",
        "n",
        "conc",
        "wf/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "cpu ms/wf",
        "rss MB",
        "errors",
    )
    several_stores = len({record.get("store") for record in records}) > 1
    rows = []
    for record in records:
        timer = record.get("latency_kind") == LATENCY_TIMER_LATENESS
        name = f"{record.get('store')} {record['workload']}" if several_stores else record["workload"]
        cpu = record.get("server_cpu_s_per_wf")
        rows.append(
            (
                name + (" *" if timer else ""),
                _cell(record["n"]),
                _cell(record["conc"]),
                _cell(record["wf_per_s"]),
                _cell(record["p50_ms"]),
                _cell(record.get("p90_ms")),
                _cell(record["p99_ms"]),
                _cell(record.get("max_ms")),
                _cell(cpu * 1000 if cpu is not None else None, 2),
                _cell(record["server_peak_rss_mb"]),
                _cell(record.get("errors", 0)),
            )
        )
    widths = [max(len(str(line[i])) for line in (header, *rows)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        return "  ".join(
            [first, *(cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))]
        )

    lines = [line(header), line(["-" * width for width in widths]), *(line(row) for row in rows)]
    if any(record.get("latency_kind") == LATENCY_TIMER_LATENESS for record in records):
        lines.append("* timer: latency columns are the lateness of the timer (completion - start - 1 s)")
    return "\n".join(lines)


def git_commit(repo: Path | None = None) -> str | None:
    """``git rev-parse --short HEAD`` of the checkout (None outside git)."""
    repo = repo if repo is not None else Path(__file__).resolve().parent.parent
    try:
        answer = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return answer.stdout.strip() or None if answer.returncode == 0 else None


def git_dirty(repo: Path | None = None) -> bool | None:
    """Whether the checkout has uncommitted changes to tracked files (None outside git)."""
    repo = repo if repo is not None else Path(__file__).resolve().parent.parent
    try:
        answer = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return bool(answer.stdout.strip()) if answer.returncode == 0 else None
