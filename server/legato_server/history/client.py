"""HistoryClient: call any HistoryService RPC and reach the host that owns its shard.

Every request names a workflow, directly or inside its task token; the client
computes its shard and asks a ``ShardRouter`` for the handler of that shard,
then calls it through ``common.routing.call_routed``, which resolves again and
retries while the shard is moving (``NotOwner``) or its host is gone.

* ``LocalShardRouter``: the handlers of this process (tests, one-process setups
  without membership).
* ``RingShardRouter``: the membership ring of history hosts; this process's own
  handler for the shards the ring gives it (it acquires a shard on first use if
  the ring moved it here), a gRPC client for the others. The same path serves
  frontend -> history, matching -> history and history -> history calls (child
  starts, external signals and cancels, parent notifications).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from legato.api.v1 import workflow_service_pb2 as ws
from legato_server.common.errors import NotOwner
from legato_server.common.routing import PeerClients, call_routed
from legato_server.history.routing import shard_for
from legato_server.history.tokens import decode_task_token
from legato_server.internal.v1 import history_service_pb2 as hsvc
from legato_server.internal.v1 import history_service_pb2_grpc


class ShardRouter(Protocol):
    def handler_for_shard(self, shard_id: int) -> Any:
        """An object with the HistoryService RPC methods for the host owning ``shard_id``."""


def _token_route(field: str) -> Callable[[Any], tuple[str, str]]:
    def route(request: Any) -> tuple[str, str]:
        token = decode_task_token(getattr(request, field).task_token)
        return token.namespace_id or request.namespace_id, token.workflow_id

    return route


# RPC name -> (namespace_id, workflow_id) of the request.
_ROUTES: dict[str, Callable[[Any], tuple[str, str]]] = {
    "StartWorkflowExecution": lambda r: (r.namespace_id, r.start_request.workflow_id),
    "SignalWorkflowExecution": lambda r: (r.namespace_id, r.signal_request.workflow_execution.workflow_id),
    "SignalWithStartWorkflowExecution": lambda r: (r.namespace_id, r.signal_with_start_request.workflow_id),
    "RequestCancelWorkflowExecution": lambda r: (
        r.namespace_id,
        r.cancel_request.workflow_execution.workflow_id,
    ),
    "TerminateWorkflowExecution": lambda r: (
        r.namespace_id,
        r.terminate_request.workflow_execution.workflow_id,
    ),
    "ResetWorkflowExecution": lambda r: (r.namespace_id, r.reset_request.workflow_execution.workflow_id),
    "DescribeWorkflowExecution": lambda r: (r.namespace_id, r.request.execution.workflow_id),
    "GetWorkflowExecutionHistory": lambda r: (r.namespace_id, r.request.execution.workflow_id),
    "QueryWorkflow": lambda r: (r.namespace_id, r.request.execution.workflow_id),
    "UpdateWorkflowExecution": lambda r: (r.namespace_id, r.request.workflow_execution.workflow_id),
    "PollWorkflowExecutionUpdate": lambda r: (r.namespace_id, r.request.workflow_execution.workflow_id),
    "UpdateWithStartWorkflowExecution": lambda r: (r.namespace_id, r.request.start.workflow_id),
    "ResetStickyTaskQueue": lambda r: (r.namespace_id, r.request.execution.workflow_id),
    "RecordWorkflowTaskStarted": lambda r: (r.namespace_id, r.workflow_execution.workflow_id),
    "RecordActivityTaskStarted": lambda r: (r.namespace_id, r.workflow_execution.workflow_id),
    "RespondWorkflowTaskCompleted": _token_route("complete_request"),
    "RespondWorkflowTaskFailed": _token_route("failed_request"),
    "RespondActivityTaskCompleted": _token_route("complete_request"),
    "RespondActivityTaskFailed": _token_route("failed_request"),
    "RespondActivityTaskCanceled": _token_route("cancel_request"),
    "RecordActivityTaskHeartbeat": _token_route("heartbeat_request"),
    "RecordChildExecutionCompleted": lambda r: (r.namespace_id, r.parent_execution.workflow_id),
    "DeleteWorkflowExecution": lambda r: (r.namespace_id, r.workflow_execution.workflow_id),
}

assert set(_ROUTES) == {m.name for m in hsvc.DESCRIPTOR.services_by_name["HistoryService"].methods}


class HistoryClient:
    """Has one ``async def Rpc(request)`` per HistoryService RPC, routed by shard.

    The calls are bound in ``__init__`` from ``_ROUTES``; the annotations below
    give each its message types, so callers are type-checked like a handler.
    """

    StartWorkflowExecution: Callable[
        [hsvc.StartWorkflowExecutionRequest], Awaitable[ws.StartWorkflowExecutionResponse]
    ]
    SignalWorkflowExecution: Callable[
        [hsvc.SignalWorkflowExecutionRequest], Awaitable[ws.SignalWorkflowExecutionResponse]
    ]
    SignalWithStartWorkflowExecution: Callable[
        [hsvc.SignalWithStartWorkflowExecutionRequest], Awaitable[ws.SignalWithStartWorkflowExecutionResponse]
    ]
    RequestCancelWorkflowExecution: Callable[
        [hsvc.RequestCancelWorkflowExecutionRequest], Awaitable[ws.RequestCancelWorkflowExecutionResponse]
    ]
    TerminateWorkflowExecution: Callable[
        [hsvc.TerminateWorkflowExecutionRequest], Awaitable[ws.TerminateWorkflowExecutionResponse]
    ]
    ResetWorkflowExecution: Callable[
        [hsvc.ResetWorkflowExecutionRequest], Awaitable[ws.ResetWorkflowExecutionResponse]
    ]
    DescribeWorkflowExecution: Callable[
        [hsvc.DescribeWorkflowExecutionRequest], Awaitable[ws.DescribeWorkflowExecutionResponse]
    ]
    GetWorkflowExecutionHistory: Callable[
        [hsvc.GetWorkflowExecutionHistoryRequest], Awaitable[ws.GetWorkflowExecutionHistoryResponse]
    ]
    QueryWorkflow: Callable[[hsvc.QueryWorkflowRequest], Awaitable[ws.QueryWorkflowResponse]]
    UpdateWorkflowExecution: Callable[
        [hsvc.UpdateWorkflowExecutionRequest], Awaitable[ws.UpdateWorkflowExecutionResponse]
    ]
    PollWorkflowExecutionUpdate: Callable[
        [hsvc.PollWorkflowExecutionUpdateRequest], Awaitable[ws.UpdateWorkflowExecutionResponse]
    ]
    UpdateWithStartWorkflowExecution: Callable[
        [hsvc.UpdateWithStartWorkflowExecutionRequest], Awaitable[ws.UpdateWithStartWorkflowExecutionResponse]
    ]
    ResetStickyTaskQueue: Callable[
        [hsvc.ResetStickyTaskQueueRequest], Awaitable[ws.ResetStickyTaskQueueResponse]
    ]
    RecordWorkflowTaskStarted: Callable[
        [hsvc.RecordWorkflowTaskStartedRequest], Awaitable[ws.PollWorkflowTaskQueueResponse]
    ]
    RecordActivityTaskStarted: Callable[
        [hsvc.RecordActivityTaskStartedRequest], Awaitable[ws.PollActivityTaskQueueResponse]
    ]
    RespondWorkflowTaskCompleted: Callable[
        [hsvc.RespondWorkflowTaskCompletedRequest], Awaitable[ws.RespondWorkflowTaskCompletedResponse]
    ]
    RespondWorkflowTaskFailed: Callable[
        [hsvc.RespondWorkflowTaskFailedRequest], Awaitable[ws.RespondWorkflowTaskFailedResponse]
    ]
    RespondActivityTaskCompleted: Callable[
        [hsvc.RespondActivityTaskCompletedRequest], Awaitable[ws.RespondActivityTaskCompletedResponse]
    ]
    RespondActivityTaskFailed: Callable[
        [hsvc.RespondActivityTaskFailedRequest], Awaitable[ws.RespondActivityTaskFailedResponse]
    ]
    RespondActivityTaskCanceled: Callable[
        [hsvc.RespondActivityTaskCanceledRequest], Awaitable[ws.RespondActivityTaskCanceledResponse]
    ]
    RecordActivityTaskHeartbeat: Callable[
        [hsvc.RecordActivityTaskHeartbeatRequest], Awaitable[ws.RecordActivityTaskHeartbeatResponse]
    ]
    RecordChildExecutionCompleted: Callable[
        [hsvc.RecordChildExecutionCompletedRequest], Awaitable[hsvc.RecordChildExecutionCompletedResponse]
    ]
    DeleteWorkflowExecution: Callable[
        [hsvc.DeleteWorkflowExecutionRequest], Awaitable[hsvc.DeleteWorkflowExecutionResponse]
    ]

    def __init__(self, router: ShardRouter, *, num_history_shards: int) -> None:
        self._router = router
        self._num_shards = num_history_shards
        for name, route in _ROUTES.items():
            setattr(self, name, self._bind(name, route))

    def shard_id(self, namespace_id: str, workflow_id: str) -> int:
        return shard_for(namespace_id, workflow_id, self._num_shards)

    def _bind(self, name: str, route: Callable[[Any], tuple[str, str]]) -> Callable[..., Any]:
        async def call(request: Any, **kwargs: Any) -> Any:
            shard_id = self.shard_id(*route(request))
            return await call_routed(
                name, request, lambda: self._router.handler_for_shard(shard_id), **kwargs
            )

        call.__name__ = name
        return call


class LocalShardRouter:
    """Routes to the in-process handlers whose engine owns the shard."""

    def __init__(self, handlers: list[Any]) -> None:
        self._handlers = handlers

    def add(self, handler: Any) -> None:
        self._handlers.append(handler)

    def handler_for_shard(self, shard_id: int) -> Any:
        for handler in self._handlers:
            shard = handler.engine.shards.get(shard_id)
            if shard is not None and not shard.closed:
                return handler
        raise NotOwner(f"no history host in this process owns shard {shard_id}; retry", shard_id=shard_id)


class Membership(Protocol):
    host_id: str

    def ring(self, role: str) -> Any: ...

    def address_of(self, host_id: str) -> str | None: ...


HISTORY_SERVICE = hsvc.DESCRIPTOR.services_by_name["HistoryService"]


class RingShardRouter:
    """Routes by the membership ring of history hosts; see the module docstring."""

    def __init__(self, *, membership: Membership, peers: PeerClients, local: Any | None = None) -> None:
        self._membership = membership
        self._peers = peers
        self._local = local

    def set_local(self, handler: Any) -> None:
        self._local = handler

    def owner_of(self, shard_id: int) -> str:
        """The host id the ring gives ``shard_id``; NotOwner when no history host is alive."""
        try:
            return str(self._membership.ring("history").shard_owner(shard_id))
        except LookupError:
            raise NotOwner(
                f"no live history host in the membership ring for shard {shard_id}; is a history role running?",
                shard_id=shard_id,
            ) from None

    def handler_for_shard(self, shard_id: int) -> Any:
        local = self._local
        if local is not None:
            shard = local.engine.shards.get(shard_id)
            if shard is not None and not shard.closed:
                return local
        owner = self.owner_of(shard_id)
        if owner == self._membership.host_id and local is not None:
            return local  # the ring moved it here: the handler acquires it on first use
        address = self._membership.address_of(owner)
        if address is None or owner == self._membership.host_id:
            raise NotOwner(
                f"history host {owner} of shard {shard_id} has no address yet; retry", shard_id=shard_id
            )
        return self._peers.client(address, history_service_pb2_grpc.HistoryServiceStub, HISTORY_SERVICE)
