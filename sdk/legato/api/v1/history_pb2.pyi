import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from legato.api.v1 import common_pb2 as _common_pb2
from legato.api.v1 import enums_pb2 as _enums_pb2
from legato.api.v1 import update_pb2 as _update_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WorkflowExecutionStartedEventAttributes(_message.Message):
    __slots__ = ("workflow_type", "parent_workflow_namespace", "parent_workflow_execution", "parent_initiated_event_id", "task_queue", "input", "workflow_execution_timeout", "workflow_run_timeout", "workflow_task_timeout", "continued_execution_run_id", "initiator", "continued_failure", "last_completion_result", "original_execution_run_id", "identity", "first_execution_run_id", "retry_policy", "attempt", "workflow_execution_expiration_time", "cron_schedule", "first_workflow_task_backoff", "memo", "search_attributes", "header")
    WORKFLOW_TYPE_FIELD_NUMBER: _ClassVar[int]
    PARENT_WORKFLOW_NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    PARENT_WORKFLOW_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    PARENT_INITIATED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_QUEUE_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_RUN_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TASK_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    CONTINUED_EXECUTION_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    INITIATOR_FIELD_NUMBER: _ClassVar[int]
    CONTINUED_FAILURE_FIELD_NUMBER: _ClassVar[int]
    LAST_COMPLETION_RESULT_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_EXECUTION_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    FIRST_EXECUTION_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    RETRY_POLICY_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_EXPIRATION_TIME_FIELD_NUMBER: _ClassVar[int]
    CRON_SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    FIRST_WORKFLOW_TASK_BACKOFF_FIELD_NUMBER: _ClassVar[int]
    MEMO_FIELD_NUMBER: _ClassVar[int]
    SEARCH_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    workflow_type: _common_pb2.WorkflowType
    parent_workflow_namespace: str
    parent_workflow_execution: _common_pb2.WorkflowExecution
    parent_initiated_event_id: int
    task_queue: _common_pb2.TaskQueue
    input: _common_pb2.Payloads
    workflow_execution_timeout: _duration_pb2.Duration
    workflow_run_timeout: _duration_pb2.Duration
    workflow_task_timeout: _duration_pb2.Duration
    continued_execution_run_id: str
    initiator: _enums_pb2.ContinueAsNewInitiator
    continued_failure: _common_pb2.Failure
    last_completion_result: _common_pb2.Payloads
    original_execution_run_id: str
    identity: str
    first_execution_run_id: str
    retry_policy: _common_pb2.RetryPolicy
    attempt: int
    workflow_execution_expiration_time: _timestamp_pb2.Timestamp
    cron_schedule: str
    first_workflow_task_backoff: _duration_pb2.Duration
    memo: _common_pb2.Memo
    search_attributes: _common_pb2.SearchAttributes
    header: _common_pb2.Header
    def __init__(self, workflow_type: _Optional[_Union[_common_pb2.WorkflowType, _Mapping]] = ..., parent_workflow_namespace: _Optional[str] = ..., parent_workflow_execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ..., parent_initiated_event_id: _Optional[int] = ..., task_queue: _Optional[_Union[_common_pb2.TaskQueue, _Mapping]] = ..., input: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ..., workflow_execution_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., workflow_run_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., workflow_task_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., continued_execution_run_id: _Optional[str] = ..., initiator: _Optional[_Union[_enums_pb2.ContinueAsNewInitiator, str]] = ..., continued_failure: _Optional[_Union[_common_pb2.Failure, _Mapping]] = ..., last_completion_result: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ..., original_execution_run_id: _Optional[str] = ..., identity: _Optional[str] = ..., first_execution_run_id: _Optional[str] = ..., retry_policy: _Optional[_Union[_common_pb2.RetryPolicy, _Mapping]] = ..., attempt: _Optional[int] = ..., workflow_execution_expiration_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cron_schedule: _Optional[str] = ..., first_workflow_task_backoff: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., memo: _Optional[_Union[_common_pb2.Memo, _Mapping]] = ..., search_attributes: _Optional[_Union[_common_pb2.SearchAttributes, _Mapping]] = ..., header: _Optional[_Union[_common_pb2.Header, _Mapping]] = ...) -> None: ...

class WorkflowExecutionCompletedEventAttributes(_message.Message):
    __slots__ = ("result", "workflow_task_completed_event_id", "new_execution_run_id")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TASK_COMPLETED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    NEW_EXECUTION_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.Payloads
    workflow_task_completed_event_id: int
    new_execution_run_id: str
    def __init__(self, result: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ..., workflow_task_completed_event_id: _Optional[int] = ..., new_execution_run_id: _Optional[str] = ...) -> None: ...

class WorkflowExecutionFailedEventAttributes(_message.Message):
    __slots__ = ("failure", "retry_state", "workflow_task_completed_event_id", "new_execution_run_id")
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    RETRY_STATE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TASK_COMPLETED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    NEW_EXECUTION_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    failure: _common_pb2.Failure
    retry_state: _enums_pb2.RetryState
    workflow_task_completed_event_id: int
    new_execution_run_id: str
    def __init__(self, failure: _Optional[_Union[_common_pb2.Failure, _Mapping]] = ..., retry_state: _Optional[_Union[_enums_pb2.RetryState, str]] = ..., workflow_task_completed_event_id: _Optional[int] = ..., new_execution_run_id: _Optional[str] = ...) -> None: ...

class WorkflowExecutionTimedOutEventAttributes(_message.Message):
    __slots__ = ("retry_state", "new_execution_run_id")
    RETRY_STATE_FIELD_NUMBER: _ClassVar[int]
    NEW_EXECUTION_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    retry_state: _enums_pb2.RetryState
    new_execution_run_id: str
    def __init__(self, retry_state: _Optional[_Union[_enums_pb2.RetryState, str]] = ..., new_execution_run_id: _Optional[str] = ...) -> None: ...

