"""The persistence contract every store (SQLite, MySQL, Cassandra) implements.

Design rules the implementations must keep (the conformance suite in
``tests/persistence`` checks each of them against every store):

* **Fencing.** Each history shard has a ``range_id``. A history host owns a
  shard after bumping ``range_id`` with ``ShardStore.update_shard``. Every write
  of shard data (executions, current-execution rows, transfer and timer tasks)
  names the ``range_id`` its writer believes it holds, and the store checks it
  *in the same transaction/LWT* as the write. A mismatch raises
  ``ShardOwnershipLostError`` and writes nothing.
* **One transaction per change.** ``create_workflow_execution`` and
  ``update_workflow_execution`` write the mutable-state row, the
  current-execution row, the transfer and timer tasks atomically: all or nothing.
  History event batches may be written before the transaction (as Cassandra
  must), so readers bound what they read by the mutable state's
  ``next_event_id``; an event batch is keyed by (run, first_event_id) and a later
  write of the same key replaces it.
* **Optimistic concurrency per execution.** ``WorkflowSnapshot.db_version``
  increases by one on every write; an update names the version it read and
  fails with ``ConditionFailedError`` if the stored one differs.
* **Current execution.** At most one row per (namespace_id, workflow_id) names
  the run that currently owns the id (running or the last closed one); creation
  modes decide how it may be replaced. Lookups of "the current run" go through it.
* **Tasks.** Transfer tasks are ordered by task_id; timer tasks by
  (visibility_time_ms, task_id). Task ids are allocated by the engine from its
  range: ``(range_id << RANGE_ID_SHIFT) + n``, so they grow across owners.
* **Errors** are the types below; a store never leaks its driver's exceptions
  except wrapped as ``PersistenceError`` (retryable ones as ``TransientError``,
  a full disk as ``StorageFullError``). The retryable ones are also service
  errors (``Unavailable``, ``ResourceExhausted``), so wherever one escapes to a
  caller, in-process or over gRPC, the caller sees a retryable status with the
  store's message, never INTERNAL.

All methods are ``async``. A store may run them inline (SQLite) or on a driver's
own futures or thread pool (MySQL, Cassandra); the caller does not care.
"""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass, field

import grpc

from legato_server.common import errors as service_errors
from legato_server.visibility.query import Query

# Task ids are (range_id << RANGE_ID_SHIFT) + sequence: 2**20 ids per range.
RANGE_ID_SHIFT = 20


# ---------------------------------------------------------------- errors


class PersistenceError(Exception):
    """A store operation failed; nothing was written."""


class TransientError(PersistenceError, service_errors.Unavailable):
    """The store was unreachable or timed out; the operation may be retried as a whole.

    Callers see it as UNAVAILABLE: a store outage is not the caller's fault and
    not a bug, and retrying later succeeds.
    """


class StorageFullError(TransientError):
    """The store is out of space (disk or table full); retry once space is freed.

    Callers see RESOURCE_EXHAUSTED, which clients retry with backoff, as they
    do UNAVAILABLE; the distinct code tells an operator what to fix.
    """

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class ShardOwnershipLostError(PersistenceError):
    """The shard's range_id is not the one the writer holds: another host owns it now."""

    def __init__(self, shard_id: int, expected_range_id: int, actual_range_id: int | None) -> None:
        super().__init__(
            f"shard {shard_id}: writer holds range_id {expected_range_id}, "
            f"store has {actual_range_id}; ownership lost"
        )
        self.shard_id = shard_id
        self.expected_range_id = expected_range_id
        self.actual_range_id = actual_range_id


class ConditionFailedError(PersistenceError):
    """An optimistic condition (db_version, current run, task queue range) did not hold."""


class NotFoundError(PersistenceError):
    """The record does not exist."""


class AlreadyExistsError(PersistenceError):
    """A record with this key exists (e.g. a namespace name)."""


class CurrentWorkflowConditionFailedError(ConditionFailedError):
    """Creating a run failed because the current-execution row is not as the mode requires.

    Carries the row found, so the engine can apply the id reuse policy or
    answer an idempotent retry (same request id) with the existing run.
    """

    def __init__(self, current: CurrentExecution | None, message: str = "") -> None:
        super().__init__(message or f"current execution is {current}")
        self.current = current


