import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from legato.api.v1 import common_pb2 as _common_pb2
from legato.api.v1 import enums_pb2 as _enums_pb2
from legato.api.v1 import history_pb2 as _history_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TransferTaskType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRANSFER_TASK_TYPE_UNSPECIFIED: _ClassVar[TransferTaskType]
    TRANSFER_TASK_TYPE_WORKFLOW_TASK: _ClassVar[TransferTaskType]
    TRANSFER_TASK_TYPE_ACTIVITY_TASK: _ClassVar[TransferTaskType]
    TRANSFER_TASK_TYPE_RECORD_STARTED: _ClassVar[TransferTaskType]
    TRANSFER_TASK_TYPE_UPSERT_VISIBILITY: _ClassVar[TransferTaskType]
    TRANSFER_TASK_TYPE_CLOSE_EXECUTION: _ClassVar[TransferTaskType]
    TRANSFER_TASK_TYPE_START_CHILD: _ClassVar[TransferTaskType]
    TRANSFER_TASK_TYPE_SIGNAL_EXTERNAL: _ClassVar[TransferTaskType]
    TRANSFER_TASK_TYPE_CANCEL_EXTERNAL: _ClassVar[TransferTaskType]

class TimerTaskType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TIMER_TASK_TYPE_UNSPECIFIED: _ClassVar[TimerTaskType]
    TIMER_TASK_TYPE_USER_TIMER: _ClassVar[TimerTaskType]
    TIMER_TASK_TYPE_ACTIVITY_TIMEOUT: _ClassVar[TimerTaskType]
    TIMER_TASK_TYPE_ACTIVITY_RETRY: _ClassVar[TimerTaskType]
    TIMER_TASK_TYPE_WORKFLOW_TASK_TIMEOUT: _ClassVar[TimerTaskType]
    TIMER_TASK_TYPE_WORKFLOW_TIMEOUT: _ClassVar[TimerTaskType]
    TIMER_TASK_TYPE_WORKFLOW_BACKOFF: _ClassVar[TimerTaskType]
    TIMER_TASK_TYPE_DELETE_EXECUTION: _ClassVar[TimerTaskType]
    TIMER_TASK_TYPE_WORKFLOW_TASK_RETRY: _ClassVar[TimerTaskType]
TRANSFER_TASK_TYPE_UNSPECIFIED: TransferTaskType
TRANSFER_TASK_TYPE_WORKFLOW_TASK: TransferTaskType
TRANSFER_TASK_TYPE_ACTIVITY_TASK: TransferTaskType
TRANSFER_TASK_TYPE_RECORD_STARTED: TransferTaskType
TRANSFER_TASK_TYPE_UPSERT_VISIBILITY: TransferTaskType
TRANSFER_TASK_TYPE_CLOSE_EXECUTION: TransferTaskType
TRANSFER_TASK_TYPE_START_CHILD: TransferTaskType
TRANSFER_TASK_TYPE_SIGNAL_EXTERNAL: TransferTaskType
TRANSFER_TASK_TYPE_CANCEL_EXTERNAL: TransferTaskType
TIMER_TASK_TYPE_UNSPECIFIED: TimerTaskType
TIMER_TASK_TYPE_USER_TIMER: TimerTaskType
TIMER_TASK_TYPE_ACTIVITY_TIMEOUT: TimerTaskType
TIMER_TASK_TYPE_ACTIVITY_RETRY: TimerTaskType
TIMER_TASK_TYPE_WORKFLOW_TASK_TIMEOUT: TimerTaskType
TIMER_TASK_TYPE_WORKFLOW_TIMEOUT: TimerTaskType
TIMER_TASK_TYPE_WORKFLOW_BACKOFF: TimerTaskType
TIMER_TASK_TYPE_DELETE_EXECUTION: TimerTaskType
TIMER_TASK_TYPE_WORKFLOW_TASK_RETRY: TimerTaskType

