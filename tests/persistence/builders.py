"""Records for the conformance tests: unique keys and small, recognisable payloads.

Stores under test may share one database for a whole session (MySQL,
Cassandra), so every key a test writes comes from here and is unique. Payload
blobs name what they are (``b"state:<run>:v2"``) so a failed comparison says
which write won.
"""

from __future__ import annotations

import itertools
import random
import uuid
from dataclasses import dataclass

from legato.api.v1 import enums_pb2
from legato_server.persistence.interface import (
    RANGE_ID_SHIFT,
    CreateMode,
    CurrentExecution,
    EventBatch,
    ExecutionState,
    NotFoundError,
    Persistence,
    ShardInfo,
    TimerTask,
    TransferTask,
    WorkflowMutation,
    WorkflowSnapshot,
)

RUNNING = enums_pb2.WORKFLOW_EXECUTION_STATUS_RUNNING
COMPLETED = enums_pb2.WORKFLOW_EXECUTION_STATUS_COMPLETED
FAILED = enums_pb2.WORKFLOW_EXECUTION_STATUS_FAILED
CONTINUED_AS_NEW = enums_pb2.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW
WORKFLOW_QUEUE = enums_pb2.TASK_QUEUE_TYPE_WORKFLOW
ACTIVITY_QUEUE = enums_pb2.TASK_QUEUE_TYPE_ACTIVITY

# Shard ids unique within the session, starting somewhere random so that
# sessions sharing a database rarely meet either.
_shard_ids = itertools.count(random.randrange(1 << 20, 1 << 30))


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def unique_shard_id() -> int:
    return next(_shard_ids)


def task_id(range_id: int, sequence: int) -> int:
    """A task id as the engine allocates it from its range."""
    return (range_id << RANGE_ID_SHIFT) + sequence


async def acquire_shard(store: Persistence, shard_id: int, *, owner: str = "host-a") -> ShardInfo:
    """Take the shard the way a history host does: read it, bump range_id conditionally."""
    info = await store.shards.get_or_create_shard(shard_id)
    acquired = ShardInfo(
        shard_id=shard_id,
        range_id=info.range_id + 1,
        owner=owner,
        transfer_ack_level=info.transfer_ack_level,
        timer_ack_level_ms=info.timer_ack_level_ms,
        updated_at_ms=info.updated_at_ms,
    )
    await store.shards.update_shard(acquired, previous_range_id=info.range_id)
    return acquired


@dataclass(frozen=True)
class Run:
    """The identity of one run under test."""

    namespace_id: str
    workflow_id: str
    run_id: str

    def with_new_run_id(self) -> Run:
        return Run(self.namespace_id, self.workflow_id, unique("run"))


def new_run(*, namespace_id: str | None = None, workflow_id: str | None = None) -> Run:
    return Run(namespace_id or unique("ns"), workflow_id or unique("wf"), unique("run"))


def snapshot(
    run: Run,
    *,
    db_version: int = 1,
    next_event_id: int = 3,
    state_enum: ExecutionState = ExecutionState.CREATED,
    status: int = RUNNING,
    request_id: str | None = None,
    start_time_ms: int = 1_700_000_000_000,
) -> WorkflowSnapshot:
    return WorkflowSnapshot(
        namespace_id=run.namespace_id,
        workflow_id=run.workflow_id,
        run_id=run.run_id,
        state=f"state:{run.run_id}:v{db_version}".encode(),
        state_enum=state_enum,
        status=status,
        next_event_id=next_event_id,
        db_version=db_version,
        create_request_id=request_id if request_id is not None else f"request-{run.run_id}",
        start_time_ms=start_time_ms,
    )


def batch(run: Run, first_event_id: int, event_count: int, *, tag: str = "") -> EventBatch:
    return EventBatch(
        namespace_id=run.namespace_id,
        workflow_id=run.workflow_id,
        run_id=run.run_id,
        first_event_id=first_event_id,
        event_count=event_count,
        data=f"events:{run.run_id}:{first_event_id}+{event_count}{tag}".encode(),
    )


def transfer(task_id_: int) -> TransferTask:
    return TransferTask(task_id=task_id_, data=f"transfer:{task_id_}".encode())


