"""Plain data types and exceptions of the public workflow API.

They live apart from the runtime so that ``legato.workflow`` (the public face),
the runtime modules and the replayer can all import them without cycles.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from legato.api.v1 import command_pb2, common_pb2
from legato.common import RetryPolicy
from legato.exceptions import LegatoError


class ActivityCancellationType(enum.IntEnum):
    """What cancelling a started activity waits for."""

    TRY_CANCEL = 0
    """Ask the server to cancel and raise ``asyncio.CancelledError`` at once (default)."""
    WAIT_CANCELLATION_COMPLETED = 1
    """Ask the server to cancel and raise only once the activity acknowledged it (or finished)."""
    ABANDON = 2
    """Do not tell the server; raise ``asyncio.CancelledError`` at once, the activity runs on."""


class ChildWorkflowCancellationType(enum.IntEnum):
    """What cancelling a started child workflow waits for."""

    TRY_CANCEL = 0
    """Request cancellation of the child and raise ``asyncio.CancelledError`` at once."""
    WAIT_CANCELLATION_COMPLETED = 1
    """Request cancellation and raise only once the child closed (default)."""
    ABANDON = 2
    """Do not tell the child; raise ``asyncio.CancelledError`` at once."""


@dataclass(frozen=True)
class ParentInfo:
    """The workflow that started this one as a child."""

    namespace: str
    workflow_id: str
    run_id: str


@dataclass(frozen=True)
class WorkflowInfo:
    """What a workflow knows about its own run (``workflow.info()``)."""

    namespace: str
    workflow_id: str
    run_id: str
    workflow_type: str
    task_queue: str
    attempt: int = 1
    """Attempt of this run under the workflow's retry policy, starting at 1."""
    cron_schedule: str | None = None
    continued_run_id: str | None = None
    """The run this one continued from (continue-as-new, retry or cron), if any."""
    first_execution_run_id: str = ""
    parent: ParentInfo | None = None
    start_time: datetime | None = None
    """When the WorkflowExecutionStarted event was written (UTC)."""
    execution_timeout: timedelta | None = None
    run_timeout: timedelta | None = None
    task_timeout: timedelta | None = None
    retry_policy: RetryPolicy | None = None
    memo: Mapping[str, Any] = field(default_factory=dict)
    """Decoded memo; updated by ``workflow.upsert_memo``."""
    search_attributes: Mapping[str, Any] = field(default_factory=dict)
    """Decoded search attributes; updated by ``workflow.upsert_search_attributes``."""
    headers: Mapping[str, common_pb2.Payload] = field(default_factory=dict)
    last_completion_result: common_pb2.Payloads | None = None
    """Result of the previous cron run, still encoded."""


class ContinueAsNewError(BaseException):
    """Raised by ``workflow.continue_as_new``; the runtime turns it into the command.

    A ``BaseException`` so that a broad ``except Exception`` in workflow code does
    not swallow it.
    """

    def __init__(self, attributes: command_pb2.ContinueAsNewWorkflowExecutionCommandAttributes) -> None:
        super().__init__("workflow continues as new")
        self.attributes = attributes


class NondeterministicCallError(LegatoError):
    """Workflow code called something that cannot be replayed (threads, executors, I/O, blocking sleep)."""


class ReadOnlyContextError(LegatoError):
    """Workflow state was about to change where it must not (a query handler issuing commands)."""


class NotInWorkflowError(LegatoError, RuntimeError):
    """A ``legato.workflow`` function was called outside of workflow code."""