class MutableState(_message.Message):
    __slots__ = ("execution_info", "activities", "timers", "children", "request_cancels", "signals", "signal_request_ids", "buffered_events", "workflow_task", "updates")
    class ActivitiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: ActivityInfo
        def __init__(self, key: _Optional[int] = ..., value: _Optional[_Union[ActivityInfo, _Mapping]] = ...) -> None: ...
    class TimersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: TimerInfo
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[TimerInfo, _Mapping]] = ...) -> None: ...
    class ChildrenEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: ChildExecutionInfo
        def __init__(self, key: _Optional[int] = ..., value: _Optional[_Union[ChildExecutionInfo, _Mapping]] = ...) -> None: ...
    class RequestCancelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: ExternalRequestInfo
        def __init__(self, key: _Optional[int] = ..., value: _Optional[_Union[ExternalRequestInfo, _Mapping]] = ...) -> None: ...
    class SignalsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: ExternalRequestInfo
        def __init__(self, key: _Optional[int] = ..., value: _Optional[_Union[ExternalRequestInfo, _Mapping]] = ...) -> None: ...
    class UpdatesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: UpdateInfo
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[UpdateInfo, _Mapping]] = ...) -> None: ...
    EXECUTION_INFO_FIELD_NUMBER: _ClassVar[int]
    ACTIVITIES_FIELD_NUMBER: _ClassVar[int]
    TIMERS_FIELD_NUMBER: _ClassVar[int]
    CHILDREN_FIELD_NUMBER: _ClassVar[int]
    REQUEST_CANCELS_FIELD_NUMBER: _ClassVar[int]
    SIGNALS_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_REQUEST_IDS_FIELD_NUMBER: _ClassVar[int]
    BUFFERED_EVENTS_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TASK_FIELD_NUMBER: _ClassVar[int]
    UPDATES_FIELD_NUMBER: _ClassVar[int]
    execution_info: ExecutionInfo
    activities: _containers.MessageMap[int, ActivityInfo]
    timers: _containers.MessageMap[str, TimerInfo]
    children: _containers.MessageMap[int, ChildExecutionInfo]
    request_cancels: _containers.MessageMap[int, ExternalRequestInfo]
    signals: _containers.MessageMap[int, ExternalRequestInfo]
    signal_request_ids: _containers.RepeatedScalarFieldContainer[str]
    buffered_events: _containers.RepeatedCompositeFieldContainer[_history_pb2.HistoryEvent]
    workflow_task: WorkflowTaskInfo
    updates: _containers.MessageMap[str, UpdateInfo]
    def __init__(self, execution_info: _Optional[_Union[ExecutionInfo, _Mapping]] = ..., activities: _Optional[_Mapping[int, ActivityInfo]] = ..., timers: _Optional[_Mapping[str, TimerInfo]] = ..., children: _Optional[_Mapping[int, ChildExecutionInfo]] = ..., request_cancels: _Optional[_Mapping[int, ExternalRequestInfo]] = ..., signals: _Optional[_Mapping[int, ExternalRequestInfo]] = ..., signal_request_ids: _Optional[_Iterable[str]] = ..., buffered_events: _Optional[_Iterable[_Union[_history_pb2.HistoryEvent, _Mapping]]] = ..., workflow_task: _Optional[_Union[WorkflowTaskInfo, _Mapping]] = ..., updates: _Optional[_Mapping[str, UpdateInfo]] = ...) -> None: ...

class UpdateInfo(_message.Message):
    __slots__ = ("update_id", "completed_event_id")
    UPDATE_ID_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    update_id: str
    completed_event_id: int
    def __init__(self, update_id: _Optional[str] = ..., completed_event_id: _Optional[int] = ...) -> None: ...

