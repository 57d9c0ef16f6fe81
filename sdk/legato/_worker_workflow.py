"""The workflow half of a worker: poll workflow tasks, drive the runtime, answer with commands.

Pollers long-poll two queues: the worker's normal task queue and, when the
cache is on, a sticky queue of its own (``<identity>-<uuid>-sticky``, kind
STICKY, falling back to the normal queue). Every completed task names the
sticky queue, so the server sends the run's next task there with only the new
events.

Handling a task (always under the run's lock, see ``_worker_cache``):

1. Decode the task's payloads with the codec (the runtime never sees encoded
   payloads and never awaits a codec).
2. Pick the events to feed. A cached instance whose ``last_started_event_id``
   equals the task's ``previous_started_event_id`` gets only the events after
   it. Anything else (cache miss, a stale instance because another worker ran
   a task meanwhile, a failed/timed-out task in between) evicts and replays the
   full history, fetching further pages with ``GetWorkflowExecutionHistory``.
3. ``instance.activate(events)`` -> commands -> ``RespondWorkflowTaskCompleted``
   (encoded) with the sticky attributes. A closed workflow leaves the cache.
4. An exception from the runtime -> ``RespondWorkflowTaskFailed``
   (NON_DETERMINISTIC_ERROR for ``NondeterminismError``, otherwise
   WORKFLOW_WORKER_UNHANDLED_FAILURE) and eviction; the server retries the task,
   which replays from scratch (a deploy may have fixed the bug).

A task with ``query`` set is a query: it is answered from the cached instance
(or one rebuilt from the history up to the last completed task) with
``RespondQueryTaskCompleted``; it never produces commands. An update's
validation comes the same way (``query.validate_update``): answered, it accepts
the update; failed, it rejects it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import uuid
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any, Protocol

import grpc

from legato._service import ServiceClient
from legato._worker_activity import build_activity_chain
from legato._worker_cache import WorkflowCache
from legato._worker_local_activity import LocalActivityRunner
from legato._worker_metrics import PollObserver
from legato._worker_shared import PollerScaler, poll_loop, start_in_slot
from legato._workflow_instance import StaleInstanceError, WorkflowInstance, get_workflow_definition
from legato.api.v1 import common_pb2, enums_pb2, history_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato.converter import DataConverter
from legato.exceptions import NondeterminismError, RPCError
from legato.interceptor import WorkflowInboundInterceptor

log = logging.getLogger("legato.worker")

_WORKFLOW_TASK_STARTED = enums_pb2.EVENT_TYPE_WORKFLOW_TASK_STARTED
_WORKFLOW_TASK_COMPLETED = enums_pb2.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
DEFAULT_WORKFLOW_TASK_TIMEOUT = timedelta(seconds=10)


@dataclasses.dataclass
class WorkflowWorkerStats:
    """Counters for observing the worker (tests assert on them, e.g. that the sticky cache works)."""

    workflow_tasks: int = 0
    """Workflow tasks (not queries) processed."""
    sticky_tasks: int = 0
    """Tasks received on the sticky queue."""
    backlogged_tasks: int = 0
    """Polled tasks that came with a backlog on their queue (the server had stored tasks no poll
    was waiting for: the slow path, and the signal that makes the pollers scale up)."""
    cache_hits: int = 0
    """Tasks fed only their new events to a cached instance."""
    cache_misses: int = 0
    """Tasks whose run was not in the cache (a new run, or evicted): replayed from the full history."""
    full_replays: int = 0
    """Tasks that built a new instance from the full history."""
    events_fed: int = 0
    """Events passed to ``activate`` in total."""
    last_activation_event_ids: tuple[int, int] = (0, 0)
    """First and last event id fed by the most recent activation."""
    task_failures: int = 0
    """Tasks answered with RespondWorkflowTaskFailed."""
    queries: int = 0
    local_activity_heartbeats: int = 0
    """Workflow tasks completed early to keep long local activities going."""
    eager_activities: int = 0
    """Activity tasks the server handed back with a completion (eager dispatch), run by this worker."""
    eager_starts: int = 0
    """First workflow tasks received in a start response of this worker's client (eager start)."""
    eager_workflow_tasks: int = 0
    """Workflow tasks received in the answer to an activity completion of this worker."""
    returned_workflow_tasks: int = 0
    """Workflow tasks the server returned with the completion of the previous one (events had
    arrived while it ran), processed at once instead of through the sticky queue."""


