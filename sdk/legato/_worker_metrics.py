"""What a worker reports about itself, for whoever exports it (``legato.contrib.prometheus``).

``WorkerMetrics`` is the hook a ``Worker(metrics=...)`` calls; the base class
does nothing, and a worker built without ``metrics`` does not call it at all,
so the SDK's base install needs no metrics library. Subclass it to export.

What is reported, and where it comes from:

* **poll_completed** after every long-poll of a task queue (normal and sticky
  workflow queues, the activity queue): how long the poll took and whether it
  brought a task. Measured in the one poll loop both sides share
  (``_worker_shared.poll_loop``).
* **task_started / task_completed** around handling one task: its slot is in
  use from start to completion, and the difference is the task's latency
  (for a workflow task: decoding, replaying, running the workflow code and
  local activities, answering the server; for an activity: running it and
  answering).
* **attach_workflow_stats** once per worker with workflows: the worker's own
  counters (``WorkflowWorkerStats``: sticky cache hits and misses, full
  replays) and its cache size, to read whenever the exporter likes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from legato._worker_workflow import WorkflowWorkerStats


class WorkerMetrics:
    """The hooks a worker calls (no-ops here). ``task_kind`` is "workflow" or "activity"."""

    def poll_completed(self, *, task_queue: str, task_kind: str, seconds: float, got_task: bool) -> None:
        """A long-poll ended after ``seconds``, with a task or empty (its timeout)."""

    def task_started(self, *, task_queue: str, task_kind: str) -> None:
        """A task took a slot and started."""

    def task_completed(self, *, task_queue: str, task_kind: str, seconds: float) -> None:
        """A task finished (whatever its outcome) after ``seconds`` and freed its slot."""

    def attach_workflow_stats(
        self,
        *,
        task_queue: str,
        stats: Callable[[], WorkflowWorkerStats],
        cache_size: Callable[[], int],
    ) -> None:
        """A worker's workflow-side counters, to read at any time (from any thread)."""


class PollObserver:
    """``WorkerMetrics`` bound to one task queue and task kind, as the poll loop calls it."""

    __slots__ = ("_metrics", "_task_queue", "_task_kind")

    def __init__(self, metrics: WorkerMetrics, *, task_queue: str, task_kind: str) -> None:
        self._metrics = metrics
        self._task_queue = task_queue
        self._task_kind = task_kind

    def polled(self, started: float, *, got_task: bool) -> None:
        self._metrics.poll_completed(
            task_queue=self._task_queue,
            task_kind=self._task_kind,
            seconds=time.perf_counter() - started,
            got_task=got_task,
        )

    def task_started(self) -> float:
        self._metrics.task_started(task_queue=self._task_queue, task_kind=self._task_kind)
        return time.perf_counter()

    def task_completed(self, started: float) -> None:
        self._metrics.task_completed(
            task_queue=self._task_queue, task_kind=self._task_kind, seconds=time.perf_counter() - started
        )
