"""Cron strings of schedules, turned into calendars.

Accepted: 5 fields (minute hour day-of-month month day-of-week), 6 (second
first) or 7 (year last); the aliases ``@yearly``/``@annually``,
``@monthly``, ``@weekly``, ``@daily``/``@midnight``, ``@hourly``; ``@every
<n>{s,m,h,d}`` (an interval since the epoch); and a ``CRON_TZ=<zone>`` prefix
(else the spec's time zone). As in classic cron, when both day of month and
day of week are restricted a day matches if either does: such a string
becomes two calendars, one per day field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from legato_server.common.limits import quote
from legato_server.scheduler.calendar import Calendar, SpecError

_ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_EVERY = re.compile(r"^@every\s+(\d+)([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_FORMS = (
    "5 fields 'minute hour day-of-month month day-of-week', 6 with seconds first, 7 with a year last, "
    "@hourly/@daily/@weekly/@monthly/@yearly, or '@every <n>s|m|h|d'"
)


@dataclass(frozen=True)
class CronParts:
    calendars: tuple[Calendar, ...] = ()
    every_s: int = 0
    zone_name: str = ""


def parse_cron_string(text: str, *, where: str) -> CronParts:
    spec = text.strip()
    zone_name = ""
    if spec.upper().startswith(("CRON_TZ=", "TZ=")):
        head, _, spec = spec.partition(" ")
        zone_name = head.split("=", 1)[1]
        spec = spec.strip()
    every = _EVERY.match(spec)
    if every:
        seconds = int(every.group(1)) * _UNIT_S[every.group(2)]
        if seconds <= 0:
            raise SpecError(f"{where}: @every needs a positive interval")
        return CronParts(every_s=seconds, zone_name=zone_name)
    spec = _ALIASES.get(spec.lower(), spec)
    fields = spec.split()
    if len(fields) == 5:
        second, (minute, hour, dom, month, dow), year = "0", fields, "*"
    elif len(fields) == 6:
        second, minute, hour, dom, month, dow = fields
        year = "*"
    elif len(fields) == 7:
        second, minute, hour, dom, month, dow, year = fields
    else:
        raise SpecError(f"{where}: {quote(text)} has {len(fields)} fields; use {_FORMS}")
    dom = "*" if dom == "?" else dom
    dow = "*" if dow == "?" else dow

    def calendar(day_of_month: str, day_of_week: str) -> Calendar:
        return Calendar.parse(
            where=where,
            second=second,
            minute=minute,
            hour=hour,
            day_of_month=day_of_month,
            month=month,
            year=year,
            day_of_week=day_of_week,
        )

    if dom != "*" and dow != "*":
        return CronParts(calendars=(calendar(dom, "*"), calendar("*", dow)), zone_name=zone_name)
    return CronParts(calendars=(calendar(dom, dow),), zone_name=zone_name)