class ExecutionInfo(_message.Message):
    __slots__ = ("namespace_id", "workflow_id", "run_id", "first_execution_run_id", "workflow_type_name", "task_queue", "workflow_execution_timeout", "workflow_run_timeout", "workflow_task_timeout", "start_time", "execution_time", "close_time", "execution_expiration_time", "status", "next_event_id", "last_completed_workflow_task_started_event_id", "sticky_task_queue", "sticky_schedule_to_start_timeout", "cancel_requested", "cancel_request_id", "create_request_id", "parent_namespace_id", "parent_namespace", "parent_execution", "parent_initiated_event_id", "retry_policy", "attempt", "cron_schedule", "memo", "search_attributes", "close_event_id", "namespace", "trace_context", "reset_by", "reset_from")
    class TraceContextEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    FIRST_EXECUTION_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TYPE_NAME_FIELD_NUMBER: _ClassVar[int]
    TASK_QUEUE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_RUN_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TASK_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_TIME_FIELD_NUMBER: _ClassVar[int]
    CLOSE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_EXPIRATION_TIME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    NEXT_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_COMPLETED_WORKFLOW_TASK_STARTED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STICKY_TASK_QUEUE_FIELD_NUMBER: _ClassVar[int]
    STICKY_SCHEDULE_TO_START_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    PARENT_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    PARENT_INITIATED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    RETRY_POLICY_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    CRON_SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    MEMO_FIELD_NUMBER: _ClassVar[int]
    SEARCH_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    CLOSE_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    TRACE_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    RESET_BY_FIELD_NUMBER: _ClassVar[int]
    RESET_FROM_FIELD_NUMBER: _ClassVar[int]
    namespace_id: str
    workflow_id: str
    run_id: str
    first_execution_run_id: str
    workflow_type_name: str
    task_queue: str
    workflow_execution_timeout: _duration_pb2.Duration
    workflow_run_timeout: _duration_pb2.Duration
    workflow_task_timeout: _duration_pb2.Duration
    start_time: _timestamp_pb2.Timestamp
    execution_time: _timestamp_pb2.Timestamp
    close_time: _timestamp_pb2.Timestamp
    execution_expiration_time: _timestamp_pb2.Timestamp
    status: _enums_pb2.WorkflowExecutionStatus
    next_event_id: int
    last_completed_workflow_task_started_event_id: int
    sticky_task_queue: str
    sticky_schedule_to_start_timeout: _duration_pb2.Duration
    cancel_requested: bool
    cancel_request_id: str
    create_request_id: str
    parent_namespace_id: str
    parent_namespace: str
    parent_execution: _common_pb2.WorkflowExecution
    parent_initiated_event_id: int
    retry_policy: _common_pb2.RetryPolicy
    attempt: int
    cron_schedule: str
    memo: _common_pb2.Memo
    search_attributes: _common_pb2.SearchAttributes
    close_event_id: int
    namespace: str
    trace_context: _containers.ScalarMap[str, str]
    reset_by: _common_pb2.ResetRecord
    reset_from: _common_pb2.ResetRecord
    def __init__(self, namespace_id: _Optional[str] = ..., workflow_id: _Optional[str] = ..., run_id: _Optional[str] = ..., first_execution_run_id: _Optional[str] = ..., workflow_type_name: _Optional[str] = ..., task_queue: _Optional[str] = ..., workflow_execution_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., workflow_run_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., workflow_task_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., execution_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., close_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., execution_expiration_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status: _Optional[_Union[_enums_pb2.WorkflowExecutionStatus, str]] = ..., next_event_id: _Optional[int] = ..., last_completed_workflow_task_started_event_id: _Optional[int] = ..., sticky_task_queue: _Optional[str] = ..., sticky_schedule_to_start_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., cancel_requested: _Optional[bool] = ..., cancel_request_id: _Optional[str] = ..., create_request_id: _Optional[str] = ..., parent_namespace_id: _Optional[str] = ..., parent_namespace: _Optional[str] = ..., parent_execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ..., parent_initiated_event_id: _Optional[int] = ..., retry_policy: _Optional[_Union[_common_pb2.RetryPolicy, _Mapping]] = ..., attempt: _Optional[int] = ..., cron_schedule: _Optional[str] = ..., memo: _Optional[_Union[_common_pb2.Memo, _Mapping]] = ..., search_attributes: _Optional[_Union[_common_pb2.SearchAttributes, _Mapping]] = ..., close_event_id: _Optional[int] = ..., namespace: _Optional[str] = ..., trace_context: _Optional[_Mapping[str, str]] = ..., reset_by: _Optional[_Union[_common_pb2.ResetRecord, _Mapping]] = ..., reset_from: _Optional[_Union[_common_pb2.ResetRecord, _Mapping]] = ...) -> None: ...

