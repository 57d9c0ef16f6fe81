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


@dataclass(frozen=True, slots=True)
class _Plan:
    """Which fields of one message type to read: worked out once per type, not per request."""

    strings: tuple[str, ...]
    executions: tuple[str, ...]
    has_token: bool
    nested: tuple[str, ...]


_plans: dict[Any, _Plan] = {}


def _plan(descriptor: Any) -> _Plan:
    plan = _plans.get(descriptor)
    if plan is None:
        names = descriptor.fields_by_name
        plan = _Plan(
            strings=tuple(
                n
                for n in ("namespace", "namespace_id", "workflow_id")
                if n in names and names[n].type == names[n].TYPE_STRING
            ),
            executions=tuple(
                n
                for n in _EXECUTION_FIELDS
                if n in names and getattr(names[n].message_type, "name", "") == "WorkflowExecution"
            ),
            has_token="task_token" in names,
            nested=tuple(f.name for f in descriptor.fields if f.name.endswith("request") and f.message_type),
        )
        _plans[descriptor] = plan
    return plan


def _collect(message: Any, found: dict[str, str], *, depth: int, token_fields: TokenFields | None) -> None:
    plan = _plan(message.DESCRIPTOR)
    for name in plan.strings:
        value = getattr(message, name)
        if value and name not in found:
            found[name] = value
    for name in plan.executions:
        execution = getattr(message, name)
        if execution.workflow_id:
            found.setdefault("workflow_id", execution.workflow_id)
            if execution.run_id:
                found.setdefault("run_id", execution.run_id)
    if plan.has_token and token_fields is not None and "workflow_id" not in found:
        token = message.task_token
        fields = token_fields(token) if token else None
        if fields is not None:
            found.setdefault("namespace_id", fields.namespace_id)
            found["workflow_id"] = fields.workflow_id
            found.setdefault("run_id", fields.run_id)
    if depth < 1:
        for name in plan.nested:
            _collect(getattr(message, name), found, depth=depth + 1, token_fields=token_fields)