class WorkflowExecutionContinuedAsNewEventAttributes(_message.Message):
    __slots__ = ("new_execution_run_id", "workflow_type", "task_queue", "input", "workflow_run_timeout", "workflow_task_timeout", "workflow_task_completed_event_id", "backoff_start_interval", "initiator", "failure", "last_completion_result", "header", "memo", "search_attributes")
    NEW_EXECUTION_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TYPE_FIELD_NUMBER: _ClassVar[int]
    TASK_QUEUE_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_RUN_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TASK_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TASK_COMPLETED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    BACKOFF_START_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    INITIATOR_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    LAST_COMPLETION_RESULT_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    MEMO_FIELD_NUMBER: _ClassVar[int]
    SEARCH_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    new_execution_run_id: str
    workflow_type: _common_pb2.WorkflowType
    task_queue: _common_pb2.TaskQueue
    input: _common_pb2.Payloads
    workflow_run_timeout: _duration_pb2.Duration
    workflow_task_timeout: _duration_pb2.Duration
    workflow_task_completed_event_id: int
    backoff_start_interval: _duration_pb2.Duration
    initiator: _enums_pb2.ContinueAsNewInitiator
    failure: _common_pb2.Failure
    last_completion_result: _common_pb2.Payloads
    header: _common_pb2.Header
    memo: _common_pb2.Memo
    search_attributes: _common_pb2.SearchAttributes
    def __init__(self, new_execution_run_id: _Optional[str] = ..., workflow_type: _Optional[_Union[_common_pb2.WorkflowType, _Mapping]] = ..., task_queue: _Optional[_Union[_common_pb2.TaskQueue, _Mapping]] = ..., input: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ..., workflow_run_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., workflow_task_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., workflow_task_completed_event_id: _Optional[int] = ..., backoff_start_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., initiator: _Optional[_Union[_enums_pb2.ContinueAsNewInitiator, str]] = ..., failure: _Optional[_Union[_common_pb2.Failure, _Mapping]] = ..., last_completion_result: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ..., header: _Optional[_Union[_common_pb2.Header, _Mapping]] = ..., memo: _Optional[_Union[_common_pb2.Memo, _Mapping]] = ..., search_attributes: _Optional[_Union[_common_pb2.SearchAttributes, _Mapping]] = ...) -> None: ...

class WorkflowTaskScheduledEventAttributes(_message.Message):
    __slots__ = ("task_queue", "start_to_close_timeout", "attempt")
    TASK_QUEUE_FIELD_NUMBER: _ClassVar[int]
    START_TO_CLOSE_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    task_queue: _common_pb2.TaskQueue
    start_to_close_timeout: _duration_pb2.Duration
    attempt: int
    def __init__(self, task_queue: _Optional[_Union[_common_pb2.TaskQueue, _Mapping]] = ..., start_to_close_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., attempt: _Optional[int] = ...) -> None: ...

class WorkflowTaskStartedEventAttributes(_message.Message):
    __slots__ = ("scheduled_event_id", "identity", "request_id", "history_size_bytes")
    SCHEDULED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    HISTORY_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    scheduled_event_id: int
    identity: str
    request_id: str
    history_size_bytes: int
    def __init__(self, scheduled_event_id: _Optional[int] = ..., identity: _Optional[str] = ..., request_id: _Optional[str] = ..., history_size_bytes: _Optional[int] = ...) -> None: ...

class WorkflowTaskCompletedEventAttributes(_message.Message):
    __slots__ = ("scheduled_event_id", "started_event_id", "identity", "binary_checksum")
    SCHEDULED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    BINARY_CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    scheduled_event_id: int
    started_event_id: int
    identity: str
    binary_checksum: str
    def __init__(self, scheduled_event_id: _Optional[int] = ..., started_event_id: _Optional[int] = ..., identity: _Optional[str] = ..., binary_checksum: _Optional[str] = ...) -> None: ...

class WorkflowTaskTimedOutEventAttributes(_message.Message):
    __slots__ = ("scheduled_event_id", "started_event_id", "timeout_type")
    SCHEDULED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_TYPE_FIELD_NUMBER: _ClassVar[int]
    scheduled_event_id: int
    started_event_id: int
    timeout_type: _enums_pb2.TimeoutType
    def __init__(self, scheduled_event_id: _Optional[int] = ..., started_event_id: _Optional[int] = ..., timeout_type: _Optional[_Union[_enums_pb2.TimeoutType, str]] = ...) -> None: ...

class WorkflowTaskFailedEventAttributes(_message.Message):
    __slots__ = ("scheduled_event_id", "started_event_id", "cause", "failure", "identity")
    SCHEDULED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    scheduled_event_id: int
    started_event_id: int
    cause: _enums_pb2.WorkflowTaskFailedCause
    failure: _common_pb2.Failure
    identity: str
    def __init__(self, scheduled_event_id: _Optional[int] = ..., started_event_id: _Optional[int] = ..., cause: _Optional[_Union[_enums_pb2.WorkflowTaskFailedCause, str]] = ..., failure: _Optional[_Union[_common_pb2.Failure, _Mapping]] = ..., identity: _Optional[str] = ...) -> None: ...

class ActivityTaskScheduledEventAttributes(_message.Message):
    __slots__ = ("activity_id", "activity_type", "task_queue", "header", "input", "schedule_to_close_timeout", "schedule_to_start_timeout", "start_to_close_timeout", "heartbeat_timeout", "workflow_task_completed_event_id", "retry_policy")
    ACTIVITY_ID_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_TYPE_FIELD_NUMBER: _ClassVar[int]
    TASK_QUEUE_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_TO_CLOSE_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_TO_START_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    START_TO_CLOSE_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TASK_COMPLETED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    RETRY_POLICY_FIELD_NUMBER: _ClassVar[int]
    activity_id: str
    activity_type: _common_pb2.ActivityType
    task_queue: _common_pb2.TaskQueue
    header: _common_pb2.Header
    input: _common_pb2.Payloads
    schedule_to_close_timeout: _duration_pb2.Duration
    schedule_to_start_timeout: _duration_pb2.Duration
    start_to_close_timeout: _duration_pb2.Duration
    heartbeat_timeout: _duration_pb2.Duration
    workflow_task_completed_event_id: int
    retry_policy: _common_pb2.RetryPolicy
    def __init__(self, activity_id: _Optional[str] = ..., activity_type: _Optional[_Union[_common_pb2.ActivityType, _Mapping]] = ..., task_queue: _Optional[_Union[_common_pb2.TaskQueue, _Mapping]] = ..., header: _Optional[_Union[_common_pb2.Header, _Mapping]] = ..., input: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ..., schedule_to_close_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., schedule_to_start_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., start_to_close_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., heartbeat_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., workflow_task_completed_event_id: _Optional[int] = ..., retry_policy: _Optional[_Union[_common_pb2.RetryPolicy, _Mapping]] = ...) -> None: ...

