"""The client: start workflows and talk to running ones.

```python
client = await Client.connect("127.0.0.1:7233")
handle = await client.start_workflow(Checkout.run, "order-1", id="checkout-1", task_queue="orders")
await handle.signal(Checkout.approve)
print(await handle.query(Checkout.status))
result: str = await handle.result()
```

Typing: passing the workflow's run method (``Checkout.run``) lets a type
checker see the argument and return types, so ``handle.result()`` is typed; a
workflow type name as a string works too (``result_type=`` then rebuilds the
value). Signals and queries take the handler method or its name likewise.

Every payload a request carries or a response returns goes through the data
converter's codec (``encode_message``/``decode_message``), so a codec
(compression, encryption) sees all user data and the server none of it.
Start, signal and query go through the client interceptor chain
(``Client.connect(interceptors=...)``); the first interceptor is outermost.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import socket
import sys
import typing
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Generic, Required, TypedDict, TypeVar, Unpack, overload

import grpc

from legato._async_activity import AsyncActivityHandle, AsyncActivityNotFoundError
from legato._batch import (
    DEFAULT_CONCURRENCY,
    DEFAULT_RPS,
    BatchFailure,
    BatchProgress,
    BatchTarget,
    check_rate,
    collect_targets,
    run_batch,
)
from legato._client_reset import ResetType, reset_request
from legato._client_updates import WorkflowUpdateHandle, WorkflowUpdateStage, send_update, update_request
from legato._eager_start import EagerStartRegistry, EagerStartSlots
from legato._schedules import ScheduleClient, ScheduleHandle
from legato._service import RUN_ID_METADATA, RPCRetryConfig, ServiceClient, TLSConfig
from legato._worker_shared import to_datetime, to_timedelta
from legato._workflow_defn import handler_name
from legato.api.v1 import common_pb2, enums_pb2, history_pb2, schedule_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato.common import RetryPolicy, WorkflowExecutionStatus, WorkflowIDReusePolicy, checked_duration
from legato.converter import DataConverter, default_converter
from legato.exceptions import (
    CancelledError,
    RPCError,
    TerminatedError,
    TimeoutError,
    TimeoutType,
    WorkflowAlreadyStartedError,
    WorkflowContinuedAsNewError,
    WorkflowFailureError,
    WorkflowQueryFailedError,
)
from legato.interceptor import (
    ClientOutboundInterceptor,
    Interceptor,
    QueryWorkflowInput,
    SignalWorkflowInput,
    StartWorkflowInput,
    StartWorkflowUpdateInput,
)

__all__ = [
    "AsyncActivityHandle",
    "AsyncActivityNotFoundError",
    "BatchFailure",
    "BatchProgress",
    "Client",
    "PendingActivity",
    "RPCRetryConfig",
    "ResetType",
    "StartWorkflowOptions",
    "TLSConfig",
    "WorkflowExecution",
    "WorkflowExecutionDescription",
    "WorkflowHandle",
    "WorkflowUpdateHandle",
    "WorkflowUpdateStage",
]

SelfType = TypeVar("SelfType")
ReturnType = TypeVar("ReturnType")
ParamType = TypeVar("ParamType")
QueryReturnType = TypeVar("QueryReturnType")
UpdateReturnType = TypeVar("UpdateReturnType")

_NO_ARG: Any = object()


class StartWorkflowOptions(TypedDict, total=False):
    """The keyword options of ``start_workflow``/``execute_workflow``."""

    id: Required[str]
    """The workflow id: unique among running workflows of the namespace."""
    task_queue: Required[str]
    """The queue the workers of this workflow poll."""
    execution_timeout: timedelta | None
    """Limit of all runs together (retries, continue-as-new, cron)."""
    run_timeout: timedelta | None
    """Limit of one run."""
    task_timeout: timedelta | None
    """Limit of one workflow task (default 10s on the server)."""
    id_reuse_policy: WorkflowIDReusePolicy
    retry_policy: RetryPolicy | None
    """Retry the whole workflow when it fails."""
    cron_schedule: str
    memo: Mapping[str, Any] | None
    search_attributes: Mapping[str, Any] | None
    start_delay: timedelta | None
    """Wait this long before the first workflow task."""
    request_id: str | None
    """Idempotency key: a retried start with the same id returns the same run."""
    start_signal: str | Callable[..., Any] | None
    """Signal-with-start: deliver this signal, starting the workflow if it is not running."""
    start_signal_args: Sequence[Any]
    result_type: Any
    """The type to rebuild the result as (when the workflow is given by name)."""
    rpc_timeout: timedelta | None
    request_eager_start: bool
    """Ask for the first workflow task in the start response when a worker built on this client
    polls ``task_queue`` and has a free slot (eager workflow start: no trip through the task
    queue). Ignored with ``start_signal``, ``start_delay`` or ``cron_schedule``."""


# ---------------------------------------------------------------- names of things


def _qualname_owner(fn: Callable[..., Any]) -> Any:
    """The class a function was defined in, found through its module and qualified name."""
    parts = getattr(fn, "__qualname__", "").split(".")
    if len(parts) < 2 or "<locals>" in parts:
        return None
    owner: Any = sys.modules.get(getattr(fn, "__module__", ""), None)
    for part in parts[:-1]:
        owner = getattr(owner, part, None)
        if owner is None:
            return None
    return owner


def workflow_type_name(workflow: str | type | Callable[..., Any]) -> str:
    """The workflow type of a name, a ``@workflow.defn`` class or its run method."""
    if isinstance(workflow, str):
        return workflow
    run_name = getattr(workflow, "__legato_workflow_name__", None)  # set on the run method by @workflow.defn
    if isinstance(run_name, str):
        return run_name
    definition = getattr(workflow, "__legato_workflow_definition__", None)
    if definition is None and callable(workflow):
        # ``@workflow.run`` only tags the function: find its class by qualified name.
        owner = _qualname_owner(workflow)
        definition = getattr(owner, "__legato_workflow_definition__", None)
    name = getattr(definition, "name", None)
    if not isinstance(name, str):
        raise TypeError(
            f"{getattr(workflow, '__qualname__', workflow)!r} is not a workflow: pass a @workflow.defn class, "
            "its run method, or the workflow type name"
        )
    return name


def _return_type(fn: Any) -> Any:
    if isinstance(fn, str) or not callable(fn) or inspect.isclass(fn):
        return None
    try:
        hint = typing.get_type_hints(fn).get("return")
    except Exception:
        return None
    return None if hint is type(None) else hint


def _seconds(value: timedelta | None, default: float | None = None) -> float | None:
    return value.total_seconds() if value is not None else default


# ---------------------------------------------------------------- result objects


@dataclasses.dataclass(frozen=True)
class WorkflowExecution:
    """One run of a workflow, as returned by ``list_workflows`` and ``describe``."""

    id: str
    run_id: str
    workflow_type: str
    task_queue: str
    status: WorkflowExecutionStatus | None
    start_time: datetime | None
    close_time: datetime | None
    execution_time: datetime | None
    history_length: int
    memo: dict[str, Any]
    """Decoded memo values."""
    search_attributes: dict[str, Any]
    parent_id: str | None
    parent_run_id: str | None
    raw: common_pb2.WorkflowExecutionInfo = dataclasses.field(repr=False)

    @staticmethod
    async def from_proto(
        info: common_pb2.WorkflowExecutionInfo, converter: DataConverter
    ) -> WorkflowExecution:
        info_copy = common_pb2.WorkflowExecutionInfo()
        info_copy.CopyFrom(info)
        await converter.decode_message(info_copy)
        pc = converter.payload_converter
        status = WorkflowExecutionStatus(info_copy.status) if info_copy.status else None
        return WorkflowExecution(
            id=info_copy.execution.workflow_id,
            run_id=info_copy.execution.run_id,
            workflow_type=info_copy.type.name,
            task_queue=info_copy.task_queue,
            status=status,
            start_time=to_datetime(info_copy.start_time, info_copy.HasField("start_time")),
            close_time=to_datetime(info_copy.close_time, info_copy.HasField("close_time")),
            execution_time=to_datetime(info_copy.execution_time, info_copy.HasField("execution_time")),
            history_length=info_copy.history_length,
            memo={k: pc.from_payload(v) for k, v in info_copy.memo.fields.items()},
            search_attributes={
                k: pc.from_payload(v) for k, v in info_copy.search_attributes.indexed_fields.items()
            },
            parent_id=info_copy.parent_execution.workflow_id or None,
            parent_run_id=info_copy.parent_execution.run_id or None,
            raw=info,
        )


@dataclasses.dataclass(frozen=True)
class PendingActivity:
    """An activity of a running workflow that has not finished."""

    activity_id: str
    activity_type: str
    state: str
    """"scheduled", "started" or "cancel_requested"."""
    attempt: int
    maximum_attempts: int
    heartbeat_details: list[Any]
    last_heartbeat_time: datetime | None
    last_started_time: datetime | None
    scheduled_time: datetime | None
    last_failure: BaseException | None
    last_worker_identity: str


@dataclasses.dataclass(frozen=True)
class WorkflowExecutionDescription(WorkflowExecution):
    """``describe()``: the run's summary plus its configuration and pending work."""

    execution_timeout: timedelta | None = None
    run_timeout: timedelta | None = None
    task_timeout: timedelta | None = None
    pending_activities: list[PendingActivity] = dataclasses.field(default_factory=list)
    pending_children: list[common_pb2.PendingChildExecutionInfo] = dataclasses.field(default_factory=list)
    workflow_task_attempt: int = 0
    """Attempt of the pending workflow task (0 if none): above 1 it has been failing.

    Only the first failure of a run of attempts is in the history."""
    raw_description: ws.DescribeWorkflowExecutionResponse | None = dataclasses.field(default=None, repr=False)


