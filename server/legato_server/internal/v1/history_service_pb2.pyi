import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from legato.api.v1 import common_pb2 as _common_pb2
from legato.api.v1 import history_pb2 as _history_pb2
from legato.api.v1 import workflow_service_pb2 as _workflow_service_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ParentExecutionInfo(_message.Message):
    __slots__ = ("namespace_id", "namespace", "execution", "initiated_event_id")
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_FIELD_NUMBER: _ClassVar[int]
    INITIATED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    namespace_id: str
    namespace: str
    execution: _common_pb2.WorkflowExecution
    initiated_event_id: int
    def __init__(self, namespace_id: _Optional[str] = ..., namespace: _Optional[str] = ..., execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ..., initiated_event_id: _Optional[int] = ...) -> None: ...

class StartWorkflowExecutionRequest(_message.Message):
    __slots__ = ("namespace_id", "start_request", "parent_execution_info")
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    START_REQUEST_FIELD_NUMBER: _ClassVar[int]
    PARENT_EXECUTION_INFO_FIELD_NUMBER: _ClassVar[int]
    namespace_id: str
    start_request: _workflow_service_pb2.StartWorkflowExecutionRequest
    parent_execution_info: ParentExecutionInfo
    def __init__(self, namespace_id: _Optional[str] = ..., start_request: _Optional[_Union[_workflow_service_pb2.StartWorkflowExecutionRequest, _Mapping]] = ..., parent_execution_info: _Optional[_Union[ParentExecutionInfo, _Mapping]] = ...) -> None: ...

class SignalWorkflowExecutionRequest(_message.Message):
    __slots__ = ("namespace_id", "signal_request", "external_workflow_execution", "child_workflow_only")
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_REQUEST_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_WORKFLOW_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    CHILD_WORKFLOW_ONLY_FIELD_NUMBER: _ClassVar[int]
    namespace_id: str
    signal_request: _workflow_service_pb2.SignalWorkflowExecutionRequest
    external_workflow_execution: _common_pb2.WorkflowExecution
    child_workflow_only: bool
    def __init__(self, namespace_id: _Optional[str] = ..., signal_request: _Optional[_Union[_workflow_service_pb2.SignalWorkflowExecutionRequest, _Mapping]] = ..., external_workflow_execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ..., child_workflow_only: _Optional[bool] = ...) -> None: ...

class SignalWithStartWorkflowExecutionRequest(_message.Message):
    __slots__ = ("namespace_id", "signal_with_start_request")
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_WITH_START_REQUEST_FIELD_NUMBER: _ClassVar[int]
    namespace_id: str
    signal_with_start_request: _workflow_service_pb2.SignalWithStartWorkflowExecutionRequest
    def __init__(self, namespace_id: _Optional[str] = ..., signal_with_start_request: _Optional[_Union[_workflow_service_pb2.SignalWithStartWorkflowExecutionRequest, _Mapping]] = ...) -> None: ...

class RequestCancelWorkflowExecutionRequest(_message.Message):
    __slots__ = ("namespace_id", "cancel_request", "external_initiated_event_id", "external_workflow_execution", "child_workflow_only")
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REQUEST_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_INITIATED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_WORKFLOW_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    CHILD_WORKFLOW_ONLY_FIELD_NUMBER: _ClassVar[int]
    namespace_id: str
    cancel_request: _workflow_service_pb2.RequestCancelWorkflowExecutionRequest
    external_initiated_event_id: int
    external_workflow_execution: _common_pb2.WorkflowExecution
    child_workflow_only: bool
    def __init__(self, namespace_id: _Optional[str] = ..., cancel_request: _Optional[_Union[_workflow_service_pb2.RequestCancelWorkflowExecutionRequest, _Mapping]] = ..., external_initiated_event_id: _Optional[int] = ..., external_workflow_execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ..., child_workflow_only: _Optional[bool] = ...) -> None: ...

class TerminateWorkflowExecutionRequest(_message.Message):
    __slots__ = ("namespace_id", "terminate_request")
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    TERMINATE_REQUEST_FIELD_NUMBER: _ClassVar[int]
    namespace_id: str
    terminate_request: _workflow_service_pb2.TerminateWorkflowExecutionRequest
    def __init__(self, namespace_id: _Optional[str] = ..., terminate_request: _Optional[_Union[_workflow_service_pb2.TerminateWorkflowExecutionRequest, _Mapping]] = ...) -> None: ...

class ResetWorkflowExecutionRequest(_message.Message):
    __slots__ = ("namespace_id", "reset_request")
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    RESET_REQUEST_FIELD_NUMBER: _ClassVar[int]
    namespace_id: str
    reset_request: _workflow_service_pb2.ResetWorkflowExecutionRequest
    def __init__(self, namespace_id: _Optional[str] = ..., reset_request: _Optional[_Union[_workflow_service_pb2.ResetWorkflowExecutionRequest, _Mapping]] = ...) -> None: ...

