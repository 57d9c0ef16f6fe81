"""``--trace-to ENDPOINT``: measure with tracing exported, to put a number on its cost.

The started server gets the standard OTEL_* variables (its roles export their
spans over OTLP gRPC to ENDPOINT); the harness's client and worker get the
SDK's ``TracingInterceptor`` on a provider that batches to the same endpoint.
Run it once with and once without the flag against the same Jaeger
(``scripts/infra/jaeger.sh start``; endpoint http://127.0.0.1:4317) and
compare the JSON lines.
"""

from __future__ import annotations

import os
from typing import Any


def server_environment(endpoint: str) -> dict[str, str]:
    return {
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_SERVICE_NAME": "legato-bench",
    }


class SdkTracing:
    """The harness's tracer provider; ``close`` sends what is still batched."""

    def __init__(self, endpoint: str) -> None:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        self.provider = TracerProvider(resource=Resource.create({SERVICE_NAME: "legato-bench-sdk"}))
        self.provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=endpoint.startswith("http://")))
        )

    def interceptors(self) -> tuple[Any, ...]:
        from legato.contrib.opentelemetry import TracingInterceptor

        return (TracingInterceptor(self.provider.get_tracer("legato-bench")),)

    def close(self) -> None:
        self.provider.force_flush()
        self.provider.shutdown()


def export_to(endpoint: str) -> SdkTracing:
    """Set the server's OTEL_* variables (inherited by the server it starts) and trace the SDK side."""
    os.environ.update(server_environment(endpoint))
    return SdkTracing(endpoint)