# ---------------------------------------------------------------- the client


class Client:
    """A connection to a Legato server for one namespace. Cheap to share; safe for concurrent use."""

    def __init__(
        self,
        service: ServiceClient,
        *,
        namespace: str = "default",
        data_converter: DataConverter = default_converter,
        interceptors: Sequence[Interceptor] = (),
        identity: str | None = None,
    ) -> None:
        self.service = service
        self.namespace = namespace
        self.data_converter = data_converter
        self.interceptors = list(interceptors)
        self.identity = identity or f"{os.getpid()}@{socket.gethostname()}"
        self._eager_start = EagerStartRegistry()
        """Workers built on this client, for ``request_eager_start`` (they add themselves)."""
        chain: ClientOutboundInterceptor = _ClientCalls(self)
        for interceptor in reversed(self.interceptors):
            chain = interceptor.intercept_client(chain)
        self._chain = chain

    @classmethod
    async def connect(
        cls,
        address: str = "127.0.0.1:7233",
        *,
        namespace: str = "default",
        data_converter: DataConverter = default_converter,
        interceptors: Sequence[Interceptor] = (),
        tls: bool | TLSConfig = False,
        identity: str | None = None,
        rpc_retry: RPCRetryConfig | None = None,
        rpc_metadata: Mapping[str, str] | None = None,
    ) -> Client:
        """Open a channel to ``address`` and check the server answers (``GetSystemInfo``, with retries).

        ``tls``: ``True`` for TLS with the system roots, or a ``TLSConfig``
        (``TLSConfig.from_files(ca_file=..., cert_file=..., key_file=..., domain=...)``).
        A failed TLS handshake raises ``legato.exceptions.TLSError`` at once.
        """
        service = ServiceClient.connect(address, tls=tls, retry=rpc_retry, metadata=rpc_metadata)
        try:
            await service.call("GetSystemInfo", ws.GetSystemInfoRequest())
        except RPCError as err:
            if err.status != grpc.StatusCode.UNIMPLEMENTED:
                await service.close()
                raise
        return cls(
            service,
            namespace=namespace,
            data_converter=data_converter,
            interceptors=interceptors,
            identity=identity,
        )

    async def close(self) -> None:
        await self.service.close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ------------------------------------------------------------ start

    @overload
    async def start_workflow(
        self, workflow: Callable[[SelfType], Awaitable[ReturnType]], **options: Unpack[StartWorkflowOptions]
    ) -> WorkflowHandle[ReturnType]: ...

    @overload
    async def start_workflow(
        self,
        workflow: Callable[[SelfType, ParamType], Awaitable[ReturnType]],
        arg: ParamType,
        **options: Unpack[StartWorkflowOptions],
    ) -> WorkflowHandle[ReturnType]: ...

    @overload
    async def start_workflow(
        self,
        workflow: Callable[..., Awaitable[ReturnType]],
        *,
        args: Sequence[Any],
        **options: Unpack[StartWorkflowOptions],
    ) -> WorkflowHandle[ReturnType]: ...

    @overload
    async def start_workflow(
        self,
        workflow: str | type,
        arg: Any = ...,
        *,
        args: Sequence[Any] = ...,
        **options: Unpack[StartWorkflowOptions],
    ) -> WorkflowHandle[Any]: ...

    async def start_workflow(
        self,
        workflow: Any,
        arg: Any = _NO_ARG,
        *,
        args: Sequence[Any] = (),
        id: str,
        task_queue: str,
        execution_timeout: timedelta | None = None,
        run_timeout: timedelta | None = None,
        task_timeout: timedelta | None = None,
        id_reuse_policy: WorkflowIDReusePolicy = WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        retry_policy: RetryPolicy | None = None,
        cron_schedule: str = "",
        memo: Mapping[str, Any] | None = None,
        search_attributes: Mapping[str, Any] | None = None,
        start_delay: timedelta | None = None,
        request_id: str | None = None,
        start_signal: str | Callable[..., Any] | None = None,
        start_signal_args: Sequence[Any] = (),
        result_type: Any = None,
        rpc_timeout: timedelta | None = None,
        request_eager_start: bool = False,
    ) -> WorkflowHandle[Any]:
        """Start a workflow (or, with ``start_signal``, signal it, starting it if needed); returns its handle.

        Raises ``WorkflowAlreadyStartedError`` if the id is in use (per ``id_reuse_policy``).
        """
        if arg is not _NO_ARG and args:
            raise TypeError("pass either one argument or args=[...], not both")
        call_args = [arg] if arg is not _NO_ARG else list(args)
        handle: WorkflowHandle[Any] = await self._chain.start_workflow(
            StartWorkflowInput(
                workflow_type=workflow_type_name(workflow),
                workflow_id=id,
                task_queue=task_queue,
                args=call_args,
                headers={},
                signal_name=handler_name(start_signal, "signal") if start_signal is not None else None,
                signal_args=list(start_signal_args),
                options={
                    "execution_timeout": execution_timeout,
                    "run_timeout": run_timeout,
                    "task_timeout": task_timeout,
                    "id_reuse_policy": id_reuse_policy,
                    "retry_policy": retry_policy,
                    "cron_schedule": cron_schedule,
                    "memo": memo,
                    "search_attributes": search_attributes,
                    "start_delay": start_delay,
                    "request_id": request_id,
                    "result_type": result_type if result_type is not None else _return_type(workflow),
                    "rpc_timeout": rpc_timeout,
                    "request_eager_start": request_eager_start,
                },
            )
        )
        return handle

    @overload
    async def execute_workflow(
        self, workflow: Callable[[SelfType], Awaitable[ReturnType]], **options: Unpack[StartWorkflowOptions]
    ) -> ReturnType: ...

    @overload
    async def execute_workflow(
        self,
        workflow: Callable[[SelfType, ParamType], Awaitable[ReturnType]],
        arg: ParamType,
        **options: Unpack[StartWorkflowOptions],
    ) -> ReturnType: ...

    @overload
    async def execute_workflow(
        self,
        workflow: Callable[..., Awaitable[ReturnType]],
        *,
        args: Sequence[Any],
        **options: Unpack[StartWorkflowOptions],
    ) -> ReturnType: ...

    @overload
    async def execute_workflow(
        self,
        workflow: str | type,
        arg: Any = ...,
        *,
        args: Sequence[Any] = ...,
        **options: Unpack[StartWorkflowOptions],
    ) -> Any: ...

    async def execute_workflow(self, workflow: Any, arg: Any = _NO_ARG, **options: Any) -> Any:
        """Start a workflow and wait for its result (``start_workflow`` + ``handle.result()``)."""
        handle = await self.start_workflow(workflow, arg, **options)
        return await handle.result()

    async def signal_with_start(
        self,
        workflow: Any,
        signal: str | Callable[..., Any],
        *signal_args: Any,
        args: Sequence[Any] = (),
        **options: Any,
    ) -> WorkflowHandle[Any]:
        """Signal the workflow ``options['id']``, starting it with ``args`` first if it is not running."""
        return await self.start_workflow(
            workflow, args=args, start_signal=signal, start_signal_args=signal_args, **options
        )

    async def start_update_with_start(
        self,
        update: str | Callable[..., Any],
        *update_args: Any,
        start_workflow: Any,
        update_id: str | None = None,
        wait_for_stage: WorkflowUpdateStage = WorkflowUpdateStage.ACCEPTED,
        update_result_type: Any = None,
        args: Sequence[Any] = (),
        **options: Any,
    ) -> tuple[WorkflowHandle[Any], WorkflowUpdateHandle[Any]]:
        """Update the workflow ``options['id']``, starting it with ``args`` first if it is not running.

        ``options`` are ``start_workflow``'s (``id``, ``task_queue``, timeouts,
        ...). Returns the workflow's handle and the update's, once the update
        reached ``wait_for_stage``. A rejected update raises
        ``WorkflowUpdateFailedError``; a workflow this call started keeps running.
        """
        rpc_timeout = options.pop("rpc_timeout", None)
        result_type = options.pop("result_type", None)
        start_input = StartWorkflowInput(
            workflow_type=workflow_type_name(start_workflow),
            workflow_id=options.pop("id"),
            task_queue=options.pop("task_queue"),
            args=list(args),
            headers={},
            options=options,
        )
        start = start_request(self, start_input)
        assert isinstance(start, ws.StartWorkflowExecutionRequest)
        update_name = handler_name(update, "update")
        request = ws.UpdateWithStartWorkflowExecutionRequest(
            start=start,
            update=update_request(
                self,
                workflow_id=start_input.workflow_id,
                run_id=None,
                name=update_name,
                args=update_args,
                update_id=update_id,
                wait_for_stage=wait_for_stage,
            ),
        )
        if update_result_type is None and not isinstance(update, str):
            update_result_type = _return_type(update)
        update_handle, with_start = await send_update(
            self, request, result_type=update_result_type, rpc_timeout=rpc_timeout
        )
        run_id = with_start.run_id if with_start is not None else None
        handle: WorkflowHandle[Any] = WorkflowHandle(
            self,
            start_input.workflow_id,
            result_run_id=run_id,
            first_execution_run_id=run_id if with_start is not None and with_start.started else None,
            result_type=result_type if result_type is not None else _return_type(start_workflow),
            started_run_id=run_id if with_start is not None and with_start.started else None,
        )
        return handle, update_handle

    async def execute_update_with_start(
        self, update: str | Callable[..., Any], *update_args: Any, start_workflow: Any, **options: Any
    ) -> Any:
        """``start_update_with_start`` then wait for the update's result."""
        _, update_handle = await self.start_update_with_start(
            update,
            *update_args,
            start_workflow=start_workflow,
            wait_for_stage=WorkflowUpdateStage.COMPLETED,
            **options,
        )
        return await update_handle.result()

    # ------------------------------------------------------------ handles

    @overload
    def get_workflow_handle(
        self, workflow_id: str, *, run_id: str | None = None, result_type: None = None
    ) -> WorkflowHandle[Any]: ...

    @overload
    def get_workflow_handle(
        self, workflow_id: str, *, run_id: str | None = None, result_type: type[ReturnType]
    ) -> WorkflowHandle[ReturnType]: ...

    def get_workflow_handle(
        self, workflow_id: str, *, run_id: str | None = None, result_type: Any = None
    ) -> WorkflowHandle[Any]:
        """A handle to an existing workflow (its current run, or ``run_id``); no call is made."""
        return WorkflowHandle(
            self,
            workflow_id,
            run_id=run_id,
            result_run_id=run_id,
            first_execution_run_id=None,
            result_type=result_type,
        )

    def get_async_activity_handle(
        self,
        *,
        task_token: bytes | None = None,
        workflow_id: str | None = None,
        run_id: str | None = None,
        activity_id: str | None = None,
    ) -> AsyncActivityHandle:
        """A handle to answer an activity that called ``activity.raise_complete_async()``.

        Name it by ``task_token`` (``activity.info().task_token``) or by
        ``workflow_id`` + ``activity_id`` (``run_id`` optional: the current run).
        """
        return AsyncActivityHandle(
            self, task_token=task_token, workflow_id=workflow_id, run_id=run_id, activity_id=activity_id
        )

    def get_workflow_handle_for(
        self, workflow: Callable[..., Awaitable[ReturnType]], workflow_id: str, *, run_id: str | None = None
    ) -> WorkflowHandle[ReturnType]:
        """A typed handle: ``client.get_workflow_handle_for(Checkout.run, "checkout-1")``."""
        return WorkflowHandle(
            self,
            workflow_id,
            run_id=run_id,
            result_run_id=run_id,
            first_execution_run_id=None,
            result_type=_return_type(workflow),
        )

    # ------------------------------------------------------------ visibility

    @staticmethod
    def _filter(
        *,
        workflow_id: str | None,
        workflow_type: str | type | Callable[..., Any] | None,
        status: WorkflowExecutionStatus | Sequence[WorkflowExecutionStatus] | None,
        task_queue: str | None,
        start_time_from: datetime | None,
        start_time_to: datetime | None,
        close_time_from: datetime | None,
        close_time_to: datetime | None,
    ) -> common_pb2.WorkflowExecutionFilter:
        flt = common_pb2.WorkflowExecutionFilter(
            workflow_id=workflow_id or "",
            workflow_type=workflow_type_name(workflow_type) if workflow_type is not None else "",
            task_queue=task_queue or "",
        )
        if status is not None:
            statuses = [status] if isinstance(status, WorkflowExecutionStatus | int) else list(status)
            flt.statuses.extend(int(s) for s in statuses)  # type: ignore[misc]
        for field, value in (
            ("start_time_from", start_time_from),
            ("start_time_to", start_time_to),
            ("close_time_from", close_time_from),
            ("close_time_to", close_time_to),
        ):
            if value is not None:
                getattr(flt, field).FromDatetime(value)
        return flt

    async def list_workflows(
        self,
        *,
        workflow_id: str | None = None,
        workflow_type: str | type | Callable[..., Any] | None = None,
        status: WorkflowExecutionStatus | Sequence[WorkflowExecutionStatus] | None = None,
        task_queue: str | None = None,
        start_time_from: datetime | None = None,
        start_time_to: datetime | None = None,
        close_time_from: datetime | None = None,
        close_time_to: datetime | None = None,
        query: str | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[WorkflowExecution]:
        """Runs matching every given filter and ``query``, newest start first, fetched a page at a time.

        ``async for execution in client.list_workflows(status=WorkflowExecutionStatus.RUNNING): ...``

        ``query`` is the list query language, e.g. ``"WorkflowType = 'Checkout' AND
        CustomerId = 'c-42' ORDER BY CloseTime DESC"`` (docs/visibility-queries.md);
        a malformed one raises ``RPCError`` (INVALID_ARGUMENT) naming the position.
        """
        flt = self._filter(
            workflow_id=workflow_id,
            workflow_type=workflow_type,
            status=status,
            task_queue=task_queue,
            start_time_from=start_time_from,
            start_time_to=start_time_to,
            close_time_from=close_time_from,
            close_time_to=close_time_to,
        )
        token = b""
        while True:
            request = ws.ListWorkflowExecutionsRequest(
                namespace=self.namespace,
                page_size=page_size,
                next_page_token=token,
                filter=flt,
                query=query or "",
            )
            response: ws.ListWorkflowExecutionsResponse = await self.service.call(
                "ListWorkflowExecutions", request
            )
            for info in response.executions:
                yield await WorkflowExecution.from_proto(info, self.data_converter)
            token = response.next_page_token
            if not token:
                return

    async def count_workflows(
        self,
        *,
        workflow_id: str | None = None,
        workflow_type: str | type | Callable[..., Any] | None = None,
        status: WorkflowExecutionStatus | Sequence[WorkflowExecutionStatus] | None = None,
        task_queue: str | None = None,
        start_time_from: datetime | None = None,
        start_time_to: datetime | None = None,
        close_time_from: datetime | None = None,
        close_time_to: datetime | None = None,
        query: str | None = None,
    ) -> int:
        """How many runs match every given filter and ``query`` (as in ``list_workflows``, without ORDER BY)."""
        flt = self._filter(
            workflow_id=workflow_id,
            workflow_type=workflow_type,
            status=status,
            task_queue=task_queue,
            start_time_from=start_time_from,
            start_time_to=start_time_to,
            close_time_from=close_time_from,
            close_time_to=close_time_to,
        )
        response: ws.CountWorkflowExecutionsResponse = await self.service.call(
            "CountWorkflowExecutions",
            ws.CountWorkflowExecutionsRequest(namespace=self.namespace, filter=flt, query=query or ""),
        )
        return int(response.count)

    # ------------------------------------------------------------------ batch operations

    async def terminate_workflows(
        self,
        query: str,
        *,
        reason: str,
        rps: float = DEFAULT_RPS,
        concurrency: int = DEFAULT_CONCURRENCY,
        on_progress: Callable[[BatchProgress], None] | None = None,
    ) -> BatchProgress:
        """Terminate every run ``query`` matches, at most ``rps`` a second; runs already closed are skipped.

        The runs are listed first, then changed (see ``legato._batch``); an
        error on one run is counted in ``failed`` and kept in ``failures``,
        it does not stop the others. ``on_progress`` is called after each run.
        """
        return await self._batch(
            query,
            lambda handle: handle.terminate(reason),
            rps=rps,
            concurrency=concurrency,
            on_progress=on_progress,
        )

    async def cancel_workflows(
        self,
        query: str,
        *,
        reason: str = "",
        rps: float = DEFAULT_RPS,
        concurrency: int = DEFAULT_CONCURRENCY,
        on_progress: Callable[[BatchProgress], None] | None = None,
    ) -> BatchProgress:
        """Request cancellation of every run ``query`` matches (as ``terminate_workflows``)."""
        return await self._batch(
            query,
            lambda handle: handle.cancel(reason=reason),
            rps=rps,
            concurrency=concurrency,
            on_progress=on_progress,
        )

    async def signal_workflows(
        self,
        query: str,
        signal: str | Callable[..., Any],
        *args: Any,
        rps: float = DEFAULT_RPS,
        concurrency: int = DEFAULT_CONCURRENCY,
        on_progress: Callable[[BatchProgress], None] | None = None,
    ) -> BatchProgress:
        """Send ``signal`` with ``args`` to every run ``query`` matches (as ``terminate_workflows``)."""
        return await self._batch(
            query,
            lambda handle: handle.signal(signal, *args),
            rps=rps,
            concurrency=concurrency,
            on_progress=on_progress,
        )

    async def _batch(
        self,
        query: str,
        apply: Callable[[WorkflowHandle[Any]], Awaitable[None]],
        *,
        rps: float,
        concurrency: int,
        on_progress: Callable[[BatchProgress], None] | None,
    ) -> BatchProgress:
        check_rate(rps=rps, concurrency=concurrency)
        targets = await collect_targets(self._batch_pages(query))
        return await run_batch(
            targets,
            lambda target: apply(self.get_workflow_handle(target.workflow_id, run_id=target.run_id)),
            status_of=lambda err: err.status if isinstance(err, RPCError) else None,
            rps=rps,
            concurrency=concurrency,
            on_progress=on_progress,
        )

    async def _batch_pages(self, query: str) -> AsyncIterator[list[BatchTarget]]:
        token = b""
        while True:
            response: ws.ListWorkflowExecutionsResponse = await self.service.call(
                "ListWorkflowExecutions",
                ws.ListWorkflowExecutionsRequest(
                    namespace=self.namespace, page_size=1000, next_page_token=token, query=query
                ),
            )
            yield [BatchTarget(e.execution.workflow_id, e.execution.run_id) for e in response.executions]
            token = response.next_page_token
            if not token:
                return

    # ------------------------------------------------------------------ schedules

    def _schedules(self) -> ScheduleClient:
        return ScheduleClient(self.service, namespace=self.namespace, identity=self.identity)

    async def create_schedule(
        self, id: str, schedule: schedule_pb2.Schedule, *, trigger_immediately: bool = False
    ) -> ScheduleHandle:
        """Create schedule ``id`` (see ``legato.schedules``); ALREADY_EXISTS if the id is taken.

        The server refuses a spec that never fires or has impossible fields with
        INVALID_ARGUMENT saying what is allowed.
        """
        return await self._schedules().create_schedule(id, schedule, trigger_immediately=trigger_immediately)

    def get_schedule_handle(self, id: str) -> ScheduleHandle:
        """A handle to describe, update, pause, unpause, trigger, backfill or delete schedule ``id``."""
        return self._schedules().get_schedule_handle(id)

    def list_schedules(self, *, page_size: int = 100) -> AsyncIterator[schedule_pb2.ScheduleListEntry]:
        """The namespace's schedules, by id."""
        return self._schedules().list_schedules(page_size=page_size)

    # ------------------------------------------------------------------ namespaces

    async def delete_namespace(self, namespace: str | None = None) -> common_pb2.NamespaceInfo:
        """Delete ``namespace`` (default: this client's) with its workflows, schedules and task queues.

        Returns at once, the namespace in state ``NAMESPACE_STATE_DELETED``: it takes
        no new work (a start is refused with FAILED_PRECONDITION) while the server
        terminates and removes what it holds in the background. The name can be
        registered again once DescribeNamespace answers NOT_FOUND. Deleting twice
        is no error; an unknown namespace is NOT_FOUND and ``default`` FAILED_PRECONDITION.
        """
        request = ws.DeleteNamespaceRequest(namespace=namespace or self.namespace)
        response: ws.DeleteNamespaceResponse = await self.service.call("DeleteNamespace", request)
        return response.namespace_info


def start_request(
    client: Client, input: StartWorkflowInput
) -> ws.StartWorkflowExecutionRequest | ws.SignalWithStartWorkflowExecutionRequest:
    """The (not yet encoded) request that starts ``input``'s workflow: with a signal when it names one."""
    pc = client.data_converter.payload_converter
    opts = input.options
    request_id = opts.get("request_id") or str(uuid.uuid4())
    common: dict[str, Any] = {
        "namespace": client.namespace,
        "workflow_id": input.workflow_id,
        "workflow_type": common_pb2.WorkflowType(name=input.workflow_type),
        "task_queue": common_pb2.TaskQueue(name=input.task_queue, kind=enums_pb2.TASK_QUEUE_KIND_NORMAL),
        "input": pc.to_payloads(list(input.args)),
        "identity": client.identity,
        "request_id": request_id,
        "workflow_id_reuse_policy": int(opts.get("id_reuse_policy") or WorkflowIDReusePolicy.ALLOW_DUPLICATE),
        "cron_schedule": opts.get("cron_schedule") or "",
        "header": common_pb2.Header(fields=dict(input.headers)),
    }
    request: ws.StartWorkflowExecutionRequest | ws.SignalWithStartWorkflowExecutionRequest
    if input.signal_name is not None:
        request = ws.SignalWithStartWorkflowExecutionRequest(
            signal_name=input.signal_name, signal_input=pc.to_payloads(list(input.signal_args)), **common
        )
    else:
        request = ws.StartWorkflowExecutionRequest(**common)
        if opts.get("start_delay") is not None:
            request.workflow_start_delay.FromTimedelta(
                checked_duration(opts["start_delay"], field="start_delay")
            )
    for field, key in (
        ("workflow_execution_timeout", "execution_timeout"),
        ("workflow_run_timeout", "run_timeout"),
        ("workflow_task_timeout", "task_timeout"),
    ):
        if opts.get(key) is not None:
            getattr(request, field).FromTimedelta(checked_duration(opts[key], field=key))
    if opts.get("retry_policy") is not None:
        request.retry_policy.CopyFrom(opts["retry_policy"].to_proto())
    for key, value in (opts.get("memo") or {}).items():
        request.memo.fields[key].CopyFrom(pc.to_payload(value))
    for key, value in (opts.get("search_attributes") or {}).items():
        request.search_attributes.indexed_fields[key].CopyFrom(pc.to_payload(value))
    return request


class _ClientCalls(ClientOutboundInterceptor):
    """The innermost link of the client chain: build the request and make the RPC."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any]:
        client = self._client
        opts = input.options
        request = start_request(client, input)
        await client.data_converter.encode_message(request)
        rpc = (
            "SignalWithStartWorkflowExecution" if input.signal_name is not None else "StartWorkflowExecution"
        )
        eager = await self._reserve_eager_start(request, input.task_queue, opts)
        try:
            response = await client.service.call(rpc, request, deadline=_seconds(opts.get("rpc_timeout")))
        except BaseException as err:
            if eager is not None:
                eager.release_eager_start()
            if isinstance(err, RPCError) and err.status == grpc.StatusCode.ALREADY_EXISTS:
                raise WorkflowAlreadyStartedError(
                    input.workflow_id,
                    input.workflow_type,
                    run_id=err.metadata.get(RUN_ID_METADATA),
                    message=err.details,
                ) from err
            raise
        if eager is not None:
            if isinstance(response, ws.StartWorkflowExecutionResponse) and response.HasField(
                "eager_workflow_task"
            ):
                eager.run_eager_start(response.eager_workflow_task)
            else:
                eager.release_eager_start()
        return WorkflowHandle(
            client,
            input.workflow_id,
            run_id=None,
            result_run_id=response.run_id,
            first_execution_run_id=response.run_id,
            result_type=opts.get("result_type"),
            started_run_id=response.run_id,
        )

    async def _reserve_eager_start(
        self,
        request: ws.StartWorkflowExecutionRequest | ws.SignalWithStartWorkflowExecutionRequest,
        task_queue: str,
        opts: Mapping[str, Any],
    ) -> EagerStartSlots | None:
        if (
            not opts.get("request_eager_start")
            or not isinstance(request, ws.StartWorkflowExecutionRequest)
            or request.cron_schedule
            or request.HasField("workflow_start_delay")
        ):
            return None
        worker = await self._client._eager_start.reserve(task_queue)
        request.request_eager_execution = worker is not None
        return worker

    async def signal_workflow(self, input: SignalWorkflowInput) -> None:
        client = self._client
        request = ws.SignalWorkflowExecutionRequest(
            namespace=client.namespace,
            workflow_execution=common_pb2.WorkflowExecution(
                workflow_id=input.workflow_id, run_id=input.run_id or ""
            ),
            signal_name=input.signal_name,
            input=client.data_converter.payload_converter.to_payloads(list(input.args)),
            identity=client.identity,
            request_id=str(uuid.uuid4()),
            header=common_pb2.Header(fields=dict(input.headers)),
        )
        await client.data_converter.encode_message(request)
        await client.service.call("SignalWorkflowExecution", request)

    async def start_workflow_update(self, input: StartWorkflowUpdateInput) -> WorkflowUpdateHandle[Any]:
        client = self._client
        request = update_request(
            client,
            workflow_id=input.workflow_id,
            run_id=input.run_id,
            name=input.update_name,
            args=input.args,
            update_id=input.update_id,
            wait_for_stage=WorkflowUpdateStage(input.wait_for_stage),
            headers=input.headers,
        )
        handle, _ = await send_update(
            client, request, result_type=input.result_type, rpc_timeout=input.rpc_timeout
        )
        return handle

    async def query_workflow(self, input: QueryWorkflowInput) -> common_pb2.Payloads:
        """Returns the (decoded) result payloads; the handle converts them to the asked type."""
        client = self._client
        request = ws.QueryWorkflowRequest(
            namespace=client.namespace,
            execution=common_pb2.WorkflowExecution(workflow_id=input.workflow_id, run_id=input.run_id or ""),
            query=ws.WorkflowQuery(
                query_type=input.query_name,
                query_args=client.data_converter.payload_converter.to_payloads(list(input.args)),
                header=common_pb2.Header(fields=dict(input.headers)),
            ),
        )
        await client.data_converter.encode_message(request)
        try:
            response: ws.QueryWorkflowResponse = await client.service.call(
                "QueryWorkflow", request, waits_for_worker=True
            )
        except RPCError as err:
            # The server reports a query the worker answered with FAILED (unknown query,
            # handler raised) as INVALID_ARGUMENT "query failed: <the worker's message>".
            if err.status == grpc.StatusCode.INVALID_ARGUMENT and "query failed" in err.message:
                raise WorkflowQueryFailedError(err.message.removeprefix("QueryWorkflow: ")) from err
            raise
        await client.data_converter.decode_message(response)
        return response.query_result


# ---------------------------------------------------------------- handles


_CLOSE_EVENTS = {
    enums_pb2.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    enums_pb2.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
    enums_pb2.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
    enums_pb2.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
    enums_pb2.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
    enums_pb2.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
}


class WorkflowHandle(Generic[ReturnType]):
    """A workflow, by id; ``ReturnType`` is what ``result()`` returns.

    ``run_id`` is the run this handle was pinned to with
    ``get_workflow_handle(run_id=...)``: signals, queries, cancel, terminate and
    describe go to it. A handle from ``start_workflow`` is not pinned (those
    calls reach the *latest* run, so they keep working across continue-as-new);
    ``result_run_id`` is where ``result()`` starts following the chain of runs.
    """

    def __init__(
        self,
        client: Client,
        id: str,
        *,
        run_id: str | None = None,
        result_run_id: str | None = None,
        first_execution_run_id: str | None = None,
        result_type: Any = None,
        started_run_id: str | None = None,
    ) -> None:
        self.client = client
        self.id = id
        self.run_id = run_id
        self.result_run_id = result_run_id
        self.first_execution_run_id = first_execution_run_id
        self.started_run_id = started_run_id
        """The run ``start_workflow`` created (None for handles obtained otherwise)."""
        self.result_type = result_type

    def __repr__(self) -> str:
        return f"WorkflowHandle(id={self.id!r}, run_id={self.run_id!r}, result_run_id={self.result_run_id!r})"

    def _execution(self) -> common_pb2.WorkflowExecution:
        return common_pb2.WorkflowExecution(workflow_id=self.id, run_id=self.run_id or "")

    async def result(self, *, follow_runs: bool = True, rpc_timeout: timedelta | None = None) -> ReturnType:
        """Wait for the workflow to close and return its result.

        Follows continue-as-new, retries and cron runs when ``follow_runs``.
        Raises ``WorkflowFailureError`` whose ``__cause__`` is the
        ``ApplicationError``/``CancelledError``/``TerminatedError``/``TimeoutError``.
        """
        client = self.client
        converter = client.data_converter
        run_id = self.result_run_id or ""
        token = b""
        while True:
            request = ws.GetWorkflowExecutionHistoryRequest(
                namespace=client.namespace,
                execution=common_pb2.WorkflowExecution(workflow_id=self.id, run_id=run_id),
                wait_new_event=True,
                history_event_filter_type=enums_pb2.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
                next_page_token=token,
            )
            try:
                response: ws.GetWorkflowExecutionHistoryResponse = await client.service.call(
                    "GetWorkflowExecutionHistory",
                    request,
                    long_poll=True,
                    deadline=_seconds(rpc_timeout),
                )
            except RPCError as err:
                if err.status == grpc.StatusCode.DEADLINE_EXCEEDED:
                    continue  # the long poll expired: ask again
                raise
            close = next((e for e in response.history.events if e.event_type in _CLOSE_EVENTS), None)
            if close is None:
                token = response.next_page_token
                continue
            await converter.decode_message(close)
            next_run = self._next_run(close)
            if next_run and follow_runs:
                run_id, token = next_run, b""
                continue
            return self._outcome(close, next_run)

    @staticmethod
    def _next_run(close: history_pb2.HistoryEvent) -> str:
        kind = close.WhichOneof("attributes")
        if kind is None:
            return ""
        attrs = getattr(close, kind)
        return getattr(attrs, "new_execution_run_id", "") or ""

    def _outcome(self, close: history_pb2.HistoryEvent, next_run: str) -> Any:
        converter = self.client.data_converter
        pc = converter.payload_converter
        event_type = close.event_type
        if event_type == enums_pb2.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            values = pc.from_payloads(
                close.workflow_execution_completed_event_attributes.result, [self.result_type]
            )
            return values[0] if values else None
        if event_type == enums_pb2.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            raise WorkflowContinuedAsNewError(next_run)
        cause: BaseException
        if event_type == enums_pb2.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
            cause = converter.failure_converter.from_failure(
                close.workflow_execution_failed_event_attributes.failure, pc
            )
        elif event_type == enums_pb2.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
            cause = CancelledError(
                "workflow cancelled",
                *pc.from_payloads(close.workflow_execution_canceled_event_attributes.details),
            )
        elif event_type == enums_pb2.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
            attrs = close.workflow_execution_terminated_event_attributes
            cause = TerminatedError(attrs.reason or "workflow terminated")
        else:
            cause = TimeoutError("workflow timed out", type=TimeoutType.START_TO_CLOSE)
        raise WorkflowFailureError(f"workflow {self.id!r} did not complete: {cause}", cause=cause)

    # ------------------------------------------------------------ signals and queries

    async def signal(self, signal: str | Callable[..., Any], *args: Any) -> None:
        """Send a signal (by handler method or name) with ``args``."""
        await self.client._chain.signal_workflow(
            SignalWorkflowInput(
                workflow_id=self.id,
                run_id=self.run_id,
                signal_name=handler_name(signal, "signal"),
                args=list(args),
                headers={},
            )
        )

    @overload
    async def query(self, query: Callable[[SelfType], QueryReturnType]) -> QueryReturnType: ...

    @overload
    async def query(
        self, query: Callable[[SelfType, ParamType], QueryReturnType], arg: ParamType, /
    ) -> QueryReturnType: ...

    @overload
    async def query(self, query: str, *args: Any, result_type: type[QueryReturnType]) -> QueryReturnType: ...

    @overload
    async def query(self, query: str | Callable[..., Any], *args: Any, result_type: Any = None) -> Any: ...

    async def query(self, query: str | Callable[..., Any], *args: Any, result_type: Any = None) -> Any:
        """Ask a running (or closed) workflow a question; its handler answers without changing state.

        Raises ``WorkflowQueryFailedError`` if the handler raised or does not exist.
        """
        if result_type is None and not isinstance(query, str):
            result_type = _return_type(query)
        payloads = await self.client._chain.query_workflow(
            QueryWorkflowInput(
                workflow_id=self.id,
                run_id=self.run_id,
                query_name=handler_name(query, "query"),
                args=list(args),
                headers={},
            )
        )
        values = self.client.data_converter.payload_converter.from_payloads(payloads, [result_type])
        return values[0] if values else None

    # ------------------------------------------------------------ updates

    @overload
    async def execute_update(
        self,
        update: Callable[[SelfType], Awaitable[UpdateReturnType]],
        *,
        id: str | None = None,
        rpc_timeout: timedelta | None = None,
    ) -> UpdateReturnType: ...

    @overload
    async def execute_update(
        self,
        update: Callable[[SelfType, ParamType], Awaitable[UpdateReturnType]],
        arg: ParamType,
        /,
        *,
        id: str | None = None,
        rpc_timeout: timedelta | None = None,
    ) -> UpdateReturnType: ...

    @overload
    async def execute_update(
        self,
        update: str | Callable[..., Any],
        *args: Any,
        id: str | None = None,
        result_type: Any = None,
        rpc_timeout: timedelta | None = None,
    ) -> Any: ...

    async def execute_update(
        self,
        update: str | Callable[..., Any],
        *args: Any,
        id: str | None = None,
        result_type: Any = None,
        rpc_timeout: timedelta | None = None,
    ) -> Any:
        """Send an update (by handler method or name) and wait for its result.

        Raises ``WorkflowUpdateFailedError`` if the validator rejected it
        (``rejected``) or the handler raised; ``RPCError`` FAILED_PRECONDITION
        if the workflow is closed. ``id`` makes retries safe: an id already
        used returns the first update's outcome.
        """
        handle = await self.start_update(
            update,
            *args,
            id=id,
            result_type=result_type,
            wait_for_stage=WorkflowUpdateStage.COMPLETED,
            rpc_timeout=rpc_timeout,
        )
        return await handle.result(rpc_timeout=rpc_timeout)

    @overload
    async def start_update(
        self,
        update: Callable[[SelfType], Awaitable[UpdateReturnType]],
        *,
        wait_for_stage: WorkflowUpdateStage = WorkflowUpdateStage.ACCEPTED,
        id: str | None = None,
        rpc_timeout: timedelta | None = None,
    ) -> WorkflowUpdateHandle[UpdateReturnType]: ...

    @overload
    async def start_update(
        self,
        update: Callable[[SelfType, ParamType], Awaitable[UpdateReturnType]],
        arg: ParamType,
        /,
        *,
        wait_for_stage: WorkflowUpdateStage = WorkflowUpdateStage.ACCEPTED,
        id: str | None = None,
        rpc_timeout: timedelta | None = None,
    ) -> WorkflowUpdateHandle[UpdateReturnType]: ...

    @overload
    async def start_update(
        self,
        update: str | Callable[..., Any],
        *args: Any,
        wait_for_stage: WorkflowUpdateStage = WorkflowUpdateStage.ACCEPTED,
        id: str | None = None,
        result_type: Any = None,
        rpc_timeout: timedelta | None = None,
    ) -> WorkflowUpdateHandle[Any]: ...

    async def start_update(
        self,
        update: str | Callable[..., Any],
        *args: Any,
        wait_for_stage: WorkflowUpdateStage = WorkflowUpdateStage.ACCEPTED,
        id: str | None = None,
        result_type: Any = None,
        rpc_timeout: timedelta | None = None,
    ) -> WorkflowUpdateHandle[Any]:
        """Send an update and return its handle once it reached ``wait_for_stage`` (default ACCEPTED).

        Raises ``WorkflowUpdateFailedError`` (``rejected``) if the validator rejected it.
        """
        if result_type is None and not isinstance(update, str):
            result_type = _return_type(update)
        handle: WorkflowUpdateHandle[Any] = await self.client._chain.start_workflow_update(
            StartWorkflowUpdateInput(
                workflow_id=self.id,
                run_id=self.run_id,
                update_id=id or str(uuid.uuid4()),
                update_name=handler_name(update, "update"),
                args=list(args),
                wait_for_stage=int(wait_for_stage),
                headers={},
                result_type=result_type,
                rpc_timeout=rpc_timeout,
            )
        )
        return handle

    def get_update_handle(self, id: str, *, result_type: Any = None) -> WorkflowUpdateHandle[Any]:
        """A handle to an update sent before (by this or another process); no call is made."""
        return WorkflowUpdateHandle(
            self.client,
            id=id,
            name="",
            workflow_id=self.id,
            workflow_run_id=self.run_id,
            result_type=result_type,
        )

    # ------------------------------------------------------------ lifecycle

    async def cancel(self, *, reason: str = "") -> None:
        """Ask the workflow to cancel; it decides how (cleanup, then usually a CancelledError)."""
        client = self.client
        await client.service.call(
            "RequestCancelWorkflowExecution",
            ws.RequestCancelWorkflowExecutionRequest(
                namespace=client.namespace,
                workflow_execution=self._execution(),
                identity=client.identity,
                request_id=str(uuid.uuid4()),
                reason=reason,
            ),
        )

    async def terminate(self, reason: str = "", *details: Any) -> None:
        """Stop the workflow at once; no workflow code runs."""
        client = self.client
        request = ws.TerminateWorkflowExecutionRequest(
            namespace=client.namespace,
            workflow_execution=self._execution(),
            reason=reason,
            details=client.data_converter.payload_converter.to_payloads(list(details)),
            identity=client.identity,
        )
        await client.data_converter.encode_message(request)
        await client.service.call("TerminateWorkflowExecution", request)

    async def reset(
        self,
        *,
        event_id: int | None = None,
        reset_type: ResetType | None = None,
        reason: str = "",
        reapply_signals: bool = True,
    ) -> WorkflowHandle[ReturnType]:
        """Start a new run from this workflow's history up to a workflow task; terminate the current run.

        Give ``event_id`` (a WorkflowTaskCompleted event of this handle's run,
        or of the current run if the handle is not pinned) or ``reset_type``
        (``ResetType.FIRST_WORKFLOW_TASK`` / ``LAST_WORKFLOW_TASK``). The new
        run keeps the history before that task and makes it again; signals
        received after it are sent to the new run again unless
        ``reapply_signals=False``. ``reason`` is recorded on both runs
        (describe's ``raw.reset_by`` / ``raw.reset_from``) and ends the old
        run if it was still running. A point that is not a workflow task
        boundary raises ``RPCError`` (INVALID_ARGUMENT) listing the allowed
        ids. Returns a handle whose ``result()`` follows the new run
        (``started_run_id`` is its run id).
        """
        client = self.client
        request = reset_request(
            namespace=client.namespace,
            execution=self._execution(),
            event_id=event_id,
            reset_type=reset_type,
            reason=reason,
            reapply_signals=reapply_signals,
            identity=client.identity,
        )
        response: ws.ResetWorkflowExecutionResponse = await client.service.call(
            "ResetWorkflowExecution", request
        )
        return WorkflowHandle(
            client,
            self.id,
            result_run_id=response.run_id,
            first_execution_run_id=self.first_execution_run_id,
            result_type=self.result_type,
            started_run_id=response.run_id,
        )

    async def describe(self) -> WorkflowExecutionDescription:
        client = self.client
        converter = client.data_converter
        response: ws.DescribeWorkflowExecutionResponse = await client.service.call(
            "DescribeWorkflowExecution",
            ws.DescribeWorkflowExecutionRequest(namespace=client.namespace, execution=self._execution()),
        )
        decoded = ws.DescribeWorkflowExecutionResponse()
        decoded.CopyFrom(response)
        await converter.decode_message(decoded)
        base = await WorkflowExecution.from_proto(
            decoded.workflow_execution_info,
            DataConverter(
                payload_converter=converter.payload_converter, failure_converter=converter.failure_converter
            ),
        )
        pc = converter.payload_converter
        config = decoded.execution_config
        pending = [
            PendingActivity(
                activity_id=a.activity_id,
                activity_type=a.activity_type.name,
                state=a.state,
                attempt=a.attempt,
                maximum_attempts=a.maximum_attempts,
                heartbeat_details=pc.from_payloads(a.heartbeat_details),
                last_heartbeat_time=to_datetime(a.last_heartbeat_time, a.HasField("last_heartbeat_time")),
                last_started_time=to_datetime(a.last_started_time, a.HasField("last_started_time")),
                scheduled_time=to_datetime(a.scheduled_time, a.HasField("scheduled_time")),
                last_failure=converter.failure_converter.from_failure(a.last_failure, pc)
                if a.HasField("last_failure")
                else None,
                last_worker_identity=a.last_worker_identity,
            )
            for a in decoded.pending_activities
        ]
        fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(WorkflowExecution)}
        return WorkflowExecutionDescription(
            **fields,
            execution_timeout=to_timedelta(
                config.workflow_execution_timeout, config.HasField("workflow_execution_timeout")
            ),
            run_timeout=to_timedelta(config.workflow_run_timeout, config.HasField("workflow_run_timeout")),
            task_timeout=to_timedelta(
                config.default_workflow_task_timeout, config.HasField("default_workflow_task_timeout")
            ),
            pending_activities=pending,
            pending_children=list(decoded.pending_children),
            workflow_task_attempt=decoded.pending_workflow_task.attempt,
            raw_description=response,
        )

    async def _history_pages(self, *, decode: bool, page_size: int = 0) -> AsyncIterator[history_pb2.History]:
        client = self.client
        execution = common_pb2.WorkflowExecution(
            workflow_id=self.id, run_id=self.run_id or self.result_run_id or ""
        )
        token = b""
        while True:
            response: ws.GetWorkflowExecutionHistoryResponse = await client.service.call(
                "GetWorkflowExecutionHistory",
                ws.GetWorkflowExecutionHistoryRequest(
                    namespace=client.namespace,
                    execution=execution,
                    maximum_page_size=page_size,
                    next_page_token=token,
                ),
            )
            if decode:
                await client.data_converter.decode_message(response)
            yield response.history
            token = response.next_page_token
            if not token:
                return

    async def fetch_history_events(self, *, page_size: int = 0) -> AsyncIterator[history_pb2.HistoryEvent]:
        """Every event of the run (payloads decoded), fetched a page at a time."""
        async for page in self._history_pages(decode=True, page_size=page_size):
            for event in page.events:
                yield event

    async def fetch_history(self, *, decode: bool = True) -> history_pb2.History:
        """The run's whole history as one ``History`` (e.g. to save for a replay test).

        ``decode=False`` returns the payloads as stored on the server (codec-encoded).
        """
        history = history_pb2.History()
        async for page in self._history_pages(decode=decode):
            history.events.extend(page.events)
        return history
