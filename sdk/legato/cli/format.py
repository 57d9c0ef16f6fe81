"""Turning API messages into text a person reads: tables, field lists, histories.

Everything here is pure (messages in, strings out), so it is tested with
hand-built protos and no server. The rules that keep the output useful:

* **Payloads are shown decoded** with the SDK's ``PayloadConverter``, as JSON
  (``"done"``, ``{"id": 1}``); a payload it cannot decode (e.g. encrypted by a
  codec the CLI does not have) is shown as ``<encoding, N bytes>``, never as an
  error — one odd payload must not hide the rest of a history.
* **Enums lose their prefix and shout**: ``EVENT_TYPE_TIMER_FIRED`` is shown as
  ``TimerFired``, ``WORKFLOW_EXECUTION_STATUS_TIMED_OUT`` as ``TimedOut``.
* **Times are UTC**, ISO 8601 with milliseconds and a ``Z``.
* **Table cells stay on one line**: long values are cut with ``…`` (the JSON
  output modes are the place for whole values).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Sequence
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from legato.api.v1 import common_pb2, enums_pb2, history_pb2
from legato.cli.durations import format_duration
from legato.converter import ENCODING, PayloadConverter
from legato.exceptions import PayloadConversionError

CELL_LIMIT = 120
"""Longest value shown in a table cell or history summary before it is cut."""

_converter = PayloadConverter()


# ---- Tables -----------------------------------------------------------------


def render_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Columns aligned on the widest cell, two spaces apart, no trailing blanks."""
    all_rows = [list(headers), *(list(row) for row in rows)]
    widths = [max(len(row[i]) for row in all_rows) for i in range(len(headers))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in all_rows
    ]
    return "\n".join(lines)


def render_fields(fields: Sequence[tuple[str, str]]) -> str:
    """``Key:   value`` lines with the values aligned."""
    width = max((len(key) for key, _ in fields), default=0) + 1
    return "\n".join(f"{key + ':':<{width}}  {value}".rstrip() for key, value in fields)


def messages_json(messages: Iterable[Message]) -> str:
    """A JSON array of messages in proto3's JSON mapping (what ``--output json`` prints for lists)."""
    return json.dumps([json_format.MessageToDict(m) for m in messages], indent=2)


