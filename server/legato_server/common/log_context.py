"""Which workflow a log line is about: context variables set at the RPC and task boundary.

A server log line is written deep inside an operation that knows nothing of
logging fields. Instead of passing namespace, workflow id and run id down
every call, the boundary that knows them (an RPC arriving at a role, a
transfer or timer task starting) sets them in a ``contextvars.ContextVar``;
asyncio copies the context into every task it spawns, so lines written by
anything that request or task causes carry them, and concurrent requests do
not see each other's. ``log_format.JsonFormatter`` reads them.

Reading the fields from a request costs a walk over a few proto fields, so the
RPC boundary does it only while ``enabled`` (the JSON log format turns it on;
the text format shows none of them).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class WorkflowFields:
    namespace: str = ""
    """The namespace's name, when the boundary knows it (public requests name it)."""
    namespace_id: str = ""
    """Its id, when that is all the boundary knows (internal requests, history tasks)."""
    workflow_id: str = ""
    run_id: str = ""


current: contextvars.ContextVar[WorkflowFields | None] = contextvars.ContextVar(
    "legato_log_workflow", default=None
)

enabled = False
"""Whether the RPC boundary extracts fields from requests (set by ``log_format.configure_logging``)."""


@contextmanager
def workflow_fields(*, namespace_id: str, workflow_id: str, run_id: str) -> Iterator[None]:
    """While JSON logs are on, lines logged inside the block (and in tasks it spawns) name this run."""
    if not enabled:
        yield
        return
    token = current.set(WorkflowFields(namespace_id=namespace_id, workflow_id=workflow_id, run_id=run_id))
    try:
        yield
    finally:
        current.reset(token)


_EXECUTION_FIELDS = ("workflow_execution", "execution")

TokenFields = Callable[[bytes], "WorkflowFields | None"]
"""Reads a task token (its format belongs to history; the server assembly passes the reader)."""


def fields_of_request(request: Any, *, token_fields: TokenFields | None = None) -> WorkflowFields | None:
    """Namespace, workflow id and run id named by an API or internal request, if any.

    Public requests name the namespace; internal ones carry its id and wrap the
    public request (``start_request``, ``complete_request``...), which names it.
    A worker's answer names its run only in its task token (``token_fields``).
    """
    found: dict[str, str] = {}
    _collect(request, found, depth=0, token_fields=token_fields)
    if not found:
        return None
    return WorkflowFields(
        namespace=found.get("namespace", ""),
        namespace_id=found.get("namespace_id", ""),
        workflow_id=found.get("workflow_id", ""),
        run_id=found.get("run_id", ""),
    )


def _collect(message: Any, found: dict[str, str], *, depth: int, token_fields: TokenFields | None) -> None:
    for name in ("namespace", "namespace_id", "workflow_id"):
        value = getattr(message, name, None)
        if isinstance(value, str) and value and name not in found:
            found[name] = value
    for name in _EXECUTION_FIELDS:
        execution = getattr(message, name, None)
        if execution is not None and hasattr(execution, "workflow_id") and execution.workflow_id:
            found.setdefault("workflow_id", execution.workflow_id)
            if execution.run_id:
                found.setdefault("run_id", execution.run_id)
    token = getattr(message, "task_token", None)
    if token and token_fields is not None and "workflow_id" not in found:
        fields = token_fields(token)
        if fields is not None:
            found.setdefault("namespace_id", fields.namespace_id)
            found["workflow_id"] = fields.workflow_id
            found.setdefault("run_id", fields.run_id)
    if depth < 1:
        for field in message.DESCRIPTOR.fields:
            if field.name.endswith("request") and field.message_type is not None:
                _collect(getattr(message, field.name), found, depth=depth + 1, token_fields=token_fields)
