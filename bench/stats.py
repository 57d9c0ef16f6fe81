"""Latency statistics without numpy.

Percentiles use linear interpolation between closest ranks (Hyndman & Fan
type 7: numpy's default and ``statistics.quantiles(method="inclusive")``):
for sorted values ``x[0..n-1]`` the p-th percentile sits at rank
``h = (n - 1) * p / 100`` and is ``x[floor(h)] + (h - floor(h)) * (x[floor(h)+1] - x[floor(h)])``.
So p0 is the minimum, p100 the maximum, and a single sample is every
percentile. With few samples p99 is close to the maximum, which is the honest
answer: there is no hidden tail to extrapolate.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


def percentile(values: Iterable[float], p: float) -> float | None:
    """The p-th percentile (0 <= p <= 100) of ``values``; ``None`` when there are none."""
    if not 0 <= p <= 100 or math.isnan(p):
        raise ValueError(f"percentile must be within [0, 100], got {p}")
    ordered = sorted(values)
    return percentile_of_sorted(ordered, p)


def percentile_of_sorted(ordered: Sequence[float], p: float) -> float | None:
    """``percentile`` for values already sorted ascending (no copy, no check)."""
    if not ordered:
        return None
    rank = (len(ordered) - 1) * p / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    fraction = rank - low
    return ordered[low] + fraction * (ordered[high] - ordered[low])


@dataclass(frozen=True)
class LatencySummary:
    """Milliseconds; every field ``None`` when there were no samples."""

    count: int
    min_ms: float | None
    mean_ms: float | None
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    max_ms: float | None


def summarize_ms(samples_s: Iterable[float], *, offset_s: float = 0.0) -> LatencySummary:
    """Summarise latencies given in seconds, minus ``offset_s`` each, as milliseconds."""
    ordered = sorted((s - offset_s) * 1000.0 for s in samples_s)
    if not ordered:
        return LatencySummary(0, None, None, None, None, None, None)
    return LatencySummary(
        count=len(ordered),
        min_ms=ordered[0],
        mean_ms=math.fsum(ordered) / len(ordered),
        p50_ms=percentile_of_sorted(ordered, 50),
        p90_ms=percentile_of_sorted(ordered, 90),
        p99_ms=percentile_of_sorted(ordered, 99),
        max_ms=ordered[-1],
    )
