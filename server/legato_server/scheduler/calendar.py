"""Calendar specs: which wall-clock times in a time zone match second..year fields.

A field is a comma list of ``*``, values, ranges ``a-b`` and steps (``*/n``,
``a-b/n``, ``a/n`` = from ``a`` to the top of the range). Months and days of
week take names. A calendar matches a time when every field matches, day of
month AND day of week alike (a cron string restricting both is turned into two
calendars, to keep cron's "either" meaning; see ``cron``).

Wall-clock times are turned into instants with ``zoneinfo``. Around daylight
saving changes: a wall-clock time that does not exist that day (skipped by a
spring-forward) does not fire; one that exists twice (fall-back) fires once,
at its first occurrence.

``Calendar.next_after`` walks days, jumping over years and months that cannot
match, so a calendar that fires once a year (or on Feb 29 of a Monday) costs
a few thousand day checks at most, and the walk ends at ``MAX_YEAR`` or, for
open-ended years, ``OPEN_YEARS_HORIZON`` years ahead.
"""

from __future__ import annotations

import bisect
import calendar as _calendar
import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from legato_server.common.limits import quote

MIN_YEAR = 1970
MAX_YEAR = 2999
OPEN_YEARS_HORIZON = 100

MONTH_NAMES = {name.upper(): i for i, name in enumerate(_calendar.month_abbr) if name}
DAY_NAMES = {"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}
_MAX_DAYS = {1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}


class SpecError(ValueError):
    """A schedule spec that cannot be used; the message says what is allowed."""


@dataclass(frozen=True)
class FieldRule:
    name: str
    low: int
    high: int
    default: str
    names: dict[str, int] | None = None


SECOND = FieldRule("second", 0, 59, "0")
MINUTE = FieldRule("minute", 0, 59, "0")
HOUR = FieldRule("hour", 0, 23, "0")
DAY_OF_MONTH = FieldRule("day_of_month", 1, 31, "*")
MONTH = FieldRule("month", 1, 12, "*", MONTH_NAMES)
YEAR = FieldRule("year", MIN_YEAR, MAX_YEAR, "*")
DAY_OF_WEEK = FieldRule("day_of_week", 0, 7, "*", DAY_NAMES)


def parse_field(text: str, rule: FieldRule, *, where: str) -> frozenset[int]:
    """The values ``text`` selects; SpecError naming the field and its allowed range."""
    text = text.strip() or rule.default
    allowed = f"{rule.low}-{rule.high}"
    if rule.names:
        allowed += f" or names ({', '.join(list(rule.names)[:3])}, ...)"
    values: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        body, step = part, 1
        if "/" in part:
            body, step_text = part.split("/", 1)
            step = _number(step_text, rule, where=where, allowed="a positive step", names=False)
            if step <= 0:
                raise SpecError(f"{where} {rule.name}: step in {quote(part)} must be positive")
        if body == "*":
            first, last = rule.low, rule.high
        elif "-" in body:
            a, b = body.split("-", 1)
            first, last = (
                _number(a, rule, where=where, allowed=allowed),
                _number(b, rule, where=where, allowed=allowed),
            )
        else:
            first = _number(body, rule, where=where, allowed=allowed)
            last = rule.high if "/" in part else first
        if not (rule.low <= first <= rule.high and rule.low <= last <= rule.high):
            raise SpecError(f"{where} {rule.name}: {quote(part)} is outside {allowed}")
        if first > last:
            raise SpecError(f"{where} {rule.name}: range {quote(part)} runs backwards; write it low-high")
        values.update(range(first, last + 1, step))
    if rule is DAY_OF_WEEK and 7 in values:
        values = (values - {7}) | {0}
    return frozenset(values)


def _number(text: str, rule: FieldRule, *, where: str, allowed: str, names: bool = True) -> int:
    text = text.strip()
    if names and rule.names and text.upper() in rule.names:
        return rule.names[text.upper()]
    if not (text.isascii() and text.isdigit()):
        raise SpecError(f"{where} {rule.name}: {quote(text)} is not a number; allowed: {allowed}")
    return int(text)


@dataclass(frozen=True)
class Calendar:
    """Compiled calendar fields; ``times`` is every (hour, minute, second) of a matching day, sorted."""

    years: frozenset[int]
    months: frozenset[int]
    days_of_month: frozenset[int]
    days_of_week: frozenset[int]
    times: tuple[tuple[int, int, int], ...]
    time_set: frozenset[tuple[int, int, int]]
    open_years: bool

    @classmethod
    def parse(
        cls,
        *,
        where: str,
        second: str = "",
        minute: str = "",
        hour: str = "",
        day_of_month: str = "",
        month: str = "",
        year: str = "",
        day_of_week: str = "",
    ) -> Calendar:
        seconds = parse_field(second, SECOND, where=where)
        minutes = parse_field(minute, MINUTE, where=where)
        hours = parse_field(hour, HOUR, where=where)
        months = parse_field(month, MONTH, where=where)
        doms = parse_field(day_of_month, DAY_OF_MONTH, where=where)
        times = tuple(sorted((h, m, s) for h in hours for m in minutes for s in seconds))
        result = cls(
            years=parse_field(year, YEAR, where=where),
            months=months,
            days_of_month=doms,
            days_of_week=parse_field(day_of_week, DAY_OF_WEEK, where=where),
            times=times,
            time_set=frozenset(times),
            open_years=(year.strip() or "*") == "*",
        )
        if not any(d <= _MAX_DAYS[m] for m in months for d in doms):
            raise SpecError(
                f"{where}: day_of_month {sorted(doms)} never occurs in month {sorted(months)} "
                "(April, June, September and November have 30 days, February at most 29)"
            )
        return result

    def day_matches(self, day: dt.date) -> bool:
        return (
            day.year in self.years
            and day.month in self.months
            and day.day in self.days_of_month
            and (day.isoweekday() % 7) in self.days_of_week
        )

    def matches(self, instant_ms: int, zone: ZoneInfo) -> bool:
        """Whether the wall-clock time of ``instant_ms`` in ``zone`` matches (whole seconds only)."""
        if instant_ms % 1000:
            return False
        local = dt.datetime.fromtimestamp(instant_ms / 1000, tz=zone)
        return self.day_matches(local.date()) and (local.hour, local.minute, local.second) in self.time_set

    def next_after(self, after_ms: int, zone: ZoneInfo) -> int | None:
        """The first matching instant strictly after ``after_ms`` (unix ms), or None within the horizon."""
        local = dt.datetime.fromtimestamp(after_ms / 1000, tz=zone)
        day = local.date()
        last_year = MAX_YEAR if not self.open_years else min(MAX_YEAR, day.year + OPEN_YEARS_HORIZON)
        last_year = min(last_year, max(self.years))
        # On the first day start at the current wall-clock time; an earlier wall-clock time is
        # earlier also in a repeated (fall-back) hour, since only first occurrences fire.
        start_index = bisect.bisect_left(self.times, (local.hour, local.minute, local.second))
        while day.year <= last_year:
            if day.year not in self.years:
                day, start_index = dt.date(day.year + 1, 1, 1), 0
                continue
            if day.month not in self.months:
                day = dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)
                start_index = 0
                continue
            if self.day_matches(day):
                for hour, minute, second in self.times[start_index:]:
                    wall = dt.datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=zone)
                    instant = wall.astimezone(dt.UTC)
                    if instant.astimezone(zone).replace(tzinfo=None) != wall.replace(tzinfo=None):
                        continue  # skipped by a daylight-saving change
                    instant_ms = int(instant.timestamp()) * 1000
                    if instant_ms > after_ms:
                        return instant_ms
            day += dt.timedelta(days=1)
            start_index = 0
        return None
