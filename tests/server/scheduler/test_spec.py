"""The schedule spec on its own: next fire times, jitter, exclusions, time zones, refused specs."""

from __future__ import annotations

import datetime as dt

import pytest
from google.protobuf import duration_pb2, timestamp_pb2

from legato.api.v1 import schedule_pb2 as s
from legato_server.scheduler.calendar import SpecError
from legato_server.scheduler.spec import check_fires, compile_spec


def ms(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).timestamp() * 1000)


def iso(value: int, zone: str = "UTC") -> str:
    from zoneinfo import ZoneInfo

    return dt.datetime.fromtimestamp(value / 1000, tz=ZoneInfo(zone)).isoformat()


def nexts(spec: s.ScheduleSpec, after: str, count: int = 3) -> list[str]:
    compiled = compile_spec(spec)
    out, cursor = [], ms(after)
    for _ in range(count):
        found = compiled.next_after(cursor)
        if found is None:
            break
        out.append(iso(found, spec.timezone_name or "UTC"))
        cursor = found
    return out


def seconds(n: int) -> duration_pb2.Duration:
    return duration_pb2.Duration(seconds=n)


@pytest.mark.parametrize(
    ("spec", "after", "expected"),
    [
        pytest.param(
            s.ScheduleSpec(interval=[s.IntervalSpec(interval=seconds(3600), phase=seconds(900))]),
            "2026-01-01T10:20:00+00:00",
            ["2026-01-01T11:15:00+00:00", "2026-01-01T12:15:00+00:00", "2026-01-01T13:15:00+00:00"],
            id="interval-with-phase",
        ),
        pytest.param(
            s.ScheduleSpec(calendar=[s.CalendarSpec(hour="9-17/4", day_of_week="MON-FRI")]),
            "2026-01-02T14:00:00+00:00",  # a Friday
            ["2026-01-02T17:00:00+00:00", "2026-01-05T09:00:00+00:00", "2026-01-05T13:00:00+00:00"],
            id="calendar-range-step-weekdays",
        ),
        pytest.param(
            s.ScheduleSpec(calendar=[s.CalendarSpec(day_of_month="31")]),
            "2026-01-31T00:00:00+00:00",
            ["2026-03-31T00:00:00+00:00", "2026-05-31T00:00:00+00:00", "2026-07-31T00:00:00+00:00"],
            id="day-31-skips-short-months",
        ),
        pytest.param(
            s.ScheduleSpec(calendar=[s.CalendarSpec(month="FEB", day_of_month="29")]),
            "2026-01-01T00:00:00+00:00",
            ["2028-02-29T00:00:00+00:00", "2032-02-29T00:00:00+00:00", "2036-02-29T00:00:00+00:00"],
            id="leap-day",
        ),
        pytest.param(
            s.ScheduleSpec(calendar=[s.CalendarSpec(second="*/20", minute="0", hour="*", year="2026")]),
            "2026-12-31T23:00:30+00:00",
            ["2026-12-31T23:00:40+00:00"],
            id="year-field-ends-the-schedule",
        ),
        pytest.param(
            s.ScheduleSpec(cron_string=["30 2 * * *"], timezone_name="Europe/Berlin"),
            "2026-03-28T12:00:00+01:00",
            ["2026-03-30T02:30:00+02:00", "2026-03-31T02:30:00+02:00", "2026-04-01T02:30:00+02:00"],
            id="spring-forward-skips-the-missing-time",
        ),
        pytest.param(
            s.ScheduleSpec(cron_string=["30 2 * * *"], timezone_name="Europe/Berlin"),
            "2026-10-24T12:00:00+02:00",
            ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00", "2026-10-27T02:30:00+01:00"],
            id="fall-back-fires-once",
        ),
        pytest.param(
            s.ScheduleSpec(cron_string=["0 12 13 * FRI"]),
            "2026-02-01T00:00:00+00:00",
            ["2026-02-06T12:00:00+00:00", "2026-02-13T12:00:00+00:00", "2026-02-20T12:00:00+00:00"],
            id="cron-day-fields-either-matches",
        ),
        pytest.param(
            s.ScheduleSpec(cron_string=["15 10 * * * * 2027"]),
            "2026-06-01T00:00:00+00:00",
            ["2027-01-01T00:10:15+00:00", "2027-01-01T01:10:15+00:00"],
            id="cron-seven-fields",
        ),
        pytest.param(
            s.ScheduleSpec(cron_string=["CRON_TZ=America/New_York @daily"], timezone_name="UTC"),
            "2026-06-01T00:00:00+00:00",
            ["2026-06-01T04:00:00+00:00", "2026-06-02T04:00:00+00:00"],
            id="cron-tz-prefix",
        ),
        pytest.param(
            s.ScheduleSpec(cron_string=["@every 90m"]),
            "2026-01-01T00:00:00+00:00",
            ["2026-01-01T01:30:00+00:00", "2026-01-01T03:00:00+00:00"],
            id="every",
        ),
        pytest.param(
            s.ScheduleSpec(
                calendar=[s.CalendarSpec(hour="*")],
                exclude_calendar=[s.CalendarSpec(hour="12-13", minute="0")],
            ),
            "2026-01-01T10:30:00+00:00",
            ["2026-01-01T11:00:00+00:00", "2026-01-01T14:00:00+00:00", "2026-01-01T15:00:00+00:00"],
            id="exclude-calendar",
        ),
        pytest.param(
            s.ScheduleSpec(
                calendar=[s.CalendarSpec(hour="12")],
                exclude_calendar=[
                    s.CalendarSpec(second="*", minute="*", hour="*", month="12", day_of_month="25-26")
                ],
            ),
            "2026-12-24T13:00:00+00:00",
            ["2026-12-27T12:00:00+00:00"],
            id="exclude-whole-days",
        ),
        pytest.param(
            s.ScheduleSpec(
                interval=[s.IntervalSpec(interval=seconds(60))],
                start_time=timestamp_pb2.Timestamp(seconds=ms("2026-01-01T00:10:30+00:00") // 1000),
                end_time=timestamp_pb2.Timestamp(seconds=ms("2026-01-01T00:12:00+00:00") // 1000),
            ),
            "2026-01-01T00:00:00+00:00",
            ["2026-01-01T00:11:00+00:00", "2026-01-01T00:12:00+00:00"],
            id="start-and-end-time",
        ),
        pytest.param(
            s.ScheduleSpec(
                interval=[s.IntervalSpec(interval=seconds(3600))],
                calendar=[s.CalendarSpec(minute="30", hour="*")],
            ),
            "2026-01-01T00:00:00+00:00",
            ["2026-01-01T00:30:00+00:00", "2026-01-01T01:00:00+00:00", "2026-01-01T01:30:00+00:00"],
            id="union-of-interval-and-calendar",
        ),
    ],
)
def test_next_times(spec: s.ScheduleSpec, after: str, expected: list[str]) -> None:
    found = nexts(spec, after, count=len(expected) + 1)
    assert found[: len(expected)] == expected
    if spec.HasField("end_time") or any(c.year for c in spec.calendar):
        assert found == expected  # and nothing after the end


def test_jitter_is_deterministic_and_below_the_bound() -> None:
    spec = s.ScheduleSpec(interval=[s.IntervalSpec(interval=seconds(60))], jitter=seconds(30))
    first, again = compile_spec(spec, seed="sched-a"), compile_spec(spec, seed="sched-a")
    delays = [first.jitter_ms(t * 60_000) for t in range(200)]
    assert delays == [again.jitter_ms(t * 60_000) for t in range(200)]
    assert all(0 <= d < 30_000 for d in delays)
    assert len(set(delays)) > 100  # spread, not constant
    assert delays != [compile_spec(spec, seed="sched-b").jitter_ms(t * 60_000) for t in range(200)]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param(s.ScheduleSpec(), "at least one calendar, interval or cron_string", id="empty"),
        pytest.param(
            s.ScheduleSpec(calendar=[s.CalendarSpec(month="2", day_of_month="30-31")]),
            "spec.calendar[0]: day_of_month [30, 31] never occurs in month [2]",
            id="feb-30",
        ),
        pytest.param(
            s.ScheduleSpec(calendar=[s.CalendarSpec(hour="24")]),
            "spec.calendar[0] hour: '24' is outside 0-23",
            id="hour-24",
        ),
        pytest.param(
            s.ScheduleSpec(calendar=[s.CalendarSpec(day_of_week="FUNDAY")]),
            "day_of_week: 'FUNDAY' is not a number; allowed: 0-7 or names (SUN, MON, TUE, ...)",
            id="bad-day-name",
        ),
        pytest.param(
            s.ScheduleSpec(calendar=[s.CalendarSpec(minute="50-10")]),
            "range '50-10' runs backwards",
            id="backwards-range",
        ),
        pytest.param(
            s.ScheduleSpec(calendar=[s.CalendarSpec(second="*/0")]),
            "step in '*/0' must be positive",
            id="zero-step",
        ),
        pytest.param(
            s.ScheduleSpec(calendar=[s.CalendarSpec(year="1969")]),
            "year: '1969' is outside 1970-2999",
            id="old-year",
        ),
        pytest.param(s.ScheduleSpec(cron_string=["* * *"]), "has 3 fields; use 5 fields", id="cron-fields"),
        pytest.param(
            s.ScheduleSpec(cron_string=["@daily"], timezone_name="Mars/Olympus"),
            "unknown time zone 'Mars/Olympus'; use an IANA name",
            id="time-zone",
        ),
        pytest.param(
            s.ScheduleSpec(interval=[s.IntervalSpec(interval=duration_pb2.Duration(nanos=500_000_000))]),
            "interval must be a whole number of seconds, at least 1s",
            id="sub-second-interval",
        ),
        pytest.param(
            s.ScheduleSpec(interval=[s.IntervalSpec(interval=seconds(60), phase=seconds(60))]),
            "phase must be whole seconds, at least 0 and below the interval",
            id="phase-too-big",
        ),
        pytest.param(
            s.ScheduleSpec(
                cron_string=["@hourly"],
                start_time=timestamp_pb2.Timestamp(seconds=2000),
                end_time=timestamp_pb2.Timestamp(seconds=1000),
            ),
            "end_time is before spec.start_time",
            id="end-before-start",
        ),
    ],
)
def test_bad_specs_are_refused_with_what_is_allowed(spec: s.ScheduleSpec, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        compile_spec(spec)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param(s.ScheduleSpec(calendar=[s.CalendarSpec(year="2020")]), id="only-past-years"),
        pytest.param(
            s.ScheduleSpec(cron_string=["@hourly"], end_time=timestamp_pb2.Timestamp(seconds=1000)),
            id="ended",
        ),
        pytest.param(
            s.ScheduleSpec(
                cron_string=["0 */5 * * * * 2026-2027"],
                exclude_calendar=[s.CalendarSpec(second="*", minute="*", hour="*", year="2026-2027")],
            ),
            id="everything-excluded",
        ),
    ],
)
def test_a_spec_that_never_fires_is_refused(spec: s.ScheduleSpec) -> None:
    compiled = compile_spec(spec)
    with pytest.raises(SpecError, match="never fires after 2026-01-01T00:00:00Z"):
        check_fires(compiled, now_ms=ms("2026-01-01T00:00:00+00:00"))


def test_times_between_is_inclusive_of_the_end_and_bounded() -> None:
    compiled = compile_spec(s.ScheduleSpec(interval=[s.IntervalSpec(interval=seconds(60))]))
    start = ms("2026-01-01T00:00:00+00:00")
    assert compiled.times_between(start - 1, start + 180_000, limit=10) == [
        start,
        start + 60_000,
        start + 120_000,
        start + 180_000,
    ]
    assert len(compiled.times_between(start, start + 10**9, limit=5)) == 5
