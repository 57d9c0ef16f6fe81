"""Retry backoff stays within what a timer can hold, whatever the policy's numbers."""

from __future__ import annotations

from google.protobuf import duration_pb2

from legato.api.v1 import common_pb2, enums_pb2
from legato_server.common.limits import MAX_DURATION
from legato_server.history.workflow.retry import (
    effective_retry_policy,
    next_retry_delay_ms,
    validate_retry_policy,
)

MAX_DURATION_MS = int(MAX_DURATION.total_seconds() * 1000)


def test_a_huge_coefficient_after_many_attempts_waits_the_maximum_interval() -> None:
    policy = common_pb2.RetryPolicy(
        initial_interval=duration_pb2.Duration(seconds=1),
        maximum_interval=duration_pb2.Duration(seconds=60),
        backoff_coefficient=1e300,
    )
    delay, state = next_retry_delay_ms(policy, attempt=5, failure=None, now_ms=0)
    assert (delay, state) == (60_000, enums_pb2.RETRY_STATE_IN_PROGRESS)


def test_the_default_maximum_interval_is_capped_at_the_longest_timer() -> None:
    policy = common_pb2.RetryPolicy(initial_interval=duration_pb2.Duration(seconds=3_000_000_000))
    assert effective_retry_policy(policy).maximum_interval.ToMilliseconds() == MAX_DURATION_MS


def test_a_coefficient_that_is_not_a_finite_number_is_invalid() -> None:
    for coefficient in (float("nan"), float("inf")):
        problem = validate_retry_policy(common_pb2.RetryPolicy(backoff_coefficient=coefficient), what="retry")
        assert problem is not None and "retry.backoff_coefficient" in problem
