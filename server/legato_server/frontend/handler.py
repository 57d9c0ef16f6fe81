"""The frontend role: the public ``WorkflowService``, one method per RPC.

The frontend is stateless. For every call it (1) validates the request
(``validation``): first the shape of the whole message (``well_formed``: enum
values, durations, timestamps, run ids, applied to every RPC by
``_well_formed_first``), then names, ids, sizes, retry policies, tokens, so
nothing malformed reaches history, matching or storage; (2) resolves the
namespace name to its id through the ``NamespaceRegistry``; (3) fills what the
caller may omit (request ids, the default workflow task timeout); and
(4) forwards the call: workflow calls to history (routed by shard inside the
history client), polls and query answers to matching, list/count to the
visibility store.

Everything it raises is a ``common.errors`` type; the gRPC adapter turns them
into statuses with the same message.
"""

from __future__ import annotations

import functools
import importlib.metadata
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta
from typing import Any, TypeVar

from google.protobuf import timestamp_pb2

from legato.api.v1 import common_pb2, enums_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato_server.common import deadline, errors
from legato_server.common.limits import quote
from legato_server.frontend import validation as check
from legato_server.frontend.activity_by_id import activity_task_token
from legato_server.frontend.roles import HistoryForFrontend, MatchingForFrontend
from legato_server.internal.v1 import history_service_pb2 as hs
from legato_server.internal.v1 import matching_service_pb2 as ms
from legato_server.namespace import (
    DEFAULT_NAMESPACE,
    DEFAULT_RETENTION,
    NamespaceEntry,
    NamespaceRegistry,
    validate_namespace_name,
    validate_retention,
)
from legato_server.persistence.interface import (
    VisibilityFilter,
    VisibilityRecord,
    VisibilityStore,
)
from legato_server.visibility import attributes as search_attributes
from legato_server.visibility.query import Query, parse

# A history long-poll waits at most this long, whatever the caller's deadline.
LONG_POLL_MAX_S = 60.0
MAX_UPDATE_ID_LENGTH = 255

_Handler = TypeVar("_Handler", bound=type)


def _well_formed_first(cls: _Handler) -> _Handler:
    """Every ``WorkflowService`` RPC of ``cls`` checks ``validation.well_formed`` before its own code.

    One hook for the whole service, so no RPC (nor one added later) can skip it.
    """

    def checked(rpc: Callable[[Any, Any], Awaitable[Any]]) -> Callable[[Any, Any], Awaitable[Any]]:
        @functools.wraps(rpc)
        async def call(self: Any, request: Any) -> Any:
            check.well_formed(request)
            return await rpc(self, request)

        return call

    for method in ws.DESCRIPTOR.services_by_name["WorkflowService"].methods:
        rpc = getattr(cls, method.name, None)
        if rpc is not None:  # an RPC not implemented yet fails where the servicer is built, not on import
            setattr(cls, method.name, checked(rpc))
    return cls


def _server_version() -> str:
    try:
        return importlib.metadata.version("legato")
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0"