def timer(visibility_time_ms: int, task_id_: int) -> TimerTask:
    return TimerTask(
        visibility_time_ms=visibility_time_ms, task_id=task_id_, data=f"timer:{task_id_}".encode()
    )


def mutation(
    run: Run,
    *,
    read_version: int,
    next_event_id: int,
    state_enum: ExecutionState = ExecutionState.RUNNING,
    status: int = RUNNING,
    events: list[EventBatch] | None = None,
    transfer_tasks: list[TransferTask] | None = None,
    timer_tasks: list[TimerTask] | None = None,
) -> WorkflowMutation:
    """A mutation of ``run`` made by a writer that read ``read_version``."""
    return WorkflowMutation(
        snapshot=snapshot(
            run,
            db_version=read_version + 1,
            next_event_id=next_event_id,
            state_enum=state_enum,
            status=status,
        ),
        condition_db_version=read_version,
        events=events or [],
        transfer_tasks=transfer_tasks or [],
        timer_tasks=timer_tasks or [],
    )


async def start_run(
    store: Persistence,
    shard: ShardInfo,
    run: Run,
    *,
    mode: CreateMode = CreateMode.BRAND_NEW,
    previous_run_id: str = "",
    request_id: str | None = None,
    transfer_tasks: list[TransferTask] | None = None,
    timer_tasks: list[TimerTask] | None = None,
) -> WorkflowSnapshot:
    """Create ``run`` (db_version 1, events 1..2) as the shard's owner; return what was written."""
    created = snapshot(run, request_id=request_id)
    await store.executions.create_workflow_execution(
        shard_id=shard.shard_id,
        range_id=shard.range_id,
        mode=mode,
        snapshot=created,
        events=[batch(run, 1, 2)],
        transfer_tasks=transfer_tasks or [],
        timer_tasks=timer_tasks or [],
        previous_run_id=previous_run_id,
    )
    return created


async def close_run(store: Persistence, shard: ShardInfo, run: Run, *, read_version: int = 1) -> None:
    """Complete ``run`` (one update from ``read_version``)."""
    await store.executions.update_workflow_execution(
        shard_id=shard.shard_id,
        range_id=shard.range_id,
        mutation=mutation(
            run,
            read_version=read_version,
            next_event_id=4,
            state_enum=ExecutionState.COMPLETED,
            status=COMPLETED,
            events=[batch(run, 3, 1)],
        ),
    )


# ---------------------------------------------------------------- reading back


async def history_of(store: Persistence, run: Run, *, max_event_id: int = 1 << 40) -> list[EventBatch]:
    """Every batch of ``run`` below ``max_event_id``, following page tokens."""
    batches: list[EventBatch] = []
    token = b""
    while True:
        page, token = await store.executions.read_history(
            namespace_id=run.namespace_id,
            workflow_id=run.workflow_id,
            run_id=run.run_id,
            min_event_id=1,
            max_event_id=max_event_id,
            page_size=100,
            page_token=token,
        )
        batches.extend(page)
        if not token:
            return batches


async def transfer_tasks_of(store: Persistence, shard_id: int) -> list[TransferTask]:
    return await store.executions.get_transfer_tasks(
        shard_id=shard_id, exclusive_min_task_id=-1, inclusive_max_task_id=1 << 62, batch_size=1000
    )


async def timer_tasks_of(store: Persistence, shard_id: int) -> list[TimerTask]:
    return await store.executions.get_timer_tasks(
        shard_id=shard_id, min_time_ms=0, max_time_ms=1 << 62, batch_size=1000
    )


async def find_run(store: Persistence, shard_id: int, run: Run) -> WorkflowSnapshot | None:
    try:
        return await store.executions.get_workflow_execution(
            shard_id=shard_id, namespace_id=run.namespace_id, workflow_id=run.workflow_id, run_id=run.run_id
        )
    except NotFoundError:
        return None


async def find_current(store: Persistence, shard_id: int, run: Run) -> CurrentExecution | None:
    try:
        return await store.executions.get_current_execution(
            shard_id=shard_id, namespace_id=run.namespace_id, workflow_id=run.workflow_id
        )
    except NotFoundError:
        return None
