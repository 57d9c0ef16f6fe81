"""Matching under test: the real handler on a real (in-memory) SQLite store, with a fake history."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from legato_server.matching import MatchingConfig, MatchingHandler
from legato_server.persistence.config import PersistenceConfig
from legato_server.persistence.factory import create_persistence
from legato_server.persistence.interface import Persistence
from tests.server.matching.fake_history import FakeHistory


class Clock:
    """Wall-clock milliseconds that tests move by hand (for task expiry)."""

    def __init__(self) -> None:
        self.now_ms = 1_700_000_000_000

    def __call__(self) -> int:
        return self.now_ms


@pytest.fixture
async def persistence() -> AsyncIterator[Persistence]:
    store = await create_persistence(PersistenceConfig())
    yield store
    await store.close()


@pytest.fixture
def history() -> FakeHistory:
    return FakeHistory()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def matching(
    persistence: Persistence, history: FakeHistory, clock: Clock
) -> AsyncIterator[MatchingHandler]:
    handler = MatchingHandler(
        task_queues=persistence.task_queues,
        config=MatchingConfig(poll_timeout=timedelta(seconds=5), default_query_timeout=timedelta(seconds=5)),
        history=history,
        now_ms=clock,
    )
    yield handler
    await handler.stop()
