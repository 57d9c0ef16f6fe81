import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from legato.api.v1 import command_pb2 as _command_pb2
from legato.api.v1 import common_pb2 as _common_pb2
from legato.api.v1 import enums_pb2 as _enums_pb2
from legato.api.v1 import history_pb2 as _history_pb2
from legato.api.v1 import update_pb2 as _update_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RegisterNamespaceRequest(_message.Message):
    __slots__ = ("namespace", "description", "owner_email", "workflow_execution_retention_period", "data", "search_attributes")
    class DataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class SearchAttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _enums_pb2.IndexedValueType
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_enums_pb2.IndexedValueType, str]] = ...) -> None: ...
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    OWNER_EMAIL_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_RETENTION_PERIOD_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    SEARCH_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    description: str
    owner_email: str
    workflow_execution_retention_period: _duration_pb2.Duration
    data: _containers.ScalarMap[str, str]
    search_attributes: _containers.ScalarMap[str, _enums_pb2.IndexedValueType]
    def __init__(self, namespace: _Optional[str] = ..., description: _Optional[str] = ..., owner_email: _Optional[str] = ..., workflow_execution_retention_period: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., data: _Optional[_Mapping[str, str]] = ..., search_attributes: _Optional[_Mapping[str, _enums_pb2.IndexedValueType]] = ...) -> None: ...

class RegisterNamespaceResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DescribeNamespaceRequest(_message.Message):
    __slots__ = ("namespace", "id")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    id: str
    def __init__(self, namespace: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class DescribeNamespaceResponse(_message.Message):
    __slots__ = ("namespace_info", "config")
    NAMESPACE_INFO_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    namespace_info: _common_pb2.NamespaceInfo
    config: _common_pb2.NamespaceConfig
    def __init__(self, namespace_info: _Optional[_Union[_common_pb2.NamespaceInfo, _Mapping]] = ..., config: _Optional[_Union[_common_pb2.NamespaceConfig, _Mapping]] = ...) -> None: ...

class ListNamespacesRequest(_message.Message):
    __slots__ = ("page_size", "next_page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    next_page_token: bytes
    def __init__(self, page_size: _Optional[int] = ..., next_page_token: _Optional[bytes] = ...) -> None: ...

class ListNamespacesResponse(_message.Message):
    __slots__ = ("namespaces", "next_page_token")
    NAMESPACES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    namespaces: _containers.RepeatedCompositeFieldContainer[DescribeNamespaceResponse]
    next_page_token: bytes
    def __init__(self, namespaces: _Optional[_Iterable[_Union[DescribeNamespaceResponse, _Mapping]]] = ..., next_page_token: _Optional[bytes] = ...) -> None: ...

class UpdateNamespaceRequest(_message.Message):
    __slots__ = ("namespace", "description", "owner_email", "workflow_execution_retention_period", "data", "add_search_attributes")
    class DataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class AddSearchAttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _enums_pb2.IndexedValueType
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_enums_pb2.IndexedValueType, str]] = ...) -> None: ...
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    OWNER_EMAIL_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_RETENTION_PERIOD_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    ADD_SEARCH_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    description: str
    owner_email: str
    workflow_execution_retention_period: _duration_pb2.Duration
    data: _containers.ScalarMap[str, str]
    add_search_attributes: _containers.ScalarMap[str, _enums_pb2.IndexedValueType]
    def __init__(self, namespace: _Optional[str] = ..., description: _Optional[str] = ..., owner_email: _Optional[str] = ..., workflow_execution_retention_period: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., data: _Optional[_Mapping[str, str]] = ..., add_search_attributes: _Optional[_Mapping[str, _enums_pb2.IndexedValueType]] = ...) -> None: ...

class UpdateNamespaceResponse(_message.Message):
    __slots__ = ("namespace_info", "config")
    NAMESPACE_INFO_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    namespace_info: _common_pb2.NamespaceInfo
    config: _common_pb2.NamespaceConfig
    def __init__(self, namespace_info: _Optional[_Union[_common_pb2.NamespaceInfo, _Mapping]] = ..., config: _Optional[_Union[_common_pb2.NamespaceConfig, _Mapping]] = ...) -> None: ...

class DeleteNamespaceRequest(_message.Message):
    __slots__ = ("namespace",)
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    def __init__(self, namespace: _Optional[str] = ...) -> None: ...

class DeleteNamespaceResponse(_message.Message):
    __slots__ = ("namespace_info",)
    NAMESPACE_INFO_FIELD_NUMBER: _ClassVar[int]
    namespace_info: _common_pb2.NamespaceInfo
    def __init__(self, namespace_info: _Optional[_Union[_common_pb2.NamespaceInfo, _Mapping]] = ...) -> None: ...

