"""The API workflow code uses: ``from legato import workflow``.

Defining a workflow::

    @workflow.defn
    class Checkout:
        @workflow.run
        async def run(self, order_id: str) -> str:
            return await workflow.execute_activity(
                charge, order_id, 1999, start_to_close_timeout=timedelta(seconds=10))

Everything here must be called from workflow code (the run method, signal and
query handlers, ``__init__``, or tasks they create); outside, it raises
``NotInWorkflowError``. Workflow code runs on a deterministic event loop (see
``legato._workflow_loop``): ``asyncio.sleep``, ``asyncio.wait_for``,
``asyncio.gather``, ``asyncio.Event``, tasks and ``asyncio.timeout`` work and
are durable; time comes from ``workflow.now()``, randomness from
``workflow.random()``. Threads, executors, sockets and ``time.sleep`` raise
``NondeterministicCallError``; reading the wall clock or the global ``random``
cannot be blocked but breaks replay — don't.

Cancellation is asyncio cancellation: a cancellation request cancels the run
task, ``asyncio.CancelledError`` surfaces at the current ``await`` (and cancels
the activity, timer or child awaited there). Catch it to clean up — awaiting
after catching works — and re-raise (or return) to end the run as cancelled.
``workflow.shield(aw)`` runs ``aw`` to completion even if the caller is cancelled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from datetime import datetime, timedelta
from random import Random
from typing import Any, NoReturn, TypeVar, overload
from uuid import UUID

from legato import interceptor as _icp
from legato._workflow_defn import (
    UpdateMethod,
    WorkflowDefinition,
    defn,
    get_workflow_definition,
    init,
    query,
    return_hint,
    run,
    signal,
    update,
)
from legato._workflow_handles import ActivityHandle, ChildWorkflowHandle, ExternalWorkflowHandle
from legato._workflow_instance import WorkflowInstance, duration_into, retry_policy_proto, workflow_argument
from legato._workflow_local_activity import DEFAULT_LOCAL_RETRY_THRESHOLD
from legato._workflow_local_activity import execute_local_activity as _run_local
from legato._workflow_loop import current_workflow_loop
from legato._workflow_types import (
    ActivityCancellationType,
    ChildWorkflowCancellationType,
    ContinueAsNewError,
    NondeterministicCallError,
    NotInWorkflowError,
    ParentInfo,
    ReadOnlyContextError,
    WorkflowInfo,
)
from legato.api.v1 import command_pb2
from legato.common import (
    ParentClosePolicy,
    RetryPolicy,
    WorkflowIDReusePolicy,
    checked_duration,
    checked_run_id,
)

__all__ = [
    "ActivityCancellationType",
    "ActivityHandle",
    "ChildWorkflowCancellationType",
    "ChildWorkflowHandle",
    "ContinueAsNewError",
    "ExternalWorkflowHandle",
    "NondeterministicCallError",
    "NotInWorkflowError",
    "ParentClosePolicy",
    "ParentInfo",
    "ReadOnlyContextError",
    "RetryPolicy",
    "UpdateMethod",
    "WorkflowDefinition",
    "WorkflowIDReusePolicy",
    "WorkflowInfo",
    "all_handlers_finished",
    "continue_as_new",
    "defn",
    "deprecate_patch",
    "execute_activity",
    "execute_child_workflow",
    "execute_local_activity",
    "get_external_workflow_handle",
    "get_workflow_definition",
    "info",
    "init",
    "logger",
    "now",
    "patched",
    "query",
    "random",
    "run",
    "set_query_handler",
    "set_signal_handler",
    "shield",
    "side_effect",
    "signal",
    "sleep",
    "start_activity",
    "start_child_workflow",
    "start_local_activity",
    "unsafe",
    "update",
    "upsert_memo",
    "upsert_search_attributes",
    "uuid4",
    "wait_condition",
]

_R = TypeVar("_R")
_T = TypeVar("_T")
Duration = timedelta | float
"""A duration as a timedelta or in seconds."""


def _instance() -> WorkflowInstance:
    loop = current_workflow_loop()
    if loop is None:
        raise NotInWorkflowError("legato.workflow functions can only be called from workflow code")
    owner: WorkflowInstance = loop.owner
    return owner


def _seconds(value: Duration | None) -> float | None:
    if value is None:
        return None
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


# ---------------------------------------------------------------- context


def info() -> WorkflowInfo:
    """What this run knows about itself (ids, type, attempt, parent, memo, ...)."""
    return _instance().info


def now() -> datetime:
    """Workflow time (UTC): when the current workflow task started. Use instead of datetime.now()."""
    return _instance().now


def random() -> Random:
    """A ``random.Random`` seeded from the run id: the same values on replay. Reseed freely."""
    return _instance().random


def uuid4() -> UUID:
    """A version-4 UUID drawn from ``workflow.random()``: deterministic on replay."""
    return _instance().uuid4()


class _Unsafe:
    """Things workflow code should rarely need."""

    @staticmethod
    def is_replaying() -> bool:
        """Is the code re-running a task already recorded in history (e.g. to skip side outputs)?"""
        return _instance().is_replaying

    @staticmethod
    def in_workflow() -> bool:
        """Is the caller running as workflow code?"""
        return current_workflow_loop() is not None


unsafe = _Unsafe()


class _ReplaySafeLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Silent while replaying; tags records (and messages) with the workflow's identity."""

    def isEnabledFor(self, level: int) -> bool:
        loop = current_workflow_loop()
        if loop is not None and loop.owner.is_replaying:
            return False
        return self.logger.isEnabledFor(level)

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        loop = current_workflow_loop()
        if loop is None:
            return msg, kwargs
        wf = loop.owner.info
        extra = {"workflow_id": wf.workflow_id, "run_id": wf.run_id, "workflow_type": wf.workflow_type}
        kwargs["extra"] = {**extra, **kwargs.get("extra", {})}
        return f"{msg} ({wf.workflow_type} {wf.workflow_id} {wf.run_id})", kwargs


