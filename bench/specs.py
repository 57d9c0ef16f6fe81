"""The benchmark workloads as data: names, default sizes, what their latency means.

This module is SDK-free on purpose: argument parsing, reports and their tests
need the catalogue without importing ``legato``. The workflow code itself lives
in ``bench.workloads``. Sizes follow ``docs/benchmark.md``; changing a
default here changes what every published figure means, so do it there first.
"""

from __future__ import annotations

from dataclasses import dataclass

LATENCY_START_TO_RESULT = "start_to_result"
"""Latency is the client's start call to the result returned (signal included)."""

LATENCY_TIMER_LATENESS = "timer_lateness"
"""Latency is completion - start - the workflow's timer (how late the timer fired)."""

TIMER_SECONDS = 1.0
CHAIN_LENGTH = 10
FANOUT_WIDTH = 100


@dataclass(frozen=True)
class WorkloadSpec:
    name: str
    """The ``--workload`` name and the ``workload`` key of the JSON line."""
    n: int
    """Workflows measured by default."""
    conc: int
    """At most this many workflows in flight by default."""
    warmup: int
    """Workflows run (and checked) before measuring, not counted."""
    latency_kind: str
    """``LATENCY_START_TO_RESULT`` or ``LATENCY_TIMER_LATENESS``."""
    description: str
    latency_offset_s: float = 0.0
    """Subtracted from each start-to-result latency (the timer's own duration)."""
    activities_per_workflow: int = 0
    """For the ``activities_per_s`` extra."""


WORKLOADS: dict[str, WorkloadSpec] = {
    spec.name: spec
    for spec in (
        WorkloadSpec(
            name="hello",
            n=500,
            conc=50,
            warmup=5,
            latency_kind=LATENCY_START_TO_RESULT,
            description='1 activity returning f"Hello, {name}!"',
            activities_per_workflow=1,
        ),
        WorkloadSpec(
            name="local",
            n=500,
            conc=50,
            warmup=5,
            latency_kind=LATENCY_START_TO_RESULT,
            description="hello with a local activity (recorded as a marker, no activity task)",
            activities_per_workflow=1,
        ),
        WorkloadSpec(
            name="chain",
            n=100,
            conc=50,
            warmup=3,
            latency_kind=LATENCY_START_TO_RESULT,
            description=f"{CHAIN_LENGTH} activities one after another",
            activities_per_workflow=CHAIN_LENGTH,
        ),
        WorkloadSpec(
            name="signal",
            n=500,
            conc=50,
            warmup=5,
            latency_kind=LATENCY_START_TO_RESULT,
            description="waits for a signal, returns its value (client: start, signal, result)",
        ),
        WorkloadSpec(
            name="timer",
            n=500,
            conc=50,
            warmup=3,
            latency_kind=LATENCY_TIMER_LATENESS,
            description=f"sleeps {TIMER_SECONDS:g} s; latency = lateness of the timer",
            latency_offset_s=TIMER_SECONDS,
        ),
        WorkloadSpec(
            name="fanout",
            n=20,
            conc=20,
            warmup=1,
            latency_kind=LATENCY_START_TO_RESULT,
            description=f"{FANOUT_WIDTH} activities at once, gathered",
            activities_per_workflow=FANOUT_WIDTH,
        ),
    )
}

WORKLOAD_NAMES: tuple[str, ...] = tuple(WORKLOADS)


@dataclass(frozen=True)
class PlannedWorkload:
    """One workload of a run with its sizes after command-line overrides."""

    spec: WorkloadSpec
    n: int
    conc: int
    warmup: int
