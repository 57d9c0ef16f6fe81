"""The history role: owns workflow executions, sharded by workflow id.

Entry point: ``start_history_service`` (service.py). Each operation lives in its
own module (start, signal, workflow_task, activity_task, commands, ...); the
shard (shard.py) owns the write path, the queue processors (transfer_queue.py,
timer_queue.py) move work out of runs and fire timers.
"""

from legato_server.history.client import HistoryClient, LocalShardRouter
from legato_server.history.clock import Clock, RealClock
from legato_server.history.handler import HistoryHandler
from legato_server.history.service import HistoryService, start_history_service

__all__ = [
    "Clock",
    "HistoryClient",
    "HistoryHandler",
    "HistoryService",
    "LocalShardRouter",
    "RealClock",
    "start_history_service",
]
