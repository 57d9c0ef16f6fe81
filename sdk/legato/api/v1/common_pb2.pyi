import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from legato.api.v1 import enums_pb2 as _enums_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Payload(_message.Message):
    __slots__ = ("metadata", "data")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: bytes
        def __init__(self, key: _Optional[str] = ..., value: _Optional[bytes] = ...) -> None: ...
    METADATA_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    metadata: _containers.ScalarMap[str, bytes]
    data: bytes
    def __init__(self, metadata: _Optional[_Mapping[str, bytes]] = ..., data: _Optional[bytes] = ...) -> None: ...

class Payloads(_message.Message):
    __slots__ = ("payloads",)
    PAYLOADS_FIELD_NUMBER: _ClassVar[int]
    payloads: _containers.RepeatedCompositeFieldContainer[Payload]
    def __init__(self, payloads: _Optional[_Iterable[_Union[Payload, _Mapping]]] = ...) -> None: ...

class Header(_message.Message):
    __slots__ = ("fields",)
    class FieldsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Payload
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Payload, _Mapping]] = ...) -> None: ...
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    fields: _containers.MessageMap[str, Payload]
    def __init__(self, fields: _Optional[_Mapping[str, Payload]] = ...) -> None: ...

class Memo(_message.Message):
    __slots__ = ("fields",)
    class FieldsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Payload
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Payload, _Mapping]] = ...) -> None: ...
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    fields: _containers.MessageMap[str, Payload]
    def __init__(self, fields: _Optional[_Mapping[str, Payload]] = ...) -> None: ...

class SearchAttributes(_message.Message):
    __slots__ = ("indexed_fields",)
    class IndexedFieldsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Payload
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Payload, _Mapping]] = ...) -> None: ...
    INDEXED_FIELDS_FIELD_NUMBER: _ClassVar[int]
    indexed_fields: _containers.MessageMap[str, Payload]
    def __init__(self, indexed_fields: _Optional[_Mapping[str, Payload]] = ...) -> None: ...

class WorkflowExecution(_message.Message):
    __slots__ = ("workflow_id", "run_id")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    workflow_id: str
    run_id: str
    def __init__(self, workflow_id: _Optional[str] = ..., run_id: _Optional[str] = ...) -> None: ...

class WorkflowType(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ActivityType(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class TaskQueue(_message.Message):
    __slots__ = ("name", "kind", "normal_name")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NORMAL_NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: _enums_pb2.TaskQueueKind
    normal_name: str
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[_Union[_enums_pb2.TaskQueueKind, str]] = ..., normal_name: _Optional[str] = ...) -> None: ...

class RetryPolicy(_message.Message):
    __slots__ = ("initial_interval", "backoff_coefficient", "maximum_interval", "maximum_attempts", "non_retryable_error_types")
    INITIAL_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    BACKOFF_COEFFICIENT_FIELD_NUMBER: _ClassVar[int]
    MAXIMUM_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    MAXIMUM_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    NON_RETRYABLE_ERROR_TYPES_FIELD_NUMBER: _ClassVar[int]
    initial_interval: _duration_pb2.Duration
    backoff_coefficient: float
    maximum_interval: _duration_pb2.Duration
    maximum_attempts: int
    non_retryable_error_types: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, initial_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., backoff_coefficient: _Optional[float] = ..., maximum_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., maximum_attempts: _Optional[int] = ..., non_retryable_error_types: _Optional[_Iterable[str]] = ...) -> None: ...

