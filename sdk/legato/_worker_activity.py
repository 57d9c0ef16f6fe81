"""The activity half of a worker: poll activity tasks, run them, report the outcome.

One attempt's life: the poll returns a task; its payloads are decoded (codec),
the arguments converted with the function's type hints; the function runs
through the activity interceptor chain (``async def`` on the loop, ``def`` in
the executor, both with the activity context set); the outcome is reported
exactly once:

* a return value -> ``RespondActivityTaskCompleted``;
* cancellation the server asked for (a heartbeat answered ``cancel_requested``)
  -> ``RespondActivityTaskCanceled``;
* ``activity.raise_complete_async()`` -> no answer: another process answers
  the attempt later (``legato._async_activity``);
* anything else -> ``RespondActivityTaskFailed`` with the exception as a
  ``Failure`` (type, message, stack, cause chain) and the latest heartbeat
  details, so the next attempt resumes from them.

The attempt is also cancelled locally when the server's deadline for it passes
(the server will time it out anyway; this frees the slot and stops useless
work) and when the worker shuts down after its grace period; those two report
failures (a timeout, a retryable "worker shutting down") so the server retries.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import grpc

from legato import activity as activity_module
from legato._service import ServiceClient
from legato._worker_metrics import PollObserver
from legato._worker_shared import poll_loop, start_in_slot, to_datetime, to_timedelta
from legato.activity import ActivityDefinition, Info
from legato.api.v1 import common_pb2, enums_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato.converter import DataConverter
from legato.exceptions import ApplicationError, CancelledError, RPCError, TimeoutError, TimeoutType
from legato.interceptor import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

log = logging.getLogger("legato.worker")

DEFAULT_HEARTBEAT_THROTTLE = 30.0
"""Seconds between heartbeat RPCs when the activity has no heartbeat timeout."""

CANCEL_BY_SERVER = "cancel requested by the workflow"
CANCEL_BY_DEADLINE = "the attempt's deadline passed"
CANCEL_BY_SHUTDOWN = "the worker is shutting down"


class Heartbeater:
    """Coalesces an activity's heartbeats into at most one RPC per interval, latest details first.

    ``record`` is called (on the loop) for every ``activity.heartbeat``; the
    first is sent at once, later ones wait for the interval to pass since the
    previous send and then send only the most recent details. A response with
    ``cancel_requested`` (or NOT_FOUND: the attempt no longer exists, e.g. it
    timed out) calls ``on_cancel``.
    """

    def __init__(
        self,
        *,
        send: Callable[[Sequence[Any]], Awaitable[bool]],
        interval: float,
        on_cancel: Callable[[str], None],
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._send = send
        self.interval = interval
        self._on_cancel = on_cancel
        self._clock = clock
        self._sleep = sleep
        self._latest: Sequence[Any] | None = None
        self._pending = False
        self._last_sent: float | None = None
        self._task: asyncio.Task[None] | None = None

    @staticmethod
    def interval_for(heartbeat_timeout: timedelta | None) -> float:
        if heartbeat_timeout is None:
            return DEFAULT_HEARTBEAT_THROTTLE
        return heartbeat_timeout.total_seconds() * 0.8

    @property
    def latest_details(self) -> Sequence[Any] | None:
        """The most recent details recorded (sent or not); None if the activity never heartbeated."""
        return self._latest

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    def record(self, details: Sequence[Any]) -> None:
        self._latest = tuple(details)
        self._pending = True
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._flush(), name="legato-heartbeat")

    async def _flush(self) -> None:
        while self._pending:
            if self._last_sent is not None:
                wait = self._last_sent + self.interval - self._now()
                if wait > 0:
                    await self._sleep(wait)
            details = self._latest or ()
            self._pending = False
            self._last_sent = self._now()
            try:
                cancel_requested = await self._send(details)
            except RPCError as err:
                if err.status == grpc.StatusCode.NOT_FOUND:
                    self._on_cancel("the server no longer knows this attempt (it timed out or completed)")
                    return
                log.warning("activity heartbeat failed: %s", err)
                continue
            except Exception:
                log.exception("activity heartbeat failed")
                continue
            if cancel_requested:
                self._on_cancel(CANCEL_BY_SERVER)

    async def stop(self) -> None:
        """Drop unsent heartbeats and wait for an RPC in flight (its cancel answer no longer matters)."""
        self._pending = False
        if self._task is not None and not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass


class _RunningActivity:
    def __init__(self, context: activity_module._ActivityContext, heartbeater: Heartbeater) -> None:
        self.context = context
        self.heartbeater = heartbeater
        self.task: asyncio.Task[Any] | None = None  # the asyncio task running the user code

    def cancel(self, reason: str) -> None:
        if self.context.cancelled:
            return
        self.context.mark_cancelled(reason)
        if self.context.is_async and self.task is not None and not self.task.done():
            self.task.cancel(reason)


class _RunActivity(ActivityInboundInterceptor):
    """The innermost link of the activity chain: actually call the function."""

    def __init__(self, executor: concurrent.futures.Executor | None) -> None:
        self._executor = executor

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        definition = getattr(input.fn, "__legato_activity_definition__", None)
        is_async = (
            definition.is_async
            if isinstance(definition, ActivityDefinition)
            else asyncio.iscoroutinefunction(input.fn)
        )
        if is_async:
            return await input.fn(*input.args)
        if self._executor is None:
            raise RuntimeError("sync activity without an executor")  # guarded by Worker.__init__
        ctx = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, functools.partial(ctx.run, input.fn, *input.args)
        )


def build_activity_chain(
    interceptors: Sequence[Interceptor], executor: concurrent.futures.Executor | None
) -> ActivityInboundInterceptor:
    """The first interceptor in the list is the outermost."""
    chain: ActivityInboundInterceptor = _RunActivity(executor)
    for interceptor in reversed(interceptors):
        chain = interceptor.intercept_activity(chain)
    return chain


class EagerWorkflowTaskSink(Protocol):
    """The workflow side of the same worker (``WorkflowWorker``), as the activity side uses it."""

    async def reserve_eager_task(self, run_id: str) -> str | None: ...

    def release_eager_task(self) -> None: ...

    def run_eager_task(self, task: ws.PollWorkflowTaskQueueResponse) -> None: ...


class ActivityWorker:
    def __init__(
        self,
        *,
        service: ServiceClient,
        namespace: str,
        task_queue: str,
        identity: str,
        activities: Sequence[Callable[..., Any]],
        executor: concurrent.futures.Executor | None,
        max_concurrent: int,
        pollers: int,
        data_converter: DataConverter,
        interceptors: Sequence[Interceptor],
    ) -> None:
        self._service = service
        self._namespace = namespace
        self._task_queue = task_queue
        self._identity = identity
        self._converter = data_converter
        self._pollers = pollers
        self._max_concurrent = max_concurrent
        self._definitions: dict[str, ActivityDefinition] = {}
        for fn in activities:
            definition = ActivityDefinition.of(fn)
            if definition.name in self._definitions:
                raise ValueError(f"two activities registered under the name {definition.name!r}")
            self._definitions[definition.name] = definition
        self._chain = build_activity_chain(interceptors, executor)
        self._running: dict[bytes, _RunningActivity] = {}
        self._in_flight: set[asyncio.Task[None]] = set()
        self._slots: asyncio.Semaphore | None = None
        self._accepting = False
        self.observer: PollObserver | None = None
        """Set by ``Worker(metrics=...)``: told of each poll and task."""
        self.eager_workflow_tasks: EagerWorkflowTaskSink | None = None
        """Set by ``Worker`` when it runs workflows too: the workflow side, which may take the
        workflow task a completion wakes in the completion's answer."""

    # ------------------------------------------------------------ eager dispatch

    async def reserve_eager(self, activity_type: str) -> bool:
        """Take a slot for an activity the workflow side will ask to run eagerly; False if none is free.

        Only while polling (not before ``run`` or after shutdown began), only
        for a registered type, and never waiting: an activity this worker
        cannot start at once is better dispatched to another worker.
        """
        slots = self._slots
        if not self._accepting or slots is None or slots.locked() or activity_type not in self._definitions:
            return False
        await slots.acquire()  # free (not locked), so this does not wait
        return True

    def release_eager(self, count: int) -> None:
        """Give back slots reserved for activities the server did not start eagerly."""
        assert self._slots is not None
        for _ in range(count):
            self._slots.release()

    def run_eager(self, task: ws.PollActivityTaskQueueResponse) -> None:
        """Run an activity task the server started for this worker, in a slot reserved for it."""
        assert self._slots is not None
        start_in_slot(
            task,
            name="activity-eager",
            slots=self._slots,
            handle=self._handle,
            in_flight=self._in_flight,
            observer=self.observer,
        )

    async def run(self) -> None:
        """Poll until cancelled; in-flight activities keep running (see ``drain``)."""
        self._slots = asyncio.Semaphore(self._max_concurrent)
        self._accepting = True
        try:
            await self._poll_all()
        finally:
            self._accepting = False

    async def _poll_all(self) -> None:
        assert self._slots is not None
        request = ws.PollActivityTaskQueueRequest(
            namespace=self._namespace,
            task_queue=common_pb2.TaskQueue(name=self._task_queue, kind=enums_pb2.TASK_QUEUE_KIND_NORMAL),
            identity=self._identity,
        )

        async def poll() -> ws.PollActivityTaskQueueResponse:
            response: ws.PollActivityTaskQueueResponse = await self._service.call(
                "PollActivityTaskQueue", request, long_poll=True
            )
            return response

        async with asyncio.TaskGroup() as group:
            for i in range(self._pollers):
                group.create_task(
                    poll_loop(
                        name=f"activity-poller-{i}",
                        slots=self._slots,
                        poll=poll,
                        has_task=lambda r: bool(r.task_token),
                        handle=self._handle,
                        in_flight=self._in_flight,
                        observer=self.observer,
                    )
                )

    async def drain(self, grace: float) -> None:
        """Let running activities finish for ``grace`` seconds, then cancel them and wait for their reports."""
        if not self._in_flight:
            return
        _, pending = await asyncio.wait(set(self._in_flight), timeout=grace)
        if not pending:
            return
        for running in list(self._running.values()):
            running.cancel(CANCEL_BY_SHUTDOWN)
        await asyncio.wait(pending)

    # ------------------------------------------------------------ one attempt

    async def _handle(self, task: ws.PollActivityTaskQueueResponse) -> None:
        try:
            await self._converter.decode_message(task)
        except Exception as err:
            await self._respond_failed(task.task_token, err, None)
            return
        info = self._info(task)
        definition = self._definitions.get(info.activity_type)
        if definition is None:
            known = ", ".join(sorted(self._definitions)) or "none"
            await self._respond_failed(
                task.task_token,
                ApplicationError(
                    f"activity type {info.activity_type!r} is not registered on this worker (registered: {known})",
                    type="NotFoundError",
                ),
                None,
            )
            return

        loop = asyncio.get_running_loop()
        running: _RunningActivity | None = None

        async def send_heartbeat(details: Sequence[Any]) -> bool:
            request = ws.RecordActivityTaskHeartbeatRequest(
                task_token=task.task_token,
                details=self._converter.payload_converter.to_payloads(details),
                identity=self._identity,
                namespace=self._namespace,
            )
            await self._converter.encode_message(request)
            response: ws.RecordActivityTaskHeartbeatResponse = await self._service.call(
                "RecordActivityTaskHeartbeat", request
            )
            return response.cancel_requested

        def on_cancel(reason: str) -> None:
            if running is not None:
                running.cancel(reason)

        heartbeater = Heartbeater(
            send=send_heartbeat,
            interval=Heartbeater.interval_for(info.heartbeat_timeout),
            on_cancel=on_cancel,
        )
        context = activity_module._ActivityContext(
            info=info,
            is_async=definition.is_async,
            loop=loop,
            payload_converter=self._converter.payload_converter,
            record_heartbeat=heartbeater.record,
        )
        running = _RunningActivity(context, heartbeater)
        self._running[task.task_token] = running
        deadline_timer: asyncio.TimerHandle | None = None
        try:
            try:
                args = self._converter.payload_converter.from_payloads(task.input, definition.arg_types)
            except Exception as err:
                await self._respond_failed(task.task_token, err, None)
                return
            if info.deadline is not None:
                remaining = (info.deadline - datetime.now(UTC)).total_seconds()
                deadline_timer = loop.call_later(max(remaining, 0.0), running.cancel, CANCEL_BY_DEADLINE)
            outcome = await self._execute(running, definition, args, dict(task.header.fields))
            await heartbeater.stop()
            await self._report(task.task_token, running, outcome)
        finally:
            if deadline_timer is not None:
                deadline_timer.cancel()
            await heartbeater.stop()
            self._running.pop(task.task_token, None)

    async def _execute(
        self,
        running: _RunningActivity,
        definition: ActivityDefinition,
        args: list[Any],
        headers: dict[str, common_pb2.Payload],
    ) -> tuple[str, Any]:
        """Run the function; ('ok', value) or ('error', exception)."""
        token = activity_module._current.set(running.context)
        try:
            # The task copies the context, so the user code (and its executor
            # thread, via copy_context) sees this attempt's context.
            running.task = asyncio.create_task(
                self._chain.execute_activity(
                    ExecuteActivityInput(fn=definition.fn, args=args, headers=headers)
                ),
                name=f"activity-{definition.name}",
            )
        finally:
            activity_module._current.reset(token)
        try:
            return "ok", await asyncio.shield(running.task)
        except asyncio.CancelledError as err:
            if running.task.done():  # the user code ended with CancelledError
                return "error", err
            # This handler itself is being cancelled (should not happen: drain cancels the user task).
            running.task.cancel()
            raise
        except BaseException as err:  # noqa: B036 - every outcome of user code is reported
            return "error", err

    async def _report(self, token: bytes, running: _RunningActivity, outcome: tuple[str, Any]) -> None:
        kind, value = outcome
        if kind == "error" and isinstance(value, activity_module.CompleteAsyncError):
            # Completed later by someone holding the token (or the ids): no answer now.
            log.debug("activity %s will be completed asynchronously", running.context.info.activity_id)
            return
        reason = running.context.cancel_reason
        try:
            if kind == "ok":
                result = self._converter.payload_converter.to_payloads([value])
                request = ws.RespondActivityTaskCompletedRequest(
                    task_token=token, result=result, identity=self._identity, namespace=self._namespace
                )
                await self._converter.encode_message(request)
                await self._respond_completed(request, running.context.info.workflow_run_id)
                return
            is_cancel = isinstance(value, asyncio.CancelledError | CancelledError)
            if is_cancel and reason == CANCEL_BY_SERVER:
                details = running.heartbeater.latest_details
                canceled = ws.RespondActivityTaskCanceledRequest(
                    task_token=token,
                    details=self._converter.payload_converter.to_payloads(details or ()),
                    identity=self._identity,
                    namespace=self._namespace,
                )
                await self._converter.encode_message(canceled)
                await self._service.call("RespondActivityTaskCanceled", canceled)
                return
            error: BaseException = value
            if is_cancel and reason == CANCEL_BY_DEADLINE:
                error = TimeoutError(
                    "activity attempt exceeded its deadline", type=TimeoutType.START_TO_CLOSE
                )
            elif is_cancel and reason == CANCEL_BY_SHUTDOWN:
                error = ApplicationError(
                    "activity interrupted: the worker is shutting down", type="WorkerShutdown"
                )
            elif isinstance(value, asyncio.CancelledError):
                error = ApplicationError("activity raised asyncio.CancelledError", type="CancelledError")
            await self._respond_failed(token, error, running.heartbeater.latest_details)
        except RPCError as err:
            if err.status == grpc.StatusCode.NOT_FOUND:
                # The attempt timed out or the workflow closed meanwhile: nothing to report to.
                log.info("activity result not delivered, the server no longer knows the attempt: %s", err)
            else:
                log.error("could not report activity outcome: %s", err)

    async def _respond_completed(self, request: ws.RespondActivityTaskCompletedRequest, run_id: str) -> None:
        """Report a result; take the workflow task it wakes when this worker's workflow side can run it."""
        sink = self.eager_workflow_tasks
        sticky_queue = await sink.reserve_eager_task(run_id) if sink is not None else None
        if sink is None or sticky_queue is None:
            await self._service.call("RespondActivityTaskCompleted", request)
            return
        request.eager_workflow_task_sticky_queue = sticky_queue
        try:
            response: ws.RespondActivityTaskCompletedResponse = await self._service.call(
                "RespondActivityTaskCompleted", request
            )
        except BaseException:
            sink.release_eager_task()
            raise
        if response.workflow_task.task_token:
            sink.run_eager_task(response.workflow_task)
        else:
            sink.release_eager_task()

    async def _respond_failed(
        self, token: bytes, error: BaseException, details: Sequence[Any] | None
    ) -> None:
        failure = self._converter.failure_converter.to_failure(error, self._converter.payload_converter)
        request = ws.RespondActivityTaskFailedRequest(
            task_token=token, failure=failure, identity=self._identity, namespace=self._namespace
        )
        if details is not None:
            request.last_heartbeat_details.CopyFrom(self._converter.payload_converter.to_payloads(details))
        await self._converter.encode_message(request)
        try:
            await self._service.call("RespondActivityTaskFailed", request)
        except RPCError as err:
            if err.status != grpc.StatusCode.NOT_FOUND:
                raise
            log.info("activity failure not delivered, the server no longer knows the attempt: %s", err)

    def _info(self, task: ws.PollActivityTaskQueueResponse) -> Info:
        started = to_datetime(task.started_time, task.HasField("started_time"))
        scheduled = to_datetime(task.scheduled_time, task.HasField("scheduled_time"))
        start_to_close = to_timedelta(task.start_to_close_timeout, task.HasField("start_to_close_timeout"))
        schedule_to_close = to_timedelta(
            task.schedule_to_close_timeout, task.HasField("schedule_to_close_timeout")
        )
        deadlines: list[datetime] = []
        # The server's clock dates the deadlines; the local clock enforces them.
        # Measure from "now" when the server sent no start time.
        base = started or datetime.now(UTC)
        if start_to_close is not None:
            deadlines.append(base + start_to_close)
        if schedule_to_close is not None and scheduled is not None:
            deadlines.append(scheduled + schedule_to_close)
        return Info(
            activity_id=task.activity_id,
            activity_type=task.activity_type.name,
            attempt=task.attempt or 1,
            task_queue=self._task_queue,
            task_token=task.task_token,
            workflow_namespace=task.workflow_namespace or self._namespace,
            workflow_id=task.workflow_execution.workflow_id,
            workflow_run_id=task.workflow_execution.run_id,
            workflow_type=task.workflow_type.name,
            heartbeat_details=list(task.heartbeat_details.payloads),
            heartbeat_timeout=to_timedelta(task.heartbeat_timeout, task.HasField("heartbeat_timeout")),
            schedule_to_close_timeout=schedule_to_close,
            start_to_close_timeout=start_to_close,
            scheduled_time=scheduled,
            current_attempt_scheduled_time=to_datetime(
                task.current_attempt_scheduled_time, task.HasField("current_attempt_scheduled_time")
            ),
            started_time=started,
            deadline=min(deadlines) if deadlines else None,
        )
