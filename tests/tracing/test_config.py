"""Tracing configuration: off by default, the OTEL_* variables, and typed errors for bad values."""

from __future__ import annotations

import pytest
from opentelemetry.trace import SpanContext, TraceFlags

from legato_server.common import tracing
from legato_server.common.span_export import export_settings
from legato_server.common.span_record import Sampler, format_traceparent, parse_traceparent
from legato_server.common.tracing import TracingConfig, service_name, tracing_config_from_mapping
from legato_server.server import server_config_from_mapping


def test_off_by_default() -> None:
    assert tracing_config_from_mapping(None, {}).enabled is False
    assert tracing_config_from_mapping({}, {"OTEL_SERVICE_NAME": "x"}).enabled is False


def test_otel_variables_turn_it_on_and_choose_the_transport() -> None:
    config = tracing_config_from_mapping(
        None,
        {
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_SERVICE_NAME": "shop",
        },
    )
    assert (config.enabled, config.protocol, config.service_name) == (True, "http/protobuf", "shop")
    # Naming a collector is enough (what the operator sets); the traces-specific protocol wins.
    config = tracing_config_from_mapping(
        {"protocol": "grpc"},
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
        },
    )
    assert (config.enabled, config.protocol) == (True, "http/protobuf")


def test_otel_variables_turn_it_off_over_the_file() -> None:
    on = {"enabled": True}
    assert tracing_config_from_mapping(on, {}).enabled is True
    assert tracing_config_from_mapping(on, {"OTEL_TRACES_EXPORTER": "none"}).enabled is False
    assert tracing_config_from_mapping(on, {"OTEL_SDK_DISABLED": "true"}).enabled is False


