"""OpenTelemetry tracing: one trace from the client's start through the workflow to its activities.

```python
interceptor = TracingInterceptor()
client = await Client.connect(..., interceptors=[interceptor])  # workers built on it trace too
```

Spans (names carry the workflow/activity type):

* ``StartWorkflow:<type>`` / ``SignalWithStartWorkflow:<type>`` (client, kind CLIENT),
  also ``SignalWorkflow:<name>`` and ``QueryWorkflow:<name>``;
* ``RunWorkflow:<type>`` (worker, a child of the start span), created when the
  run starts and ended at once: a workflow may run for months across many
  workers, so the span marks the start, it does not time the run;
* ``StartActivity:<type>`` / ``StartChildWorkflow:<type>`` (inside the workflow);
* ``RunActivity:<type>`` (worker, kind SERVER, a child of StartActivity) around
  the activity's execution, with its exception recorded.

The context travels on two channels. Every call to the server carries the
current span's W3C ``traceparent`` as gRPC metadata (``legato._service``), so
the server's spans (docs/tracing.md) are children of the client's. And the
calls' headers carry it (``_tracer-data``: the W3C carrier as a JSON payload),
which the server stores in the history, so a trace stays whole when another
worker replays the workflow. Workflow-side spans are not recorded while the workflow is replaying
(they were recorded the first time); during replay the context from the
workflow's start header is propagated instead.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from legato.api.v1 import common_pb2
from legato.converter import PayloadConverter
from legato.interceptor import (
    ActivityInboundInterceptor,
    ClientOutboundInterceptor,
    ExecuteActivityInput,
    ExecuteWorkflowInput,
    Interceptor,
    QueryWorkflowInput,
    SignalWorkflowInput,
    StartActivityInput,
    StartChildWorkflowInput,
    StartWorkflowInput,
    StartWorkflowUpdateInput,
    WorkflowInboundInterceptor,
    WorkflowOutboundInterceptor,
)

__all__ = ["HEADER_KEY", "TracingInterceptor"]

HEADER_KEY = "_tracer-data"

_propagator = TraceContextTextMapPropagator()
_converter = PayloadConverter()


def inject(headers: MutableMapping[str, common_pb2.Payload], ctx: otel_context.Context | None = None) -> None:
    """Write the (current or given) span context into ``headers``."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier, context=ctx)
    if not carrier:
        return
    payload = _converter.to_payload(carrier)
    if isinstance(headers, dict):
        headers[HEADER_KEY] = payload
    else:  # a protobuf map field: message values cannot be assigned, only copied into
        headers[HEADER_KEY].CopyFrom(payload)


def extract(headers: Mapping[str, common_pb2.Payload]) -> otel_context.Context | None:
    """The span context carried in ``headers``, if any."""
    payload = headers.get(HEADER_KEY)
    if payload is None:
        return None
    try:
        carrier = _converter.from_payload(payload, dict[str, str])
    except Exception:
        return None
    return _propagator.extract(carrier)


def _workflow_is_replaying() -> bool:
    """Ask the workflow runtime whether the current activation replays history."""
    try:
        workflow = importlib.import_module("legato.workflow")
    except ImportError:
        return False
    for path in ("unsafe.is_replaying", "is_replaying"):
        target: Any = workflow
        for part in path.split("."):
            target = getattr(target, part, None)
        if callable(target):
            return bool(target())
    info = getattr(workflow, "info", None)
    if callable(info):
        return bool(getattr(info(), "is_replaying", False))
    return False


class TracingInterceptor(Interceptor):
    """Creates spans for starts, runs and activities and propagates their context through headers."""

    def __init__(self, tracer: trace.Tracer | None = None) -> None:
        self.tracer = tracer or trace.get_tracer("legato")

    def intercept_client(self, next: ClientOutboundInterceptor) -> ClientOutboundInterceptor:
        return _TracingClientOutbound(next, self.tracer)

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _TracingActivityInbound(next, self.tracer)

    def workflow_interceptor_class(self) -> type[WorkflowInboundInterceptor]:
        tracer = self.tracer

        class _BoundTracingWorkflowInbound(_TracingWorkflowInbound):
            _tracer = tracer

        return _BoundTracingWorkflowInbound


