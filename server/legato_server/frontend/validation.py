"""Checks the frontend applies before a request reaches history, matching or storage.

Each check raises ``errors.InvalidArgument`` naming the field, what it was and
what is allowed, so a client can fix the call without reading server code.

``well_formed`` runs on every request before anything else and walks the whole
message, commands and failures included, so no field can be forgotten: each
enum holds a value the API defines (proto3 lets any int32 through), each
duration is in [0, MAX_DURATION] with valid nanos, each timestamp is one
protobuf can represent, and each run id is empty ("the current run") or a
UUID. The per-RPC checks below then apply the rules particular to one field.
"""

from __future__ import annotations

import functools
import math
import re
from datetime import timedelta
from typing import TypeVar

from google.protobuf import duration_pb2, timestamp_pb2
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import DecodeError, Message
from google.protobuf.unknown_fields import UnknownFieldSet

from legato.api.v1 import common_pb2, enums_pb2
from legato_server.common import errors, task_queue_partitions
from legato_server.common.limits import MAX_DURATION, MAX_DURATION_TEXT, quote
from legato_server.internal.v1 import tokens_pb2

MAX_ID_LENGTH = 1000
MAX_NAME_LENGTH = 1000
MAX_IDENTITY_LENGTH = 1000
MAX_REQUEST_ID_LENGTH = 255
MAX_DESCRIPTION_LENGTH = 1000
MAX_PAYLOAD_BYTES = 2 * 1024 * 1024
DEFAULT_WORKFLOW_TASK_TIMEOUT = timedelta(seconds=10)
MAX_WORKFLOW_TASK_TIMEOUT = timedelta(seconds=120)
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
MALFORMED_TOKEN = "task token is malformed; pass the task_token from the poll response unchanged"
MAX_CRON_SCHEDULE_LENGTH = 255
MAX_NAMESPACE_ID_LENGTH = 255
# The range google.protobuf.Timestamp can hold: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
_MIN_TIMESTAMP_SECONDS = -62_135_596_800
_MAX_TIMESTAMP_SECONDS = 253_402_300_799
# Durations with a tighter bound than MAX_DURATION wherever they appear (requests and commands).
_MAXIMUM_BY_FIELD = {"workflow_task_timeout": MAX_WORKFLOW_TASK_TIMEOUT}
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


# ---------------------------------------------------------------- any message


def well_formed(message: Message, path: str = "") -> None:
    """Every enum, duration, timestamp and run id anywhere in ``message`` is one the server can take."""
    for field, value in message.ListFields():
        name = f"{path}{field.name}"
        if field.type == FieldDescriptor.TYPE_ENUM:
            if _is_repeated(field):
                for index, item in enumerate(value):
                    enum_value(item, field.enum_type, f"{name}[{index}]")
            else:
                enum_value(value, field.enum_type, name)
        elif field.type == FieldDescriptor.TYPE_STRING and _is_run_id(field):
            run_id(value, name)
        elif field.type == FieldDescriptor.TYPE_MESSAGE and _worth_walking(field.message_type):
            if field.message_type.full_name == "google.protobuf.Duration":
                duration_value(value, name, maximum=_MAXIMUM_BY_FIELD.get(field.name, MAX_DURATION))
            elif field.message_type.GetOptions().map_entry:
                value_type = field.message_type.fields_by_name["value"].message_type
                if value_type is not None and _worth_walking(value_type):
                    for key, item in value.items():
                        _well_formed_value(item, f"{name}[{quote(str(key))}]")
            elif _is_repeated(field):
                for index, item in enumerate(value):
                    _well_formed_value(item, f"{name}[{index}]")
            else:
                _well_formed_value(value, name)


def _well_formed_value(message: Message, name: str) -> None:
    full_name = message.DESCRIPTOR.full_name
    if full_name == "google.protobuf.Duration":
        duration_value(message, name)
    elif full_name == "google.protobuf.Timestamp":
        timestamp_value(message, name)
    else:
        well_formed(message, f"{name}.")


def enum_value(value: int, enum: EnumDescriptor, field: str) -> None:
    """``value`` must be one of the values ``enum`` defines."""
    if value not in enum.values_by_number:
        allowed = ", ".join(v.name for v in enum.values)
        raise errors.InvalidArgument(f"{field} is {value}, which is not a {enum.name}; allowed: {allowed}")


def run_id(value: str, field: str = "run_id") -> None:
    """Empty (the current run) or a UUID, as the server issues them."""
    if value and not _UUID.fullmatch(value):
        raise errors.InvalidArgument(
            f"{field} is {quote(value)}; a run id is a UUID like 6fa459ea-ee8a-3ca4-894e-db77e160355e "
            "(or empty for the current run)"
        )


def duration_value(
    value: duration_pb2.Duration, field: str, *, maximum: timedelta = MAX_DURATION
) -> timedelta:
    """``value`` as a timedelta; it must be in [0, maximum] with nanos in [0, 1e9)."""
    if value.seconds < 0:
        raise errors.InvalidArgument(f"{field} is {_show(value)}; it must not be negative")
    if not 0 <= value.nanos < 1_000_000_000:
        raise errors.InvalidArgument(f"{field} has nanos {value.nanos}; they must be in [0, 1e9)")
    # Compared before converting: a timedelta cannot hold what protobuf can.
    if value.seconds * 1_000_000_000 + value.nanos > _nanoseconds(maximum):
        shown_maximum = MAX_DURATION_TEXT if maximum == MAX_DURATION else _show_delta(maximum)
        raise errors.InvalidArgument(f"{field} is {_show(value)}; the maximum is {shown_maximum}")
    return value.ToTimedelta()


