"""The worker: hosts workflows and activities for one task queue.

```python
async with Worker(client, task_queue="orders", workflows=[Checkout], activities=[charge]):
    ...  # the worker polls in the background until the block exits
```

or ``await worker.run()`` in the foreground until ``await worker.shutdown()``.

Executor choice: ``async def`` activities run on the event loop; plain ``def``
activities need threads. If any sync activity is registered and no
``activity_executor`` is given, the worker creates its own
``ThreadPoolExecutor(max_workers=max_concurrent_activities)`` and shuts it down
when it stops; a given executor is the caller's to shut down.

Shutdown (``shutdown()``, leaving ``async with``, or cancelling ``run()``):
stop polling; let workflow tasks in progress finish and reset the sticky queue
of cached runs (so their next tasks go to other workers at once); let running
activities finish for ``graceful_shutdown_timeout``, then cancel them (async:
``asyncio.CancelledError``; sync: ``activity.is_cancelled()``) and report them
failed-retryable so another worker picks them up.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import socket
from collections.abc import Callable, Sequence
from datetime import timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any

from legato._worker_activity import ActivityWorker, build_activity_chain
from legato._worker_local_activity import LocalActivityRunner
from legato._worker_metrics import PollObserver, WorkerMetrics
from legato._worker_shared import WorkerFatalError
from legato.activity import ActivityDefinition
from legato.interceptor import Interceptor, WorkflowInboundInterceptor

if TYPE_CHECKING:
    from legato._worker_workflow import WorkflowWorker, WorkflowWorkerStats
    from legato.client import Client

__all__ = ["Worker", "WorkerFatalError", "WorkerMetrics"]

log = logging.getLogger("legato.worker")


class Worker:
    """Polls one task queue for workflow and activity tasks and runs them."""

    def __init__(
        self,
        client: Client,
        *,
        task_queue: str,
        workflows: Sequence[type] = (),
        activities: Sequence[Callable[..., Any]] = (),
        activity_executor: concurrent.futures.Executor | None = None,
        max_concurrent_workflow_tasks: int = 100,
        max_concurrent_activities: int = 100,
        workflow_pollers: int = 5,
        max_workflow_pollers: int | None = None,
        activity_pollers: int = 5,
        max_cached_workflows: int = 1000,
        sticky_queue_schedule_to_start_timeout: timedelta = timedelta(seconds=5),
        graceful_shutdown_timeout: timedelta = timedelta(0),
        interceptors: Sequence[Interceptor] = (),
        identity: str | None = None,
        metrics: WorkerMetrics | None = None,
        disable_eager_activity_execution: bool = False,
    ) -> None:
        """
        Args:
            client: the connection; its namespace, data converter and interceptors are used.
            task_queue: the queue to poll.
            workflows: ``@workflow.defn`` classes this worker runs.
            activities: ``@activity.defn`` functions this worker runs.
            activity_executor: runs sync activities; see the module docstring for the default.
            max_concurrent_workflow_tasks: workflow tasks (and queries) processed at once.
            max_concurrent_activities: activity attempts running at once.
            workflow_pollers: concurrent long-polls per workflow queue (normal and sticky each).
                With too few, a task often finds no poller waiting and takes the slower path
                through the server's stored backlog; 5 instead of 2 made the benchmark's chain
                workload 45% faster on SQLite and 28% on MariaDB. Each poller holds a slot.
            max_workflow_pollers: how far the polls of each workflow queue may grow while the
                server reports tasks waiting in its backlog (when recording a task started is
                slow, as on a loaded MySQL or Cassandra, more polls must wait to keep up); they
                shrink back to ``workflow_pollers`` as polls come back empty. None: 25, but at
                most half of ``max_concurrent_workflow_tasks`` and at least ``workflow_pollers``.
                Equal to ``workflow_pollers``: no scaling.
            activity_pollers: concurrent long-polls of the activity queue.
            max_cached_workflows: runs kept in memory between tasks; 0 disables the sticky cache.
            sticky_queue_schedule_to_start_timeout: how long the server waits for this worker to
                take a sticky task before sending it to the normal queue.
            graceful_shutdown_timeout: how long running activities may finish after shutdown starts.
            interceptors: added after the client's interceptors (which apply here too).
            identity: shown in history and describe; default ``pid@host``.
            metrics: told of every poll and task, and given the workflow cache's counters;
                ``legato.contrib.prometheus.PrometheusWorkerMetrics`` exports them. None: nothing
                is measured.
            disable_eager_activity_execution: by default, when this worker runs both a workflow
                and the activities it schedules on this task queue, and has free activity slots,
                it asks the server to hand those activities straight back with the workflow
                task's completion (no trip through matching); and when such an activity
                completes while its run is cached here, the workflow task the result wakes
                comes back in the completion's answer. True: always dispatch both.
        """
        if not workflows and not activities:
            raise ValueError("a worker needs at least one workflow or activity")
        if max_concurrent_workflow_tasks < 1 or max_concurrent_activities < 1:
            raise ValueError("max_concurrent_workflow_tasks and max_concurrent_activities must be at least 1")
        if workflow_pollers < 1 or activity_pollers < 1:
            raise ValueError("workflow_pollers and activity_pollers must be at least 1")
        if max_workflow_pollers is None:
            max_workflow_pollers = max(workflow_pollers, min(25, max_concurrent_workflow_tasks // 2))
        elif max_workflow_pollers < workflow_pollers:
            raise ValueError(
                f"max_workflow_pollers ({max_workflow_pollers}) must be at least workflow_pollers "
                f"({workflow_pollers})"
            )
        self.client = client
        self.task_queue = task_queue
        self.identity = identity or client.identity or f"{os.getpid()}@{socket.gethostname()}"
        self._graceful = graceful_shutdown_timeout.total_seconds()
        all_interceptors = [*client.interceptors, *interceptors]

        definitions = [ActivityDefinition.of(fn) for fn in activities]
        self._owned_executor: concurrent.futures.ThreadPoolExecutor | None = None
        if activity_executor is None and any(not d.is_async for d in definitions):
            self._owned_executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=max_concurrent_activities, thread_name_prefix=f"legato-activity-{task_queue}"
            )
            activity_executor = self._owned_executor

        self._activity_worker: ActivityWorker | None = None
        if activities:
            self._activity_worker = ActivityWorker(
                service=client.service,
                namespace=client.namespace,
                task_queue=task_queue,
                identity=self.identity,
                activities=activities,
                executor=activity_executor,
                max_concurrent=max_concurrent_activities,
                pollers=activity_pollers,
                data_converter=client.data_converter,
                interceptors=all_interceptors,
            )
        self._workflow_worker: WorkflowWorker | None = None
        if workflows:
            from legato._worker_workflow import WorkflowWorker

            interceptor_classes: list[type[WorkflowInboundInterceptor]] = [
                cls for cls in (i.workflow_interceptor_class() for i in all_interceptors) if cls is not None
            ]
            local_activities = LocalActivityRunner(
                definitions={d.name: d for d in definitions},
                chain=build_activity_chain(all_interceptors, activity_executor),
                data_converter=client.data_converter,
                task_queue=task_queue,
            )
            self._workflow_worker = WorkflowWorker(
                service=client.service,
                namespace=client.namespace,
                task_queue=task_queue,
                identity=self.identity,
                workflows=workflows,
                max_concurrent=max_concurrent_workflow_tasks,
                pollers=workflow_pollers,
                max_pollers=max_workflow_pollers,
                max_cached=max_cached_workflows,
                sticky_schedule_to_start_timeout=sticky_queue_schedule_to_start_timeout,
                data_converter=client.data_converter,
                interceptor_classes=interceptor_classes,
                local_activities=local_activities,
                eager_activities=None if disable_eager_activity_execution else self._activity_worker,
            )
            if self._activity_worker is not None and not disable_eager_activity_execution:
                self._activity_worker.eager_workflow_tasks = self._workflow_worker
        if metrics is not None:
            self._attach_metrics(metrics)
        self._pollers: asyncio.Task[None] | None = None
        self._shutdown_requested: asyncio.Event | None = None
        self._background: asyncio.Task[None] | None = None
        self._running = False
        self._stopped = asyncio.Event()

    def _attach_metrics(self, metrics: WorkerMetrics) -> None:
        if self._activity_worker is not None:
            self._activity_worker.observer = PollObserver(
                metrics, task_queue=self.task_queue, task_kind="activity"
            )
        workflow_worker = self._workflow_worker
        if workflow_worker is not None:
            workflow_worker.observer = PollObserver(metrics, task_queue=self.task_queue, task_kind="workflow")
            metrics.attach_workflow_stats(
                task_queue=self.task_queue,
                stats=lambda: workflow_worker.stats,
                cache_size=lambda: len(workflow_worker.cache),
            )

    @property
    def sticky_queue(self) -> str | None:
        """The name of this worker's sticky queue (None when the cache is off or no workflows run here)."""
        return self._workflow_worker.sticky_queue if self._workflow_worker else None

    @property
    def workflow_stats(self) -> WorkflowWorkerStats | None:
        """Counters of the workflow side (cache hits, full replays, ...)."""
        return self._workflow_worker.stats if self._workflow_worker else None

    @property
    def is_running(self) -> bool:
        return self._running

    async def run(self) -> None:
        """Poll and process tasks until ``shutdown()`` (or cancellation); then shut down gracefully.

        Raises ``WorkerFatalError`` if polling hits an error retrying cannot fix
        (unknown namespace, rejected credentials).
        """
        if self._running:
            raise RuntimeError("worker is already running")
        self._running = True
        self._stopped.clear()
        self._shutdown_requested = asyncio.Event()
        self._pollers = asyncio.create_task(self._poll_all(), name="legato-worker-pollers")
        if self._workflow_worker is not None:
            self.client._eager_start.add(self.task_queue, self._workflow_worker)
        waiter = asyncio.create_task(self._shutdown_requested.wait())
        fatal: BaseException | None = None
        try:
            await asyncio.wait({self._pollers, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if self._pollers.done() and not self._pollers.cancelled():
                fatal = self._pollers.exception()
        finally:
            waiter.cancel()
            await self._stop()
        if fatal is not None:
            raise fatal

    async def _poll_all(self) -> None:
        async with asyncio.TaskGroup() as group:
            if self._workflow_worker is not None:
                group.create_task(self._workflow_worker.run())
            if self._activity_worker is not None:
                group.create_task(self._activity_worker.run())

    async def _stop(self) -> None:
        """Stop polling, drain, reset stickiness; shielded so a cancelled run() still cleans up."""
        if self._workflow_worker is not None:
            self.client._eager_start.remove(self.task_queue, self._workflow_worker)
        pollers = self._pollers
        if pollers is not None and not pollers.done():
            pollers.cancel()
            try:
                await pollers
            except (asyncio.CancelledError, Exception):
                pass

        async def drain() -> None:
            jobs = []
            if self._workflow_worker is not None:
                jobs.append(self._workflow_worker.drain())
            if self._activity_worker is not None:
                jobs.append(self._activity_worker.drain(self._graceful))
            await asyncio.gather(*jobs, return_exceptions=True)
            if self._owned_executor is not None:
                self._owned_executor.shutdown(wait=False)
            self._running = False
            self._stopped.set()

        await asyncio.shield(drain())

    async def shutdown(self) -> None:
        """Stop the worker gracefully and wait until it stopped."""
        if self._shutdown_requested is not None:
            self._shutdown_requested.set()
        if self._background is not None:
            try:
                await self._background
            except (asyncio.CancelledError, WorkerFatalError):
                pass
            except Exception:  # already logged by the background task's owner
                log.debug("worker stopped with an error", exc_info=True)
        elif self._running:
            await self._stopped.wait()

    async def __aenter__(self) -> Worker:
        self._background = asyncio.create_task(self.run(), name=f"legato-worker-{self.task_queue}")
        # Let the pollers start so a workflow started right after ``async with`` is picked up promptly.
        await asyncio.sleep(0)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        background = self._background
        await self.shutdown()
        if background is not None and background.done() and not background.cancelled():
            error = background.exception()
            if error is not None and exc is None:
                raise error