class ActivityTaskStartedEventAttributes(_message.Message):
    __slots__ = ("scheduled_event_id", "identity", "request_id", "attempt", "last_failure")
    SCHEDULED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    LAST_FAILURE_FIELD_NUMBER: _ClassVar[int]
    scheduled_event_id: int
    identity: str
    request_id: str
    attempt: int
    last_failure: _common_pb2.Failure
    def __init__(self, scheduled_event_id: _Optional[int] = ..., identity: _Optional[str] = ..., request_id: _Optional[str] = ..., attempt: _Optional[int] = ..., last_failure: _Optional[_Union[_common_pb2.Failure, _Mapping]] = ...) -> None: ...

class ActivityTaskCompletedEventAttributes(_message.Message):
    __slots__ = ("result", "scheduled_event_id", "started_event_id", "identity")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.Payloads
    scheduled_event_id: int
    started_event_id: int
    identity: str
    def __init__(self, result: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ..., scheduled_event_id: _Optional[int] = ..., started_event_id: _Optional[int] = ..., identity: _Optional[str] = ...) -> None: ...

class ActivityTaskFailedEventAttributes(_message.Message):
    __slots__ = ("failure", "scheduled_event_id", "started_event_id", "identity", "retry_state")
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    RETRY_STATE_FIELD_NUMBER: _ClassVar[int]
    failure: _common_pb2.Failure
    scheduled_event_id: int
    started_event_id: int
    identity: str
    retry_state: _enums_pb2.RetryState
    def __init__(self, failure: _Optional[_Union[_common_pb2.Failure, _Mapping]] = ..., scheduled_event_id: _Optional[int] = ..., started_event_id: _Optional[int] = ..., identity: _Optional[str] = ..., retry_state: _Optional[_Union[_enums_pb2.RetryState, str]] = ...) -> None: ...

class ActivityTaskTimedOutEventAttributes(_message.Message):
    __slots__ = ("failure", "scheduled_event_id", "started_event_id", "retry_state")
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    RETRY_STATE_FIELD_NUMBER: _ClassVar[int]
    failure: _common_pb2.Failure
    scheduled_event_id: int
    started_event_id: int
    retry_state: _enums_pb2.RetryState
    def __init__(self, failure: _Optional[_Union[_common_pb2.Failure, _Mapping]] = ..., scheduled_event_id: _Optional[int] = ..., started_event_id: _Optional[int] = ..., retry_state: _Optional[_Union[_enums_pb2.RetryState, str]] = ...) -> None: ...

class ActivityTaskCancelRequestedEventAttributes(_message.Message):
    __slots__ = ("scheduled_event_id", "workflow_task_completed_event_id")
    SCHEDULED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TASK_COMPLETED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    scheduled_event_id: int
    workflow_task_completed_event_id: int
    def __init__(self, scheduled_event_id: _Optional[int] = ..., workflow_task_completed_event_id: _Optional[int] = ...) -> None: ...

class ActivityTaskCanceledEventAttributes(_message.Message):
    __slots__ = ("details", "latest_cancel_requested_event_id", "scheduled_event_id", "started_event_id", "identity")
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    LATEST_CANCEL_REQUESTED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    details: _common_pb2.Payloads
    latest_cancel_requested_event_id: int
    scheduled_event_id: int
    started_event_id: int
    identity: str
    def __init__(self, details: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ..., latest_cancel_requested_event_id: _Optional[int] = ..., scheduled_event_id: _Optional[int] = ..., started_event_id: _Optional[int] = ..., identity: _Optional[str] = ...) -> None: ...

class TimerStartedEventAttributes(_message.Message):
    __slots__ = ("timer_id", "start_to_fire_timeout", "workflow_task_completed_event_id")
    TIMER_ID_FIELD_NUMBER: _ClassVar[int]
    START_TO_FIRE_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TASK_COMPLETED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    timer_id: str
    start_to_fire_timeout: _duration_pb2.Duration
    workflow_task_completed_event_id: int
    def __init__(self, timer_id: _Optional[str] = ..., start_to_fire_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., workflow_task_completed_event_id: _Optional[int] = ...) -> None: ...

class TimerFiredEventAttributes(_message.Message):
    __slots__ = ("timer_id", "started_event_id")
    TIMER_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    timer_id: str
    started_event_id: int
    def __init__(self, timer_id: _Optional[str] = ..., started_event_id: _Optional[int] = ...) -> None: ...

class TimerCanceledEventAttributes(_message.Message):
    __slots__ = ("timer_id", "started_event_id", "workflow_task_completed_event_id", "identity")
    TIMER_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TASK_COMPLETED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    timer_id: str
    started_event_id: int
    workflow_task_completed_event_id: int
    identity: str
    def __init__(self, timer_id: _Optional[str] = ..., started_event_id: _Optional[int] = ..., workflow_task_completed_event_id: _Optional[int] = ..., identity: _Optional[str] = ...) -> None: ...

class WorkflowExecutionCancelRequestedEventAttributes(_message.Message):
    __slots__ = ("cause", "external_initiated_event_id", "external_workflow_execution", "identity")
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_INITIATED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_WORKFLOW_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    cause: str
    external_initiated_event_id: int
    external_workflow_execution: _common_pb2.WorkflowExecution
    identity: str
    def __init__(self, cause: _Optional[str] = ..., external_initiated_event_id: _Optional[int] = ..., external_workflow_execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ..., identity: _Optional[str] = ...) -> None: ...

class WorkflowExecutionCanceledEventAttributes(_message.Message):
    __slots__ = ("workflow_task_completed_event_id", "details")
    WORKFLOW_TASK_COMPLETED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    workflow_task_completed_event_id: int
    details: _common_pb2.Payloads
    def __init__(self, workflow_task_completed_event_id: _Optional[int] = ..., details: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ...) -> None: ...