# ---------------------------------------------------------------- records


class ExecutionState(enum.IntEnum):
    """Lifecycle of a run, as the current-execution row records it."""

    CREATED = 0  # started, no workflow task completed yet
    RUNNING = 1
    COMPLETED = 2  # closed (any close status)


@dataclass(slots=True)
class ShardInfo:
    shard_id: int
    range_id: int
    owner: str = ""
    # Transfer tasks with task_id <= this are processed.
    transfer_ack_level: int = 0
    # Timer tasks with visibility_time_ms < this (and earlier task ids) are processed.
    timer_ack_level_ms: int = 0
    updated_at_ms: int = 0


@dataclass(slots=True)
class CurrentExecution:
    namespace_id: str
    workflow_id: str
    run_id: str
    create_request_id: str
    state: ExecutionState
    # legato.api.v1.WorkflowExecutionStatus value
    status: int
    start_time_ms: int = 0


@dataclass(slots=True)
class WorkflowSnapshot:
    """The full mutable state of one run, as written and read."""

    namespace_id: str
    workflow_id: str
    run_id: str
    # Serialized engine-owned protobuf (the store never parses it).
    state: bytes
    state_enum: ExecutionState
    status: int  # legato.api.v1.WorkflowExecutionStatus
    next_event_id: int
    db_version: int
    create_request_id: str = ""
    start_time_ms: int = 0

    def state_columns(self) -> tuple[bytes, int, int, int, int, str, int]:
        """The execution row's values after its key, in the order the SQL and CQL stores name the columns:
        state, state_enum, status, next_event_id, db_version, create_request_id, start_time_ms."""
        return (
            self.state,
            int(self.state_enum),
            self.status,
            self.next_event_id,
            self.db_version,
            self.create_request_id,
            self.start_time_ms,
        )


@dataclass(slots=True)
class EventBatch:
    """Consecutive events [first_event_id, first_event_id + count) of one run."""

    namespace_id: str
    workflow_id: str
    run_id: str
    first_event_id: int
    event_count: int
    data: bytes  # serialized legato.api.v1.History


@dataclass(slots=True)
class TransferTask:
    task_id: int
    data: bytes  # engine-owned blob


@dataclass(slots=True)
class TimerTask:
    visibility_time_ms: int
    task_id: int
    data: bytes


class CreateMode(enum.Enum):
    # No current-execution row may exist for the workflow id.
    BRAND_NEW = "brand_new"
    # The current row must name `previous_run_id` and that run must be closed
    # (ExecutionState.COMPLETED); it is replaced by the new run.
    WORKFLOW_ID_REUSE = "workflow_id_reuse"


@dataclass(slots=True)
class WorkflowMutation:
    """One atomic change to an existing run."""

    snapshot: WorkflowSnapshot  # the new state; snapshot.db_version = condition + 1
    condition_db_version: int  # the version the writer read
    events: list[EventBatch] = field(default_factory=list)
    transfer_tasks: list[TransferTask] = field(default_factory=list)
    timer_tasks: list[TimerTask] = field(default_factory=list)


@dataclass(slots=True)
class NamespaceRecord:
    id: str
    name: str
    data: bytes  # serialized engine-owned protobuf (info + config)
    # Bumped on every update; update_namespace is conditional on it.
    notification_version: int = 0


@dataclass(slots=True)
class TaskQueueRecord:
    namespace_id: str
    name: str
    task_type: int  # legato.api.v1.TaskQueueType
    range_id: int
    ack_level: int = 0
    data: bytes = b""  # matching-owned metadata


@dataclass(slots=True)
class QueuedTask:
    task_id: int
    data: bytes  # serialized PersistedTask
    expiry_time_ms: int = 0  # 0 = never


@dataclass(slots=True)
class ClusterMember:
    host_id: str
    rpc_address: str
    roles: tuple[str, ...]
    session_start_ms: int
    last_heartbeat_ms: int


@dataclass(slots=True)
class VisibilityRecord:
    namespace_id: str
    workflow_id: str
    run_id: str
    workflow_type: str
    task_queue: str
    status: int  # legato.api.v1.WorkflowExecutionStatus
    start_time_ms: int
    execution_time_ms: int = 0
    close_time_ms: int | None = None
    history_length: int = 0
    memo: bytes = b""  # serialized legato.api.v1.Memo
    search_attributes: bytes = b""  # serialized legato.api.v1.SearchAttributes
    parent_workflow_id: str = ""
    parent_run_id: str = ""


