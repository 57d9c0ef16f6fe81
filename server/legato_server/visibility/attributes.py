"""Search attribute types, the system attributes, and typed values from stored payloads.

A namespace registers custom attributes by name with a type
(``IndexedValueType``). A value is validated against its type when a workflow
starts or upserts it, and the validated payload is stamped with the type
(metadata ``type``), so a stored ``SearchAttributes`` blob is self-describing:
a store can index or filter it without asking the namespace registry, and a
value keeps the meaning it was written with. Types are therefore fixed once
registered (attributes are added, never retyped or removed).

Payloads hold JSON (``json/plain``), as the SDK's default converter writes;
the SDK never runs search attributes through a payload codec, because the
server must read them. Datetimes are ISO 8601 strings (a zone is required,
or UTC is assumed), indexed as unix milliseconds.
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from legato.api.v1 import common_pb2, enums_pb2

ENCODING = "encoding"
JSON_PLAIN = b"json/plain"
TYPE_METADATA = "type"

MAX_CUSTOM_ATTRIBUTES = 100
MAX_KEYWORD_LENGTH = 255
MAX_TEXT_LENGTH = 2048
MAX_KEYWORD_LIST_LENGTH = 100
_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class ValueType(enum.Enum):
    """The type of an attribute; the value is the name users write (``--search-attribute X=Keyword``)."""

    TEXT = "Text"
    KEYWORD = "Keyword"
    INT = "Int"
    DOUBLE = "Double"
    BOOL = "Bool"
    DATETIME = "Datetime"
    KEYWORD_LIST = "KeywordList"
    # Only the system attribute ExecutionStatus has it: a keyword naming a status.
    EXECUTION_STATUS = "ExecutionStatus"


_FROM_PROTO = {
    enums_pb2.INDEXED_VALUE_TYPE_TEXT: ValueType.TEXT,
    enums_pb2.INDEXED_VALUE_TYPE_KEYWORD: ValueType.KEYWORD,
    enums_pb2.INDEXED_VALUE_TYPE_INT: ValueType.INT,
    enums_pb2.INDEXED_VALUE_TYPE_DOUBLE: ValueType.DOUBLE,
    enums_pb2.INDEXED_VALUE_TYPE_BOOL: ValueType.BOOL,
    enums_pb2.INDEXED_VALUE_TYPE_DATETIME: ValueType.DATETIME,
    enums_pb2.INDEXED_VALUE_TYPE_KEYWORD_LIST: ValueType.KEYWORD_LIST,
}
_TO_PROTO = {value_type: number for number, value_type in _FROM_PROTO.items()}
REGISTRABLE_TYPES = ", ".join(t.value for t in _TO_PROTO)


def type_from_proto(number: int) -> ValueType:
    """ValueError naming the allowed types for UNSPECIFIED or an unknown number."""
    try:
        return _FROM_PROTO[number]  # type: ignore[index]
    except KeyError:
        raise ValueError(f"search attribute type {number} is not one of {REGISTRABLE_TYPES}") from None


def type_to_proto(value_type: ValueType) -> int:
    return _TO_PROTO[value_type]


def type_from_name(name: str) -> ValueType:
    """``keyword`` / ``KeywordList`` / ``keyword-list`` -> ValueType; ValueError naming the choices."""
    wanted = name.replace("-", "").replace("_", "").lower()
    for value_type in _TO_PROTO:
        if value_type.value.lower() == wanted:
            return value_type
    raise ValueError(f"search attribute type {name!r} is not one of {REGISTRABLE_TYPES}")


@dataclass(frozen=True, slots=True)
class Attribute:
    """An attribute a query can name: a system one (with its visibility column) or a custom one."""

    name: str
    type: ValueType
    column: str | None = None  # the visibility column of a system attribute; None = custom

    @property
    def is_custom(self) -> bool:
        return self.column is None


SYSTEM_ATTRIBUTES: Mapping[str, Attribute] = {
    a.name: a
    for a in (
        Attribute("WorkflowId", ValueType.KEYWORD, "workflow_id"),
        Attribute("RunId", ValueType.KEYWORD, "run_id"),
        Attribute("WorkflowType", ValueType.KEYWORD, "workflow_type"),
        Attribute("TaskQueue", ValueType.KEYWORD, "task_queue"),
        Attribute("ExecutionStatus", ValueType.EXECUTION_STATUS, "status"),
        Attribute("StartTime", ValueType.DATETIME, "start_time_ms"),
        Attribute("CloseTime", ValueType.DATETIME, "close_time_ms"),
        Attribute("ExecutionTime", ValueType.DATETIME, "execution_time_ms"),
        Attribute("HistoryLength", ValueType.INT, "history_length"),
    )
}
TIME_ATTRIBUTES = ("StartTime", "CloseTime", "ExecutionTime")

# Names users write for ExecutionStatus values -> WorkflowExecutionStatus numbers.
STATUS_NAMES: Mapping[str, int] = {
    "Running": enums_pb2.WORKFLOW_EXECUTION_STATUS_RUNNING,
    "Completed": enums_pb2.WORKFLOW_EXECUTION_STATUS_COMPLETED,
    "Failed": enums_pb2.WORKFLOW_EXECUTION_STATUS_FAILED,
    "Canceled": enums_pb2.WORKFLOW_EXECUTION_STATUS_CANCELED,
    "Terminated": enums_pb2.WORKFLOW_EXECUTION_STATUS_TERMINATED,
    "ContinuedAsNew": enums_pb2.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW,
    "TimedOut": enums_pb2.WORKFLOW_EXECUTION_STATUS_TIMED_OUT,
}

Value = str | int | float | bool | tuple[str, ...]


def check_custom_name(name: str) -> None:
    """ValueError unless ``name`` can be registered (not a system name, a plain identifier)."""
    if name in SYSTEM_ATTRIBUTES:
        raise ValueError(f"search attribute {name!r} is a system attribute and cannot be registered")
    if not _NAME_PATTERN.fullmatch(name):
        raise ValueError(
            f"search attribute name {name!r} is not allowed; use 1-64 letters, digits and '_', "
            "starting with a letter or '_'"
        )


def parse_datetime_ms(text: str) -> int:
    """ISO 8601 -> unix ms (UTC when no zone is given); ValueError with the expected form."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 datetime like '2026-01-01T00:00:00Z'") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def coerce(value: object, value_type: ValueType) -> Value:
    """A JSON value as ``value_type`` says; ValueError saying what was expected."""
    if value_type in (ValueType.KEYWORD, ValueType.TEXT):
        limit = MAX_KEYWORD_LENGTH if value_type is ValueType.KEYWORD else MAX_TEXT_LENGTH
        if not isinstance(value, str):
            raise ValueError(f"expected a string ({value_type.value}), got {_show(value)}")
        if len(value) > limit:
            raise ValueError(f"a {value_type.value} is at most {limit} characters; got {len(value)}")
        return value
    if value_type is ValueType.INT:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected an integer (Int), got {_show(value)}")
        if not -(2**63) <= value < 2**63:
            raise ValueError(f"an Int is a signed 64-bit integer; {value} is out of range")
        return value
    if value_type is ValueType.DOUBLE:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"expected a number (Double), got {_show(value)}")
        if not math.isfinite(value):
            raise ValueError(f"a Double must be finite, got {value}")
        return float(value)
    if value_type is ValueType.BOOL:
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false (Bool), got {_show(value)}")
        return value
    if value_type is ValueType.DATETIME:
        if not isinstance(value, str):
            raise ValueError(f"expected an ISO 8601 datetime string (Datetime), got {_show(value)}")
        return parse_datetime_ms(value)
    if value_type is ValueType.KEYWORD_LIST:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise ValueError(f"expected a list of strings (KeywordList), got {_show(value)}")
        if len(items) > MAX_KEYWORD_LIST_LENGTH:
            raise ValueError(f"a KeywordList holds at most {MAX_KEYWORD_LIST_LENGTH} items; got {len(items)}")
        for item in items:
            coerce(item, ValueType.KEYWORD)
        return tuple(items)
    raise ValueError(f"{value_type.value} values cannot be stored in a search attribute")


