"""Cassandra's group commit on its own: which writes share a batch, and who gets which answer.

A unit test of ``GroupCommitter`` with a stand-in session that holds the
first batch until the others have queued (so the grouping is deterministic)
and records what it was sent. The store-level behaviour on a real Cassandra is
covered by test_concurrent_writes.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from legato_server.persistence.cassandra.group_commit import GroupCommitter
from legato_server.persistence.interface import TransientError

APPLIED = [{"[applied]": True}]


class HeldSession:
    """Answers batches from ``answer``; the first waits for ``release``."""

    def __init__(self, answer: Any = None) -> None:
        self.sent: list[list[tuple[str, Sequence[Any]]]] = []
        self.release = asyncio.Event()
        self.holding = asyncio.Event()
        self.answer = answer or (lambda statements: APPLIED)

    async def execute_batch(self, action: str, statements: Sequence[tuple[str, Sequence[Any]]]) -> Any:
        self.sent.append(list(statements))
        if len(self.sent) == 1:
            self.holding.set()
            await self.release.wait()
        return self.answer(statements)


def fence(range_id: int) -> tuple[str, tuple[int]]:
    return ("FENCE", (range_id,))


def write(name: str) -> tuple[str, tuple[str]]:
    return ("WRITE", (name,))


async def _commit_all(session: HeldSession, members: list[tuple[str, int, str]]) -> list[Any]:
    """Commit the first member, then the others while it is held in flight."""
    committer = GroupCommitter(session)  # type: ignore[arg-type]

    def commit(name: str, range_id: int, key: str) -> asyncio.Future[Any]:
        return asyncio.ensure_future(
            committer.commit(
                partition="shard-1",
                action=f"write {name}",
                fence=fence(range_id),
                statements=[write(name)],
                keys=frozenset({key}),
            )
        )

    calls = [commit(*members[0])]
    await session.holding.wait()
    calls += [commit(*member) for member in members[1:]]
    await asyncio.sleep(0)  # every caller queues behind the held first batch
    session.release.set()
    return await asyncio.gather(*calls, return_exceptions=True)


async def test_queued_writes_share_a_batch_except_same_row_or_other_fence() -> None:
    session = HeldSession()

    results = await _commit_all(
        session,
        [("m1", 1, "a"), ("m2", 1, "b"), ("m3", 1, "b"), ("m4", 2, "c"), ("m5", 1, "d")],
    )

    assert results == [APPLIED] * 5
    assert session.sent == [
        [fence(1), write("m1")],
        [fence(1), write("m2"), write("m5")],
        [fence(1), write("m3")],
        [fence(2), write("m4")],
    ]


async def test_a_group_not_applied_is_replayed_so_each_write_gets_its_own_answer() -> None:
    refused = [{"[applied]": False, "db_version": 7}]

    def answer(statements: Sequence[tuple[str, Sequence[Any]]]) -> Any:
        return refused if write("m3") in statements else APPLIED

    session = HeldSession(answer)

    results = await _commit_all(session, [("m1", 1, "a"), ("m2", 1, "b"), ("m3", 1, "c"), ("m4", 1, "d")])

    assert results == [APPLIED, APPLIED, refused, APPLIED]
    assert session.sent[1] == [fence(1), write("m2"), write("m3"), write("m4")]
    assert session.sent[2:] == [[fence(1), write(m)] for m in ("m2", "m3", "m4")]


async def test_an_error_of_a_group_reaches_every_write_in_it() -> None:
    def answer(statements: Sequence[tuple[str, Sequence[Any]]]) -> Any:
        if len(statements) > 2:
            raise TransientError("Cassandra did not answer in time")
        return APPLIED

    session = HeldSession(answer)

    results = await _commit_all(session, [("m1", 1, "a"), ("m2", 1, "b"), ("m3", 1, "c")])

    assert results[0] == APPLIED
    assert all(isinstance(r, TransientError) for r in results[1:])
    assert len(session.sent) == 2


async def test_a_write_cancelled_while_queued_is_not_sent() -> None:
    session = HeldSession()
    committer = GroupCommitter(session)  # type: ignore[arg-type]

    def commit(name: str) -> asyncio.Future[Any]:
        return asyncio.ensure_future(
            committer.commit(
                partition="q",
                action=name,
                fence=fence(1),
                statements=[write(name)],
                keys=frozenset({name}),
            )
        )

    first = commit("m1")
    await session.holding.wait()
    dropped, kept = commit("m2"), commit("m3")
    await asyncio.sleep(0)
    dropped.cancel()
    session.release.set()

    assert await first == APPLIED and await kept == APPLIED
    with pytest.raises(asyncio.CancelledError):
        await dropped
    assert session.sent == [[fence(1), write("m1")], [fence(1), write("m3")]]
