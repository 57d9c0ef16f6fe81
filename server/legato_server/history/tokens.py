"""Task tokens: what a worker hands back to say which task attempt it answers.

A token names the run, the scheduled event and the attempt (and, for a
workflow task, its started event). The handler checks each of them against the
mutable state, so an answer to a task that timed out, was retried or already
answered is refused with NotFound instead of being applied twice.
"""

from __future__ import annotations

from google.protobuf.message import DecodeError

from legato_server.common.errors import InvalidArgument
from legato_server.common.limits import quote
from legato_server.common.log_context import WorkflowFields
from legato_server.internal.v1 import tokens_pb2


def encode_task_token(token: tokens_pb2.TaskToken) -> bytes:
    return token.SerializeToString()


def decode_task_token(data: bytes, *, namespace_id: str = "") -> tokens_pb2.TaskToken:
    """Parse a token from a worker; InvalidArgument if it is not one of ours."""
    if not data:
        raise InvalidArgument("task_token is empty; pass the token from the poll response")
    token = tokens_pb2.TaskToken()
    try:
        token.ParseFromString(data)
    except DecodeError as err:
        raise InvalidArgument(
            "task_token is malformed; pass the token from the poll response unchanged"
        ) from err
    if not token.workflow_id or not token.run_id or token.scheduled_event_id <= 0:
        raise InvalidArgument("task_token is malformed; pass the token from the poll response unchanged")
    if namespace_id and token.namespace_id != namespace_id:
        raise InvalidArgument(
            f"task_token belongs to namespace id {quote(token.namespace_id)}, not to {quote(namespace_id)}"
        )
    return token


def log_fields_of_token(data: bytes) -> WorkflowFields | None:
    """The run a token names, for the log fields of a worker's answer (None if it is not a token)."""
    token = tokens_pb2.TaskToken()
    try:
        token.ParseFromString(data)
    except DecodeError:
        return None
    if not token.workflow_id:
        return None
    return WorkflowFields(namespace_id=token.namespace_id, workflow_id=token.workflow_id, run_id=token.run_id)
