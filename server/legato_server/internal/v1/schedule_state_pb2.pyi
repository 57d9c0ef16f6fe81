from legato.api.v1 import schedule_pb2 as _schedule_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PendingAction(_message.Message):
    __slots__ = ("nominal_time_ms", "actual_time_ms", "overlap_policy", "manual", "cancel_requested")
    NOMINAL_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    ACTUAL_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    OVERLAP_POLICY_FIELD_NUMBER: _ClassVar[int]
    MANUAL_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    nominal_time_ms: int
    actual_time_ms: int
    overlap_policy: _schedule_pb2.ScheduleOverlapPolicy
    manual: bool
    cancel_requested: bool
    def __init__(self, nominal_time_ms: _Optional[int] = ..., actual_time_ms: _Optional[int] = ..., overlap_policy: _Optional[_Union[_schedule_pb2.ScheduleOverlapPolicy, str]] = ..., manual: _Optional[bool] = ..., cancel_requested: _Optional[bool] = ...) -> None: ...

class ScheduleRecordState(_message.Message):
    __slots__ = ("schedule", "info", "last_processed_ms", "pending", "recent_request_ids", "namespace")
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    LAST_PROCESSED_MS_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    RECENT_REQUEST_IDS_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    schedule: _schedule_pb2.Schedule
    info: _schedule_pb2.ScheduleInfo
    last_processed_ms: int
    pending: _containers.RepeatedCompositeFieldContainer[PendingAction]
    recent_request_ids: _containers.RepeatedScalarFieldContainer[str]
    namespace: str
    def __init__(self, schedule: _Optional[_Union[_schedule_pb2.Schedule, _Mapping]] = ..., info: _Optional[_Union[_schedule_pb2.ScheduleInfo, _Mapping]] = ..., last_processed_ms: _Optional[int] = ..., pending: _Optional[_Iterable[_Union[PendingAction, _Mapping]]] = ..., recent_request_ids: _Optional[_Iterable[str]] = ..., namespace: _Optional[str] = ...) -> None: ...