logger = _ReplaySafeLogger(logging.getLogger("legato.workflow"), {})
"""Logger for workflow code: silent during replay, adds workflow id and run id."""


# ---------------------------------------------------------------- time


async def sleep(duration: Duration) -> None:
    """Durable sleep (a timer on the server). ``asyncio.sleep`` does the same."""
    await asyncio.sleep(_seconds(duration) or 0)


async def wait_condition(fn: Callable[[], bool], *, timeout: Duration | None = None) -> None:  # noqa: ASYNC109
    """Wait until ``fn()`` is true (checked whenever workflow code has run).

    Raises ``asyncio.TimeoutError`` if ``timeout`` passes first.
    """
    await _instance().wait_condition(fn, _seconds(timeout))


def all_handlers_finished() -> bool:
    """No update or signal handler is still running.

    A workflow that returns while an update handler runs drops that update's
    result (its caller gets an error), so a run method that takes updates
    usually ends with ``await workflow.wait_condition(workflow.all_handlers_finished)``.
    """
    return _instance().all_handlers_finished


async def shield(aw: Awaitable[_T]) -> _T:
    """Run ``aw`` to completion even if the calling task is cancelled meanwhile.

    If a cancellation arrived while waiting, ``asyncio.CancelledError`` is raised
    after ``aw`` finished (its result is then lost); use this for cleanup work
    that must complete, e.g. a compensating activity.
    """
    inner = asyncio.ensure_future(aw)
    cancelled = False
    while True:
        try:
            result = await asyncio.shield(inner)
            break
        except asyncio.CancelledError:
            if inner.done():
                raise
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError()
    return result


# ---------------------------------------------------------------- activities


def _activity_name(activity: Callable[..., Any] | str) -> str:
    if isinstance(activity, str):
        return activity
    definition = getattr(activity, "__legato_activity_definition__", None)
    if definition is not None:
        return str(definition.name)
    name = getattr(activity, "__name__", None)
    if not name:
        raise TypeError(f"cannot tell the activity name of {activity!r}; pass a function or a string")
    return str(name)


