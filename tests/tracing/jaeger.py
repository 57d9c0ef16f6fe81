"""Reading traces back from a real Jaeger (``scripts/infra/jaeger.sh start``) through its query API.

Spans reach Jaeger asynchronously (batch exporters, then Jaeger's own batch),
so every read polls until the trace holds what the test waits for, with a
deadline; a timeout reports what the trace held.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests import infra

OTLP_GRPC_PORT = int(os.environ.get("LEGATO_JAEGER_OTLP_GRPC_PORT", "4317"))
OTLP_HTTP_PORT = int(os.environ.get("LEGATO_JAEGER_OTLP_HTTP_PORT", "4318"))
QUERY_PORT = int(os.environ.get("LEGATO_JAEGER_QUERY_PORT", "16686"))
OTLP_GRPC = f"http://127.0.0.1:{OTLP_GRPC_PORT}"
OTLP_HTTP = f"http://127.0.0.1:{OTLP_HTTP_PORT}"
QUERY = f"http://127.0.0.1:{QUERY_PORT}"


def require_jaeger() -> None:
    for port in (QUERY_PORT, OTLP_GRPC_PORT, OTLP_HTTP_PORT):
        infra.require_component("Jaeger", "127.0.0.1", port, "scripts/infra/jaeger.sh start")


def unique_prefix() -> str:
    """A service-name prefix of this test's own, so its services are told apart in Jaeger."""
    return f"lgt{uuid.uuid4().hex[:8]}"


def server_environment(prefix: str, *, protocol: str = "grpc") -> dict[str, str]:
    """The standard OTEL_* variables that turn a server's tracing on, towards this Jaeger."""
    return {
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_EXPORTER_OTLP_ENDPOINT": OTLP_GRPC if protocol == "grpc" else OTLP_HTTP,
        "OTEL_SERVICE_NAME": prefix,
    }


@dataclass
class SdkTracing:
    """A tracer provider for the SDK side of a test: exported to Jaeger, also kept in memory."""

    service: str
    provider: TracerProvider
    memory: InMemorySpanExporter

    @staticmethod
    def create(service: str) -> SdkTracing:
        provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
        memory = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(memory))
        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=OTLP_GRPC, insecure=True), schedule_delay_millis=100)
        )
        return SdkTracing(service=service, provider=provider, memory=memory)

    def span(self, name: str) -> ReadableSpan:
        found = [s for s in self.memory.get_finished_spans() if s.name == name]
        assert found, f"no span {name!r}; have {[s.name for s in self.memory.get_finished_spans()]}"
        return found[0]

    def trace_id(self, span_name: str) -> str:
        return f"{self.span(span_name).context.trace_id:032x}"

    def close(self) -> None:
        self.provider.force_flush()
        self.provider.shutdown()


@dataclass
class Span:
    span_id: str
    name: str
    service: str
    parent_id: str | None
    tags: dict[str, Any] = field(default_factory=dict)
    process_tags: dict[str, Any] = field(default_factory=dict)
    """The exporting process's resource attributes (e.g. from OTEL_RESOURCE_ATTRIBUTES)."""


@dataclass
class Trace:
    trace_id: str
    spans: list[Span]

    def by_id(self) -> dict[str, Span]:
        return {s.span_id: s for s in self.spans}

    def named(self, name: str, *, service_suffix: str | None = None) -> list[Span]:
        return [
            s
            for s in self.spans
            if s.name == name and (service_suffix is None or s.service.endswith(service_suffix))
        ]

    def one(self, name: str, *, service_suffix: str | None = None) -> Span:
        found = self.named(name, service_suffix=service_suffix)
        assert len(found) == 1, (
            f"expected one {name!r} ({service_suffix}); got {len(found)}:\n{self.describe()}"
        )
        return found[0]

    def parent(self, span: Span) -> Span | None:
        return self.by_id().get(span.parent_id) if span.parent_id else None

    def services(self) -> set[str]:
        return {s.service for s in self.spans}

    def counts(self) -> Counter[tuple[str, str]]:
        return Counter((s.service, s.name) for s in self.spans)

    def describe(self) -> str:
        """The trace as an indented tree, for assertion messages."""
        children: dict[str | None, list[Span]] = {}
        ids = self.by_id()
        for s in self.spans:
            key = s.parent_id if s.parent_id in ids else None
            children.setdefault(key, []).append(s)
        lines: list[str] = []

        def walk(parent: str | None, depth: int) -> None:
            for s in children.get(parent, []):
                lines.append(f"{'  ' * depth}{s.service}: {s.name}")
                walk(s.span_id, depth + 1)

        walk(None, 0)
        return "\n".join(lines)


def fetch_trace(trace_id: str) -> Trace | None:
    try:
        with urllib.request.urlopen(f"{QUERY}/api/traces/{trace_id}", timeout=5) as response:
            body = json.load(response)
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return None
        raise
    data = body.get("data") or []
    if not data:
        return None
    raw = data[0]
    processes = {key: value["serviceName"] for key, value in raw["processes"].items()}
    process_tags = {
        key: {t["key"]: t["value"] for t in value.get("tags") or ()}
        for key, value in raw["processes"].items()
    }
    spans = []
    for s in raw["spans"]:
        parent = next(
            (r["spanID"] for r in s.get("references") or () if r.get("refType") == "CHILD_OF"), None
        )
        spans.append(
            Span(
                span_id=s["spanID"],
                name=s["operationName"],
                service=processes[s["processID"]],
                parent_id=parent,
                tags={t["key"]: t["value"] for t in s.get("tags") or ()},
                process_tags=process_tags[s["processID"]],
            )
        )
    return Trace(trace_id=trace_id, spans=spans)


async def wait_for_trace(trace_id: str, ready: Callable[[Trace], bool], *, deadline_s: float = 30.0) -> Trace:
    """The trace once ``ready`` holds for it (spans arrive in batches); fails with what it held."""
    deadline = time.monotonic() + deadline_s
    last: Trace | None = None
    while True:
        last = await asyncio.to_thread(fetch_trace, trace_id)
        if last is not None and ready(last):
            return last
        if time.monotonic() > deadline:
            held = last.describe() if last is not None else "(not found)"
            raise AssertionError(
                f"trace {trace_id} not complete in Jaeger after {deadline_s}s; it holds:\n{held}"
            )
        await asyncio.sleep(0.3)


def has_names(*names: str, services: tuple[str, ...] = ()) -> Callable[[Trace], bool]:
    """Ready once the trace holds spans of every name and of every service (exporters flush apart)."""

    def ready(trace: Trace) -> bool:
        have = {s.name for s in trace.spans}
        return all(name in have for name in names) and set(services) <= trace.services()

    return ready


def role_services(prefix: str) -> tuple[str, ...]:
    return tuple(f"{prefix}-{role}" for role in ("sdk", "frontend", "history", "matching"))