class DescribeWorkflowExecutionRequest(_message.Message):
    __slots__ = ("namespace_id", "request")
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    namespace_id: str
    request: _workflow_service_pb2.DescribeWorkflowExecutionRequest
    def __init__(self, namespace_id: _Optional[str] = ..., request: _Optional[_Union[_workflow_service_pb2.DescribeWorkflowExecutionRequest, _Mapping]] = ...) -> None: ...

class GetWorkflowExecutionHistoryRequest(_message.Message):
    __slots__ = ("namespace_id", "request", "long_poll_timeout")
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    LONG_POLL_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    namespace_id: str
    request: _workflow_service_pb2.GetWorkflowExecutionHistoryRequest
    long_poll_timeout: _duration_pb2.Duration
    def __init__(self, namespace_id: _Optional[str] = ..., request: _Optional[_Union[_workflow_service_pb2.GetWorkflowExecutionHistoryRequest, _Mapping]] = ..., long_poll_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class QueryWorkflowRequest(_message.Message):
    __slots__ = ("namespace_id", "request")
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    namespace_id: str
    request: _workflow_service_pb2.QueryWorkflowRequest
    def __init__(self, namespace_id: _Optional[str] = ..., request: _Optional[_Union[_workflow_service_pb2.QueryWorkflowRequest, _Mapping]] = ...) -> None: ...

class UpdateWorkflowExecutionRequest(_message.Message):
    __slots__ = ("namespace_id", "request")
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    namespace_id: str
    request: _workflow_service_pb2.UpdateWorkflowExecutionRequest
    def __init__(self, namespace_id: _Optional[str] = ..., request: _Optional[_Union[_workflow_service_pb2.UpdateWorkflowExecutionRequest, _Mapping]] = ...) -> None: ...

class PollWorkflowExecutionUpdateRequest(_message.Message):
    __slots__ = ("namespace_id", "request")
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    namespace_id: str
    request: _workflow_service_pb2.PollWorkflowExecutionUpdateRequest
    def __init__(self, namespace_id: _Optional[str] = ..., request: _Optional[_Union[_workflow_service_pb2.PollWorkflowExecutionUpdateRequest, _Mapping]] = ...) -> None: ...

class UpdateWithStartWorkflowExecutionRequest(_message.Message):
    __slots__ = ("namespace_id", "request")
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    namespace_id: str
    request: _workflow_service_pb2.UpdateWithStartWorkflowExecutionRequest
    def __init__(self, namespace_id: _Optional[str] = ..., request: _Optional[_Union[_workflow_service_pb2.UpdateWithStartWorkflowExecutionRequest, _Mapping]] = ...) -> None: ...

class ResetStickyTaskQueueRequest(_message.Message):
    __slots__ = ("namespace_id", "request")
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    namespace_id: str
    request: _workflow_service_pb2.ResetStickyTaskQueueRequest
    def __init__(self, namespace_id: _Optional[str] = ..., request: _Optional[_Union[_workflow_service_pb2.ResetStickyTaskQueueRequest, _Mapping]] = ...) -> None: ...

class RecordWorkflowTaskStartedRequest(_message.Message):
    __slots__ = ("namespace_id", "workflow_execution", "scheduled_event_id", "request_id", "poll_request")
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    POLL_REQUEST_FIELD_NUMBER: _ClassVar[int]
    namespace_id: str
    workflow_execution: _common_pb2.WorkflowExecution
    scheduled_event_id: int
    request_id: str
    poll_request: _workflow_service_pb2.PollWorkflowTaskQueueRequest
    def __init__(self, namespace_id: _Optional[str] = ..., workflow_execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ..., scheduled_event_id: _Optional[int] = ..., request_id: _Optional[str] = ..., poll_request: _Optional[_Union[_workflow_service_pb2.PollWorkflowTaskQueueRequest, _Mapping]] = ...) -> None: ...

class RecordActivityTaskStartedRequest(_message.Message):
    __slots__ = ("namespace_id", "workflow_execution", "scheduled_event_id", "request_id", "poll_request")
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    POLL_REQUEST_FIELD_NUMBER: _ClassVar[int]
    namespace_id: str
    workflow_execution: _common_pb2.WorkflowExecution
    scheduled_event_id: int
    request_id: str
    poll_request: _workflow_service_pb2.PollActivityTaskQueueRequest
    def __init__(self, namespace_id: _Optional[str] = ..., workflow_execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ..., scheduled_event_id: _Optional[int] = ..., request_id: _Optional[str] = ..., poll_request: _Optional[_Union[_workflow_service_pb2.PollActivityTaskQueueRequest, _Mapping]] = ...) -> None: ...

class RespondWorkflowTaskCompletedRequest(_message.Message):
    __slots__ = ("namespace_id", "complete_request")
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_REQUEST_FIELD_NUMBER: _ClassVar[int]
    namespace_id: str
    complete_request: _workflow_service_pb2.RespondWorkflowTaskCompletedRequest
    def __init__(self, namespace_id: _Optional[str] = ..., complete_request: _Optional[_Union[_workflow_service_pb2.RespondWorkflowTaskCompletedRequest, _Mapping]] = ...) -> None: ...

class RespondWorkflowTaskFailedRequest(_message.Message):
    __slots__ = ("namespace_id", "failed_request")
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    FAILED_REQUEST_FIELD_NUMBER: _ClassVar[int]
    namespace_id: str
    failed_request: _workflow_service_pb2.RespondWorkflowTaskFailedRequest
    def __init__(self, namespace_id: _Optional[str] = ..., failed_request: _Optional[_Union[_workflow_service_pb2.RespondWorkflowTaskFailedRequest, _Mapping]] = ...) -> None: ...

class RespondActivityTaskCompletedRequest(_message.Message):
    __slots__ = ("namespace_id", "complete_request")
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_REQUEST_FIELD_NUMBER: _ClassVar[int]
    namespace_id: str
    complete_request: _workflow_service_pb2.RespondActivityTaskCompletedRequest
    def __init__(self, namespace_id: _Optional[str] = ..., complete_request: _Optional[_Union[_workflow_service_pb2.RespondActivityTaskCompletedRequest, _Mapping]] = ...) -> None: ...

class RespondActivityTaskFailedRequest(_message.Message):
    __slots__ = ("namespace_id", "failed_request")
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    FAILED_REQUEST_FIELD_NUMBER: _ClassVar[int]
    namespace_id: str
    failed_request: _workflow_service_pb2.RespondActivityTaskFailedRequest
    def __init__(self, namespace_id: _Optional[str] = ..., failed_request: _Optional[_Union[_workflow_service_pb2.RespondActivityTaskFailedRequest, _Mapping]] = ...) -> None: ...

class RespondActivityTaskCanceledRequest(_message.Message):
    __slots__ = ("namespace_id", "cancel_request")
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REQUEST_FIELD_NUMBER: _ClassVar[int]
    namespace_id: str
    cancel_request: _workflow_service_pb2.RespondActivityTaskCanceledRequest
    def __init__(self, namespace_id: _Optional[str] = ..., cancel_request: _Optional[_Union[_workflow_service_pb2.RespondActivityTaskCanceledRequest, _Mapping]] = ...) -> None: ...

class RecordActivityTaskHeartbeatRequest(_message.Message):
    __slots__ = ("namespace_id", "heartbeat_request")
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_REQUEST_FIELD_NUMBER: _ClassVar[int]
    namespace_id: str
    heartbeat_request: _workflow_service_pb2.RecordActivityTaskHeartbeatRequest
    def __init__(self, namespace_id: _Optional[str] = ..., heartbeat_request: _Optional[_Union[_workflow_service_pb2.RecordActivityTaskHeartbeatRequest, _Mapping]] = ...) -> None: ...

class RecordChildExecutionCompletedRequest(_message.Message):
    __slots__ = ("namespace_id", "parent_execution", "parent_initiated_event_id", "child_execution", "child_workflow_type_name", "completion_event")
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    PARENT_INITIATED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    CHILD_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    CHILD_WORKFLOW_TYPE_NAME_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_EVENT_FIELD_NUMBER: _ClassVar[int]
    namespace_id: str
    parent_execution: _common_pb2.WorkflowExecution
    parent_initiated_event_id: int
    child_execution: _common_pb2.WorkflowExecution
    child_workflow_type_name: str
    completion_event: _history_pb2.HistoryEvent
    def __init__(self, namespace_id: _Optional[str] = ..., parent_execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ..., parent_initiated_event_id: _Optional[int] = ..., child_execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ..., child_workflow_type_name: _Optional[str] = ..., completion_event: _Optional[_Union[_history_pb2.HistoryEvent, _Mapping]] = ...) -> None: ...

class RecordChildExecutionCompletedResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeleteWorkflowExecutionRequest(_message.Message):
    __slots__ = ("namespace_id", "workflow_execution", "reason")
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    namespace_id: str
    workflow_execution: _common_pb2.WorkflowExecution
    reason: str
    def __init__(self, namespace_id: _Optional[str] = ..., workflow_execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class DeleteWorkflowExecutionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
