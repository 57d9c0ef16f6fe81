"""The public ``ScheduleService``: schedule RPCs, served by the frontend next to ``WorkflowService``.

Thin: it checks the shape of every request (``validation.well_formed``: enum
values, durations, timestamps, as for ``WorkflowService``), resolves the
namespace, and hands the rest to
``scheduler.operations.Schedules`` (validation of specs and actions, the
conditional writes). The host that owns the schedule's history shard runs it
(``scheduler.loop``); a change made here reaches it within one poll.
"""

from __future__ import annotations

import uuid

from legato.api.v1 import schedule_pb2 as sp
from legato_server.common import errors
from legato_server.frontend import validation as check
from legato_server.namespace import NamespaceRegistry
from legato_server.scheduler.operations import Schedules


class ScheduleHandler:
    def __init__(self, *, namespaces: NamespaceRegistry, schedules: Schedules) -> None:
        self._namespaces = namespaces
        self._schedules = schedules

    async def _namespace_id(self, name: str, *, new_work: bool = False) -> str:
        """The namespace's id; with ``new_work``, FailedPrecondition if it is being deleted."""
        if not name:
            raise errors.InvalidArgument("namespace is required")
        entry = await self._namespaces.get_by_name(name)
        if new_work:
            entry.check_accepts_work()
        return str(entry.id)

    async def CreateSchedule(self, request: sp.CreateScheduleRequest) -> sp.CreateScheduleResponse:
        check.well_formed(request)
        namespace_id = await self._namespace_id(request.namespace, new_work=True)
        token = await self._schedules.create(
            namespace_id=namespace_id,
            namespace=request.namespace,
            schedule_id=request.schedule_id,
            schedule=request.schedule,
            patch=request.initial_patch,
            request_id=request.request_id or str(uuid.uuid4()),
        )
        return sp.CreateScheduleResponse(conflict_token=token)

    async def DescribeSchedule(self, request: sp.DescribeScheduleRequest) -> sp.DescribeScheduleResponse:
        check.well_formed(request)
        namespace_id = await self._namespace_id(request.namespace)
        schedule, info, token = await self._schedules.describe(
            namespace_id=namespace_id, schedule_id=request.schedule_id
        )
        return sp.DescribeScheduleResponse(schedule=schedule, info=info, conflict_token=token)

    async def UpdateSchedule(self, request: sp.UpdateScheduleRequest) -> sp.UpdateScheduleResponse:
        check.well_formed(request)
        namespace_id = await self._namespace_id(request.namespace, new_work=True)
        await self._schedules.update(
            namespace_id=namespace_id,
            schedule_id=request.schedule_id,
            schedule=request.schedule,
            conflict_token=request.conflict_token,
        )
        return sp.UpdateScheduleResponse()

    async def PatchSchedule(self, request: sp.PatchScheduleRequest) -> sp.PatchScheduleResponse:
        check.well_formed(request)
        namespace_id = await self._namespace_id(request.namespace, new_work=True)
        await self._schedules.patch(
            namespace_id=namespace_id,
            schedule_id=request.schedule_id,
            patch=request.patch,
            request_id=request.request_id,
        )
        return sp.PatchScheduleResponse()

    async def DeleteSchedule(self, request: sp.DeleteScheduleRequest) -> sp.DeleteScheduleResponse:
        check.well_formed(request)
        namespace_id = await self._namespace_id(request.namespace)
        await self._schedules.delete(namespace_id=namespace_id, schedule_id=request.schedule_id)
        return sp.DeleteScheduleResponse()

    async def ListSchedules(self, request: sp.ListSchedulesRequest) -> sp.ListSchedulesResponse:
        check.well_formed(request)
        namespace_id = await self._namespace_id(request.namespace)
        entries, token = await self._schedules.list(
            namespace_id=namespace_id,
            page_size=check.page_size(request.maximum_page_size),
            page_token=request.next_page_token,
        )
        return sp.ListSchedulesResponse(schedules=entries, next_page_token=token)