class Failure(_message.Message):
    __slots__ = ("message", "source", "stack_trace", "cause", "application_failure_info", "timeout_failure_info", "canceled_failure_info", "terminated_failure_info", "server_failure_info", "activity_failure_info", "child_workflow_execution_failure_info")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    STACK_TRACE_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_FAILURE_INFO_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FAILURE_INFO_FIELD_NUMBER: _ClassVar[int]
    CANCELED_FAILURE_INFO_FIELD_NUMBER: _ClassVar[int]
    TERMINATED_FAILURE_INFO_FIELD_NUMBER: _ClassVar[int]
    SERVER_FAILURE_INFO_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_FAILURE_INFO_FIELD_NUMBER: _ClassVar[int]
    CHILD_WORKFLOW_EXECUTION_FAILURE_INFO_FIELD_NUMBER: _ClassVar[int]
    message: str
    source: str
    stack_trace: str
    cause: Failure
    application_failure_info: ApplicationFailureInfo
    timeout_failure_info: TimeoutFailureInfo
    canceled_failure_info: CanceledFailureInfo
    terminated_failure_info: TerminatedFailureInfo
    server_failure_info: ServerFailureInfo
    activity_failure_info: ActivityFailureInfo
    child_workflow_execution_failure_info: ChildWorkflowExecutionFailureInfo
    def __init__(self, message: _Optional[str] = ..., source: _Optional[str] = ..., stack_trace: _Optional[str] = ..., cause: _Optional[_Union[Failure, _Mapping]] = ..., application_failure_info: _Optional[_Union[ApplicationFailureInfo, _Mapping]] = ..., timeout_failure_info: _Optional[_Union[TimeoutFailureInfo, _Mapping]] = ..., canceled_failure_info: _Optional[_Union[CanceledFailureInfo, _Mapping]] = ..., terminated_failure_info: _Optional[_Union[TerminatedFailureInfo, _Mapping]] = ..., server_failure_info: _Optional[_Union[ServerFailureInfo, _Mapping]] = ..., activity_failure_info: _Optional[_Union[ActivityFailureInfo, _Mapping]] = ..., child_workflow_execution_failure_info: _Optional[_Union[ChildWorkflowExecutionFailureInfo, _Mapping]] = ...) -> None: ...

class ApplicationFailureInfo(_message.Message):
    __slots__ = ("type", "non_retryable", "details")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    NON_RETRYABLE_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    type: str
    non_retryable: bool
    details: Payloads
    def __init__(self, type: _Optional[str] = ..., non_retryable: _Optional[bool] = ..., details: _Optional[_Union[Payloads, _Mapping]] = ...) -> None: ...

class TimeoutFailureInfo(_message.Message):
    __slots__ = ("timeout_type", "last_heartbeat_details")
    TIMEOUT_TYPE_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_DETAILS_FIELD_NUMBER: _ClassVar[int]
    timeout_type: _enums_pb2.TimeoutType
    last_heartbeat_details: Payloads
    def __init__(self, timeout_type: _Optional[_Union[_enums_pb2.TimeoutType, str]] = ..., last_heartbeat_details: _Optional[_Union[Payloads, _Mapping]] = ...) -> None: ...

class CanceledFailureInfo(_message.Message):
    __slots__ = ("details",)
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    details: Payloads
    def __init__(self, details: _Optional[_Union[Payloads, _Mapping]] = ...) -> None: ...

class TerminatedFailureInfo(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ServerFailureInfo(_message.Message):
    __slots__ = ("non_retryable",)
    NON_RETRYABLE_FIELD_NUMBER: _ClassVar[int]
    non_retryable: bool
    def __init__(self, non_retryable: _Optional[bool] = ...) -> None: ...

class ActivityFailureInfo(_message.Message):
    __slots__ = ("scheduled_event_id", "started_event_id", "identity", "activity_type", "activity_id", "retry_state")
    SCHEDULED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_TYPE_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_ID_FIELD_NUMBER: _ClassVar[int]
    RETRY_STATE_FIELD_NUMBER: _ClassVar[int]
    scheduled_event_id: int
    started_event_id: int
    identity: str
    activity_type: ActivityType
    activity_id: str
    retry_state: _enums_pb2.RetryState
    def __init__(self, scheduled_event_id: _Optional[int] = ..., started_event_id: _Optional[int] = ..., identity: _Optional[str] = ..., activity_type: _Optional[_Union[ActivityType, _Mapping]] = ..., activity_id: _Optional[str] = ..., retry_state: _Optional[_Union[_enums_pb2.RetryState, str]] = ...) -> None: ...

class ChildWorkflowExecutionFailureInfo(_message.Message):
    __slots__ = ("namespace", "workflow_execution", "workflow_type", "initiated_event_id", "started_event_id", "retry_state")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TYPE_FIELD_NUMBER: _ClassVar[int]
    INITIATED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    RETRY_STATE_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    workflow_execution: WorkflowExecution
    workflow_type: WorkflowType
    initiated_event_id: int
    started_event_id: int
    retry_state: _enums_pb2.RetryState
    def __init__(self, namespace: _Optional[str] = ..., workflow_execution: _Optional[_Union[WorkflowExecution, _Mapping]] = ..., workflow_type: _Optional[_Union[WorkflowType, _Mapping]] = ..., initiated_event_id: _Optional[int] = ..., started_event_id: _Optional[int] = ..., retry_state: _Optional[_Union[_enums_pb2.RetryState, str]] = ...) -> None: ...

class NamespaceInfo(_message.Message):
    __slots__ = ("name", "id", "state", "description", "owner_email", "data")
    class DataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    OWNER_EMAIL_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    name: str
    id: str
    state: _enums_pb2.NamespaceState
    description: str
    owner_email: str
    data: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., id: _Optional[str] = ..., state: _Optional[_Union[_enums_pb2.NamespaceState, str]] = ..., description: _Optional[str] = ..., owner_email: _Optional[str] = ..., data: _Optional[_Mapping[str, str]] = ...) -> None: ...

