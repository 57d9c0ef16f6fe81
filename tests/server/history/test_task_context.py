"""Transfer tasks run on their own, not inside the request whose write created them.

A task is handed to the queue processor right after the write that created it,
from inside that request. If it inherited the request's context it would also
inherit the caller's deadline, and a dispatch that failed once (a matching
host killed) would be retried under a deadline long past: every retry would
fail at once with DEADLINE_EXCEEDED and the workflow would wait forever for a
task that is never handed to matching.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from legato_server.common import deadline
from legato_server.common.errors import Unavailable
from legato_server.internal.v1 import matching_service_pb2 as msvc
from legato_server.persistence.interface import Persistence
from tests.server.history.conftest import Harness, make_service, wait_until
from tests.server.history.fakes import FakeClock, FakeMatching, FakeNamespaces


@dataclass
class _MatchingBackAfterOneFailure(FakeMatching):
    """Fails the first workflow-task dispatch (its host died); notes each dispatch's deadline."""

    deadlines: list[float | None] = field(default_factory=list)

    async def AddWorkflowTask(self, request: msvc.AddWorkflowTaskRequest) -> msvc.AddWorkflowTaskResponse:
        self.deadlines.append(deadline.remaining_s())
        if len(self.deadlines) == 1:
            raise Unavailable("matching host unreachable")
        return await super().AddWorkflowTask(request)


async def test_a_dispatch_retried_after_the_callers_deadline_is_not_bound_by_it(
    persistence: Persistence, clock: FakeClock, namespaces: FakeNamespaces
) -> None:
    matching = _MatchingBackAfterOneFailure()
    service = await make_service(persistence, clock, matching, namespaces)
    try:
        harness = Harness(service, clock, matching, persistence)
        token = deadline.set_call_timeout(0.05)  # the starting client's call deadline
        try:
            await harness.start("wf-deadline")
        finally:
            deadline.call_deadline.reset(token)
        await wait_until(lambda: matching.deadlines, what="the first dispatch")
        await asyncio.sleep(0.1)  # the caller's deadline is now past

        await clock.advance(1)  # the transfer task's retry backoff
        await wait_until(lambda: matching.workflow_tasks, what="the retried dispatch to reach matching")

        assert matching.deadlines[1:] and all(left is None for left in matching.deadlines), matching.deadlines
    finally:
        await service.stop()
