"""MatchingClient: call any MatchingService RPC on the host that owns the task queue.

Each request names a task queue (directly, inside its poll request, or, for a
query answer, in the query's token); the ring of matching hosts gives its owner
(``RingQueueRouter``): this process's handler when it is the owner, a gRPC
client otherwise. Calls go through ``common.routing.call_routed``, so a queue
that is moving (``NotOwner``) or a host that is gone is retried on the new
owner within the caller's deadline.

Partitions: the client spreads a normal queue's adds and polls over its
``partitions`` (``common.task_queue_partitions``) by rewriting the queue name
in the request to a random partition's name, which is what the ring routes
by; each partition can so live on another host. Queries and their answers go
to the queue's own name, the root, where pollers of every partition wait
(``matching.forwarding``). Requests a partition forwards (``forwarded_from``)
already name the root and are not spread again.

Sticky queues are not partitioned and are routed by their own name: the
worker that owns one polls it through the frontend, and history's tasks for it
reach the same host.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from legato.api.v1 import enums_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato_server.common import task_queue_partitions
from legato_server.common.errors import NotOwner
from legato_server.common.routing import PeerClients, call_routed
from legato_server.internal.v1 import matching_service_pb2, matching_service_pb2_grpc
from legato_server.matching.backlog import TaskQueueKey

_WORKFLOW = enums_pb2.TASK_QUEUE_TYPE_WORKFLOW
_ACTIVITY = enums_pb2.TASK_QUEUE_TYPE_ACTIVITY
MATCHING_SERVICE = matching_service_pb2.DESCRIPTOR.services_by_name["MatchingService"]

# RPC name -> the task queue the request is for.
_ROUTES: dict[str, Callable[[Any], TaskQueueKey]] = {
    "AddWorkflowTask": lambda r: TaskQueueKey(r.namespace_id, r.task_queue.name, _WORKFLOW),
    "AddActivityTask": lambda r: TaskQueueKey(r.namespace_id, r.task_queue.name, _ACTIVITY),
    "PollWorkflowTaskQueue": lambda r: TaskQueueKey(
        r.namespace_id, r.poll_request.task_queue.name, _WORKFLOW
    ),
    "PollActivityTaskQueue": lambda r: TaskQueueKey(
        r.namespace_id, r.poll_request.task_queue.name, _ACTIVITY
    ),
    "QueryWorkflow": lambda r: TaskQueueKey(r.namespace_id, r.task_queue.name, _WORKFLOW),
    "RespondQueryTaskCompleted": lambda r: TaskQueueKey(r.namespace_id, r.task_queue, _WORKFLOW),
}

assert set(_ROUTES) == {m.name for m in MATCHING_SERVICE.methods}

# RPC name -> the TaskQueue message of a request whose tasks or pollers are spread over partitions.
_SPREAD: dict[str, Callable[[Any], Any]] = {
    "AddWorkflowTask": lambda r: r.task_queue,
    "AddActivityTask": lambda r: r.task_queue,
    "PollWorkflowTaskQueue": lambda r: r.poll_request.task_queue,
    "PollActivityTaskQueue": lambda r: r.poll_request.task_queue,
}


class QueueRouter(Protocol):
    def handler_for_queue(self, key: TaskQueueKey) -> Any:
        """An object with the MatchingService RPC methods for the host owning ``key``."""


class MatchingClient:
    """Has one ``async def Rpc(request)`` per MatchingService RPC, routed by task queue.

    The calls are bound in ``__init__`` from ``_ROUTES``; the annotations below
    give each its message types, so callers are type-checked like a handler.
    """

    AddWorkflowTask: Callable[
        [matching_service_pb2.AddWorkflowTaskRequest], Awaitable[matching_service_pb2.AddWorkflowTaskResponse]
    ]
    AddActivityTask: Callable[
        [matching_service_pb2.AddActivityTaskRequest], Awaitable[matching_service_pb2.AddActivityTaskResponse]
    ]
    PollWorkflowTaskQueue: Callable[
        [matching_service_pb2.PollWorkflowTaskQueueRequest], Awaitable[ws.PollWorkflowTaskQueueResponse]
    ]
    PollActivityTaskQueue: Callable[
        [matching_service_pb2.PollActivityTaskQueueRequest], Awaitable[ws.PollActivityTaskQueueResponse]
    ]
    QueryWorkflow: Callable[[matching_service_pb2.QueryWorkflowRequest], Awaitable[ws.QueryWorkflowResponse]]
    RespondQueryTaskCompleted: Callable[
        [matching_service_pb2.RespondQueryTaskCompletedRequest],
        Awaitable[ws.RespondQueryTaskCompletedResponse],
    ]

    def __init__(
        self,
        router: QueueRouter,
        *,
        partitions: int = 1,
        choose: Callable[[int], int] = random.randrange,
    ) -> None:
        """``partitions`` per normal queue (the cluster's ``task_queue_partitions``); ``choose(n)`` picks one of n."""
        self._router = router
        self._partitions = task_queue_partitions.check_count(partitions)
        self._choose = choose
        for name, route in _ROUTES.items():
            setattr(self, name, self._bind(name, route))

    def _spread(self, name: str, request: Any) -> Any:
        """``request`` for a random partition of its queue (a copy), or unchanged if it is not spread."""
        queue_of = _SPREAD.get(name)
        if queue_of is None or self._partitions == 1 or request.forwarded_from:
            return request
        queue = queue_of(request)
        if queue.kind == enums_pb2.TASK_QUEUE_KIND_STICKY or task_queue_partitions.is_reserved(queue.name):
            return request
        index = self._choose(self._partitions)
        if index == 0:
            return request
        spread = type(request)()
        spread.CopyFrom(request)
        queue_of(spread).name = task_queue_partitions.Partition(root=queue.name, index=index).name
        return spread

    def _bind(self, name: str, route: Callable[[Any], TaskQueueKey]) -> Callable[..., Any]:
        async def call(request: Any, **kwargs: Any) -> Any:
            request = self._spread(name, request)
            key = route(request)
            return await call_routed(name, request, lambda: self._router.handler_for_queue(key), **kwargs)

        call.__name__ = name
        return call


class Membership(Protocol):
    host_id: str

    def ring(self, role: str) -> Any: ...

    def address_of(self, host_id: str) -> str | None: ...


def queue_owner(membership: Membership, key: TaskQueueKey) -> str:
    """The host id the matching ring gives ``key``; NotOwner when no matching host is alive."""
    try:
        return str(membership.ring("matching").task_queue_owner(key.namespace_id, key.name, key.task_type))
    except LookupError:
        raise NotOwner(
            f"no live matching host in the membership ring for task queue {key.name!r}; "
            "is a matching role running?"
        ) from None


class RingQueueRouter:
    """Routes by the membership ring of matching hosts."""

    def __init__(self, *, membership: Membership, peers: PeerClients, local: Any | None = None) -> None:
        self._membership = membership
        self._peers = peers
        self._local = local

    def handler_for_queue(self, key: TaskQueueKey) -> Any:
        owner = queue_owner(self._membership, key)
        if owner == self._membership.host_id and self._local is not None:
            return self._local
        address = self._membership.address_of(owner)
        if address is None or owner == self._membership.host_id:
            raise NotOwner(f"matching host {owner} of task queue {key.name!r} has no address yet; retry")
        return self._peers.client(address, matching_service_pb2_grpc.MatchingServiceStub, MATCHING_SERVICE)
