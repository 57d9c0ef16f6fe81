import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from legato.api.v1 import common_pb2 as _common_pb2
from legato.api.v1 import workflow_service_pb2 as _workflow_service_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AddWorkflowTaskRequest(_message.Message):
    __slots__ = ("namespace_id", "execution", "task_queue", "scheduled_event_id", "schedule_to_start_timeout", "forwarded_from")
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_FIELD_NUMBER: _ClassVar[int]
    TASK_QUEUE_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_TO_START_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    FORWARDED_FROM_FIELD_NUMBER: _ClassVar[int]
    namespace_id: str
    execution: _common_pb2.WorkflowExecution
    task_queue: _common_pb2.TaskQueue
    scheduled_event_id: int
    schedule_to_start_timeout: _duration_pb2.Duration
    forwarded_from: str
    def __init__(self, namespace_id: _Optional[str] = ..., execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ..., task_queue: _Optional[_Union[_common_pb2.TaskQueue, _Mapping]] = ..., scheduled_event_id: _Optional[int] = ..., schedule_to_start_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., forwarded_from: _Optional[str] = ...) -> None: ...

class AddWorkflowTaskResponse(_message.Message):
    __slots__ = ("matched",)
    MATCHED_FIELD_NUMBER: _ClassVar[int]
    matched: bool
    def __init__(self, matched: _Optional[bool] = ...) -> None: ...

class AddActivityTaskRequest(_message.Message):
    __slots__ = ("namespace_id", "execution", "task_queue", "scheduled_event_id", "schedule_to_start_timeout", "forwarded_from")
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_FIELD_NUMBER: _ClassVar[int]
    TASK_QUEUE_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_TO_START_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    FORWARDED_FROM_FIELD_NUMBER: _ClassVar[int]
    namespace_id: str
    execution: _common_pb2.WorkflowExecution
    task_queue: _common_pb2.TaskQueue
    scheduled_event_id: int
    schedule_to_start_timeout: _duration_pb2.Duration
    forwarded_from: str
    def __init__(self, namespace_id: _Optional[str] = ..., execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ..., task_queue: _Optional[_Union[_common_pb2.TaskQueue, _Mapping]] = ..., scheduled_event_id: _Optional[int] = ..., schedule_to_start_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., forwarded_from: _Optional[str] = ...) -> None: ...

class AddActivityTaskResponse(_message.Message):
    __slots__ = ("matched",)
    MATCHED_FIELD_NUMBER: _ClassVar[int]
    matched: bool
    def __init__(self, matched: _Optional[bool] = ...) -> None: ...

class PollWorkflowTaskQueueRequest(_message.Message):
    __slots__ = ("namespace_id", "poller_id", "poll_request", "forwarded_from")
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    POLLER_ID_FIELD_NUMBER: _ClassVar[int]
    POLL_REQUEST_FIELD_NUMBER: _ClassVar[int]
    FORWARDED_FROM_FIELD_NUMBER: _ClassVar[int]
    namespace_id: str
    poller_id: str
    poll_request: _workflow_service_pb2.PollWorkflowTaskQueueRequest
    forwarded_from: str
    def __init__(self, namespace_id: _Optional[str] = ..., poller_id: _Optional[str] = ..., poll_request: _Optional[_Union[_workflow_service_pb2.PollWorkflowTaskQueueRequest, _Mapping]] = ..., forwarded_from: _Optional[str] = ...) -> None: ...

class PollActivityTaskQueueRequest(_message.Message):
    __slots__ = ("namespace_id", "poller_id", "poll_request", "forwarded_from")
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    POLLER_ID_FIELD_NUMBER: _ClassVar[int]
    POLL_REQUEST_FIELD_NUMBER: _ClassVar[int]
    FORWARDED_FROM_FIELD_NUMBER: _ClassVar[int]
    namespace_id: str
    poller_id: str
    poll_request: _workflow_service_pb2.PollActivityTaskQueueRequest
    forwarded_from: str
    def __init__(self, namespace_id: _Optional[str] = ..., poller_id: _Optional[str] = ..., poll_request: _Optional[_Union[_workflow_service_pb2.PollActivityTaskQueueRequest, _Mapping]] = ..., forwarded_from: _Optional[str] = ...) -> None: ...

class QueryWorkflowRequest(_message.Message):
    __slots__ = ("namespace_id", "task_queue", "query_request", "task")
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_QUEUE_FIELD_NUMBER: _ClassVar[int]
    QUERY_REQUEST_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    namespace_id: str
    task_queue: _common_pb2.TaskQueue
    query_request: _workflow_service_pb2.QueryWorkflowRequest
    task: _workflow_service_pb2.PollWorkflowTaskQueueResponse
    def __init__(self, namespace_id: _Optional[str] = ..., task_queue: _Optional[_Union[_common_pb2.TaskQueue, _Mapping]] = ..., query_request: _Optional[_Union[_workflow_service_pb2.QueryWorkflowRequest, _Mapping]] = ..., task: _Optional[_Union[_workflow_service_pb2.PollWorkflowTaskQueueResponse, _Mapping]] = ...) -> None: ...

class RespondQueryTaskCompletedRequest(_message.Message):
    __slots__ = ("namespace_id", "task_queue", "query_id", "completed_request")
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_QUEUE_FIELD_NUMBER: _ClassVar[int]
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_REQUEST_FIELD_NUMBER: _ClassVar[int]
    namespace_id: str
    task_queue: str
    query_id: str
    completed_request: _workflow_service_pb2.RespondQueryTaskCompletedRequest
    def __init__(self, namespace_id: _Optional[str] = ..., task_queue: _Optional[str] = ..., query_id: _Optional[str] = ..., completed_request: _Optional[_Union[_workflow_service_pb2.RespondQueryTaskCompletedRequest, _Mapping]] = ...) -> None: ...

class PersistedTask(_message.Message):
    __slots__ = ("namespace_id", "execution", "scheduled_event_id", "create_time_unix_ms", "expiry_time_unix_ms")
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    EXPIRY_TIME_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    namespace_id: str
    execution: _common_pb2.WorkflowExecution
    scheduled_event_id: int
    create_time_unix_ms: int
    expiry_time_unix_ms: int
    def __init__(self, namespace_id: _Optional[str] = ..., execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ..., scheduled_event_id: _Optional[int] = ..., create_time_unix_ms: _Optional[int] = ..., expiry_time_unix_ms: _Optional[int] = ...) -> None: ...
