"""An outage logs a few lines, not one per failure; unexpected errors keep their traceback."""

from __future__ import annotations

import logging

import pytest

from legato_server.common.logs import RepeatFilter, TransientLog


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_thousand_failures_of_one_cause_log_one_warning_a_summary_and_one_recovery(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeMonotonic()
    transient = TransientLog(logging.getLogger("test.transient"), repeat_after_s=60, monotonic=clock)
    caplog.set_level(logging.INFO, logger="test.transient")
    for _ in range(1000):
        transient.failed("shard 3 timer tasks", "the store is unreachable")
        clock.now += 0.07  # 70 s of failures
    transient.succeeded("shard 3 timer tasks")  # a first success: not yet a recovery
    transient.failed("shard 3 timer tasks", "the store is unreachable")  # the outage goes on, silently
    transient.succeeded("shard 3 timer tasks")
    clock.now += 2.5
    transient.succeeded("shard 3 timer tasks")  # success held: recovered
    transient.succeeded("shard 3 timer tasks")  # nothing more to say

    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in lines] == ["WARNING", "WARNING", "INFO"]
    assert "shard 3 timer tasks: the store is unreachable; retrying" == lines[0][1]
    assert "still failing after 60s" in lines[1][1]
    assert "recovered after 70.0s and 1001 failures" in lines[2][1]
    assert all(r.exc_info is None for r in caplog.records)


def test_causes_are_reported_separately(caplog: pytest.LogCaptureFixture) -> None:
    transient = TransientLog(logging.getLogger("test.transient2"))
    caplog.set_level(logging.INFO, logger="test.transient2")
    for cause in ("shard 1 timer tasks", "shard 2 timer tasks", "shard 1 timer tasks"):
        transient.failed(cause, "down")
    assert len(caplog.records) == 2
    assert transient.failing("shard 1 timer tasks")


def test_the_repeat_filter_drops_repeats_of_third_party_loggers_only() -> None:
    clock = FakeMonotonic()
    repeat_filter = RepeatFilter(("cassandra",), window_s=60, monotonic=clock)

    def record(name: str, msg: str, level: int = logging.WARNING) -> logging.LogRecord:
        try:
            raise ConnectionError("refused")
        except ConnectionError:
            import sys

            return logging.LogRecord(name, level, __file__, 1, msg, ("10.0.0.1",), sys.exc_info())

    passed = [repeat_filter.filter(record("cassandra.pool", "Error reconnecting to %s")) for _ in range(500)]
    assert passed.count(True) == 1
    clock.now += 61
    later = record("cassandra.pool", "Error reconnecting to %s")
    assert repeat_filter.filter(later)
    assert later.getMessage().endswith("(ConnectionError: refused) (499 similar messages suppressed)")
    assert later.exc_info is None  # no tracebacks from a driver

    ours = [repeat_filter.filter(record("legato_server.history", "boom", logging.ERROR)) for _ in range(3)]
    assert ours == [True, True, True]
