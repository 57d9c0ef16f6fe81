"""In-process wake-ups for readers waiting on a run's history (long-poll).

Every committed write of a run calls ``notify``; a GetWorkflowExecutionHistory
long-poll subscribes before it checks the state, then waits, so a write that
lands between the check and the wait is never missed. Clients wait for results
this way, so the wake-up is immediate, with no polling interval.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

ExecutionKey = tuple[str, str, str]  # namespace_id, workflow_id, run_id


class ExecutionNotifier:
    def __init__(self) -> None:
        self._waiters: dict[ExecutionKey, set[asyncio.Event]] = {}

    @contextmanager
    def subscribe(self, key: ExecutionKey) -> Iterator[asyncio.Event]:
        event = asyncio.Event()
        self._waiters.setdefault(key, set()).add(event)
        try:
            yield event
        finally:
            waiters = self._waiters.get(key)
            if waiters is not None:
                waiters.discard(event)
                if not waiters:
                    del self._waiters[key]

    def notify(self, key: ExecutionKey) -> None:
        for event in self._waiters.get(key, ()):
            event.set()

    def notify_all(self) -> None:
        for waiters in self._waiters.values():
            for event in waiters:
                event.set()
