"""Forwarding between a task queue's child partitions and its root.

A normal queue's partitions (``common.task_queue_partitions``) live on
different matching hosts, and the routing client sends each add and each poll
to a random one. Alone, that would strand work: a task on partition 2 while
the only poller waits on partition 3. The root partition is the meeting place:

* **Polls.** A poll on a child that finds nothing ready waits locally until
  it gets a task or one of the partition's ``forwarded_polls_per_partition``
  forwarding slots, whichever comes first. With a slot it stops waiting locally
  (a task the local matcher handed it in that instant goes back, not yet
  started) and forwards a poll to the root, which serves it like any poll,
  recording the start with history, so its answer is final; when the slot
  holder is answered, the next poll waiting locally takes the slot. A poll thus
  waits in one place at a time. (Waiting in both and cancelling the loser would
  let the root record a start for a poll that already took a local task: the
  task's response would be lost until its start-to-close timeout, which in a
  test of 50 tasks with one poller happened in every run.) A child whose
  pollers all hold slots at the root still gets its adds and backlog to them,
  through the root, as below.
* **Adds.** An add on a child with no local poller waiting is first offered to
  the root as a sync match only (``forwarded_from`` set): the root hands it to
  a waiting poller (which may be a poll forwarded by yet another partition) and
  answers ``matched`` once the start is recorded, or answers "not matched" at
  once having stored nothing. Not matched, the child persists the task itself.
* **Backlog.** A child's persisted tasks that no local poller takes are offered
  to the root the same way by the queue's forwarder (``TaskQueue``), with a
  backoff while the root has no poller: short while the partition is polled,
  long (tens of seconds) once nobody polls it, so queues left with a backlog
  and no workers cost next to nothing. The root remembers which children
  offered tasks it could not place; a poll that reaches the root and finds
  nothing ready there first *pulls* from them: a poll forwarded from the root
  to a child (``forwarded_from`` = the root) is answered at once, with a task
  of the child's backlog, recorded started there, or with nothing.

Forwarded requests carry ``forwarded_from`` and go only to the root, which
never forwards, so nothing loops. A root that cannot be reached (moving,
down) makes forwarding fail softly: the add is persisted on the child, the
poll waits locally a while (backing off) before it forwards again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from google.protobuf import duration_pb2

from legato.api.v1 import common_pb2, enums_pb2
from legato_server.common.deadline import call_deadline, set_call_timeout
from legato_server.common.task_queue_partitions import Partition
from legato_server.internal.v1 import matching_service_pb2
from legato_server.matching.task_queue import TaskQueue
from legato_server.matching.tasks import MatchTask, Task

log = logging.getLogger(__name__)

_ACTIVITY = enums_pb2.TASK_QUEUE_TYPE_ACTIVITY
_FORWARDED_ADD_TIMEOUT_S = 10.0
"""Deadline of a backlog task's offer to the root (the root waits for the start to be recorded)."""
_MIN_FORWARDED_POLL_S = 1.5
"""A forwarded poll needs at least this long: the root ends a poll a margin before its deadline."""
_POLL_RETRY_S = 0.05
_POLL_RETRY_MAX_S = 1.0

AddRequest = matching_service_pb2.AddWorkflowTaskRequest | matching_service_pb2.AddActivityTaskRequest
PollRequest = (
    matching_service_pb2.PollWorkflowTaskQueueRequest | matching_service_pb2.PollActivityTaskQueueRequest
)


class RootMatching(Protocol):
    """What forwarding needs of the matching role: its routing client (the root may be on any host).

    Read-only properties, so both a client's bound callables and a handler's methods fit.
    """

    @property
    def AddWorkflowTask(
        self,
    ) -> Callable[
        [matching_service_pb2.AddWorkflowTaskRequest], Awaitable[matching_service_pb2.AddWorkflowTaskResponse]
    ]: ...

    @property
    def AddActivityTask(
        self,
    ) -> Callable[
        [matching_service_pb2.AddActivityTaskRequest], Awaitable[matching_service_pb2.AddActivityTaskResponse]
    ]: ...

    @property
    def PollWorkflowTaskQueue(
        self,
    ) -> Callable[[matching_service_pb2.PollWorkflowTaskQueueRequest], Awaitable[Any]]: ...

    @property
    def PollActivityTaskQueue(
        self,
    ) -> Callable[[matching_service_pb2.PollActivityTaskQueueRequest], Awaitable[Any]]: ...


