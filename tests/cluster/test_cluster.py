"""Cluster mode with real processes: 2 frontends, 3 history and 2 matching hosts over one database.

Workflows run through both frontends while history and matching hosts are
killed, added, paused and restarted; every workflow must finish with the right
result and no history may hold a duplicated or missing event id.
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path

import pytest

from legato import activity, workflow
from legato.api.v1 import enums_pb2
from legato.client import Client, WorkflowHandle
from legato.exceptions import RPCError
from legato.worker import Worker
from legato_server.common import task_queue_partitions
from legato_server.membership.ring import HashRing
from tests.cluster.harness import TTL_S, Cluster

TASK_QUEUE = "cluster"

# Starting seven processes and waiting up to 240 s for the workload must fit, so
# the test's own wait (which prints what each stuck workflow waits for) fires first.
pytestmark = pytest.mark.timeout(600)


@activity.defn
async def add_one(value: int) -> int:
    return value + 1


@workflow.defn
class ChildWorkflow:
    @workflow.run
    async def run(self, value: int) -> int:
        return await workflow.execute_activity(add_one, value, start_to_close_timeout=timedelta(seconds=10))


@workflow.defn
class MixedWorkflow:
    """An activity, a timer, a child, a signal from a peer workflow, and continue-as-new once."""

    def __init__(self) -> None:
        self.pings: list[int] = []

    @workflow.run
    async def run(self, value: int, peer: str, generation: int) -> int:
        after_activity = await workflow.execute_activity(
            add_one, value, start_to_close_timeout=timedelta(seconds=10)
        )
        await asyncio.sleep(1)
        from_child = await workflow.execute_child_workflow(
            ChildWorkflow.run, after_activity, id=f"{workflow.info().workflow_id}-child-{generation}"
        )
        await workflow.get_external_workflow_handle(peer).signal(MixedWorkflow.ping, generation)
        await workflow.wait_condition(lambda: generation in self.pings)
        if generation == 0:
            workflow.continue_as_new(from_child, peer, 1)
        return from_child

    @workflow.signal
    def ping(self, generation: int) -> None:
        self.pings.append(generation)


@workflow.defn
class SteadyWorkflow:
    @workflow.run
    async def run(self, value: int) -> int:
        total = value
        for _ in range(3):
            await asyncio.sleep(0.5)
            total = await workflow.execute_activity(
                add_one, total, start_to_close_timeout=timedelta(seconds=10)
            )
        return total


async def _connect(address: str) -> Client:
    deadline = time.monotonic() + 30
    while True:
        try:
            return await Client.connect(address)
        except RPCError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def _workers(stack: AsyncExitStack, cluster: Cluster) -> list[Client]:
    clients = [await _connect(p.address) for p in cluster.of("frontend")]
    for client in clients:
        await stack.enter_async_context(
            Worker(
                client,
                task_queue=TASK_QUEUE,
                workflows=[MixedWorkflow, ChildWorkflow, SteadyWorkflow],
                activities=[add_one],
            )
        )
    return clients


async def _stuck(handles: list[WorkflowHandle]) -> str:  # type: ignore[type-arg]
    """What each unfinished workflow waits for: its pending work and its last events."""
    lines = []
    for handle in handles:
        description = await handle.describe()
        if description.close_time is not None:
            continue
        events = (await handle.fetch_history()).events
        last = [enums_pb2.EventType.Name(e.event_type)[11:] for e in events[-4:]]
        pending = [(a.activity_id, a.state, a.attempt) for a in description.pending_activities]
        lines.append(
            f"{handle.id}: task attempt {description.workflow_task_attempt}, activities {pending}, last {last}"
        )
    return "\n".join(lines[:20]) + f"\n({len(lines)} unfinished)"


async def _check_histories(handles: list[WorkflowHandle]) -> None:  # type: ignore[type-arg]
    for handle in handles:
        ids = [event.event_id for event in (await handle.fetch_history()).events]
        assert ids == list(range(1, len(ids) + 1)), f"{handle.id}: event ids {ids}"


_LOADED = re.compile(r"task queue (\S+) \(type (\d+), namespace (\S+)\) loaded")
_HOST_ID = re.compile(r"legato server (\S+) listening")


def _check_partitions_follow_the_ring(cluster: Cluster) -> None:
    """Each partition of the workload's queue was loaded by the matching host the ring gives it.

    With 4 partitions of 2 task types (8 keys) on 2 hosts, the ring puts them
    all on one host in under 1% of clusters (its host ids hold random ports);
    the assertion then still checks placement, and the message says so.
    """
    loaded: dict[str, set[tuple[str, str, int]]] = {}
    for process in cluster.of("matching"):
        text = process.log.read_text()
        found = _HOST_ID.search(text)
        assert found, f"no host id in {process.log}"
        loaded[found.group(1)] = {
            (namespace_id, name, int(task_type))
            for name, task_type, namespace_id in _LOADED.findall(text)
            if task_queue_partitions.parse(name).root == TASK_QUEUE
        }
    keys = set().union(*loaded.values())
    names = {name for _, name, _ in keys}
    assert len(names) == 4, f"expected the 4 partitions of {TASK_QUEUE!r} loaded, got {sorted(names)}"
    ring = HashRing(loaded)
    owners = {key: ring.task_queue_owner(*key) for key in keys}
    for key, owner in owners.items():
        assert key in loaded[owner], f"partition {key} not loaded by its ring owner {owner}: {loaded}"
    spread = {owner for owner in owners.values()}
    assert spread == set(loaded) or len(set(ring.task_queue_owner(*key) for key in keys)) == 1, (
        f"partitions of {TASK_QUEUE!r} by host: {loaded}"
    )


# Every scenario runs on MariaDB; the two that exercise the store the most
# (many hosts writing, a dead owner's shards stolen) also on Cassandra, which
# keeps the suite inside CI's time budget.
BOTH_STORES = pytest.mark.parametrize("cluster", ["mysql", "cassandra"], indirect=True)


@pytest.fixture(params=["mysql"])
async def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cluster]:
    made = Cluster(kind=request.param, workdir=tmp_path)
    try:
        await asyncio.to_thread(made.create)
        yield made
    finally:
        await asyncio.to_thread(made.close)


@BOTH_STORES
async def test_a_mixed_workload_runs_across_hosts(cluster: Cluster) -> None:
    async with AsyncExitStack() as stack:
        clients = await _workers(stack, cluster)
        pairs = 15
        handles = []
        for n in range(pairs * 2):
            peer = f"mixed-{n ^ 1}"  # 0<->1, 2<->3, ...: signals cross shards and hosts
            client = clients[n % len(clients)]
            handles.append(
                await client.start_workflow(
                    MixedWorkflow.run, args=[n, peer, 0], id=f"mixed-{n}", task_queue=TASK_QUEUE
                )
            )
        results = await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), 180)
    assert results == [n + 4 for n in range(pairs * 2)], cluster.logs()
    await _check_histories(handles)
    _check_partitions_follow_the_ring(cluster)


async def _under_load(
    cluster: Cluster, disturb: Callable[[], Awaitable[None]], *, count: int = 200
) -> list[WorkflowHandle]:  # type: ignore[type-arg]
    async with AsyncExitStack() as stack:
        clients = await _workers(stack, cluster)
        handles = [
            await clients[n % len(clients)].start_workflow(
                SteadyWorkflow.run, n, id=f"steady-{n}", task_queue=TASK_QUEUE
            )
            for n in range(count)
        ]
        await disturb()
        try:
            results = await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), 240)
        except TimeoutError:
            pytest.fail(f"workflows did not finish:\n{await _stuck(handles)}\n{cluster.logs()}")
    assert results == [n + 3 for n in range(count)], cluster.logs()
    await _check_histories(handles)
    return handles


@BOTH_STORES
async def test_kill_9_of_a_history_host_under_load_loses_nothing(cluster: Cluster) -> None:
    async def disturb() -> None:
        await asyncio.to_thread(cluster.kill, cluster.of("history")[0])

    await _under_load(cluster, disturb)


async def test_a_history_host_added_under_load_takes_shards(cluster: Cluster) -> None:
    added: list = []

    async def disturb() -> None:
        added.append(await asyncio.to_thread(cluster.add, "history"))

    await _under_load(cluster, disturb)
    assert "acquiring [" in added[0].log.read_text(), added[0].log.read_text()


async def test_a_rolling_restart_of_every_process_loses_nothing(cluster: Cluster) -> None:
    async def disturb() -> None:
        # Frontends too: the test's clients and workers are connected to them, and
        # ride the restart on the SDK's retries (a drained frontend answers UNAVAILABLE).
        for process in list(cluster.processes):
            assert await asyncio.to_thread(cluster.stop, process) == 0, process.log.read_text()[-2000:]
            await asyncio.to_thread(cluster.start, process)

    await _under_load(cluster, disturb, count=100)


async def test_a_paused_history_host_is_fenced_off_and_lets_its_shards_go(cluster: Cluster) -> None:
    paused = cluster.of("history")[0]

    async def disturb() -> None:
        cluster.signal(paused, signal.SIGSTOP)
        await asyncio.sleep(TTL_S + 4)  # its heartbeat expires and the others take its shards
        cluster.signal(paused, signal.SIGCONT)

    await _under_load(cluster, disturb)
    assert paused.alive
    assert "ownership lost" in paused.log.read_text() or "releasing [" in paused.log.read_text()


async def test_kill_9_of_a_matching_host_moves_its_queues(cluster: Cluster) -> None:
    async def disturb() -> None:
        await asyncio.to_thread(cluster.kill, cluster.of("matching")[0])

    await _under_load(cluster, disturb)