class StartWorkflowExecutionRequest(_message.Message):
    __slots__ = ("namespace", "workflow_id", "workflow_type", "task_queue", "input", "workflow_execution_timeout", "workflow_run_timeout", "workflow_task_timeout", "identity", "request_id", "workflow_id_reuse_policy", "retry_policy", "cron_schedule", "memo", "search_attributes", "header", "workflow_start_delay", "request_eager_execution")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TYPE_FIELD_NUMBER: _ClassVar[int]
    TASK_QUEUE_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_RUN_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TASK_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_REUSE_POLICY_FIELD_NUMBER: _ClassVar[int]
    RETRY_POLICY_FIELD_NUMBER: _ClassVar[int]
    CRON_SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    MEMO_FIELD_NUMBER: _ClassVar[int]
    SEARCH_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_START_DELAY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_EAGER_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    workflow_id: str
    workflow_type: _common_pb2.WorkflowType
    task_queue: _common_pb2.TaskQueue
    input: _common_pb2.Payloads
    workflow_execution_timeout: _duration_pb2.Duration
    workflow_run_timeout: _duration_pb2.Duration
    workflow_task_timeout: _duration_pb2.Duration
    identity: str
    request_id: str
    workflow_id_reuse_policy: _enums_pb2.WorkflowIdReusePolicy
    retry_policy: _common_pb2.RetryPolicy
    cron_schedule: str
    memo: _common_pb2.Memo
    search_attributes: _common_pb2.SearchAttributes
    header: _common_pb2.Header
    workflow_start_delay: _duration_pb2.Duration
    request_eager_execution: bool
    def __init__(self, namespace: _Optional[str] = ..., workflow_id: _Optional[str] = ..., workflow_type: _Optional[_Union[_common_pb2.WorkflowType, _Mapping]] = ..., task_queue: _Optional[_Union[_common_pb2.TaskQueue, _Mapping]] = ..., input: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ..., workflow_execution_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., workflow_run_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., workflow_task_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., identity: _Optional[str] = ..., request_id: _Optional[str] = ..., workflow_id_reuse_policy: _Optional[_Union[_enums_pb2.WorkflowIdReusePolicy, str]] = ..., retry_policy: _Optional[_Union[_common_pb2.RetryPolicy, _Mapping]] = ..., cron_schedule: _Optional[str] = ..., memo: _Optional[_Union[_common_pb2.Memo, _Mapping]] = ..., search_attributes: _Optional[_Union[_common_pb2.SearchAttributes, _Mapping]] = ..., header: _Optional[_Union[_common_pb2.Header, _Mapping]] = ..., workflow_start_delay: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., request_eager_execution: _Optional[bool] = ...) -> None: ...

class StartWorkflowExecutionResponse(_message.Message):
    __slots__ = ("run_id", "started", "eager_workflow_task")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    EAGER_WORKFLOW_TASK_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    started: bool
    eager_workflow_task: PollWorkflowTaskQueueResponse
    def __init__(self, run_id: _Optional[str] = ..., started: _Optional[bool] = ..., eager_workflow_task: _Optional[_Union[PollWorkflowTaskQueueResponse, _Mapping]] = ...) -> None: ...

class SignalWorkflowExecutionRequest(_message.Message):
    __slots__ = ("namespace", "workflow_execution", "signal_name", "input", "identity", "request_id", "header")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_NAME_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    workflow_execution: _common_pb2.WorkflowExecution
    signal_name: str
    input: _common_pb2.Payloads
    identity: str
    request_id: str
    header: _common_pb2.Header
    def __init__(self, namespace: _Optional[str] = ..., workflow_execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ..., signal_name: _Optional[str] = ..., input: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ..., identity: _Optional[str] = ..., request_id: _Optional[str] = ..., header: _Optional[_Union[_common_pb2.Header, _Mapping]] = ...) -> None: ...

class SignalWorkflowExecutionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SignalWithStartWorkflowExecutionRequest(_message.Message):
    __slots__ = ("namespace", "workflow_id", "workflow_type", "task_queue", "input", "workflow_execution_timeout", "workflow_run_timeout", "workflow_task_timeout", "identity", "request_id", "workflow_id_reuse_policy", "signal_name", "signal_input", "retry_policy", "cron_schedule", "memo", "search_attributes", "header")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TYPE_FIELD_NUMBER: _ClassVar[int]
    TASK_QUEUE_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_RUN_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TASK_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_REUSE_POLICY_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_NAME_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_INPUT_FIELD_NUMBER: _ClassVar[int]
    RETRY_POLICY_FIELD_NUMBER: _ClassVar[int]
    CRON_SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    MEMO_FIELD_NUMBER: _ClassVar[int]
    SEARCH_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    workflow_id: str
    workflow_type: _common_pb2.WorkflowType
    task_queue: _common_pb2.TaskQueue
    input: _common_pb2.Payloads
    workflow_execution_timeout: _duration_pb2.Duration
    workflow_run_timeout: _duration_pb2.Duration
    workflow_task_timeout: _duration_pb2.Duration
    identity: str
    request_id: str
    workflow_id_reuse_policy: _enums_pb2.WorkflowIdReusePolicy
    signal_name: str
    signal_input: _common_pb2.Payloads
    retry_policy: _common_pb2.RetryPolicy
    cron_schedule: str
    memo: _common_pb2.Memo
    search_attributes: _common_pb2.SearchAttributes
    header: _common_pb2.Header
    def __init__(self, namespace: _Optional[str] = ..., workflow_id: _Optional[str] = ..., workflow_type: _Optional[_Union[_common_pb2.WorkflowType, _Mapping]] = ..., task_queue: _Optional[_Union[_common_pb2.TaskQueue, _Mapping]] = ..., input: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ..., workflow_execution_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., workflow_run_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., workflow_task_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., identity: _Optional[str] = ..., request_id: _Optional[str] = ..., workflow_id_reuse_policy: _Optional[_Union[_enums_pb2.WorkflowIdReusePolicy, str]] = ..., signal_name: _Optional[str] = ..., signal_input: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ..., retry_policy: _Optional[_Union[_common_pb2.RetryPolicy, _Mapping]] = ..., cron_schedule: _Optional[str] = ..., memo: _Optional[_Union[_common_pb2.Memo, _Mapping]] = ..., search_attributes: _Optional[_Union[_common_pb2.SearchAttributes, _Mapping]] = ..., header: _Optional[_Union[_common_pb2.Header, _Mapping]] = ...) -> None: ...

class SignalWithStartWorkflowExecutionResponse(_message.Message):
    __slots__ = ("run_id", "started")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    started: bool
    def __init__(self, run_id: _Optional[str] = ..., started: _Optional[bool] = ...) -> None: ...

class WorkflowQuery(_message.Message):
    __slots__ = ("query_type", "query_args", "header", "validate_update")
    QUERY_TYPE_FIELD_NUMBER: _ClassVar[int]
    QUERY_ARGS_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_UPDATE_FIELD_NUMBER: _ClassVar[int]
    query_type: str
    query_args: _common_pb2.Payloads
    header: _common_pb2.Header
    validate_update: _update_pb2.UpdateInput
    def __init__(self, query_type: _Optional[str] = ..., query_args: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ..., header: _Optional[_Union[_common_pb2.Header, _Mapping]] = ..., validate_update: _Optional[_Union[_update_pb2.UpdateInput, _Mapping]] = ...) -> None: ...

class QueryWorkflowRequest(_message.Message):
    __slots__ = ("namespace", "execution", "query")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    execution: _common_pb2.WorkflowExecution
    query: WorkflowQuery
    def __init__(self, namespace: _Optional[str] = ..., execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ..., query: _Optional[_Union[WorkflowQuery, _Mapping]] = ...) -> None: ...

class QueryWorkflowResponse(_message.Message):
    __slots__ = ("query_result", "update_rejection")
    QUERY_RESULT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_REJECTION_FIELD_NUMBER: _ClassVar[int]
    query_result: _common_pb2.Payloads
    update_rejection: _common_pb2.Failure
    def __init__(self, query_result: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ..., update_rejection: _Optional[_Union[_common_pb2.Failure, _Mapping]] = ...) -> None: ...

class UpdateWorkflowExecutionRequest(_message.Message):
    __slots__ = ("namespace", "workflow_execution", "update", "identity", "wait_stage")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    WAIT_STAGE_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    workflow_execution: _common_pb2.WorkflowExecution
    update: _update_pb2.UpdateInput
    identity: str
    wait_stage: _update_pb2.UpdateStage
    def __init__(self, namespace: _Optional[str] = ..., workflow_execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ..., update: _Optional[_Union[_update_pb2.UpdateInput, _Mapping]] = ..., identity: _Optional[str] = ..., wait_stage: _Optional[_Union[_update_pb2.UpdateStage, str]] = ...) -> None: ...

class UpdateWorkflowExecutionResponse(_message.Message):
    __slots__ = ("update_id", "workflow_execution", "stage", "outcome", "rejected")
    UPDATE_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    update_id: str
    workflow_execution: _common_pb2.WorkflowExecution
    stage: _update_pb2.UpdateStage
    outcome: _update_pb2.UpdateOutcome
    rejected: bool
    def __init__(self, update_id: _Optional[str] = ..., workflow_execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ..., stage: _Optional[_Union[_update_pb2.UpdateStage, str]] = ..., outcome: _Optional[_Union[_update_pb2.UpdateOutcome, _Mapping]] = ..., rejected: _Optional[bool] = ...) -> None: ...

