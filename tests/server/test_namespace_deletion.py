"""DeleteNamespace end to end on a real server (every role in-process, real gRPC, SQLite).

A namespace with running workflows (waiting on timers), closed ones, a
schedule and task queues is deleted; the tests check what a user sees at once
(new work refused with FAILED_PRECONDITION, the DELETED state, the name still
taken) and what the deleter leaves behind: no run, history, visibility row,
schedule or task queue of the namespace, the name free to register and use
again, and another namespace's workflows untouched.

Most tests run the deleter's passes themselves (``namespace_deletion_interval``
of an hour keeps the server's loop out of the way after its first pass), so
each step is observable. The restart test lets the loop run, paced slowly, and
stops the server while it is half-way through a namespace.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import grpc
import pytest
from google.protobuf import duration_pb2

from legato import workflow
from legato.api.v1 import enums_pb2, schedule_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato.client import Client, WorkflowHandle
from legato.exceptions import RPCError
from legato.schedules import schedule_action
from legato.worker import Worker
from legato_server.persistence.config import PersistenceConfig, SQLiteConfig
from legato_server.persistence.interface import NotFoundError, Persistence, VisibilityFilter
from legato_server.server import RunningServer, start_server
from tests.server.conftest import server_config_for_tests
from tests.waiting import wait_until

QUEUE = "deletion-tests"


@workflow.defn
class Sleeper:
    @workflow.run
    async def run(self) -> str:
        await workflow.sleep(timedelta(hours=1))
        return "woke"


@workflow.defn
class Quick:
    @workflow.run
    async def run(self) -> str:
        return "done"


def _config(**overrides: object):  # type: ignore[no-untyped-def]
    values: dict[str, object] = {
        "namespace_deletion_interval": timedelta(hours=1),
        "namespace_deletion_grace": timedelta(0),
    }
    values.update(overrides)
    return server_config_for_tests(**values)


@pytest.fixture
async def server() -> AsyncIterator[RunningServer]:
    running = await start_server(_config())
    try:
        yield running
    finally:
        await running.stop()


async def _client(server: RunningServer, namespace: str) -> Client:
    return await Client.connect(server.address, namespace=namespace)


async def _register(client: Client, name: str) -> None:
    await client.service.call("RegisterNamespace", ws.RegisterNamespaceRequest(namespace=name))


async def _describe(client: Client, name: str) -> ws.DescribeNamespaceResponse:
    response: ws.DescribeNamespaceResponse = await client.service.call(
        "DescribeNamespace", ws.DescribeNamespaceRequest(namespace=name)
    )
    return response


async def _rpc_error(call) -> RPCError:  # type: ignore[no-untyped-def]
    with pytest.raises(RPCError) as caught:
        await call
    return caught.value


async def _timer_started(handle: WorkflowHandle) -> bool:
    history = await handle.fetch_history()
    return any(e.event_type == enums_pb2.EVENT_TYPE_TIMER_STARTED for e in history.events)


async def _visible_runs(persistence: Persistence, namespace_id: str) -> list[str]:
    records, _ = await persistence.visibility.list_executions(
        namespace_id=namespace_id, filter=VisibilityFilter(), page_size=1000
    )
    return [record.run_id for record in records]


async def _populate(client: Client, *, sleepers: int, quick: int) -> list[tuple[str, str]]:
    """Start ``sleepers`` runs that wait on a timer and ``quick`` ones that complete; (workflow id, run id) each."""
    runs: list[tuple[str, str]] = []
    sleeping = []
    for index in range(sleepers):
        handle = await client.start_workflow(Sleeper.run, id=f"sleeper-{index}", task_queue=QUEUE)
        sleeping.append(handle)
        runs.append((handle.id, handle.result_run_id or ""))
    for index in range(quick):
        handle = await client.start_workflow(Quick.run, id=f"quick-{index}", task_queue=QUEUE)
        assert await handle.result() == "done"
        runs.append((handle.id, handle.result_run_id or ""))
    for handle in sleeping:
        await wait_until(lambda h=handle: _timer_started(h), within=20, what=f"{handle.id}'s timer")
    return runs


async def test_a_deleted_namespace_refuses_new_work_then_is_emptied_and_its_name_is_free(
    server: RunningServer,
) -> None:
    admin = await _client(server, "default")
    await _register(admin, "doomed")
    await _register(admin, "kept")
    doomed, kept = await _client(server, "doomed"), await _client(server, "kept")
    async with Worker(kept, task_queue=QUEUE, workflows=[Sleeper]):
        survivor = await kept.start_workflow(Sleeper.run, id="survivor", task_queue=QUEUE)
        await wait_until(lambda: _timer_started(survivor), within=20, what="the survivor's timer")
    doomed_id = (await _describe(admin, "doomed")).namespace_info.id
    async with Worker(doomed, task_queue=QUEUE, workflows=[Sleeper, Quick]):
        runs = await _populate(doomed, sleepers=2, quick=2)
        action = await schedule_action(doomed, Quick, id="from-schedule", task_queue=QUEUE)
        spec = schedule_pb2.ScheduleSpec(
            interval=[schedule_pb2.IntervalSpec(interval=duration_pb2.Duration(seconds=3600))]
        )
        await doomed.create_schedule("hourly", schedule_pb2.Schedule(spec=spec, action=action))
        await wait_until(
            lambda: _visible_runs(server.persistence, doomed_id),
            within=10,
            what="visibility rows of the doomed namespace",
        )
        await wait_until(
            lambda: _visible_runs_count_is(server.persistence, doomed_id, 4), within=10, what="4 visible runs"
        )
        queues, _ = await server.persistence.task_queues.list_task_queues(
            namespace_id=doomed_id, page_size=100
        )
        assert queues, "the worker's polls leased task queues"

        info = await admin.delete_namespace("doomed")

        assert info.state == enums_pb2.NAMESPACE_STATE_DELETED
        assert (await admin.delete_namespace("doomed")).state == enums_pb2.NAMESPACE_STATE_DELETED
        described = await _describe(admin, "doomed")
        assert described.namespace_info.state == enums_pb2.NAMESPACE_STATE_DELETED
        listed: ws.ListNamespacesResponse = await admin.service.call(
            "ListNamespaces", ws.ListNamespacesRequest(page_size=100)
        )
        assert {n.namespace_info.name: n.namespace_info.state for n in listed.namespaces}["doomed"] == (
            enums_pb2.NAMESPACE_STATE_DELETED
        )
        refused = [
            await _rpc_error(doomed.start_workflow(Quick.run, id="too-late", task_queue=QUEUE)),
            await _rpc_error(
                doomed.start_workflow(Quick.run, id="too-late", task_queue=QUEUE, start_signal="poke")
            ),
            await _rpc_error(
                doomed.create_schedule("too-late", schedule_pb2.Schedule(spec=spec, action=action))
            ),
        ]
        for error in refused:
            assert error.status == grpc.StatusCode.FAILED_PRECONDITION
            assert 'namespace "doomed" is being deleted' in str(error)
        taken = await _rpc_error(_register(admin, "doomed"))
        assert taken.status == grpc.StatusCode.FAILED_PRECONDITION
        assert "is being deleted; register it again once the deletion is done" in str(taken)

        deleter = server.namespace_deleter
        assert deleter is not None
        assert (
            await deleter.run_once() == []
        )  # this pass empties it; the record stays until a pass finds nothing

    assert await _visible_runs(server.persistence, doomed_id) == []
    for workflow_id, run_id in runs:
        shard_id = server.history.client.shard_id(doomed_id, workflow_id)
        with pytest.raises(NotFoundError):
            await server.persistence.executions.get_workflow_execution(
                shard_id=shard_id, namespace_id=doomed_id, workflow_id=workflow_id, run_id=run_id
            )
        with pytest.raises(NotFoundError):
            await server.persistence.executions.get_current_execution(
                shard_id=shard_id, namespace_id=doomed_id, workflow_id=workflow_id
            )
        batches, _ = await server.persistence.executions.read_history(
            namespace_id=doomed_id,
            workflow_id=workflow_id,
            run_id=run_id,
            min_event_id=1,
            max_event_id=1 << 40,
            page_size=10,
        )
        assert batches == []
    schedules, _ = await server.persistence.schedules.list_schedules(namespace_id=doomed_id, page_size=10)
    assert schedules == []
    queues, _ = await server.persistence.task_queues.list_task_queues(namespace_id=doomed_id, page_size=100)
    assert queues == []
    assert (await _describe(admin, "doomed")).namespace_info.state == enums_pb2.NAMESPACE_STATE_DELETED

    assert await deleter.run_once() == ["doomed"]

    gone = await _rpc_error(_describe(admin, "doomed"))
    assert gone.status == grpc.StatusCode.NOT_FOUND
    await _register(admin, "doomed")
    reborn = await _client(server, "doomed")
    assert (await _describe(admin, "doomed")).namespace_info.id != doomed_id
    async with Worker(reborn, task_queue=QUEUE, workflows=[Quick]):
        assert (
            await (await reborn.start_workflow(Quick.run, id="quick-0", task_queue=QUEUE)).result() == "done"
        )
    survivor_now = await kept.get_workflow_handle("survivor").describe()
    assert survivor_now.status == enums_pb2.WORKFLOW_EXECUTION_STATUS_RUNNING


async def _visible_runs_count_is(persistence: Persistence, namespace_id: str, count: int) -> bool:
    return len(await _visible_runs(persistence, namespace_id)) == count


@pytest.mark.parametrize(
    ("name", "code", "message"),
    [
        ("no-such-namespace", grpc.StatusCode.NOT_FOUND, 'namespace "no-such-namespace" not found'),
        (
            "default",
            grpc.StatusCode.FAILED_PRECONDITION,
            "is the server's own namespace and cannot be deleted",
        ),
        ("", grpc.StatusCode.INVALID_ARGUMENT, "namespace is required"),
        ("bad name!", grpc.StatusCode.INVALID_ARGUMENT, "has characters that are not allowed"),
    ],
    ids=["unknown", "default", "empty", "malformed"],
)
async def test_bad_delete_requests_are_refused_with_a_typed_error(
    server: RunningServer, name: str, code: grpc.StatusCode, message: str
) -> None:
    admin = await _client(server, "default")
    error = await _rpc_error(
        admin.service.call("DeleteNamespace", ws.DeleteNamespaceRequest(namespace=name), retry=False)
    )
    assert error.status == code
    assert message in str(error)
    assert (await _describe(admin, "default")).namespace_info.state == enums_pb2.NAMESPACE_STATE_REGISTERED


async def test_an_updated_namespace_that_is_being_deleted_is_refused(server: RunningServer) -> None:
    admin = await _client(server, "default")
    await _register(admin, "closing")
    await admin.delete_namespace("closing")
    error = await _rpc_error(
        admin.service.call(
            "UpdateNamespace", ws.UpdateNamespaceRequest(namespace="closing", description="x"), retry=False
        )
    )
    assert error.status == grpc.StatusCode.FAILED_PRECONDITION
    assert "is being deleted" in str(error)


async def test_a_deleter_stopped_half_way_resumes_after_a_restart(tmp_path: Path) -> None:
    """The durable DELETED state is the deleter's only progress: a new server finishes the job."""
    database = PersistenceConfig(kind="sqlite", sqlite=SQLiteConfig(path=tmp_path / "legato.db"))
    slow = _config(
        persistence=database,
        namespace_deletion_interval=timedelta(milliseconds=200),
        namespace_deletion_rate=4.0,
    )
    first = await start_server(slow)
    try:
        admin = await _client(first, "default")
        await _register(admin, "halfway")
        doomed = await _client(first, "halfway")
        namespace_id = (await _describe(admin, "halfway")).namespace_info.id
        async with Worker(doomed, task_queue=QUEUE, workflows=[Sleeper, Quick]):
            await _populate(doomed, sleepers=6, quick=6)
        await wait_until(
            lambda: _visible_runs_count_is(first.persistence, namespace_id, 12),
            within=10,
            what="12 visible runs",
        )
        await admin.delete_namespace("halfway")

        async def some_but_not_all_gone() -> bool:
            return 0 < len(await _visible_runs(first.persistence, namespace_id)) < 12

        await wait_until(some_but_not_all_gone, within=20, what="the deleter to be half-way")
    finally:
        await first.stop()

    second = await start_server(
        _config(persistence=database, namespace_deletion_interval=timedelta(milliseconds=200))
    )
    try:
        assert 0 < len(await _visible_runs(second.persistence, namespace_id)) < 12
        admin = await _client(second, "default")

        async def namespace_gone() -> bool:
            try:
                await _describe(admin, "halfway")
            except RPCError as err:
                return err.status == grpc.StatusCode.NOT_FOUND
            return False

        await wait_until(namespace_gone, within=30, what="the namespace record to go after the restart")
        assert await _visible_runs(second.persistence, namespace_id) == []
        await _register(admin, "halfway")
    finally:
        await second.stop()


