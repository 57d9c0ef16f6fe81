"""Schedules: start a workflow on a calendar, an interval or a cron string, run by the server.

    from legato.api.v1 import schedule_pb2
    from legato.schedules import schedule_action

    action = await schedule_action(client, NightlyReport.run, "eu", id="nightly-report", task_queue="reports")
    handle = await client.create_schedule(
        "nightly-report",
        schedule_pb2.Schedule(
            spec=schedule_pb2.ScheduleSpec(cron_string=["0 2 * * *"], timezone_name="Europe/Berlin"),
            action=action,
            policies=schedule_pb2.SchedulePolicies(
                overlap_policy=schedule_pb2.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE
            ),
        ),
    )
    await handle.pause(note="migration")
    await handle.trigger()
    await handle.backfill((datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 7, tzinfo=UTC)))
    description = await handle.describe()   # schedule, info (recent and next action times), conflict_token
    async for entry in client.list_schedules(): ...

Each started workflow's id is ``<id>-<scheduled time>`` (e.g.
``nightly-report-2026-01-01T01:00:00Z``), so a scheduled time is started once.
"""

from __future__ import annotations

from typing import Any

from legato._schedules import ScheduleClient, ScheduleHandle
from legato.api.v1 import common_pb2, schedule_pb2
from legato.client import Client, workflow_type_name

__all__ = ["ScheduleClient", "ScheduleHandle", "schedule_action"]


async def schedule_action(
    client: Client, workflow: Any, *args: Any, id: str, task_queue: str
) -> schedule_pb2.ScheduleAction:
    """The action "start ``workflow(*args)`` with id ``<id>-<scheduled time>`` on ``task_queue``".

    ``workflow`` is a ``@workflow.defn`` class, its run method, or a type name;
    the arguments are encoded with the client's data converter (and codec).
    """
    action = schedule_pb2.ScheduleWorkflowAction(
        workflow_id=id,
        workflow_type=common_pb2.WorkflowType(name=workflow_type_name(workflow)),
        task_queue=common_pb2.TaskQueue(name=task_queue),
        input=client.data_converter.payload_converter.to_payloads(list(args)),
    )
    await client.data_converter.encode_message(action)
    return schedule_pb2.ScheduleAction(start_workflow=action)
