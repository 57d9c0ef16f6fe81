"""Checks the frontend applies before a request reaches history, matching or storage.

Each check raises ``errors.InvalidArgument`` naming the field, what it was and
what is allowed, so a client can fix the call without reading server code.
"""

from __future__ import annotations

from datetime import timedelta

from google.protobuf import duration_pb2
from google.protobuf.message import DecodeError, Message
from google.protobuf.unknown_fields import UnknownFieldSet

from legato.api.v1 import common_pb2, enums_pb2
from legato_server.common import errors
from legato_server.internal.v1 import tokens_pb2

MAX_ID_LENGTH = 1000
MAX_NAME_LENGTH = 1000
MAX_IDENTITY_LENGTH = 1000
MAX_REQUEST_ID_LENGTH = 255
MAX_DESCRIPTION_LENGTH = 1000
MAX_PAYLOAD_BYTES = 2 * 1024 * 1024
DEFAULT_WORKFLOW_TASK_TIMEOUT = timedelta(seconds=10)
MAX_WORKFLOW_TASK_TIMEOUT = timedelta(seconds=120)
# Workflow timeouts and delays beyond this are surely mistakes (a unit mix-up).
MAX_WORKFLOW_TIMEOUT = timedelta(days=365 * 100)
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
MALFORMED_TOKEN = "task token is malformed; pass the task_token from the poll response unchanged"


def require_text(value: str, field: str, *, max_length: int = MAX_NAME_LENGTH) -> None:
    """``value`` must be non-empty and at most ``max_length`` characters."""
    if not value:
        raise errors.InvalidArgument(f"{field} is required")
    check_length(value, field, max_length=max_length)


def check_length(value: str, field: str, *, max_length: int) -> None:
    if len(value) > max_length:
        raise errors.InvalidArgument(f"{field} is {len(value)} chars long; the limit is {max_length}")


def workflow_id(value: str, field: str = "workflow_id") -> None:
    require_text(value, field, max_length=MAX_ID_LENGTH)


def task_queue(queue: common_pb2.TaskQueue, field: str = "task_queue", *, allow_sticky: bool = True) -> None:
    require_text(queue.name, f"{field}.name")
    if queue.kind == enums_pb2.TASK_QUEUE_KIND_STICKY:
        if not allow_sticky:
            raise errors.InvalidArgument(f"{field} must be a normal task queue, not a sticky one")
        check_length(queue.normal_name, f"{field}.normal_name", max_length=MAX_NAME_LENGTH)
    elif queue.kind not in (enums_pb2.TASK_QUEUE_KIND_UNSPECIFIED, enums_pb2.TASK_QUEUE_KIND_NORMAL):
        raise errors.InvalidArgument(f"{field}.kind {queue.kind} is not a TaskQueueKind")


def identity(value: str) -> None:
    check_length(value, "identity", max_length=MAX_IDENTITY_LENGTH)


def request_id(value: str) -> None:
    check_length(value, "request_id", max_length=MAX_REQUEST_ID_LENGTH)


def duration(message: Message, field: str, *, maximum: timedelta = MAX_WORKFLOW_TIMEOUT) -> timedelta:
    """The duration in ``message.field`` (0 when unset); must be in [0, maximum]."""
    if not message.HasField(field):
        return timedelta(0)
    value: duration_pb2.Duration = getattr(message, field)
    if value.seconds < 0 or value.nanos < 0:
        raise errors.InvalidArgument(f"{field} is {_show(value)}; it must not be negative")
    if abs(value.nanos) >= 1_000_000_000:
        raise errors.InvalidArgument(f"{field} has nanos {value.nanos}; it must be below 1e9")
    as_delta = value.ToTimedelta()
    if as_delta > maximum:
        raise errors.InvalidArgument(f"{field} is {_show(value)}; the maximum is {_show_delta(maximum)}")
    return as_delta


def payload_size(message: Message | None, field: str) -> int:
    """Size of a payload-bearing field; at most MAX_PAYLOAD_BYTES."""
    if message is None:
        return 0
    size = message.ByteSize()
    if size > MAX_PAYLOAD_BYTES:
        raise errors.InvalidArgument(f"{field} is {size} bytes; the limit is 2 MiB")
    return size


def payloads(request: Message, *fields: str) -> None:
    """Each named payload field, and all of them together, at most 2 MiB."""
    total = 0
    for field in fields:
        if request.HasField(field):
            total += payload_size(getattr(request, field), field)
    if total > MAX_PAYLOAD_BYTES:
        raise errors.InvalidArgument(f"{' + '.join(fields)} are {total} bytes together; the limit is 2 MiB")


def retry_policy(policy: common_pb2.RetryPolicy, field: str = "retry_policy") -> None:
    initial = duration(policy, "initial_interval")
    maximum = duration(policy, "maximum_interval")
    if policy.backoff_coefficient != 0 and policy.backoff_coefficient < 1:
        raise errors.InvalidArgument(
            f"{field}.backoff_coefficient is {policy.backoff_coefficient:g}; it must be >= 1 (or 0 for the default 2.0)"
        )
    if maximum and maximum < initial:
        raise errors.InvalidArgument(
            f"{field}.maximum_interval ({_show_delta(maximum)}) is shorter than "
            f"initial_interval ({_show_delta(initial)})"
        )
    if policy.maximum_attempts < 0:
        raise errors.InvalidArgument(
            f"{field}.maximum_attempts is {policy.maximum_attempts}; it must be >= 0 (0 = unlimited)"
        )


def page_size(value: int, field: str = "page_size", *, default: int = DEFAULT_PAGE_SIZE) -> int:
    """The page size to use: ``default`` for 0, InvalidArgument if negative or above MAX_PAGE_SIZE."""
    if value < 0:
        raise errors.InvalidArgument(f"{field} is {value}; it must be >= 0 (0 = default {default})")
    if value > MAX_PAGE_SIZE:
        raise errors.InvalidArgument(f"{field} is {value}; the maximum is {MAX_PAGE_SIZE}")
    return value or default


def task_token(data: bytes) -> tokens_pb2.TaskToken:
    """A workflow or activity task token; InvalidArgument if it is not one the server issued."""
    token = _parse(tokens_pb2.TaskToken, data)
    if not token.namespace_id or not token.workflow_id or not token.run_id or token.scheduled_event_id <= 0:
        raise errors.InvalidArgument(MALFORMED_TOKEN)
    return token


def query_task_token(data: bytes) -> tokens_pb2.QueryTaskToken:
    token = _parse(tokens_pb2.QueryTaskToken, data)
    if not token.namespace_id or not token.task_queue or not token.query_id:
        raise errors.InvalidArgument(MALFORMED_TOKEN)
    return token


def _parse(cls: type, data: bytes):  # type: ignore[no-untyped-def]
    if not data:
        raise errors.InvalidArgument("task_token is required; pass the task_token from the poll response")
    token = cls()
    try:
        token.ParseFromString(data)
    except DecodeError:
        raise errors.InvalidArgument(MALFORMED_TOKEN) from None
    if len(UnknownFieldSet(token)):
        raise errors.InvalidArgument(MALFORMED_TOKEN)
    return token


def _show(value: duration_pb2.Duration) -> str:
    return f"{value.seconds + value.nanos / 1e9:g}s"


def _show_delta(value: timedelta) -> str:
    return f"{value.total_seconds():g}s"