@overload
def start_activity(
    activity: Callable[..., Awaitable[_R]],
    *args: Any,
    task_queue: str | None = None,
    schedule_to_close_timeout: Duration | None = None,
    schedule_to_start_timeout: Duration | None = None,
    start_to_close_timeout: Duration | None = None,
    heartbeat_timeout: Duration | None = None,
    retry_policy: RetryPolicy | None = None,
    cancellation_type: ActivityCancellationType = ActivityCancellationType.TRY_CANCEL,
    activity_id: str | None = None,
    result_type: type | None = None,
) -> ActivityHandle[_R]: ...
@overload
def start_activity(
    activity: Callable[..., _R],
    *args: Any,
    task_queue: str | None = None,
    schedule_to_close_timeout: Duration | None = None,
    schedule_to_start_timeout: Duration | None = None,
    start_to_close_timeout: Duration | None = None,
    heartbeat_timeout: Duration | None = None,
    retry_policy: RetryPolicy | None = None,
    cancellation_type: ActivityCancellationType = ActivityCancellationType.TRY_CANCEL,
    activity_id: str | None = None,
    result_type: type | None = None,
) -> ActivityHandle[_R]: ...
@overload
def start_activity(
    activity: str,
    *args: Any,
    task_queue: str | None = None,
    schedule_to_close_timeout: Duration | None = None,
    schedule_to_start_timeout: Duration | None = None,
    start_to_close_timeout: Duration | None = None,
    heartbeat_timeout: Duration | None = None,
    retry_policy: RetryPolicy | None = None,
    cancellation_type: ActivityCancellationType = ActivityCancellationType.TRY_CANCEL,
    activity_id: str | None = None,
    result_type: type | None = None,
) -> ActivityHandle[Any]: ...
def start_activity(
    activity: Callable[..., Any] | str,
    *args: Any,
    task_queue: str | None = None,
    schedule_to_close_timeout: Duration | None = None,
    schedule_to_start_timeout: Duration | None = None,
    start_to_close_timeout: Duration | None = None,
    heartbeat_timeout: Duration | None = None,
    retry_policy: RetryPolicy | None = None,
    cancellation_type: ActivityCancellationType = ActivityCancellationType.TRY_CANCEL,
    activity_id: str | None = None,
    result_type: type | None = None,
) -> ActivityHandle[Any]:
    """Schedule an activity; the handle is awaitable and has ``cancel()``.

    At least one of ``schedule_to_close_timeout`` and ``start_to_close_timeout``
    is required. The result is decoded with ``result_type`` or else the
    function's return annotation. A failure raises ``ActivityError`` whose
    ``__cause__`` is the activity's error (``ApplicationError``, ``TimeoutError``...);
    a cancelled activity raises ``asyncio.CancelledError``.
    """
    instance = _instance()
    name = _activity_name(activity)
    if schedule_to_close_timeout is None and start_to_close_timeout is None:
        raise ValueError(
            f"activity {name!r}: set start_to_close_timeout (how long one attempt may run) "
            "or schedule_to_close_timeout (how long all attempts may take)"
        )
    if result_type is None and not isinstance(activity, str):
        result_type = return_hint(activity)
    start = _icp.StartActivityInput(
        activity_type=name,
        args=args,
        headers={},
        options={
            "task_queue": task_queue,
            "schedule_to_close_timeout": _seconds(schedule_to_close_timeout),
            "schedule_to_start_timeout": _seconds(schedule_to_start_timeout),
            "start_to_close_timeout": _seconds(start_to_close_timeout),
            "heartbeat_timeout": _seconds(heartbeat_timeout),
            "retry_policy": retry_policy,
            "cancellation_type": cancellation_type,
            "activity_id": activity_id,
            "result_type": result_type,
        },
    )
    handle: ActivityHandle[Any] = instance.outbound.start_activity(start)
    return handle