async def offer_add_to_root(root: RootMatching, request: AddRequest, partition: Partition) -> bool:
    """Offer an add that found no poller on child ``partition`` to the root; True if a poller took it there."""
    forwarded = type(request)()
    forwarded.CopyFrom(request)
    forwarded.task_queue.name = partition.root
    forwarded.forwarded_from = partition.name
    try:
        if isinstance(forwarded, matching_service_pb2.AddActivityTaskRequest):
            return (await root.AddActivityTask(forwarded)).matched
        return (await root.AddWorkflowTask(forwarded)).matched
    except Exception as err:  # the root is moving or unreachable: the child keeps the task
        log.debug("task queue %s: could not offer a task to the root: %s", partition.name, err)
        return False


async def offer_backlog_task_to_root(
    root: RootMatching, *, task: MatchTask, partition: Partition, task_type: int, now_ms: int
) -> bool:
    """Offer a child's persisted ``task`` to the root as a sync match only; raises if the root is unreachable."""
    fields: dict[str, Any] = dict(
        namespace_id=task.namespace_id,
        execution=task.execution,
        task_queue=common_pb2.TaskQueue(name=partition.root, kind=enums_pb2.TASK_QUEUE_KIND_NORMAL),
        scheduled_event_id=task.scheduled_event_id,
        forwarded_from=partition.name,
    )
    if task.expiry_time_ms:
        left_ms = max(1, task.expiry_time_ms - now_ms)
        fields["schedule_to_start_timeout"] = duration_pb2.Duration(
            seconds=left_ms // 1000, nanos=(left_ms % 1000) * 1_000_000
        )
    # Its own deadline: this runs in the queue's background task, not in a caller's call.
    token = set_call_timeout(_FORWARDED_ADD_TIMEOUT_S)
    try:
        if task_type == _ACTIVITY:
            return (await root.AddActivityTask(matching_service_pb2.AddActivityTaskRequest(**fields))).matched
        return (await root.AddWorkflowTask(matching_service_pb2.AddWorkflowTaskRequest(**fields))).matched
    finally:
        call_deadline.reset(token)


async def pull_from_child(root: RootMatching, request: PollRequest, child: str) -> Any | None:
    """(Root) ask child partition ``child`` for a ready task for this poll; None if it has none.

    The child answers at once (``forwarded_from`` names the root) and records
    the start itself. ``root`` is the routing client, which reaches the child
    wherever it lives.
    """
    pull = type(request)()
    pull.CopyFrom(request)
    pull.poll_request.task_queue.name = child
    pull.forwarded_from = request.poll_request.task_queue.name
    token = set_call_timeout(_FORWARDED_ADD_TIMEOUT_S)
    try:
        if isinstance(pull, matching_service_pb2.PollActivityTaskQueueRequest):
            answer = await root.PollActivityTaskQueue(pull)
        else:
            answer = await root.PollWorkflowTaskQueue(pull)
    except Exception as err:  # the child is moving or unreachable: its forwarder offers again later
        log.debug("could not pull a task from partition %s: %s", child, err)
        return None
    finally:
        call_deadline.reset(token)
    return answer if answer.task_token else None


def poll_forwarder(
    root: RootMatching, request: PollRequest, partition: Partition
) -> Callable[[], Awaitable[Any]]:
    """A function that forwards ``request`` (a poll on child ``partition``) to the root once."""
    forwarded = type(request)()
    forwarded.CopyFrom(request)
    forwarded.poll_request.task_queue.name = partition.root
    forwarded.forwarded_from = partition.name
    if isinstance(forwarded, matching_service_pb2.PollActivityTaskQueueRequest):
        activity_poll = forwarded
        return lambda: root.PollActivityTaskQueue(activity_poll)
    workflow_poll = forwarded
    return lambda: root.PollWorkflowTaskQueue(workflow_poll)


