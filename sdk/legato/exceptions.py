"""The exceptions users see, each carrying the server's failure chain as ``__cause__``.

Raised in workflow code, an ``ApplicationError`` fails the workflow (other
exceptions fail the *workflow task* and it is retried, as a bug is expected to
be fixed by a deploy). Raised in an activity, any exception fails the attempt
and the server retries per the retry policy unless it is non-retryable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class LegatoError(Exception):
    """Base of every Legato SDK exception."""

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class FailureError(LegatoError):
    """An error that travels through the server as a ``Failure``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.failure: Any = None  # the legato.api.v1.Failure it came from, if any


class ApplicationError(FailureError):
    """A failure the user raised on purpose, with a type, details and retryability."""

    def __init__(
        self, message: str, *details: Any, type: str | None = None, non_retryable: bool = False
    ) -> None:
        super().__init__(message)
        self.details: Sequence[Any] = details
        self.type = type
        self.non_retryable = non_retryable


class CancelledError(FailureError):
    """The workflow, activity or child was cancelled."""

    def __init__(self, message: str = "cancelled", *details: Any) -> None:
        super().__init__(message)
        self.details: Sequence[Any] = details


class TerminatedError(FailureError):
    """The workflow was terminated."""


class TimeoutType:
    START_TO_CLOSE = 1
    SCHEDULE_TO_START = 2
    SCHEDULE_TO_CLOSE = 3
    HEARTBEAT = 4


class TimeoutError(FailureError):  # noqa: A001 - mirrors the failure kind's name
    """A server-enforced timeout fired; ``type`` is a ``TimeoutType`` value."""

    def __init__(self, message: str, *, type: int, last_heartbeat_details: Sequence[Any] = ()) -> None:
        super().__init__(message)
        self.type = type
        self.last_heartbeat_details = last_heartbeat_details


class ServerError(FailureError):
    """The server failed something on its own account."""

    def __init__(self, message: str, *, non_retryable: bool = False) -> None:
        super().__init__(message)
        self.non_retryable = non_retryable


class ActivityError(FailureError):
    """An activity failed for good; ``__cause__`` says why (ApplicationError, TimeoutError, ...)."""

    def __init__(
        self,
        message: str,
        *,
        activity_id: str,
        activity_type: str,
        scheduled_event_id: int = 0,
        started_event_id: int = 0,
        retry_state: int = 0,
    ) -> None:
        super().__init__(message)
        self.activity_id = activity_id
        self.activity_type = activity_type
        self.scheduled_event_id = scheduled_event_id
        self.started_event_id = started_event_id
        self.retry_state = retry_state


class ChildWorkflowError(FailureError):
    """A child workflow failed; ``__cause__`` says why."""

    def __init__(
        self,
        message: str,
        *,
        namespace: str,
        workflow_id: str,
        run_id: str,
        workflow_type: str,
        retry_state: int = 0,
    ) -> None:
        super().__init__(message)
        self.namespace = namespace
        self.workflow_id = workflow_id
        self.run_id = run_id
        self.workflow_type = workflow_type
        self.retry_state = retry_state


class WorkflowFailureError(LegatoError):
    """Raised by the client when a workflow it waits on did not complete; ``__cause__`` says why."""

    def __init__(
        self, message: str = "workflow execution failed", *, cause: BaseException | None = None
    ) -> None:
        super().__init__(message)
        if cause is not None:
            self.__cause__ = cause


class WorkflowContinuedAsNewError(LegatoError):
    """A client waited on a run that continued as new and was told not to follow runs."""

    def __init__(self, new_run_id: str) -> None:
        super().__init__(f"workflow continued as new run {new_run_id}")
        self.new_run_id = new_run_id


class RPCError(LegatoError):
    """A call to the server failed; ``status`` is the grpc.StatusCode."""

    def __init__(
        self, message: str, *, status: Any, details: str = "", metadata: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.details = details or message
        """The server's message alone (``message`` is prefixed with the RPC's name)."""
        self.metadata = metadata or {}
        """The status's trailing metadata (e.g. ``legato-run-id`` with ALREADY_EXISTS)."""


class TLSError(RPCError):
    """The TLS handshake with the server failed; retrying would not help.

    The server's certificate is not signed by a trusted CA
    (``TLSConfig.server_root_ca_cert``), does not name the host dialed
    (``TLSConfig.domain``), or the server does not speak TLS. ``status`` is
    ``UNAVAILABLE``, as gRPC reports it.
    """


class WorkflowAlreadyStartedError(LegatoError):
    """Starting a workflow whose id is in use, or may not be reused by the id reuse policy.

    ``run_id`` is the run that holds the id (running, or closed when the reuse
    policy refused a new run); the message is the server's, which says which.
    """

    def __init__(
        self, workflow_id: str, workflow_type: str, *, run_id: str | None = None, message: str | None = None
    ) -> None:
        super().__init__(message or f"workflow {workflow_id!r} ({workflow_type}) is already started")
        self.workflow_id = workflow_id
        self.workflow_type = workflow_type
        self.run_id = run_id


class WorkflowQueryFailedError(LegatoError):
    """The worker answered a query with an error (unknown query name, exception in the handler)."""


class WorkflowUpdateFailedError(LegatoError):
    """An update did not succeed; ``__cause__`` (also ``cause``) is why, usually an ``ApplicationError``.

    ``rejected`` is True when it never ran: its validator raised, the workflow
    has no handler of that name, or its arguments did not decode. Nothing was
    recorded in the workflow's history then. Otherwise the handler raised.
    """

    def __init__(
        self, message: str, *, update_id: str, update_name: str, rejected: bool, cause: BaseException
    ) -> None:
        super().__init__(message)
        self.update_id = update_id
        self.update_name = update_name
        self.rejected = rejected
        self.cause = cause
        self.__cause__ = cause


class NondeterminismError(LegatoError):
    """Replayed workflow code issued commands that differ from the recorded history."""


class PayloadConversionError(LegatoError):
    """A value could not be turned into a payload, or a payload into the asked type."""
