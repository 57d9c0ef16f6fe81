"""Server spans: one per RPC of every role and one per transfer/timer task, in the workflow's trace.

Off by default. When off, nothing here allocates a span or touches the
OpenTelemetry SDK: ``server.py`` installs no wrappers at all, and the queue and
run hooks test one module global (``_active``) and return. When on
(``TracingConfig.enabled``, or ``OTEL_TRACES_EXPORTER=otlp`` in the
environment), each role gets its own ``TracerProvider`` whose resource names
the role (service ``legato-frontend``, ``legato-history``,
``legato-matching``), so a single-process server still shows three services
in Jaeger, and spans go out in batches over OTLP gRPC or HTTP.

Where a span's parent comes from:

* **An RPC over gRPC**: the caller's W3C ``traceparent`` in the metadata (the
  SDK client sends it; the inter-role ``GrpcClient`` sends the current one).
* **An RPC in-process** (a role calling a local peer role): the current
  context, which the caller's span is in.
* **A worker's answer** (Respond*, heartbeat) that carries no context: the
  run's context from its task token (history puts it there when it hands out
  the task), so an answer minutes later still lands in the run's trace.
* **A transfer or timer task**: the run's context copied into the task when it
  was written (``ExecutionInfo.trace_context``), so dispatching, timers and
  timeouts hours later land in the run's trace, on any host, after restarts.

Which calls may *start* a trace: only frontend calls that act on a workflow
(start, signal, query, cancel, terminate, reset, update). Long polls, reads,
worker answers without a context and inter-role calls without one make no
span: a poll is an idle wait, and a root span for each would bury the
workflow traces.

A run's context is set when the run is built (``run_trace_context``): the
span that created it (the history StartWorkflowExecution span for a client
start, the start-child task span for a child). A run that follows another
(continue-as-new, retry, cron) gets, by default (``continue_as_new: link``), a
new trace whose root span links to the previous run, so a workflow that
continues as new for a year is a chain of readable traces, not one endless
trace; ``continue_as_new: same`` keeps every run in the first trace. See
docs/tracing.md.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

log = logging.getLogger(__name__)

PROTOCOLS = ("grpc", "http/protobuf")
CONTINUE_AS_NEW_MODES = ("link", "same")
WORKFLOW_TYPE_KEY = "legato.workflow_type"
"""Kept in a run's trace context map next to the W3C fields: its tasks name the type without a read."""

_propagator = TraceContextTextMapPropagator()


@dataclass(frozen=True)
class TracingConfig:
    """How the server exports spans (``tracing:`` in the server's YAML; ``OTEL_*`` override)."""

    enabled: bool = False
    protocol: str = "grpc"
    """OTLP transport: "grpc" (default port 4317) or "http/protobuf" (4318)."""
    endpoint: str | None = None
    """Collector address; None = the exporter's own default / ``OTEL_EXPORTER_OTLP_*ENDPOINT``."""
    service_name: str = "legato"
    """Prefix of each role's service name: spans of role R are in service "<service_name>-R"."""
    continue_as_new: str = "link"
    """"link": each run that follows another gets a new trace linked to it; "same": one trace."""

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(
                f"tracing.protocol: expected one of {', '.join(PROTOCOLS)}; got {self.protocol!r}"
            )
        if self.continue_as_new not in CONTINUE_AS_NEW_MODES:
            raise ValueError(
                f"tracing.continue_as_new: expected one of {', '.join(CONTINUE_AS_NEW_MODES)}; "
                f"got {self.continue_as_new!r}"
            )
        if not self.service_name:
            raise ValueError("tracing.service_name must not be empty")