class _TracingClientOutbound(ClientOutboundInterceptor):
    def __init__(self, next: ClientOutboundInterceptor, tracer: trace.Tracer) -> None:
        super().__init__(next)
        self._tracer = tracer

    @contextmanager
    def _span(
        self, name: str, headers: MutableMapping[str, common_pb2.Payload], **attributes: str
    ) -> Iterator[None]:
        with self._tracer.start_as_current_span(
            name, kind=trace.SpanKind.CLIENT, attributes={k: v for k, v in attributes.items() if v}
        ):
            inject(headers)
            yield

    async def start_workflow(self, input: StartWorkflowInput) -> Any:
        prefix = "SignalWithStartWorkflow" if input.signal_name is not None else "StartWorkflow"
        with self._span(
            f"{prefix}:{input.workflow_type}", input.headers, **{"legato.workflow_id": input.workflow_id}
        ):
            return await self.next.start_workflow(input)

    async def signal_workflow(self, input: SignalWorkflowInput) -> None:
        with self._span(
            f"SignalWorkflow:{input.signal_name}", input.headers, **{"legato.workflow_id": input.workflow_id}
        ):
            await self.next.signal_workflow(input)

    async def query_workflow(self, input: QueryWorkflowInput) -> Any:
        with self._span(
            f"QueryWorkflow:{input.query_name}", input.headers, **{"legato.workflow_id": input.workflow_id}
        ):
            return await self.next.query_workflow(input)

    async def start_workflow_update(self, input: StartWorkflowUpdateInput) -> Any:
        with self._span(
            f"StartWorkflowUpdate:{input.update_name}",
            input.headers,
            **{"legato.workflow_id": input.workflow_id, "legato.update_id": input.update_id},
        ):
            return await self.next.start_workflow_update(input)


class _TracingActivityInbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, tracer: trace.Tracer) -> None:
        super().__init__(next)
        self._tracer = tracer

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        from legato import activity

        info = activity.info() if activity.in_activity() else None
        name = info.activity_type if info else getattr(input.fn, "__name__", "activity")
        attributes: dict[str, str | int] = (
            {
                "legato.activity_id": info.activity_id,
                "legato.workflow_id": info.workflow_id,
                "legato.run_id": info.workflow_run_id,
                "legato.attempt": info.attempt,
            }
            if info
            else {}
        )
        with self._tracer.start_as_current_span(
            f"RunActivity:{name}",
            context=extract(input.headers),
            kind=trace.SpanKind.SERVER,
            attributes=attributes,
        ):
            return await self.next.execute_activity(input)


class _TracingWorkflowInbound(WorkflowInboundInterceptor):
    _tracer: trace.Tracer

    def __init__(self, next: WorkflowInboundInterceptor) -> None:
        super().__init__(next)
        self._parent: otel_context.Context | None = None

    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        self.next.init(_TracingWorkflowOutbound(outbound, self))

    def _child_span_context(self, name: str, headers: MutableMapping[str, common_pb2.Payload]) -> None:
        """Record a span (unless replaying) under the run's context and put it into ``headers``."""
        if _workflow_is_replaying():
            inject(headers, self._parent)
            return
        span = self._tracer.start_span(name, context=self._parent)
        span.end()
        inject(headers, trace.set_span_in_context(span, self._parent))

    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        self._parent = extract(input.headers)
        if not _workflow_is_replaying():
            span = self._tracer.start_span(f"RunWorkflow:{input.workflow_type}", context=self._parent)
            span.end()
            self._parent = trace.set_span_in_context(span, self._parent)
        return await self.next.execute_workflow(input)


class _TracingWorkflowOutbound(WorkflowOutboundInterceptor):
    def __init__(self, next: WorkflowOutboundInterceptor, root: _TracingWorkflowInbound) -> None:
        super().__init__(next)
        self._root = root

    def start_activity(self, input: StartActivityInput) -> Any:
        self._root._child_span_context(f"StartActivity:{input.activity_type}", input.headers)
        return self.next.start_activity(input)

    def start_child_workflow(self, input: StartChildWorkflowInput) -> Any:
        self._root._child_span_context(f"StartChildWorkflow:{input.workflow_type}", input.headers)
        return self.next.start_child_workflow(input)
