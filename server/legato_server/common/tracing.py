"""Server spans: one per RPC of every role and one per transfer/timer task, in the workflow's trace.

Off by default. When off, nothing here allocates a span or touches the
OpenTelemetry SDK: ``server.py`` installs no wrappers at all, and the queue and
run hooks test one module global (``_active``) and return. When on
(``TracingConfig.enabled``, or ``OTEL_TRACES_EXPORTER=otlp`` in the
environment), each role gets its own ``TracerProvider`` whose resource names
the role (service ``legato-frontend``, ``legato-history``,
``legato-matching``), so a single-process server still shows three services
in Jaeger, and spans go out in batches over OTLP gRPC or HTTP.

How a span is made (the cost of tracing when on): not with the OpenTelemetry
SDK's spans, which cost ~0.1 ms each to create, end and encode here, but with
``span_record.RecordedSpan`` (an API ``Span``: the current-span lookups of the
log format and the W3C propagator see it as usual) that ends as one tuple in
its role's sink, and ``span_export`` encoding those tuples to OTLP on a
background thread. Head sampling (``tracing.sampler``/``sample_ratio`` or
``OTEL_TRACES_SAMPLER``/``_ARG``; default ``parentbased_always_on``) decides
once where a trace starts; the decision travels in the ``sampled`` flag of
every stored and forwarded context, so a workflow is recorded whole or not at
all, and an unsampled one costs an id and a context switch per RPC, and
nothing per task.

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

import logging
import os
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link, Span, SpanContext, SpanKind, Status, StatusCode

from legato_server.common.span_export import Exporter, export_settings
from legato_server.common.span_record import (
    DEFAULT_SAMPLER,
    SAMPLERS,
    Sampler,
    SpanSink,
    format_traceparent,
    new_span,
    parse_traceparent,
)

log = logging.getLogger(__name__)

PROTOCOLS = ("grpc", "http/protobuf")
_SAMPLER_NAMES = SAMPLERS
CONTINUE_AS_NEW_MODES = ("link", "same")
WORKFLOW_TYPE_KEY = "legato.workflow_type"
"""Kept in a run's trace context map next to the W3C fields: its tasks name the type without a read."""


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
    sampler: str = DEFAULT_SAMPLER
    """Head sampling, the OTEL_TRACES_SAMPLER names; ``parentbased_*`` follow the caller's decision."""
    sample_ratio: float = 1.0
    """Share of new traces recorded by the ``traceidratio`` samplers (OTEL_TRACES_SAMPLER_ARG)."""

    def __post_init__(self) -> None:
        Sampler(self.sampler, self.sample_ratio)  # raises with the key and what is allowed
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
    prefix; ``OTEL_TRACES_SAMPLER``/``OTEL_TRACES_SAMPLER_ARG`` the sampling.
    Endpoints, headers, timeouts and batching are read by ``span_export``.
    """
    env = os.environ if environ is None else environ
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError(f"tracing: expected a mapping, got {data!r}")
    allowed = {
        "enabled",
        "protocol",
        "endpoint",
        "service_name",
        "continue_as_new",
        "sampler",
        "sample_ratio",
    }
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
    sampler = (env.get("OTEL_TRACES_SAMPLER") or str(data.get("sampler", DEFAULT_SAMPLER))).strip().lower()
    ratio_text = env.get("OTEL_TRACES_SAMPLER_ARG")
    ratio: Any = data.get("sample_ratio", 1.0) if ratio_text is None else ratio_text
    try:
        ratio = float(ratio)
        if isinstance(data.get("sample_ratio"), bool):
            raise ValueError
    except (TypeError, ValueError):
        key = "OTEL_TRACES_SAMPLER_ARG" if ratio_text is not None else "tracing.sample_ratio"
        raise ValueError(f"{key}: expected a number from 0 to 1; got {ratio!r}") from None
    if ratio_text is not None and not 0.0 <= ratio <= 1.0:
        raise ValueError(f"OTEL_TRACES_SAMPLER_ARG: expected a number from 0 to 1; got {ratio_text!r}")
    if "OTEL_TRACES_SAMPLER" in env and sampler not in _SAMPLER_NAMES:
        raise ValueError(
            f"OTEL_TRACES_SAMPLER: the server samples with {', '.join(_SAMPLER_NAMES)}; got {sampler!r}"
        )
    config = TracingConfig(
        enabled=enabled,
        protocol=protocol.strip(),
        endpoint=None if endpoint in (None, "") else str(endpoint),
        service_name=env.get("OTEL_SERVICE_NAME") or str(data.get("service_name", "legato")),
        continue_as_new=str(data.get("continue_as_new", "link")),
        sampler=sampler,
        sample_ratio=ratio,
    )
    if config.enabled:  # a bad OTEL_EXPORTER_OTLP_* / OTEL_BSP_* value is refused here, not at start
        export_settings(protocol=config.protocol, endpoint=config.endpoint, environ=env)
    return config


def tracing_config_from_environment() -> TracingConfig:
    """Tracing as the ``OTEL_*`` variables alone set it (off when none is set)."""
    return tracing_config_from_mapping(None)


# ---------------------------------------------------------------- process state


@dataclass
class _Active:
    config: TracingConfig
    sampler: Sampler
    exporter: Exporter
    sinks: dict[str, SpanSink]
    users: int = 1


_active: _Active | None = None
"""None while tracing is off: every hook checks this first and does nothing else."""


def is_on() -> bool:
    return _active is not None


def install(config: TracingConfig, *, roles: tuple[str, ...]) -> None:
    """Start exporting spans of ``roles`` (a no-op when ``config.enabled`` is false).

    One exporter per process: servers started in the same process (tests)
    share it, and it is flushed and stopped when the last one calls ``release``.
    """
    global _active
    if not config.enabled:
        return
    if _active is not None:
        _active.users += 1
        for role in roles:
            _sink(role)
        return
    settings = export_settings(protocol=config.protocol, endpoint=config.endpoint)
    exporter = Exporter(settings, {role: _resource(config, role) for role in roles})
    _active = _Active(
        config=config,
        sampler=Sampler(config.sampler, config.sample_ratio),
        exporter=exporter,
        sinks=dict(exporter.sinks),
    )
    log.info(
        "tracing on: OTLP/%s to %s, services %s, sampler %s%s",
        config.protocol,
        settings.endpoint,
        ", ".join(service_name(config, r) for r in roles),
        config.sampler,
        f" {config.sample_ratio}" if config.sampler.endswith("traceidratio") else "",
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
    try:
        active.exporter.shutdown()  # sends what is still batched
    except Exception:
        log.exception("error while flushing spans")


def force_flush() -> None:
    """Send every finished span now (tests, before asking the collector)."""
    if _active is not None:
        _active.exporter.drain()


def _sink(role: str) -> SpanSink:
    assert _active is not None
    found = _active.sinks.get(role)
    if found is None:
        found = _active.sinks[role] = _active.exporter.add_role(role, _resource(_active.config, role))
    return found


def service_name(config: TracingConfig, role: str) -> str:
    """ "<service_name>-<role>", unless the name already ends so (OTEL_SERVICE_NAME=legato-history)."""
    name = config.service_name
    return name if name.endswith(f"-{role}") else f"{name}-{role}"


def _resource(config: TracingConfig, role: str) -> dict[str, Any]:
    """The role's resource attributes, with ``OTEL_RESOURCE_ATTRIBUTES`` and the SDK's defaults merged in."""
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource

    resource = Resource.create({SERVICE_NAME: service_name(config, role), "legato.role": role})
    return dict(resource.attributes)


def _start(
    role: str,
    name: str,
    parent: SpanContext | None,
    kind: SpanKind,
    attributes: dict[str, Any],
) -> Span:
    assert _active is not None
    return new_span(
        sink=_sink(role),
        sampler=_active.sampler,
        name=name,
        parent=parent,
        kind=kind,
        attributes=attributes,
    )


def _fail(span: Span, err: BaseException) -> None:
    """What the SDK's ``use_span`` records for an exception, plus the gRPC status code."""
    if not span.is_recording():
        return
    code = getattr(err, "code", None)
    if code is not None:
        if callable(code):
            try:
                code = code()
            except Exception:
                code = None
        if code is not None:
            span.set_attribute("rpc.grpc.status_code", str(getattr(code, "name", code)))
    if isinstance(err, Exception):
        span.record_exception(err)
        span.set_status(Status(StatusCode.ERROR, f"{type(err).__name__}: {err}"))