def tracing_config_from_mapping(data: Any, environ: Mapping[str, str] | None = None) -> TracingConfig:
    """The ``tracing:`` section of the YAML, then the standard ``OTEL_*`` variables over it.

    ``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none`` turn tracing off;
    ``OTEL_TRACES_EXPORTER=otlp`` or an ``OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT`` turns it on; ``OTEL_EXPORTER_OTLP_TRACES_PROTOCOL``
    / ``OTEL_EXPORTER_OTLP_PROTOCOL`` pick the transport; ``OTEL_SERVICE_NAME`` the
    prefix. Endpoints, headers, timeouts and ``OTEL_TRACES_SAMPLER`` are read by
    the OpenTelemetry SDK itself.
    """
    env = os.environ if environ is None else environ
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError(f"tracing: expected a mapping, got {data!r}")
    allowed = {"enabled", "protocol", "endpoint", "service_name", "continue_as_new"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValueError(f"unknown config key tracing.{unknown[0]}; allowed: {', '.join(sorted(allowed))}")
    enabled = data.get("enabled", False)
    if not isinstance(enabled, bool):
        raise ValueError(f"tracing.enabled: expected true or false, got {enabled!r}")
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        enabled = True  # naming a collector means "export there" (the operator sets only this)
    if exporter == "otlp":
        enabled = True
    elif exporter == "none":
        enabled = False
    elif exporter:
        raise ValueError(f"OTEL_TRACES_EXPORTER: the server exports with otlp or none; got {exporter!r}")
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        enabled = False
    protocol = (
        env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or str(data.get("protocol", "grpc"))
    )
    endpoint = data.get("endpoint")
    return TracingConfig(
        enabled=enabled,
        protocol=protocol.strip(),
        endpoint=None if endpoint in (None, "") else str(endpoint),
        service_name=env.get("OTEL_SERVICE_NAME") or str(data.get("service_name", "legato")),
        continue_as_new=str(data.get("continue_as_new", "link")),
    )


def tracing_config_from_environment() -> TracingConfig:
    """Tracing as the ``OTEL_*`` variables alone set it (off when none is set)."""
    return tracing_config_from_mapping(None)


# ---------------------------------------------------------------- process state


@dataclass
class _Active:
    config: TracingConfig
    providers: dict[str, Any]
    tracers: dict[str, trace.Tracer]
    users: int = 1


_active: _Active | None = None
"""None while tracing is off: every hook checks this first and does nothing else."""


def is_on() -> bool:
    return _active is not None


def install(config: TracingConfig, *, roles: tuple[str, ...]) -> None:
    """Start exporting spans of ``roles`` (a no-op when ``config.enabled`` is false).

    One set of providers per process: servers started in the same process
    (tests) share it, and it is torn down when the last one calls ``release``.
    """
    global _active
    if not config.enabled:
        return
    if _active is not None:
        _active.users += 1
        for role in roles:
            _tracer(role)
        return
    _active = _Active(config=config, providers={}, tracers={})
    for role in roles:
        _tracer(role)
    log.info(
        "tracing on: OTLP/%s to %s, services %s",
        config.protocol,
        config.endpoint or "the OTEL_EXPORTER_OTLP_* endpoint (or the default)",
        ", ".join(service_name(config, r) for r in roles),
    )


def release(config: TracingConfig) -> None:
    """Flush and stop exporting once the last server that installed tracing stops."""
    global _active
    if not config.enabled or _active is None:
        return
    _active.users -= 1
    if _active.users > 0:
        return
    active, _active = _active, None
    for provider in active.providers.values():
        try:
            provider.shutdown()  # flushes the batch
        except Exception:
            log.exception("error while flushing spans")


def force_flush() -> None:
    """Send every finished span now (tests, before asking the collector)."""
    if _active is not None:
        for provider in _active.providers.values():
            provider.force_flush()


def _tracer(role: str) -> trace.Tracer:
    assert _active is not None
    found = _active.tracers.get(role)
    if found is None:
        provider = _new_provider(_active.config, role)
        _active.providers[role] = provider
        found = _active.tracers[role] = provider.get_tracer("legato_server")
    return found


def service_name(config: TracingConfig, role: str) -> str:
    """ "<service_name>-<role>", unless the name already ends so (OTEL_SERVICE_NAME=legato-history)."""
    name = config.service_name
    return name if name.endswith(f"-{role}") else f"{name}-{role}"


def _new_provider(config: TracingConfig, role: str) -> Any:
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    exporter: Any
    if config.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        endpoint = config.endpoint
        insecure = None
        if endpoint is not None and endpoint.startswith("http://"):
            insecure = True
        exporter = GrpcExporter(endpoint=endpoint, insecure=insecure)
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

        endpoint = config.endpoint
        if endpoint is not None and not endpoint.rstrip("/").endswith("/v1/traces"):
            endpoint = endpoint.rstrip("/") + "/v1/traces"
        exporter = HttpExporter(endpoint=endpoint)
    resource = Resource.create({SERVICE_NAME: service_name(config, role), "legato.role": role})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=500))
    return provider


# ---------------------------------------------------------------- carriers


