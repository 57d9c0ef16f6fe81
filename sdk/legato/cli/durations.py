"""Durations as people type them on a command line: ``10s``, ``5m``, ``72h``, ``1d``, ``1h30m``.

One grammar for every flag that takes a duration (timeouts, retention), so a
user learns it once: one or more ``<number><unit>`` parts, units ``d``, ``h``,
``m``, ``s`` and ``ms``, each unit at most once and largest first. Decimals are
allowed (``1.5h``); a bare number is not, because ``--retention 72`` could mean
hours or seconds and guessing wrong silently is worse than asking.

``format_duration`` writes the same grammar back, so anything the CLI prints
can be pasted into another command.
"""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS: dict[str, timedelta] = {
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
    "s": timedelta(seconds=1),
    "ms": timedelta(milliseconds=1),
}
_UNIT_ORDER = list(_UNITS)
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|d|h|m|s)")
_EXAMPLES = "e.g. 10s, 5m, 72h, 1d, 1h30m"


class DurationError(ValueError):
    """The text is not a duration; the message says what is wrong and shows examples."""


def parse_duration(text: str) -> timedelta:
    """Parse ``text`` into a non-negative ``timedelta``; raise ``DurationError`` otherwise."""
    compact = text.strip().lower()
    if not compact:
        raise DurationError(f"empty duration ({_EXAMPLES})")
    if re.fullmatch(r"\d+(\.\d+)?", compact):
        raise DurationError(f"duration {text!r} has no unit ({_EXAMPLES})")
    total = timedelta()
    position = 0
    last_unit_index = -1
    for match in _PART.finditer(compact):
        if match.start() != position:
            break
        unit_index = _UNIT_ORDER.index(match.group(2))
        if unit_index <= last_unit_index:
            raise DurationError(
                f"invalid duration {text!r}: each unit at most once, largest first ({_EXAMPLES})"
            )
        last_unit_index = unit_index
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if position != len(compact):
        raise DurationError(f"invalid duration {text!r} (units d, h, m, s, ms; {_EXAMPLES})")
    return total


def format_duration(value: timedelta) -> str:
    """``timedelta(hours=1, minutes=30)`` -> ``"1h30m"``; zero -> ``"0s"``."""
    remaining_ms = round(value.total_seconds() * 1000)
    if remaining_ms == 0:
        return "0s"
    sign = "-" if remaining_ms < 0 else ""
    remaining_ms = abs(remaining_ms)
    parts = []
    for unit in _UNIT_ORDER:
        unit_ms = round(_UNITS[unit].total_seconds() * 1000)
        count, remaining_ms = divmod(remaining_ms, unit_ms)
        if count:
            parts.append(f"{count}{unit}")
    return sign + "".join(parts)
