"""The history role: owns workflow executions, sharded by workflow id.

Entry point: ``start_history_service`` (service.py); ``handler.py`` maps each
RPC onto its operation. The sub-packages only look down:

- ``operations/``: one module per operation (start, signal, workflow_task,
  activity_task, commands, ...) and the executors of transfer and timer tasks;
- ``shards/``: the engine (the shards this host owns), the shard with its one
  write path, and the controller that follows the membership ring;
- ``workflow/``: a run's mutable state and the rules that change it;
- ``queues/``: the per-shard transfer and timer queue processors;

with ``clock``, ``notifier``, ``routing`` and ``tokens`` below them all.
``client.py`` is what other roles hold to call history.
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
