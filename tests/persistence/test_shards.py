"""Shard rows: creation at range 0, conditional updates on range_id."""

from __future__ import annotations

import dataclasses

import pytest

from legato_server.persistence.interface import Persistence, ShardInfo, ShardOwnershipLostError
from tests.persistence.builders import acquire_shard, unique_shard_id


async def test_get_or_create_starts_at_range_zero_and_is_idempotent(persistence: Persistence) -> None:
    shard_id = unique_shard_id()

    created = await persistence.shards.get_or_create_shard(shard_id)
    again = await persistence.shards.get_or_create_shard(shard_id)

    assert (created.shard_id, created.range_id, created.owner) == (shard_id, 0, "")
    assert (created.transfer_ack_level, created.timer_ack_level_ms) == (0, 0)
    assert again == created


async def test_update_with_current_range_overwrites_every_field(persistence: Persistence) -> None:
    shard_id = unique_shard_id()
    await persistence.shards.get_or_create_shard(shard_id)
    wanted = ShardInfo(
        shard_id=shard_id,
        range_id=1,
        owner="host-a",
        transfer_ack_level=1234,
        timer_ack_level_ms=5678,
        updated_at_ms=42,
    )

    await persistence.shards.update_shard(wanted, previous_range_id=0)

    assert await persistence.shards.get_or_create_shard(shard_id) == wanted


@pytest.mark.parametrize("previous_range_id", [0, 2], ids=["older-range", "newer-range"])
async def test_update_with_other_range_is_rejected_and_writes_nothing(
    persistence: Persistence, previous_range_id: int
) -> None:
    owned = await acquire_shard(persistence, unique_shard_id())  # range_id 1
    intruder = dataclasses.replace(
        owned, range_id=previous_range_id + 1, owner="host-b", transfer_ack_level=99
    )

    with pytest.raises(ShardOwnershipLostError) as caught:
        await persistence.shards.update_shard(intruder, previous_range_id=previous_range_id)

    assert caught.value.shard_id == owned.shard_id
    assert caught.value.expected_range_id == previous_range_id
    assert caught.value.actual_range_id == 1
    assert await persistence.shards.get_or_create_shard(owned.shard_id) == owned


async def test_update_of_missing_shard_is_rejected(persistence: Persistence) -> None:
    shard_id = unique_shard_id()

    with pytest.raises(ShardOwnershipLostError):
        await persistence.shards.update_shard(ShardInfo(shard_id=shard_id, range_id=1), previous_range_id=0)

    assert (await persistence.shards.get_or_create_shard(shard_id)).range_id == 0


async def test_successive_owners_bump_range(persistence: Persistence) -> None:
    shard_id = unique_shard_id()

    first = await acquire_shard(persistence, shard_id, owner="host-a")
    second = await acquire_shard(persistence, shard_id, owner="host-b")

    assert (first.range_id, second.range_id) == (1, 2)
    stored = await persistence.shards.get_or_create_shard(shard_id)
    assert (stored.range_id, stored.owner) == (2, "host-b")