class NamespaceConfig(_message.Message):
    __slots__ = ("workflow_execution_retention_ttl", "search_attributes")
    class SearchAttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _enums_pb2.IndexedValueType
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_enums_pb2.IndexedValueType, str]] = ...) -> None: ...
    WORKFLOW_EXECUTION_RETENTION_TTL_FIELD_NUMBER: _ClassVar[int]
    SEARCH_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    workflow_execution_retention_ttl: _duration_pb2.Duration
    search_attributes: _containers.ScalarMap[str, _enums_pb2.IndexedValueType]
    def __init__(self, workflow_execution_retention_ttl: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., search_attributes: _Optional[_Mapping[str, _enums_pb2.IndexedValueType]] = ...) -> None: ...

class WorkflowExecutionInfo(_message.Message):
    __slots__ = ("execution", "type", "start_time", "close_time", "status", "history_length", "execution_time", "memo", "search_attributes", "task_queue", "parent_execution", "parent_namespace", "reset_by", "reset_from")
    EXECUTION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    CLOSE_TIME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    HISTORY_LENGTH_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_TIME_FIELD_NUMBER: _ClassVar[int]
    MEMO_FIELD_NUMBER: _ClassVar[int]
    SEARCH_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    TASK_QUEUE_FIELD_NUMBER: _ClassVar[int]
    PARENT_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    PARENT_NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    RESET_BY_FIELD_NUMBER: _ClassVar[int]
    RESET_FROM_FIELD_NUMBER: _ClassVar[int]
    execution: WorkflowExecution
    type: WorkflowType
    start_time: _timestamp_pb2.Timestamp
    close_time: _timestamp_pb2.Timestamp
    status: _enums_pb2.WorkflowExecutionStatus
    history_length: int
    execution_time: _timestamp_pb2.Timestamp
    memo: Memo
    search_attributes: SearchAttributes
    task_queue: str
    parent_execution: WorkflowExecution
    parent_namespace: str
    reset_by: ResetRecord
    reset_from: ResetRecord
    def __init__(self, execution: _Optional[_Union[WorkflowExecution, _Mapping]] = ..., type: _Optional[_Union[WorkflowType, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., close_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status: _Optional[_Union[_enums_pb2.WorkflowExecutionStatus, str]] = ..., history_length: _Optional[int] = ..., execution_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., memo: _Optional[_Union[Memo, _Mapping]] = ..., search_attributes: _Optional[_Union[SearchAttributes, _Mapping]] = ..., task_queue: _Optional[str] = ..., parent_execution: _Optional[_Union[WorkflowExecution, _Mapping]] = ..., parent_namespace: _Optional[str] = ..., reset_by: _Optional[_Union[ResetRecord, _Mapping]] = ..., reset_from: _Optional[_Union[ResetRecord, _Mapping]] = ...) -> None: ...

class ResetRecord(_message.Message):
    __slots__ = ("base_run_id", "new_run_id", "event_id", "reason", "identity", "reset_time")
    BASE_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    NEW_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    RESET_TIME_FIELD_NUMBER: _ClassVar[int]
    base_run_id: str
    new_run_id: str
    event_id: int
    reason: str
    identity: str
    reset_time: _timestamp_pb2.Timestamp
    def __init__(self, base_run_id: _Optional[str] = ..., new_run_id: _Optional[str] = ..., event_id: _Optional[int] = ..., reason: _Optional[str] = ..., identity: _Optional[str] = ..., reset_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PendingActivityInfo(_message.Message):
    __slots__ = ("activity_id", "activity_type", "state", "heartbeat_details", "last_heartbeat_time", "last_started_time", "attempt", "maximum_attempts", "scheduled_time", "last_failure", "last_worker_identity", "scheduled_event_id")
    ACTIVITY_ID_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_TYPE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_DETAILS_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_STARTED_TIME_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    MAXIMUM_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_FAILURE_FIELD_NUMBER: _ClassVar[int]
    LAST_WORKER_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    activity_id: str
    activity_type: ActivityType
    state: str
    heartbeat_details: Payloads
    last_heartbeat_time: _timestamp_pb2.Timestamp
    last_started_time: _timestamp_pb2.Timestamp
    attempt: int
    maximum_attempts: int
    scheduled_time: _timestamp_pb2.Timestamp
    last_failure: Failure
    last_worker_identity: str
    scheduled_event_id: int
    def __init__(self, activity_id: _Optional[str] = ..., activity_type: _Optional[_Union[ActivityType, _Mapping]] = ..., state: _Optional[str] = ..., heartbeat_details: _Optional[_Union[Payloads, _Mapping]] = ..., last_heartbeat_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_started_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attempt: _Optional[int] = ..., maximum_attempts: _Optional[int] = ..., scheduled_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_failure: _Optional[_Union[Failure, _Mapping]] = ..., last_worker_identity: _Optional[str] = ..., scheduled_event_id: _Optional[int] = ...) -> None: ...

class PendingWorkflowTaskInfo(_message.Message):
    __slots__ = ("state", "attempt", "scheduled_time", "started_time")
    STATE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_TIME_FIELD_NUMBER: _ClassVar[int]
    STARTED_TIME_FIELD_NUMBER: _ClassVar[int]
    state: str
    attempt: int
    scheduled_time: _timestamp_pb2.Timestamp
    started_time: _timestamp_pb2.Timestamp
    def __init__(self, state: _Optional[str] = ..., attempt: _Optional[int] = ..., scheduled_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PendingChildExecutionInfo(_message.Message):
    __slots__ = ("workflow_id", "run_id", "workflow_type_name", "initiated_id", "parent_close_policy")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TYPE_NAME_FIELD_NUMBER: _ClassVar[int]
    INITIATED_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_CLOSE_POLICY_FIELD_NUMBER: _ClassVar[int]
    workflow_id: str
    run_id: str
    workflow_type_name: str
    initiated_id: int
    parent_close_policy: _enums_pb2.ParentClosePolicy
    def __init__(self, workflow_id: _Optional[str] = ..., run_id: _Optional[str] = ..., workflow_type_name: _Optional[str] = ..., initiated_id: _Optional[int] = ..., parent_close_policy: _Optional[_Union[_enums_pb2.ParentClosePolicy, str]] = ...) -> None: ...

class WorkflowExecutionConfig(_message.Message):
    __slots__ = ("task_queue", "workflow_execution_timeout", "workflow_run_timeout", "default_workflow_task_timeout")
    TASK_QUEUE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_RUN_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_WORKFLOW_TASK_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    task_queue: TaskQueue
    workflow_execution_timeout: _duration_pb2.Duration
    workflow_run_timeout: _duration_pb2.Duration
    default_workflow_task_timeout: _duration_pb2.Duration
    def __init__(self, task_queue: _Optional[_Union[TaskQueue, _Mapping]] = ..., workflow_execution_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., workflow_run_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., default_workflow_task_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class WorkflowExecutionFilter(_message.Message):
    __slots__ = ("workflow_id", "workflow_type", "statuses", "start_time_from", "start_time_to", "close_time_from", "close_time_to", "task_queue")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FROM_FIELD_NUMBER: _ClassVar[int]
    START_TIME_TO_FIELD_NUMBER: _ClassVar[int]
    CLOSE_TIME_FROM_FIELD_NUMBER: _ClassVar[int]
    CLOSE_TIME_TO_FIELD_NUMBER: _ClassVar[int]
    TASK_QUEUE_FIELD_NUMBER: _ClassVar[int]
    workflow_id: str
    workflow_type: str
    statuses: _containers.RepeatedScalarFieldContainer[_enums_pb2.WorkflowExecutionStatus]
    start_time_from: _timestamp_pb2.Timestamp
    start_time_to: _timestamp_pb2.Timestamp
    close_time_from: _timestamp_pb2.Timestamp
    close_time_to: _timestamp_pb2.Timestamp
    task_queue: str
    def __init__(self, workflow_id: _Optional[str] = ..., workflow_type: _Optional[str] = ..., statuses: _Optional[_Iterable[_Union[_enums_pb2.WorkflowExecutionStatus, str]]] = ..., start_time_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., start_time_to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., close_time_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., close_time_to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., task_queue: _Optional[str] = ...) -> None: ...
