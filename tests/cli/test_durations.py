"""Duration parsing: the one grammar every duration flag of the CLI accepts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from legato.cli.durations import DurationError, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10s", timedelta(seconds=10)),
        ("5m", timedelta(minutes=5)),
        ("72h", timedelta(hours=72)),
        ("1d", timedelta(days=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d2h3m4s5ms", timedelta(days=1, hours=2, minutes=3, seconds=4, milliseconds=5)),
        ("250ms", timedelta(milliseconds=250)),
        ("1.5h", timedelta(hours=1, minutes=30)),
        ("0s", timedelta()),
        (" 10S ", timedelta(seconds=10)),
    ],
    ids=lambda value: str(value).strip() if isinstance(value, str) else None,
)
def test_valid_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("", "empty duration"),
        ("10", "has no unit"),
        ("1.5", "has no unit"),
        ("5x", "invalid duration '5x'"),
        ("h", "invalid duration"),
        ("-5s", "invalid duration"),
        ("1h 30m", "invalid duration"),
        ("30m1h", "largest first"),
        ("1h1h", "largest first"),
        ("10s!", "invalid duration"),
    ],
    ids=[
        "empty",
        "bare-int",
        "bare-float",
        "unknown-unit",
        "unit-only",
        "negative",
        "space",
        "wrong-order",
        "repeated-unit",
        "trailing-junk",
    ],
)
def test_invalid_durations_say_what_is_wrong(text: str, complaint: str) -> None:
    with pytest.raises(DurationError, match=complaint) as error:
        parse_duration(text)
    assert "e.g. 10s" in str(error.value)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(), "0s"),
        (timedelta(seconds=10), "10s"),
        (timedelta(hours=72), "3d"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(milliseconds=1500), "1s500ms"),
    ],
    ids=["zero", "seconds", "days", "mixed", "milliseconds"],
)
def test_format_writes_the_same_grammar(value: timedelta, text: str) -> None:
    assert format_duration(value) == text
    assert parse_duration(text) == value
