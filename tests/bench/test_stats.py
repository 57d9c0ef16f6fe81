"""Percentile math: linear interpolation between closest ranks (type 7)."""

from __future__ import annotations

import random
import statistics

import pytest

from bench.stats import percentile, summarize_ms


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        pytest.param(0, 1.0, id="p0-is-min"),
        pytest.param(50, 5.5, id="p50-between-middle-pair"),
        pytest.param(90, 9.1, id="p90"),
        pytest.param(99, 9.91, id="p99"),
        pytest.param(100, 10.0, id="p100-is-max"),
        pytest.param(25, 3.25, id="p25"),
    ],
)
def test_percentile_of_one_to_ten(p: float, expected: float) -> None:
    assert percentile(range(1, 11), p) == pytest.approx(expected)


def test_percentile_sorts_its_input() -> None:
    assert percentile([9, 1, 5, 3, 7], 50) == 5
    assert percentile([9, 1, 5, 3, 7], 0) == 1


def test_percentile_odd_count_median_is_the_middle_value() -> None:
    assert percentile([1, 2, 100], 50) == 2


def test_percentile_of_one_sample_is_that_sample() -> None:
    for p in (0, 1, 50, 99, 100):
        assert percentile([42.0], p) == 42.0


def test_percentile_of_nothing_is_none() -> None:
    assert percentile([], 50) is None


@pytest.mark.parametrize("p", [-1, 100.5, float("nan")], ids=["negative", "above-100", "nan"])
def test_percentile_rejects_out_of_range(p: float) -> None:
    with pytest.raises(ValueError, match="percentile"):
        percentile([1, 2, 3], p)


@pytest.mark.parametrize("size", [2, 3, 7, 100, 501], ids=lambda size: f"n{size}")
def test_percentile_agrees_with_statistics_inclusive_quantiles(size: int) -> None:
    rng = random.Random(size)
    values = [rng.expovariate(1.0) for _ in range(size)]
    cut_points = statistics.quantiles(values, n=100, method="inclusive")
    for p in range(1, 100):
        assert percentile(values, p) == pytest.approx(cut_points[p - 1])


def test_summary_in_milliseconds() -> None:
    summary = summarize_ms([0.001 * k for k in range(1, 11)])
    assert summary.count == 10
    assert summary.min_ms == pytest.approx(1.0)
    assert summary.max_ms == pytest.approx(10.0)
    assert summary.mean_ms == pytest.approx(5.5)
    assert summary.p50_ms == pytest.approx(5.5)
    assert summary.p90_ms == pytest.approx(9.1)
    assert summary.p99_ms == pytest.approx(9.91)


def test_summary_subtracts_the_offset_for_timer_lateness() -> None:
    summary = summarize_ms([1.010, 1.020, 1.500], offset_s=1.0)
    assert summary.min_ms == pytest.approx(10.0)
    assert summary.p50_ms == pytest.approx(20.0)
    assert summary.max_ms == pytest.approx(500.0)


def test_summary_of_nothing_is_all_none() -> None:
    summary = summarize_ms([])
    assert summary.count == 0
    assert summary.p50_ms is None and summary.p99_ms is None and summary.mean_ms is None