def cut(text: str, limit: int = CELL_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---- Scalars ----------------------------------------------------------------


def format_time(timestamp: Timestamp) -> str:
    """A Timestamp as ``2024-05-01T12:00:00.250Z``; an unset one as ``""``."""
    if timestamp.seconds == 0 and timestamp.nanos == 0:
        return ""
    moment = timestamp.ToDatetime(tzinfo=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{moment.microsecond // 1000:03d}Z"


def enum_label(enum_type: Any, value: int) -> str:
    """``WORKFLOW_EXECUTION_STATUS_TIMED_OUT`` -> ``TimedOut`` (the type's name is the prefix)."""
    try:
        name = enum_type.Name(value)
    except ValueError:
        return str(value)
    prefix = "".join(f"_{c}" if c.isupper() else c.upper() for c in enum_type.DESCRIPTOR.name).lstrip("_")
    words = name.removeprefix(prefix + "_").split("_")
    return "".join(word.capitalize() for word in words)


def status_label(status: int) -> str:
    return enum_label(enums_pb2.WorkflowExecutionStatus, status)


def event_type_label(event_type: int) -> str:
    return enum_label(enums_pb2.EventType, event_type)


# ---- Payloads and failures --------------------------------------------------


class Undecodable:
    """A payload the CLI's converter cannot read; shown as its encoding and size."""

    def __init__(self, payload: common_pb2.Payload) -> None:
        self.encoding = payload.metadata.get(ENCODING, b"").decode(errors="replace") or "no encoding"
        self.size = len(payload.data)

    def __str__(self) -> str:
        return f"<{self.encoding}, {self.size} bytes>"


def decode_payload(payload: common_pb2.Payload) -> Any:
    """The payload's value, or an ``Undecodable`` standing in for it."""
    try:
        return _converter.from_payload(payload)
    except PayloadConversionError:
        return Undecodable(payload)


def decode_payloads(payloads: common_pb2.Payloads) -> list[Any]:
    return [decode_payload(p) for p in payloads.payloads]


def value_text(value: Any, *, indent: int | None = None) -> str:
    """A decoded value as JSON text (bytes and undecodable payloads described instead)."""
    if isinstance(value, Undecodable):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    separators = (",", ": ") if indent is not None else (", ", ": ")
    return json.dumps(value, indent=indent, separators=separators, ensure_ascii=False)


def payloads_text(payloads: common_pb2.Payloads) -> str:
    """One value as itself, several as a JSON-like list."""
    values = [value_text(value) for value in decode_payloads(payloads)]
    return values[0] if len(values) == 1 else "[" + ", ".join(values) + "]"


def failure_text(failure: common_pb2.Failure) -> str:
    """The failure and its causes on one line: ``activity failed: card declined (CardDeclined)``."""
    parts = []
    current: common_pb2.Failure | None = failure
    while current is not None:
        parts.append(_one_failure(current))
        current = current.cause if current.HasField("cause") else None
    return ": ".join(parts)


def _one_failure(failure: common_pb2.Failure) -> str:
    kind = failure.WhichOneof("failure_info")
    label = ""
    if kind == "application_failure_info":
        label = failure.application_failure_info.type
    elif kind == "timeout_failure_info":
        label = enum_label(enums_pb2.TimeoutType, failure.timeout_failure_info.timeout_type) + " timeout"
    elif kind == "activity_failure_info":
        label = f"activity {failure.activity_failure_info.activity_type.name}".rstrip()
    elif kind == "child_workflow_execution_failure_info":
        label = f"child workflow {failure.child_workflow_execution_failure_info.workflow_type.name}".rstrip()
    elif kind is not None:
        label = kind.removesuffix("_failure_info").replace("_", " ")
    message = failure.message or label or "failure"
    return f"{message} ({label})" if label and label != message else message


# ---- History ----------------------------------------------------------------

# Which attributes summarise each event, in order. Events not listed show every
# attribute that is set, minus the bookkeeping ones below.
_SUMMARY_FIELDS: dict[str, tuple[str, ...]] = {
    "workflow_execution_started_event_attributes": (
        "workflow_type",
        "task_queue",
        "input",
        "attempt",
        "cron_schedule",
        "continued_execution_run_id",
        "parent_workflow_execution",
        "workflow_execution_timeout",
        "workflow_run_timeout",
    ),
    "workflow_execution_completed_event_attributes": ("result", "new_execution_run_id"),
    "workflow_execution_failed_event_attributes": ("failure", "retry_state", "new_execution_run_id"),
    "workflow_execution_timed_out_event_attributes": ("retry_state", "new_execution_run_id"),
    "workflow_task_scheduled_event_attributes": ("task_queue", "attempt"),
    "workflow_task_started_event_attributes": ("identity",),
    "workflow_task_completed_event_attributes": ("identity",),
    "workflow_task_timed_out_event_attributes": ("timeout_type",),
    "workflow_task_failed_event_attributes": ("cause", "failure"),
    "activity_task_scheduled_event_attributes": (
        "activity_type",
        "activity_id",
        "task_queue",
        "input",
        "start_to_close_timeout",
        "schedule_to_close_timeout",
    ),
    "activity_task_started_event_attributes": ("scheduled_event_id", "attempt", "last_failure"),
    "activity_task_completed_event_attributes": ("scheduled_event_id", "result"),
    "activity_task_failed_event_attributes": ("scheduled_event_id", "failure", "retry_state"),
    "activity_task_timed_out_event_attributes": ("scheduled_event_id", "failure", "retry_state"),
    "activity_task_cancel_requested_event_attributes": ("scheduled_event_id",),
    "activity_task_canceled_event_attributes": ("scheduled_event_id", "details"),
    "timer_started_event_attributes": ("timer_id", "start_to_fire_timeout"),
    "timer_fired_event_attributes": ("timer_id",),
    "timer_canceled_event_attributes": ("timer_id",),
    "workflow_execution_cancel_requested_event_attributes": (
        "cause",
        "external_workflow_execution",
        "identity",
    ),
    "workflow_execution_canceled_event_attributes": ("details",),
    "marker_recorded_event_attributes": ("marker_name", "failure"),
    "workflow_execution_signaled_event_attributes": ("signal_name", "input", "identity"),
    "workflow_execution_update_accepted_event_attributes": ("name", "update_id", "input", "identity"),
    "workflow_execution_update_completed_event_attributes": ("update_id", "outcome"),
    "workflow_execution_terminated_event_attributes": ("reason", "details", "identity"),
    "workflow_execution_continued_as_new_event_attributes": (
        "new_execution_run_id",
        "workflow_type",
        "input",
        "backoff_start_interval",
    ),
}
_BOOKKEEPING_FIELDS = frozenset({"workflow_task_completed_event_id", "header"})
_LABELS = {
    "workflow_type": "type",
    "activity_type": "activity",
    "start_to_fire_timeout": "duration",
    "signal_name": "signal",
    "update_id": "update",
    "timer_id": "timer",
    "marker_name": "marker",
    "scheduled_event_id": "scheduled",
    "started_event_id": "started",
    "initiated_event_id": "initiated",
    "new_execution_run_id": "new_run",
    "workflow_execution": "workflow",
    "parent_workflow_execution": "parent",
    "external_workflow_execution": "by",
    "continued_execution_run_id": "continued_from",
}


def event_summary(event: history_pb2.HistoryEvent) -> str:
    """The key attributes of one event as ``key=value, ...``."""
    which = event.WhichOneof("attributes")
    if which is None:
        return ""
    attributes: Message = getattr(event, which)
    set_fields = {field.name: (field, value) for field, value in attributes.ListFields()}
    names = _SUMMARY_FIELDS.get(which) or tuple(
        name for name in set_fields if name not in _BOOKKEEPING_FIELDS
    )
    parts = []
    for name in names:
        if name in set_fields:
            field, value = set_fields[name]
            if isinstance(value, Message) and value.ByteSize() == 0:
                continue  # present but empty, e.g. a zero timeout: "none" is noise here
            parts.append(f"{_LABELS.get(name, name)}={cut(_field_text(field, value))}")
    return ", ".join(parts)


def _field_text(field: FieldDescriptor, value: Any) -> str:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        return "[" + ", ".join(sorted(value)) + "]"
    if _is_repeated(field):
        return "[" + ", ".join(_single_text(field, item) for item in value) + "]"
    return _single_text(field, value)


def _is_repeated(field: FieldDescriptor) -> bool:
    # protobuf 7 dropped ``label`` for ``is_repeated``, which older releases lack.
    if hasattr(field, "is_repeated"):
        return bool(field.is_repeated)
    return bool(getattr(field, "label", None) == FieldDescriptor.LABEL_REPEATED)


def _single_text(field: FieldDescriptor, value: Any) -> str:
    if field.enum_type is not None:
        return enum_label(getattr(enums_pb2, field.enum_type.name), value)
    if field.message_type is None:
        return _plain_text(value)
    kind = field.message_type.full_name
    if kind == "legato.api.v1.Payloads":
        return payloads_text(value)
    if kind == "legato.api.v1.Failure":
        return _plain_text(failure_text(value))
    if kind == "legato.api.v1.UpdateOutcome":
        if value.HasField("failure"):
            return "failure " + _plain_text(failure_text(value.failure))
        return payloads_text(value.success)
    if kind in ("legato.api.v1.WorkflowType", "legato.api.v1.ActivityType", "legato.api.v1.TaskQueue"):
        return value.name
    if kind == "legato.api.v1.WorkflowExecution":
        return value.workflow_id + (f"/{value.run_id}" if value.run_id else "")
    if kind == "google.protobuf.Duration":
        return format_duration(value.ToTimedelta())
    if kind == "google.protobuf.Timestamp":
        return format_time(value)
    if kind in ("legato.api.v1.Memo", "legato.api.v1.Header"):
        return "[" + ", ".join(sorted(value.fields)) + "]"
    if kind == "legato.api.v1.SearchAttributes":
        return "[" + ", ".join(sorted(value.indexed_fields)) + "]"
    return _plain_text(str(value))


def _plain_text(value: Any) -> str:
    """Identifiers as they are; free text quoted when it would blur the ``k=v, k=v`` list."""
    text = str(value)
    if isinstance(value, str) and (not text or any(c in text for c in ' ,=\n"')):
        return json.dumps(text, ensure_ascii=False)
    return text


def render_history(history: history_pb2.History) -> str:
    """One line per event: id, time, type, summary."""
    rows = [
        (
            str(event.event_id),
            format_time(event.event_time),
            event_type_label(event.event_type),
            event_summary(event),
        )
        for event in history.events
    ]
    return render_table(("ID", "TIME", "TYPE", "DETAILS"), rows)