@_well_formed_first
class FrontendHandler:
    """Implements every ``legato.api.v1.WorkflowService`` RPC.

    ``history`` and ``matching`` are the roles' clients; ``roles.py`` lists the
    RPCs the frontend calls on each.
    """

    def __init__(
        self,
        *,
        namespaces: NamespaceRegistry,
        history: HistoryForFrontend,
        matching: MatchingForFrontend,
        visibility: VisibilityStore,
        protected_namespaces: Iterable[str] = (DEFAULT_NAMESPACE,),
    ) -> None:
        self._namespaces = namespaces
        self._history = history
        self._matching = matching
        self._visibility = visibility
        self._protected_namespaces = frozenset(protected_namespaces)
        self._version = _server_version()

    # ------------------------------------------------------------ namespaces

    async def RegisterNamespace(self, request: ws.RegisterNamespaceRequest) -> ws.RegisterNamespaceResponse:
        validate_namespace_name(request.namespace)
        check.check_length(request.description, "description", max_length=check.MAX_DESCRIPTION_LENGTH)
        check.check_length(request.owner_email, "owner_email", max_length=255)
        retention = DEFAULT_RETENTION
        if request.HasField("workflow_execution_retention_period"):
            retention = check.duration(request, "workflow_execution_retention_period")
            validate_retention(retention)
        _check_namespace_data(request.data)
        await self._namespaces.register(
            name=request.namespace,
            retention=retention,
            description=request.description,
            owner_email=request.owner_email,
            data=dict(request.data),
            custom_search_attributes=_registered_types(request.search_attributes, "search_attributes"),
        )
        return ws.RegisterNamespaceResponse()

    async def DescribeNamespace(self, request: ws.DescribeNamespaceRequest) -> ws.DescribeNamespaceResponse:
        if request.id:
            check.check_length(request.id, "id", max_length=check.MAX_NAMESPACE_ID_LENGTH)
            entry = await self._namespaces.get_by_id(request.id)
        elif request.namespace:
            entry = await self._namespace(request.namespace)
        else:
            raise errors.InvalidArgument("namespace or id is required")
        return entry.to_proto()

    async def ListNamespaces(self, request: ws.ListNamespacesRequest) -> ws.ListNamespacesResponse:
        size = check.page_size(request.page_size)
        try:
            entries, token = await self._namespaces.list(page_size=size, page_token=request.next_page_token)
        except ValueError:
            raise errors.InvalidArgument(
                "next_page_token is malformed; pass the token of the previous page"
            ) from None
        return ws.ListNamespacesResponse(namespaces=[e.to_proto() for e in entries], next_page_token=token)

    async def UpdateNamespace(self, request: ws.UpdateNamespaceRequest) -> ws.UpdateNamespaceResponse:
        validate_namespace_name(request.namespace)
        retention: timedelta | None = None
        if request.HasField("workflow_execution_retention_period"):
            retention = check.duration(request, "workflow_execution_retention_period")
            validate_retention(retention)
        if request.HasField("description"):
            check.check_length(request.description, "description", max_length=check.MAX_DESCRIPTION_LENGTH)
        if request.HasField("owner_email"):
            check.check_length(request.owner_email, "owner_email", max_length=255)
        _check_namespace_data(request.data)
        entry = await self._namespaces.update(
            name=request.namespace,
            description=request.description if request.HasField("description") else None,
            owner_email=request.owner_email if request.HasField("owner_email") else None,
            retention=retention,
            data=dict(request.data) or None,
            add_search_attributes=_registered_types(request.add_search_attributes, "add_search_attributes"),
        )
        described = entry.to_proto()
        return ws.UpdateNamespaceResponse(namespace_info=described.namespace_info, config=described.config)

    async def DeleteNamespace(self, request: ws.DeleteNamespaceRequest) -> ws.DeleteNamespaceResponse:
        validate_namespace_name(request.namespace)
        if request.namespace in self._protected_namespaces:
            raise errors.FailedPrecondition(
                f'namespace "{request.namespace}" is the server\'s own namespace and cannot be deleted; '
                "SDKs and workers use it when no namespace is named"
            )
        entry = await self._namespaces.mark_deleted(name=request.namespace)
        return ws.DeleteNamespaceResponse(namespace_info=entry.to_proto().namespace_info)

    # ------------------------------------------------------------ workflow lifecycle

    async def StartWorkflowExecution(
        self, request: ws.StartWorkflowExecutionRequest
    ) -> ws.StartWorkflowExecutionResponse:
        entry = await self._accepting_work(request.namespace)
        start = ws.StartWorkflowExecutionRequest()
        start.CopyFrom(request)
        _check_start(start)
        check.payloads(start, "input", "memo", "header", "search_attributes")
        _check_search_attributes(start, entry)
        return await self._history.StartWorkflowExecution(
            hs.StartWorkflowExecutionRequest(namespace_id=entry.id, start_request=start)
        )

    async def SignalWorkflowExecution(
        self, request: ws.SignalWorkflowExecutionRequest
    ) -> ws.SignalWorkflowExecutionResponse:
        entry = await self._accepting_work(request.namespace)
        check.workflow_id(request.workflow_execution.workflow_id, "workflow_execution.workflow_id")
        check.require_text(request.signal_name, "signal_name")
        check.identity(request.identity)
        check.request_id(request.request_id)
        check.payloads(request, "input", "header")
        signal = ws.SignalWorkflowExecutionRequest()
        signal.CopyFrom(request)
        signal.request_id = signal.request_id or str(uuid.uuid4())
        return await self._history.SignalWorkflowExecution(
            hs.SignalWorkflowExecutionRequest(namespace_id=entry.id, signal_request=signal)
        )

    async def SignalWithStartWorkflowExecution(
        self, request: ws.SignalWithStartWorkflowExecutionRequest
    ) -> ws.SignalWithStartWorkflowExecutionResponse:
        entry = await self._accepting_work(request.namespace)
        signal_with_start = ws.SignalWithStartWorkflowExecutionRequest()
        signal_with_start.CopyFrom(request)
        _check_start(signal_with_start)
        check.require_text(request.signal_name, "signal_name")
        check.payloads(signal_with_start, "input", "signal_input", "memo", "header", "search_attributes")
        _check_search_attributes(signal_with_start, entry)
        return await self._history.SignalWithStartWorkflowExecution(
            hs.SignalWithStartWorkflowExecutionRequest(
                namespace_id=entry.id, signal_with_start_request=signal_with_start
            )
        )

    async def QueryWorkflow(self, request: ws.QueryWorkflowRequest) -> ws.QueryWorkflowResponse:
        entry = await self._namespace(request.namespace)
        check.workflow_id(request.execution.workflow_id, "execution.workflow_id")
        check.require_text(request.query.query_type, "query.query_type")
        check.payloads(request.query, "query_args", "header")
        if request.query.HasField("validate_update"):
            raise errors.InvalidArgument(
                "query.validate_update is set only by the server; send an update with UpdateWorkflowExecution"
            )
        return await self._history.QueryWorkflow(
            hs.QueryWorkflowRequest(namespace_id=entry.id, request=request)
        )

    async def UpdateWorkflowExecution(
        self, request: ws.UpdateWorkflowExecutionRequest
    ) -> ws.UpdateWorkflowExecutionResponse:
        entry = await self._accepting_work(request.namespace)
        check.workflow_id(request.workflow_execution.workflow_id, "workflow_execution.workflow_id")
        return await self._history.UpdateWorkflowExecution(
            hs.UpdateWorkflowExecutionRequest(namespace_id=entry.id, request=_checked_update(request))
        )

    async def PollWorkflowExecutionUpdate(
        self, request: ws.PollWorkflowExecutionUpdateRequest
    ) -> ws.UpdateWorkflowExecutionResponse:
        entry = await self._namespace(request.namespace)
        check.workflow_id(request.workflow_execution.workflow_id, "workflow_execution.workflow_id")
        check.require_text(request.update_id, "update_id", max_length=MAX_UPDATE_ID_LENGTH)
        return await self._history.PollWorkflowExecutionUpdate(
            hs.PollWorkflowExecutionUpdateRequest(namespace_id=entry.id, request=request)
        )

    async def UpdateWithStartWorkflowExecution(
        self, request: ws.UpdateWithStartWorkflowExecutionRequest
    ) -> ws.UpdateWithStartWorkflowExecutionResponse:
        entry = await self._accepting_work(request.start.namespace)
        if request.update.namespace and request.update.namespace != request.start.namespace:
            raise errors.InvalidArgument("update.namespace must be empty or the same as start.namespace")
        start = ws.StartWorkflowExecutionRequest()
        start.CopyFrom(request.start)
        _check_start(start)
        check.payloads(start, "input", "memo", "header", "search_attributes")
        forwarded = ws.UpdateWithStartWorkflowExecutionRequest(
            start=start, update=_checked_update(request.update)
        )
        return await self._history.UpdateWithStartWorkflowExecution(
            hs.UpdateWithStartWorkflowExecutionRequest(namespace_id=entry.id, request=forwarded)
        )

    async def RequestCancelWorkflowExecution(
        self, request: ws.RequestCancelWorkflowExecutionRequest
    ) -> ws.RequestCancelWorkflowExecutionResponse:
        entry = await self._namespace(request.namespace)
        check.workflow_id(request.workflow_execution.workflow_id, "workflow_execution.workflow_id")
        check.identity(request.identity)
        check.request_id(request.request_id)
        check.check_length(request.reason, "reason", max_length=check.MAX_DESCRIPTION_LENGTH)
        cancel = ws.RequestCancelWorkflowExecutionRequest()
        cancel.CopyFrom(request)
        cancel.request_id = cancel.request_id or str(uuid.uuid4())
        return await self._history.RequestCancelWorkflowExecution(
            hs.RequestCancelWorkflowExecutionRequest(namespace_id=entry.id, cancel_request=cancel)
        )

    async def TerminateWorkflowExecution(
        self, request: ws.TerminateWorkflowExecutionRequest
    ) -> ws.TerminateWorkflowExecutionResponse:
        entry = await self._namespace(request.namespace)
        check.workflow_id(request.workflow_execution.workflow_id, "workflow_execution.workflow_id")
        check.identity(request.identity)
        check.check_length(request.reason, "reason", max_length=check.MAX_DESCRIPTION_LENGTH)
        check.payloads(request, "details")
        return await self._history.TerminateWorkflowExecution(
            hs.TerminateWorkflowExecutionRequest(namespace_id=entry.id, terminate_request=request)
        )

    async def ResetWorkflowExecution(
        self, request: ws.ResetWorkflowExecutionRequest
    ) -> ws.ResetWorkflowExecutionResponse:
        entry = await self._accepting_work(request.namespace)
        check.workflow_id(request.workflow_execution.workflow_id, "workflow_execution.workflow_id")
        check.identity(request.identity)
        check.check_length(request.reason, "reason", max_length=check.MAX_DESCRIPTION_LENGTH)
        if not request.reset_type and request.workflow_task_finish_event_id <= 0:
            raise errors.InvalidArgument(
                "workflow_task_finish_event_id must be a positive event id (a WorkflowTaskCompleted event), "
                "or set reset_type to FIRST_WORKFLOW_TASK or LAST_WORKFLOW_TASK"
            )
        reset = ws.ResetWorkflowExecutionRequest()
        reset.CopyFrom(request)
        reset.request_id = reset.request_id or str(uuid.uuid4())
        return await self._history.ResetWorkflowExecution(
            hs.ResetWorkflowExecutionRequest(namespace_id=entry.id, reset_request=reset)
        )

    async def DescribeWorkflowExecution(
        self, request: ws.DescribeWorkflowExecutionRequest
    ) -> ws.DescribeWorkflowExecutionResponse:
        entry = await self._namespace(request.namespace)
        check.workflow_id(request.execution.workflow_id, "execution.workflow_id")
        return await self._history.DescribeWorkflowExecution(
            hs.DescribeWorkflowExecutionRequest(namespace_id=entry.id, request=request)
        )

    async def GetWorkflowExecutionHistory(
        self, request: ws.GetWorkflowExecutionHistoryRequest
    ) -> ws.GetWorkflowExecutionHistoryResponse:
        entry = await self._namespace(request.namespace)
        check.workflow_id(request.execution.workflow_id, "execution.workflow_id")
        get = ws.GetWorkflowExecutionHistoryRequest()
        get.CopyFrom(request)
        get.maximum_page_size = check.page_size(request.maximum_page_size, "maximum_page_size", default=1000)
        forwarded = hs.GetWorkflowExecutionHistoryRequest(namespace_id=entry.id, request=get)
        left = deadline.time_left_s()
        if request.wait_new_event and left is not None:
            # The long-poll ends (empty, with a token) before the caller's deadline.
            forwarded.long_poll_timeout.FromTimedelta(timedelta(seconds=min(left, LONG_POLL_MAX_S)))
        return await self._history.GetWorkflowExecutionHistory(forwarded)

    async def ResetStickyTaskQueue(
        self, request: ws.ResetStickyTaskQueueRequest
    ) -> ws.ResetStickyTaskQueueResponse:
        entry = await self._namespace(request.namespace)
        check.workflow_id(request.execution.workflow_id, "execution.workflow_id")
        return await self._history.ResetStickyTaskQueue(
            hs.ResetStickyTaskQueueRequest(namespace_id=entry.id, request=request)
        )

    # ------------------------------------------------------------ visibility

    async def ListWorkflowExecutions(
        self, request: ws.ListWorkflowExecutionsRequest
    ) -> ws.ListWorkflowExecutionsResponse:
        entry = await self._namespace(request.namespace)
        size = check.page_size(request.page_size)
        try:
            records, token = await self._visibility.list_executions(
                namespace_id=entry.id,
                filter=_visibility_filter(request.filter, _query(request.query, entry, counting=False)),
                page_size=size,
                page_token=request.next_page_token,
            )
        except ValueError:
            raise errors.InvalidArgument(
                "next_page_token is malformed; pass the token of the previous page"
            ) from None
        return ws.ListWorkflowExecutionsResponse(
            executions=[_execution_info(record) for record in records], next_page_token=token
        )

    async def CountWorkflowExecutions(
        self, request: ws.CountWorkflowExecutionsRequest
    ) -> ws.CountWorkflowExecutionsResponse:
        entry = await self._namespace(request.namespace)
        count = await self._visibility.count_executions(
            namespace_id=entry.id,
            filter=_visibility_filter(request.filter, _query(request.query, entry, counting=True)),
        )
        return ws.CountWorkflowExecutionsResponse(count=count)

    # ------------------------------------------------------------ workers

    async def PollWorkflowTaskQueue(
        self, request: ws.PollWorkflowTaskQueueRequest
    ) -> ws.PollWorkflowTaskQueueResponse:
        entry = await self._accepting_work(request.namespace)
        check.task_queue(request.task_queue)
        check.identity(request.identity)
        response = await self._matching.PollWorkflowTaskQueue(
            ms.PollWorkflowTaskQueueRequest(
                namespace_id=entry.id, poller_id=str(uuid.uuid4()), poll_request=request
            )
        )
        if response.task_token and not response.namespace:
            response.namespace = entry.name
        return response

    async def PollActivityTaskQueue(
        self, request: ws.PollActivityTaskQueueRequest
    ) -> ws.PollActivityTaskQueueResponse:
        entry = await self._accepting_work(request.namespace)
        check.task_queue(request.task_queue, allow_sticky=False)
        check.identity(request.identity)
        response = await self._matching.PollActivityTaskQueue(
            ms.PollActivityTaskQueueRequest(
                namespace_id=entry.id, poller_id=str(uuid.uuid4()), poll_request=request
            )
        )
        if response.task_token and not response.workflow_namespace:
            response.workflow_namespace = entry.name
        return response

    async def RespondWorkflowTaskCompleted(
        self, request: ws.RespondWorkflowTaskCompletedRequest
    ) -> ws.RespondWorkflowTaskCompletedResponse:
        namespace_id = await self._token_namespace(request.task_token, request.namespace)
        check.identity(request.identity)
        for index, command in enumerate(request.commands):
            check.payload_size(command, f"commands[{index}]")
        if request.HasField("sticky_attributes"):
            check.task_queue(
                request.sticky_attributes.worker_task_queue, "sticky_attributes.worker_task_queue"
            )
            check.duration(request.sticky_attributes, "schedule_to_start_timeout")
        return await self._history.RespondWorkflowTaskCompleted(
            hs.RespondWorkflowTaskCompletedRequest(namespace_id=namespace_id, complete_request=request)
        )

    async def RespondWorkflowTaskFailed(
        self, request: ws.RespondWorkflowTaskFailedRequest
    ) -> ws.RespondWorkflowTaskFailedResponse:
        namespace_id = await self._token_namespace(request.task_token, request.namespace)
        check.identity(request.identity)
        check.payloads(request, "failure")
        return await self._history.RespondWorkflowTaskFailed(
            hs.RespondWorkflowTaskFailedRequest(namespace_id=namespace_id, failed_request=request)
        )

    async def RespondQueryTaskCompleted(
        self, request: ws.RespondQueryTaskCompletedRequest
    ) -> ws.RespondQueryTaskCompletedResponse:
        token = check.query_task_token(request.task_token)
        if request.namespace:
            await self._check_token_namespace(token.namespace_id, request.namespace)
        check.payloads(request, "query_result", "failure")
        check.check_length(request.error_message, "error_message", max_length=64 * 1024)
        return await self._matching.RespondQueryTaskCompleted(
            ms.RespondQueryTaskCompletedRequest(
                namespace_id=token.namespace_id,
                task_queue=token.task_queue,
                query_id=token.query_id,
                completed_request=request,
            )
        )

    async def RespondActivityTaskCompleted(
        self, request: ws.RespondActivityTaskCompletedRequest
    ) -> ws.RespondActivityTaskCompletedResponse:
        namespace_id = await self._token_namespace(request.task_token, request.namespace)
        check.identity(request.identity)
        check.payloads(request, "result")
        check.check_length(
            request.eager_workflow_task_sticky_queue,
            "eager_workflow_task_sticky_queue",
            max_length=check.MAX_NAME_LENGTH,
        )
        return await self._history.RespondActivityTaskCompleted(
            hs.RespondActivityTaskCompletedRequest(namespace_id=namespace_id, complete_request=request)
        )

    async def RespondActivityTaskFailed(
        self, request: ws.RespondActivityTaskFailedRequest
    ) -> ws.RespondActivityTaskFailedResponse:
        namespace_id = await self._token_namespace(request.task_token, request.namespace)
        check.identity(request.identity)
        check.payloads(request, "failure", "last_heartbeat_details")
        return await self._history.RespondActivityTaskFailed(
            hs.RespondActivityTaskFailedRequest(namespace_id=namespace_id, failed_request=request)
        )

    async def RespondActivityTaskCanceled(
        self, request: ws.RespondActivityTaskCanceledRequest
    ) -> ws.RespondActivityTaskCanceledResponse:
        namespace_id = await self._token_namespace(request.task_token, request.namespace)
        check.identity(request.identity)
        check.payloads(request, "details")
        return await self._history.RespondActivityTaskCanceled(
            hs.RespondActivityTaskCanceledRequest(namespace_id=namespace_id, cancel_request=request)
        )

    async def RecordActivityTaskHeartbeat(
        self, request: ws.RecordActivityTaskHeartbeatRequest
    ) -> ws.RecordActivityTaskHeartbeatResponse:
        namespace_id = await self._token_namespace(request.task_token, request.namespace)
        check.identity(request.identity)
        check.payloads(request, "details")
        return await self._history.RecordActivityTaskHeartbeat(
            hs.RecordActivityTaskHeartbeatRequest(namespace_id=namespace_id, heartbeat_request=request)
        )

    async def RespondActivityTaskCompletedById(
        self, request: ws.RespondActivityTaskCompletedByIdRequest
    ) -> ws.RespondActivityTaskCompletedResponse:
        check.identity(request.identity)
        check.payloads(request, "result")
        namespace_id, token = await self._activity_by_id(request.namespace, request.activity)
        forwarded = ws.RespondActivityTaskCompletedRequest(
            task_token=token, result=request.result, identity=request.identity, namespace=request.namespace
        )
        return await self._history.RespondActivityTaskCompleted(
            hs.RespondActivityTaskCompletedRequest(namespace_id=namespace_id, complete_request=forwarded)
        )

    async def RespondActivityTaskFailedById(
        self, request: ws.RespondActivityTaskFailedByIdRequest
    ) -> ws.RespondActivityTaskFailedResponse:
        check.identity(request.identity)
        check.payloads(request, "failure", "last_heartbeat_details")
        namespace_id, token = await self._activity_by_id(request.namespace, request.activity)
        forwarded = ws.RespondActivityTaskFailedRequest(
            task_token=token, failure=request.failure, identity=request.identity, namespace=request.namespace
        )
        if request.HasField("last_heartbeat_details"):
            forwarded.last_heartbeat_details.CopyFrom(request.last_heartbeat_details)
        return await self._history.RespondActivityTaskFailed(
            hs.RespondActivityTaskFailedRequest(namespace_id=namespace_id, failed_request=forwarded)
        )

    async def RespondActivityTaskCanceledById(
        self, request: ws.RespondActivityTaskCanceledByIdRequest
    ) -> ws.RespondActivityTaskCanceledResponse:
        check.identity(request.identity)
        check.payloads(request, "details")
        namespace_id, token = await self._activity_by_id(request.namespace, request.activity)
        forwarded = ws.RespondActivityTaskCanceledRequest(
            task_token=token, identity=request.identity, namespace=request.namespace
        )
        if request.HasField("details"):
            forwarded.details.CopyFrom(request.details)
        return await self._history.RespondActivityTaskCanceled(
            hs.RespondActivityTaskCanceledRequest(namespace_id=namespace_id, cancel_request=forwarded)
        )

    async def RecordActivityTaskHeartbeatById(
        self, request: ws.RecordActivityTaskHeartbeatByIdRequest
    ) -> ws.RecordActivityTaskHeartbeatResponse:
        check.identity(request.identity)
        check.payloads(request, "details")
        namespace_id, token = await self._activity_by_id(request.namespace, request.activity)
        forwarded = ws.RecordActivityTaskHeartbeatRequest(
            task_token=token, identity=request.identity, namespace=request.namespace
        )
        if request.HasField("details"):
            forwarded.details.CopyFrom(request.details)
        return await self._history.RecordActivityTaskHeartbeat(
            hs.RecordActivityTaskHeartbeatRequest(namespace_id=namespace_id, heartbeat_request=forwarded)
        )

    async def _activity_by_id(self, namespace: str, activity: ws.ActivityReference) -> tuple[str, bytes]:
        entry = await self._namespace(namespace)
        token = await activity_task_token(
            history=self._history, namespace=namespace, namespace_id=entry.id, activity=activity
        )
        return entry.id, token

    # ------------------------------------------------------------ system

    async def GetSystemInfo(self, request: ws.GetSystemInfoRequest) -> ws.GetSystemInfoResponse:
        return ws.GetSystemInfoResponse(
            server_version=self._version,
            capabilities=ws.GetSystemInfoResponse.Capabilities(
                signal_and_query_header=True, sticky_queues=True
            ),
        )

    # ------------------------------------------------------------ helpers

    async def _namespace(self, name: str) -> NamespaceEntry:
        validate_namespace_name(name)
        return await self._namespaces.get_by_name(name)

    async def _accepting_work(self, name: str) -> NamespaceEntry:
        """The namespace, or FailedPrecondition if it is being deleted (for calls that make new work)."""
        entry = await self._namespace(name)
        entry.check_accepts_work()
        return entry

    async def _token_namespace(self, task_token: bytes, namespace: str) -> str:
        """The namespace id a task token names, checked against the request's namespace if given."""
        token = check.task_token(task_token)
        if namespace:
            await self._check_token_namespace(token.namespace_id, namespace)
        else:
            await self._namespaces.get_by_id(token.namespace_id)
        return token.namespace_id

    async def _check_token_namespace(self, token_namespace_id: str, namespace: str) -> None:
        """InvalidArgument unless the request's namespace is the one the token was issued in."""
        entry = await self._namespace(namespace)
        if entry.id != token_namespace_id:
            raise errors.InvalidArgument(f'task token belongs to another namespace than "{namespace}"')


