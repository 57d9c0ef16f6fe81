"""End to end: ``python -m bench`` starts a real dev server and runs every workload, tiny.

No timing assertions: this proves the harness, the SDK and the server fit
together and that the output contract holds, not how fast anything is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.report import REQUIRED_KEYS
from bench.specs import WORKLOAD_NAMES
from tests.infra import require_cassandra, require_mysql

REPO = Path(__file__).resolve().parents[2]


def test_every_workload_end_to_end() -> None:
    command = [sys.executable, "-m", "bench", "--workload", *WORKLOAD_NAMES, "--n", "3", "--conc", "2"]
    # Any live process stands in for a database here: the figure is measured, whatever it is.
    command += ["--db-pid", str(os.getpid())]
    completed = subprocess.run(
        [*command, "--timeout", "60"],  # a hang fails as workflow errors instead of stalling the suite
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert completed.returncode == 0, f"exit {completed.returncode}\nstderr:\n{completed.stderr[-4000:]}"
    records = [json.loads(line) for line in completed.stdout.splitlines() if line.strip()]
    assert [record["workload"] for record in records] == list(WORKLOAD_NAMES)
    for record in records:
        missing = set(REQUIRED_KEYS) - set(record)
        assert not missing, f"{record['workload']} lacks {missing}"
        assert record["errors"] == 0 and record["warmup_errors"] == 0, record.get("error_summary")
        assert record["n"] == 3 and record["conc"] == 2 and record["completed"] == 3
        assert record["server_cpu_s_per_wf"] is not None and record["server_peak_rss_mb"] is not None
        assert record["store"] == "sqlite-file"
        assert record["db_cpu_s_per_wf"] >= 0
    hello = next(record for record in records if record["workload"] == "hello")
    # Its one activity per workflow came back with the workflow task's completion (eager dispatch).
    assert hello["eager_activities"] == 3 and hello["workflow_tasks_per_wf"] == 2.0, hello
    timer = next(record for record in records if record["workload"] == "timer")
    assert timer["latency_kind"] == "timer_lateness"
    # How late the timers fired in the server, read from the histories: never early, and well under a minute.
    assert 0 <= timer["timer_fired_late_p50_ms"] <= timer["timer_fired_late_p99_ms"] < 60_000, timer
    assert "workload" in completed.stderr and "hello" in completed.stderr  # the table


def test_eager_start_hands_each_first_task_back_with_the_start() -> None:
    command = [
        sys.executable,
        "-m",
        "bench",
        "--workload",
        "hello",
        "--n",
        "3",
        "--conc",
        "2",
        "--eager-start",
    ]
    completed = subprocess.run(
        [*command, "--timeout", "60"], cwd=REPO, capture_output=True, text=True, timeout=200
    )
    assert completed.returncode == 0, f"exit {completed.returncode}\nstderr:\n{completed.stderr[-4000:]}"
    (hello,) = [json.loads(line) for line in completed.stdout.splitlines() if line.strip()]
    assert hello["errors"] == 0 and hello["completed"] == 3, hello.get("error_summary")
    assert hello["eager_start"] is True
    # The worker shares the harness's client and has free slots: every start was granted.
    assert hello["eager_starts"] == 3 and hello["workflow_tasks_per_wf"] == 2.0, hello


@pytest.mark.mysql
@pytest.mark.cassandra
def test_one_command_compares_the_three_stores() -> None:
    require_mysql()
    require_cassandra()
    command = [sys.executable, "-m", "bench", "--store", "sqlite", "mysql", "cassandra"]
    # Enough workflows that each database uses several of the kernel's 10 ms CPU ticks.
    command += ["--workload", "hello", "--n", "40", "--conc", "10", "--warmup", "1", "--timeout", "60"]
    completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=280)
    assert completed.returncode == 0, f"exit {completed.returncode}\nstderr:\n{completed.stderr[-4000:]}"
    records = [json.loads(line) for line in completed.stdout.splitlines() if line.strip()]
    assert [record["store"] for record in records] == ["sqlite-file", "mysql", "cassandra"]
    assert all(record["completed"] == 40 and record["errors"] == 0 for record in records), records
    # The local databases were found by their ports and measured without --db-pid.
    assert "db_cpu_s_per_wf" not in records[0]
    assert records[1]["db_cpu_s_per_wf"] > 0 and records[2]["db_cpu_s_per_wf"] > 0, records