@overload
async def execute_activity(
    activity: Callable[..., Awaitable[_R]],
    *args: Any,
    task_queue: str | None = None,
    schedule_to_close_timeout: Duration | None = None,
    schedule_to_start_timeout: Duration | None = None,
    start_to_close_timeout: Duration | None = None,
    heartbeat_timeout: Duration | None = None,
    retry_policy: RetryPolicy | None = None,
    cancellation_type: ActivityCancellationType = ActivityCancellationType.TRY_CANCEL,
    activity_id: str | None = None,
    result_type: type | None = None,
) -> _R: ...
@overload
async def execute_activity(
    activity: Callable[..., _R],
    *args: Any,
    task_queue: str | None = None,
    schedule_to_close_timeout: Duration | None = None,
    schedule_to_start_timeout: Duration | None = None,
    start_to_close_timeout: Duration | None = None,
    heartbeat_timeout: Duration | None = None,
    retry_policy: RetryPolicy | None = None,
    cancellation_type: ActivityCancellationType = ActivityCancellationType.TRY_CANCEL,
    activity_id: str | None = None,
    result_type: type | None = None,
) -> _R: ...
@overload
async def execute_activity(
    activity: str,
    *args: Any,
    task_queue: str | None = None,
    schedule_to_close_timeout: Duration | None = None,
    schedule_to_start_timeout: Duration | None = None,
    start_to_close_timeout: Duration | None = None,
    heartbeat_timeout: Duration | None = None,
    retry_policy: RetryPolicy | None = None,
    cancellation_type: ActivityCancellationType = ActivityCancellationType.TRY_CANCEL,
    activity_id: str | None = None,
    result_type: type | None = None,
) -> Any: ...
async def execute_activity(
    activity: Callable[..., Any] | str,
    *args: Any,
    task_queue: str | None = None,
    schedule_to_close_timeout: Duration | None = None,
    schedule_to_start_timeout: Duration | None = None,
    start_to_close_timeout: Duration | None = None,
    heartbeat_timeout: Duration | None = None,
    retry_policy: RetryPolicy | None = None,
    cancellation_type: ActivityCancellationType = ActivityCancellationType.TRY_CANCEL,
    activity_id: str | None = None,
    result_type: type | None = None,
) -> Any:
    """``await start_activity(...)``: run an activity and return its result."""
    return await start_activity(
        activity,
        *args,
        task_queue=task_queue,
        schedule_to_close_timeout=schedule_to_close_timeout,
        schedule_to_start_timeout=schedule_to_start_timeout,
        start_to_close_timeout=start_to_close_timeout,
        heartbeat_timeout=heartbeat_timeout,
        retry_policy=retry_policy,
        cancellation_type=cancellation_type,
        activity_id=activity_id,
        result_type=result_type,
    )


# ---------------------------------------------------------------- local activities


def _check_duration(value: Duration | None, what: str) -> None:
    if value is not None:
        workflow_argument(lambda: checked_duration(value, field=what))


def _timedelta(value: Duration | None) -> timedelta | None:
    if value is None or isinstance(value, timedelta):
        return value
    return timedelta(seconds=float(value))


@overload
def start_local_activity(
    activity: Callable[..., Awaitable[_R]],
    *args: Any,
    start_to_close_timeout: Duration | None = None,
    schedule_to_close_timeout: Duration | None = None,
    retry_policy: RetryPolicy | None = None,
    local_retry_threshold: Duration = DEFAULT_LOCAL_RETRY_THRESHOLD,
    activity_id: str | None = None,
    result_type: type | None = None,
) -> asyncio.Task[_R]: ...
@overload
def start_local_activity(
    activity: Callable[..., _R],
    *args: Any,
    start_to_close_timeout: Duration | None = None,
    schedule_to_close_timeout: Duration | None = None,
    retry_policy: RetryPolicy | None = None,
    local_retry_threshold: Duration = DEFAULT_LOCAL_RETRY_THRESHOLD,
    activity_id: str | None = None,
    result_type: type | None = None,
) -> asyncio.Task[_R]: ...
def start_local_activity(
    activity: Callable[..., Any] | str,
    *args: Any,
    start_to_close_timeout: Duration | None = None,
    schedule_to_close_timeout: Duration | None = None,
    retry_policy: RetryPolicy | None = None,
    local_retry_threshold: Duration = DEFAULT_LOCAL_RETRY_THRESHOLD,
    activity_id: str | None = None,
    result_type: type | None = None,
) -> asyncio.Task[Any]:
    """Run an activity in this worker, inside the workflow task; await the task for its result.

    The activity must be registered on the worker running the workflow. Its
    outcome is recorded as a marker, so on replay it is not run again. Failed
    attempts are retried per ``retry_policy`` by the worker; a backoff longer
    than ``local_retry_threshold`` is slept on a durable timer instead.
    ``start_to_close_timeout`` bounds one attempt, ``schedule_to_close_timeout``
    all of them (at least one is required). A final failure raises
    ``ActivityError`` with the activity's error as ``__cause__``.
    """
    instance = _instance()
    name = _activity_name(activity)
    if schedule_to_close_timeout is None and start_to_close_timeout is None:
        raise ValueError(
            f"local activity {name!r}: set start_to_close_timeout (how long one attempt may run) "
            "or schedule_to_close_timeout (how long all attempts may take)"
        )
    _check_duration(start_to_close_timeout, "start_to_close_timeout")
    _check_duration(schedule_to_close_timeout, "schedule_to_close_timeout")
    if retry_policy is not None:
        retry_policy_proto(retry_policy)
    if result_type is None and not isinstance(activity, str):
        result_type = return_hint(activity)
    return instance.loop.create_task(
        _run_local(
            instance,
            activity_type=name,
            args=args,
            headers={},
            activity_id=activity_id,
            start_to_close_timeout=_timedelta(start_to_close_timeout),
            schedule_to_close_timeout=_timedelta(schedule_to_close_timeout),
            retry_policy=retry_policy,
            local_retry_threshold=_timedelta(local_retry_threshold) or DEFAULT_LOCAL_RETRY_THRESHOLD,
            result_type=result_type,
        ),
        name=f"local-activity-{name}",
    )


