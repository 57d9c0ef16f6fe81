"""The persisted state of one schedule, and the ids its actions start with.

The ids are what makes firing exactly-once: they depend only on the schedule
and the action's nominal time, never on when or by whom the action is taken.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from google.protobuf import timestamp_pb2

from legato.api.v1 import schedule_pb2
from legato_server.internal.v1 import schedule_state_pb2 as ss
from legato_server.persistence.interface import ScheduleRecord

OVERLAP = schedule_pb2.ScheduleOverlapPolicy
NEVER_MS = 2**62
"""next_wakeup_ms of a schedule with nothing left to do (ended, or paused with nothing pending)."""
RECENT_ACTIONS = 10
DEFAULT_CATCHUP_WINDOW_MS = 365 * 24 * 3600 * 1000
MIN_CATCHUP_WINDOW_MS = 10_000


def workflow_id_for(prefix: str, nominal_ms: int) -> str:
    """``<prefix>-<nominal time, UTC, RFC 3339>``, e.g. ``report-2026-01-01T09:00:00Z``.

    Spec times are whole seconds; a trigger's time (when it was asked for) keeps
    its milliseconds, so it never takes the id of a spec time in the same second.
    """
    when = datetime.fromtimestamp(nominal_ms // 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f".{nominal_ms % 1000:03d}" if nominal_ms % 1000 else ""
    return f"{prefix}-{when}{fraction}Z"


def request_id_for(namespace_id: str, schedule_id: str, nominal_ms: int) -> str:
    """The start's idempotency key: the same for every attempt at the same action."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"legato-schedule:{namespace_id}/{schedule_id}@{nominal_ms}"))


def load(record: ScheduleRecord) -> ss.ScheduleRecordState:
    state = ss.ScheduleRecordState()
    state.ParseFromString(record.data)
    return state


def timestamp(ms: int) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=ms // 1000, nanos=(ms % 1000) * 1_000_000)


def ms_of(value: timestamp_pb2.Timestamp) -> int:
    return value.seconds * 1000 + value.nanos // 1_000_000


def catchup_window_ms(policies: schedule_pb2.SchedulePolicies) -> int:
    if not policies.HasField("catchup_window"):
        return DEFAULT_CATCHUP_WINDOW_MS
    window = policies.catchup_window.seconds * 1000 + policies.catchup_window.nanos // 1_000_000
    return max(MIN_CATCHUP_WINDOW_MS, window)


def overlap_policy(action: ss.PendingAction, schedule: schedule_pb2.Schedule) -> int:
    policy = action.overlap_policy or schedule.policies.overlap_policy
    return policy or OVERLAP.SCHEDULE_OVERLAP_POLICY_SKIP