@pytest.mark.parametrize(
    ("section", "environ", "message"),
    [
        ({"protocol": "udp"}, {}, "tracing.protocol: expected one of grpc, http/protobuf; got 'udp'"),
        ({"continue_as_new": "merge"}, {}, "tracing.continue_as_new: expected one of link, same"),
        ({"enabled": "yes"}, {}, "tracing.enabled: expected true or false, got 'yes'"),
        ({"endpont": "x"}, {}, "unknown config key tracing.endpont; allowed: continue_as_new, enabled"),
        ({}, {"OTEL_TRACES_EXPORTER": "zipkin"}, "the server exports with otlp or none; got 'zipkin'"),
        ([1], {}, "tracing: expected a mapping"),
        (
            {"sampler": "sometimes"},
            {},
            "tracing.sampler: expected one of parentbased_always_on, parentbased_always_off, "
            "parentbased_traceidratio, always_on, always_off, traceidratio; got 'sometimes'",
        ),
        ({"sample_ratio": 2}, {}, "tracing.sample_ratio: expected a number from 0 to 1; got 2.0"),
        ({"sample_ratio": "half"}, {}, "tracing.sample_ratio: expected a number from 0 to 1; got 'half'"),
        (
            {},
            {"OTEL_TRACES_SAMPLER": "jaeger_remote"},
            "OTEL_TRACES_SAMPLER: the server samples with parentbased_always_on, ",
        ),
        (
            {},
            {"OTEL_TRACES_SAMPLER_ARG": "lots"},
            "OTEL_TRACES_SAMPLER_ARG: expected a number from 0 to 1; got 'lots'",
        ),
        (
            {},
            {"OTEL_TRACES_SAMPLER_ARG": "1.5"},
            "OTEL_TRACES_SAMPLER_ARG: expected a number from 0 to 1; got '1.5'",
        ),
        (
            {"enabled": True},
            {"OTEL_BSP_SCHEDULE_DELAY": "soon"},
            "OTEL_BSP_SCHEDULE_DELAY: expected a whole number; got 'soon'",
        ),
        (
            {"enabled": True},
            {"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "zstd"},
            "OTEL_EXPORTER_OTLP_COMPRESSION: expected gzip or none; got 'zstd'",
        ),
    ],
)
def test_bad_values_say_what_is_allowed(section: object, environ: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        tracing_config_from_mapping(section, environ)
    assert message in str(caught.value)


def test_server_config_file_has_a_tracing_section() -> None:
    config = server_config_from_mapping(
        {"tracing": {"enabled": True, "endpoint": "http://127.0.0.1:4317", "continue_as_new": "same"}}
    )
    assert config.tracing.enabled and config.tracing.continue_as_new == "same"
    with pytest.raises(ValueError, match="tracing.protocol"):
        server_config_from_mapping({"tracing": {"protocol": "thrift"}})


def test_sampling_from_the_file_and_the_standard_variables() -> None:
    assert (TracingConfig().sampler, TracingConfig().sample_ratio) == ("parentbased_always_on", 1.0)
    section = {"sampler": "parentbased_traceidratio", "sample_ratio": 0.25}
    config = tracing_config_from_mapping(section, {})
    assert (config.sampler, config.sample_ratio) == ("parentbased_traceidratio", 0.25)
    config = tracing_config_from_mapping(
        section, {"OTEL_TRACES_SAMPLER": "TraceIdRatio", "OTEL_TRACES_SAMPLER_ARG": "0.5"}
    )
    assert (config.sampler, config.sample_ratio) == ("traceidratio", 0.5)


def test_sampler_follows_the_caller_and_splits_new_traces_by_trace_id() -> None:
    """The decision rules (one pure function): parent-based follows the flag; the ratio cuts the low 64 bits."""
    sampled = SpanContext(1, 2, True, TraceFlags(TraceFlags.SAMPLED))
    refused = SpanContext(1, 2, True, TraceFlags(TraceFlags.DEFAULT))
    low, high = 1 << 62, (1 << 64) - 1  # a quarter of the id space; the very top
    quarter = Sampler("parentbased_traceidratio", 0.25)
    assert quarter.sampled(low - 1, None) and not quarter.sampled(low, None)
    assert not quarter.sampled(high, None)
    assert quarter.sampled(high, sampled) and not quarter.sampled(0, refused)
    assert Sampler("traceidratio", 0.25).sampled(0, refused)  # not parent-based: its own rule
    assert not Sampler("parentbased_always_off").sampled(0, None)
    assert Sampler("parentbased_always_off").sampled(0, sampled)
    assert Sampler("always_on").sampled(high, refused)
    assert not Sampler("traceidratio", 0.0).sampled(0, None)


def test_traceparent_parsing() -> None:
    context = parse_traceparent("00-" + "a" * 32 + "-" + "b" * 16 + "-01", "k=v")
    assert context is not None and context.trace_flags.sampled and context.is_remote
    assert (context.trace_id, context.span_id) == (int("a" * 32, 16), int("b" * 16, 16))
    assert context.trace_state.to_header() == "k=v"
    assert format_traceparent(context) == "00-" + "a" * 32 + "-" + "b" * 16 + "-01"
    for bad in (
        "",
        "00-xyz",
        "00-" + "0" * 32 + "-" + "b" * 16 + "-01",
        "00-" + "g" * 32 + "-" + "b" * 16 + "-01",
    ):
        assert parse_traceparent(bad) is None, bad


def test_export_settings_from_the_standard_variables() -> None:
    grpc = export_settings(protocol="grpc", endpoint=None, environ={})
    assert (grpc.endpoint, grpc.insecure, grpc.schedule_delay_s) == ("http://localhost:4317", True, 0.5)
    http = export_settings(
        protocol="http/protobuf",
        endpoint=None,
        environ={
            "OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector:4318/",
            "OTEL_EXPORTER_OTLP_HEADERS": "Api-Key=a%20b,tenant=7",
            "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "gzip",
            "OTEL_BSP_SCHEDULE_DELAY": "2000",
        },
    )
    assert http.endpoint == "https://collector:4318/v1/traces" and not http.insecure
    assert http.headers == (("api-key", "a b"), ("tenant", "7")) and http.gzip
    assert http.schedule_delay_s == 2.0
    # The traces endpoint is used as it is; the config's endpoint wins over the variables.
    exact = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c/custom"}
    assert (
        export_settings(protocol="http/protobuf", endpoint=None, environ=exact).endpoint == "http://c/custom"
    )
    assert export_settings(protocol="grpc", endpoint="c:1", environ=exact).endpoint == "c:1"
    with pytest.raises(ValueError, match="OTEL_BSP_MAX_QUEUE_SIZE: expected a number above 0; got '0'"):
        export_settings(protocol="grpc", endpoint=None, environ={"OTEL_BSP_MAX_QUEUE_SIZE": "0"})


def test_service_names_per_role() -> None:
    assert service_name(TracingConfig(service_name="legato"), "history") == "legato-history"
    assert service_name(TracingConfig(service_name="legato-history"), "history") == "legato-history"


def test_off_installs_nothing() -> None:
    """Tracing off: no providers, handlers are not wrapped, task attempts run as they are."""
    tracing.install(TracingConfig(), roles=("frontend", "history", "matching"))
    assert not tracing.is_on()
    handler = object()
    assert tracing.local_handler("history", handler, None) is handler

    async def attempt() -> None:
        return None

    assert (
        tracing.run_task(
            "history", "X", {"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"}, {}, attempt
        )
        is attempt
    )


def test_start_dev_refuses_a_bad_otel_variable() -> None:
    import os
    import subprocess

    from legato.testing import server_command

    done = subprocess.run(
        [*server_command(), "start-dev", "--in-memory", "--port", "0"],
        env={**os.environ, "OTEL_TRACES_EXPORTER": "zipkin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "OTEL_TRACES_EXPORTER: the server exports with otlp or none; got 'zipkin'" in done.stderr
    # A bad transport/batching value is refused at start too, with its name, not as a traceback.
    done = subprocess.run(
        [*server_command(), "start-dev", "--in-memory", "--port", "0"],
        env={**os.environ, "OTEL_TRACES_EXPORTER": "otlp", "OTEL_BSP_MAX_QUEUE_SIZE": "-1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "OTEL_BSP_MAX_QUEUE_SIZE: expected a number above 0; got '-1'" in done.stderr, done.stderr