@overload
async def execute_local_activity(
    activity: Callable[..., Awaitable[_R]],
    *args: Any,
    start_to_close_timeout: Duration | None = None,
    schedule_to_close_timeout: Duration | None = None,
    retry_policy: RetryPolicy | None = None,
    local_retry_threshold: Duration = DEFAULT_LOCAL_RETRY_THRESHOLD,
    activity_id: str | None = None,
    result_type: type | None = None,
) -> _R: ...
@overload
async def execute_local_activity(
    activity: Callable[..., _R],
    *args: Any,
    start_to_close_timeout: Duration | None = None,
    schedule_to_close_timeout: Duration | None = None,
    retry_policy: RetryPolicy | None = None,
    local_retry_threshold: Duration = DEFAULT_LOCAL_RETRY_THRESHOLD,
    activity_id: str | None = None,
    result_type: type | None = None,
) -> _R: ...
async def execute_local_activity(
    activity: Callable[..., Any] | str,
    *args: Any,
    start_to_close_timeout: Duration | None = None,
    schedule_to_close_timeout: Duration | None = None,
    retry_policy: RetryPolicy | None = None,
    local_retry_threshold: Duration = DEFAULT_LOCAL_RETRY_THRESHOLD,
    activity_id: str | None = None,
    result_type: type | None = None,
) -> Any:
    """``await start_local_activity(...)``: run a local activity and return its result."""
    start: Any = start_local_activity
    return await start(
        activity,
        *args,
        start_to_close_timeout=start_to_close_timeout,
        schedule_to_close_timeout=schedule_to_close_timeout,
        retry_policy=retry_policy,
        local_retry_threshold=local_retry_threshold,
        activity_id=activity_id,
        result_type=result_type,
    )


# ---------------------------------------------------------------- child workflows


def _workflow_name(workflow: Any) -> str:
    """Name of a workflow given as a string, a @workflow.defn class or its run method."""
    if isinstance(workflow, str):
        return workflow
    if isinstance(workflow, type):
        return get_workflow_definition(workflow).name
    name = getattr(workflow, "__legato_workflow_name__", None)
    if name is None:
        raise TypeError(
            f"{workflow!r} is not a workflow: pass a @workflow.defn class, its run method or a name"
        )
    return str(name)