def _check_start(
    request: ws.StartWorkflowExecutionRequest | ws.SignalWithStartWorkflowExecutionRequest,
) -> None:
    """Validate a start (or signal-with-start) and fill its defaults in place."""
    check.workflow_id(request.workflow_id)
    check.require_text(request.workflow_type.name, "workflow_type.name")
    check.task_queue(request.task_queue, allow_sticky=False)
    check.identity(request.identity)
    check.request_id(request.request_id)
    check.check_length(request.cron_schedule, "cron_schedule", max_length=check.MAX_CRON_SCHEDULE_LENGTH)
    execution_timeout = check.duration(request, "workflow_execution_timeout")
    run_timeout = check.duration(request, "workflow_run_timeout")
    task_timeout = check.duration(request, "workflow_task_timeout", maximum=check.MAX_WORKFLOW_TASK_TIMEOUT)
    if isinstance(request, ws.StartWorkflowExecutionRequest):
        check.duration(request, "workflow_start_delay")
    if request.HasField("retry_policy"):
        check.retry_policy(request.retry_policy)
    if not task_timeout:
        request.workflow_task_timeout.FromTimedelta(check.DEFAULT_WORKFLOW_TASK_TIMEOUT)
    if execution_timeout and (not run_timeout or run_timeout > execution_timeout):
        # A run cannot outlive the whole execution.
        request.workflow_run_timeout.FromTimedelta(execution_timeout)
    if not request.task_queue.kind:
        request.task_queue.kind = enums_pb2.TASK_QUEUE_KIND_NORMAL
    request.request_id = request.request_id or str(uuid.uuid4())


