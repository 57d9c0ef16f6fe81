"""Options shared by the client, workflows and activities."""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass, field
from datetime import timedelta

from legato.api.v1 import common_pb2, enums_pb2

MAX_DURATION = timedelta(days=365 * 100)
"""The longest timer, timeout, start delay or retry interval a Legato server accepts."""

_RUN_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def checked_run_id(value: str | None, *, field: str = "run_id") -> str:
    """``value`` ("" for None, meaning the current run); ValueError unless it is a UUID as the server issues."""
    if value and not _RUN_ID.fullmatch(value):
        shown = repr(value if len(value) <= 100 else value[:100] + "...")
        raise ValueError(f"{field} is {shown}; a run id is a UUID (or empty for the current run)")
    return value or ""


def checked_duration(value: timedelta | float, *, field: str) -> timedelta:
    """``value`` (a timedelta or seconds) as a timedelta; ValueError unless in [0, MAX_DURATION].

    Checked before a request or command is built, so a unit mix-up fails where
    it was made instead of as a rejected call (or, in a workflow, a workflow
    task that fails on every attempt).
    """
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if not math.isfinite(seconds) or seconds < 0 or seconds > MAX_DURATION.total_seconds():
        shown = f"{seconds:.6f}".rstrip("0").rstrip(".") if math.isfinite(seconds) else str(seconds)
        raise ValueError(
            f"{field} is {shown}s; it must be between 0 and {MAX_DURATION.total_seconds():.0f}s "
            "(100 years, the longest duration a Legato server accepts)"
        )
    return value if isinstance(value, timedelta) else timedelta(seconds=seconds)


@dataclass(frozen=True)
class RetryPolicy:
    """How a failed activity (or workflow) is retried by the server."""

    initial_interval: timedelta = timedelta(seconds=1)
    """Delay before the first retry."""
    backoff_coefficient: float = 2.0
    """Each retry waits this many times longer than the previous one (>= 1)."""
    maximum_interval: timedelta | None = None
    """Upper bound of the delay; default 100 x initial_interval."""
    maximum_attempts: int = 0
    """Total attempts including the first; 0 = unlimited, 1 = no retries."""
    non_retryable_error_types: tuple[str, ...] = field(default_factory=tuple)
    """ApplicationError types (or exception class names) that are never retried."""

    def to_proto(self) -> common_pb2.RetryPolicy:
        """The wire form; ValueError if an interval or the coefficient is out of range."""
        coefficient = self.backoff_coefficient
        if not math.isfinite(coefficient) or (coefficient != 0 and coefficient < 1):
            raise ValueError(
                f"RetryPolicy.backoff_coefficient is {coefficient:g}; it must be a finite number >= 1"
            )
        proto = common_pb2.RetryPolicy(
            backoff_coefficient=self.backoff_coefficient,
            maximum_attempts=self.maximum_attempts,
            non_retryable_error_types=list(self.non_retryable_error_types),
        )
        proto.initial_interval.FromTimedelta(
            checked_duration(self.initial_interval, field="RetryPolicy.initial_interval")
        )
        if self.maximum_interval is not None:
            proto.maximum_interval.FromTimedelta(
                checked_duration(self.maximum_interval, field="RetryPolicy.maximum_interval")
            )
        return proto

    @staticmethod
    def from_proto(proto: common_pb2.RetryPolicy) -> RetryPolicy:
        return RetryPolicy(
            initial_interval=proto.initial_interval.ToTimedelta()
            if proto.HasField("initial_interval")
            else timedelta(seconds=1),
            backoff_coefficient=proto.backoff_coefficient or 2.0,
            maximum_interval=proto.maximum_interval.ToTimedelta()
            if proto.HasField("maximum_interval")
            else None,
            maximum_attempts=proto.maximum_attempts,
            non_retryable_error_types=tuple(proto.non_retryable_error_types),
        )


class WorkflowIDReusePolicy(enum.IntEnum):
    """May a new run start with the id of an earlier, closed run?"""

    ALLOW_DUPLICATE = enums_pb2.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
    ALLOW_DUPLICATE_FAILED_ONLY = enums_pb2.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY
    REJECT_DUPLICATE = enums_pb2.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
    TERMINATE_IF_RUNNING = enums_pb2.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING


class WorkflowExecutionStatus(enum.IntEnum):
    RUNNING = enums_pb2.WORKFLOW_EXECUTION_STATUS_RUNNING
    COMPLETED = enums_pb2.WORKFLOW_EXECUTION_STATUS_COMPLETED
    FAILED = enums_pb2.WORKFLOW_EXECUTION_STATUS_FAILED
    CANCELED = enums_pb2.WORKFLOW_EXECUTION_STATUS_CANCELED
    TERMINATED = enums_pb2.WORKFLOW_EXECUTION_STATUS_TERMINATED
    CONTINUED_AS_NEW = enums_pb2.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW
    TIMED_OUT = enums_pb2.WORKFLOW_EXECUTION_STATUS_TIMED_OUT


class ParentClosePolicy(enum.IntEnum):
    """What happens to a child workflow when its parent closes."""

    TERMINATE = enums_pb2.PARENT_CLOSE_POLICY_TERMINATE
    ABANDON = enums_pb2.PARENT_CLOSE_POLICY_ABANDON
    REQUEST_CANCEL = enums_pb2.PARENT_CLOSE_POLICY_REQUEST_CANCEL
