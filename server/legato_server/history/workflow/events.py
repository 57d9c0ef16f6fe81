"""Building history events, and the facts about event types the engine relies on.

Events are created without an id (``event_id`` 0) by the operation that causes
them; ``MutableState`` numbers them when they enter history, or buffers them
while a workflow task is running. A buffered completion may refer to a started
event that is itself still buffered (an activity's ActivityTaskStarted is
written together with its completion); such references carry
``PENDING_EVENT_ID`` and are resolved when the buffer is flushed.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import duration_pb2, timestamp_pb2

from legato.api.v1 import enums_pb2, history_pb2

ET = enums_pb2.EventType

# Placeholder for "the id of the started event buffered just before this one".
PENDING_EVENT_ID = -1

CLOSE_EVENT_TYPES = frozenset(
    {
        ET.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
        ET.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
        ET.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
        ET.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
        ET.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
        ET.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
    }
)

# The oneof field of HistoryEvent for each event type.
_ATTRIBUTE_FIELD: dict[int, str] = {}
for _field in history_pb2.HistoryEvent.DESCRIPTOR.oneofs_by_name["attributes"].fields:
    _name = _field.name.removesuffix("_event_attributes").upper()
    _ATTRIBUTE_FIELD[ET.Value(f"EVENT_TYPE_{_name}")] = _field.name


def attributes_field(event_type: enums_pb2.EventType) -> str:
    return _ATTRIBUTE_FIELD[event_type]


def new_event(event_type: enums_pb2.EventType, attributes: Any, *, time_ms: int) -> history_pb2.HistoryEvent:
    """An event without id; ``attributes`` is the matching *EventAttributes message."""
    event = history_pb2.HistoryEvent(event_type=event_type, event_time=timestamp(time_ms))
    getattr(event, _ATTRIBUTE_FIELD[event_type]).CopyFrom(attributes)
    return event


def attributes_of(event: history_pb2.HistoryEvent) -> Any:
    return getattr(event, _ATTRIBUTE_FIELD[event.event_type])


def timestamp(ms: int) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromMilliseconds(ms)
    return ts


def ts_ms(ts: timestamp_pb2.Timestamp) -> int:
    return ts.ToMilliseconds()


def duration(seconds: float) -> duration_pb2.Duration:
    d = duration_pb2.Duration()
    d.FromNanoseconds(int(seconds * 1e9))
    return d


def duration_ms(d: duration_pb2.Duration) -> int:
    return d.ToMilliseconds()


def resolve_pending_started_ids(events: list[history_pb2.HistoryEvent]) -> None:
    """Fill in PENDING_EVENT_ID references once a buffered batch has its ids.

    An ActivityTaskStarted (or ChildWorkflowExecutionStarted) event followed in
    the same flushed batch by its completion: the completion's started_event_id
    becomes the started event's new id.
    """
    activity_started: dict[int, int] = {}
    child_started: dict[int, int] = {}
    for event in events:
        et = event.event_type
        if et == ET.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            activity_started[event.activity_task_started_event_attributes.scheduled_event_id] = event.event_id
        elif et == ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
            attrs = event.child_workflow_execution_started_event_attributes
            child_started[attrs.initiated_event_id] = event.event_id
        elif et in _ACTIVITY_CLOSE_TYPES:
            attrs = attributes_of(event)
            if attrs.started_event_id == PENDING_EVENT_ID:
                attrs.started_event_id = activity_started.get(attrs.scheduled_event_id, 0)
        elif et in _CHILD_CLOSE_TYPES:
            attrs = attributes_of(event)
            if attrs.started_event_id == PENDING_EVENT_ID:
                attrs.started_event_id = child_started.get(attrs.initiated_event_id, 0)


_ACTIVITY_CLOSE_TYPES = frozenset(
    {
        ET.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
        ET.EVENT_TYPE_ACTIVITY_TASK_FAILED,
        ET.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
        ET.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
    }
)
_CHILD_CLOSE_TYPES = frozenset(
    {
        ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
        ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED,
        ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED,
        ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
        ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED,
    }
)
