"""What the frontend does with schedules: create, describe, update, patch, delete, list.

Each change is a read-modify-write of the schedule's record, conditional on
its conflict token and retried a few times when it races with the scheduler's
own pass. Every change sets ``next_wakeup_ms`` to now, so the host running
the schedule takes it into account within one poll. Nothing is written when
validation fails: the spec is compiled and must fire at least once after now,
the action must name a workflow id, type and task queue, a backfill may not
cover more than ``MAX_BACKFILL_ACTIONS`` times.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from legato.api.v1 import schedule_pb2
from legato_server.common.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Unavailable,
)
from legato_server.common.limits import MAX_DURATION, quote
from legato_server.internal.v1 import schedule_state_pb2 as ss
from legato_server.persistence import interface as p
from legato_server.scheduler import state as st
from legato_server.scheduler.calendar import SpecError
from legato_server.scheduler.spec import CompiledSpec, check_fires, compile_spec

MAX_SCHEDULE_ID_LENGTH = 255
MAX_BACKFILL_ACTIONS = 1_000
FUTURE_ACTION_TIMES = 10
RECENT_REQUEST_IDS = 20
_WRITE_ATTEMPTS = 5
_OVERLAP_NAMES = ", ".join(
    n for n in schedule_pb2.ScheduleOverlapPolicy.keys() if not n.endswith("UNSPECIFIED")
)


@dataclass
class Schedules:
    store: p.ScheduleStore
    shard_of: Callable[[str, str], int]
    """The history shard of (namespace_id, schedule_id); its owner runs the schedule."""
    now_ms: Callable[[], int]

    async def create(
        self,
        *,
        namespace_id: str,
        namespace: str,
        schedule_id: str,
        schedule: schedule_pb2.Schedule,
        patch: schedule_pb2.SchedulePatch,
        request_id: str,
    ) -> bytes:
        _check_id(schedule_id)
        now = self.now_ms()
        compiled = validate_schedule(schedule, now_ms=now, seed=f"{namespace_id}/{schedule_id}")
        state = ss.ScheduleRecordState(namespace=namespace, last_processed_ms=now)
        state.schedule.CopyFrom(schedule)
        state.info.create_time.CopyFrom(st.timestamp(now))
        _apply_patch(state, patch, compiled, now_ms=now)
        if request_id:
            state.recent_request_ids.append(request_id)
        record = p.ScheduleRecord(
            namespace_id=namespace_id,
            schedule_id=schedule_id,
            shard_id=self.shard_of(namespace_id, schedule_id),
            data=state.SerializeToString(),
            conflict_token=1,
            next_wakeup_ms=now,
        )
        try:
            await self.store.create_schedule(record)
        except p.AlreadyExistsError:
            existing = await self._read(namespace_id, schedule_id)
            if request_id and request_id in st.load(existing).recent_request_ids:
                return _token(existing.conflict_token)  # a retried create
            raise AlreadyExists(f"schedule {quote(schedule_id)} already exists") from None
        return _token(record.conflict_token)

    async def describe(
        self, *, namespace_id: str, schedule_id: str
    ) -> tuple[schedule_pb2.Schedule, schedule_pb2.ScheduleInfo, bytes]:
        record = await self._read(namespace_id, schedule_id)
        state = st.load(record)
        return state.schedule, self._info(state, namespace_id, schedule_id), _token(record.conflict_token)

    async def update(
        self, *, namespace_id: str, schedule_id: str, schedule: schedule_pb2.Schedule, conflict_token: bytes
    ) -> None:
        now = self.now_ms()
        validate_schedule(schedule, now_ms=now, seed=f"{namespace_id}/{schedule_id}")
        expected = _parse_token(conflict_token) if conflict_token else None

        def change(state: ss.ScheduleRecordState, record: p.ScheduleRecord) -> None:
            if expected is not None and record.conflict_token != expected:
                raise FailedPrecondition(
                    f"schedule {quote(schedule_id)} changed since it was described (conflict token "
                    f"{expected}, now {record.conflict_token}); describe it again and retry"
                )
            state.schedule.CopyFrom(schedule)
            # Times from now on follow the new spec; the old one's past times are done.
            state.last_processed_ms = max(state.last_processed_ms, now)

        await self._change(namespace_id, schedule_id, change, retry=expected is None)

    async def patch(
        self, *, namespace_id: str, schedule_id: str, patch: schedule_pb2.SchedulePatch, request_id: str
    ) -> None:
        now = self.now_ms()
        check_patch(patch)

        def change(state: ss.ScheduleRecordState, record: p.ScheduleRecord) -> None:
            if request_id and request_id in state.recent_request_ids:
                return  # a retried patch: applied already
            compiled = compile_spec(state.schedule.spec, seed=f"{namespace_id}/{schedule_id}")
            _apply_patch(state, patch, compiled, now_ms=now)
            if request_id:
                state.recent_request_ids.append(request_id)
                del state.recent_request_ids[:-RECENT_REQUEST_IDS]

        await self._change(namespace_id, schedule_id, change, retry=True)

    async def delete(self, *, namespace_id: str, schedule_id: str) -> None:
        await self._read(namespace_id, schedule_id)  # NOT_FOUND for an unknown id
        await self.store.delete_schedule(
            shard_id=self.shard_of(namespace_id, schedule_id),
            namespace_id=namespace_id,
            schedule_id=schedule_id,
        )

    async def list(
        self, *, namespace_id: str, page_size: int, page_token: bytes
    ) -> tuple[list[schedule_pb2.ScheduleListEntry], bytes]:
        try:
            records, token = await self.store.list_schedules(
                namespace_id=namespace_id, page_size=page_size, page_token=page_token
            )
        except ValueError as err:
            raise InvalidArgument(f"next_page_token: {err}") from None
        entries = []
        for record in records:
            state = st.load(record)
            info = self._info(state, namespace_id, record.schedule_id)
            entries.append(
                schedule_pb2.ScheduleListEntry(
                    schedule_id=record.schedule_id,
                    spec=state.schedule.spec,
                    workflow_type=state.schedule.action.start_workflow.workflow_type,
                    notes=state.schedule.state.notes,
                    paused=state.schedule.state.paused,
                    recent_actions=info.recent_actions[-3:],
                    future_action_times=info.future_action_times[:3],
                )
            )
        return entries, token

    # ------------------------------------------------------------------ internals

    def _info(
        self, state: ss.ScheduleRecordState, namespace_id: str, schedule_id: str
    ) -> schedule_pb2.ScheduleInfo:
        info = schedule_pb2.ScheduleInfo()
        info.CopyFrom(state.info)
        info.buffer_size = len(state.pending)
        if not state.schedule.state.paused:
            try:
                compiled = compile_spec(state.schedule.spec, seed=f"{namespace_id}/{schedule_id}")
            except SpecError:
                return info
            # From the last time taken: a jittered action whose nominal time has passed may still be ahead.
            now = self.now_ms()
            upcoming = compiled.future_action_times(state.last_processed_ms, count=FUTURE_ACTION_TIMES + 5)
            info.future_action_times.extend(st.timestamp(t) for t in upcoming if t >= now)
            del info.future_action_times[FUTURE_ACTION_TIMES:]
        return info

    async def _read(self, namespace_id: str, schedule_id: str) -> p.ScheduleRecord:
        try:
            return await self.store.get_schedule(
                shard_id=self.shard_of(namespace_id, schedule_id),
                namespace_id=namespace_id,
                schedule_id=schedule_id,
            )
        except p.NotFoundError:
            raise NotFound(f"schedule {quote(schedule_id)} not found") from None

    async def _change(
        self,
        namespace_id: str,
        schedule_id: str,
        change: Callable[[ss.ScheduleRecordState, p.ScheduleRecord], None],
        *,
        retry: bool,
    ) -> None:
        for _ in range(_WRITE_ATTEMPTS if retry else 1):
            record = await self._read(namespace_id, schedule_id)
            state = st.load(record)
            change(state, record)
            state.info.update_time.CopyFrom(st.timestamp(self.now_ms()))
            updated = p.ScheduleRecord(
                namespace_id=namespace_id,
                schedule_id=schedule_id,
                shard_id=record.shard_id,
                data=state.SerializeToString(),
                conflict_token=record.conflict_token + 1,
                next_wakeup_ms=self.now_ms(),
            )
            try:
                await self.store.update_schedule(updated, previous_conflict_token=record.conflict_token)
                return
            except p.ConditionFailedError:
                if not retry:
                    raise FailedPrecondition(
                        f"schedule {quote(schedule_id)} changed while it was being updated; describe it again and retry"
                    ) from None
        raise Unavailable(f"schedule {quote(schedule_id)} is changing too often to update; retry")


def _apply_patch(
    state: ss.ScheduleRecordState, patch: schedule_pb2.SchedulePatch, compiled: CompiledSpec, *, now_ms: int
) -> None:
    if patch.pause:
        state.schedule.state.paused = True
        state.schedule.state.notes = patch.pause
    if patch.unpause:
        state.schedule.state.paused = False
        state.schedule.state.notes = patch.unpause
        # Times that passed while paused are not taken late.
        state.last_processed_ms = max(state.last_processed_ms, now_ms)
    if patch.HasField("trigger_immediately"):
        state.pending.append(
            ss.PendingAction(
                nominal_time_ms=now_ms,
                actual_time_ms=now_ms,
                overlap_policy=patch.trigger_immediately.overlap_policy,
                manual=True,
            )
        )
    for backfill in patch.backfill_request:
        start, end = st.ms_of(backfill.start_time), st.ms_of(backfill.end_time)
        times = compiled.times_between(start - 1, end, limit=MAX_BACKFILL_ACTIONS + 1)
        if len(times) > MAX_BACKFILL_ACTIONS:
            raise InvalidArgument(
                f"backfill covers more than {MAX_BACKFILL_ACTIONS} actions; split it into shorter ranges"
            )
        state.pending.extend(
            ss.PendingAction(
                nominal_time_ms=t, actual_time_ms=t, overlap_policy=backfill.overlap_policy, manual=True
            )
            for t in times
        )


def check_patch(patch: schedule_pb2.SchedulePatch) -> None:
    if patch.pause and patch.unpause:
        raise InvalidArgument("a patch may pause or unpause, not both")
    if patch.HasField("trigger_immediately"):
        _check_overlap(patch.trigger_immediately.overlap_policy, "patch.trigger_immediately.overlap_policy")
    for i, backfill in enumerate(patch.backfill_request):
        where = f"patch.backfill_request[{i}]"
        if not backfill.HasField("start_time") or not backfill.HasField("end_time"):
            raise InvalidArgument(f"{where} needs start_time and end_time")
        if st.ms_of(backfill.end_time) < st.ms_of(backfill.start_time):
            raise InvalidArgument(f"{where}: end_time is before start_time")
        _check_overlap(backfill.overlap_policy, f"{where}.overlap_policy")


def validate_schedule(schedule: schedule_pb2.Schedule, *, now_ms: int, seed: str) -> CompiledSpec:
    """InvalidArgument (saying what is allowed) unless the schedule can run; its compiled spec."""
    try:
        compiled = compile_spec(schedule.spec, seed=seed)
        if not schedule.state.paused:
            check_fires(compiled, now_ms=now_ms)
    except SpecError as err:
        raise InvalidArgument(str(err)) from None
    action = schedule.action.start_workflow
    for field, value in (
        ("workflow_id", action.workflow_id),
        ("workflow_type.name", action.workflow_type.name),
        ("task_queue.name", action.task_queue.name),
    ):
        if not value:
            raise InvalidArgument(f"action.start_workflow.{field} is required")
    if len(action.workflow_id) > 900:
        raise InvalidArgument(
            "action.start_workflow.workflow_id is at most 900 characters (the time is appended)"
        )
    _check_overlap(schedule.policies.overlap_policy, "policies.overlap_policy")
    window = schedule.policies.catchup_window
    if window.seconds < 0 or window.nanos < 0 or window.seconds > MAX_DURATION.total_seconds():
        raise InvalidArgument(
            "policies.catchup_window must be between 0 and 100 years (values under 10s mean 10s)"
        )
    if schedule.state.remaining_actions < 0:
        raise InvalidArgument("state.remaining_actions must not be negative")
    return compiled


def _check_overlap(value: int, where: str) -> None:
    if value not in schedule_pb2.ScheduleOverlapPolicy.values():
        raise InvalidArgument(f"{where}: {value} is not an overlap policy; allowed: {_OVERLAP_NAMES}")


def _check_id(schedule_id: str) -> None:
    if not schedule_id:
        raise InvalidArgument("schedule_id is required")
    if len(schedule_id) > MAX_SCHEDULE_ID_LENGTH:
        raise InvalidArgument(
            f"schedule_id is {len(schedule_id)} characters; at most {MAX_SCHEDULE_ID_LENGTH}"
        )


def _token(value: int) -> bytes:
    return str(value).encode()


def _parse_token(token: bytes) -> int:
    try:
        return int(token.decode())
    except (UnicodeDecodeError, ValueError):
        raise InvalidArgument("conflict_token is not one DescribeSchedule returned") from None