class MarkerRecordedEventAttributes(_message.Message):
    __slots__ = ("marker_name", "details", "workflow_task_completed_event_id", "header", "failure")
    class DetailsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _common_pb2.Payloads
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ...) -> None: ...
    MARKER_NAME_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TASK_COMPLETED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    marker_name: str
    details: _containers.MessageMap[str, _common_pb2.Payloads]
    workflow_task_completed_event_id: int
    header: _common_pb2.Header
    failure: _common_pb2.Failure
    def __init__(self, marker_name: _Optional[str] = ..., details: _Optional[_Mapping[str, _common_pb2.Payloads]] = ..., workflow_task_completed_event_id: _Optional[int] = ..., header: _Optional[_Union[_common_pb2.Header, _Mapping]] = ..., failure: _Optional[_Union[_common_pb2.Failure, _Mapping]] = ...) -> None: ...

class WorkflowExecutionSignaledEventAttributes(_message.Message):
    __slots__ = ("signal_name", "input", "identity", "header")
    SIGNAL_NAME_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    signal_name: str
    input: _common_pb2.Payloads
    identity: str
    header: _common_pb2.Header
    def __init__(self, signal_name: _Optional[str] = ..., input: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ..., identity: _Optional[str] = ..., header: _Optional[_Union[_common_pb2.Header, _Mapping]] = ...) -> None: ...

class WorkflowExecutionTerminatedEventAttributes(_message.Message):
    __slots__ = ("reason", "details", "identity")
    REASON_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    reason: str
    details: _common_pb2.Payloads
    identity: str
    def __init__(self, reason: _Optional[str] = ..., details: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ..., identity: _Optional[str] = ...) -> None: ...

