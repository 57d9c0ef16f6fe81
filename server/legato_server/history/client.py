"""HistoryClient: call any HistoryService RPC and reach the host that owns its shard.

Every request names a workflow, directly or inside its task token; the client
computes its shard and asks a ``ShardRouter`` for the handler of that shard.
Today the router is in-process (the handlers of this process); a router built
on the membership ring returns a ``common.rpc.GrpcClient`` for shards owned by
other hosts, with no change to callers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from legato_server.common.errors import Unavailable
from legato_server.history.routing import shard_for
from legato_server.history.tokens import decode_task_token
from legato_server.internal.v1 import history_service_pb2 as hsvc


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
    "DescribeWorkflowExecution": lambda r: (r.namespace_id, r.request.execution.workflow_id),
    "GetWorkflowExecutionHistory": lambda r: (r.namespace_id, r.request.execution.workflow_id),
    "QueryWorkflow": lambda r: (r.namespace_id, r.request.execution.workflow_id),
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
}

assert set(_ROUTES) == {m.name for m in hsvc.DESCRIPTOR.services_by_name["HistoryService"].methods}


class HistoryClient:
    """Has one ``async def Rpc(request)`` per HistoryService RPC, routed by shard."""

    def __init__(self, router: ShardRouter, *, num_history_shards: int) -> None:
        self._router = router
        self._num_shards = num_history_shards
        for name, route in _ROUTES.items():
            setattr(self, name, self._bind(name, route))

    def shard_id(self, namespace_id: str, workflow_id: str) -> int:
        return shard_for(namespace_id, workflow_id, self._num_shards)

    def _bind(self, name: str, route: Callable[[Any], tuple[str, str]]) -> Callable[..., Any]:
        async def call(request: Any, **kwargs: Any) -> Any:
            namespace_id, workflow_id = route(request)
            handler = self._router.handler_for_shard(self.shard_id(namespace_id, workflow_id))
            return await getattr(handler, name)(request, **kwargs)

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
        raise Unavailable(f"no history host in this process owns shard {shard_id}; retry")
