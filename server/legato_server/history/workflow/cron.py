"""Cron schedules for cron workflows: standard 5-field cron, evaluated in UTC.

Fields: minute (0-59), hour (0-23), day of month (1-31), month (1-12 or
JAN-DEC), day of week (0-6 or SUN-SAT, 7 = Sunday). Each field takes ``*``,
numbers, ranges ``a-b``, steps ``*/n`` or ``a-b/n``, and comma lists. As in
classic cron, when both day of month and day of week are restricted a day
matches if either does. Also accepted: ``@yearly``, ``@monthly``, ``@weekly``,
``@daily``, ``@hourly`` and ``@every <n>{s,m,h}``.

A cron workflow's first run waits until the first schedule time after its
start, and each run, when it closes, starts the next one at the next schedule
time after its close.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from legato_server.common.limits import MAX_DURATION, MAX_DURATION_TEXT, quote

_MONTHS = {name.upper(): i for i, name in enumerate(calendar.month_abbr) if name}
_DAYS = {"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}
_ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_EVERY = re.compile(r"^@every\s+(\d+)(s|m|h)$")


class CronError(ValueError):
    pass


@dataclass(frozen=True)
class CronSchedule:
    minutes: frozenset[int] = frozenset()
    hours: frozenset[int] = frozenset()
    days_of_month: frozenset[int] = frozenset()
    months: frozenset[int] = frozenset()
    days_of_week: frozenset[int] = frozenset()
    dom_restricted: bool = False
    dow_restricted: bool = False
    every_ms: int = 0

    def next_after_ms(self, after_ms: int) -> int:
        """The first schedule time strictly after ``after_ms`` (unix ms, UTC)."""
        if self.every_ms:
            return (after_ms // self.every_ms + 1) * self.every_ms
        start = dt.datetime.fromtimestamp(after_ms / 1000, tz=dt.UTC).replace(second=0, microsecond=0)
        start += dt.timedelta(minutes=1)
        day = start.date()
        for _ in range(366 * 8):
            if day.month in self.months and self._day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        candidate = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC)
                        if candidate >= start:
                            return int(candidate.timestamp() * 1000)
            day += dt.timedelta(days=1)
        raise CronError("cron schedule never fires")

    def _day_matches(self, day: dt.date) -> bool:
        dom = day.day in self.days_of_month
        dow = (day.isoweekday() % 7) in self.days_of_week
        if self.dom_restricted and self.dow_restricted:
            return dom or dow
        return dom and dow


def parse_cron(spec: str) -> CronSchedule:
    """Parse ``spec``; CronError with a message naming the bad field."""
    text = spec.strip()
    every = _EVERY.match(text)
    if every:
        amount = int(every.group(1)) * {"s": 1, "m": 60, "h": 3600}[every.group(2)]
        if amount <= 0:
            raise CronError("@every needs a positive interval")
        if amount > MAX_DURATION.total_seconds():
            raise CronError(f"@every is {amount}s; the maximum is {MAX_DURATION_TEXT}")
        return CronSchedule(every_ms=amount * 1000)
    text = _ALIASES.get(text.lower(), text)
    fields = text.split()
    if len(fields) != 5:
        raise CronError(
            f"cron schedule {quote(spec)} must have 5 fields (minute hour day-of-month month day-of-week)"
        )
    minute, hour, dom, month, dow = fields
    days_of_week = _field(dow, "day of week", 0, 7, _DAYS)
    if 7 in days_of_week:
        days_of_week = (days_of_week - {7}) | {0}
    return CronSchedule(
        minutes=_field(minute, "minute", 0, 59),
        hours=_field(hour, "hour", 0, 23),
        days_of_month=_field(dom, "day of month", 1, 31),
        months=_field(month, "month", 1, 12, _MONTHS),
        days_of_week=days_of_week,
        dom_restricted=dom != "*",
        dow_restricted=dow != "*",
    )


def _field(text: str, name: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = _number(step_text, name, None)
            if step <= 0:
                raise CronError(f"cron {name}: step must be positive")
        if part == "*":
            first, last = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            first, last = _number(a, name, names), _number(b, name, names)
        else:
            first = _number(part, name, names)
            last = high if step > 1 else first
        if not (low <= first <= high and low <= last <= high) or first > last:
            raise CronError(f"cron {name}: {quote(part)} is outside {low}-{high}")
        values.update(range(first, last + 1, step))
    return frozenset(values)


def _number(text: str, name: str, names: dict[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    if not (text.isascii() and text.isdigit()):  # "²".isdigit() holds, but int("²") fails
        raise CronError(f"cron {name}: {quote(text)} is not a number")
    return int(text)
