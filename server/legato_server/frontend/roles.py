"""What the frontend needs of the history and matching roles.

The frontend is handed each role's client (``history.client.HistoryClient``,
``matching.client.MatchingClient``), which routes every call to the host that
owns it. These protocols name the RPCs the frontend calls, with their message
types, so a wrong request or response type is a type error rather than an
``Any`` passed through, and the frontend imports neither role's package (an
import-linter contract keeps it so). A role's handler fits them too.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol

from legato.api.v1 import workflow_service_pb2 as ws
from legato_server.internal.v1 import history_service_pb2 as hs
from legato_server.internal.v1 import matching_service_pb2 as ms


class HistoryForFrontend(Protocol):
    """The HistoryService RPCs the frontend forwards workflow calls to."""

    def StartWorkflowExecution(
        self, request: hs.StartWorkflowExecutionRequest
    ) -> Awaitable[ws.StartWorkflowExecutionResponse]: ...

    def SignalWorkflowExecution(
        self, request: hs.SignalWorkflowExecutionRequest
    ) -> Awaitable[ws.SignalWorkflowExecutionResponse]: ...

    def SignalWithStartWorkflowExecution(
        self, request: hs.SignalWithStartWorkflowExecutionRequest
    ) -> Awaitable[ws.SignalWithStartWorkflowExecutionResponse]: ...

    def RequestCancelWorkflowExecution(
        self, request: hs.RequestCancelWorkflowExecutionRequest
    ) -> Awaitable[ws.RequestCancelWorkflowExecutionResponse]: ...

    def TerminateWorkflowExecution(
        self, request: hs.TerminateWorkflowExecutionRequest
    ) -> Awaitable[ws.TerminateWorkflowExecutionResponse]: ...

    def ResetWorkflowExecution(
        self, request: hs.ResetWorkflowExecutionRequest
    ) -> Awaitable[ws.ResetWorkflowExecutionResponse]: ...

    def DescribeWorkflowExecution(
        self, request: hs.DescribeWorkflowExecutionRequest
    ) -> Awaitable[ws.DescribeWorkflowExecutionResponse]: ...

    def GetWorkflowExecutionHistory(
        self, request: hs.GetWorkflowExecutionHistoryRequest
    ) -> Awaitable[ws.GetWorkflowExecutionHistoryResponse]: ...

    def QueryWorkflow(self, request: hs.QueryWorkflowRequest) -> Awaitable[ws.QueryWorkflowResponse]: ...

    def UpdateWorkflowExecution(
        self, request: hs.UpdateWorkflowExecutionRequest
    ) -> Awaitable[ws.UpdateWorkflowExecutionResponse]: ...

    def PollWorkflowExecutionUpdate(
        self, request: hs.PollWorkflowExecutionUpdateRequest
    ) -> Awaitable[ws.UpdateWorkflowExecutionResponse]: ...

    def UpdateWithStartWorkflowExecution(
        self, request: hs.UpdateWithStartWorkflowExecutionRequest
    ) -> Awaitable[ws.UpdateWithStartWorkflowExecutionResponse]: ...

    def ResetStickyTaskQueue(
        self, request: hs.ResetStickyTaskQueueRequest
    ) -> Awaitable[ws.ResetStickyTaskQueueResponse]: ...

    def RespondWorkflowTaskCompleted(
        self, request: hs.RespondWorkflowTaskCompletedRequest
    ) -> Awaitable[ws.RespondWorkflowTaskCompletedResponse]: ...

    def RespondWorkflowTaskFailed(
        self, request: hs.RespondWorkflowTaskFailedRequest
    ) -> Awaitable[ws.RespondWorkflowTaskFailedResponse]: ...

    def RespondActivityTaskCompleted(
        self, request: hs.RespondActivityTaskCompletedRequest
    ) -> Awaitable[ws.RespondActivityTaskCompletedResponse]: ...

    def RespondActivityTaskFailed(
        self, request: hs.RespondActivityTaskFailedRequest
    ) -> Awaitable[ws.RespondActivityTaskFailedResponse]: ...

    def RespondActivityTaskCanceled(
        self, request: hs.RespondActivityTaskCanceledRequest
    ) -> Awaitable[ws.RespondActivityTaskCanceledResponse]: ...

    def RecordActivityTaskHeartbeat(
        self, request: hs.RecordActivityTaskHeartbeatRequest
    ) -> Awaitable[ws.RecordActivityTaskHeartbeatResponse]: ...


class MatchingForFrontend(Protocol):
    """The MatchingService RPCs behind worker polls and query answers."""

    def PollWorkflowTaskQueue(
        self, request: ms.PollWorkflowTaskQueueRequest
    ) -> Awaitable[ws.PollWorkflowTaskQueueResponse]: ...

    def PollActivityTaskQueue(
        self, request: ms.PollActivityTaskQueueRequest
    ) -> Awaitable[ws.PollActivityTaskQueueResponse]: ...

    def RespondQueryTaskCompleted(
        self, request: ms.RespondQueryTaskCompletedRequest
    ) -> Awaitable[ws.RespondQueryTaskCompletedResponse]: ...