def _show(value: object) -> str:
    text = json.dumps(value) if not isinstance(value, bytes) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _payload_json(payload: common_pb2.Payload) -> object:
    if payload.metadata.get(ENCODING, b"") != JSON_PLAIN:
        raise ValueError("is not a plain JSON payload; search attributes must not go through a payload codec")
    try:
        return json.loads(payload.data)
    except ValueError:
        raise ValueError("holds malformed JSON") from None


def is_null(payload: common_pb2.Payload) -> bool:
    """A null value in an upsert removes the attribute."""
    return payload.metadata.get(ENCODING, b"") == b"binary/null" or (
        payload.metadata.get(ENCODING, b"") == JSON_PLAIN and payload.data.strip() == b"null"
    )


def validate(attributes: common_pb2.SearchAttributes, registered: Mapping[str, ValueType]) -> None:
    """Check every value against its registered type and stamp the type on it, in place.

    ValueError naming the attribute and what is allowed; nothing is stamped then
    (the caller refuses the whole request). A null value (removal in an upsert) passes.
    """
    stamped: dict[str, bytes] = {}
    for name, payload in attributes.indexed_fields.items():
        value_type = registered.get(name)
        if value_type is None:
            known = ", ".join(sorted(registered)) or "none are registered"
            raise ValueError(
                f"search attribute {name!r} is not registered in this namespace (registered: {known}); "
                "register it with `legato namespace update --search-attribute NAME=TYPE`"
            )
        if is_null(payload):
            continue
        try:
            coerce(_payload_json(payload), value_type)
        except ValueError as err:
            raise ValueError(f"search attribute {name!r} ({value_type.value}): {err}") from None
        stamped[name] = value_type.value.encode()
    for name, type_name in stamped.items():
        attributes.indexed_fields[name].metadata[TYPE_METADATA] = type_name


def typed_values(blob: bytes | common_pb2.SearchAttributes) -> dict[str, tuple[ValueType, Value]]:
    """The stamped values of a stored ``SearchAttributes`` (unstamped or unreadable ones are skipped).

    Skipping rather than failing: a stored value was validated when written,
    so one that cannot be read is left unindexed instead of making the whole
    run unlistable.
    """
    attributes = blob if isinstance(blob, common_pb2.SearchAttributes) else common_pb2.SearchAttributes()
    if isinstance(blob, bytes) and blob:
        try:
            attributes.ParseFromString(blob)
        except Exception:  # noqa: BLE001 - a foreign blob indexes nothing
            return {}
    values: dict[str, tuple[ValueType, Value]] = {}
    for name, payload in attributes.indexed_fields.items():
        type_name = payload.metadata.get(TYPE_METADATA, b"").decode(errors="replace")
        try:
            value_type = ValueType(type_name)
            if is_null(payload):
                continue
            values[name] = (value_type, coerce(_payload_json(payload), value_type))
        except ValueError:
            continue
    return values
