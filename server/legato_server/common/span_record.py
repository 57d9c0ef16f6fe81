"""The server's spans: small OpenTelemetry ``Span`` objects that record a tuple, and head sampling.

Why not the OpenTelemetry SDK's spans: on this server a hello workflow makes
about a dozen spans, and the SDK spends ~50 µs creating and ending each one
(attribute validation under a lock, a sampler call, a ``getpid`` per span, a
``ReadableSpan`` copy) and another ~55 µs encoding it for OTLP, all under the
GIL the event loop needs. Measured with the benchmark's hello workload that
was ~40 % of the server's throughput. A ``RecordedSpan`` is an API-level
``Span`` (so ``trace.get_current_span()``, the W3C propagator and the JSON
log format work unchanged) whose ``end()`` appends one tuple to its role's
``SpanSink``; ``span_export`` turns batches of those tuples straight into an
OTLP request on a background thread (~10 µs a span).

What is kept from the SDK's model: 128-bit trace ids and 64-bit span ids from
``random.getrandbits``, the standard samplers and their names
(``OTEL_TRACES_SAMPLER``/``OTEL_TRACES_SAMPLER_ARG``), with the same
trace-id-ratio rule as the SDK (the low 64 bits of the trace id against the
ratio), so a decision taken by another process for the same trace agrees.
What is left out on purpose: span limits (the server sets a handful of short
attributes), events beyond ``record_exception``/``add_event`` as plain
records, and span processors.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.trace import Link, NonRecordingSpan, Span, SpanContext, SpanKind, TraceFlags, TraceState
from opentelemetry.trace.status import Status, StatusCode
from opentelemetry.util import types

SAMPLERS = (
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
    "always_on",
    "always_off",
    "traceidratio",
)
DEFAULT_SAMPLER = "parentbased_always_on"
"""The OpenTelemetry default: every trace a client did not sample out is recorded whole."""

_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_NOT_SAMPLED = TraceFlags(TraceFlags.DEFAULT)
_LOW_64 = (1 << 64) - 1


@dataclass(frozen=True)
class Sampler:
    """Which traces are recorded: the decision is taken once, where a trace starts, and travels with it.

    ``parentbased_*`` (the default family) follow the caller's ``sampled``
    flag when there is a caller, so a workflow is recorded whole or not at
    all: the run stores its context, flag included, and every later task of
    the run follows it. The part after ``parentbased_`` decides for a trace
    that starts here.
    """

    name: str = DEFAULT_SAMPLER
    ratio: float = 1.0
    """For the ``traceidratio`` samplers: the share of new traces recorded, 0..1."""

    def __post_init__(self) -> None:
        if self.name not in SAMPLERS:
            raise ValueError(f"tracing.sampler: expected one of {', '.join(SAMPLERS)}; got {self.name!r}")
        if not 0.0 <= self.ratio <= 1.0:
            raise ValueError(f"tracing.sample_ratio: expected a number from 0 to 1; got {self.ratio!r}")

    def sampled(self, trace_id: int, parent: SpanContext | None) -> bool:
        name = self.name
        if parent is not None and name.startswith("parentbased_"):
            return parent.trace_flags.sampled
        if name.endswith("always_on"):
            return True
        if name.endswith("always_off"):
            return False
        return (trace_id & _LOW_64) < round(self.ratio * (_LOW_64 + 1))


def parse_traceparent(value: str | None, tracestate: str | None = None) -> SpanContext | None:
    """A W3C ``traceparent`` (version 00 layout) as a remote span context; None if malformed.

    Parsed by hand because this runs for every traced RPC and task: the
    propagator's regex and Context building cost several times more.
    """
    if not value or len(value) < 55 or value[2] != "-" or value[35] != "-" or value[52] != "-":
        return None
    try:
        trace_id = int(value[3:35], 16)
        span_id = int(value[36:52], 16)
        flags = int(value[53:55], 16)
    except ValueError:
        return None
    if not trace_id or not span_id or value[:2] == "ff":
        return None
    state = TraceState.from_header([tracestate]) if tracestate else None
    return SpanContext(trace_id, span_id, True, TraceFlags(flags & 1), state)


def format_traceparent(context: SpanContext) -> str:
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags) & 1:02x}"


# A finished span as its sink keeps it; span_export encodes these.
# (name, trace_id, span_id, parent_span_id (0 = root), kind, start_ns, end_ns,
#  attributes, status_code, status_message, links, events, trace_state)
SpanTuple = tuple[
    str,
    int,
    int,
    int,
    SpanKind,
    int,
    int,
    dict[str, Any],
    StatusCode,
    str,
    tuple[SpanContext, ...],
    tuple[tuple[str, int, dict[str, Any]], ...],
    str,
]


class SpanSink:
    """Finished spans of one role, waiting for the exporter thread.

    ``list.append`` and swapping the list are atomic under the GIL, so the
    event loop never takes a lock to finish a span. When the exporter falls
    behind, spans past ``max_queue`` are dropped and counted, never buffered
    without bound.
    """

    def __init__(self, *, max_queue: int) -> None:
        self.max_queue = max_queue
        self.pending: list[SpanTuple] = []
        self.dropped = 0
        self.wakeup: threading.Event | None = None
        self.batch_size = max_queue

    def add(self, record: SpanTuple) -> None:
        pending = self.pending
        if len(pending) >= self.max_queue:
            self.dropped += 1
            return
        pending.append(record)
        if len(pending) == self.batch_size and self.wakeup is not None:
            self.wakeup.set()

    def take(self) -> list[SpanTuple]:
        taken, self.pending = self.pending, []
        return taken


class RecordedSpan(Span):
    """A sampled server span: recorded until ``end()``, then handed to its sink as one tuple."""

    __slots__ = (
        "_name",
        "_context",
        "_parent_id",
        "_kind",
        "_start",
        "_attributes",
        "_status",
        "_message",
        "_links",
        "_events",
        "_sink",
    )

    def __init__(
        self,
        *,
        sink: SpanSink,
        name: str,
        context: SpanContext,
        parent_id: int,
        kind: SpanKind,
        attributes: dict[str, Any],
        links: tuple[SpanContext, ...] = (),
    ) -> None:
        self._sink: SpanSink | None = sink
        self._name = name
        self._context = context
        self._parent_id = parent_id
        self._kind = kind
        self._attributes = attributes
        self._status = StatusCode.UNSET
        self._message = ""
        self._links = links
        self._events: list[tuple[str, int, dict[str, Any]]] = []
        self._start = time.time_ns()

    def end(self, end_time: int | None = None) -> None:
        sink, self._sink = self._sink, None
        if sink is None:
            return  # ended twice: recorded once
        context = self._context
        sink.add(
            (
                self._name,
                context.trace_id,
                context.span_id,
                self._parent_id,
                self._kind,
                self._start,
                end_time or time.time_ns(),
                self._attributes,
                self._status,
                self._message,
                self._links,
                tuple(self._events),
                context.trace_state.to_header() if context.trace_state else "",
            )
        )

    def get_span_context(self) -> SpanContext:
        return self._context

    def set_attributes(self, attributes: Mapping[str, types.AnyValue]) -> None:
        if self._sink is not None:
            self._attributes.update(attributes)

    def set_attribute(self, key: str, value: types.AnyValue) -> None:
        if self._sink is not None:
            self._attributes[key] = value

    def add_event(self, name: str, attributes: types.Attributes = None, timestamp: int | None = None) -> None:
        if self._sink is not None:
            self._events.append((name, timestamp or time.time_ns(), dict(attributes or {})))

    def add_link(self, context: SpanContext, attributes: types.Attributes = None) -> None:
        if self._sink is not None and context.is_valid:
            self._links = (*self._links, context)

    def update_name(self, name: str) -> None:
        if self._sink is not None:
            self._name = name

    def is_recording(self) -> bool:
        return self._sink is not None

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        if self._sink is None:
            return
        if isinstance(status, Status):
            self._status, self._message = status.status_code, status.description or ""
        else:
            self._status, self._message = status, description or ""

    def record_exception(
        self,
        exception: BaseException,
        attributes: types.Attributes = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        self.add_event(
            "exception",
            {
                "exception.type": type(exception).__qualname__,
                "exception.message": str(exception),
                **(attributes or {}),
            },
            timestamp,
        )


def new_span(
    *,
    sink: SpanSink,
    sampler: Sampler,
    name: str,
    parent: SpanContext | None,
    kind: SpanKind,
    attributes: dict[str, Any],
    links: Sequence[Link] = (),
    decided_by: SpanContext | None = None,
) -> Span:
    """A recorded span if ``sampler`` says so, else a non-recording one that still carries the trace.

    The non-recording span has its own span id and the parent's trace id with
    the ``sampled`` flag off, so everything downstream (the run's stored
    context, the inter-role metadata) knows the trace is not recorded and
    skips its spans too. ``decided_by``: for a new trace (no ``parent``), the
    context whose decision a parent-based sampler follows (the run it continues).
    """
    trace_id = parent.trace_id if parent is not None else random.getrandbits(128)
    span_id = random.getrandbits(64)
    state = parent.trace_state if parent is not None else None
    if not sampler.sampled(trace_id, parent if parent is not None else decided_by):
        return NonRecordingSpan(SpanContext(trace_id, span_id, False, _NOT_SAMPLED, state))
    return RecordedSpan(
        sink=sink,
        name=name,
        context=SpanContext(trace_id, span_id, False, _SAMPLED, state),
        parent_id=parent.span_id if parent is not None else 0,
        kind=kind,
        attributes=attributes,
        links=tuple(link.context for link in links if link.context.is_valid),
    )
