"""The matching role's handler: one method per ``MatchingService`` RPC.

History adds workflow and activity tasks; workers (through the frontend) poll
for them. A task handed to a poller is not yet the poller's: matching first
calls history's ``RecordWorkflowTaskStarted`` / ``RecordActivityTaskStarted``,
which records the start and builds the full poll response. If history answers
NOT_FOUND or FAILED_PRECONDITION the task is stale (the workflow closed, the
task already started or timed out): matching drops it and serves the poller
the next one. Any other error goes back to the poller and the task to the queue.

Sticky queues (``TASK_QUEUE_KIND_STICKY``) behave like normal ones, except:

* ``AddWorkflowTask`` on a sticky queue nobody has polled within
  ``sticky_poller_recency`` (10s) fails with FAILED_PRECONDITION "sticky worker
  unavailable", so history can schedule the task on the normal queue at once
  instead of waiting out the sticky schedule-to-start timeout
  (``reject_unpolled_sticky=False`` turns this off). A sticky task that is
  accepted but not picked up in time expires here (``expiry_time_ms``) while
  history's schedule-to-start timer moves it to the normal queue.
* ``QueryWorkflow`` on such a sticky queue fails at once with UNAVAILABLE
  (history then asks the normal queue), and on a polled sticky queue waits at
  most half the caller's time, leaving the other half for that fallback.

Partitions: a normal queue's tasks and pollers are spread over its
partitions by the routing client; each partition is a queue of its own here
(its name says which: ``common.task_queue_partitions``), and a child
partition forwards to the root what it cannot serve (``forwarding``). Queries
and their answers go to the root, where every partition's pollers wait.

Queries are never persisted: ``QueryWorkflow`` puts the history-built task in
front of the queue's pollers and waits (up to the caller's deadline, else
``default_query_timeout``) for ``RespondQueryTaskCompleted``. A worker that
reports the query FAILED yields INVALID_ARGUMENT "query failed: <message>" —
Temporal's QueryFailed semantics: the query itself (its name or arguments, or
the handler) is at fault, retrying it unchanged fails the same way.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from legato.api.v1 import common_pb2, enums_pb2, workflow_service_pb2
from legato_server.common import deadline, errors, task_queue_partitions
from legato_server.common.limits import quote, shorten
from legato_server.internal.v1 import history_service_pb2, matching_service_pb2, tokens_pb2
from legato_server.matching import forwarding, metrics
from legato_server.matching.backlog import TaskQueueKey, wall_clock_ms
from legato_server.matching.config import MatchingConfig
from legato_server.matching.task_queue import TaskQueue
from legato_server.matching.tasks import MatchTask, QueryTask
from legato_server.persistence.interface import PersistenceError, TaskQueueStore

log = logging.getLogger(__name__)

_WORKFLOW = enums_pb2.TASK_QUEUE_TYPE_WORKFLOW
_ACTIVITY = enums_pb2.TASK_QUEUE_TYPE_ACTIVITY
_STALE = (errors.NotFound, errors.FailedPrecondition)


class HistoryForMatching(Protocol):
    """What matching needs of the history role (its handler or its client)."""

    async def RecordWorkflowTaskStarted(
        self, request: history_service_pb2.RecordWorkflowTaskStartedRequest
    ) -> workflow_service_pb2.PollWorkflowTaskQueueResponse: ...

    async def RecordActivityTaskStarted(
        self, request: history_service_pb2.RecordActivityTaskStartedRequest
    ) -> workflow_service_pb2.PollActivityTaskQueueResponse: ...


class MatchingHandler:
    """All task queues of this host. Call ``bind_history`` before tasks flow, ``stop`` at the end."""

    def __init__(
        self,
        *,
        task_queues: TaskQueueStore,
        config: MatchingConfig | None = None,
        history: HistoryForMatching | None = None,
        now_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self._store = task_queues
        self._config = config or MatchingConfig()
        self._history = history
        self._now_ms = now_ms
        self._queues: dict[TaskQueueKey, TaskQueue] = {}
        self._loading: dict[TaskQueueKey, asyncio.Task[TaskQueue]] = {}
        self._queries: dict[str, QueryTask] = {}
        self._root: forwarding.RootMatching | None = None
        self._stopped = False
        self.owns: Callable[[TaskQueueKey], bool] = lambda key: True
        """Whether the membership ring gives this host ``key`` (set by the server assembly)."""

    def bind_history(self, history: HistoryForMatching) -> None:
        """Set the history client; history and matching each need the other, so this comes after both exist."""
        self._history = history

    def bind_root(self, root: forwarding.RootMatching) -> None:
        """Set the routing client through which child partitions reach their root (on any host).

        Without it (a matching handler on its own, in unit tests) no partition forwards.
        """
        self._root = root

    def release_pollers(self) -> None:
        """Start shutting down: waiting polls return empty now, new ones fail with UNAVAILABLE."""
        self._stopped = True
        for queue in self._queues.values():
            queue.matcher.release_pollers()

    async def stop(self) -> None:
        self.release_pollers()
        for query in self._queries.values():
            if not query.answer.done():
                query.answer.cancel()
        queues = list(self._queues.values())
        self._queues.clear()
        await asyncio.gather(*(queue.stop() for queue in queues), return_exceptions=True)

    # ------------------------------------------------------------ adding tasks

    async def AddWorkflowTask(
        self, request: matching_service_pb2.AddWorkflowTaskRequest
    ) -> matching_service_pb2.AddWorkflowTaskResponse:
        _require(request.namespace_id, "namespace_id")
        _require(request.task_queue.name, "task_queue.name")
        key = TaskQueueKey(request.namespace_id, request.task_queue.name, _WORKFLOW)
        if (
            request.task_queue.kind == enums_pb2.TASK_QUEUE_KIND_STICKY
            and self._config.reject_unpolled_sticky
        ):
            queue = self._polled_sticky_queue(key, request.task_queue, errors.FailedPrecondition)
        else:
            queue = await self._queue(key)
        return matching_service_pb2.AddWorkflowTaskResponse(matched=await self._add(queue, request))

    async def AddActivityTask(
        self, request: matching_service_pb2.AddActivityTaskRequest
    ) -> matching_service_pb2.AddActivityTaskResponse:
        _require(request.namespace_id, "namespace_id")
        _require(request.task_queue.name, "task_queue.name")
        queue = await self._queue(TaskQueueKey(request.namespace_id, request.task_queue.name, _ACTIVITY))
        return matching_service_pb2.AddActivityTaskResponse(matched=await self._add(queue, request))

    async def _add(self, queue: TaskQueue, request: forwarding.AddRequest) -> bool:
        """Add the task to ``queue``: True if a poller took it at once."""
        task = self._task(request)
        if request.forwarded_from:
            # The root: sync match or nothing (the child keeps it, and is pulled from when a poll comes).
            matched = await queue.offer(task)
            if not matched:
                queue.note_child_backlog(request.forwarded_from)
            return matched
        partition = task_queue_partitions.parse(queue.key.name)
        if (
            not partition.is_root
            and self._root is not None
            and not queue.matcher.waiting_pollers
            and await forwarding.offer_add_to_root(self._root, request, partition)
        ):
            matched = True
        else:
            matched = await queue.add(task)
        # Counted here, where history's task arrives, once: not again when a partition
        # forwards it to the root (the forwarded add above returns early).
        metrics.task_added(queue.key.task_type, sync_match=matched)
        return matched

    def _task(
        self,
        request: matching_service_pb2.AddWorkflowTaskRequest | matching_service_pb2.AddActivityTaskRequest,
    ) -> MatchTask:
        now = self._now_ms()
        expiry = 0
        if request.HasField("schedule_to_start_timeout"):
            timeout_ms = request.schedule_to_start_timeout.ToMilliseconds()
            if timeout_ms > 0:
                expiry = now + timeout_ms
        return MatchTask(
            namespace_id=request.namespace_id,
            execution=request.execution,
            scheduled_event_id=request.scheduled_event_id,
            create_time_ms=now,
            expiry_time_ms=expiry,
        )

    # ------------------------------------------------------------ polling

    async def PollWorkflowTaskQueue(
        self, request: matching_service_pb2.PollWorkflowTaskQueueRequest
    ) -> workflow_service_pb2.PollWorkflowTaskQueueResponse:
        _require(request.namespace_id, "namespace_id")
        _require(request.poll_request.task_queue.name, "task_queue.name")
        key = TaskQueueKey(request.namespace_id, request.poll_request.task_queue.name, _WORKFLOW)
        queue = await self._queue(key)
        poll, forward = self._poll_route(request)
        answer = await self._pull_from_children(queue, request)
        if answer is not None:
            return answer  # a child partition's task, already recorded started
        loop = asyncio.get_running_loop()
        until = loop.time() + self._poll_timeout_s(request)
        while True:
            task, answer = await forwarding.next_task(queue, until=until, forward=forward)
            if answer is not None:
                return answer  # the root's poll response, already recorded started
            if task is None:
                self._after_empty_pull(queue, request)
                return workflow_service_pb2.PollWorkflowTaskQueueResponse()
            if isinstance(task, QueryTask):
                return task.response
            record = history_service_pb2.RecordWorkflowTaskStartedRequest(
                namespace_id=task.namespace_id,
                workflow_execution=task.execution,
                scheduled_event_id=task.scheduled_event_id,
                request_id=str(uuid.uuid4()),
                poll_request=poll,
            )
            response = await self._record_started(
                queue, task, self._bound_history().RecordWorkflowTaskStarted, record
            )
            if response is not None:
                response.backlog_count_hint = queue.backlog_count
                return response

    async def PollActivityTaskQueue(
        self, request: matching_service_pb2.PollActivityTaskQueueRequest
    ) -> workflow_service_pb2.PollActivityTaskQueueResponse:
        _require(request.namespace_id, "namespace_id")
        _require(request.poll_request.task_queue.name, "task_queue.name")
        key = TaskQueueKey(request.namespace_id, request.poll_request.task_queue.name, _ACTIVITY)
        queue = await self._queue(key)
        poll, forward = self._poll_route(request)
        answer = await self._pull_from_children(queue, request)
        if answer is not None:
            return answer  # a child partition's task, already recorded started
        loop = asyncio.get_running_loop()
        until = loop.time() + self._poll_timeout_s(request)
        while True:
            task, answer = await forwarding.next_task(queue, until=until, forward=forward)
            if answer is not None:
                return answer  # the root's poll response, already recorded started
            if task is None:
                self._after_empty_pull(queue, request)
                return workflow_service_pb2.PollActivityTaskQueueResponse()
            if isinstance(task, QueryTask):  # never queued on activity queues
                continue
            record = history_service_pb2.RecordActivityTaskStartedRequest(
                namespace_id=task.namespace_id,
                workflow_execution=task.execution,
                scheduled_event_id=task.scheduled_event_id,
                request_id=str(uuid.uuid4()),
                poll_request=poll,
            )
            response = await self._record_started(
                queue, task, self._bound_history().RecordActivityTaskStarted, record
            )
            if response is not None:
                return response

    def _poll_route(self, request: Any) -> tuple[Any, Any]:
        """The poll request history sees (the queue's own name), and the forwarder to the root if any.

        Only a child partition's own polls forward: the root never does, and a
        forwarded poll is served where it lands, so forwarding cannot loop.
        """
        poll = request.poll_request
        partition = task_queue_partitions.parse(poll.task_queue.name)
        if partition.is_root:
            return poll, None
        named = type(poll)()
        named.CopyFrom(poll)
        named.task_queue.name = partition.root
        if request.forwarded_from or self._root is None:
            return named, None
        return named, forwarding.poll_forwarder(self._root, request, partition)

    async def _record_started(self, queue: TaskQueue, task: MatchTask, call: Any, request: Any) -> Any | None:
        """History's poll response for ``task``, or None if the task is stale (then it is acked)."""
        # Shielded: if the poller goes away mid-call, history still finishes, and
        # the outcome decides whether the task is served again.
        recording = asyncio.ensure_future(call(request))
        try:
            response = await asyncio.shield(recording)
        except asyncio.CancelledError:
            recording.add_done_callback(lambda done: self._after_abandoned(queue, task, done))
            raise
        except _STALE as err:
            log.debug("task queue %s: dropping stale task: %s", queue.key, err)
            await queue.ack(task)
            return None
        except BaseException:
            queue.give_back(task)
            raise
        metrics.task_started(queue.key.task_type, waited_ms=self._now_ms() - task.create_time_ms)
        await queue.ack(task)
        return response

    @staticmethod
    def _after_abandoned(queue: TaskQueue, task: MatchTask, recording: asyncio.Future[Any]) -> None:
        if recording.cancelled():
            queue.give_back(task)
            return
        err = recording.exception()
        if err is None or isinstance(err, _STALE):
            # Started (the response is lost; history's start-to-close timeout
            # retries it) or stale: either way this task is done.
            queue.ack_later(task)
        else:
            queue.give_back(task)

    async def _pull_from_children(self, queue: TaskQueue, request: Any) -> Any | None:
        """(Root) with nothing ready here, a task from a child that could not place its backlog."""
        if (
            self._root is None
            or queue.matcher.has_waiting_tasks
            or not task_queue_partitions.parse(queue.key.name).is_root
        ):
            return None
        for child in queue.children_with_backlog():
            answer = await forwarding.pull_from_child(self._root, request, child)
            if answer is not None:
                return answer
            queue.forget_child_backlog(child)
        return None

    @staticmethod
    def _after_empty_pull(queue: TaskQueue, request: Any) -> None:
        if request.forwarded_from and task_queue_partitions.parse(request.forwarded_from).is_root:
            queue.kick_forwarder()  # the root has a poller: what this child holds should reach it

    def _poll_timeout_s(self, request: Any = None) -> float:
        if request is not None and request.forwarded_from:
            if task_queue_partitions.parse(request.forwarded_from).is_root:
                return 0.0  # the root pulling from this child: answer at once
        timeout = self._config.poll_timeout.total_seconds()
        remaining = deadline.remaining_s()
        if remaining is not None:
            timeout = min(timeout, remaining - self._config.poll_deadline_margin.total_seconds())
        return max(0.0, timeout)

    def _bound_history(self) -> HistoryForMatching:
        if self._history is None:
            raise errors.Unavailable("matching is starting: the history role is not connected yet; retry")
        return self._history

    # ------------------------------------------------------------ queries

    async def QueryWorkflow(
        self, request: matching_service_pb2.QueryWorkflowRequest
    ) -> workflow_service_pb2.QueryWorkflowResponse:
        _require(request.namespace_id, "namespace_id")
        _require(request.task_queue.name, "task_queue.name")
        key = TaskQueueKey(request.namespace_id, request.task_queue.name, _WORKFLOW)
        sticky = request.task_queue.kind == enums_pb2.TASK_QUEUE_KIND_STICKY
        if sticky:
            # History retries a sticky query on the normal queue after UNAVAILABLE or
            # DEADLINE_EXCEEDED: fail fast when nobody polls the sticky queue, and
            # leave the fallback half of the time when somebody does.
            queue = self._polled_sticky_queue(key, request.task_queue, errors.Unavailable)
        else:
            queue = await self._queue(key)
        query_id = str(uuid.uuid4())
        response = workflow_service_pb2.PollWorkflowTaskQueueResponse()
        response.CopyFrom(request.task)
        response.task_token = tokens_pb2.QueryTaskToken(
            namespace_id=request.namespace_id, task_queue=request.task_queue.name, query_id=query_id
        ).SerializeToString()
        response.query.CopyFrom(request.query_request.query)
        query = QueryTask(query_id=query_id, response=response)
        timeout = self._query_timeout_s() / (2 if sticky else 1)
        self._queries[query_id] = query
        queue.add_query(query)
        try:
            answer = await asyncio.wait_for(asyncio.shield(query.answer), timeout)
        except TimeoutError:
            raise errors.DeadlineExceeded(
                f"no worker answered the query within {_seconds(timeout)}"
            ) from None
        except asyncio.CancelledError:
            if self._stopped:
                raise errors.Unavailable("matching is shutting down; retry the query") from None
            raise
        finally:
            self._queries.pop(query_id, None)
            if not query.answer.done():
                query.answer.cancel()  # a poller that has not taken it yet skips it
        if (
            answer.completed_type == enums_pb2.QUERY_RESULT_TYPE_FAILED
            and request.query_request.query.HasField("validate_update")
        ):
            # The worker rejected the update (validator raised, no handler, bad args): a normal answer.
            rejection = common_pb2.Failure()
            if answer.HasField("failure"):
                rejection.CopyFrom(answer.failure)
            else:
                rejection.message = answer.error_message or "the worker rejected the update without a reason"
            return workflow_service_pb2.QueryWorkflowResponse(update_rejection=rejection)
        if answer.completed_type == enums_pb2.QUERY_RESULT_TYPE_FAILED:
            message = answer.error_message or (answer.failure.message if answer.HasField("failure") else "")
            reason = shorten(message, limit=500) if message else "the worker gave no reason"
            raise errors.InvalidArgument(f"query failed: {reason}")
        return workflow_service_pb2.QueryWorkflowResponse(query_result=answer.query_result)

    async def RespondQueryTaskCompleted(
        self, request: matching_service_pb2.RespondQueryTaskCompletedRequest
    ) -> workflow_service_pb2.RespondQueryTaskCompletedResponse:
        query = self._queries.get(request.query_id)
        if query is None or query.answer.done():
            raise errors.NotFound(
                f"query {request.query_id!r} not found: it was already answered or its caller stopped waiting"
            )
        query.answer.set_result(request.completed_request)
        return workflow_service_pb2.RespondQueryTaskCompletedResponse()

    def _query_timeout_s(self) -> float:
        # Answer a little before the caller's deadline so it gets our message, not a bare timeout.
        left = deadline.time_left_s(margin_s=self._config.poll_deadline_margin.total_seconds())
        return self._config.default_query_timeout.total_seconds() if left is None else left

    # ------------------------------------------------------------ queues

    def _polled_sticky_queue(
        self, key: TaskQueueKey, task_queue: common_pb2.TaskQueue, error: type[errors.ServiceError]
    ) -> TaskQueue:
        """The sticky queue ``key`` if a worker polled it recently, else ``error`` "sticky worker unavailable"."""
        if self._stopped:
            raise errors.Unavailable("matching is shutting down; retry")
        queue = self._queues.get(key)
        recency = self._config.sticky_poller_recency.total_seconds()
        if queue is None or not queue.matcher.polled_within(recency):
            raise error(
                f"sticky worker unavailable: nobody polled sticky task queue {task_queue.name!r} "
                f"in the last {recency:g}s; use the normal task queue {task_queue.normal_name!r}"
            )
        return queue

    def loaded_queues(self) -> list[TaskQueue]:
        """The task queues loaded now (a copy: safe to read from the metrics thread)."""
        return list(self._queues.values())

    def backlog_count(self, *, namespace_id: str, name: str, task_type: int) -> int:
        """Persisted, unconsumed tasks of a loaded queue (0 if it is not loaded)."""
        queue = self._queues.get(TaskQueueKey(namespace_id, name, task_type))
        return queue.backlog_count if queue is not None else 0

    async def unload_unowned(self) -> None:
        """Let go of the task queues the ring gave another host (after a ring change).

        Their waiting pollers get an empty answer and poll again (reaching the
        new owner); the backlog stays in the store for the new owner, whose
        lease fences this host's writes off.
        """
        unowned = [key for key in self._queues if not self.owns(key)]
        for key in unowned:
            # Ring changes can come close together and run this concurrently: the other may have taken it.
            queue = self._queues.pop(key, None)
            if queue is not None:
                await self._unload(queue)

    async def _unload(self, queue: TaskQueue) -> None:
        queue.matcher.release_pollers()
        await queue.stop()

    async def _queue(self, key: TaskQueueKey) -> TaskQueue:
        if self._stopped:
            raise errors.Unavailable("matching is shutting down; retry")
        if not self.owns(key):
            raise errors.NotOwner(f"task queue {quote(key.name)} is owned by another matching host; retry")
        queue = self._queues.get(key)
        if queue is not None:
            return queue
        loading = self._loading.get(key)
        if loading is None:
            # A fresh context: the queue's backlog reader belongs to no request, so it
            # must not inherit the log fields or trace of the one that loaded the queue.
            loading = asyncio.create_task(
                self._load(key), name=f"load task queue {key}", context=contextvars.Context()
            )
            self._loading[key] = loading
            loading.add_done_callback(lambda _: self._loading.pop(key, None))
        return await asyncio.shield(loading)

    async def _load(self, key: TaskQueueKey) -> TaskQueue:
        queue = TaskQueue(
            key=key,
            store=self._store,
            config=self._config,
            now_ms=self._now_ms,
            forward_task=self._backlog_forwarder(key),
        )
        try:
            await queue.start()
        except PersistenceError as err:
            raise errors.Unavailable(f"could not load task queue {quote(key.name)}: {err}") from err
        if not self.owns(key):
            # The ring moved the queue while it loaded: ``unload_unowned`` ran before it was
            # listed and missed it. Kept, it would linger with a stale lease and a reader
            # that never sees the new owner's rows, and be served again if the queue came back.
            await self._unload(queue)
            raise errors.NotOwner(f"task queue {quote(key.name)} moved to another matching host; retry")
        self._queues[key] = queue
        log.info("task queue %s loaded; backlog %d", key, queue.backlog_count)
        return queue

    def _backlog_forwarder(self, key: TaskQueueKey) -> Callable[[MatchTask], Awaitable[bool]] | None:
        """For a child partition: how its backlog tasks are offered to the root (see ``TaskQueue``)."""
        partition = task_queue_partitions.parse(key.name)
        root = self._root
        if partition.is_root or root is None:
            return None

        async def offer(task: MatchTask) -> bool:
            return await forwarding.offer_backlog_task_to_root(
                root, task=task, partition=partition, task_type=key.task_type, now_ms=self._now_ms()
            )

        return offer


def _require(value: str, field: str) -> None:
    if not value:
        raise errors.InvalidArgument(f"{field} is required")


def _seconds(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") + "s"