class PollWorkflowExecutionUpdateRequest(_message.Message):
    __slots__ = ("namespace", "workflow_execution", "update_id", "wait_stage")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_ID_FIELD_NUMBER: _ClassVar[int]
    WAIT_STAGE_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    workflow_execution: _common_pb2.WorkflowExecution
    update_id: str
    wait_stage: _update_pb2.UpdateStage
    def __init__(self, namespace: _Optional[str] = ..., workflow_execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ..., update_id: _Optional[str] = ..., wait_stage: _Optional[_Union[_update_pb2.UpdateStage, str]] = ...) -> None: ...

class UpdateWithStartWorkflowExecutionRequest(_message.Message):
    __slots__ = ("start", "update")
    START_FIELD_NUMBER: _ClassVar[int]
    UPDATE_FIELD_NUMBER: _ClassVar[int]
    start: StartWorkflowExecutionRequest
    update: UpdateWorkflowExecutionRequest
    def __init__(self, start: _Optional[_Union[StartWorkflowExecutionRequest, _Mapping]] = ..., update: _Optional[_Union[UpdateWorkflowExecutionRequest, _Mapping]] = ...) -> None: ...

class UpdateWithStartWorkflowExecutionResponse(_message.Message):
    __slots__ = ("run_id", "started", "update")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    UPDATE_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    started: bool
    update: UpdateWorkflowExecutionResponse
    def __init__(self, run_id: _Optional[str] = ..., started: _Optional[bool] = ..., update: _Optional[_Union[UpdateWorkflowExecutionResponse, _Mapping]] = ...) -> None: ...

