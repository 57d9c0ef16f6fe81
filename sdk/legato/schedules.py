"""Schedules from the client: create, describe, update, pause/unpause, trigger, backfill, delete, list.

A schedule is a server-side object that starts a workflow on a calendar, an
interval or a cron string (``legato.api.v1.ScheduleSpec``); the server runs
it, durably and exactly once per scheduled time. This module is the typed
front of the ``ScheduleService`` RPCs, on the same channel as the client::

    schedules = ScheduleClient(client)
    handle = await schedules.create_schedule(
        "nightly-report",
        schedule_pb2.Schedule(spec=schedule_pb2.ScheduleSpec(cron_string=["0 2 * * *"]), ...),
    )
    await handle.pause(note="migration")
    await handle.trigger()
    description = await handle.describe()

``schedule_action(...)`` builds the action from a workflow (class, run method
or name) and its arguments, encoded with the client's data converter.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from legato._service import ServiceClient
from legato.api.v1 import common_pb2, schedule_pb2, schedule_pb2_grpc
from legato.client import Client, workflow_type_name

OVERLAP = schedule_pb2.ScheduleOverlapPolicy


async def schedule_action(
    client: Client, workflow: Any, *args: Any, id: str, task_queue: str
) -> schedule_pb2.ScheduleAction:
    """The action "start ``workflow(*args)`` with id ``<id>-<scheduled time>`` on ``task_queue``"."""
    action = schedule_pb2.ScheduleWorkflowAction(
        workflow_id=id,
        workflow_type=common_pb2.WorkflowType(name=workflow_type_name(workflow)),
        task_queue=common_pb2.TaskQueue(name=task_queue),
        input=client.data_converter.payload_converter.to_payloads(list(args)),
    )
    await client.data_converter.encode_message(action)
    return schedule_pb2.ScheduleAction(start_workflow=action)


class ScheduleClient:
    def __init__(self, client: Client) -> None:
        self.client = client
        channel = client.service._channel
        if channel is None:
            raise ValueError(
                "ScheduleClient needs a client connected with Client.connect (it shares its channel)"
            )
        self.service = ServiceClient(
            schedule_pb2_grpc.ScheduleServiceStub(channel),
            retry=client.service.retry,
            metadata=dict(client.service._metadata),
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
                namespace=self.client.namespace,
                schedule_id=schedule_id,
                schedule=schedule,
                initial_patch=patch,
                identity=self.client.identity,
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
                    namespace=self.client.namespace, maximum_page_size=page_size, next_page_token=token
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
        return self._schedules.client.namespace

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
                identity=self._schedules.client.identity,
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
                identity=self._schedules.client.identity,
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
                namespace=self._namespace, schedule_id=self.id, identity=self._schedules.client.identity
            ),
        )


def _backfill(
    start: datetime, end: datetime, overlap: schedule_pb2.ScheduleOverlapPolicy
) -> schedule_pb2.BackfillRequest:
    request = schedule_pb2.BackfillRequest(overlap_policy=overlap)
    request.start_time.FromDatetime(start)
    request.end_time.FromDatetime(end)
    return request