async def test_deletion_waits_out_the_grace_before_freeing_the_name() -> None:
    """Hosts cache namespaces: the record stays until the namespace has been empty for the grace."""
    graceful = await start_server(_config(namespace_deletion_grace=timedelta(hours=1)))
    try:
        admin = await _client(graceful, "default")
        await _register(admin, "lingering")
        await admin.delete_namespace("lingering")
        deleter = graceful.namespace_deleter
        assert deleter is not None
        assert await deleter.run_once() == []
        assert await deleter.run_once() == []
        state = (await _describe(admin, "lingering")).namespace_info.state
        assert state == enums_pb2.NAMESPACE_STATE_DELETED
    finally:
        await graceful.stop()


async def test_history_refuses_runs_that_do_not_pass_through_the_frontend(server: RunningServer) -> None:
    """A schedule firing or a child start reach history directly: history checks the state too."""
    from legato.api.v1 import common_pb2
    from legato_server.common.errors import FailedPrecondition
    from legato_server.internal.v1 import history_service_pb2 as hsvc

    admin = await _client(server, "default")
    await _register(admin, "sealed")
    namespace_id = (await _describe(admin, "sealed")).namespace_info.id
    await admin.delete_namespace("sealed")
    start = ws.StartWorkflowExecutionRequest(
        namespace="sealed",
        workflow_id="child",
        workflow_type=common_pb2.WorkflowType(name="Quick"),
        task_queue=common_pb2.TaskQueue(name=QUEUE, kind=enums_pb2.TASK_QUEUE_KIND_NORMAL),
        request_id="r-1",
    )
    start.workflow_task_timeout.FromSeconds(10)

    with pytest.raises(FailedPrecondition, match='namespace "sealed" is being deleted'):
        await server.history.client.StartWorkflowExecution(
            hsvc.StartWorkflowExecutionRequest(namespace_id=namespace_id, start_request=start)
        )


