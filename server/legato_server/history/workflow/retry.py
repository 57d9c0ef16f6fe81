"""Retry policies: defaults, validation, and the next backoff.

Used for activities (every activity retries unless its policy says
maximum_attempts=1) and for workflows (only when a retry policy is given, as in
Temporal). Unset fields take the documented defaults: initial interval 1s,
coefficient 2.0, maximum interval 100 x initial, unlimited attempts. The
backoff before attempt n+1 is ``initial * coefficient**(n-1)`` capped at the
maximum interval; a retry that would start after the deadline
(schedule-to-close for activities, execution timeout for workflows) is not
made, and the failure is final with retry state TIMEOUT.
"""

from __future__ import annotations

import math

from legato.api.v1 import common_pb2, enums_pb2
from legato_server.common.limits import MAX_DURATION
from legato_server.history.workflow.events import duration, duration_ms

RS = enums_pb2.RetryState
DEFAULT_INITIAL_S = 1.0
DEFAULT_COEFFICIENT = 2.0
DEFAULT_MAXIMUM_FACTOR = 100
_MAX_DURATION_MS = int(MAX_DURATION.total_seconds() * 1000)


def validate_retry_policy(policy: common_pb2.RetryPolicy, *, what: str) -> str | None:
    """A message saying what is wrong with ``policy``, or None if it is valid."""
    initial = duration_ms(policy.initial_interval)
    maximum = duration_ms(policy.maximum_interval)
    if initial < 0:
        return f"{what}.initial_interval must not be negative"
    if maximum < 0:
        return f"{what}.maximum_interval must not be negative"
    if not math.isfinite(policy.backoff_coefficient) or (
        policy.backoff_coefficient != 0 and policy.backoff_coefficient < 1
    ):
        return f"{what}.backoff_coefficient must be >= 1 (or 0 for the default 2.0), got {policy.backoff_coefficient}"
    if policy.maximum_attempts < 0:
        return f"{what}.maximum_attempts must be >= 0 (0 = unlimited), got {policy.maximum_attempts}"
    if maximum and maximum < (initial or DEFAULT_INITIAL_S * 1000):
        return f"{what}.maximum_interval must be >= initial_interval"
    return None


def effective_retry_policy(policy: common_pb2.RetryPolicy | None) -> common_pb2.RetryPolicy:
    """``policy`` with every unset field replaced by its default."""
    result = common_pb2.RetryPolicy()
    if policy is not None:
        result.CopyFrom(policy)
    if duration_ms(result.initial_interval) <= 0:
        result.initial_interval.CopyFrom(duration(DEFAULT_INITIAL_S))
    if result.backoff_coefficient == 0:
        result.backoff_coefficient = DEFAULT_COEFFICIENT
    if duration_ms(result.maximum_interval) <= 0:
        # 100 x a long initial interval would overflow the timer: no more than MAX_DURATION.
        default_maximum_ms = min(
            duration_ms(result.initial_interval) * DEFAULT_MAXIMUM_FACTOR, _MAX_DURATION_MS
        )
        result.maximum_interval.CopyFrom(duration(default_maximum_ms / 1000))
    return result


def is_non_retryable(policy: common_pb2.RetryPolicy, failure: common_pb2.Failure | None) -> bool:
    if failure is None:
        return False
    if failure.HasField("application_failure_info"):
        info = failure.application_failure_info
        return info.non_retryable or info.type in policy.non_retryable_error_types
    if failure.HasField("server_failure_info"):
        return failure.server_failure_info.non_retryable
    return failure.HasField("terminated_failure_info") or failure.HasField("canceled_failure_info")


def next_retry_delay_ms(
    policy: common_pb2.RetryPolicy,
    *,
    attempt: int,
    failure: common_pb2.Failure | None,
    now_ms: int,
    deadline_ms: int = 0,
) -> tuple[int | None, enums_pb2.RetryState]:
    """(delay before the next attempt, or None for no retry; the RetryState to report)."""
    policy = effective_retry_policy(policy)
    if is_non_retryable(policy, failure):
        return None, RS.RETRY_STATE_NON_RETRYABLE_FAILURE
    if policy.maximum_attempts and attempt >= policy.maximum_attempts:
        return None, RS.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED
    initial = duration_ms(policy.initial_interval)
    try:
        delay = initial * policy.backoff_coefficient ** max(0, attempt - 1)
    except OverflowError:  # a large coefficient after many attempts: the maximum interval applies
        delay = math.inf
    delay_ms = int(min(delay, duration_ms(policy.maximum_interval)))
    if deadline_ms and now_ms + delay_ms >= deadline_ms:
        return None, RS.RETRY_STATE_TIMEOUT
    return delay_ms, RS.RETRY_STATE_IN_PROGRESS