@dataclass(slots=True)
class VisibilityFilter:
    """Every set field must match. Times are [from, to) in unix ms.

    ``query`` is a parsed list query (``legato_server.visibility.query``),
    AND-ed with the other fields; its ORDER BY sets the listing order (the
    default is newest start first). A store that cannot serve a query raises
    ``service_errors.InvalidArgument`` saying what it cannot do.
    """

    workflow_id: str | None = None
    workflow_type: str | None = None
    statuses: tuple[int, ...] = ()
    task_queue: str | None = None
    start_time_from_ms: int | None = None
    start_time_to_ms: int | None = None
    close_time_from_ms: int | None = None
    close_time_to_ms: int | None = None
    query: Query | None = None


@dataclass(slots=True)
class ScheduleRecord:
    """One schedule: its blob, where it lives, and when its owner must look at it next."""

    namespace_id: str
    schedule_id: str
    shard_id: int  # the history shard of (namespace_id, schedule_id); its owner runs the schedule
    data: bytes  # serialized engine-owned protobuf
    # Bumped by one on every write; update_schedule is conditional on it.
    conflict_token: int
    next_wakeup_ms: int


# ---------------------------------------------------------------- stores


class ClusterMetadataStore(abc.ABC):
    @abc.abstractmethod
    async def init_cluster_metadata(self, *, cluster_name: str, num_history_shards: int) -> int:
        """Record the shard count on first start; return the stored count (the first one wins)."""


class ShardStore(abc.ABC):
    @abc.abstractmethod
    async def get_or_create_shard(self, shard_id: int) -> ShardInfo:
        """Read the shard row, creating it with range_id 0 if it does not exist."""

    @abc.abstractmethod
    async def update_shard(self, info: ShardInfo, *, previous_range_id: int) -> None:
        """Overwrite the shard row if its stored range_id == previous_range_id.

        Acquiring a shard = read it, then update with range_id + 1. Raises
        ShardOwnershipLostError (writing nothing) if the stored range_id differs.
        """


class ExecutionStore(abc.ABC):
    @abc.abstractmethod
    async def create_workflow_execution(
        self,
        *,
        shard_id: int,
        range_id: int,
        mode: CreateMode,
        snapshot: WorkflowSnapshot,
        events: list[EventBatch],
        transfer_tasks: list[TransferTask],
        timer_tasks: list[TimerTask],
        previous_run_id: str = "",
    ) -> None:
        """Create a run and make it the current one, atomically with its tasks.

        Raises ShardOwnershipLostError, or CurrentWorkflowConditionFailedError
        carrying the current row when the mode's condition does not hold.
        """

    @abc.abstractmethod
    async def update_workflow_execution(
        self,
        *,
        shard_id: int,
        range_id: int,
        mutation: WorkflowMutation,
        new_run: WorkflowMutation | None = None,
    ) -> None:
        """Apply one mutation atomically; also update the current-execution row.

        The current row's state/status follow the snapshot (it must name this
        run, else ConditionFailedError). With ``new_run`` (continue-as-new,
        retry, cron) the new run is created in the same transaction and becomes
        the current one (its condition_db_version is ignored; it is inserted).
        Raises ShardOwnershipLostError or ConditionFailedError, writing nothing.
        """

    @abc.abstractmethod
    async def get_workflow_execution(
        self, *, shard_id: int, namespace_id: str, workflow_id: str, run_id: str
    ) -> WorkflowSnapshot:
        """Raises NotFoundError."""

    @abc.abstractmethod
    async def get_current_execution(
        self, *, shard_id: int, namespace_id: str, workflow_id: str
    ) -> CurrentExecution:
        """Raises NotFoundError."""

    @abc.abstractmethod
    async def delete_workflow_execution(
        self, *, shard_id: int, namespace_id: str, workflow_id: str, run_id: str
    ) -> None:
        """Delete a closed run's mutable state, its history, and the current row if it names it."""

    @abc.abstractmethod
    async def read_history(
        self,
        *,
        namespace_id: str,
        workflow_id: str,
        run_id: str,
        min_event_id: int,
        max_event_id: int,
        page_size: int,
        page_token: bytes = b"",
    ) -> tuple[list[EventBatch], bytes]:
        """Batches holding events in [min_event_id, max_event_id), in order.

        At most ``page_size`` batches; returns the token for the next page (b"" at the end).
        Batches whose first_event_id >= max_event_id are never returned.
        """

    @abc.abstractmethod
    async def get_transfer_tasks(
        self, *, shard_id: int, exclusive_min_task_id: int, inclusive_max_task_id: int, batch_size: int
    ) -> list[TransferTask]:
        """Transfer tasks in (min, max], ascending."""

    @abc.abstractmethod
    async def complete_transfer_tasks(self, *, shard_id: int, inclusive_max_task_id: int) -> None:
        """Delete every transfer task with task_id <= max."""

    @abc.abstractmethod
    async def get_timer_tasks(
        self, *, shard_id: int, min_time_ms: int, max_time_ms: int, batch_size: int
    ) -> list[TimerTask]:
        """Timer tasks with min <= visibility_time_ms < max, ascending by (time, task_id)."""

    @abc.abstractmethod
    async def complete_timer_tasks_before(self, *, shard_id: int, exclusive_max_time_ms: int) -> None:
        """Delete every timer task with visibility_time_ms < max (those below the shard's ack level)."""