class WorkflowTaskInfo(_message.Message):
    __slots__ = ("scheduled_event_id", "started_event_id", "attempt", "request_id", "identity", "task_queue", "scheduled_time", "started_time", "start_to_close_timeout", "waiting_for_backoff")
    SCHEDULED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    TASK_QUEUE_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_TIME_FIELD_NUMBER: _ClassVar[int]
    STARTED_TIME_FIELD_NUMBER: _ClassVar[int]
    START_TO_CLOSE_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    WAITING_FOR_BACKOFF_FIELD_NUMBER: _ClassVar[int]
    scheduled_event_id: int
    started_event_id: int
    attempt: int
    request_id: str
    identity: str
    task_queue: _common_pb2.TaskQueue
    scheduled_time: _timestamp_pb2.Timestamp
    started_time: _timestamp_pb2.Timestamp
    start_to_close_timeout: _duration_pb2.Duration
    waiting_for_backoff: bool
    def __init__(self, scheduled_event_id: _Optional[int] = ..., started_event_id: _Optional[int] = ..., attempt: _Optional[int] = ..., request_id: _Optional[str] = ..., identity: _Optional[str] = ..., task_queue: _Optional[_Union[_common_pb2.TaskQueue, _Mapping]] = ..., scheduled_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., start_to_close_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., waiting_for_backoff: _Optional[bool] = ...) -> None: ...

class ActivityInfo(_message.Message):
    __slots__ = ("scheduled_event_id", "activity_id", "activity_type", "task_queue", "scheduled_time", "current_attempt_scheduled_time", "attempt", "started", "started_time", "started_request_id", "started_identity", "heartbeat_details", "last_heartbeat_time", "cancel_requested", "cancel_requested_event_id", "last_failure", "schedule_to_start_timeout", "start_to_close_timeout", "schedule_to_close_timeout", "heartbeat_timeout", "retry_policy", "header", "input", "last_worker_identity")
    SCHEDULED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_ID_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_TYPE_FIELD_NUMBER: _ClassVar[int]
    TASK_QUEUE_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_TIME_FIELD_NUMBER: _ClassVar[int]
    CURRENT_ATTEMPT_SCHEDULED_TIME_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    STARTED_TIME_FIELD_NUMBER: _ClassVar[int]
    STARTED_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_DETAILS_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_TIME_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REQUESTED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_FAILURE_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_TO_START_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    START_TO_CLOSE_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_TO_CLOSE_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    RETRY_POLICY_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    LAST_WORKER_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    scheduled_event_id: int
    activity_id: str
    activity_type: _common_pb2.ActivityType
    task_queue: _common_pb2.TaskQueue
    scheduled_time: _timestamp_pb2.Timestamp
    current_attempt_scheduled_time: _timestamp_pb2.Timestamp
    attempt: int
    started: bool
    started_time: _timestamp_pb2.Timestamp
    started_request_id: str
    started_identity: str
    heartbeat_details: _common_pb2.Payloads
    last_heartbeat_time: _timestamp_pb2.Timestamp
    cancel_requested: bool
    cancel_requested_event_id: int
    last_failure: _common_pb2.Failure
    schedule_to_start_timeout: _duration_pb2.Duration
    start_to_close_timeout: _duration_pb2.Duration
    schedule_to_close_timeout: _duration_pb2.Duration
    heartbeat_timeout: _duration_pb2.Duration
    retry_policy: _common_pb2.RetryPolicy
    header: _common_pb2.Header
    input: _common_pb2.Payloads
    last_worker_identity: str
    def __init__(self, scheduled_event_id: _Optional[int] = ..., activity_id: _Optional[str] = ..., activity_type: _Optional[_Union[_common_pb2.ActivityType, _Mapping]] = ..., task_queue: _Optional[_Union[_common_pb2.TaskQueue, _Mapping]] = ..., scheduled_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., current_attempt_scheduled_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attempt: _Optional[int] = ..., started: _Optional[bool] = ..., started_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started_request_id: _Optional[str] = ..., started_identity: _Optional[str] = ..., heartbeat_details: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ..., last_heartbeat_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cancel_requested: _Optional[bool] = ..., cancel_requested_event_id: _Optional[int] = ..., last_failure: _Optional[_Union[_common_pb2.Failure, _Mapping]] = ..., schedule_to_start_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., start_to_close_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., schedule_to_close_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., heartbeat_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., retry_policy: _Optional[_Union[_common_pb2.RetryPolicy, _Mapping]] = ..., header: _Optional[_Union[_common_pb2.Header, _Mapping]] = ..., input: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ..., last_worker_identity: _Optional[str] = ...) -> None: ...