async def test_two_deleters_working_on_one_namespace_at_once_finish_it_without_errors(
    server: RunningServer,
) -> None:
    """As when a shard moves mid-deletion: every step is idempotent, so a second host does no harm."""
    from legato_server.namespace.deleter import NamespaceDeleter

    admin = await _client(server, "default")
    await _register(admin, "contested")
    doomed = await _client(server, "contested")
    namespace_id = (await _describe(admin, "contested")).namespace_info.id
    async with Worker(doomed, task_queue=QUEUE, workflows=[Sleeper, Quick]):
        await _populate(doomed, sleepers=5, quick=5)
    await wait_until(
        lambda: _visible_runs_count_is(server.persistence, namespace_id, 10),
        within=10,
        what="10 visible runs",
    )
    await admin.delete_namespace("contested")
    assert server.namespace_deleter is not None
    other_host = NamespaceDeleter(
        registry=server.namespaces,
        visibility=server.persistence.visibility,
        schedules=server.persistence.schedules,
        task_queues=server.persistence.task_queues,
        history=server.history.client,
        clock=server.history.engine.clock,
        responsible_for=lambda namespace_id: True,
        grace_s=0,
    )

    passes = [
        await asyncio.gather(server.namespace_deleter.run_once(), other_host.run_once()) for _ in range(2)
    ]

    assert any("contested" in removed for round in passes for removed in round), passes
    assert await _visible_runs(server.persistence, namespace_id) == []
    gone = await _rpc_error(_describe(admin, "contested"))
    assert gone.status == grpc.StatusCode.NOT_FOUND


