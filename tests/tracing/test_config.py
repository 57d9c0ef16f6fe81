"""Tracing configuration: off by default, the OTEL_* variables, and typed errors for bad values."""

from __future__ import annotations

import pytest

from legato_server.common import tracing
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
