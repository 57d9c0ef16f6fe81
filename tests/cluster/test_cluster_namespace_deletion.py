"""DeleteNamespace in cluster mode: roles in separate processes over one MariaDB or Cassandra.

One frontend, two history hosts and one matching host. A namespace's runs
spread over the shards of both history hosts, so the deleter (on the host
owning the namespace's shard) reaches half of them over gRPC through
history's ``DeleteWorkflowExecution``. After the delete: new starts are
refused at once; within the deleter's interval and grace every run,
visibility row, schedule and task queue of the namespace is gone (read back
from the database through the stores); the name registers again and works;
another namespace's running workflow is untouched.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path

import grpc
import pytest
from google.protobuf import duration_pb2

from legato import workflow
from legato.api.v1 import enums_pb2, schedule_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato.client import Client
from legato.exceptions import RPCError
from legato.schedules import schedule_action
from legato.worker import Worker
from legato_server.history.routing import shard_for
from legato_server.persistence.config import CassandraConfig, PersistenceConfig
from legato_server.persistence.factory import create_persistence
from legato_server.persistence.interface import NotFoundError, VisibilityFilter
from tests import infra
from tests.cluster.harness import NUM_SHARDS, Cluster
from tests.waiting import wait_until

pytestmark = pytest.mark.timeout(300)

QUEUE = "cluster-deletion"
RUNS = 12


@workflow.defn
class Napper:
    @workflow.run
    async def run(self) -> str:
        await workflow.sleep(timedelta(hours=1))
        return "woke"


@workflow.defn
class Brief:
    @workflow.run
    async def run(self) -> str:
        return "done"


@pytest.fixture(params=["mysql", "cassandra"])
async def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cluster]:
    made = Cluster(
        kind=request.param,
        workdir=tmp_path,
        extra_config={"namespace_deletion": {"interval_seconds": 1, "grace_seconds": 3}},
    )
    try:
        await asyncio.to_thread(made.create, frontend=1, history=2, matching=1)
        yield made
    finally:
        await asyncio.to_thread(made.close)


async def _namespace_state(client: Client, name: str) -> int | None:
    try:
        described = await client.service.call(
            "DescribeNamespace", ws.DescribeNamespaceRequest(namespace=name)
        )
    except RPCError as err:
        if err.status == grpc.StatusCode.NOT_FOUND:
            return None
        raise
    return int(described.namespace_info.state)


async def test_a_deleted_namespace_is_emptied_across_history_hosts_and_its_name_reused(
    cluster: Cluster,
) -> None:
    address = cluster.of("frontend")[0].address
    async with AsyncExitStack() as stack:
        admin = await Client.connect(address)
        stack.push_async_callback(admin.close)
        for name in ("tenant", "bystander"):
            await admin.service.call("RegisterNamespace", ws.RegisterNamespaceRequest(namespace=name))
        tenant = await Client.connect(address, namespace="tenant")
        bystander = await Client.connect(address, namespace="bystander")
        stack.push_async_callback(tenant.close)
        stack.push_async_callback(bystander.close)
        described = await admin.service.call(
            "DescribeNamespace", ws.DescribeNamespaceRequest(namespace="tenant")
        )
        tenant_id = described.namespace_info.id

        async with Worker(bystander, task_queue=QUEUE, workflows=[Napper]):
            survivor = await bystander.start_workflow(Napper.run, id="survivor", task_queue=QUEUE)
            await wait_until(lambda: _has_timer(survivor), within=30, what="the survivor's timer")
        workflow_ids = [f"napper-{n}" for n in range(RUNS)] + [f"brief-{n}" for n in range(RUNS // 2)]
        shards = {shard_for(tenant_id, workflow_id, NUM_SHARDS) for workflow_id in workflow_ids}
        assert len(shards) > 4, "the runs spread over shards of both history hosts"
        async with Worker(tenant, task_queue=QUEUE, workflows=[Napper, Brief]):
            nappers = [
                await tenant.start_workflow(Napper.run, id=f"napper-{n}", task_queue=QUEUE)
                for n in range(RUNS)
            ]
            for n in range(RUNS // 2):
                handle = await tenant.start_workflow(Brief.run, id=f"brief-{n}", task_queue=QUEUE)
                assert await handle.result() == "done"
            for handle in nappers:
                await wait_until(lambda h=handle: _has_timer(h), within=30, what=f"{handle.id}'s timer")
            action = await schedule_action(tenant, Brief, id="scheduled", task_queue=QUEUE)
            spec = schedule_pb2.ScheduleSpec(
                interval=[schedule_pb2.IntervalSpec(interval=duration_pb2.Duration(seconds=3600))]
            )
            await tenant.create_schedule("hourly", schedule_pb2.Schedule(spec=spec, action=action))

            await admin.delete_namespace("tenant")

            with pytest.raises(RPCError) as refused:
                await tenant.start_workflow(Brief.run, id="too-late", task_queue=QUEUE)
            assert refused.value.status == grpc.StatusCode.FAILED_PRECONDITION
            assert 'namespace "tenant" is being deleted' in str(refused.value)

        async def gone() -> bool:
            return await _namespace_state(admin, "tenant") is None

        try:
            await wait_until(gone, within=90, interval=0.5, what="the namespace to be deleted")
        except AssertionError as err:
            pytest.fail(f"{err}\n{cluster.logs()}")

        persistence = await create_persistence(_store_config(cluster))
        try:
            records, _ = await persistence.visibility.list_executions(
                namespace_id=tenant_id, filter=VisibilityFilter(), page_size=100
            )
            assert records == []
            for workflow_id in workflow_ids:
                with pytest.raises(NotFoundError):
                    await persistence.executions.get_current_execution(
                        shard_id=shard_for(tenant_id, workflow_id, NUM_SHARDS),
                        namespace_id=tenant_id,
                        workflow_id=workflow_id,
                    )
            schedules, _ = await persistence.schedules.list_schedules(namespace_id=tenant_id, page_size=10)
            assert schedules == []
            queues, _ = await persistence.task_queues.list_task_queues(namespace_id=tenant_id, page_size=10)
            assert queues == []
        finally:
            await persistence.close()

        await admin.service.call("RegisterNamespace", ws.RegisterNamespaceRequest(namespace="tenant"))
        reborn = await Client.connect(address, namespace="tenant")
        stack.push_async_callback(reborn.close)
        async with Worker(reborn, task_queue=QUEUE, workflows=[Brief]):
            handle = await reborn.start_workflow(Brief.run, id="brief-0", task_queue=QUEUE)
            assert await handle.result() == "done"
        still = await bystander.get_workflow_handle("survivor").describe()
        assert still.status == enums_pb2.WORKFLOW_EXECUTION_STATUS_RUNNING


def _store_config(cluster: Cluster) -> PersistenceConfig:
    if cluster.kind == "mysql":
        return PersistenceConfig(kind="mysql", mysql=infra.mysql_config(cluster.database))
    return PersistenceConfig(
        kind="cassandra",
        cassandra=CassandraConfig(
            hosts=[infra.CASSANDRA_HOST], port=infra.CASSANDRA_PORT, keyspace=cluster.database
        ),
    )


async def _has_timer(handle) -> bool:  # type: ignore[no-untyped-def]
    history = await handle.fetch_history()
    return any(event.event_type == enums_pb2.EVENT_TYPE_TIMER_STARTED for event in history.events)