class RequestCancelExternalWorkflowExecutionInitiatedEventAttributes(_message.Message):
    __slots__ = ("workflow_task_completed_event_id", "namespace", "workflow_execution", "child_workflow_only", "reason")
    WORKFLOW_TASK_COMPLETED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    CHILD_WORKFLOW_ONLY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    workflow_task_completed_event_id: int
    namespace: str
    workflow_execution: _common_pb2.WorkflowExecution
    child_workflow_only: bool
    reason: str
    def __init__(self, workflow_task_completed_event_id: _Optional[int] = ..., namespace: _Optional[str] = ..., workflow_execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ..., child_workflow_only: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class RequestCancelExternalWorkflowExecutionFailedEventAttributes(_message.Message):
    __slots__ = ("cause", "workflow_task_completed_event_id", "namespace", "workflow_execution", "initiated_event_id")
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TASK_COMPLETED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    INITIATED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    cause: str
    workflow_task_completed_event_id: int
    namespace: str
    workflow_execution: _common_pb2.WorkflowExecution
    initiated_event_id: int
    def __init__(self, cause: _Optional[str] = ..., workflow_task_completed_event_id: _Optional[int] = ..., namespace: _Optional[str] = ..., workflow_execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ..., initiated_event_id: _Optional[int] = ...) -> None: ...

class ExternalWorkflowExecutionCancelRequestedEventAttributes(_message.Message):
    __slots__ = ("initiated_event_id", "namespace", "workflow_execution")
    INITIATED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    initiated_event_id: int
    namespace: str
    workflow_execution: _common_pb2.WorkflowExecution
    def __init__(self, initiated_event_id: _Optional[int] = ..., namespace: _Optional[str] = ..., workflow_execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ...) -> None: ...

class SignalExternalWorkflowExecutionInitiatedEventAttributes(_message.Message):
    __slots__ = ("workflow_task_completed_event_id", "namespace", "workflow_execution", "signal_name", "input", "child_workflow_only", "header")
    WORKFLOW_TASK_COMPLETED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_NAME_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    CHILD_WORKFLOW_ONLY_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    workflow_task_completed_event_id: int
    namespace: str
    workflow_execution: _common_pb2.WorkflowExecution
    signal_name: str
    input: _common_pb2.Payloads
    child_workflow_only: bool
    header: _common_pb2.Header
    def __init__(self, workflow_task_completed_event_id: _Optional[int] = ..., namespace: _Optional[str] = ..., workflow_execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ..., signal_name: _Optional[str] = ..., input: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ..., child_workflow_only: _Optional[bool] = ..., header: _Optional[_Union[_common_pb2.Header, _Mapping]] = ...) -> None: ...

class SignalExternalWorkflowExecutionFailedEventAttributes(_message.Message):
    __slots__ = ("cause", "workflow_task_completed_event_id", "namespace", "workflow_execution", "initiated_event_id")
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TASK_COMPLETED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    INITIATED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    cause: str
    workflow_task_completed_event_id: int
    namespace: str
    workflow_execution: _common_pb2.WorkflowExecution
    initiated_event_id: int
    def __init__(self, cause: _Optional[str] = ..., workflow_task_completed_event_id: _Optional[int] = ..., namespace: _Optional[str] = ..., workflow_execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ..., initiated_event_id: _Optional[int] = ...) -> None: ...

class ExternalWorkflowExecutionSignaledEventAttributes(_message.Message):
    __slots__ = ("initiated_event_id", "namespace", "workflow_execution")
    INITIATED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    initiated_event_id: int
    namespace: str
    workflow_execution: _common_pb2.WorkflowExecution
    def __init__(self, initiated_event_id: _Optional[int] = ..., namespace: _Optional[str] = ..., workflow_execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ...) -> None: ...

class StartChildWorkflowExecutionInitiatedEventAttributes(_message.Message):
    __slots__ = ("namespace", "workflow_id", "workflow_type", "task_queue", "input", "workflow_execution_timeout", "workflow_run_timeout", "workflow_task_timeout", "parent_close_policy", "workflow_task_completed_event_id", "workflow_id_reuse_policy", "retry_policy", "cron_schedule", "header", "memo", "search_attributes")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TYPE_FIELD_NUMBER: _ClassVar[int]
    TASK_QUEUE_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_RUN_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TASK_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    PARENT_CLOSE_POLICY_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TASK_COMPLETED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_REUSE_POLICY_FIELD_NUMBER: _ClassVar[int]
    RETRY_POLICY_FIELD_NUMBER: _ClassVar[int]
    CRON_SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    MEMO_FIELD_NUMBER: _ClassVar[int]
    SEARCH_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    workflow_id: str
    workflow_type: _common_pb2.WorkflowType
    task_queue: _common_pb2.TaskQueue
    input: _common_pb2.Payloads
    workflow_execution_timeout: _duration_pb2.Duration
    workflow_run_timeout: _duration_pb2.Duration
    workflow_task_timeout: _duration_pb2.Duration
    parent_close_policy: _enums_pb2.ParentClosePolicy
    workflow_task_completed_event_id: int
    workflow_id_reuse_policy: _enums_pb2.WorkflowIdReusePolicy
    retry_policy: _common_pb2.RetryPolicy
    cron_schedule: str
    header: _common_pb2.Header
    memo: _common_pb2.Memo
    search_attributes: _common_pb2.SearchAttributes
    def __init__(self, namespace: _Optional[str] = ..., workflow_id: _Optional[str] = ..., workflow_type: _Optional[_Union[_common_pb2.WorkflowType, _Mapping]] = ..., task_queue: _Optional[_Union[_common_pb2.TaskQueue, _Mapping]] = ..., input: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ..., workflow_execution_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., workflow_run_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., workflow_task_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., parent_close_policy: _Optional[_Union[_enums_pb2.ParentClosePolicy, str]] = ..., workflow_task_completed_event_id: _Optional[int] = ..., workflow_id_reuse_policy: _Optional[_Union[_enums_pb2.WorkflowIdReusePolicy, str]] = ..., retry_policy: _Optional[_Union[_common_pb2.RetryPolicy, _Mapping]] = ..., cron_schedule: _Optional[str] = ..., header: _Optional[_Union[_common_pb2.Header, _Mapping]] = ..., memo: _Optional[_Union[_common_pb2.Memo, _Mapping]] = ..., search_attributes: _Optional[_Union[_common_pb2.SearchAttributes, _Mapping]] = ...) -> None: ...

class StartChildWorkflowExecutionFailedEventAttributes(_message.Message):
    __slots__ = ("namespace", "workflow_id", "workflow_type", "cause", "initiated_event_id", "workflow_task_completed_event_id")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TYPE_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    INITIATED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TASK_COMPLETED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    workflow_id: str
    workflow_type: _common_pb2.WorkflowType
    cause: str
    initiated_event_id: int
    workflow_task_completed_event_id: int
    def __init__(self, namespace: _Optional[str] = ..., workflow_id: _Optional[str] = ..., workflow_type: _Optional[_Union[_common_pb2.WorkflowType, _Mapping]] = ..., cause: _Optional[str] = ..., initiated_event_id: _Optional[int] = ..., workflow_task_completed_event_id: _Optional[int] = ...) -> None: ...

class ChildWorkflowExecutionStartedEventAttributes(_message.Message):
    __slots__ = ("namespace", "initiated_event_id", "workflow_execution", "workflow_type", "header")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    INITIATED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TYPE_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    initiated_event_id: int
    workflow_execution: _common_pb2.WorkflowExecution
    workflow_type: _common_pb2.WorkflowType
    header: _common_pb2.Header
    def __init__(self, namespace: _Optional[str] = ..., initiated_event_id: _Optional[int] = ..., workflow_execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ..., workflow_type: _Optional[_Union[_common_pb2.WorkflowType, _Mapping]] = ..., header: _Optional[_Union[_common_pb2.Header, _Mapping]] = ...) -> None: ...

class ChildWorkflowExecutionCompletedEventAttributes(_message.Message):
    __slots__ = ("result", "namespace", "workflow_execution", "workflow_type", "initiated_event_id", "started_event_id")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TYPE_FIELD_NUMBER: _ClassVar[int]
    INITIATED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.Payloads
    namespace: str
    workflow_execution: _common_pb2.WorkflowExecution
    workflow_type: _common_pb2.WorkflowType
    initiated_event_id: int
    started_event_id: int
    def __init__(self, result: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ..., namespace: _Optional[str] = ..., workflow_execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ..., workflow_type: _Optional[_Union[_common_pb2.WorkflowType, _Mapping]] = ..., initiated_event_id: _Optional[int] = ..., started_event_id: _Optional[int] = ...) -> None: ...

class ChildWorkflowExecutionFailedEventAttributes(_message.Message):
    __slots__ = ("failure", "namespace", "workflow_execution", "workflow_type", "initiated_event_id", "started_event_id", "retry_state")
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TYPE_FIELD_NUMBER: _ClassVar[int]
    INITIATED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    RETRY_STATE_FIELD_NUMBER: _ClassVar[int]
    failure: _common_pb2.Failure
    namespace: str
    workflow_execution: _common_pb2.WorkflowExecution
    workflow_type: _common_pb2.WorkflowType
    initiated_event_id: int
    started_event_id: int
    retry_state: _enums_pb2.RetryState
    def __init__(self, failure: _Optional[_Union[_common_pb2.Failure, _Mapping]] = ..., namespace: _Optional[str] = ..., workflow_execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ..., workflow_type: _Optional[_Union[_common_pb2.WorkflowType, _Mapping]] = ..., initiated_event_id: _Optional[int] = ..., started_event_id: _Optional[int] = ..., retry_state: _Optional[_Union[_enums_pb2.RetryState, str]] = ...) -> None: ...

class ChildWorkflowExecutionCanceledEventAttributes(_message.Message):
    __slots__ = ("details", "namespace", "workflow_execution", "workflow_type", "initiated_event_id", "started_event_id")
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TYPE_FIELD_NUMBER: _ClassVar[int]
    INITIATED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    details: _common_pb2.Payloads
    namespace: str
    workflow_execution: _common_pb2.WorkflowExecution
    workflow_type: _common_pb2.WorkflowType
    initiated_event_id: int
    started_event_id: int
    def __init__(self, details: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ..., namespace: _Optional[str] = ..., workflow_execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ..., workflow_type: _Optional[_Union[_common_pb2.WorkflowType, _Mapping]] = ..., initiated_event_id: _Optional[int] = ..., started_event_id: _Optional[int] = ...) -> None: ...

class ChildWorkflowExecutionTimedOutEventAttributes(_message.Message):
    __slots__ = ("namespace", "workflow_execution", "workflow_type", "initiated_event_id", "started_event_id", "retry_state")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TYPE_FIELD_NUMBER: _ClassVar[int]
    INITIATED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    RETRY_STATE_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    workflow_execution: _common_pb2.WorkflowExecution
    workflow_type: _common_pb2.WorkflowType
    initiated_event_id: int
    started_event_id: int
    retry_state: _enums_pb2.RetryState
    def __init__(self, namespace: _Optional[str] = ..., workflow_execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ..., workflow_type: _Optional[_Union[_common_pb2.WorkflowType, _Mapping]] = ..., initiated_event_id: _Optional[int] = ..., started_event_id: _Optional[int] = ..., retry_state: _Optional[_Union[_enums_pb2.RetryState, str]] = ...) -> None: ...

class ChildWorkflowExecutionTerminatedEventAttributes(_message.Message):
    __slots__ = ("namespace", "workflow_execution", "workflow_type", "initiated_event_id", "started_event_id")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TYPE_FIELD_NUMBER: _ClassVar[int]
    INITIATED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    workflow_execution: _common_pb2.WorkflowExecution
    workflow_type: _common_pb2.WorkflowType
    initiated_event_id: int
    started_event_id: int
    def __init__(self, namespace: _Optional[str] = ..., workflow_execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ..., workflow_type: _Optional[_Union[_common_pb2.WorkflowType, _Mapping]] = ..., initiated_event_id: _Optional[int] = ..., started_event_id: _Optional[int] = ...) -> None: ...

class UpsertWorkflowSearchAttributesEventAttributes(_message.Message):
    __slots__ = ("workflow_task_completed_event_id", "search_attributes")
    WORKFLOW_TASK_COMPLETED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    SEARCH_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    workflow_task_completed_event_id: int
    search_attributes: _common_pb2.SearchAttributes
    def __init__(self, workflow_task_completed_event_id: _Optional[int] = ..., search_attributes: _Optional[_Union[_common_pb2.SearchAttributes, _Mapping]] = ...) -> None: ...

class WorkflowPropertiesModifiedEventAttributes(_message.Message):
    __slots__ = ("workflow_task_completed_event_id", "upserted_memo")
    WORKFLOW_TASK_COMPLETED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    UPSERTED_MEMO_FIELD_NUMBER: _ClassVar[int]
    workflow_task_completed_event_id: int
    upserted_memo: _common_pb2.Memo
    def __init__(self, workflow_task_completed_event_id: _Optional[int] = ..., upserted_memo: _Optional[_Union[_common_pb2.Memo, _Mapping]] = ...) -> None: ...

class WorkflowExecutionUpdateAcceptedEventAttributes(_message.Message):
    __slots__ = ("update_id", "name", "input", "header", "identity")
    UPDATE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    update_id: str
    name: str
    input: _common_pb2.Payloads
    header: _common_pb2.Header
    identity: str
    def __init__(self, update_id: _Optional[str] = ..., name: _Optional[str] = ..., input: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ..., header: _Optional[_Union[_common_pb2.Header, _Mapping]] = ..., identity: _Optional[str] = ...) -> None: ...

class WorkflowExecutionUpdateCompletedEventAttributes(_message.Message):
    __slots__ = ("update_id", "outcome", "workflow_task_completed_event_id")
    UPDATE_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TASK_COMPLETED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    update_id: str
    outcome: _update_pb2.UpdateOutcome
    workflow_task_completed_event_id: int
    def __init__(self, update_id: _Optional[str] = ..., outcome: _Optional[_Union[_update_pb2.UpdateOutcome, _Mapping]] = ..., workflow_task_completed_event_id: _Optional[int] = ...) -> None: ...

class HistoryEvent(_message.Message):
    __slots__ = ("event_id", "event_time", "event_type", "task_id", "workflow_execution_started_event_attributes", "workflow_execution_completed_event_attributes", "workflow_execution_failed_event_attributes", "workflow_execution_timed_out_event_attributes", "workflow_task_scheduled_event_attributes", "workflow_task_started_event_attributes", "workflow_task_completed_event_attributes", "workflow_task_timed_out_event_attributes", "workflow_task_failed_event_attributes", "activity_task_scheduled_event_attributes", "activity_task_started_event_attributes", "activity_task_completed_event_attributes", "activity_task_failed_event_attributes", "activity_task_timed_out_event_attributes", "activity_task_cancel_requested_event_attributes", "activity_task_canceled_event_attributes", "timer_started_event_attributes", "timer_fired_event_attributes", "timer_canceled_event_attributes", "workflow_execution_cancel_requested_event_attributes", "workflow_execution_canceled_event_attributes", "request_cancel_external_workflow_execution_initiated_event_attributes", "request_cancel_external_workflow_execution_failed_event_attributes", "external_workflow_execution_cancel_requested_event_attributes", "marker_recorded_event_attributes", "workflow_execution_signaled_event_attributes", "workflow_execution_terminated_event_attributes", "workflow_execution_continued_as_new_event_attributes", "start_child_workflow_execution_initiated_event_attributes", "start_child_workflow_execution_failed_event_attributes", "child_workflow_execution_started_event_attributes", "child_workflow_execution_completed_event_attributes", "child_workflow_execution_failed_event_attributes", "child_workflow_execution_canceled_event_attributes", "child_workflow_execution_timed_out_event_attributes", "child_workflow_execution_terminated_event_attributes", "signal_external_workflow_execution_initiated_event_attributes", "signal_external_workflow_execution_failed_event_attributes", "external_workflow_execution_signaled_event_attributes", "upsert_workflow_search_attributes_event_attributes", "workflow_properties_modified_event_attributes", "workflow_execution_update_accepted_event_attributes", "workflow_execution_update_completed_event_attributes")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_STARTED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_COMPLETED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_FAILED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_TIMED_OUT_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TASK_SCHEDULED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TASK_STARTED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TASK_COMPLETED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TASK_TIMED_OUT_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TASK_FAILED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_TASK_SCHEDULED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_TASK_STARTED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_TASK_COMPLETED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_TASK_FAILED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_TASK_TIMED_OUT_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_TASK_CANCEL_REQUESTED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_TASK_CANCELED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    TIMER_STARTED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    TIMER_FIRED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    TIMER_CANCELED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_CANCEL_REQUESTED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_CANCELED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    MARKER_RECORDED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_SIGNALED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_TERMINATED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_CONTINUED_AS_NEW_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    START_CHILD_WORKFLOW_EXECUTION_INITIATED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    START_CHILD_WORKFLOW_EXECUTION_FAILED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    CHILD_WORKFLOW_EXECUTION_STARTED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    CHILD_WORKFLOW_EXECUTION_COMPLETED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    CHILD_WORKFLOW_EXECUTION_FAILED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    CHILD_WORKFLOW_EXECUTION_CANCELED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    CHILD_WORKFLOW_EXECUTION_TIMED_OUT_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    CHILD_WORKFLOW_EXECUTION_TERMINATED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_WORKFLOW_EXECUTION_SIGNALED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    UPSERT_WORKFLOW_SEARCH_ATTRIBUTES_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_PROPERTIES_MODIFIED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_UPDATE_ACCEPTED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_UPDATE_COMPLETED_EVENT_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    event_id: int
    event_time: _timestamp_pb2.Timestamp
    event_type: _enums_pb2.EventType
    task_id: int
    workflow_execution_started_event_attributes: WorkflowExecutionStartedEventAttributes
    workflow_execution_completed_event_attributes: WorkflowExecutionCompletedEventAttributes
    workflow_execution_failed_event_attributes: WorkflowExecutionFailedEventAttributes
    workflow_execution_timed_out_event_attributes: WorkflowExecutionTimedOutEventAttributes
    workflow_task_scheduled_event_attributes: WorkflowTaskScheduledEventAttributes
    workflow_task_started_event_attributes: WorkflowTaskStartedEventAttributes
    workflow_task_completed_event_attributes: WorkflowTaskCompletedEventAttributes
    workflow_task_timed_out_event_attributes: WorkflowTaskTimedOutEventAttributes
    workflow_task_failed_event_attributes: WorkflowTaskFailedEventAttributes
    activity_task_scheduled_event_attributes: ActivityTaskScheduledEventAttributes
    activity_task_started_event_attributes: ActivityTaskStartedEventAttributes
    activity_task_completed_event_attributes: ActivityTaskCompletedEventAttributes
    activity_task_failed_event_attributes: ActivityTaskFailedEventAttributes
    activity_task_timed_out_event_attributes: ActivityTaskTimedOutEventAttributes
    activity_task_cancel_requested_event_attributes: ActivityTaskCancelRequestedEventAttributes
    activity_task_canceled_event_attributes: ActivityTaskCanceledEventAttributes
    timer_started_event_attributes: TimerStartedEventAttributes
    timer_fired_event_attributes: TimerFiredEventAttributes
    timer_canceled_event_attributes: TimerCanceledEventAttributes
    workflow_execution_cancel_requested_event_attributes: WorkflowExecutionCancelRequestedEventAttributes
    workflow_execution_canceled_event_attributes: WorkflowExecutionCanceledEventAttributes
    request_cancel_external_workflow_execution_initiated_event_attributes: RequestCancelExternalWorkflowExecutionInitiatedEventAttributes
    request_cancel_external_workflow_execution_failed_event_attributes: RequestCancelExternalWorkflowExecutionFailedEventAttributes
    external_workflow_execution_cancel_requested_event_attributes: ExternalWorkflowExecutionCancelRequestedEventAttributes
    marker_recorded_event_attributes: MarkerRecordedEventAttributes
    workflow_execution_signaled_event_attributes: WorkflowExecutionSignaledEventAttributes
    workflow_execution_terminated_event_attributes: WorkflowExecutionTerminatedEventAttributes
    workflow_execution_continued_as_new_event_attributes: WorkflowExecutionContinuedAsNewEventAttributes
    start_child_workflow_execution_initiated_event_attributes: StartChildWorkflowExecutionInitiatedEventAttributes
    start_child_workflow_execution_failed_event_attributes: StartChildWorkflowExecutionFailedEventAttributes
    child_workflow_execution_started_event_attributes: ChildWorkflowExecutionStartedEventAttributes
    child_workflow_execution_completed_event_attributes: ChildWorkflowExecutionCompletedEventAttributes
    child_workflow_execution_failed_event_attributes: ChildWorkflowExecutionFailedEventAttributes
    child_workflow_execution_canceled_event_attributes: ChildWorkflowExecutionCanceledEventAttributes
    child_workflow_execution_timed_out_event_attributes: ChildWorkflowExecutionTimedOutEventAttributes
    child_workflow_execution_terminated_event_attributes: ChildWorkflowExecutionTerminatedEventAttributes
    signal_external_workflow_execution_initiated_event_attributes: SignalExternalWorkflowExecutionInitiatedEventAttributes
    signal_external_workflow_execution_failed_event_attributes: SignalExternalWorkflowExecutionFailedEventAttributes
    external_workflow_execution_signaled_event_attributes: ExternalWorkflowExecutionSignaledEventAttributes
    upsert_workflow_search_attributes_event_attributes: UpsertWorkflowSearchAttributesEventAttributes
    workflow_properties_modified_event_attributes: WorkflowPropertiesModifiedEventAttributes
    workflow_execution_update_accepted_event_attributes: WorkflowExecutionUpdateAcceptedEventAttributes
    workflow_execution_update_completed_event_attributes: WorkflowExecutionUpdateCompletedEventAttributes
    def __init__(self, event_id: _Optional[int] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., event_type: _Optional[_Union[_enums_pb2.EventType, str]] = ..., task_id: _Optional[int] = ..., workflow_execution_started_event_attributes: _Optional[_Union[WorkflowExecutionStartedEventAttributes, _Mapping]] = ..., workflow_execution_completed_event_attributes: _Optional[_Union[WorkflowExecutionCompletedEventAttributes, _Mapping]] = ..., workflow_execution_failed_event_attributes: _Optional[_Union[WorkflowExecutionFailedEventAttributes, _Mapping]] = ..., workflow_execution_timed_out_event_attributes: _Optional[_Union[WorkflowExecutionTimedOutEventAttributes, _Mapping]] = ..., workflow_task_scheduled_event_attributes: _Optional[_Union[WorkflowTaskScheduledEventAttributes, _Mapping]] = ..., workflow_task_started_event_attributes: _Optional[_Union[WorkflowTaskStartedEventAttributes, _Mapping]] = ..., workflow_task_completed_event_attributes: _Optional[_Union[WorkflowTaskCompletedEventAttributes, _Mapping]] = ..., workflow_task_timed_out_event_attributes: _Optional[_Union[WorkflowTaskTimedOutEventAttributes, _Mapping]] = ..., workflow_task_failed_event_attributes: _Optional[_Union[WorkflowTaskFailedEventAttributes, _Mapping]] = ..., activity_task_scheduled_event_attributes: _Optional[_Union[ActivityTaskScheduledEventAttributes, _Mapping]] = ..., activity_task_started_event_attributes: _Optional[_Union[ActivityTaskStartedEventAttributes, _Mapping]] = ..., activity_task_completed_event_attributes: _Optional[_Union[ActivityTaskCompletedEventAttributes, _Mapping]] = ..., activity_task_failed_event_attributes: _Optional[_Union[ActivityTaskFailedEventAttributes, _Mapping]] = ..., activity_task_timed_out_event_attributes: _Optional[_Union[ActivityTaskTimedOutEventAttributes, _Mapping]] = ..., activity_task_cancel_requested_event_attributes: _Optional[_Union[ActivityTaskCancelRequestedEventAttributes, _Mapping]] = ..., activity_task_canceled_event_attributes: _Optional[_Union[ActivityTaskCanceledEventAttributes, _Mapping]] = ..., timer_started_event_attributes: _Optional[_Union[TimerStartedEventAttributes, _Mapping]] = ..., timer_fired_event_attributes: _Optional[_Union[TimerFiredEventAttributes, _Mapping]] = ..., timer_canceled_event_attributes: _Optional[_Union[TimerCanceledEventAttributes, _Mapping]] = ..., workflow_execution_cancel_requested_event_attributes: _Optional[_Union[WorkflowExecutionCancelRequestedEventAttributes, _Mapping]] = ..., workflow_execution_canceled_event_attributes: _Optional[_Union[WorkflowExecutionCanceledEventAttributes, _Mapping]] = ..., request_cancel_external_workflow_execution_initiated_event_attributes: _Optional[_Union[RequestCancelExternalWorkflowExecutionInitiatedEventAttributes, _Mapping]] = ..., request_cancel_external_workflow_execution_failed_event_attributes: _Optional[_Union[RequestCancelExternalWorkflowExecutionFailedEventAttributes, _Mapping]] = ..., external_workflow_execution_cancel_requested_event_attributes: _Optional[_Union[ExternalWorkflowExecutionCancelRequestedEventAttributes, _Mapping]] = ..., marker_recorded_event_attributes: _Optional[_Union[MarkerRecordedEventAttributes, _Mapping]] = ..., workflow_execution_signaled_event_attributes: _Optional[_Union[WorkflowExecutionSignaledEventAttributes, _Mapping]] = ..., workflow_execution_terminated_event_attributes: _Optional[_Union[WorkflowExecutionTerminatedEventAttributes, _Mapping]] = ..., workflow_execution_continued_as_new_event_attributes: _Optional[_Union[WorkflowExecutionContinuedAsNewEventAttributes, _Mapping]] = ..., start_child_workflow_execution_initiated_event_attributes: _Optional[_Union[StartChildWorkflowExecutionInitiatedEventAttributes, _Mapping]] = ..., start_child_workflow_execution_failed_event_attributes: _Optional[_Union[StartChildWorkflowExecutionFailedEventAttributes, _Mapping]] = ..., child_workflow_execution_started_event_attributes: _Optional[_Union[ChildWorkflowExecutionStartedEventAttributes, _Mapping]] = ..., child_workflow_execution_completed_event_attributes: _Optional[_Union[ChildWorkflowExecutionCompletedEventAttributes, _Mapping]] = ..., child_workflow_execution_failed_event_attributes: _Optional[_Union[ChildWorkflowExecutionFailedEventAttributes, _Mapping]] = ..., child_workflow_execution_canceled_event_attributes: _Optional[_Union[ChildWorkflowExecutionCanceledEventAttributes, _Mapping]] = ..., child_workflow_execution_timed_out_event_attributes: _Optional[_Union[ChildWorkflowExecutionTimedOutEventAttributes, _Mapping]] = ..., child_workflow_execution_terminated_event_attributes: _Optional[_Union[ChildWorkflowExecutionTerminatedEventAttributes, _Mapping]] = ..., signal_external_workflow_execution_initiated_event_attributes: _Optional[_Union[SignalExternalWorkflowExecutionInitiatedEventAttributes, _Mapping]] = ..., signal_external_workflow_execution_failed_event_attributes: _Optional[_Union[SignalExternalWorkflowExecutionFailedEventAttributes, _Mapping]] = ..., external_workflow_execution_signaled_event_attributes: _Optional[_Union[ExternalWorkflowExecutionSignaledEventAttributes, _Mapping]] = ..., upsert_workflow_search_attributes_event_attributes: _Optional[_Union[UpsertWorkflowSearchAttributesEventAttributes, _Mapping]] = ..., workflow_properties_modified_event_attributes: _Optional[_Union[WorkflowPropertiesModifiedEventAttributes, _Mapping]] = ..., workflow_execution_update_accepted_event_attributes: _Optional[_Union[WorkflowExecutionUpdateAcceptedEventAttributes, _Mapping]] = ..., workflow_execution_update_completed_event_attributes: _Optional[_Union[WorkflowExecutionUpdateCompletedEventAttributes, _Mapping]] = ...) -> None: ...

class History(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[HistoryEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[HistoryEvent, _Mapping]]] = ...) -> None: ...
