"""The shard count is recorded once; every later start reads the first value back."""

from __future__ import annotations

from tests.persistence.builders import unique
from tests.persistence.conftest import OpenStore


async def test_first_shard_count_wins_across_instances(open_store: OpenStore) -> None:
    first, second = await open_store(), await open_store()
    cluster = unique("cluster")

    assert await first.cluster_metadata.init_cluster_metadata(cluster_name=cluster, num_history_shards=4) == 4
    assert await first.cluster_metadata.init_cluster_metadata(cluster_name=cluster, num_history_shards=8) == 4
    assert (
        await second.cluster_metadata.init_cluster_metadata(cluster_name=cluster, num_history_shards=16) == 4
    )


async def test_clusters_are_independent(open_store: OpenStore) -> None:
    store = await open_store()
    one, other = unique("cluster"), unique("cluster")

    await store.cluster_metadata.init_cluster_metadata(cluster_name=one, num_history_shards=4)

    assert await store.cluster_metadata.init_cluster_metadata(cluster_name=other, num_history_shards=32) == 32