class RequestCancelWorkflowExecutionRequest(_message.Message):
    __slots__ = ("namespace", "workflow_execution", "identity", "request_id", "reason")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    workflow_execution: _common_pb2.WorkflowExecution
    identity: str
    request_id: str
    reason: str
    def __init__(self, namespace: _Optional[str] = ..., workflow_execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ..., identity: _Optional[str] = ..., request_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RequestCancelWorkflowExecutionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TerminateWorkflowExecutionRequest(_message.Message):
    __slots__ = ("namespace", "workflow_execution", "reason", "details", "identity")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    workflow_execution: _common_pb2.WorkflowExecution
    reason: str
    details: _common_pb2.Payloads
    identity: str
    def __init__(self, namespace: _Optional[str] = ..., workflow_execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ..., reason: _Optional[str] = ..., details: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ..., identity: _Optional[str] = ...) -> None: ...

class TerminateWorkflowExecutionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ResetWorkflowExecutionRequest(_message.Message):
    __slots__ = ("namespace", "workflow_execution", "reason", "workflow_task_finish_event_id", "reset_type", "request_id", "reapply_signals", "identity")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TASK_FINISH_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    RESET_TYPE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REAPPLY_SIGNALS_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    workflow_execution: _common_pb2.WorkflowExecution
    reason: str
    workflow_task_finish_event_id: int
    reset_type: _enums_pb2.ResetType
    request_id: str
    reapply_signals: bool
    identity: str
    def __init__(self, namespace: _Optional[str] = ..., workflow_execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ..., reason: _Optional[str] = ..., workflow_task_finish_event_id: _Optional[int] = ..., reset_type: _Optional[_Union[_enums_pb2.ResetType, str]] = ..., request_id: _Optional[str] = ..., reapply_signals: _Optional[bool] = ..., identity: _Optional[str] = ...) -> None: ...

class ResetWorkflowExecutionResponse(_message.Message):
    __slots__ = ("run_id",)
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    def __init__(self, run_id: _Optional[str] = ...) -> None: ...

class DescribeWorkflowExecutionRequest(_message.Message):
    __slots__ = ("namespace", "execution")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    execution: _common_pb2.WorkflowExecution
    def __init__(self, namespace: _Optional[str] = ..., execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ...) -> None: ...

class DescribeWorkflowExecutionResponse(_message.Message):
    __slots__ = ("execution_config", "workflow_execution_info", "pending_activities", "pending_children", "pending_workflow_task")
    EXECUTION_CONFIG_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_INFO_FIELD_NUMBER: _ClassVar[int]
    PENDING_ACTIVITIES_FIELD_NUMBER: _ClassVar[int]
    PENDING_CHILDREN_FIELD_NUMBER: _ClassVar[int]
    PENDING_WORKFLOW_TASK_FIELD_NUMBER: _ClassVar[int]
    execution_config: _common_pb2.WorkflowExecutionConfig
    workflow_execution_info: _common_pb2.WorkflowExecutionInfo
    pending_activities: _containers.RepeatedCompositeFieldContainer[_common_pb2.PendingActivityInfo]
    pending_children: _containers.RepeatedCompositeFieldContainer[_common_pb2.PendingChildExecutionInfo]
    pending_workflow_task: _common_pb2.PendingWorkflowTaskInfo
    def __init__(self, execution_config: _Optional[_Union[_common_pb2.WorkflowExecutionConfig, _Mapping]] = ..., workflow_execution_info: _Optional[_Union[_common_pb2.WorkflowExecutionInfo, _Mapping]] = ..., pending_activities: _Optional[_Iterable[_Union[_common_pb2.PendingActivityInfo, _Mapping]]] = ..., pending_children: _Optional[_Iterable[_Union[_common_pb2.PendingChildExecutionInfo, _Mapping]]] = ..., pending_workflow_task: _Optional[_Union[_common_pb2.PendingWorkflowTaskInfo, _Mapping]] = ...) -> None: ...

class GetWorkflowExecutionHistoryRequest(_message.Message):
    __slots__ = ("namespace", "execution", "maximum_page_size", "next_page_token", "wait_new_event", "history_event_filter_type")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_FIELD_NUMBER: _ClassVar[int]
    MAXIMUM_PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    WAIT_NEW_EVENT_FIELD_NUMBER: _ClassVar[int]
    HISTORY_EVENT_FILTER_TYPE_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    execution: _common_pb2.WorkflowExecution
    maximum_page_size: int
    next_page_token: bytes
    wait_new_event: bool
    history_event_filter_type: _enums_pb2.HistoryEventFilterType
    def __init__(self, namespace: _Optional[str] = ..., execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ..., maximum_page_size: _Optional[int] = ..., next_page_token: _Optional[bytes] = ..., wait_new_event: _Optional[bool] = ..., history_event_filter_type: _Optional[_Union[_enums_pb2.HistoryEventFilterType, str]] = ...) -> None: ...

class GetWorkflowExecutionHistoryResponse(_message.Message):
    __slots__ = ("history", "next_page_token")
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    history: _history_pb2.History
    next_page_token: bytes
    def __init__(self, history: _Optional[_Union[_history_pb2.History, _Mapping]] = ..., next_page_token: _Optional[bytes] = ...) -> None: ...

class ListWorkflowExecutionsRequest(_message.Message):
    __slots__ = ("namespace", "page_size", "next_page_token", "filter", "query")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    page_size: int
    next_page_token: bytes
    filter: _common_pb2.WorkflowExecutionFilter
    query: str
    def __init__(self, namespace: _Optional[str] = ..., page_size: _Optional[int] = ..., next_page_token: _Optional[bytes] = ..., filter: _Optional[_Union[_common_pb2.WorkflowExecutionFilter, _Mapping]] = ..., query: _Optional[str] = ...) -> None: ...

class ListWorkflowExecutionsResponse(_message.Message):
    __slots__ = ("executions", "next_page_token")
    EXECUTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    executions: _containers.RepeatedCompositeFieldContainer[_common_pb2.WorkflowExecutionInfo]
    next_page_token: bytes
    def __init__(self, executions: _Optional[_Iterable[_Union[_common_pb2.WorkflowExecutionInfo, _Mapping]]] = ..., next_page_token: _Optional[bytes] = ...) -> None: ...

class CountWorkflowExecutionsRequest(_message.Message):
    __slots__ = ("namespace", "filter", "query")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    filter: _common_pb2.WorkflowExecutionFilter
    query: str
    def __init__(self, namespace: _Optional[str] = ..., filter: _Optional[_Union[_common_pb2.WorkflowExecutionFilter, _Mapping]] = ..., query: _Optional[str] = ...) -> None: ...

class CountWorkflowExecutionsResponse(_message.Message):
    __slots__ = ("count",)
    COUNT_FIELD_NUMBER: _ClassVar[int]
    count: int
    def __init__(self, count: _Optional[int] = ...) -> None: ...

class PollWorkflowTaskQueueRequest(_message.Message):
    __slots__ = ("namespace", "task_queue", "identity", "binary_checksum")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    TASK_QUEUE_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    BINARY_CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    task_queue: _common_pb2.TaskQueue
    identity: str
    binary_checksum: str
    def __init__(self, namespace: _Optional[str] = ..., task_queue: _Optional[_Union[_common_pb2.TaskQueue, _Mapping]] = ..., identity: _Optional[str] = ..., binary_checksum: _Optional[str] = ...) -> None: ...

class PollWorkflowTaskQueueResponse(_message.Message):
    __slots__ = ("task_token", "workflow_execution", "workflow_type", "previous_started_event_id", "started_event_id", "attempt", "backlog_count_hint", "history", "next_page_token", "query", "workflow_execution_task_queue", "scheduled_time", "started_time", "namespace")
    TASK_TOKEN_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TYPE_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_STARTED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    BACKLOG_COUNT_HINT_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_TASK_QUEUE_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_TIME_FIELD_NUMBER: _ClassVar[int]
    STARTED_TIME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    task_token: bytes
    workflow_execution: _common_pb2.WorkflowExecution
    workflow_type: _common_pb2.WorkflowType
    previous_started_event_id: int
    started_event_id: int
    attempt: int
    backlog_count_hint: int
    history: _history_pb2.History
    next_page_token: bytes
    query: WorkflowQuery
    workflow_execution_task_queue: _common_pb2.TaskQueue
    scheduled_time: _timestamp_pb2.Timestamp
    started_time: _timestamp_pb2.Timestamp
    namespace: str
    def __init__(self, task_token: _Optional[bytes] = ..., workflow_execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ..., workflow_type: _Optional[_Union[_common_pb2.WorkflowType, _Mapping]] = ..., previous_started_event_id: _Optional[int] = ..., started_event_id: _Optional[int] = ..., attempt: _Optional[int] = ..., backlog_count_hint: _Optional[int] = ..., history: _Optional[_Union[_history_pb2.History, _Mapping]] = ..., next_page_token: _Optional[bytes] = ..., query: _Optional[_Union[WorkflowQuery, _Mapping]] = ..., workflow_execution_task_queue: _Optional[_Union[_common_pb2.TaskQueue, _Mapping]] = ..., scheduled_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., namespace: _Optional[str] = ...) -> None: ...

class StickyExecutionAttributes(_message.Message):
    __slots__ = ("worker_task_queue", "schedule_to_start_timeout")
    WORKER_TASK_QUEUE_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_TO_START_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    worker_task_queue: _common_pb2.TaskQueue
    schedule_to_start_timeout: _duration_pb2.Duration
    def __init__(self, worker_task_queue: _Optional[_Union[_common_pb2.TaskQueue, _Mapping]] = ..., schedule_to_start_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class RespondWorkflowTaskCompletedRequest(_message.Message):
    __slots__ = ("task_token", "commands", "identity", "sticky_attributes", "return_new_workflow_task", "binary_checksum", "namespace", "force_create_new_workflow_task")
    TASK_TOKEN_FIELD_NUMBER: _ClassVar[int]
    COMMANDS_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    STICKY_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    RETURN_NEW_WORKFLOW_TASK_FIELD_NUMBER: _ClassVar[int]
    BINARY_CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    FORCE_CREATE_NEW_WORKFLOW_TASK_FIELD_NUMBER: _ClassVar[int]
    task_token: bytes
    commands: _containers.RepeatedCompositeFieldContainer[_command_pb2.Command]
    identity: str
    sticky_attributes: StickyExecutionAttributes
    return_new_workflow_task: bool
    binary_checksum: str
    namespace: str
    force_create_new_workflow_task: bool
    def __init__(self, task_token: _Optional[bytes] = ..., commands: _Optional[_Iterable[_Union[_command_pb2.Command, _Mapping]]] = ..., identity: _Optional[str] = ..., sticky_attributes: _Optional[_Union[StickyExecutionAttributes, _Mapping]] = ..., return_new_workflow_task: _Optional[bool] = ..., binary_checksum: _Optional[str] = ..., namespace: _Optional[str] = ..., force_create_new_workflow_task: _Optional[bool] = ...) -> None: ...

class RespondWorkflowTaskCompletedResponse(_message.Message):
    __slots__ = ("workflow_task", "activity_tasks")
    WORKFLOW_TASK_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_TASKS_FIELD_NUMBER: _ClassVar[int]
    workflow_task: PollWorkflowTaskQueueResponse
    activity_tasks: _containers.RepeatedCompositeFieldContainer[PollActivityTaskQueueResponse]
    def __init__(self, workflow_task: _Optional[_Union[PollWorkflowTaskQueueResponse, _Mapping]] = ..., activity_tasks: _Optional[_Iterable[_Union[PollActivityTaskQueueResponse, _Mapping]]] = ...) -> None: ...

class RespondWorkflowTaskFailedRequest(_message.Message):
    __slots__ = ("task_token", "cause", "failure", "identity", "binary_checksum", "namespace")
    TASK_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    BINARY_CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    task_token: bytes
    cause: _enums_pb2.WorkflowTaskFailedCause
    failure: _common_pb2.Failure
    identity: str
    binary_checksum: str
    namespace: str
    def __init__(self, task_token: _Optional[bytes] = ..., cause: _Optional[_Union[_enums_pb2.WorkflowTaskFailedCause, str]] = ..., failure: _Optional[_Union[_common_pb2.Failure, _Mapping]] = ..., identity: _Optional[str] = ..., binary_checksum: _Optional[str] = ..., namespace: _Optional[str] = ...) -> None: ...

class RespondWorkflowTaskFailedResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RespondQueryTaskCompletedRequest(_message.Message):
    __slots__ = ("task_token", "completed_type", "query_result", "error_message", "namespace", "failure")
    TASK_TOKEN_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_TYPE_FIELD_NUMBER: _ClassVar[int]
    QUERY_RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    task_token: bytes
    completed_type: _enums_pb2.QueryResultType
    query_result: _common_pb2.Payloads
    error_message: str
    namespace: str
    failure: _common_pb2.Failure
    def __init__(self, task_token: _Optional[bytes] = ..., completed_type: _Optional[_Union[_enums_pb2.QueryResultType, str]] = ..., query_result: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ..., error_message: _Optional[str] = ..., namespace: _Optional[str] = ..., failure: _Optional[_Union[_common_pb2.Failure, _Mapping]] = ...) -> None: ...

class RespondQueryTaskCompletedResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PollActivityTaskQueueRequest(_message.Message):
    __slots__ = ("namespace", "task_queue", "identity")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    TASK_QUEUE_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    task_queue: _common_pb2.TaskQueue
    identity: str
    def __init__(self, namespace: _Optional[str] = ..., task_queue: _Optional[_Union[_common_pb2.TaskQueue, _Mapping]] = ..., identity: _Optional[str] = ...) -> None: ...

class PollActivityTaskQueueResponse(_message.Message):
    __slots__ = ("task_token", "workflow_namespace", "workflow_type", "workflow_execution", "activity_type", "activity_id", "header", "input", "heartbeat_details", "scheduled_time", "current_attempt_scheduled_time", "started_time", "attempt", "schedule_to_close_timeout", "start_to_close_timeout", "heartbeat_timeout", "retry_policy")
    TASK_TOKEN_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TYPE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_TYPE_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_ID_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_DETAILS_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_TIME_FIELD_NUMBER: _ClassVar[int]
    CURRENT_ATTEMPT_SCHEDULED_TIME_FIELD_NUMBER: _ClassVar[int]
    STARTED_TIME_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_TO_CLOSE_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    START_TO_CLOSE_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    RETRY_POLICY_FIELD_NUMBER: _ClassVar[int]
    task_token: bytes
    workflow_namespace: str
    workflow_type: _common_pb2.WorkflowType
    workflow_execution: _common_pb2.WorkflowExecution
    activity_type: _common_pb2.ActivityType
    activity_id: str
    header: _common_pb2.Header
    input: _common_pb2.Payloads
    heartbeat_details: _common_pb2.Payloads
    scheduled_time: _timestamp_pb2.Timestamp
    current_attempt_scheduled_time: _timestamp_pb2.Timestamp
    started_time: _timestamp_pb2.Timestamp
    attempt: int
    schedule_to_close_timeout: _duration_pb2.Duration
    start_to_close_timeout: _duration_pb2.Duration
    heartbeat_timeout: _duration_pb2.Duration
    retry_policy: _common_pb2.RetryPolicy
    def __init__(self, task_token: _Optional[bytes] = ..., workflow_namespace: _Optional[str] = ..., workflow_type: _Optional[_Union[_common_pb2.WorkflowType, _Mapping]] = ..., workflow_execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ..., activity_type: _Optional[_Union[_common_pb2.ActivityType, _Mapping]] = ..., activity_id: _Optional[str] = ..., header: _Optional[_Union[_common_pb2.Header, _Mapping]] = ..., input: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ..., heartbeat_details: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ..., scheduled_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., current_attempt_scheduled_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attempt: _Optional[int] = ..., schedule_to_close_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., start_to_close_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., heartbeat_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., retry_policy: _Optional[_Union[_common_pb2.RetryPolicy, _Mapping]] = ...) -> None: ...

class RespondActivityTaskCompletedRequest(_message.Message):
    __slots__ = ("task_token", "result", "identity", "namespace", "eager_workflow_task_sticky_queue")
    TASK_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    EAGER_WORKFLOW_TASK_STICKY_QUEUE_FIELD_NUMBER: _ClassVar[int]
    task_token: bytes
    result: _common_pb2.Payloads
    identity: str
    namespace: str
    eager_workflow_task_sticky_queue: str
    def __init__(self, task_token: _Optional[bytes] = ..., result: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ..., identity: _Optional[str] = ..., namespace: _Optional[str] = ..., eager_workflow_task_sticky_queue: _Optional[str] = ...) -> None: ...

class RespondActivityTaskCompletedResponse(_message.Message):
    __slots__ = ("workflow_task",)
    WORKFLOW_TASK_FIELD_NUMBER: _ClassVar[int]
    workflow_task: PollWorkflowTaskQueueResponse
    def __init__(self, workflow_task: _Optional[_Union[PollWorkflowTaskQueueResponse, _Mapping]] = ...) -> None: ...

class RespondActivityTaskFailedRequest(_message.Message):
    __slots__ = ("task_token", "failure", "identity", "namespace", "last_heartbeat_details")
    TASK_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_DETAILS_FIELD_NUMBER: _ClassVar[int]
    task_token: bytes
    failure: _common_pb2.Failure
    identity: str
    namespace: str
    last_heartbeat_details: _common_pb2.Payloads
    def __init__(self, task_token: _Optional[bytes] = ..., failure: _Optional[_Union[_common_pb2.Failure, _Mapping]] = ..., identity: _Optional[str] = ..., namespace: _Optional[str] = ..., last_heartbeat_details: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ...) -> None: ...

class RespondActivityTaskFailedResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RespondActivityTaskCanceledRequest(_message.Message):
    __slots__ = ("task_token", "details", "identity", "namespace")
    TASK_TOKEN_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    task_token: bytes
    details: _common_pb2.Payloads
    identity: str
    namespace: str
    def __init__(self, task_token: _Optional[bytes] = ..., details: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ..., identity: _Optional[str] = ..., namespace: _Optional[str] = ...) -> None: ...

class RespondActivityTaskCanceledResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RecordActivityTaskHeartbeatRequest(_message.Message):
    __slots__ = ("task_token", "details", "identity", "namespace")
    TASK_TOKEN_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    task_token: bytes
    details: _common_pb2.Payloads
    identity: str
    namespace: str
    def __init__(self, task_token: _Optional[bytes] = ..., details: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ..., identity: _Optional[str] = ..., namespace: _Optional[str] = ...) -> None: ...

class RecordActivityTaskHeartbeatResponse(_message.Message):
    __slots__ = ("cancel_requested",)
    CANCEL_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    cancel_requested: bool
    def __init__(self, cancel_requested: _Optional[bool] = ...) -> None: ...

class ActivityReference(_message.Message):
    __slots__ = ("workflow_id", "run_id", "activity_id")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_ID_FIELD_NUMBER: _ClassVar[int]
    workflow_id: str
    run_id: str
    activity_id: str
    def __init__(self, workflow_id: _Optional[str] = ..., run_id: _Optional[str] = ..., activity_id: _Optional[str] = ...) -> None: ...

class RespondActivityTaskCompletedByIdRequest(_message.Message):
    __slots__ = ("namespace", "activity", "result", "identity")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    activity: ActivityReference
    result: _common_pb2.Payloads
    identity: str
    def __init__(self, namespace: _Optional[str] = ..., activity: _Optional[_Union[ActivityReference, _Mapping]] = ..., result: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ..., identity: _Optional[str] = ...) -> None: ...

class RespondActivityTaskFailedByIdRequest(_message.Message):
    __slots__ = ("namespace", "activity", "failure", "identity", "last_heartbeat_details")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_DETAILS_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    activity: ActivityReference
    failure: _common_pb2.Failure
    identity: str
    last_heartbeat_details: _common_pb2.Payloads
    def __init__(self, namespace: _Optional[str] = ..., activity: _Optional[_Union[ActivityReference, _Mapping]] = ..., failure: _Optional[_Union[_common_pb2.Failure, _Mapping]] = ..., identity: _Optional[str] = ..., last_heartbeat_details: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ...) -> None: ...

class RespondActivityTaskCanceledByIdRequest(_message.Message):
    __slots__ = ("namespace", "activity", "details", "identity")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    activity: ActivityReference
    details: _common_pb2.Payloads
    identity: str
    def __init__(self, namespace: _Optional[str] = ..., activity: _Optional[_Union[ActivityReference, _Mapping]] = ..., details: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ..., identity: _Optional[str] = ...) -> None: ...

class RecordActivityTaskHeartbeatByIdRequest(_message.Message):
    __slots__ = ("namespace", "activity", "details", "identity")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    activity: ActivityReference
    details: _common_pb2.Payloads
    identity: str
    def __init__(self, namespace: _Optional[str] = ..., activity: _Optional[_Union[ActivityReference, _Mapping]] = ..., details: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ..., identity: _Optional[str] = ...) -> None: ...

class ResetStickyTaskQueueRequest(_message.Message):
    __slots__ = ("namespace", "execution")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    execution: _common_pb2.WorkflowExecution
    def __init__(self, namespace: _Optional[str] = ..., execution: _Optional[_Union[_common_pb2.WorkflowExecution, _Mapping]] = ...) -> None: ...

class ResetStickyTaskQueueResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetSystemInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetSystemInfoResponse(_message.Message):
    __slots__ = ("server_version", "capabilities")
    class Capabilities(_message.Message):
        __slots__ = ("signal_and_query_header", "sticky_queues")
        SIGNAL_AND_QUERY_HEADER_FIELD_NUMBER: _ClassVar[int]
        STICKY_QUEUES_FIELD_NUMBER: _ClassVar[int]
        signal_and_query_header: bool
        sticky_queues: bool
        def __init__(self, signal_and_query_header: _Optional[bool] = ..., sticky_queues: _Optional[bool] = ...) -> None: ...
    SERVER_VERSION_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    server_version: str
    capabilities: GetSystemInfoResponse.Capabilities
    def __init__(self, server_version: _Optional[str] = ..., capabilities: _Optional[_Union[GetSystemInfoResponse.Capabilities, _Mapping]] = ...) -> None: ...
