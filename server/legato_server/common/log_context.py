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
from collections.abc import Iterator
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
_NESTED_REQUESTS = (
    "request",
    "start_request",
    "signal_request",
    "signal_with_start_request",
    "cancel_request",
    "terminate_request",
    "poll_request",
)


def fields_of_request(request: Any) -> WorkflowFields | None:
    """Namespace, workflow id and run id named by an API or internal request, if any.

    Public requests name the namespace; internal ones carry its id and wrap the
    public request (``start_request``, ``request``...), which names it.
    """
    found: dict[str, str] = {}
    _collect(request, found, depth=0)
    if not found:
        return None
    return WorkflowFields(
        namespace=found.get("namespace", ""),
        namespace_id=found.get("namespace_id", ""),
        workflow_id=found.get("workflow_id", ""),
        run_id=found.get("run_id", ""),
    )


def _collect(message: Any, found: dict[str, str], *, depth: int) -> None:
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
    if depth < 1:
        for name in _NESTED_REQUESTS:
            nested = getattr(message, name, None)
            if nested is not None and not isinstance(nested, str | bytes):
                _collect(nested, found, depth=depth + 1)