class _VisibilityDownFor:
    """The visibility store, failing (as an outage does) for one namespace id while ``down``."""

    def __init__(self, store: object, namespace_id: str) -> None:
        self._store = store
        self._namespace_id = namespace_id
        self.down = True

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)

    async def list_executions(self, *, namespace_id: str, **kwargs: object) -> object:
        from legato_server.persistence.interface import TransientError

        if self.down and namespace_id == self._namespace_id:
            raise TransientError("visibility store unreachable (test)")
        return await self._store.list_executions(namespace_id=namespace_id, **kwargs)  # type: ignore[attr-defined]


async def test_a_store_outage_for_one_namespace_neither_stalls_the_others_nor_loses_it(
    server: RunningServer,
) -> None:
    admin = await _client(server, "default")
    for name in ("stuck", "flowing"):
        await _register(admin, name)
        await admin.delete_namespace(name)
    stuck_id = (await _describe(admin, "stuck")).namespace_info.id
    deleter = server.namespace_deleter
    assert deleter is not None
    outage = _VisibilityDownFor(deleter._visibility, stuck_id)
    deleter._visibility = outage  # type: ignore[assignment]

    assert await deleter.run_once() == ["flowing"]
    assert await deleter.run_once() == []
    assert (await _describe(admin, "stuck")).namespace_info.state == enums_pb2.NAMESPACE_STATE_DELETED

    outage.down = False
    assert await deleter.run_once() == ["stuck"]
