"""Schedules: unique per namespace, conditional updates, paged listing, due rows per shard."""

from __future__ import annotations

import dataclasses

import pytest

from legato_server.persistence.interface import (
    AlreadyExistsError,
    ConditionFailedError,
    NotFoundError,
    Persistence,
    ScheduleRecord,
)
from tests.persistence.builders import unique


def _schedule(
    namespace_id: str, schedule_id: str | None = None, *, shard_id: int = 1, wakeup: int = 1000
) -> ScheduleRecord:
    schedule_id = schedule_id or unique("sched")
    return ScheduleRecord(
        namespace_id=namespace_id,
        schedule_id=schedule_id,
        shard_id=shard_id,
        data=f"state:{schedule_id}".encode(),
        conflict_token=1,
        next_wakeup_ms=wakeup,
    )


def _key(record: ScheduleRecord) -> dict[str, object]:
    return {
        "shard_id": record.shard_id,
        "namespace_id": record.namespace_id,
        "schedule_id": record.schedule_id,
    }


async def test_create_get_and_id_is_unique_per_namespace(persistence: Persistence) -> None:
    namespace_id = unique("ns")
    record = _schedule(namespace_id)
    await persistence.schedules.create_schedule(record)
    assert await persistence.schedules.get_schedule(**_key(record)) == record  # type: ignore[arg-type]

    with pytest.raises(AlreadyExistsError):
        await persistence.schedules.create_schedule(dataclasses.replace(record, data=b"other"))
    assert (await persistence.schedules.get_schedule(**_key(record))).data == record.data  # type: ignore[arg-type]

    other_namespace = dataclasses.replace(record, namespace_id=unique("ns"))
    await persistence.schedules.create_schedule(other_namespace)


async def test_missing_schedule_is_not_found(persistence: Persistence) -> None:
    with pytest.raises(NotFoundError):
        await persistence.schedules.get_schedule(shard_id=1, namespace_id=unique("ns"), schedule_id="nope")


async def test_update_is_conditional_on_the_conflict_token(persistence: Persistence) -> None:
    record = _schedule(unique("ns"))
    await persistence.schedules.create_schedule(record)
    newer = dataclasses.replace(record, data=b"v2", conflict_token=2, next_wakeup_ms=5000)
    await persistence.schedules.update_schedule(newer, previous_conflict_token=1)
    assert await persistence.schedules.get_schedule(**_key(record)) == newer  # type: ignore[arg-type]

    stale = dataclasses.replace(record, data=b"stale", conflict_token=2)
    with pytest.raises(ConditionFailedError):
        await persistence.schedules.update_schedule(stale, previous_conflict_token=1)
    assert await persistence.schedules.get_schedule(**_key(record)) == newer  # type: ignore[arg-type]


async def test_delete_then_update_fails_and_the_id_is_free_again(persistence: Persistence) -> None:
    record = _schedule(unique("ns"))
    await persistence.schedules.create_schedule(record)
    await persistence.schedules.delete_schedule(**_key(record))  # type: ignore[arg-type]
    await persistence.schedules.delete_schedule(**_key(record))  # type: ignore[arg-type]  # no error when gone
    with pytest.raises(NotFoundError):
        await persistence.schedules.get_schedule(**_key(record))  # type: ignore[arg-type]
    with pytest.raises(ConditionFailedError):
        await persistence.schedules.update_schedule(
            dataclasses.replace(record, conflict_token=2), previous_conflict_token=1
        )
    await persistence.schedules.create_schedule(record)
    assert await persistence.schedules.get_schedule(**_key(record)) == record  # type: ignore[arg-type]


async def test_list_pages_by_schedule_id_within_the_namespace(persistence: Persistence) -> None:
    namespace_id = unique("ns")
    ids = [f"s-{i:02d}" for i in range(7)]
    for index, schedule_id in enumerate(reversed(ids)):
        await persistence.schedules.create_schedule(_schedule(namespace_id, schedule_id, shard_id=index % 3))
    await persistence.schedules.create_schedule(_schedule(unique("ns"), "s-00"))
    await persistence.schedules.delete_schedule(
        shard_id=(len(ids) - 1 - 3) % 3, namespace_id=namespace_id, schedule_id="s-03"
    )

    seen: list[str] = []
    token = b""
    pages = 0
    while True:
        records, token = await persistence.schedules.list_schedules(
            namespace_id=namespace_id, page_size=2, page_token=token
        )
        pages += 1
        seen.extend(record.schedule_id for record in records)
        if not token:
            break
    assert seen == [i for i in ids if i != "s-03"]
    assert pages == 3


async def test_due_schedules_are_per_shard_earliest_first(persistence: Persistence) -> None:
    namespace_id = unique("ns")
    shard = 900 + (hash(namespace_id) % 50)  # a shard no other test writes
    for schedule_id, wakeup in [("late", 9000), ("early", 1000), ("middle", 5000), ("future", 20_000)]:
        await persistence.schedules.create_schedule(
            _schedule(namespace_id, schedule_id, shard_id=shard, wakeup=wakeup)
        )
    await persistence.schedules.create_schedule(
        _schedule(namespace_id, "elsewhere", shard_id=shard + 100, wakeup=1)
    )

    due = await persistence.schedules.get_due_schedules(shard_id=shard, max_wakeup_ms=9000, batch_size=10)
    assert [record.schedule_id for record in due] == ["early", "middle", "late"]
    first = await persistence.schedules.get_due_schedules(shard_id=shard, max_wakeup_ms=9000, batch_size=2)
    assert [record.schedule_id for record in first] == ["early", "middle"]
