"""Typed errors every server role raises, and their gRPC status codes.

Handlers raise these; the gRPC boundary (``common.rpc``) turns them into
statuses with the same message, and turns statuses from a remote role back into
the same types, so code behaves the same whether a peer role is in-process or
across the network. Messages say what was wrong and what is allowed.
"""

from __future__ import annotations

import grpc

RUN_ID_TRAILER = "legato-run-id"
"""Trailing metadata key: the run that holds a workflow id (with ALREADY_EXISTS)."""
NOT_OWNER_TRAILER = "legato-not-owner"
"""Trailing metadata key: this host does not own the shard or task queue; the value
is the owner it believes in (a host id, or "" when it does not know)."""
ORIGIN_TRAILER = "legato-origin"
"""Trailing metadata key set on every status a Legato handler returns, so a caller
can tell an answer from a role apart from a transport failure (no peer reached)."""


class ServiceError(Exception):
    """Base of every error a Legato service reports to its caller."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def trailers(self) -> tuple[tuple[str, str], ...]:
        """Details a caller can act on beyond the message, sent as gRPC trailing metadata."""
        return ()


class InvalidArgument(ServiceError):
    """The request is malformed or out of range; retrying it unchanged will fail again."""

    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(ServiceError):
    """A namespace, workflow, activity or task the request names does not exist (any more)."""

    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(ServiceError):
    """A workflow with this id is running, or a namespace with this name exists."""

    code = grpc.StatusCode.ALREADY_EXISTS


class WorkflowAlreadyStarted(AlreadyExists):
    """Starting a workflow whose id is in use (or, by reuse policy, may not be reused)."""

    def __init__(self, message: str, *, run_id: str = "", start_request_id: str = "") -> None:
        super().__init__(message)
        self.run_id = run_id
        self.start_request_id = start_request_id

    def trailers(self) -> tuple[tuple[str, str], ...]:
        return ((RUN_ID_TRAILER, self.run_id),) if self.run_id else ()


class FailedPrecondition(ServiceError):
    """The target is in a state that does not allow this (e.g. the workflow is closed)."""

    code = grpc.StatusCode.FAILED_PRECONDITION


class DeadlineExceeded(ServiceError):
    """The call ran out of time (e.g. no worker answered a query)."""

    code = grpc.StatusCode.DEADLINE_EXCEEDED


class ResourceExhausted(ServiceError):
    """A rate limit or a size limit was hit."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unavailable(ServiceError):
    """Transient: a shard is moving or a store is unreachable; the caller should retry."""

    code = grpc.StatusCode.UNAVAILABLE


class NotOwner(Unavailable):
    """This host does not own the history shard or task queue the request is for.

    Nothing was done, so the caller may always retry: with a fresh route, to
    ``owner`` when it is known. Raised while shards and queues move between
    hosts (a host joined, left or died).
    """

    def __init__(self, message: str, *, owner: str = "", shard_id: int | None = None) -> None:
        super().__init__(message)
        self.owner = owner
        self.shard_id = shard_id

    def trailers(self) -> tuple[tuple[str, str], ...]:
        return ((NOT_OWNER_TRAILER, self.owner),)


class PeerUnreachable(Unavailable):
    """No answer from the role's host (connection refused, host gone): the request may not have arrived."""


class Internal(ServiceError):
    """A bug or an invariant violated on the server."""

    code = grpc.StatusCode.INTERNAL


_BY_CODE: dict[grpc.StatusCode, type[ServiceError]] = {
    cls.code: cls
    for cls in (
        InvalidArgument,
        NotFound,
        AlreadyExists,
        FailedPrecondition,
        DeadlineExceeded,
        ResourceExhausted,
        Unavailable,
        Internal,
    )
}


def error_from_status(
    code: grpc.StatusCode, message: str, trailers: tuple[tuple[str, str | bytes], ...] = ()
) -> ServiceError:
    """The typed error for a gRPC status (and its trailing metadata) received from another role."""
    found = {key: str(value) for key, value in trailers}
    if code == grpc.StatusCode.ALREADY_EXISTS and found.get(RUN_ID_TRAILER):
        return WorkflowAlreadyStarted(message, run_id=found[RUN_ID_TRAILER])
    if NOT_OWNER_TRAILER in found:
        return NotOwner(message, owner=found[NOT_OWNER_TRAILER])
    if code == grpc.StatusCode.UNAVAILABLE and ORIGIN_TRAILER not in found:
        return PeerUnreachable(message)
    return _BY_CODE.get(code, ServiceError)(message)
