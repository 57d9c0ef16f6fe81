"""Legato server: frontend, history and matching roles over a pluggable store.

Layers only look down: ``persistence`` knows nothing of the roles; ``history``
and ``matching`` know nothing of ``frontend``; ``frontend`` speaks to the roles
only through their client interfaces (in-process or gRPC).
"""

__version__ = "0.1.0"
