"""Updates in cluster mode: frontend, history and matching in processes of their own over one database.

The parts of an update that cross roles over gRPC here and in-process on the
dev server: the validation round trip (history -> matching -> worker, and the
rejection coming back through matching), the deadline-bounded wait in history
for the handler's result, and deduplication by update id after a history host
restarted.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from legato.client import Client
from legato.exceptions import WorkflowUpdateFailedError
from legato.worker import Worker
from tests.cluster.harness import Cluster
from tests.sdk.integration.update_workflows import Cart, reserve

TASK_QUEUE = "cluster-updates"


# MariaDB only, as most cluster scenarios (CI time); the samples test runs updates on Cassandra too.
@pytest.fixture(params=["mysql"])
async def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cluster]:
    made = Cluster(kind=request.param, workdir=tmp_path)
    try:
        await asyncio.to_thread(made.create, frontend=1, history=2, matching=1)
        yield made
    finally:
        await asyncio.to_thread(made.close)


async def test_updates_across_role_processes(cluster: Cluster) -> None:
    client = await Client.connect(cluster.of("frontend")[0].address)
    try:
        async with Worker(client, task_queue=TASK_QUEUE, workflows=[Cart], activities=[reserve]):
            handles = [
                await client.start_workflow(Cart.run, id=f"cart-{n}", task_queue=TASK_QUEUE) for n in range(6)
            ]
            receipts = await asyncio.wait_for(
                asyncio.gather(
                    *(h.execute_update(Cart.add_item, f"item-{n}") for n, h in enumerate(handles))
                ),
                120,
            )
            assert receipts == [f"reserved item-{n}" for n in range(6)], cluster.logs()
            with pytest.raises(WorkflowUpdateFailedError) as rejected:
                await handles[0].execute_update(Cart.add_item, "")
            assert rejected.value.rejected and "item must not be empty" in str(rejected.value)
            # A history host restarts; the updates then sent twice with one id are applied once.
            history = cluster.of("history")[0]
            await asyncio.to_thread(cluster.stop, history)
            await asyncio.to_thread(cluster.start, history)
            again = await asyncio.gather(*(h.execute_update(Cart.count, 10, id="count-10") for h in handles))
            assert again == [11] * 6
            assert (
                await asyncio.gather(*(h.execute_update(Cart.count, 10, id="count-10") for h in handles))
                == [11] * 6
            )
            for handle in handles:
                await handle.signal(Cart.close)
            results = await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), 120)
        assert results == [[f"item-{n}"] for n in range(6)]
    finally:
        await client.close()