class TaskQueueStore(abc.ABC):
    """Matching's backlog: task queues leased by range_id, like shards."""

    @abc.abstractmethod
    async def lease_task_queue(self, *, namespace_id: str, name: str, task_type: int) -> TaskQueueRecord:
        """Create the queue (range_id 1) or bump its range_id by one; return the new record.

        Conditional: if another host bumps it concurrently, one of them gets
        ConditionFailedError and must retry.
        """

    @abc.abstractmethod
    async def update_task_queue(self, record: TaskQueueRecord) -> None:
        """Save ack_level/data if the stored range_id == record.range_id, else ConditionFailedError."""

    @abc.abstractmethod
    async def create_tasks(
        self, *, namespace_id: str, name: str, task_type: int, range_id: int, tasks: list[QueuedTask]
    ) -> None:
        """Insert tasks if the queue's range_id == range_id, else ConditionFailedError (nothing written)."""

    @abc.abstractmethod
    async def get_tasks(
        self,
        *,
        namespace_id: str,
        name: str,
        task_type: int,
        exclusive_min_task_id: int,
        inclusive_max_task_id: int,
        batch_size: int,
    ) -> list[QueuedTask]:
        """Tasks in (min, max], ascending."""

    @abc.abstractmethod
    async def complete_tasks_less_than(
        self, *, namespace_id: str, name: str, task_type: int, exclusive_max_task_id: int
    ) -> int:
        """Delete tasks with task_id < max; return how many were deleted (best effort)."""

    @abc.abstractmethod
    async def complete_task(self, *, namespace_id: str, name: str, task_type: int, task_id: int) -> None:
        """Delete one task."""

    @abc.abstractmethod
    async def list_task_queues(
        self, *, namespace_id: str, page_size: int, page_token: bytes = b""
    ) -> tuple[list[TaskQueueRecord], bytes]:
        """The namespace's task queues (one record per name and type), and the next page's token.

        At most ``page_size`` records; b"" at the end. A page may be short, even
        empty, with a token (a store that scans more than it returns): keep
        paging until the token is b"". For the namespace deleter, not a hot path.
        """

    @abc.abstractmethod
    async def delete_task_queue(self, *, namespace_id: str, name: str, task_type: int) -> None:
        """Remove the queue's record and its whole backlog; no error if it is gone.

        A matching host still holding the lease finds out on its next write
        (ConditionFailedError), as when another host takes the lease.
        """


