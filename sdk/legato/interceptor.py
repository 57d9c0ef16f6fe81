"""Interceptors: the seam for tracing, metrics, auth and context propagation.

Every hook receives an input dataclass and the next interceptor in the chain;
an interceptor may read or change the input (notably ``headers``, a mutable
``dict[str, Payload]`` that travels with the call through the server) and must
call ``next`` to continue. Chains are built from the ``Interceptor`` objects
given to ``Client.connect(interceptors=...)`` and ``Worker(interceptors=...)``;
an interceptor given to the client is also used by workers built on that client.

Workflow-side hooks run inside the deterministic workflow loop: they must not do
I/O or read the clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from legato.api.v1 import common_pb2

Headers = MutableMapping[str, common_pb2.Payload]


# ---------------------------------------------------------------- client side


@dataclass
class StartWorkflowInput:
    workflow_type: str
    workflow_id: str
    task_queue: str
    args: Sequence[Any]
    headers: Headers = field(default_factory=dict)
    signal_name: str | None = None  # set for signal-with-start
    signal_args: Sequence[Any] = ()
    options: dict[str, Any] = field(default_factory=dict)  # the remaining start options


@dataclass
class SignalWorkflowInput:
    workflow_id: str
    run_id: str | None
    signal_name: str
    args: Sequence[Any]
    headers: Headers = field(default_factory=dict)


@dataclass
class QueryWorkflowInput:
    workflow_id: str
    run_id: str | None
    query_name: str
    args: Sequence[Any]
    headers: Headers = field(default_factory=dict)


@dataclass
class StartWorkflowUpdateInput:
    workflow_id: str
    run_id: str | None
    update_id: str
    update_name: str
    args: Sequence[Any]
    wait_for_stage: int  # legato.client.WorkflowUpdateStage
    headers: Headers = field(default_factory=dict)
    result_type: Any = None
    rpc_timeout: Any = None  # timedelta | None


class ClientOutboundInterceptor:
    """Wraps the client's calls to the server. ``next`` is the rest of the chain."""

    def __init__(self, next: ClientOutboundInterceptor) -> None:
        self.next = next

    async def start_workflow(self, input: StartWorkflowInput) -> Any:
        return await self.next.start_workflow(input)

    async def signal_workflow(self, input: SignalWorkflowInput) -> None:
        await self.next.signal_workflow(input)

    async def query_workflow(self, input: QueryWorkflowInput) -> Any:
        return await self.next.query_workflow(input)

    async def start_workflow_update(self, input: StartWorkflowUpdateInput) -> Any:
        """Send an update; returns its ``WorkflowUpdateHandle`` once it reached ``wait_for_stage``."""
        return await self.next.start_workflow_update(input)


# ---------------------------------------------------------------- activity side


@dataclass
class ExecuteActivityInput:
    fn: Callable[..., Any]
    args: Sequence[Any]
    headers: Mapping[str, common_pb2.Payload]


class ActivityInboundInterceptor:
    def __init__(self, next: ActivityInboundInterceptor) -> None:
        self.next = next

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        return await self.next.execute_activity(input)


# ---------------------------------------------------------------- workflow side


@dataclass
class ExecuteWorkflowInput:
    workflow_type: str
    run_fn: Callable[..., Any]
    args: Sequence[Any]
    headers: Mapping[str, common_pb2.Payload]


@dataclass
class HandleSignalInput:
    signal_name: str
    args: Sequence[Any]
    headers: Mapping[str, common_pb2.Payload]


@dataclass
class HandleQueryInput:
    query_name: str
    args: Sequence[Any]
    headers: Mapping[str, common_pb2.Payload]


@dataclass
class HandleUpdateInput:
    update_id: str
    update_name: str
    args: Sequence[Any]
    headers: Mapping[str, common_pb2.Payload]


@dataclass
class StartActivityInput:
    activity_type: str
    args: Sequence[Any]
    headers: Headers
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class StartChildWorkflowInput:
    workflow_type: str
    workflow_id: str
    args: Sequence[Any]
    headers: Headers
    options: dict[str, Any] = field(default_factory=dict)


class WorkflowOutboundInterceptor:
    """Wraps what workflow code asks of the runtime that leaves the workflow."""

    def __init__(self, next: WorkflowOutboundInterceptor) -> None:
        self.next = next

    def start_activity(self, input: StartActivityInput) -> Any:
        return self.next.start_activity(input)

    def start_child_workflow(self, input: StartChildWorkflowInput) -> Any:
        return self.next.start_child_workflow(input)


class WorkflowInboundInterceptor:
    """Wraps what the runtime delivers into workflow code."""

    def __init__(self, next: WorkflowInboundInterceptor) -> None:
        self.next = next

    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        """Called once per workflow instance; wrap ``outbound`` to intercept outgoing calls."""
        self.next.init(outbound)

    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        return await self.next.execute_workflow(input)

    async def handle_signal(self, input: HandleSignalInput) -> None:
        await self.next.handle_signal(input)

    def handle_query(self, input: HandleQueryInput) -> Any:
        return self.next.handle_query(input)

    def handle_update_validator(self, input: HandleUpdateInput) -> None:
        """Runs the update's validator (read-only, not on replay); raising rejects the update."""
        self.next.handle_update_validator(input)

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        return await self.next.handle_update_handler(input)


class Interceptor:
    """Base of a user interceptor: override the factories for the sides it wants."""

    def intercept_client(self, next: ClientOutboundInterceptor) -> ClientOutboundInterceptor:
        return next

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return next

    def workflow_interceptor_class(self) -> type[WorkflowInboundInterceptor] | None:
        return None
