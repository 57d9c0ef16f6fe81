"""Local activities in the workflow runtime: requests out to the worker, outcomes in as markers.

A local activity runs in the worker that runs the workflow, inside the
workflow task, with no activity task through the server. What makes it
durable is one MarkerRecorded event per resolution, written with the task's
other commands. The runtime side, here:

* ``request(...)`` (from ``workflow.execute_local_activity``) takes the next
  local activity sequence number and returns a future. Outside replay the
  request is queued for the worker (``take_requests``); the worker runs it,
  with retries, and hands the outcome back through ``resolve``, which records
  the marker command and resolves the future. The instance then runs the code
  on until it blocks again, so commands issued after the result follow the
  marker, exactly as history will show them.
* Replaying a completed task, the markers that task recorded are read ahead
  (``note_marker``) and the function is **not run again**: when the code is
  idle, the waiting request whose marker comes first in history is resolved
  from it (``resolve_recorded``), one at a time, which reproduces the order
  the original run saw results in. A request whose sequence number history
  recorded under another activity type is a ``NondeterminismError`` naming
  both.
* A request still unresolved when the task at hand is reached (the worker that
  ran it died, or its workflow task was heartbeated) is handed to the worker
  again: at least once, like any activity.

A retry whose backoff is longer than the request's ``local_retry_threshold``
is not slept in the workflow task: the worker resolves the attempt with a
*backoff* marker, and ``execute`` sleeps on a durable timer, then requests
attempt n+1 with a new sequence number (and the original schedule time, so
schedule-to-close still counts from the first attempt).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from legato._workflow_commands import LOCAL_ACTIVITY_MARKER, CommandEntry
from legato.api.v1 import command_pb2, common_pb2, enums_pb2, history_pb2
from legato.common import RetryPolicy

if TYPE_CHECKING:
    from legato._workflow_instance import WorkflowInstance

E = enums_pb2

DEFAULT_LOCAL_RETRY_THRESHOLD = timedelta(minutes=1)


@dataclass(frozen=True)
class LocalActivityRequest:
    """One local activity (from ``attempt`` on) for the worker to run."""

    seq: int
    activity_type: str
    activity_id: str
    input: common_pb2.Payloads
    headers: Mapping[str, common_pb2.Payload]
    attempt: int
    original_schedule_time: datetime
    """Workflow time of the first attempt: schedule-to-close counts from here."""
    start_to_close_timeout: timedelta | None
    schedule_to_close_timeout: timedelta | None
    retry_policy: RetryPolicy | None
    local_retry_threshold: timedelta
    workflow_id: str = ""
    workflow_run_id: str = ""
    workflow_type: str = ""
    workflow_namespace: str = ""


@dataclass(frozen=True)
class LocalActivityOutcome:
    """What the worker reports for a request: a result, a final failure, or a backoff to sleep durably."""

    attempt: int
    """The attempt that produced this outcome."""
    result: common_pb2.Payloads | None = None
    failure: common_pb2.Failure | None = None
    """The activity's own error (unwrapped); set for a final failure and for a backoff."""
    retry_state: int = E.RETRY_STATE_UNSPECIFIED
    backoff: timedelta | None = None
    """Set when the next attempt should start after a durable timer of this length."""


@dataclass(eq=False)
class _Waiting:
    request: LocalActivityRequest
    future: asyncio.Future[history_pb2.MarkerRecordedEventAttributes]
    dispatched: bool = False


