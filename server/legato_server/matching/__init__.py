"""The matching role: task queues between history and workers.

``MatchingHandler`` implements ``MatchingService``; see ``handler`` for the
protocol with history (record-started, stale tasks, sticky queues, queries),
``matcher`` for the in-memory rendezvous and ``backlog`` for persistence.
"""

from legato_server.matching.config import MatchingConfig
from legato_server.matching.handler import HistoryForMatching, MatchingHandler

__all__ = ["HistoryForMatching", "MatchingConfig", "MatchingHandler"]
