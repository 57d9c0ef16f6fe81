"""The history service entry point the server assembly calls.

``start_history_service`` fixes the shard count (the first start of a cluster
records it; later starts use the recorded one), acquires the shards this host
owns, starts their queue processors and returns the handler, a shard-routing
client, and ``stop``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from legato_server.history.client import HistoryClient, LocalShardRouter, ShardRouter
from legato_server.history.clock import Clock, RealClock
from legato_server.history.handler import HistoryHandler
from legato_server.history.operations.timer_tasks import execute_timer_task
from legato_server.history.operations.transfer_tasks import execute_transfer_task
from legato_server.history.shards.engine import HistoryEngine
from legato_server.persistence.interface import Persistence

log = logging.getLogger(__name__)


class HistoryService:
    def __init__(self, engine: HistoryEngine, handler: HistoryHandler, client: HistoryClient) -> None:
        self.engine = engine
        self.handler = handler
        self.client = client

    @property
    def num_history_shards(self) -> int:
        return self.engine.num_shards

    async def acquire_shard(self, shard_id: int) -> None:
        """Take ownership of a shard (e.g. when the membership ring moves it here)."""
        await self.engine.acquire_shard(shard_id)

    async def release_shard(self, shard_id: int) -> None:
        await self.engine.release_shard(shard_id)

    async def stop(self) -> None:
        await self.engine.stop()


async def start_history_service(
    *,
    persistence: Persistence,
    matching_client: Any,
    namespace_registry: Any,
    host_identity: str,
    num_history_shards: int,
    owned_shards: Iterable[int] | None = None,
    clock: Clock | None = None,
    router: ShardRouter | None = None,
    cluster_name: str = "legato",
) -> HistoryService:
    stored = await persistence.cluster_metadata.init_cluster_metadata(
        cluster_name=cluster_name, num_history_shards=num_history_shards
    )
    if stored != num_history_shards:
        log.warning(
            "num_history_shards is %d in the configuration but the cluster was created with %d; using %d "
            "(the shard count can never change)",
            num_history_shards,
            stored,
            stored,
        )
    engine = HistoryEngine(
        persistence=persistence,
        matching_client=matching_client,
        namespace_registry=namespace_registry,
        host_identity=host_identity,
        num_history_shards=stored,
        clock=clock or RealClock(),
        execute_transfer_task=execute_transfer_task,
        execute_timer_task=execute_timer_task,
    )
    handler = HistoryHandler(engine)
    client = HistoryClient(router or LocalShardRouter([handler]), num_history_shards=stored)
    engine.history_client = client
    service = HistoryService(engine, handler, client)
    shards = range(stored) if owned_shards is None else owned_shards
    try:
        for shard_id in shards:
            await engine.acquire_shard(shard_id)
    except BaseException:
        await engine.stop()
        raise
    return service
