"""Task queue partitions: names, how the client spreads calls, and forwarding to the root.

Two real matching handlers ("hosts") share one in-memory SQLite store; a small
router gives each partition of a queue to one of them (odd partitions to host
1, the root and even ones to host 0), and each handler reaches the root
through a real ``MatchingClient`` over that router, as in a cluster.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import grpc
import pytest

from legato.api.v1 import common_pb2, workflow_service_pb2
from legato_server.common import task_queue_partitions
from legato_server.common.task_queue_partitions import Partition
from legato_server.internal.v1 import matching_service_pb2
from legato_server.matching import MatchingConfig, MatchingHandler
from legato_server.matching.backlog import TaskQueueKey
from legato_server.matching.client import MatchingClient
from legato_server.persistence.interface import Persistence
from legato_server.server import ServerConfig, apply_environment, server_config_from_mapping
from tests.server.matching.fake_history import FakeHistory
from tests.server.matching.test_matching import (
    NS,
    QUEUE,
    WORKFLOW,
    add_workflow_task,
    persisted,
    poll_workflow,
    until,
)

PARTITIONS = 4


def child(index: int) -> str:
    return Partition(root=QUEUE, index=index).name


# ---------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("name", "root", "index"),
    [
        ("orders", "orders", 0),
        ("/_sys/orders/3", "orders", 3),
        ("/_sys/a/b/2", "a/b", 2),  # a queue name may hold slashes: the index is the last part
        ("/_sys/orders/0", "/_sys/orders/0", 0),  # partition 0 is never named this way
        ("/_sys/orders/x", "/_sys/orders/x", 0),
        ("/_sys/", "/_sys/", 0),
    ],
    ids=["root", "child", "slashes", "zero", "not-a-number", "bare-prefix"],
)
def test_a_name_says_which_partition_of_which_queue(name: str, root: str, index: int) -> None:
    partition = task_queue_partitions.parse(name)
    assert (partition.root, partition.index) == (root, index)
    if index:
        assert partition.name == name


def test_the_partition_count_is_checked() -> None:
    assert task_queue_partitions.check_count(1) == 1
    for bad in (0, 65):
        with pytest.raises(ValueError, match="task_queue_partitions: expected 1 to 64"):
            task_queue_partitions.check_count(bad)
    with pytest.raises(ValueError, match="task_queue_partitions"):
        ServerConfig(task_queue_partitions=0)


def test_the_partition_count_comes_from_the_file_or_the_environment() -> None:
    assert server_config_from_mapping({}).task_queue_partitions == 4
    assert server_config_from_mapping({"task_queue_partitions": 8}).task_queue_partitions == 8
    data = apply_environment({"task_queue_partitions": 8}, {"LEGATO_TASK_QUEUE_PARTITIONS": "2"})
    assert server_config_from_mapping(data).task_queue_partitions == 2


def test_start_dev_runs_one_partition_unless_told(capsys: pytest.CaptureFixture[str]) -> None:
    from legato_server import cli

    parser = cli.build_parser()
    assert parser.parse_args(["start-dev"]).task_queue_partitions == 1
    bad = parser.parse_args(["start-dev", "--in-memory", "--port", "0", "--task-queue-partitions", "0"])
    assert cli.run_start_dev(bad) == 1  # refused before anything starts
    assert "task_queue_partitions: expected 1 to 64 (default 4), got 0" in capsys.readouterr().err


# ---------------------------------------------------------------- spreading


@dataclass
class Recorder:
    """A router that records which queue each call was routed to and answers with empty messages."""

    keys: list[TaskQueueKey] = field(default_factory=list)

    def handler_for_queue(self, key: TaskQueueKey) -> Any:
        self.keys.append(key)
        recorder = self

        class Answer:
            def __getattr__(self, name: str) -> Any:
                async def call(request: Any) -> Any:
                    recorder.requests.append(request)
                    return None

                return call

        return Answer()

    requests: list[Any] = field(default_factory=list)


async def test_the_client_spreads_adds_and_polls_of_normal_queues_and_nothing_else() -> None:
    recorder = Recorder()
    client = MatchingClient(recorder, partitions=PARTITIONS, choose=random.Random(7).randrange)
    for n in range(40):
        await client.AddWorkflowTask(add_workflow_task(f"wf-{n}"))
        await client.PollWorkflowTaskQueue(poll_workflow())
    names = {key.name for key in recorder.keys}
    assert names == {QUEUE, child(1), child(2), child(3)}
    # The caller's request is not changed; the routed copy names the partition.
    routed = [r for r in recorder.requests if isinstance(r, matching_service_pb2.AddWorkflowTaskRequest)]
    assert {r.task_queue.name for r in routed} == names

    recorder.keys.clear()
    await client.AddWorkflowTask(add_workflow_task("wf-sticky", queue="worker-1-sticky", sticky=True))
    forwarded = add_workflow_task("wf-forwarded")
    forwarded.forwarded_from = child(2)
    await client.AddWorkflowTask(forwarded)
    await client.QueryWorkflow(
        matching_service_pb2.QueryWorkflowRequest(
            namespace_id=NS, task_queue=common_pb2.TaskQueue(name=QUEUE)
        )
    )
    assert [key.name for key in recorder.keys] == ["worker-1-sticky", QUEUE, QUEUE]


# ---------------------------------------------------------------- forwarding


@dataclass
class Hosts:
    """Two matching handlers; partition k of a queue lives on host k % 2."""

    handlers: list[MatchingHandler]
    client: MatchingClient

    def handler_for_queue(self, key: TaskQueueKey) -> MatchingHandler:
        return self.handlers[task_queue_partitions.parse(key.name).index % 2]

    def queue(self, name: str) -> Any:
        handler = self.handler_for_queue(TaskQueueKey(NS, name, WORKFLOW))
        return handler._queues.get(TaskQueueKey(NS, name, WORKFLOW))

    def waiting(self, name: str) -> int:
        queue = self.queue(name)
        return queue.matcher.waiting_pollers if queue is not None else 0


async def _hosts(persistence: Persistence, history: FakeHistory, *, poll_timeout_s: float) -> Hosts:
    config = MatchingConfig(poll_timeout=timedelta(seconds=poll_timeout_s))
    handlers = [
        MatchingHandler(task_queues=persistence.task_queues, config=config, history=history) for _ in range(2)
    ]
    hosts = Hosts(handlers=handlers, client=None)  # type: ignore[arg-type]
    hosts.client = MatchingClient(hosts, partitions=PARTITIONS)
    for index, handler in enumerate(handlers):
        handler.owns = lambda key, index=index: hosts.handler_for_queue(key) is handlers[index]
        handler.bind_root(hosts.client)
    return hosts


@pytest.fixture
async def hosts(persistence: Persistence, history: FakeHistory) -> AsyncIterator[Hosts]:
    made = await _hosts(persistence, history, poll_timeout_s=60)
    yield made
    for handler in made.handlers:
        await handler.stop()


def on(partition: str, request: Any) -> Any:
    """``request`` sent straight to ``partition`` (what the client does after picking it)."""
    if isinstance(request, matching_service_pb2.AddWorkflowTaskRequest):
        request.task_queue.name = partition
    else:
        request.poll_request.task_queue.name = partition
    return request


async def test_an_add_on_a_child_reaches_a_poller_waiting_at_the_root_without_being_persisted(
    hosts: Hosts, persistence: Persistence
) -> None:
    poll = asyncio.create_task(hosts.handlers[0].PollWorkflowTaskQueue(poll_workflow()))
    await until(lambda: hosts.waiting(QUEUE) == 1)
    response = await hosts.handlers[1].AddWorkflowTask(on(child(1), add_workflow_task("wf-1")))
    assert response.matched
    assert (await poll).workflow_execution.workflow_id == "wf-1"
    for index in range(PARTITIONS):
        assert await persisted(persistence, queue=child(index) if index else QUEUE) == 0


async def test_a_poll_on_a_child_gets_a_task_of_the_root(hosts: Hosts) -> None:
    await hosts.handlers[0].AddWorkflowTask(add_workflow_task("wf-at-root"))  # nobody polls: root backlog
    response = await asyncio.wait_for(
        hosts.handlers[1].PollWorkflowTaskQueue(on(child(3), poll_workflow())), timeout=10
    )
    assert response.workflow_execution.workflow_id == "wf-at-root"


async def test_a_childs_backlog_reaches_a_poller_of_another_partition(
    hosts: Hosts, persistence: Persistence, history: FakeHistory
) -> None:
    added = await hosts.handlers[1].AddWorkflowTask(on(child(1), add_workflow_task("wf-backlog")))
    assert not added.matched  # no poller anywhere: persisted on partition 1
    assert await persisted(persistence, queue=child(1)) == 1
    # A poll on partition 2 (host 0) waits locally and at the root; partition 1's
    # forwarder offers its backlog task to the root, where that poll takes it.
    response = await asyncio.wait_for(
        hosts.handlers[0].PollWorkflowTaskQueue(on(child(2), poll_workflow())), timeout=10
    )
    assert response.workflow_execution.workflow_id == "wf-backlog"
    await until(lambda: hosts.queue(child(1)).backlog_count == 0)
    assert await persisted(persistence, queue=child(1)) == 0
    assert history.started == ["wf-backlog"]


async def test_a_poll_on_a_child_serves_its_own_backlog_first(hosts: Hosts, persistence: Persistence) -> None:
    await hosts.handlers[1].AddWorkflowTask(on(child(3), add_workflow_task("wf-local")))
    response = await hosts.handlers[1].PollWorkflowTaskQueue(on(child(3), poll_workflow()))
    assert response.workflow_execution.workflow_id == "wf-local"
    await until(lambda: hosts.queue(child(3)).backlog_count == 0)


async def test_the_root_remembers_a_childs_backlog_and_pulls_it_at_once(hosts: Hosts) -> None:
    added = await hosts.handlers[1].AddWorkflowTask(on(child(3), add_workflow_task("wf-pulled")))
    assert not added.matched
    assert hosts.queue(QUEUE).children_with_backlog() == [child(3)]
    # The root's pull: a poll forwarded from the root to the child answers at once, with or without a task.
    pull = on(child(3), poll_workflow())
    pull.forwarded_from = QUEUE
    await until(lambda: hosts.queue(child(3)).matcher.has_waiting_tasks)  # read from the store, ready
    response = await asyncio.wait_for(hosts.handlers[1].PollWorkflowTaskQueue(pull), 5)
    # Unless the child's forwarder held the task that instant (offering it to the root, in vain):
    # then the pull finds nothing, and the forwarder offers it again.
    if response.task_token:
        assert response.workflow_execution.workflow_id == "wf-pulled"
        empty = await asyncio.wait_for(hosts.handlers[1].PollWorkflowTaskQueue(pull), 1)
        assert not empty.task_token


async def test_a_forwarded_add_is_only_a_sync_match_and_the_root_stores_nothing(
    hosts: Hosts, persistence: Persistence
) -> None:
    forwarded = add_workflow_task("wf-forwarded")
    forwarded.forwarded_from = child(2)
    response = await hosts.handlers[0].AddWorkflowTask(forwarded)
    assert not response.matched
    assert await persisted(persistence) == 0


@dataclass
class SlowRoot:
    """A root that answers a forwarded poll with a task when told to (to race it with a local task)."""

    go: asyncio.Event = field(default_factory=asyncio.Event)
    entered: asyncio.Event = field(default_factory=asyncio.Event)
    token: bytes = b"from-root"

    async def PollWorkflowTaskQueue(self, request: Any) -> workflow_service_pb2.PollWorkflowTaskQueueResponse:
        self.entered.set()
        await self.go.wait()
        return workflow_service_pb2.PollWorkflowTaskQueueResponse(task_token=self.token)

    async def AddWorkflowTask(self, request: Any) -> Any:
        return matching_service_pb2.AddWorkflowTaskResponse(matched=False)

    PollActivityTaskQueue = AddActivityTask = AddWorkflowTask


async def test_only_a_childs_own_polls_are_forwarded(matching: MatchingHandler) -> None:
    root = SlowRoot()
    matching.bind_root(root)  # type: ignore[arg-type]
    forwarded = on(child(1), poll_workflow())
    forwarded.forwarded_from = child(3)
    polls = [asyncio.create_task(matching.PollWorkflowTaskQueue(forwarded))]
    polls.append(asyncio.create_task(matching.PollWorkflowTaskQueue(poll_workflow())))  # the root's own
    await until(lambda: matching.backlog_count(namespace_id=NS, name=QUEUE, task_type=WORKFLOW) == 0)
    for _ in range(100):  # far more turns than a forward to this in-process root takes
        await asyncio.sleep(0)
    assert not root.entered.is_set()
    polls.append(asyncio.create_task(matching.PollWorkflowTaskQueue(on(child(1), poll_workflow()))))
    await asyncio.wait_for(root.entered.wait(), 5)
    for poll in polls:
        poll.cancel()
    await asyncio.gather(*polls, return_exceptions=True)


async def test_a_poll_waits_at_the_root_or_locally_never_both(
    matching: MatchingHandler, history: FakeHistory
) -> None:
    """One poll per partition holds the forwarding slot and waits at the root; the next waits locally.

    Waiting in both places would let the root record a start for a poll that
    already took a local task, losing that task's response.
    """
    root = SlowRoot()
    matching.bind_root(root)  # type: ignore[arg-type]
    at_root = asyncio.create_task(matching.PollWorkflowTaskQueue(on(child(1), poll_workflow())))
    await asyncio.wait_for(root.entered.wait(), 5)
    key = TaskQueueKey(NS, child(1), WORKFLOW)
    assert matching._queues[key].matcher.waiting_pollers == 0  # it left the local line
    local = asyncio.create_task(matching.PollWorkflowTaskQueue(on(child(1), poll_workflow())))
    await until(lambda: matching._queues[key].matcher.waiting_pollers == 1)
    added = await matching.AddWorkflowTask(on(child(1), add_workflow_task("wf-local")))
    assert added.matched
    assert (await local).workflow_execution.workflow_id == "wf-local"
    root.go.set()
    assert (await at_root).task_token == b"from-root"
    assert history.started == ["wf-local"]


async def test_a_poll_at_the_root_ends_when_its_partition_is_let_go(matching: MatchingHandler) -> None:
    """Stopping (or losing the partition) answers a poll waiting at the root, not at its poll timeout."""
    root = SlowRoot(token=b"")  # the root lets its pollers go too: empty answers
    matching.bind_root(root)  # type: ignore[arg-type]
    poll = asyncio.create_task(matching.PollWorkflowTaskQueue(on(child(2), poll_workflow())))
    await asyncio.wait_for(root.entered.wait(), 5)
    matching.release_pollers()
    root.go.set()
    response = await asyncio.wait_for(poll, 2)  # well before the fixture's 5s poll timeout
    assert not response.task_token


async def test_one_poller_gets_50_tasks_on_random_partitions_without_waiting_out_a_poll(
    persistence: Persistence, history: FakeHistory
) -> None:
    """With polls of 60s, a task stranded on a partition nobody polls would take a minute."""
    hosts = await _hosts(persistence, history, poll_timeout_s=60)
    delivered: list[str] = []

    async def poller() -> None:
        while True:
            response = await hosts.client.PollWorkflowTaskQueue(poll_workflow())
            if response.task_token:
                delivered.append(response.workflow_execution.workflow_id)

    polling = asyncio.create_task(poller())
    try:
        async with asyncio.timeout(20):
            # Half at once (most find the poller busy and are persisted), half one by one.
            await asyncio.gather(
                *(hosts.client.AddWorkflowTask(add_workflow_task(f"wf-{n}")) for n in range(25))
            )
            for n in range(25, 50):
                await hosts.client.AddWorkflowTask(add_workflow_task(f"wf-{n}"))
            await until(lambda: len(delivered) >= 50, timeout_s=20)
        loaded = {key.name for handler in hosts.handlers for key in handler._queues}
    finally:
        polling.cancel()
        for handler in hosts.handlers:
            await handler.stop()
    assert sorted(delivered) == sorted(f"wf-{n}" for n in range(50))
    assert len(loaded) > 1, "the tasks should have been spread over partitions"


# ---------------------------------------------------------------- the frontend


async def test_the_frontend_refuses_task_queue_names_in_the_reserved_space(server_address_and_stub) -> None:  # type: ignore[no-untyped-def]
    _, stub = server_address_and_stub
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.PollWorkflowTaskQueue(
            workflow_service_pb2.PollWorkflowTaskQueueRequest(
                namespace="default", task_queue=common_pb2.TaskQueue(name="/_sys/orders/2")
            ),
            timeout=10,
        )
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "starts with '/_sys/', which is reserved" in (raised.value.details() or "")
