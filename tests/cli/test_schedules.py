"""``legato schedule ...`` against a real dev server: every subcommand, and refused input.

Each schedule is created paused with a far-away calendar, so nothing starts on
its own; trigger and backfill then start workflows the test can see. Waiting
is on conditions with a deadline.
"""

from __future__ import annotations

import json
import time

from tests.cli.harness import Cli, fields, ok, unique


def _wait_for_actions(cli: Cli, schedule_id: str, count: int) -> dict[str, str]:
    deadline = time.monotonic() + 30
    while True:
        shown = fields(ok(cli.run("schedule", "describe", schedule_id)))
        if int(shown["Actions"]) >= count:
            return shown
        assert time.monotonic() < deadline, f"{schedule_id}: {count} actions expected, saw {shown}"
        time.sleep(0.1)  # polling the server for a condition, not waiting out a fixed time


def test_schedule_commands_end_to_end(cli: Cli) -> None:
    schedule_id = unique("sched")
    base = ("--workflow-type", "Report", "--task-queue", unique("tq"), "--input", '"eu"')
    out = ok(
        cli.run(
            "schedule", "create", schedule_id, *base,
            "--calendar", "hour=2,minute=30,day_of_week=MON-FRI",
            "--cron", "0 12 1 * *",
            "--interval", "1d/1h",
            "--time-zone", "Europe/Berlin",
            "--overlap", "buffer-one",
            "--paused", "--note", "created paused",
        )
    )  # fmt: skip
    assert f"Schedule {schedule_id} created." in out
    shown = fields(ok(cli.run("schedule", "describe", schedule_id)))
    assert (shown["Paused"], shown["Notes"], shown["Overlap"]) == ("yes", "created paused", "buffer-one")
    assert "calendar second=,minute=30" not in shown["Spec"] and "hour=2" in shown["Spec"]
    assert "in Europe/Berlin" in shown["Spec"]

    listed = ok(cli.run("schedule", "list"))
    assert schedule_id in listed and "paused" in listed

    ok(cli.run("schedule", "trigger", schedule_id, "--overlap", "allow-all"))
    shown = _wait_for_actions(cli, schedule_id, 1)
    assert f"{schedule_id}-20" in shown["Recent"] and "(manual)" in shown["Recent"]

    ok(cli.run(
        "schedule", "backfill", schedule_id,
        "--start-time", "2026-01-01T00:00:00Z", "--end-time", "2026-01-03T00:00:00Z",
        "--overlap", "allow-all",
    ))  # fmt: skip
    # 1d/1h -> 01:00Z on Jan 1 and 2; the calendar -> 01:30Z on Jan 1 and 2 (Thu, Fri); the cron -> 11:00Z Jan 1.
    shown = _wait_for_actions(cli, schedule_id, 6)
    described = json.loads(ok(cli.run("schedule", "describe", schedule_id, "-o", "json")))
    started = sorted(a["startWorkflowResult"]["workflowId"] for a in described["info"]["recentActions"][1:])
    assert started == [
        f"{schedule_id}-2026-01-01T01:00:00Z",
        f"{schedule_id}-2026-01-01T01:30:00Z",
        f"{schedule_id}-2026-01-01T11:00:00Z",
        f"{schedule_id}-2026-01-02T01:00:00Z",
        f"{schedule_id}-2026-01-02T01:30:00Z",
    ]

    ok(cli.run("schedule", "unpause", schedule_id, "--note", "back"))
    shown = fields(ok(cli.run("schedule", "describe", schedule_id)))
    assert (shown["Paused"], shown["Notes"]) == ("no", "back")
    assert shown["Next"] != "-"
    ok(cli.run("schedule", "pause", schedule_id, "--note", "again"))
    assert fields(ok(cli.run("schedule", "describe", schedule_id)))["Paused"] == "yes"

    ok(cli.run("schedule", "update", schedule_id, *base, "--interval", "1h", "--paused", "--note", "hourly"))
    shown = fields(ok(cli.run("schedule", "describe", schedule_id)))
    assert (shown["Spec"], shown["Notes"]) == ("every 1:00:00", "hourly")

    ok(cli.run("schedule", "delete", schedule_id))
    gone = cli.run("schedule", "describe", schedule_id)
    assert gone.returncode == 1 and "not found" in gone.stderr


def test_bad_schedules_are_refused_with_what_is_allowed(cli: Cli) -> None:
    base = ("--workflow-type", "Report", "--task-queue", "q")
    never = cli.run("schedule", "create", unique("s"), *base, "--calendar", "month=2,day_of_month=30")
    assert never.returncode == 1
    assert "day_of_month [30] never occurs in month [2]" in never.stderr
    hour = cli.run("schedule", "create", unique("s"), *base, "--cron", "0 25 * * *")
    assert hour.returncode == 1 and "hour: '25' is outside 0-23" in hour.stderr
    zone = cli.run("schedule", "create", unique("s"), *base, "--cron", "@daily", "--time-zone", "Mars/Base")
    assert zone.returncode == 1 and "unknown time zone 'Mars/Base'" in zone.stderr
    nothing = cli.run("schedule", "create", unique("s"), *base)
    assert nothing.returncode == 2 and "give at least one --interval, --cron or --calendar" in nothing.stderr
    field = cli.run("schedule", "create", unique("s"), *base, "--calendar", "hours=9")
    assert field.returncode == 2 and "fields are second, minute, hour" in field.stderr
