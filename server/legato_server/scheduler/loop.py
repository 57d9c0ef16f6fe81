"""The scheduler of a history host: runs the due schedules of the shards this host owns.

Every ``poll_interval_s`` (on the injected clock, so tests move time by hand)
it asks the store for each owned shard's schedules whose ``next_wakeup_ms``
has passed, runs one pass over each (``processor``) and writes the record
back conditionally on the conflict token it read. A lost condition means a
user's update or another host got there first: the record stays as the
winner wrote it, plus the starts the lost pass made (``_record_lost_starts``),
and is looked at again on the next poll; a start repeated then is answered
with the existing run (same request id), so nothing is started twice.

A user's patch (trigger, backfill, unpause) sets ``next_wakeup_ms`` to now,
so it takes effect within one poll interval.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from legato_server.common.errors import Unavailable
from legato_server.common.logs import TransientLog
from legato_server.common.periodic import PeriodicPass
from legato_server.persistence.interface import (
    ConditionFailedError,
    NotFoundError,
    ScheduleRecord,
    ScheduleStore,
)
from legato_server.scheduler import state as st
from legato_server.scheduler.calendar import SpecError
from legato_server.scheduler.processor import HistoryForScheduler, Pass, record_starts, run_pass

log = logging.getLogger(__name__)
transient_log = TransientLog(log)
_MERGE_ATTEMPTS = 5


class SchedulerClock(Protocol):
    def now_ms(self) -> int: ...

    async def sleep(self, seconds: float) -> None: ...


class SchedulerLoop:
    def __init__(
        self,
        *,
        store: ScheduleStore,
        history: HistoryForScheduler,
        clock: SchedulerClock,
        owned_shards: Callable[[], Iterable[int]],
        poll_interval_s: float = 1.0,
        batch_size: int = 100,
    ) -> None:
        self._store = store
        self._history = history
        self._clock = clock
        self._owned_shards = owned_shards
        self._batch_size = batch_size
        self._loop = PeriodicPass(
            name="scheduler polls",
            run_once=self.run_once,
            sleep=self._clock.sleep,
            interval_s=poll_interval_s,
            log=log,
        )

    async def run_once(self) -> int:
        """One poll of every owned shard; returns how many schedules were processed."""
        processed = 0
        for shard_id in list(self._owned_shards()):
            due = await self._store.get_due_schedules(
                shard_id=shard_id, max_wakeup_ms=self._clock.now_ms(), batch_size=self._batch_size
            )
            for record in due:
                try:
                    await self.process(record)
                except Unavailable as err:  # a store or history outage: quiet, rate-limited lines
                    transient_log.failed("schedule passes", f"schedule {record.schedule_id}: {err}")
                except Exception:  # one broken schedule must not stop the others
                    log.exception("schedule %s: pass failed; retried on the next poll", record.schedule_id)
                processed += 1
        return processed

    async def process(self, record: ScheduleRecord) -> None:
        state = st.load(record)
        seen = {action.start_workflow_result.workflow_id for action in state.info.recent_actions}
        now_ms = self._clock.now_ms()
        try:
            next_wakeup = await run_pass(
                state,
                Pass(
                    history=self._history,
                    namespace_id=record.namespace_id,
                    schedule_id=record.schedule_id,
                    now_ms=now_ms,
                ),
            )
        except SpecError as err:  # stored by an older version with other rules: park it, do not spin
            log.error("schedule %s: %s; it is parked until updated", record.schedule_id, err)
            next_wakeup = st.NEVER_MS
        updated = ScheduleRecord(
            namespace_id=record.namespace_id,
            schedule_id=record.schedule_id,
            shard_id=record.shard_id,
            data=state.SerializeToString(),
            conflict_token=record.conflict_token + 1,
            next_wakeup_ms=next_wakeup,
        )
        try:
            await self._store.update_schedule(updated, previous_conflict_token=record.conflict_token)
        except ConditionFailedError:
            started = [
                a for a in state.info.recent_actions if a.start_workflow_result.workflow_id not in seen
            ]
            if started:
                await self._record_lost_starts(record, started)

    async def _record_lost_starts(self, record: ScheduleRecord, started: list[Any]) -> None:
        """A user's change won the write race against a pass that started workflows: record them.

        Usually the next pass would find them again (same ids, same request ids),
        but not if the change paused the schedule or moved it past their times.
        """
        for _ in range(_MERGE_ATTEMPTS):
            try:
                fresh = await self._store.get_schedule(
                    shard_id=record.shard_id, namespace_id=record.namespace_id, schedule_id=record.schedule_id
                )
            except NotFoundError:
                return  # deleted meanwhile
            state = st.load(fresh)
            record_starts(state, started)
            try:
                await self._store.update_schedule(
                    dataclasses.replace(
                        fresh,
                        data=state.SerializeToString(),
                        conflict_token=fresh.conflict_token + 1,
                        next_wakeup_ms=self._clock.now_ms(),
                    ),
                    previous_conflict_token=fresh.conflict_token,
                )
                return
            except ConditionFailedError:
                continue
        log.warning(
            "schedule %s: could not record %d starts; they run unlisted", record.schedule_id, len(started)
        )

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