async def next_task(
    queue: TaskQueue, *, until: float, forward: Callable[[], Awaitable[Any]] | None
) -> tuple[Task | None, Any | None]:
    """The next task for a poller of ``queue`` by loop time ``until``: (local task, None) or (None, root's answer).

    Without ``forward`` (a root partition, a sticky queue, a forwarded poll)
    this is ``queue.poll``. With it, the poll waits locally until it gets a
    task or one of the partition's forwarding slots, whichever comes first;
    with a slot it stops waiting locally and waits at the root instead. So a
    poll waits in one place at a time: the root never records a start for a
    poll that already took a local task. (None, None) when no task came in time.
    """
    loop = asyncio.get_running_loop()
    if forward is None:
        return await queue.poll(until - loop.time()), None
    delay = _POLL_RETRY_S
    while True:
        task, slot = await _local_or_slot(queue, until)
        if not slot:
            return task, None
        started = loop.time()
        try:
            answer = await _forward_poll(forward, until)
        finally:
            queue.forward_slots.release()
        if answer is not None and answer.task_token:
            return None, answer
        left = until - loop.time()
        if queue.matcher.released:
            return None, None  # this host is letting the queue go: the poller polls again elsewhere
        if left <= _MIN_FORWARDED_POLL_S:
            return await queue.poll(left), None
        if loop.time() - started < delay:
            # The root failed or let its pollers go (it is moving): wait here a while before trying it again.
            task = await queue.poll(delay)
            if task is not None:
                return task, None
            delay = min(delay * 2, _POLL_RETRY_MAX_S)


async def _local_or_slot(queue: TaskQueue, until: float) -> tuple[Task | None, bool]:
    """A local task (or None at ``until``), or a forwarding slot: (None, True), the slot now ours.

    The slot is only taken while enough time is left for a forwarded poll.
    Giving up the local wait is always safe: a task the matcher handed it in
    that instant goes back (``_release``); it was not recorded started.
    """
    loop = asyncio.get_running_loop()
    slot_deadline = until - _MIN_FORWARDED_POLL_S
    task = await queue.poll(0)
    if task is not None or loop.time() >= slot_deadline:
        return task or await queue.poll(until - loop.time()), False
    local = asyncio.ensure_future(queue.poll(until - loop.time()))
    acquire = asyncio.ensure_future(queue.forward_slots.acquire())
    try:
        await asyncio.wait(
            {local, acquire}, timeout=slot_deadline - loop.time(), return_when=asyncio.FIRST_COMPLETED
        )
        if not acquire.done():
            acquire.cancel()
            await asyncio.wait({acquire})
    except BaseException:
        # Cancelled (the caller went away): keep nothing. A local wait still pending gives a
        # task handed to it back itself (the matcher's orphan rule); one that already
        # finished holds its task here, so it is given back now.
        if not local.cancel() and not local.cancelled() and local.exception() is None:
            found = local.result()
            if found is not None:
                queue.give_back(found)
        if not acquire.cancel() and not acquire.cancelled() and acquire.exception() is None:
            queue.forward_slots.release()
        raise
    got_slot = not acquire.cancelled() and acquire.exception() is None
    if local.done():
        if got_slot:
            queue.forward_slots.release()
        return local.result(), False
    if got_slot:
        try:
            await _release(local, queue)
        except BaseException:
            queue.forward_slots.release()  # cancelled before the caller could take it over
            raise
        return None, True
    return await local, False  # too little time left to forward: wait here


async def _forward_poll(forward: Callable[[], Awaitable[Any]], until: float) -> Any | None:
    """One poll forwarded to the root, ending before ``until``; None if it failed."""
    token = set_call_timeout(until - asyncio.get_running_loop().time())
    try:
        return await forward()
    except Exception as err:  # the root is moving or unreachable
        log.debug("forwarded poll failed: %s", err)
        return None
    finally:
        call_deadline.reset(token)


async def _release(local: asyncio.Future[Task | None], queue: TaskQueue) -> None:
    """End the local wait, giving back a task it got meanwhile (none is lost to the race)."""
    local.cancel()
    try:
        await asyncio.wait({local})
    finally:  # even if we are cancelled meanwhile: a task it finished with must not be dropped
        if local.done() and not local.cancelled() and local.exception() is None:
            found = local.result()
            if found is not None:
                queue.give_back(found)
