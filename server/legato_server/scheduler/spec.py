"""When a schedule's actions are due: the compiled ``ScheduleSpec`` (pure; no I/O, no clock).

A spec is the union of its calendars, intervals and cron strings, minus the
times matching an exclude calendar, within [start_time, end_time]. Times are
whole seconds. ``next_after(t)`` is the first nominal time strictly after
``t``; ``jitter_ms(nominal)`` delays it by a deterministic amount below the
spec's jitter, derived from the schedule id and the nominal time, so the
same action always gets the same delay (describe's "next action times" and
the time the action is really taken agree, also after a restart).

``compile_spec`` refuses what cannot work, with messages that say what is
allowed: unknown time zones, fields out of range, impossible calendars (Feb
30), intervals under a second, a phase not below its interval, an end before
the start, and a spec that never fires after now (``check_fires``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from legato.api.v1 import schedule_pb2
from legato_server.common.limits import MAX_DURATION, MAX_DURATION_TEXT, quote
from legato_server.scheduler.calendar import Calendar, SpecError
from legato_server.scheduler.cron import parse_cron_string

# Exclusions are skipped one candidate at a time; a spec excluding more than
# this many consecutive candidates is treated as firing no more.
MAX_EXCLUDED_IN_A_ROW = 100_000
_SECONDS_PER_DAY = 86_400


def _ms(duration: object) -> int:
    seconds = int(getattr(duration, "seconds", 0))
    nanos = int(getattr(duration, "nanos", 0))
    return seconds * 1000 + nanos // 1_000_000


def _zone(name: str, *, where: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise SpecError(
            f"{where}: unknown time zone {quote(name)}; use an IANA name such as 'UTC', 'Europe/Berlin' "
            "or 'America/New_York'"
        ) from None


@dataclass(frozen=True)
class Interval:
    every_ms: int
    phase_ms: int

    def next_after(self, after_ms: int) -> int:
        return ((after_ms - self.phase_ms) // self.every_ms + 1) * self.every_ms + self.phase_ms


@dataclass(frozen=True)
class CompiledSpec:
    calendars: tuple[tuple[Calendar, ZoneInfo], ...]
    intervals: tuple[Interval, ...]
    excludes: tuple[Calendar, ...]
    zone: ZoneInfo
    start_ms: int | None
    end_ms: int | None
    jitter_ms_max: int
    seed: str

    def next_after(self, after_ms: int) -> int | None:
        """The first nominal time strictly after ``after_ms``, or None if there is none."""
        if self.start_ms is not None and after_ms < self.start_ms:
            after_ms = self.start_ms - 1
        for _ in range(MAX_EXCLUDED_IN_A_ROW):
            candidates = [interval.next_after(after_ms) for interval in self.intervals]
            for calendar, zone in self.calendars:
                found = calendar.next_after(after_ms, zone)
                if found is not None:
                    candidates.append(found)
            if not candidates:
                return None
            nominal = min(candidates)
            if self.end_ms is not None and nominal > self.end_ms:
                return None
            excluded_by = [exclude for exclude in self.excludes if exclude.matches(nominal, self.zone)]
            if not excluded_by:
                return nominal
            after_ms = nominal
            if any(len(exclude.time_set) == _SECONDS_PER_DAY for exclude in excluded_by):
                # A whole excluded day (a holiday): jump to its end instead of stepping through it.
                day = datetime.fromtimestamp(nominal / 1000, tz=self.zone).date() + timedelta(days=1)
                after_ms = int(datetime.combine(day, time(0), tzinfo=self.zone).timestamp() * 1000) - 1
        return None

    def jitter_ms(self, nominal_ms: int) -> int:
        if self.jitter_ms_max <= 0:
            return 0
        digest = hashlib.sha256(f"{self.seed}:{nominal_ms}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % self.jitter_ms_max

    def times_between(self, after_ms: int, until_ms: int, *, limit: int) -> list[int]:
        """Nominal times in (after_ms, until_ms], at most ``limit``."""
        times: list[int] = []
        cursor = after_ms
        while len(times) < limit:
            nominal = self.next_after(cursor)
            if nominal is None or nominal > until_ms:
                break
            times.append(nominal)
            cursor = nominal
        return times

    def future_action_times(self, after_ms: int, *, count: int) -> list[int]:
        """The next ``count`` actual times (nominal + jitter) after ``after_ms``."""
        result: list[int] = []
        cursor = after_ms
        while len(result) < count:
            nominal = self.next_after(cursor)
            if nominal is None:
                break
            result.append(nominal + self.jitter_ms(nominal))
            cursor = nominal
        return result


def _calendar(proto: schedule_pb2.CalendarSpec, *, where: str) -> Calendar:
    return Calendar.parse(
        where=where,
        second=proto.second,
        minute=proto.minute,
        hour=proto.hour,
        day_of_month=proto.day_of_month,
        month=proto.month,
        year=proto.year,
        day_of_week=proto.day_of_week,
    )


def compile_spec(spec: schedule_pb2.ScheduleSpec, *, seed: str = "") -> CompiledSpec:
    """Compile ``spec``; SpecError naming the part that is wrong and what is allowed."""
    zone = _zone(spec.timezone_name, where="spec.timezone_name")
    calendars: list[tuple[Calendar, ZoneInfo]] = [
        (_calendar(c, where=f"spec.calendar[{i}]"), zone) for i, c in enumerate(spec.calendar)
    ]
    intervals: list[Interval] = []
    for i, interval in enumerate(spec.interval):
        where = f"spec.interval[{i}]"
        every, phase = _ms(interval.interval), _ms(interval.phase)
        if every < 1000 or every % 1000:
            raise SpecError(f"{where}.interval must be a whole number of seconds, at least 1s")
        if every > MAX_DURATION.total_seconds() * 1000:
            raise SpecError(f"{where}.interval is longer than {MAX_DURATION_TEXT}")
        if not 0 <= phase < every or phase % 1000:
            raise SpecError(f"{where}.phase must be whole seconds, at least 0 and below the interval")
        intervals.append(Interval(every_ms=every, phase_ms=phase))
    for i, text in enumerate(spec.cron_string):
        where = f"spec.cron_string[{i}]"
        parts = parse_cron_string(text, where=where)
        if parts.every_s:
            intervals.append(Interval(every_ms=parts.every_s * 1000, phase_ms=0))
        cron_zone = _zone(parts.zone_name, where=where) if parts.zone_name else zone
        calendars.extend((c, cron_zone) for c in parts.calendars)
    if not calendars and not intervals:
        raise SpecError("spec needs at least one calendar, interval or cron_string")
    excludes = tuple(
        _calendar(c, where=f"spec.exclude_calendar[{i}]") for i, c in enumerate(spec.exclude_calendar)
    )
    start_ms = _ms(spec.start_time) if spec.HasField("start_time") else None
    end_ms = _ms(spec.end_time) if spec.HasField("end_time") else None
    if start_ms is not None and end_ms is not None and end_ms < start_ms:
        raise SpecError("spec.end_time is before spec.start_time; the schedule would never fire")
    jitter = _ms(spec.jitter)
    if jitter < 0 or jitter > MAX_DURATION.total_seconds() * 1000:
        raise SpecError(f"spec.jitter must be between 0 and {MAX_DURATION_TEXT}")
    return CompiledSpec(
        calendars=tuple(calendars),
        intervals=tuple(intervals),
        excludes=excludes,
        zone=zone,
        start_ms=start_ms,
        end_ms=end_ms,
        jitter_ms_max=jitter,
        seed=seed,
    )


def check_fires(compiled: CompiledSpec, *, now_ms: int) -> None:
    """SpecError unless the spec has a time after ``now_ms`` (a schedule that could never act)."""
    if compiled.next_after(now_ms) is None:
        when = datetime.fromtimestamp(now_ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        raise SpecError(
            f"the spec never fires after {when}: check end_time, the year fields and exclude_calendar "
            "(a spec must have at least one time in the future)"
        )
