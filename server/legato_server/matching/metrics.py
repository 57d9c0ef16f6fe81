"""Matching's measurements: how tasks reach pollers, and what its queues hold.

Recorded as tasks move (``MatchingHandler._add`` counts each task history adds
once, as a sync match or a backlog write, and not again when a partition
forwards it to its root; schedule-to-start is timed when a poller's task is
recorded started). Read at scrape time (``state_readers``): each loaded
queue's backlog, the queues loaded and the pollers waiting, per task type.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from legato.api.v1 import enums_pb2
from legato_server.common import task_queue_partitions
from legato_server.common.metrics import MATCHING_SCHEDULE_TO_START, MATCHING_TASKS_ADDED, StateReader

if TYPE_CHECKING:  # task_queue records through this module
    from legato_server.matching.task_queue import TaskQueue

TASK_TYPES: dict[int, str] = {
    enums_pb2.TASK_QUEUE_TYPE_WORKFLOW: "workflow",
    enums_pb2.TASK_QUEUE_TYPE_ACTIVITY: "activity",
}

_added = {
    (task_type, outcome): MATCHING_TASKS_ADDED.labels(name, outcome)
    for task_type, name in TASK_TYPES.items()
    for outcome in ("sync_match", "backlog")
}
_schedule_to_start = {
    task_type: MATCHING_SCHEDULE_TO_START.labels(name) for task_type, name in TASK_TYPES.items()
}


def task_added(task_type: int, *, sync_match: bool) -> None:
    counter = _added.get((task_type, "sync_match" if sync_match else "backlog"))
    if counter is not None:
        counter.inc()


def task_started(task_type: int, *, waited_ms: int) -> None:
    histogram = _schedule_to_start.get(task_type)
    if histogram is not None:
        histogram.observe(max(0, waited_ms) / 1000)


def state_readers(queues: Callable[[], Iterable[TaskQueue]]) -> dict[str, StateReader]:
    """Scrape-time gauges over the task queues ``queues()`` returns (a copy, safe off the loop)."""

    def backlog() -> Iterable[tuple[tuple[str, ...], float]]:
        # Labelled by the queue's own name: the partitions of a queue on this host add up.
        totals: dict[tuple[str, ...], float] = {}
        for queue in queues():
            key = queue.key
            labels = (
                key.namespace_id,
                task_queue_partitions.parse(key.name).root,
                TASK_TYPES.get(key.task_type, ""),
            )
            totals[labels] = totals.get(labels, 0) + queue.backlog_count
        return totals.items()

    def loaded() -> Iterable[tuple[tuple[str, ...], float]]:
        for queue in queues():
            yield (TASK_TYPES.get(queue.key.task_type, ""),), 1

    def pollers() -> Iterable[tuple[tuple[str, ...], float]]:
        for queue in queues():
            yield (TASK_TYPES.get(queue.key.task_type, ""),), queue.matcher.waiting_pollers

    return {
        "legato_matching_task_queue_backlog": backlog,
        "legato_matching_task_queues_loaded": loaded,
        "legato_matching_pollers": pollers,
    }
