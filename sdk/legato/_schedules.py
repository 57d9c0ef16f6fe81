"""Schedules from the client: the ``ScheduleService`` calls behind ``Client.create_schedule`` and its handle.

A schedule is a server-side object that starts a workflow on a calendar, an
interval or a cron string (``legato.api.v1.ScheduleSpec``); the server runs
it, durably and exactly once per scheduled time. ``Client`` creates a
``ScheduleClient`` on its own channel; users see ``Client.create_schedule``,
``Client.get_schedule_handle``, ``Client.list_schedules`` and ``ScheduleHandle``
(see ``legato.schedules`` for the public names and ``schedule_action``).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from legato._service import ServiceClient
from legato.api.v1 import schedule_pb2, schedule_pb2_grpc

OVERLAP = schedule_pb2.ScheduleOverlapPolicy


class ScheduleClient:
    """The ``ScheduleService`` RPCs of one namespace, on an existing channel (``Client`` holds one)."""

    def __init__(self, service: ServiceClient, *, namespace: str, identity: str) -> None:
        channel = service._channel
        if channel is None:
            raise ValueError("schedules need a client connected with Client.connect (they share its channel)")
        self.namespace = namespace
        self.identity = identity
        self.service = ServiceClient(
            schedule_pb2_grpc.ScheduleServiceStub(channel),
            retry=service.retry,
            metadata=dict(service._metadata),
        )

    async def create_schedule(
        self, schedule_id: str, schedule: schedule_pb2.Schedule, *, trigger_immediately: bool = False
    ) -> ScheduleHandle:
        patch = schedule_pb2.SchedulePatch()
        if trigger_immediately:
            patch.trigger_immediately.SetInParent()
        await self.service.call(
            "CreateSchedule",
            schedule_pb2.CreateScheduleRequest(
                namespace=self.namespace,
                schedule_id=schedule_id,
                schedule=schedule,
                initial_patch=patch,
                identity=self.identity,
                request_id=str(uuid.uuid4()),
            ),
        )
        return self.get_schedule_handle(schedule_id)

    def get_schedule_handle(self, schedule_id: str) -> ScheduleHandle:
        return ScheduleHandle(self, schedule_id)

    async def list_schedules(self, *, page_size: int = 100) -> AsyncIterator[schedule_pb2.ScheduleListEntry]:
        token = b""
        while True:
            response = await self.service.call(
                "ListSchedules",
                schedule_pb2.ListSchedulesRequest(
                    namespace=self.namespace, maximum_page_size=page_size, next_page_token=token
                ),
            )
            for entry in response.schedules:
                yield entry
            token = response.next_page_token
            if not token:
                return


class ScheduleHandle:
    def __init__(self, schedules: ScheduleClient, schedule_id: str) -> None:
        self._schedules = schedules
        self.id = schedule_id

    @property
    def _namespace(self) -> str:
        return self._schedules.namespace

    async def describe(self) -> schedule_pb2.DescribeScheduleResponse:
        response: schedule_pb2.DescribeScheduleResponse = await self._schedules.service.call(
            "DescribeSchedule",
            schedule_pb2.DescribeScheduleRequest(namespace=self._namespace, schedule_id=self.id),
        )
        return response

    async def update(self, schedule: schedule_pb2.Schedule, *, conflict_token: bytes = b"") -> None:
        """Replace the schedule (with ``conflict_token`` from ``describe``: only if unchanged since)."""
        await self._schedules.service.call(
            "UpdateSchedule",
            schedule_pb2.UpdateScheduleRequest(
                namespace=self._namespace,
                schedule_id=self.id,
                schedule=schedule,
                conflict_token=conflict_token,
                identity=self._schedules.identity,
                request_id=str(uuid.uuid4()),
            ),
        )

    async def _patch(self, patch: schedule_pb2.SchedulePatch) -> None:
        await self._schedules.service.call(
            "PatchSchedule",
            schedule_pb2.PatchScheduleRequest(
                namespace=self._namespace,
                schedule_id=self.id,
                patch=patch,
                identity=self._schedules.identity,
                request_id=str(uuid.uuid4()),
            ),
        )

    async def pause(self, *, note: str = "paused") -> None:
        await self._patch(schedule_pb2.SchedulePatch(pause=note or "paused"))

    async def unpause(self, *, note: str = "unpaused") -> None:
        await self._patch(schedule_pb2.SchedulePatch(unpause=note or "unpaused"))

    async def trigger(
        self,
        *,
        overlap: schedule_pb2.ScheduleOverlapPolicy = schedule_pb2.SCHEDULE_OVERLAP_POLICY_UNSPECIFIED,
    ) -> None:
        await self._patch(
            schedule_pb2.SchedulePatch(
                trigger_immediately=schedule_pb2.TriggerImmediatelyRequest(overlap_policy=overlap)
            )
        )

    async def backfill(
        self,
        *ranges: tuple[datetime, datetime],
        overlap: schedule_pb2.ScheduleOverlapPolicy = schedule_pb2.SCHEDULE_OVERLAP_POLICY_UNSPECIFIED,
    ) -> None:
        """Take the actions the spec has in each [start, end] range (inclusive), now."""
        requests: Sequence[schedule_pb2.BackfillRequest] = [
            _backfill(start, end, overlap) for start, end in ranges
        ]
        await self._patch(schedule_pb2.SchedulePatch(backfill_request=requests))

    async def delete(self) -> None:
        await self._schedules.service.call(
            "DeleteSchedule",
            schedule_pb2.DeleteScheduleRequest(
                namespace=self._namespace, schedule_id=self.id, identity=self._schedules.identity
            ),
        )


def _backfill(
    start: datetime, end: datetime, overlap: schedule_pb2.ScheduleOverlapPolicy
) -> schedule_pb2.BackfillRequest:
    request = schedule_pb2.BackfillRequest(overlap_policy=overlap)
    request.start_time.FromDatetime(start)
    request.end_time.FromDatetime(end)
    return request
