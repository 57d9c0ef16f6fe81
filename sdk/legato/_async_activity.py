"""Completing an activity from outside the worker that started it (async completion).

An activity that calls ``activity.raise_complete_async()`` ends its attempt
without an answer: the worker reports nothing, and the attempt stays started
on the server until someone answers it or its timeouts fire. Anyone with a
``Client`` can answer it through an ``AsyncActivityHandle``, named either by
the attempt's task token (``activity.info().task_token``, opaque bytes to pass
along as they are) or by workflow id, optional run id and activity id (the
frontend finds the current started attempt).

Every answer goes through the server's attempt check, so it lands only on the
attempt it names: an answer to an attempt that is over (already answered,
timed out, retried) raises ``AsyncActivityNotFoundError``; a token that is not
one (garbage, truncated, a workflow task's) raises ``RPCError`` with status
INVALID_ARGUMENT and a message saying what is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import grpc

from legato.api.v1 import workflow_service_pb2 as ws
from legato.exceptions import RPCError

if TYPE_CHECKING:
    from legato.client import Client

__all__ = ["AsyncActivityHandle", "AsyncActivityNotFoundError"]


class AsyncActivityNotFoundError(RPCError):
    """The attempt this handle names is over: answered already, timed out, retried, or never started."""


class AsyncActivityHandle:
    """Answers one activity attempt from any process: ``complete``, ``fail``, ``heartbeat``, ``report_cancellation``."""

    def __init__(
        self,
        client: Client,
        *,
        task_token: bytes | None = None,
        workflow_id: str | None = None,
        run_id: str | None = None,
        activity_id: str | None = None,
    ) -> None:
        if task_token is not None:
            if workflow_id is not None or run_id is not None or activity_id is not None:
                raise ValueError(
                    "name the activity either by task_token or by workflow_id + activity_id, not both"
                )
            if not isinstance(task_token, bytes) or not task_token:
                raise ValueError("task_token must be the non-empty bytes of activity.info().task_token")
        elif not workflow_id or not activity_id:
            raise ValueError(
                "name the activity by task_token=..., or by workflow_id=... and activity_id=... "
                "(run_id optional: the current run)"
            )
        self._client = client
        self.task_token = task_token
        self.reference = (
            None
            if task_token is not None
            else ws.ActivityReference(
                workflow_id=workflow_id or "", run_id=run_id or "", activity_id=activity_id or ""
            )
        )

    async def complete(self, result: Any = None) -> None:
        """Complete the attempt with ``result``: the workflow's ``execute_activity`` returns it."""
        payloads = self._converter.payload_converter.to_payloads([result])
        if self.task_token is not None:
            await self._call(
                "RespondActivityTaskCompleted",
                ws.RespondActivityTaskCompletedRequest(task_token=self.task_token, result=payloads),
            )
        else:
            await self._call(
                "RespondActivityTaskCompletedById",
                ws.RespondActivityTaskCompletedByIdRequest(activity=self.reference, result=payloads),
            )

    async def fail(self, error: BaseException, *, last_heartbeat_details: Sequence[Any] = ()) -> None:
        """Fail the attempt with ``error``; the server retries it per the activity's retry policy."""
        converter = self._converter
        failure = converter.failure_converter.to_failure(error, converter.payload_converter)
        details = converter.payload_converter.to_payloads(list(last_heartbeat_details))
        if self.task_token is not None:
            request: Any = ws.RespondActivityTaskFailedRequest(task_token=self.task_token, failure=failure)
            name = "RespondActivityTaskFailed"
        else:
            request = ws.RespondActivityTaskFailedByIdRequest(activity=self.reference, failure=failure)
            name = "RespondActivityTaskFailedById"
        if last_heartbeat_details:
            request.last_heartbeat_details.CopyFrom(details)
        await self._call(name, request)

    async def heartbeat(self, *details: Any) -> bool:
        """Record progress (and keep a heartbeat timeout from firing); True if the workflow asked to cancel."""
        payloads = self._converter.payload_converter.to_payloads(list(details))
        if self.task_token is not None:
            response = await self._call(
                "RecordActivityTaskHeartbeat",
                ws.RecordActivityTaskHeartbeatRequest(task_token=self.task_token, details=payloads),
            )
        else:
            response = await self._call(
                "RecordActivityTaskHeartbeatById",
                ws.RecordActivityTaskHeartbeatByIdRequest(activity=self.reference, details=payloads),
            )
        return bool(response.cancel_requested)

    async def report_cancellation(self, *details: Any) -> None:
        """Answer a cancellation request: the activity ends as canceled."""
        payloads = self._converter.payload_converter.to_payloads(list(details))
        if self.task_token is not None:
            await self._call(
                "RespondActivityTaskCanceled",
                ws.RespondActivityTaskCanceledRequest(task_token=self.task_token, details=payloads),
            )
        else:
            await self._call(
                "RespondActivityTaskCanceledById",
                ws.RespondActivityTaskCanceledByIdRequest(activity=self.reference, details=payloads),
            )

    @property
    def _converter(self) -> Any:
        return self._client.data_converter

    async def _call(self, rpc: str, request: Any) -> Any:
        request.namespace = self._client.namespace
        request.identity = self._client.identity
        await self._converter.encode_message(request)
        try:
            return await self._client.service.call(rpc, request)
        except RPCError as err:
            if err.status == grpc.StatusCode.NOT_FOUND:
                raise AsyncActivityNotFoundError(
                    str(err), status=err.status, details=err.details, metadata=err.metadata
                ) from err
            raise