MAX_EAGER_ACTIVITIES = 3
"""Activities one workflow task completion asks to run eagerly (the server also caps it)."""


class EagerActivitySink(Protocol):
    """The activity side of the same worker (``ActivityWorker``), as the workflow side uses it."""

    async def reserve_eager(self, activity_type: str) -> bool: ...

    def release_eager(self, count: int) -> None: ...

    def run_eager(self, task: ws.PollActivityTaskQueueResponse) -> None: ...


class WorkflowWorker:
    def __init__(
        self,
        *,
        service: ServiceClient,
        namespace: str,
        task_queue: str,
        identity: str,
        workflows: Sequence[type],
        max_concurrent: int,
        pollers: int,
        max_cached: int,
        sticky_schedule_to_start_timeout: timedelta,
        data_converter: DataConverter,
        interceptor_classes: Sequence[type[WorkflowInboundInterceptor]],
        local_activities: LocalActivityRunner | None = None,
        eager_activities: EagerActivitySink | None = None,
        max_pollers: int | None = None,
    ) -> None:
        self._service = service
        self._eager = eager_activities
        self._local_activities = local_activities or LocalActivityRunner(
            definitions={},
            chain=build_activity_chain((), None),
            data_converter=data_converter,
            task_queue=task_queue,
        )
        self._namespace = namespace
        self._task_queue = task_queue
        self._identity = identity
        self._converter = data_converter
        self._interceptor_classes = list(interceptor_classes)
        self._max_concurrent = max_concurrent
        self._pollers = pollers
        self._max_pollers = pollers if max_pollers is None else max_pollers
        self.scalers: dict[str, PollerScaler] = {}
        """Per polled queue name (normal, sticky): how many pollers run, and the most that did."""
        self._sticky_timeout = sticky_schedule_to_start_timeout
        self._definitions: dict[str, Any] = {}
        for cls in workflows:
            definition = get_workflow_definition(cls)
            if definition.name in self._definitions:
                raise ValueError(f"two workflows registered under the name {definition.name!r}")
            self._definitions[definition.name] = definition
        self.cache = WorkflowCache(max_cached)
        self.sticky_queue = f"{identity}-{uuid.uuid4().hex}-sticky" if max_cached > 0 else None
        self.stats = WorkflowWorkerStats()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(max_concurrent)
        self._accepting = False
        self.observer: PollObserver | None = None
        """Set by ``Worker(metrics=...)``: told of each poll and task."""

    # ------------------------------------------------------------ polling

    async def run(self) -> None:
        slots = self._slots
        queues = [common_pb2.TaskQueue(name=self._task_queue, kind=enums_pb2.TASK_QUEUE_KIND_NORMAL)]
        if self.sticky_queue is not None:
            queues.append(
                common_pb2.TaskQueue(
                    name=self.sticky_queue,
                    kind=enums_pb2.TASK_QUEUE_KIND_STICKY,
                    normal_name=self._task_queue,
                )
            )
        try:
            async with asyncio.TaskGroup() as group:
                for queue in queues:
                    scaler = PollerScaler(base=self._pollers, limit=self._max_pollers)
                    self.scalers[queue.name] = scaler
                    numbers = itertools.count()

                    def spawn(
                        queue: common_pb2.TaskQueue = queue,
                        scaler: PollerScaler = scaler,
                        numbers: Iterator[int] = numbers,
                    ) -> None:
                        group.create_task(
                            poll_loop(
                                name=f"workflow-poller-{queue.name}-{next(numbers)}",
                                slots=slots,
                                poll=self._poller(queue),
                                has_task=lambda r: bool(r.task_token),
                                handle=self._handle,
                                in_flight=self._in_flight,
                                observer=self.observer,
                                scaler=scaler,
                                backlog_hint=lambda r: r.backlog_count_hint,
                                spawn=spawn,
                            )
                        )

                    for _ in range(self._pollers):
                        scaler.started()
                        spawn()
                self._accepting = True
        finally:
            self._accepting = False

    def _poller(self, queue: common_pb2.TaskQueue) -> Any:
        request = ws.PollWorkflowTaskQueueRequest(
            namespace=self._namespace, task_queue=queue, identity=self._identity
        )
        sticky = queue.kind == enums_pb2.TASK_QUEUE_KIND_STICKY

        async def poll() -> ws.PollWorkflowTaskQueueResponse:
            response: ws.PollWorkflowTaskQueueResponse = await self._service.call(
                "PollWorkflowTaskQueue", request, long_poll=True
            )
            if response.task_token:
                if sticky:
                    self.stats.sticky_tasks += 1
                if response.backlog_count_hint > 0:
                    self.stats.backlogged_tasks += 1
            return response

        return poll

    # ------------------------------------------------------------ eager start

    # The client asks these only while ``Worker.run`` has this worker registered with it.

    async def reserve_eager_start(self) -> bool:
        if self._slots.locked():
            return False
        await self._slots.acquire()  # free (not locked), so this does not wait
        return True

    def release_eager_start(self) -> None:
        self._slots.release()

    def run_eager_start(self, task: ws.PollWorkflowTaskQueueResponse) -> None:
        self.stats.eager_starts += 1
        start_in_slot(
            task,
            name="workflow-eager-start",
            slots=self._slots,
            handle=self._handle,
            in_flight=self._in_flight,
            observer=self.observer,
        )

    # ------------------------------------------------------------ eager task of an activity completion

    async def reserve_eager_task(self, run_id: str) -> str | None:
        """This worker's sticky queue, with a slot taken, if it can run the run's next task now.

        The activity side asks it before reporting a completion: only while
        polling, for a run in the cache (so the task's partial history is
        enough), and never waiting for a slot. None: let the server dispatch it.
        """
        if not self._accepting or self.sticky_queue is None or run_id not in self.cache:
            return None
        if self._slots.locked():
            return None
        await self._slots.acquire()  # free (not locked), so this does not wait
        return self.sticky_queue

    def release_eager_task(self) -> None:
        self._slots.release()

    def run_eager_task(self, task: ws.PollWorkflowTaskQueueResponse) -> None:
        self.stats.eager_workflow_tasks += 1
        start_in_slot(
            task,
            name="workflow-eager-task",
            slots=self._slots,
            handle=self._handle,
            in_flight=self._in_flight,
            observer=self.observer,
        )

    async def drain(self) -> None:
        """Wait for workflow tasks in progress (they are short), then give up stickiness."""
        if self._in_flight:
            await asyncio.wait(set(self._in_flight))
        await self._reset_sticky_queues()

    async def _reset_sticky_queues(self) -> None:
        """Tell the server to send the cached runs' next tasks to the normal queue right away."""
        run_ids = self.cache.run_ids()
        instances = [(run_id, self.cache.get(run_id)) for run_id in run_ids]

        async def reset(run_id: str, instance: Any) -> None:
            workflow_id = instance.info.workflow_id
            request = ws.ResetStickyTaskQueueRequest(
                namespace=self._namespace,
                execution=common_pb2.WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
            )
            try:
                await self._service.call("ResetStickyTaskQueue", request, deadline=5.0, retry=False)
            except RPCError as err:
                log.debug("ResetStickyTaskQueue(%s) failed: %s", run_id, err)

        semaphore = asyncio.Semaphore(20)

        async def bounded(run_id: str, instance: Any) -> None:
            async with semaphore:
                await reset(run_id, instance)

        await asyncio.gather(*(bounded(r, i) for r, i in instances if i is not None))
        for run_id in run_ids:
            self.cache.evict(run_id)

    # ------------------------------------------------------------ one task

    async def _handle(self, task: ws.PollWorkflowTaskQueueResponse) -> None:
        """Process a task and, in the same slot and under the same lock, the ones the server returns
        with each completion (events that arrived while the previous one ran)."""
        run_id = task.workflow_execution.run_id
        async with self.cache.lock(run_id):
            next_task: ws.PollWorkflowTaskQueueResponse | None = task
            while next_task is not None:
                task, next_task = next_task, None
                try:
                    await self._converter.decode_message(task)
                except Exception as err:
                    if task.HasField("query"):
                        await self._respond_query(task, None, f"could not decode the query task: {err}")
                    else:
                        await self._respond_failed(task, err)
                    return
                if task.HasField("query"):
                    await self._answer_query(task)
                else:
                    next_task = await self._activate(task)
                    if next_task is not None:
                        self.stats.returned_workflow_tasks += 1

    def _new_instance(self, task: ws.PollWorkflowTaskQueueResponse) -> WorkflowInstance:

        workflow_type = task.workflow_type.name
        definition = self._definitions.get(workflow_type)
        if definition is None:
            known = ", ".join(sorted(self._definitions)) or "none"
            raise LookupError(
                f"workflow type {workflow_type!r} is not registered on this worker (registered: {known})"
            )
        instance = WorkflowInstance(
            definition=definition,
            namespace=task.namespace or self._namespace,
            task_queue=self._task_queue,
            workflow_id=task.workflow_execution.workflow_id,
            run_id=task.workflow_execution.run_id,
            workflow_type=workflow_type,
            data_converter=self._converter,
            interceptor_classes=self._interceptor_classes,
        )
        return instance

    async def _full_history(self, task: ws.PollWorkflowTaskQueueResponse) -> list[history_pb2.HistoryEvent]:
        """All events of the run up to this task's WorkflowTaskStarted."""
        events = list(task.history.events)
        token = task.next_page_token
        if not events or events[0].event_id != 1:
            # A sticky task carries only the new events: fetch the whole history.
            events, token = [], b""
            token = await self._fetch_page(task, events, token, first=True)
        while token:
            token = await self._fetch_page(task, events, token, first=False)
        if task.started_event_id:
            events = [e for e in events if e.event_id <= task.started_event_id]
        return events

    async def _fetch_page(
        self,
        task: ws.PollWorkflowTaskQueueResponse,
        events: list[history_pb2.HistoryEvent],
        token: bytes,
        *,
        first: bool,
    ) -> bytes:
        request = ws.GetWorkflowExecutionHistoryRequest(
            namespace=self._namespace, execution=task.workflow_execution, next_page_token=token
        )
        response: ws.GetWorkflowExecutionHistoryResponse = await self._service.call(
            "GetWorkflowExecutionHistory", request
        )
        await self._converter.decode_message(response)
        events.extend(response.history.events)
        if task.started_event_id and events and events[-1].event_id >= task.started_event_id:
            return b""
        return response.next_page_token

    async def _activate(
        self, task: ws.PollWorkflowTaskQueueResponse
    ) -> ws.PollWorkflowTaskQueueResponse | None:
        """Run the task and complete it; the next task of the run if the server returned one."""
        run_id = task.workflow_execution.run_id
        self.stats.workflow_tasks += 1
        instance: Any = None
        try:
            instance = self.cache.get(run_id)
            if instance is None:
                self.stats.cache_misses += 1
            events: list[history_pb2.HistoryEvent] | None = None
            if instance is not None and task.previous_started_event_id == instance.last_started_event_id:
                fed_up_to = instance.last_started_event_id
                new = [e for e in task.history.events if e.event_id > fed_up_to]
                if new and new[0].event_id == fed_up_to + 1:
                    events = new
                    self.stats.cache_hits += 1
            if events is None:
                if instance is not None:
                    log.debug("run %s: cached instance is stale; replaying the full history", run_id)
                    self.cache.evict(run_id)
                instance = self._new_instance(task)
                events = await self._full_history(task)
                self.stats.full_replays += 1
            self.stats.events_fed += len(events)
            if events:
                self.stats.last_activation_event_ids = (events[0].event_id, events[-1].event_id)
            try:
                commands = instance.activate(events)
            except StaleInstanceError:
                # The cached instance cannot continue from these events after all: start over.
                self.cache.evict(run_id)
                instance = self._new_instance(task)
                events = await self._full_history(task)
                self.stats.full_replays += 1
                commands = instance.activate(events)
        except Exception as err:
            self.cache.evict(run_id)
            await self._respond_failed(task, err)
            return None
        try:
            task, commands = await self._run_local_activities(task, instance, commands)
        except Exception as err:
            self.cache.evict(run_id)
            await self._respond_failed(task, err)
            return None

        request = ws.RespondWorkflowTaskCompletedRequest(
            task_token=task.task_token,
            commands=commands,
            identity=self._identity,
            namespace=self._namespace,
            return_new_workflow_task=True,
        )
        self._set_sticky(request, instance)
        reserved = await self._request_eager_activities(request)
        try:
            await self._converter.encode_message(request)
            response: ws.RespondWorkflowTaskCompletedResponse = await self._service.call(
                "RespondWorkflowTaskCompleted", request
            )
        except Exception as err:
            if reserved:
                assert self._eager is not None
                self._eager.release_eager(reserved)
            # The server did not take the commands (task timed out, run closed, ...):
            # the instance ran ahead of the history, so it cannot be reused.
            self.cache.evict(run_id)
            level = (
                logging.INFO
                if isinstance(err, RPCError) and err.status == grpc.StatusCode.NOT_FOUND
                else logging.ERROR
            )
            log.log(level, "run %s: could not complete workflow task: %s", run_id, err)
            return None
        if reserved:
            assert self._eager is not None
            granted = response.activity_tasks[:reserved]
            for activity_task in granted:
                self._eager.run_eager(activity_task)
            self.stats.eager_activities += len(granted)
            self._eager.release_eager(reserved - len(granted))
        if instance.is_completed:
            self.cache.evict(run_id)
        else:
            self.cache.put(run_id, instance)
        return response.workflow_task if response.workflow_task.task_token else None

    def _set_sticky(self, request: ws.RespondWorkflowTaskCompletedRequest, instance: Any) -> None:
        if self.sticky_queue is not None and not instance.is_completed:
            request.sticky_attributes.worker_task_queue.CopyFrom(
                common_pb2.TaskQueue(
                    name=self.sticky_queue,
                    kind=enums_pb2.TASK_QUEUE_KIND_STICKY,
                    normal_name=self._task_queue,
                )
            )
            request.sticky_attributes.schedule_to_start_timeout.FromTimedelta(self._sticky_timeout)

    async def _run_local_activities(
        self, task: ws.PollWorkflowTaskQueueResponse, instance: Any, commands: list[Any]
    ) -> tuple[ws.PollWorkflowTaskQueueResponse, list[Any]]:
        """Run the local activities the task asked for, feeding each outcome back; the task and all commands.

        Each outcome is delivered alone and the code runs on until it blocks,
        so the marker and the commands that followed it are in history in the
        order the code saw them (replay reproduces that order from the markers).

        Local activities may outlast the workflow task: at 80% of its timeout
        the task is completed with the commands so far and a new one is asked
        for at once (``force_create_new_workflow_task``); its new events are
        fed to the instance and the activities keep running into it.
        """
        local = instance.local_activities
        running: dict[int, asyncio.Task[Any]] = {}
        loop = asyncio.get_running_loop()
        task_timeout = instance.info.task_timeout or DEFAULT_WORKFLOW_TASK_TIMEOUT
        heartbeat_at = loop.time() + 0.8 * task_timeout.total_seconds()
        try:
            while True:
                for request in local.take_requests():
                    running[request.seq] = asyncio.create_task(
                        self._local_activities.run(request), name=f"local-activity-{request.activity_type}"
                    )
                for seq in local.take_cancelled():
                    cancelled = running.pop(seq, None)
                    if cancelled is not None:
                        cancelled.cancel()
                if not running:
                    return task, commands
                done, _ = await asyncio.wait(
                    set(running.values()),
                    return_when=asyncio.FIRST_COMPLETED,
                    timeout=max(0.0, heartbeat_at - loop.time()),
                )
                if not done:
                    task, commands = await self._heartbeat(task, instance, commands)
                    heartbeat_at = loop.time() + 0.8 * task_timeout.total_seconds()
                    continue
                for seq in sorted(s for s, t in running.items() if t in done):
                    outcome = running.pop(seq).result()
                    commands.extend(instance.resolve_local_activity(seq, outcome))
        finally:
            for leftover in running.values():
                leftover.cancel()

    async def _request_eager_activities(self, request: ws.RespondWorkflowTaskCompletedRequest) -> int:
        """Ask to run this task's new activities here when slots are free; how many slots were reserved.

        Eager dispatch saves the activity its trip through matching and a
        separate "started" write: the server starts it in the same update that
        completes this workflow task and returns it in the response.
        """
        if self._eager is None:
            return 0
        reserved = 0
        for command in request.commands:
            if command.command_type != enums_pb2.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK:
                continue
            attrs = command.schedule_activity_task_command_attributes
            if attrs.task_queue.name not in ("", self._task_queue) or reserved >= MAX_EAGER_ACTIVITIES:
                continue
            if not await self._eager.reserve_eager(attrs.activity_type.name):
                continue
            attrs.request_eager_execution = True
            reserved += 1
        return reserved

    async def _heartbeat(
        self, task: ws.PollWorkflowTaskQueueResponse, instance: Any, commands: list[Any]
    ) -> tuple[ws.PollWorkflowTaskQueueResponse, list[Any]]:
        """Complete the task with ``commands`` and take the next one the server starts at once."""
        request = ws.RespondWorkflowTaskCompletedRequest(
            task_token=task.task_token,
            commands=commands,
            identity=self._identity,
            namespace=self._namespace,
            force_create_new_workflow_task=True,
            return_new_workflow_task=True,
        )
        self._set_sticky(request, instance)
        await self._converter.encode_message(request)
        response: ws.RespondWorkflowTaskCompletedResponse = await self._service.call(
            "RespondWorkflowTaskCompleted", request
        )
        new_task = response.workflow_task
        if not new_task.task_token:
            raise RuntimeError(
                "the server did not start a new workflow task for the local activity heartbeat"
            )
        await self._converter.decode_message(new_task)
        self.stats.local_activity_heartbeats += 1
        events = [e for e in new_task.history.events if e.event_id > task.started_event_id]
        return new_task, list(instance.activate(events))

    async def _respond_failed(self, task: ws.PollWorkflowTaskQueueResponse, error: BaseException) -> None:
        self.stats.task_failures += 1
        cause = (
            enums_pb2.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR
            if isinstance(error, NondeterminismError)
            else enums_pb2.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE
        )
        # Only the first attempt logs loudly: the server retries the task and would flood the log.
        level = logging.ERROR if task.attempt <= 1 else logging.DEBUG
        log.log(
            level,
            "workflow task of %s (run %s, attempt %d) failed",
            task.workflow_execution.workflow_id,
            task.workflow_execution.run_id,
            task.attempt,
            exc_info=error,
        )
        request = ws.RespondWorkflowTaskFailedRequest(
            task_token=task.task_token,
            cause=cause,
            failure=self._converter.failure_converter.to_failure(error, self._converter.payload_converter),
            identity=self._identity,
            namespace=self._namespace,
        )
        try:
            await self._converter.encode_message(request)
            await self._service.call("RespondWorkflowTaskFailed", request)
        except RPCError as err:
            log.info("could not report the workflow task failure: %s", err)

    # ------------------------------------------------------------ queries

    async def _answer_query(self, task: ws.PollWorkflowTaskQueueResponse) -> None:
        self.stats.queries += 1
        run_id = task.workflow_execution.run_id
        query = task.query
        try:
            instance = self.cache.get(run_id)
            if instance is None or self._history_is_ahead(task, instance):
                self.cache.evict(run_id)
                instance = self._new_instance(task)
                events = await self._full_history_for_query(task)
                instance.activate(events)
                self.cache.put(run_id, instance)
            if query.HasField("validate_update"):
                # Raising rejects the update: the answer carries the error as its failure.
                instance.validate_update(query.validate_update)
                result = common_pb2.Payloads()
            else:
                result = instance.query(query.query_type, query.query_args, query.header)
        except Exception as err:
            await self._respond_query(task, None, f"{type(err).__name__}: {err}", err)
            return
        if not isinstance(result, common_pb2.Payloads):
            result = common_pb2.Payloads(payloads=list(result or []))
        await self._respond_query(task, result, None)

    @staticmethod
    def _history_is_ahead(task: ws.PollWorkflowTaskQueueResponse, instance: Any) -> bool:
        """Does a full history in the query task show completed tasks the instance has not seen?"""
        events = task.history.events
        if not events or events[0].event_id != 1:
            return False
        completed = [e for e in events if e.event_type == _WORKFLOW_TASK_COMPLETED]
        return bool(completed) and completed[-1].event_id - 1 > instance.last_started_event_id

    async def _full_history_for_query(
        self, task: ws.PollWorkflowTaskQueueResponse
    ) -> list[history_pb2.HistoryEvent]:
        """The history up to the WorkflowTaskStarted of the last *completed* task: the state a query sees."""
        events = list(task.history.events)
        token = task.next_page_token
        if not events or events[0].event_id != 1:
            events, token = [], b""
            token = await self._fetch_page(task, events, token, first=True)
        while token:
            token = await self._fetch_page(task, events, token, first=False)
        last_completed = max(
            (i for i, e in enumerate(events) if e.event_type == _WORKFLOW_TASK_COMPLETED), default=None
        )
        if last_completed is None:
            raise RuntimeError(
                "the workflow has not completed its first workflow task yet; query again later"
            )
        return events[:last_completed]

    async def _respond_query(
        self,
        task: ws.PollWorkflowTaskQueueResponse,
        result: common_pb2.Payloads | None,
        error_message: str | None,
        error: BaseException | None = None,
    ) -> None:
        request = ws.RespondQueryTaskCompletedRequest(task_token=task.task_token, namespace=self._namespace)
        if error_message is None:
            request.completed_type = enums_pb2.QUERY_RESULT_TYPE_ANSWERED
            if result is not None:
                request.query_result.CopyFrom(result)
        else:
            request.completed_type = enums_pb2.QUERY_RESULT_TYPE_FAILED
            request.error_message = error_message
            if error is not None:
                request.failure.CopyFrom(
                    self._converter.failure_converter.to_failure(error, self._converter.payload_converter)
                )
        try:
            await self._converter.encode_message(request)
            await self._service.call("RespondQueryTaskCompleted", request)
        except RPCError as err:
            log.info("could not answer query: %s", err)