@overload
async def start_child_workflow(
    workflow: Callable[..., Awaitable[_R]],
    *args: Any,
    id: str | None = None,
    task_queue: str | None = None,
    namespace: str | None = None,
    execution_timeout: Duration | None = None,
    run_timeout: Duration | None = None,
    task_timeout: Duration | None = None,
    parent_close_policy: ParentClosePolicy = ParentClosePolicy.TERMINATE,
    id_reuse_policy: WorkflowIDReusePolicy = WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    retry_policy: RetryPolicy | None = None,
    cron_schedule: str = "",
    memo: Mapping[str, Any] | None = None,
    search_attributes: Mapping[str, Any] | None = None,
    cancellation_type: ChildWorkflowCancellationType = ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
    result_type: type | None = None,
) -> ChildWorkflowHandle[_R]: ...
@overload
async def start_child_workflow(
    workflow: str | type,
    *args: Any,
    id: str | None = None,
    task_queue: str | None = None,
    namespace: str | None = None,
    execution_timeout: Duration | None = None,
    run_timeout: Duration | None = None,
    task_timeout: Duration | None = None,
    parent_close_policy: ParentClosePolicy = ParentClosePolicy.TERMINATE,
    id_reuse_policy: WorkflowIDReusePolicy = WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    retry_policy: RetryPolicy | None = None,
    cron_schedule: str = "",
    memo: Mapping[str, Any] | None = None,
    search_attributes: Mapping[str, Any] | None = None,
    cancellation_type: ChildWorkflowCancellationType = ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
    result_type: type | None = None,
) -> ChildWorkflowHandle[Any]: ...
async def start_child_workflow(
    workflow: Any,
    *args: Any,
    id: str | None = None,
    task_queue: str | None = None,
    namespace: str | None = None,
    execution_timeout: Duration | None = None,
    run_timeout: Duration | None = None,
    task_timeout: Duration | None = None,
    parent_close_policy: ParentClosePolicy = ParentClosePolicy.TERMINATE,
    id_reuse_policy: WorkflowIDReusePolicy = WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    retry_policy: RetryPolicy | None = None,
    cron_schedule: str = "",
    memo: Mapping[str, Any] | None = None,
    search_attributes: Mapping[str, Any] | None = None,
    cancellation_type: ChildWorkflowCancellationType = ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
    result_type: type | None = None,
) -> ChildWorkflowHandle[Any]:
    """Start a child workflow and wait until it started; returns its handle.

    ``workflow`` is a ``@workflow.defn`` class, its run method (typed result) or a
    name. ``id`` defaults to a deterministic UUID. Raises
    ``WorkflowAlreadyStartedError`` if the id is taken, ``ChildWorkflowError`` if
    it could not start for another reason.
    """
    instance = _instance()
    if result_type is None:
        if isinstance(workflow, type):
            result_type = get_workflow_definition(workflow).return_type
        elif callable(workflow):
            result_type = return_hint(workflow)
    start = _icp.StartChildWorkflowInput(
        workflow_type=_workflow_name(workflow),
        workflow_id=id or str(instance.uuid4()),
        args=args,
        headers={},
        options={
            "task_queue": task_queue,
            "namespace": namespace,
            "execution_timeout": _seconds(execution_timeout),
            "run_timeout": _seconds(run_timeout),
            "task_timeout": _seconds(task_timeout),
            "parent_close_policy": parent_close_policy,
            "id_reuse_policy": id_reuse_policy,
            "retry_policy": retry_policy,
            "cron_schedule": cron_schedule,
            "memo": memo,
            "search_attributes": search_attributes,
            "cancellation_type": cancellation_type,
            "result_type": result_type,
        },
    )
    handle: ChildWorkflowHandle[Any] = instance.outbound.start_child_workflow(start)
    try:
        await handle.started
    except asyncio.CancelledError:
        handle.cancel()
        raise
    return handle


@overload
async def execute_child_workflow(
    workflow: Callable[..., Awaitable[_R]],
    *args: Any,
    id: str | None = None,
    task_queue: str | None = None,
    namespace: str | None = None,
    execution_timeout: Duration | None = None,
    run_timeout: Duration | None = None,
    task_timeout: Duration | None = None,
    parent_close_policy: ParentClosePolicy = ParentClosePolicy.TERMINATE,
    id_reuse_policy: WorkflowIDReusePolicy = WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    retry_policy: RetryPolicy | None = None,
    cron_schedule: str = "",
    memo: Mapping[str, Any] | None = None,
    search_attributes: Mapping[str, Any] | None = None,
    cancellation_type: ChildWorkflowCancellationType = ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
    result_type: type | None = None,
) -> _R: ...
@overload
async def execute_child_workflow(
    workflow: str | type,
    *args: Any,
    id: str | None = None,
    task_queue: str | None = None,
    namespace: str | None = None,
    execution_timeout: Duration | None = None,
    run_timeout: Duration | None = None,
    task_timeout: Duration | None = None,
    parent_close_policy: ParentClosePolicy = ParentClosePolicy.TERMINATE,
    id_reuse_policy: WorkflowIDReusePolicy = WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    retry_policy: RetryPolicy | None = None,
    cron_schedule: str = "",
    memo: Mapping[str, Any] | None = None,
    search_attributes: Mapping[str, Any] | None = None,
    cancellation_type: ChildWorkflowCancellationType = ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
    result_type: type | None = None,
) -> Any: ...
async def execute_child_workflow(workflow: Any, *args: Any, **options: Any) -> Any:
    """``await (await start_child_workflow(...))``: run a child workflow and return its result.

    A failed child raises ``ChildWorkflowError`` with the child's error as ``__cause__``.
    """
    handle = await start_child_workflow(workflow, *args, **options)
    return await handle