@dataclass
class LocalActivities:
    """The local activity state of one workflow instance (see the module docstring)."""

    instance: WorkflowInstance
    _seq: int = 0
    _waiting: dict[int, _Waiting] = field(default_factory=dict)
    _recorded: dict[int, tuple[int, history_pb2.MarkerRecordedEventAttributes]] = field(default_factory=dict)
    _cancelled: list[int] = field(default_factory=list)

    # ------------------------------------------------------------ from history

    def note_marker(self, event: history_pb2.HistoryEvent) -> None:
        """Remember a local activity marker of a task being replayed (the look-ahead)."""
        marker = event.marker_recorded_event_attributes
        if marker.marker_name != LOCAL_ACTIVITY_MARKER or "seq" not in marker.details:
            return
        seq = int(self._decode(marker.details["seq"]))
        self._recorded[seq] = (event.event_id, marker)

    def resolve_recorded(self) -> bool:
        """Resolve the waiting request whose marker came first in history; False if none can be."""
        ready = [(self._recorded[seq][0], seq) for seq in self._waiting if seq in self._recorded]
        if not ready:
            return False
        _, seq = min(ready)
        _, marker = self._recorded.pop(seq)
        self._record(seq, marker)
        return True

    # ------------------------------------------------------------ from workflow code

    def request(
        self, *, activity_type: str, build: Any
    ) -> tuple[int, asyncio.Future[history_pb2.MarkerRecordedEventAttributes]]:
        """Take a sequence number; ``build(seq)`` makes the request. The future gets the marker."""
        instance = self.instance
        instance.check_writable()
        self._seq += 1
        seq = self._seq
        recorded = self._recorded.get(seq)
        if recorded is not None:
            recorded_type = str(self._decode(recorded[1].details["activity_type"]))
            if recorded_type != activity_type:
                raise instance.nondeterminism(
                    f"history has local activity #{seq} {recorded_type!r} (MarkerRecorded at event "
                    f"{recorded[0]}) but the workflow code ran local activity #{seq} {activity_type!r}"
                )
        request: LocalActivityRequest = build(seq)
        future: asyncio.Future[history_pb2.MarkerRecordedEventAttributes] = instance.loop.create_future()
        waiting = _Waiting(request, future)
        self._waiting[seq] = waiting
        future.add_done_callback(lambda f: self._on_done(seq, f))
        return seq, future

    def _on_done(self, seq: int, future: asyncio.Future[Any]) -> None:
        waiting = self._waiting.pop(seq, None)
        if future.cancelled() and waiting is not None and waiting.dispatched:
            self._cancelled.append(seq)

    # ------------------------------------------------------------ the worker's side

    def take_requests(self) -> list[LocalActivityRequest]:
        """Requests the worker must run now (new ones, and replayed ones history has no outcome for)."""
        if self.instance.is_completed:
            return []
        taken = []
        for seq, waiting in self._waiting.items():
            if not waiting.dispatched and seq not in self._recorded:
                waiting.dispatched = True
                taken.append(waiting.request)
        return taken

    def take_cancelled(self) -> list[int]:
        """Sequence numbers of dispatched requests the workflow stopped waiting for."""
        cancelled, self._cancelled = self._cancelled, []
        return cancelled

    def is_waiting(self, seq: int) -> bool:
        return seq in self._waiting

    def resolve(self, seq: int, outcome: LocalActivityOutcome) -> None:
        """Record the worker's outcome as a marker and resolve the request (ignored if no longer waited for)."""
        waiting = self._waiting.get(seq)
        if waiting is None:
            return
        request = waiting.request
        pc = self.instance.payload_converter
        marker = history_pb2.MarkerRecordedEventAttributes(marker_name=LOCAL_ACTIVITY_MARKER)
        details = {
            "seq": pc.to_payloads([seq]),
            "activity_type": pc.to_payloads([request.activity_type]),
            "activity_id": pc.to_payloads([request.activity_id]),
            "attempt": pc.to_payloads([outcome.attempt]),
        }
        if outcome.backoff is not None:
            details["backoff"] = pc.to_payloads([outcome.backoff.total_seconds()])
        elif outcome.failure is None:
            details["result"] = outcome.result or common_pb2.Payloads()
        for key, value in details.items():
            marker.details[key].CopyFrom(value)
        if outcome.failure is not None:
            marker.failure.CopyFrom(
                self.activity_failure(
                    request,
                    cause=outcome.failure,
                    retry_state=outcome.retry_state or E.RETRY_STATE_IN_PROGRESS,
                )
            )
        self._record(seq, marker)

    @staticmethod
    def activity_failure(
        request: LocalActivityRequest, *, cause: common_pb2.Failure, retry_state: int
    ) -> common_pb2.Failure:
        failure = common_pb2.Failure(message="local activity failed", cause=cause)
        info = failure.activity_failure_info
        info.activity_type.name = request.activity_type
        info.activity_id = request.activity_id
        info.retry_state = retry_state  # type: ignore[assignment]
        return failure

    # ------------------------------------------------------------ internals

    def _record(self, seq: int, marker: history_pb2.MarkerRecordedEventAttributes) -> None:
        waiting = self._waiting.get(seq)
        command = command_pb2.Command(command_type=E.COMMAND_TYPE_RECORD_MARKER)
        attrs = command.record_marker_command_attributes
        attrs.marker_name = marker.marker_name
        for key, value in marker.details.items():
            attrs.details[key].CopyFrom(value)
        if marker.HasField("failure"):
            attrs.failure.CopyFrom(marker.failure)
        self.instance.add_command(CommandEntry(command))
        if waiting is not None and not waiting.future.done():
            waiting.future.set_result(marker)

    def _decode(self, payloads: common_pb2.Payloads) -> Any:
        return self.instance.payload_converter.from_payloads(payloads)[0]


async def execute_local_activity(
    instance: WorkflowInstance,
    *,
    activity_type: str,
    args: Sequence[Any],
    headers: Mapping[str, common_pb2.Payload],
    activity_id: str | None,
    start_to_close_timeout: timedelta | None,
    schedule_to_close_timeout: timedelta | None,
    retry_policy: RetryPolicy | None,
    local_retry_threshold: timedelta,
    result_type: Any,
) -> Any:
    """Run a local activity to its end: attempts, durable backoffs, and the decoded result or error."""
    local = instance.local_activities
    attempt = 1
    original_schedule_time = instance.now
    payloads = instance.payload_converter.to_payloads(list(args))
    info = instance.info
    while True:

        def build(seq: int, attempt: int = attempt) -> LocalActivityRequest:
            return LocalActivityRequest(
                seq=seq,
                activity_type=activity_type,
                activity_id=activity_id or f"local-{seq}",
                input=payloads,
                headers=dict(headers),
                attempt=attempt,
                original_schedule_time=original_schedule_time,
                start_to_close_timeout=start_to_close_timeout,
                schedule_to_close_timeout=schedule_to_close_timeout,
                retry_policy=retry_policy,
                local_retry_threshold=local_retry_threshold,
                workflow_id=info.workflow_id,
                workflow_run_id=info.run_id,
                workflow_type=info.workflow_type,
                workflow_namespace=info.namespace,
            )

        _, future = local.request(activity_type=activity_type, build=build)
        marker = await future
        pc = instance.payload_converter
        if "backoff" in marker.details:
            delay = float(pc.from_payloads(marker.details["backoff"])[0])
            await asyncio.sleep(delay)  # a durable timer: the workflow may be replayed many times meanwhile
            attempt = int(pc.from_payloads(marker.details["attempt"])[0]) + 1
            continue
        if marker.HasField("failure"):
            raise instance.failure_converter.from_failure(marker.failure, pc)
        values = pc.from_payloads(marker.details["result"], [result_type])
        return values[0] if values else None