class NamespaceStore(abc.ABC):
    @abc.abstractmethod
    async def create_namespace(self, record: NamespaceRecord) -> None:
        """Raises AlreadyExistsError if the name or id is taken."""

    @abc.abstractmethod
    async def get_namespace(self, *, name: str | None = None, id: str | None = None) -> NamespaceRecord:
        """By name or by id. Raises NotFoundError."""

    @abc.abstractmethod
    async def update_namespace(self, record: NamespaceRecord, *, previous_notification_version: int) -> None:
        """Overwrite data if the stored notification_version matches, else ConditionFailedError.

        A namespace's name never changes: ``record.name`` must be the stored one.
        """

    @abc.abstractmethod
    async def list_namespaces(
        self, *, page_size: int, page_token: bytes = b""
    ) -> tuple[list[NamespaceRecord], bytes]:
        """Ordered by name."""

    @abc.abstractmethod
    async def delete_namespace(self, *, id: str) -> None:
        """Remove the namespace with this id; no error if it is gone.

        Its name is freed only while it still names this id, so a deleter that
        finishes late never removes a namespace registered again under the same
        name. After this, ``create_namespace`` of the name succeeds.
        """


class MembershipStore(abc.ABC):
    @abc.abstractmethod
    async def upsert_member(self, member: ClusterMember, *, ttl_ms: int) -> None:
        """Register or refresh a host; it expires ttl_ms after last_heartbeat_ms."""

    @abc.abstractmethod
    async def list_members(self, *, now_ms: int, role: str | None = None) -> list[ClusterMember]:
        """Hosts whose heartbeat has not expired at now_ms, sorted by host_id."""

    @abc.abstractmethod
    async def remove_member(self, host_id: str) -> None: ...


class VisibilityStore(abc.ABC):
    @abc.abstractmethod
    async def upsert_execution(self, record: VisibilityRecord) -> None:
        """Insert or replace the record of (namespace_id, run_id).

        A run's ``start_time_ms`` is fixed at its creation: every upsert of a
        run carries the same one, and a store may key the record by it.
        """

    @abc.abstractmethod
    async def list_executions(
        self, *, namespace_id: str, filter: VisibilityFilter, page_size: int, page_token: bytes = b""
    ) -> tuple[list[VisibilityRecord], bytes]:
        """In the query's ORDER BY (default newest start first), ties by run_id; stable paging.

        Custom search attributes are read from ``record.search_attributes``
        (values stamped with their type, see ``visibility.attributes``).
        """

    @abc.abstractmethod
    async def count_executions(self, *, namespace_id: str, filter: VisibilityFilter) -> int: ...

    @abc.abstractmethod
    async def delete_execution(self, *, namespace_id: str, run_id: str) -> None: ...


class ScheduleStore(abc.ABC):
    """Schedules, unique by (namespace_id, schedule_id), updated under optimistic concurrency."""

    @abc.abstractmethod
    async def create_schedule(self, record: ScheduleRecord) -> None:
        """Raises AlreadyExistsError if the schedule id is taken in the namespace."""

    @abc.abstractmethod
    async def get_schedule(self, *, shard_id: int, namespace_id: str, schedule_id: str) -> ScheduleRecord:
        """Raises NotFoundError."""

    @abc.abstractmethod
    async def update_schedule(self, record: ScheduleRecord, *, previous_conflict_token: int) -> None:
        """Overwrite data, conflict_token and next_wakeup_ms if the stored token is the one named.

        ConditionFailedError (writing nothing) if it differs or the schedule is gone.
        """

    @abc.abstractmethod
    async def delete_schedule(self, *, shard_id: int, namespace_id: str, schedule_id: str) -> None:
        """No error if it is gone."""

    @abc.abstractmethod
    async def list_schedules(
        self, *, namespace_id: str, page_size: int, page_token: bytes = b""
    ) -> tuple[list[ScheduleRecord], bytes]:
        """Ordered by schedule_id."""

    @abc.abstractmethod
    async def get_due_schedules(
        self, *, shard_id: int, max_wakeup_ms: int, batch_size: int
    ) -> list[ScheduleRecord]:
        """Schedules of the shard with next_wakeup_ms <= max_wakeup_ms, earliest first, at most batch_size."""


class Persistence(abc.ABC):
    """All stores of one database, opened together."""

    cluster_metadata: ClusterMetadataStore
    shards: ShardStore
    executions: ExecutionStore
    task_queues: TaskQueueStore
    namespaces: NamespaceStore
    membership: MembershipStore
    visibility: VisibilityStore
    schedules: ScheduleStore

    @abc.abstractmethod
    async def close(self) -> None: ...