# ---------------------------------------------------------------- carriers


def carrier_of_current() -> dict[str, str]:
    """The current span's context as a W3C carrier (empty without a valid span)."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    carrier = {"traceparent": format_traceparent(context)}
    if context.trace_state:
        carrier["tracestate"] = context.trace_state.to_header()
    return carrier


def _context_from(carrier: Mapping[str, str]) -> SpanContext | None:
    return parse_traceparent(carrier.get("traceparent"), carrier.get("tracestate"))


# ---------------------------------------------------------------- attributes

_ATTRIBUTE_FIELDS = (
    ("namespace", "legato.namespace"),
    ("namespace_id", "legato.namespace_id"),
    ("workflow_id", "legato.workflow_id"),
    ("run_id", "legato.run_id"),
)

# Where a request type keeps the attributes, worked out once per type from its
# descriptor: (field one level down or None, field, attribute key, is a message with .name).
_Plan = tuple[tuple[str | None, str, str, bool], ...]
_plans: dict[type, _Plan] = {}


def _plan_of(descriptor: Any, sub: str | None) -> list[tuple[str | None, str, str, bool]]:
    fields = descriptor.fields_by_name
    plan: list[tuple[str | None, str, str, bool]] = []
    for field, key in _ATTRIBUTE_FIELDS:
        found = fields.get(field)
        if found is not None and found.message_type is None and not _repeated(found):
            plan.append((sub, field, key, False))
    for field, key in (
        ("task_queue", "legato.task_queue"),
        ("workflow_type", "legato.workflow_type"),
        ("activity_type", "legato.activity_type"),
    ):
        found = fields.get(field)
        if found is None or _repeated(found):
            continue
        if found.message_type is None:
            if field == "task_queue":
                plan.append((sub, field, key, False))
        elif "name" in found.message_type.fields_by_name:
            plan.append((sub, field, key, True))
    return plan


def _repeated(field: Any) -> bool:
    repeated = getattr(field, "is_repeated", None)  # protobuf 6 dropped ``label`` from upb descriptors
    if repeated is None:
        return bool(field.label == field.LABEL_REPEATED)
    return bool(repeated() if callable(repeated) else repeated)


def _plan(request: Any) -> _Plan:
    kind = type(request)
    plan = _plans.get(kind)
    if plan is None:
        descriptor = request.DESCRIPTOR
        steps = _plan_of(descriptor, None)
        for field in sorted(descriptor.fields, key=lambda f: f.number):
            if field.message_type is not None and not _repeated(field):
                steps.extend(_plan_of(field.message_type, field.name))
        plan = _plans[kind] = tuple(steps)
    return plan


def request_attributes(request: Any) -> dict[str, str]:
    """namespace, workflow id, run id, task queue and workflow/activity type found in a request.

    Requests differ in where they keep these (top level, ``workflow_execution``,
    the frontend request that history's requests wrap), so this looks at the
    top level and then at each message field one level down, the first value
    found winning; which fields to look at is worked out once per request type.
    """
    found: dict[str, str] = {}
    plan = _plans.get(type(request))
    if plan is None:
        if not isinstance(request, Message):  # an ABC check: only the first time a type is seen
            return found
        plan = _plan(request)
    for sub, field, key, named in plan:
        if key in found:
            continue
        message = request if sub is None else getattr(request, sub)
        value = getattr(message, field)
        if named:
            value = value.name
        if value:
            found[key] = value
    return found


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


def _rpc_span(
    role: str,
    method: str,
    request: Any,
    parent: SpanContext | None,
    token_context: TokenContext | None = None,
) -> Span | None:
    """The span of one RPC, or None when this call makes none (see "Which calls may start a trace")."""
    if parent is None and token_context is not None and method in WORKER_METHODS:
        carrier = token_context(request)
        parent = _context_from(carrier) if carrier else None
    if parent is None and (
        role != "frontend" or method in WORKER_METHODS or not method.startswith(ROOT_PREFIXES)
    ):
        return None
    if parent is not None and not parent.trace_flags.sampled and _active is not None:
        if _active.sampler.name.startswith("parentbased_"):
            # Not recorded: pass the caller's context on as it is, so what this call
            # does downstream (in-process peers, the run it starts) is not recorded either.
            return trace.NonRecordingSpan(parent)
    attributes: dict[str, Any] = {"rpc.system": "grpc", "rpc.method": method, "legato.role": role}
    attributes.update(request_attributes(request))
    return _start(role, method, parent, SpanKind.SERVER, attributes)


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
        traceparent = tracestate = None
        for key, value in context.invocation_metadata() or ():
            if key == "traceparent":
                traceparent = value
            elif key == "tracestate":
                tracestate = value
        parent = parse_traceparent(traceparent, tracestate) if traceparent else None
        span = _rpc_span(role, method, request, parent, token_context)
        if span is None:
            return await call(request, context)
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            return await call(request, context)
        except BaseException as err:
            _fail(span, err)
            raise
        finally:
            otel_context.detach(token)
            span.end()

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
            parent = trace.get_current_span().get_span_context()
            if not parent.is_valid:
                return await target(request, **kwargs)
            span = _rpc_span(role, name, request, parent)
            if span is None:
                return await target(request, **kwargs)
            token = otel_context.attach(trace.set_span_in_context(span))
            try:
                return await target(request, **kwargs)
            except BaseException as err:
                _fail(span, err)
                raise
            finally:
                otel_context.detach(token)
                span.end()

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
    """``attempt`` itself when tracing is off, the run has no context or is not sampled; else one span per attempt.

    The span's parent is the run's stored context, not whatever the queue's
    asyncio task happens to carry.
    """
    if _active is None or not trace_context:
        return attempt
    parent = _context_from(trace_context)
    if parent is None:
        return attempt
    if not parent.trace_flags.sampled and _active.sampler.name.startswith("parentbased_"):
        return attempt  # the run is not recorded: its tasks are not either
    workflow_type = trace_context.get(WORKFLOW_TYPE_KEY)
    if workflow_type:
        attributes = {**attributes, "legato.workflow_type": workflow_type}

    async def traced() -> None:
        span = _start(role, name, parent, SpanKind.INTERNAL, dict(attributes))
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            await attempt()
        except BaseException as err:
            _fail(span, err)
            raise
        finally:
            otel_context.detach(token)
            span.end()

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
    root span links to the previous run; with a parent-based sampler the new
    trace is recorded if and only if the previous run's was, so a sampled
    workflow stays sampled across its runs.
    """
    if _active is None:
        return False
    new_trace = False
    if previous and _active.config.continue_as_new == "same":
        out.update({k: v for k, v in previous.items() if k != WORKFLOW_TYPE_KEY})
    elif previous:
        prior = _context_from(previous)
        span = new_span(
            sink=_sink("history"),
            sampler=_active.sampler,
            name=f"ContinueRun:{workflow_type}",
            parent=None,
            decided_by=prior,
            kind=SpanKind.INTERNAL,
            links=[Link(prior)] if prior is not None else [],
            attributes={
                "legato.workflow_id": workflow_id,
                "legato.run_id": run_id,
                "legato.workflow_type": workflow_type,
            },
        )
        span.end()
        out["traceparent"] = format_traceparent(span.get_span_context())
        new_trace = True
    else:
        out.update(carrier_of_current())
    if out:
        out[WORKFLOW_TYPE_KEY] = workflow_type
    return new_trace


def w3c_only(trace_context: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in trace_context.items() if k in ("traceparent", "tracestate")}