def timestamp_value(value: timestamp_pb2.Timestamp, field: str) -> None:
    if not _MIN_TIMESTAMP_SECONDS <= value.seconds <= _MAX_TIMESTAMP_SECONDS:
        raise errors.InvalidArgument(
            f"{field} has seconds {value.seconds}; a timestamp must be within years 1 to 9999"
        )
    if not 0 <= value.nanos < 1_000_000_000:
        raise errors.InvalidArgument(f"{field} has nanos {value.nanos}; it must be in [0, 1e9)")


def _is_repeated(field: FieldDescriptor) -> bool:
    # protobuf >= 6.31 has is_repeated and drops label; older versions have only label.
    if hasattr(field, "is_repeated"):
        return bool(field.is_repeated)
    return bool(field.label == FieldDescriptor.LABEL_REPEATED)


def _is_run_id(field: FieldDescriptor) -> bool:
    return field.name == "run_id" or field.name.endswith("_run_id")


@functools.cache
def _worth_walking(descriptor: Descriptor) -> bool:
    """Whether a message of this type can hold anything ``well_formed`` checks (Payloads cannot)."""
    return _holds_checked_fields(descriptor, frozenset())


def _holds_checked_fields(descriptor: Descriptor, visiting: frozenset[str]) -> bool:
    if descriptor.full_name in ("google.protobuf.Duration", "google.protobuf.Timestamp"):
        return True
    if descriptor.full_name in visiting:
        return False  # a cycle (Failure.cause) adds nothing the type itself lacks
    visiting = visiting | {descriptor.full_name}
    for field in descriptor.fields:
        if field.type == FieldDescriptor.TYPE_ENUM:
            return True
        if field.type == FieldDescriptor.TYPE_STRING and _is_run_id(field):
            return True
        if field.type == FieldDescriptor.TYPE_MESSAGE and _holds_checked_fields(field.message_type, visiting):
            return True
    return False


def _nanoseconds(value: timedelta) -> int:
    return (value.days * 86_400 + value.seconds) * 1_000_000_000 + value.microseconds * 1000


# ---------------------------------------------------------------- particular fields


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
    _not_reserved(queue.name, f"{field}.name")
    if queue.kind == enums_pb2.TASK_QUEUE_KIND_STICKY:
        if not allow_sticky:
            raise errors.InvalidArgument(f"{field} must be a normal task queue, not a sticky one")
        check_length(queue.normal_name, f"{field}.normal_name", max_length=MAX_NAME_LENGTH)
        _not_reserved(queue.normal_name, f"{field}.normal_name")


def _not_reserved(name: str, field: str) -> None:
    # Matching names the partitions of a queue "/_sys/<name>/<k>": a user's queue
    # with such a name would be read as another queue's partition.
    if task_queue_partitions.is_reserved(name):
        raise errors.InvalidArgument(
            f"{field} {quote(name)} starts with {task_queue_partitions.RESERVED_PREFIX!r}, which is reserved "
            "for the server's task queue partitions; choose a name that does not"
        )


def identity(value: str) -> None:
    check_length(value, "identity", max_length=MAX_IDENTITY_LENGTH)


def request_id(value: str) -> None:
    check_length(value, "request_id", max_length=MAX_REQUEST_ID_LENGTH)


def duration(message: Message, field: str, *, maximum: timedelta = MAX_DURATION) -> timedelta:
    """The duration in ``message.field`` (0 when unset); must be in [0, maximum]."""
    if not message.HasField(field):
        return timedelta(0)
    return duration_value(getattr(message, field), field, maximum=maximum)


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
    initial = duration_value(policy.initial_interval, f"{field}.initial_interval")
    maximum = duration_value(policy.maximum_interval, f"{field}.maximum_interval")
    if not math.isfinite(policy.backoff_coefficient) or (
        policy.backoff_coefficient != 0 and policy.backoff_coefficient < 1
    ):
        raise errors.InvalidArgument(
            f"{field}.backoff_coefficient is {policy.backoff_coefficient:g}; "
            "it must be a finite number >= 1 (or 0 for the default 2.0)"
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
    if max(len(token.namespace_id), len(token.workflow_id), len(token.run_id)) > MAX_ID_LENGTH:
        raise errors.InvalidArgument(MALFORMED_TOKEN)
    return token


def query_task_token(data: bytes) -> tokens_pb2.QueryTaskToken:
    token = _parse(tokens_pb2.QueryTaskToken, data)
    if not token.namespace_id or not token.task_queue or not token.query_id:
        raise errors.InvalidArgument(MALFORMED_TOKEN)
    if max(len(token.namespace_id), len(token.task_queue), len(token.query_id)) > MAX_ID_LENGTH:
        raise errors.InvalidArgument(MALFORMED_TOKEN)
    return token


_Token = TypeVar("_Token", bound=Message)


def _parse(cls: type[_Token], data: bytes) -> _Token:
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
    # Every digit: "3153600001s" beside a maximum of 3153600000s, not "3.1536e+09s".
    seconds, nanos = value.seconds, value.nanos
    if not nanos or abs(nanos) >= 1_000_000_000:
        return f"{seconds}s"
    sign = "-" if seconds < 0 or nanos < 0 else ""
    return f"{sign}{abs(seconds)}.{abs(nanos):09d}".rstrip("0") + "s"


def _show_delta(value: timedelta) -> str:
    return f"{value.total_seconds():.9f}".rstrip("0").rstrip(".") + "s"