def carrier_of_current() -> dict[str, str]:
    """The current span's context as a W3C carrier (empty without a recording span)."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier


def _context_from(carrier: Mapping[str, str]) -> otel_context.Context | None:
    if "traceparent" not in carrier:
        return None
    ctx = _propagator.extract(carrier)
    return ctx if trace.get_current_span(ctx).get_span_context().is_valid else None


# ---------------------------------------------------------------- attributes

_ATTRIBUTE_FIELDS = (
    ("namespace", "legato.namespace"),
    ("namespace_id", "legato.namespace_id"),
    ("workflow_id", "legato.workflow_id"),
    ("run_id", "legato.run_id"),
)


def request_attributes(request: Any) -> dict[str, str]:
    """namespace, workflow id, run id, task queue and workflow/activity type found in a request.

    Requests differ in where they keep these (top level, ``workflow_execution``,
    the frontend request that history's requests wrap), so this looks at the
    top level and then at each message field one level down.
    """
    found: dict[str, str] = {}
    _collect(request, found)
    for _, value in request.ListFields():
        if isinstance(value, Message):
            _collect(value, found)
    return found


def _collect(message: Any, found: dict[str, str]) -> None:
    for field, key in _ATTRIBUTE_FIELDS:
        value = getattr(message, field, None)
        if isinstance(value, str) and value and key not in found:
            found[key] = value
    queue = getattr(message, "task_queue", None)
    if queue is not None and "legato.task_queue" not in found:
        name = queue if isinstance(queue, str) else getattr(queue, "name", "")
        if name:
            found["legato.task_queue"] = name
    for field, key in (("workflow_type", "legato.workflow_type"), ("activity_type", "legato.activity_type")):
        value = getattr(message, field, None)
        name = getattr(value, "name", "") if value is not None else ""
        if name and key not in found:
            found[key] = name


# ---------------------------------------------------------------- RPC spans

WORKER_METHODS = frozenset(
    {
        "PollWorkflowTaskQueue",
        "PollActivityTaskQueue",
        "RespondWorkflowTaskCompleted",
        "RespondWorkflowTaskFailed",
        "RespondQueryTaskCompleted",
        "RespondActivityTaskCompleted",
        "RespondActivityTaskFailed",
        "RespondActivityTaskCanceled",
        "RespondActivityTaskCompletedById",
        "RespondActivityTaskFailedById",
        "RespondActivityTaskCanceledById",
        "RecordActivityTaskHeartbeat",
        "RecordActivityTaskHeartbeatById",
        "ResetStickyTaskQueue",
    }
)
"""Frontend calls a worker makes: they never start a trace of their own (see the module doc)."""

ROOT_PREFIXES = ("Start", "Signal", "Query", "RequestCancel", "Terminate", "Reset", "Update")
"""Frontend calls that may start a trace when the caller sent none: those that act on a workflow.
Reads (history long-polls, describe, list, system info) join a trace or make no span."""


TokenContext = Callable[[Any], Mapping[str, str] | None]
"""Reads the run's trace context out of a request's task token (the server knows the format)."""


@contextlib.contextmanager
def _rpc_span(
    role: str,
    method: str,
    request: Any,
    parent: otel_context.Context | None,
    token_context: TokenContext | None = None,
) -> Iterator[None]:
    if parent is None and token_context is not None and method in WORKER_METHODS:
        carrier = token_context(request)
        parent = _context_from(carrier) if carrier else None
    if parent is None and (
        role != "frontend" or method in WORKER_METHODS or not method.startswith(ROOT_PREFIXES)
    ):
        yield  # never a root: see "Which calls may start a trace"
        return
    attributes: dict[str, Any] = {"rpc.system": "grpc", "rpc.method": method, "legato.role": role}
    attributes.update(request_attributes(request))
    with _tracer(role).start_as_current_span(
        method, context=parent, kind=SpanKind.SERVER, attributes=attributes
    ) as span:
        try:
            yield
        except BaseException as err:
            code = getattr(err, "code", None)
            if code is not None:
                span.set_attribute("rpc.grpc.status_code", str(getattr(code, "name", code)))
            raise


def grpc_method(
    role: str,
    method: str,
    call: Callable[..., Awaitable[Any]],
    *,
    token_context: TokenContext | None = None,
) -> Callable[..., Awaitable[Any]]:
    """Wrap a grpc.aio servicer method in a span whose parent is the caller's metadata.

    ``token_context`` (frontend): where a worker's answer without metadata finds its run's context.
    """

    async def traced(request: Any, context: Any) -> Any:
        carrier = {
            k: v for k, v in (context.invocation_metadata() or ()) if k in ("traceparent", "tracestate")
        }
        parent = _context_from(carrier) if carrier else None
        with _rpc_span(role, method, request, parent, token_context):
            return await call(request, context)

    traced.__name__ = getattr(call, "__name__", method)
    return traced


class LocalHandler:
    """A role's handler as a peer role in this process calls it: each RPC in a span.

    Other attributes (``engine``, ``owns``, ...) pass through unchanged.
    """

    def __init__(self, role: str, handler: Any, methods: list[str]) -> None:
        self._role = role
        self._handler = handler
        for name in methods:
            setattr(self, name, self._bind(name))

    def _bind(self, name: str) -> Callable[..., Awaitable[Any]]:
        target = getattr(self._handler, name)
        role = self._role

        async def call(request: Any, **kwargs: Any) -> Any:
            if not trace.get_current_span().get_span_context().is_valid:
                return await target(request, **kwargs)
            with _rpc_span(role, name, request, otel_context.get_current()):
                return await target(request, **kwargs)

        call.__name__ = name
        return call

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handler, name)


def local_handler(role: str, handler: Any, service: Any) -> Any:
    """``handler`` itself when tracing is off, else a ``LocalHandler`` over it."""
    if _active is None or handler is None:
        return handler
    return LocalHandler(role, handler, [m.name for m in service.methods])


# ---------------------------------------------------------------- task spans


def run_task(
    role: str,
    name: str,
    trace_context: Mapping[str, str],
    attributes: dict[str, str],
    attempt: Callable[[], Awaitable[None]],
) -> Callable[[], Awaitable[None]]:
    """``attempt`` itself when tracing is off or the run has no context; else one span per attempt.

    The span's parent is the run's stored context, not whatever the queue's
    asyncio task happens to carry.
    """
    if _active is None or not trace_context:
        return attempt
    parent = _context_from(trace_context)
    if parent is None:
        return attempt
    workflow_type = trace_context.get(WORKFLOW_TYPE_KEY)
    if workflow_type:
        attributes = {**attributes, "legato.workflow_type": workflow_type}
    tracer = _tracer(role)

    async def traced() -> None:
        with tracer.start_as_current_span(
            name, context=parent, kind=SpanKind.INTERNAL, attributes=attributes
        ):
            await attempt()

    return traced


def annotate(**attributes: str) -> None:
    """Add attributes to the current span (e.g. an activity's type, known once the run is read)."""
    if _active is None:
        return
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes({f"legato.{k}": v for k, v in attributes.items() if v})


def mark_error(message: str) -> None:
    if _active is None:
        return
    span = trace.get_current_span()
    if span.is_recording():
        span.set_status(Status(StatusCode.ERROR, message))


# ---------------------------------------------------------------- runs


def run_trace_context(
    *,
    workflow_type: str,
    workflow_id: str,
    run_id: str,
    previous: Mapping[str, str] | None,
    out: MutableMapping[str, str],
) -> bool:
    """Fill ``out`` (a new run's ``ExecutionInfo.trace_context``); True if it starts a new trace.

    A first run takes the current span (the RPC or task that starts it). A run
    that follows another (``previous`` is that run's context) keeps that trace
    with ``continue_as_new: same``, or, with ``link``, starts a new trace whose
    root span links to the previous run.
    """
    if _active is None:
        return False
    new_trace = False
    if previous and _active.config.continue_as_new == "same":
        out.update({k: v for k, v in previous.items() if k != WORKFLOW_TYPE_KEY})
    elif previous:
        prior = _context_from(previous)
        links = [Link(trace.get_current_span(prior).get_span_context())] if prior is not None else []
        span = _tracer("history").start_span(
            f"ContinueRun:{workflow_type}",
            context=otel_context.Context(),
            kind=SpanKind.INTERNAL,
            links=links,
            attributes={
                "legato.workflow_id": workflow_id,
                "legato.run_id": run_id,
                "legato.workflow_type": workflow_type,
            },
        )
        span.end()
        _propagator.inject(out, context=trace.set_span_in_context(span))
        new_trace = True
    else:
        out.update(carrier_of_current())
    if out:
        out[WORKFLOW_TYPE_KEY] = workflow_type
    return new_trace


def w3c_only(trace_context: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in trace_context.items() if k in ("traceparent", "tracestate")}
