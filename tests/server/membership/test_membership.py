"""The consistent-hash ring and the heartbeat that feeds it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from legato_server.membership import HashRing, MembershipMonitor
from legato_server.persistence.config import PersistenceConfig
from legato_server.persistence.factory import create_persistence
from legato_server.persistence.interface import Persistence


def test_every_host_computes_the_same_owners() -> None:
    one = HashRing(["host-a", "host-b", "host-c"])
    two = HashRing(["host-c", "host-a", "host-b"])
    assert [one.shard_owner(s) for s in range(512)] == [two.shard_owner(s) for s in range(512)]
    assert one.task_queue_owner("ns", "orders", 1) == two.task_queue_owner("ns", "orders", 1)


def test_shards_are_spread_and_partitioned() -> None:
    ring = HashRing(["host-a", "host-b", "host-c"])
    owned = {host: ring.shards_of(host, 512) for host in ring.hosts}
    assert sorted(s for shards in owned.values() for s in shards) == list(range(512))
    assert all(len(shards) > 512 / 3 / 2 for shards in owned.values()), {h: len(s) for h, s in owned.items()}


def test_a_leaving_host_moves_only_its_own_shards() -> None:
    before = HashRing(["host-a", "host-b", "host-c"])
    after = HashRing(["host-a", "host-b"])
    for shard in range(512):
        if before.shard_owner(shard) != "host-c":
            assert after.shard_owner(shard) == before.shard_owner(shard)


def test_a_single_host_owns_everything_and_an_empty_ring_owns_nothing() -> None:
    assert HashRing(["solo"]).shards_of("solo", 4) == [0, 1, 2, 3]
    assert HashRing([]).shards_of("solo", 4) == []
    with pytest.raises(LookupError):
        HashRing([]).shard_owner(0)


@pytest.fixture
async def persistence() -> AsyncIterator[Persistence]:
    store = await create_persistence(PersistenceConfig())
    yield store
    await store.close()


async def test_hosts_register_see_each_other_and_leave(persistence: Persistence) -> None:
    changes: list[tuple[str, tuple[str, ...]]] = []
    first = MembershipMonitor(
        store=persistence.membership,
        host_id="h1",
        rpc_address="127.0.0.1:1",
        roles=("history", "matching"),
        heartbeat_interval=timedelta(hours=1),
    )
    first.add_listener(lambda role, ring: changes.append((role, ring.hosts)))
    second = MembershipMonitor(
        store=persistence.membership,
        host_id="h2",
        rpc_address="127.0.0.1:2",
        roles=("history",),
        heartbeat_interval=timedelta(hours=1),
    )
    await first.start()
    assert first.owned_shards(8) == list(range(8))
    await second.start()
    await first.refresh()
    assert first.ring("history").hosts == ("h1", "h2")
    assert first.ring("matching").hosts == ("h1",)
    assert sorted(first.owned_shards(64) + second.owned_shards(64)) == list(range(64))
    await second.stop()
    await first.refresh()
    assert first.ring("history").hosts == ("h1",)
    assert ("history", ("h1", "h2")) in changes
    assert first.address_of("h1") == "127.0.0.1:1"
    assert first.address_of("h2") is None  # left
    assert first.ring("frontend").hosts == ()  # every role has a ring, even one this host does not run
    await first.stop()
    assert await persistence.membership.list_members(now_ms=int(time.time() * 1000)) == []


async def test_peer_channels_of_hosts_that_left_are_closed() -> None:
    import grpc

    from legato_server.common.routing import PeerClients
    from legato_server.internal.v1 import history_service_pb2, history_service_pb2_grpc

    service = history_service_pb2.DESCRIPTOR.services_by_name["HistoryService"]
    peers = PeerClients(grpc.aio.insecure_channel)
    kept = peers.client("127.0.0.1:1", history_service_pb2_grpc.HistoryServiceStub, service)
    peers.client("127.0.0.1:2", history_service_pb2_grpc.HistoryServiceStub, service)
    await peers.retain({"127.0.0.1:1"})
    assert peers.client("127.0.0.1:1", history_service_pb2_grpc.HistoryServiceStub, service) is kept
    assert set(peers._channels) == {"127.0.0.1:1"}
    await peers.close()
