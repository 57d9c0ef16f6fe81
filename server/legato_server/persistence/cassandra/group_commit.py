"""Group commit: concurrent conditional writes to one partition share one Paxos round.

Every history update of a shard is a lightweight transaction (LWT) on the
shard's partition, and every backlog append of a task queue one on the
queue's partition. Run side by side, LWTs on one partition do not just cost
a Paxos round each (four round trips, reads of the conditioned rows, far more
Cassandra CPU than a plain write): they contend, and a losing proposer backs
off and starts over. This module sends at most one LWT per partition at a
time from this process; writes that arrive while it is in flight queue up and
go together in the next one, as a single conditional batch with the
partition's fencing condition once and every member's own conditions. A lone
write is sent at once, so grouping adds no wait, only fewer rounds under load.

Why a group is as safe as its members alone: Cassandra applies a conditional
batch all or nothing, evaluating every condition against the partition as it
was before the batch. So two members may not touch the same row (two creates
of one workflow id would both see "not exists"): a member whose ``keys``
overlap the group's waits for the next round, as does one with another
fencing statement (a different range_id). Members of a group that was not
applied are then sent one by one, so each gets the answer (applied, or the
current values of its rows) it would have got alone; failed conditions are
rare (fencing lost, a stale cache), so that costs nothing in the common case.
An error (a timeout: outcome unknown) goes to every member, as it would have
alone. A caller cancelled before its member is sent is dropped from the
queue; once sent it may still apply, as any LWT whose answer is not awaited.

Size: a group stays under ``max_statements`` and ``max_bytes`` of bound
values, well below Cassandra's default batch_size_fail_threshold (50 KiB); a
single member over the limit still goes alone, as it did before grouping.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

from legato_server.persistence.cassandra.session import CassandraSession, Params, Row, applied, bound_size

Statement = tuple[str, Params]

MAX_STATEMENTS = 40
MAX_BYTES = 24 * 1024


@dataclass
class _Member:
    action: str
    fence: Statement
    statements: list[Statement]
    keys: frozenset[Hashable]
    size: int
    done: asyncio.Future[list[Row]] = field(repr=False)


class GroupCommitter:
    """One conditional batch in flight per partition; what queues meanwhile goes in the next."""

    def __init__(
        self, session: CassandraSession, *, max_statements: int = MAX_STATEMENTS, max_bytes: int = MAX_BYTES
    ) -> None:
        self._session = session
        self._max_statements = max_statements
        self._max_bytes = max_bytes
        self._queues: dict[Hashable, collections.deque[_Member]] = {}
        self._drains: set[asyncio.Task[None]] = set()

    async def commit(
        self,
        *,
        partition: Hashable,
        action: str,
        fence: Statement,
        statements: Sequence[Statement],
        keys: frozenset[Hashable],
    ) -> list[Row]:
        """Apply ``fence`` + ``statements`` as one conditional batch (possibly shared); its rows.

        The rows are what the batch would have answered alone: ``[applied]``
        true, or false with the current values of the conditioned rows.
        """
        member = _Member(
            action=action,
            fence=fence,
            statements=list(statements),
            keys=keys,
            size=bound_size(statements),
            done=asyncio.get_running_loop().create_future(),
        )
        queue = self._queues.get(partition)
        if queue is None:
            queue = self._queues[partition] = collections.deque()
            # A fresh context: the drain serves every caller that queues on
            # the partition, not the request (deadline, trace) that started it.
            drain = asyncio.get_running_loop().create_task(
                self._drain(partition, queue), context=contextvars.Context()
            )
            self._drains.add(drain)
            drain.add_done_callback(self._drains.discard)
        queue.append(member)
        return await member.done

    async def _drain(self, partition: Hashable, queue: collections.deque[_Member]) -> None:
        try:
            while queue:
                group = self._take(queue)
                if group:
                    await self._flush(group)
        finally:
            # No await between the last emptiness check and this: a member
            # queued after it starts a new drain.
            del self._queues[partition]
            for member in queue:  # only if this drain itself was cancelled (shutdown)
                member.done.cancel()

    def _take(self, queue: collections.deque[_Member]) -> list[_Member]:
        group: list[_Member] = []
        keys: set[Hashable] = set()
        statements = 1
        size = 0
        left: list[_Member] = []
        while queue:
            member = queue.popleft()
            if member.done.done():  # its caller was cancelled before it was sent
                continue
            if group and (
                member.fence != group[0].fence
                or not keys.isdisjoint(member.keys)
                or statements + len(member.statements) > self._max_statements
                or size + member.size > self._max_bytes
            ):
                left.append(member)
                continue
            group.append(member)
            keys.update(member.keys)
            statements += len(member.statements)
            size += member.size
        queue.extend(left)
        return group

    async def _flush(self, group: list[_Member]) -> None:
        if len(group) == 1:
            await self._alone(group[0])
            return
        statements = [group[0].fence]
        for member in group:
            statements += member.statements
        try:
            rows = await self._session.execute_batch(
                f"{group[0].action} (and {len(group) - 1} more writes of its partition)", statements
            )
        except Exception as error:
            for member in group:
                _fail(member, error)
            return
        except BaseException:
            for member in group:
                member.done.cancel()
            raise
        if applied(rows):
            for member in group:
                if not member.done.done():
                    member.done.set_result(rows)
            return
        for member in group:
            await self._alone(member)

    async def _alone(self, member: _Member) -> None:
        if member.done.done():
            return
        try:
            rows = await self._session.execute_batch(member.action, [member.fence, *member.statements])
        except Exception as error:
            _fail(member, error)
            return
        except BaseException:
            member.done.cancel()
            raise
        if not member.done.done():
            member.done.set_result(rows)


def _fail(member: _Member, error: Exception) -> None:
    if not member.done.done():
        member.done.set_exception(error)
