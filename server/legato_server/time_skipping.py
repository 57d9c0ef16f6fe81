"""Time skipping for tests: a dev server whose clock jumps to the next timer when nothing else can happen.

``legato-server start-dev --time-skipping`` gives history a ``SkippingClock``
(real time plus an offset that only grows) and puts a ``TimeSkipper`` in front
of the frontend. The skipper watches the public API to know when the system is
idle, and then moves the clock straight to the earliest pending timer task
(user timers, retry backoffs, timeouts), which the timer queues fire as usual.

When is it idle? Only the workers' own progress can still change anything, so:

* no workflow or activity task is out with a worker (handed out by a poll, not
  answered yet; each is forgotten after its timeout in real time, so a worker
  that died cannot block skipping forever);
* no call other than a long poll arrived for ``QUIET_S`` (covers a task between
  its commit and the poll that takes it, which is milliseconds on one host);
* and, for automatic skipping, someone is waiting for a workflow result (a
  ``GetWorkflowExecutionHistory`` long poll for the close event, which is what
  ``handle.result()`` and ``legato workflow result`` do) or for an update's
  result (``execute_update``, ``WorkflowUpdateHandle.result()``). Without a waiter time
  runs normally, so a test can start a workflow and signal it before its timer
  fires, exactly as in production.

``TestService.SkipTime`` moves time by a given amount whatever the waiters,
firing the timers due on the way one at a time and letting the workers react
to each before the next. This is a testing aid with the limits of a heuristic:
an activity that completes asynchronously counts as out with its worker until
its start-to-close timeout passes in real time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from google.protobuf import timestamp_pb2

from legato.api.v1 import enums_pb2, update_pb2
from legato.api.v1 import test_service_pb2 as ts
from legato.api.v1 import workflow_service_pb2 as ws
from legato_server.common.errors import InvalidArgument
from legato_server.history.clock import SkippingClock
from legato_server.internal.v1 import tokens_pb2
from legato_server.persistence.interface import Persistence

log = logging.getLogger(__name__)

QUIET_S = 0.2
"""No call for this long (and no task out) = idle."""
CHECK_EVERY_S = 0.05
SETTLE_LIMIT_S = 30.0
"""SkipTime waits at most this long (real time) for the workers to react to one timer."""
DEFAULT_TASK_HOLD_S = 10.0
"""How long a handed-out workflow task blocks skipping if never answered (the default task timeout)."""
_FAR_FUTURE_MS = 2**62
_LONG_POLLS = frozenset({"PollWorkflowTaskQueue", "PollActivityTaskQueue"})
_UPDATE_SENDS = frozenset({"UpdateWorkflowExecution", "UpdateWithStartWorkflowExecution"})


def _waits_for_an_update_result(rpc: str, request: Any) -> bool:
    """An update's caller waiting for its handler to finish waits like a result's caller."""
    if rpc == "UpdateWithStartWorkflowExecution":
        request = request.update
    elif rpc not in ("UpdateWorkflowExecution", "PollWorkflowExecutionUpdate"):
        return False
    return bool(request.wait_stage != update_pb2.UPDATE_STAGE_ACCEPTED)


_ACTIVITY_ANSWERS = frozenset(
    {
        "RespondActivityTaskCompleted",
        "RespondActivityTaskFailed",
        "RespondActivityTaskCanceled",
    }
)


class TimeSkipper:
    """Knows when the server is idle and moves its clock; also the ``TestService`` handler."""

    def __init__(self, *, clock: SkippingClock, persistence: Persistence, num_history_shards: int) -> None:
        self.clock = clock
        self._persistence = persistence
        self._num_shards = num_history_shards
        self._waiters = 0
        self._out: dict[tuple[str, ...], float] = {}  # task key -> monotonic time it stops counting
        self._last_call = time.monotonic()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._skip_forever(), name="time-skipper")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    # ------------------------------------------------------------ TestService

    async def GetCurrentTime(self, request: ts.GetCurrentTimeRequest) -> ts.GetCurrentTimeResponse:
        return ts.GetCurrentTimeResponse(time=self._now())

    async def SkipTime(self, request: ts.SkipTimeRequest) -> ts.SkipTimeResponse:
        seconds = request.duration.ToTimedelta().total_seconds()
        if seconds <= 0:
            raise InvalidArgument(f"duration must be positive, got {seconds:g}s")
        async with self._lock:
            target = self.clock.now_ms() + int(seconds * 1000)
            while True:
                await self._settle()
                upcoming = await self._next_timer_ms()
                if upcoming is None or upcoming > target:
                    break
                self._jump(upcoming)
            self._jump(target)
            await self._settle()
        return ts.SkipTimeResponse(time=self._now())

    # ------------------------------------------------------------ watching the public API

    def observe(self, frontend: object) -> object:
        """``frontend`` with every RPC watched (the object the WorkflowService servicer forwards to)."""
        return _ObservedFrontend(frontend, self)

    async def watch(self, rpc: str, request: Any, call: Callable[[], Awaitable[Any]]) -> Any:
        waiting = (
            rpc == "GetWorkflowExecutionHistory"
            and request.wait_new_event
            and request.history_event_filter_type == enums_pb2.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT
        ) or _waits_for_an_update_result(rpc, request)
        if rpc in _UPDATE_SENDS or not (waiting or rpc in _LONG_POLLS):
            self._busy()  # a call that changes something (an update writes its acceptance, then waits)
        if waiting:
            self._waiters += 1
        try:
            response = await call()
        finally:
            if waiting:
                self._waiters -= 1
            self._task_answered(rpc, request)
        self._task_handed_out(rpc, response)
        return response

    def _task_handed_out(self, rpc: str, response: Any) -> None:
        if rpc == "PollWorkflowTaskQueue" and response.task_token and not response.HasField("query"):
            self._hold(("workflow", response.task_token.hex()), DEFAULT_TASK_HOLD_S)
        elif rpc == "RespondWorkflowTaskCompleted" and response.workflow_task.task_token:
            self._hold(("workflow", response.workflow_task.task_token.hex()), DEFAULT_TASK_HOLD_S)
        elif rpc == "PollActivityTaskQueue" and response.task_token:
            limits = [
                d.ToTimedelta().total_seconds()
                for d in (response.start_to_close_timeout, response.schedule_to_close_timeout)
                if d.seconds or d.nanos
            ]
            key = ("activity", response.workflow_execution.workflow_id, response.activity_id)
            self._hold(key, min(limits, default=DEFAULT_TASK_HOLD_S))

    def _task_answered(self, rpc: str, request: Any) -> None:
        if rpc in ("RespondWorkflowTaskCompleted", "RespondWorkflowTaskFailed"):
            self._release(("workflow", request.task_token.hex()))
        elif rpc in _ACTIVITY_ANSWERS:
            token = tokens_pb2.TaskToken()
            try:
                token.ParseFromString(request.task_token)
            except Exception:
                return
            self._release(("activity", token.workflow_id, token.activity_id))
        elif rpc.endswith("ById") and rpc.removesuffix("ById") in _ACTIVITY_ANSWERS:
            self._release(("activity", request.activity.workflow_id, request.activity.activity_id))

    def _hold(self, key: tuple[str, ...], seconds: float) -> None:
        self._out[key] = time.monotonic() + seconds
        self._busy()

    def _release(self, key: tuple[str, ...]) -> None:
        self._out.pop(key, None)
        self._busy()

    def _busy(self) -> None:
        self._last_call = time.monotonic()

    # ------------------------------------------------------------ skipping

    def _idle(self) -> bool:
        now = time.monotonic()
        for key in [k for k, until in self._out.items() if until <= now]:
            del self._out[key]
        return not self._out and now - self._last_call >= QUIET_S

    async def _skip_forever(self) -> None:
        while True:
            await asyncio.sleep(CHECK_EVERY_S)
            if self._waiters <= 0 or not self._idle() or self._lock.locked():
                continue
            try:
                async with self._lock:
                    upcoming = await self._next_timer_ms()
                    if upcoming is not None and self._waiters > 0 and self._idle():
                        self._jump(upcoming)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("time skipping: reading the next timer failed")

    async def _settle(self) -> None:
        """Wait (bounded) until the workers have reacted to what the last jump fired."""
        deadline = time.monotonic() + SETTLE_LIMIT_S
        while not self._idle() and time.monotonic() < deadline:  # noqa: ASYNC110 - a quiet period is polled
            await asyncio.sleep(CHECK_EVERY_S)

    async def _next_timer_ms(self) -> int | None:
        """The earliest timer task of any shard due after now, or None."""
        after = self.clock.now_ms() + 1
        earliest: int | None = None
        for shard_id in range(self._num_shards):
            tasks = await self._persistence.executions.get_timer_tasks(
                shard_id=shard_id, min_time_ms=after, max_time_ms=_FAR_FUTURE_MS, batch_size=1
            )
            if tasks and (earliest is None or tasks[0].visibility_time_ms < earliest):
                earliest = tasks[0].visibility_time_ms
        return earliest

    def _jump(self, when_ms: int) -> None:
        if when_ms > self.clock.now_ms():
            log.info("time skipping: +%.3fs", (when_ms - self.clock.now_ms()) / 1000)
            self.clock.advance_to(when_ms)
        self._busy()

    def _now(self) -> timestamp_pb2.Timestamp:
        stamp = timestamp_pb2.Timestamp()
        stamp.FromMilliseconds(self.clock.now_ms())
        return stamp


class _ObservedFrontend:
    """Forwards every ``WorkflowService`` RPC to the frontend through ``TimeSkipper.watch``."""

    def __init__(self, frontend: object, skipper: TimeSkipper) -> None:
        self._frontend = frontend
        self._skipper = skipper

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._frontend, name)
        if name not in ws.DESCRIPTOR.services_by_name["WorkflowService"].methods_by_name:
            return target

        async def call(request: Any) -> Any:
            return await self._skipper.watch(name, request, lambda: target(request))

        return call