def _checked_update(request: ws.UpdateWorkflowExecutionRequest) -> ws.UpdateWorkflowExecutionRequest:
    """A validated copy of an update request, with an update id picked when it has none."""
    check.require_text(request.update.name, "update.name")
    if request.update.update_id:
        check.require_text(request.update.update_id, "update.update_id", max_length=MAX_UPDATE_ID_LENGTH)
    check.identity(request.identity)
    check.payloads(request.update, "args", "header")
    update = ws.UpdateWorkflowExecutionRequest()
    update.CopyFrom(request)
    update.update.update_id = update.update.update_id or str(uuid.uuid4())
    return update


def _check_namespace_data(data: Any) -> None:
    if len(data) > 100:
        raise errors.InvalidArgument(f"data has {len(data)} entries; the limit is 100")
    for key, value in data.items():
        check.require_text(key, "data key", max_length=255)
        check.check_length(value, f"data[{quote(key)}]", max_length=check.MAX_DESCRIPTION_LENGTH)


def _registered_types(source: Any, field: str) -> dict[str, search_attributes.ValueType]:
    """A request's map of search attribute name -> IndexedValueType as ValueTypes; InvalidArgument if unknown."""
    types: dict[str, search_attributes.ValueType] = {}
    for name, number in source.items():
        try:
            types[name] = search_attributes.type_from_proto(number)
        except ValueError as err:
            raise errors.InvalidArgument(f"{field}[{quote(name)}]: {err}") from None
    return types