class TimerInfo(_message.Message):
    __slots__ = ("timer_id", "started_event_id", "expiry_time")
    TIMER_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRY_TIME_FIELD_NUMBER: _ClassVar[int]
    timer_id: str
    started_event_id: int
    expiry_time: _timestamp_pb2.Timestamp
    def __init__(self, timer_id: _Optional[str] = ..., started_event_id: _Optional[int] = ..., expiry_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ChildExecutionInfo(_message.Message):
    __slots__ = ("initiated_event_id", "started_event_id", "namespace", "namespace_id", "workflow_id", "run_id", "workflow_type_name", "parent_close_policy", "create_request_id")
    INITIATED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TYPE_NAME_FIELD_NUMBER: _ClassVar[int]
    PARENT_CLOSE_POLICY_FIELD_NUMBER: _ClassVar[int]
    CREATE_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    initiated_event_id: int
    started_event_id: int
    namespace: str
    namespace_id: str
    workflow_id: str
    run_id: str
    workflow_type_name: str
    parent_close_policy: _enums_pb2.ParentClosePolicy
    create_request_id: str
    def __init__(self, initiated_event_id: _Optional[int] = ..., started_event_id: _Optional[int] = ..., namespace: _Optional[str] = ..., namespace_id: _Optional[str] = ..., workflow_id: _Optional[str] = ..., run_id: _Optional[str] = ..., workflow_type_name: _Optional[str] = ..., parent_close_policy: _Optional[_Union[_enums_pb2.ParentClosePolicy, str]] = ..., create_request_id: _Optional[str] = ...) -> None: ...

class ExternalRequestInfo(_message.Message):
    __slots__ = ("initiated_event_id", "request_id")
    INITIATED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    initiated_event_id: int
    request_id: str
    def __init__(self, initiated_event_id: _Optional[int] = ..., request_id: _Optional[str] = ...) -> None: ...

class TransferTaskInfo(_message.Message):
    __slots__ = ("task_type", "namespace_id", "workflow_id", "run_id", "event_id", "task_queue", "schedule_to_start_timeout", "trace_context")
    class TraceContextEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_QUEUE_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_TO_START_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    TRACE_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    task_type: TransferTaskType
    namespace_id: str
    workflow_id: str
    run_id: str
    event_id: int
    task_queue: _common_pb2.TaskQueue
    schedule_to_start_timeout: _duration_pb2.Duration
    trace_context: _containers.ScalarMap[str, str]
    def __init__(self, task_type: _Optional[_Union[TransferTaskType, str]] = ..., namespace_id: _Optional[str] = ..., workflow_id: _Optional[str] = ..., run_id: _Optional[str] = ..., event_id: _Optional[int] = ..., task_queue: _Optional[_Union[_common_pb2.TaskQueue, _Mapping]] = ..., schedule_to_start_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., trace_context: _Optional[_Mapping[str, str]] = ...) -> None: ...

class TimerTaskInfo(_message.Message):
    __slots__ = ("task_type", "namespace_id", "workflow_id", "run_id", "event_id", "attempt", "timeout_type", "timer_id", "trace_context")
    class TraceContextEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_TYPE_FIELD_NUMBER: _ClassVar[int]
    TIMER_ID_FIELD_NUMBER: _ClassVar[int]
    TRACE_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    task_type: TimerTaskType
    namespace_id: str
    workflow_id: str
    run_id: str
    event_id: int
    attempt: int
    timeout_type: _enums_pb2.TimeoutType
    timer_id: str
    trace_context: _containers.ScalarMap[str, str]
    def __init__(self, task_type: _Optional[_Union[TimerTaskType, str]] = ..., namespace_id: _Optional[str] = ..., workflow_id: _Optional[str] = ..., run_id: _Optional[str] = ..., event_id: _Optional[int] = ..., attempt: _Optional[int] = ..., timeout_type: _Optional[_Union[_enums_pb2.TimeoutType, str]] = ..., timer_id: _Optional[str] = ..., trace_context: _Optional[_Mapping[str, str]] = ...) -> None: ...

class HistoryPageToken(_message.Message):
    __slots__ = ("run_id", "next_event_id", "last_returned_event_id")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    NEXT_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_RETURNED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    next_event_id: int
    last_returned_event_id: int
    def __init__(self, run_id: _Optional[str] = ..., next_event_id: _Optional[int] = ..., last_returned_event_id: _Optional[int] = ...) -> None: ...