def get_external_workflow_handle(
    workflow_id: str, run_id: str | None = None, *, namespace: str | None = None
) -> ExternalWorkflowHandle:
    """A handle to signal or cancel another workflow (not necessarily a child).

    ``run_id`` must be a UUID (or None for the current run): the server would
    reject the signal or cancel command on every workflow task otherwise.
    """
    checked = workflow_argument(lambda: checked_run_id(run_id))
    return _instance().external_handle(workflow_id, checked or None, namespace)


# ---------------------------------------------------------------- closing


def continue_as_new(
    *args: Any,
    workflow: Any = None,
    task_queue: str | None = None,
    run_timeout: Duration | None = None,
    task_timeout: Duration | None = None,
    backoff: Duration | None = None,
    retry_policy: RetryPolicy | None = None,
    memo: Mapping[str, Any] | None = None,
    search_attributes: Mapping[str, Any] | None = None,
) -> NoReturn:
    """End this run and start a fresh one (same workflow id, empty history) with ``args``.

    Raises ``ContinueAsNewError``; let it propagate out of the run method.
    """
    instance = _instance()
    pc = instance.payload_converter
    attrs = command_pb2.ContinueAsNewWorkflowExecutionCommandAttributes()
    attrs.workflow_type.name = (
        _workflow_name(workflow) if workflow is not None else instance.info.workflow_type
    )
    attrs.task_queue.name = task_queue or instance.info.task_queue
    attrs.input.CopyFrom(pc.to_payloads(args))
    duration_into(run_timeout, attrs.workflow_run_timeout, field="run_timeout")
    duration_into(task_timeout, attrs.workflow_task_timeout, field="task_timeout")
    duration_into(backoff, attrs.backoff_start_interval, field="backoff")
    if retry_policy is not None:
        attrs.retry_policy.CopyFrom(retry_policy_proto(retry_policy))
    for key, memo_value in (memo or {}).items():
        attrs.memo.fields[key].CopyFrom(pc.to_payload(memo_value))
    for key, sa_value in (search_attributes or {}).items():
        attrs.search_attributes.indexed_fields[key].CopyFrom(pc.to_payload(sa_value))
    raise ContinueAsNewError(attrs)


# ---------------------------------------------------------------- versioning and side effects


def patched(patch_id: str) -> bool:
    """True on new executions (and replays of them); False when replaying history from before the patch.

    ::

        if workflow.patched("use-new-charge"):
            await workflow.execute_activity(charge_v2, ...)
        else:
            await workflow.execute_activity(charge, ...)

    Once no run from before the patch is left, switch to ``deprecate_patch``.
    """
    return _instance().patched(patch_id, deprecated=False)


def deprecate_patch(patch_id: str) -> None:
    """Mark a patch as always applied: old histories with or without its marker both replay."""
    _instance().patched(patch_id, deprecated=True)


@overload
def side_effect(fn: Callable[[], _T]) -> _T: ...
@overload
def side_effect(fn: Callable[[], Any], *, result_type: type[_T]) -> _T: ...
def side_effect(fn: Callable[[], Any], *, result_type: Any = None) -> Any:
    """Run ``fn`` once and record its (JSON-serializable) result; replays return the recorded value."""
    return _instance().side_effect(fn, result_type if result_type is not None else return_hint(fn))


def upsert_memo(values: Mapping[str, Any]) -> None:
    """Add or replace memo fields (a ``None`` value removes the field)."""
    _instance().upsert_memo(values)


def upsert_search_attributes(values: Mapping[str, Any]) -> None:
    """Add or replace search attributes (a ``None`` value removes the attribute)."""
    _instance().upsert_search_attributes(values)


# ---------------------------------------------------------------- dynamic handlers


def set_signal_handler(name: str, handler: Callable[..., Any] | None) -> None:
    """Register (or with ``None`` remove) a signal handler at run time; buffered signals are delivered."""
    _instance().set_signal_handler(name, handler)


def set_query_handler(name: str, handler: Callable[..., Any] | None) -> None:
    """Register (or with ``None`` remove) a query handler at run time."""
    _instance().set_query_handler(name, handler)