def _check_search_attributes(
    request: ws.StartWorkflowExecutionRequest | ws.SignalWithStartWorkflowExecutionRequest,
    entry: NamespaceEntry,
) -> None:
    """Every search attribute must be registered and fit its type; stamps the type on each value."""
    if not request.HasField("search_attributes"):
        return
    try:
        search_attributes.validate(request.search_attributes, entry.search_attributes)
    except ValueError as err:
        raise errors.InvalidArgument(f"search_attributes: {err}") from None


def _query(text: str, entry: NamespaceEntry, *, counting: bool) -> Query | None:
    if not text.strip():
        return None
    return parse(text, custom=entry.search_attributes, allow_order_by=not counting)


def _visibility_filter(
    source: common_pb2.WorkflowExecutionFilter, query: Query | None = None
) -> VisibilityFilter:
    def millis(field: str) -> int | None:
        if not source.HasField(field):
            return None
        stamp: timestamp_pb2.Timestamp = getattr(source, field)
        return stamp.ToMilliseconds()

    return VisibilityFilter(
        workflow_id=source.workflow_id or None,
        workflow_type=source.workflow_type or None,
        statuses=tuple(source.statuses),
        task_queue=source.task_queue or None,
        start_time_from_ms=millis("start_time_from"),
        start_time_to_ms=millis("start_time_to"),
        close_time_from_ms=millis("close_time_from"),
        close_time_to_ms=millis("close_time_to"),
        query=query,
    )


def _execution_info(record: VisibilityRecord) -> common_pb2.WorkflowExecutionInfo:
    info = common_pb2.WorkflowExecutionInfo(
        execution=common_pb2.WorkflowExecution(workflow_id=record.workflow_id, run_id=record.run_id),
        type=common_pb2.WorkflowType(name=record.workflow_type),
        status=record.status,  # type: ignore[arg-type]
        history_length=record.history_length,
        task_queue=record.task_queue,
    )
    info.start_time.FromMilliseconds(record.start_time_ms)
    if record.execution_time_ms:
        info.execution_time.FromMilliseconds(record.execution_time_ms)
    if record.close_time_ms is not None:
        info.close_time.FromMilliseconds(record.close_time_ms)
    if record.memo:
        info.memo.ParseFromString(record.memo)
    if record.search_attributes:
        info.search_attributes.ParseFromString(record.search_attributes)
    if record.parent_workflow_id:
        info.parent_execution.workflow_id = record.parent_workflow_id
        info.parent_execution.run_id = record.parent_run_id
    return info
