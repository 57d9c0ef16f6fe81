"""The client side of workflow updates: sending one, waiting for its stages, reading its result.

```python
handle = await client.start_workflow(Cart.run, id="cart-1", task_queue="shop")
total: int = await handle.execute_update(Cart.add_item, "apple")      # waits for the result
upd = await handle.start_update(Cart.add_item, "pear", id="add-pear")  # returns once accepted
total = await upd.result()
```

Every update has an id (``id=``, or a fresh UUID): a request repeating an id
is not a second update, it returns the first one's outcome, so retrying after
a timeout or a crash is safe. ``start_update`` returns once the update reached
``wait_for_stage`` (ACCEPTED by default: the validator accepted it and the
acceptance is durable in history); ``WorkflowUpdateHandle.result()`` then
long-polls for the outcome, across as many calls as it takes. A rejected
update (validator raised, no such handler, arguments that do not decode)
raises ``WorkflowUpdateFailedError`` with ``rejected=True`` from
``start_update``/``execute_update``; a handler that raised, the same error from
``result()``. An update to a closed workflow is ``RPCError``
FAILED_PRECONDITION, whose message says so.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import timedelta
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import grpc

from legato.api.v1 import common_pb2, update_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato.exceptions import RPCError, WorkflowUpdateFailedError

if TYPE_CHECKING:
    from legato.client import Client

UpdateResult = TypeVar("UpdateResult")


class WorkflowUpdateStage(IntEnum):
    """How far an update has come (the values of ``UpdateStage`` in the wire API)."""

    ACCEPTED = update_pb2.UPDATE_STAGE_ACCEPTED
    """The validator accepted it and WorkflowExecutionUpdateAccepted is in history."""
    COMPLETED = update_pb2.UPDATE_STAGE_COMPLETED
    """Its handler returned or raised."""


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


class WorkflowUpdateHandle(Generic[UpdateResult]):
    """One update of one workflow, by id; ``result()`` waits for its outcome."""

    def __init__(
        self,
        client: Client,
        *,
        id: str,
        name: str,
        workflow_id: str,
        workflow_run_id: str | None,
        result_type: Any = None,
        outcome: update_pb2.UpdateOutcome | None = None,
    ) -> None:
        self.client = client
        self.id = id
        self.name = name
        self.workflow_id = workflow_id
        self.workflow_run_id = workflow_run_id
        self.result_type = result_type
        self._outcome = outcome

    def __repr__(self) -> str:
        return f"WorkflowUpdateHandle(id={self.id!r}, name={self.name!r}, workflow_id={self.workflow_id!r})"

    async def result(self, *, rpc_timeout: timedelta | None = None) -> UpdateResult:
        """Wait for the handler's outcome: its return value, or ``WorkflowUpdateFailedError``."""
        while self._outcome is None:
            request = ws.PollWorkflowExecutionUpdateRequest(
                namespace=self.client.namespace,
                workflow_execution=common_pb2.WorkflowExecution(
                    workflow_id=self.workflow_id, run_id=self.workflow_run_id or ""
                ),
                update_id=self.id,
                wait_stage=update_pb2.UPDATE_STAGE_COMPLETED,
            )
            try:
                response: ws.UpdateWorkflowExecutionResponse = await self.client.service.call(
                    "PollWorkflowExecutionUpdate", request, long_poll=True, deadline=_seconds(rpc_timeout)
                )
            except RPCError as err:
                if err.status == grpc.StatusCode.DEADLINE_EXCEEDED and rpc_timeout is None:
                    continue  # the long poll expired: ask again
                raise
            self._take(response)
        return self._decode(self._outcome, rejected=False)

    def _take(self, response: ws.UpdateWorkflowExecutionResponse) -> None:
        if response.workflow_execution.run_id:
            self.workflow_run_id = response.workflow_execution.run_id
        if response.stage == update_pb2.UPDATE_STAGE_COMPLETED:
            self._outcome = response.outcome

    def _decode(self, outcome: update_pb2.UpdateOutcome, *, rejected: bool) -> Any:
        converter = self.client.data_converter
        pc = converter.payload_converter
        if outcome.HasField("failure"):
            cause = converter.failure_converter.from_failure(outcome.failure, pc)
            what = "was rejected" if rejected else "failed"
            raise WorkflowUpdateFailedError(
                f"update {self.name!r} (id {self.id!r}) of workflow {self.workflow_id!r} {what}: {cause}",
                update_id=self.id,
                update_name=self.name,
                rejected=rejected,
                cause=cause,
            )
        values = pc.from_payloads(outcome.success, [self.result_type])
        return values[0] if values else None


async def send_update(
    client: Client,
    request: ws.UpdateWorkflowExecutionRequest | ws.UpdateWithStartWorkflowExecutionRequest,
    *,
    result_type: Any,
    rpc_timeout: timedelta | None,
) -> tuple[WorkflowUpdateHandle[Any], ws.UpdateWithStartWorkflowExecutionResponse | None]:
    """Make the call; a handle that already holds the outcome when the call waited that long.

    Raises ``WorkflowUpdateFailedError`` (rejected) when the validator refused it.
    """
    update = (
        request.update if isinstance(request, ws.UpdateWorkflowExecutionRequest) else request.update.update
    )
    await client.data_converter.encode_message(request)
    rpc = (
        "UpdateWorkflowExecution"
        if isinstance(request, ws.UpdateWorkflowExecutionRequest)
        else "UpdateWithStartWorkflowExecution"
    )
    # Long-poll: the call may wait for a worker to validate and then for the handler.
    answer = await client.service.call(rpc, request, long_poll=True, deadline=_seconds(rpc_timeout))
    with_start = answer if isinstance(answer, ws.UpdateWithStartWorkflowExecutionResponse) else None
    response: ws.UpdateWorkflowExecutionResponse = with_start.update if with_start is not None else answer
    await client.data_converter.decode_message(response)
    workflow_id = (
        request.workflow_execution.workflow_id
        if isinstance(request, ws.UpdateWorkflowExecutionRequest)
        else request.start.workflow_id
    )
    handle: WorkflowUpdateHandle[Any] = WorkflowUpdateHandle(
        client,
        id=response.update_id or update.update_id,
        name=update.name,
        workflow_id=workflow_id,
        workflow_run_id=None,
        result_type=result_type,
    )
    handle._take(response)
    if response.rejected:
        handle._decode(response.outcome, rejected=True)  # raises
    return handle, with_start


def update_request(
    client: Client,
    *,
    workflow_id: str,
    run_id: str | None,
    name: str,
    args: Sequence[Any],
    update_id: str | None,
    wait_for_stage: WorkflowUpdateStage,
    headers: Mapping[str, common_pb2.Payload] | None = None,
) -> ws.UpdateWorkflowExecutionRequest:
    return ws.UpdateWorkflowExecutionRequest(
        namespace=client.namespace,
        workflow_execution=common_pb2.WorkflowExecution(workflow_id=workflow_id, run_id=run_id or ""),
        update=update_pb2.UpdateInput(
            update_id=update_id or str(uuid.uuid4()),
            name=name,
            args=client.data_converter.payload_converter.to_payloads(list(args)),
            header=common_pb2.Header(fields=dict(headers or {})),
        ),
        identity=client.identity,
        wait_stage=int(wait_for_stage),  # type: ignore[arg-type]
    )
