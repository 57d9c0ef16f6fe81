"""Choosing the metrics endpoint and the log format: the YAML keys, their environment overrides, bad values."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest
import yaml

from legato.testing import find_free_port, server_command
from legato_server.common.metrics import MetricsConfig
from legato_server.server import apply_environment, server_config_from_mapping


def test_metrics_are_off_unless_configured() -> None:
    assert server_config_from_mapping({}).metrics is None
    assert server_config_from_mapping({}).log_format == "text"


def test_metrics_port_and_host_with_the_grpc_host_as_default() -> None:
    assert server_config_from_mapping({"metrics": {"port": 9100}}).metrics == MetricsConfig(9100, "127.0.0.1")
    on_all = server_config_from_mapping({"host": "0.0.0.0", "metrics": {"port": 9100}})
    assert on_all.metrics == MetricsConfig(9100, "0.0.0.0")
    apart = server_config_from_mapping({"host": "0.0.0.0", "metrics": {"port": 9100, "host": "127.0.0.1"}})
    assert apart.metrics == MetricsConfig(9100, "127.0.0.1")


def test_environment_overrides_the_file_key_by_key() -> None:
    data = {"metrics": {"port": 9100, "host": "10.0.0.1"}, "log": {"format": "text"}}
    merged = apply_environment(data, {"LEGATO_METRICS_PORT": "9200", "LEGATO_LOG_FORMAT": "json"})
    config = server_config_from_mapping(merged)
    assert config.metrics == MetricsConfig(9200, "10.0.0.1")
    assert config.log_format == "json"
    assert data["metrics"] == {"port": 9100, "host": "10.0.0.1"}, "the parsed file is not changed"
    assert server_config_from_mapping(
        apply_environment({}, {"LEGATO_METRICS_PORT": "0"})
    ).metrics == MetricsConfig(0, "127.0.0.1")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"metrics": {"port": 70000}}, "metrics.port: expected 0-65535 (0 = any free port), got 70000"),
        ({"metrics": {"port": "abc"}}, "metrics.port: expected a whole number, got 'abc'"),
        ({"metrics": {}}, "metrics.port is required"),
        ({"metrics": {"prot": 9090}}, "unknown config key metrics.prot; allowed: host, port"),
        ({"metrics": 9090}, "metrics: expected a mapping with port (and host), got 9090"),
        ({"log": {"format": "xml"}}, "log.format: expected one of text, json, got 'xml'"),
        ({"log": {"level": "debug"}}, "unknown config key log.level; allowed: format"),
        ({"log": "json"}, "log: expected a mapping such as {format: json}, got 'json'"),
    ],
    ids=[
        "port-range",
        "port-not-a-number",
        "port-missing",
        "unknown-key",
        "not-a-mapping",
        "log-format",
        "log-key",
        "log-not-a-mapping",
    ],
)
def test_bad_values_name_the_key_and_what_is_allowed(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as raised:
        server_config_from_mapping(data)
    assert message in str(raised.value)


def _start(
    tmp_path: os.PathLike[str], config: dict[str, object], env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    path = os.path.join(tmp_path, "legato.yaml")
    with open(path, "w") as out:
        yaml.safe_dump(
            {
                "port": find_free_port(),
                "num_history_shards": 2,
                "persistence": {"kind": "sqlite", "sqlite": {"path": os.path.join(tmp_path, "l.db")}},
                **config,
            },
            out,
        )
    return subprocess.run(
        [*server_command(), "start", "--config", path, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


def test_a_bad_metrics_port_in_the_environment_stops_the_start_with_its_name(
    tmp_path: os.PathLike[str],
) -> None:
    result = _start(tmp_path, {}, {"LEGATO_METRICS_PORT": "abc"})
    assert result.returncode == 1
    assert "metrics.port: expected a whole number, got 'abc'" in result.stderr


def test_a_taken_metrics_port_fails_the_start_naming_the_address(tmp_path: os.PathLike[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # --metrics-port wins over the file's port (which is free).
        result = _start(tmp_path, {"metrics": {"port": find_free_port()}}, {}, "--metrics-port", str(port))
    assert result.returncode == 1
    assert f"cannot serve metrics on 127.0.0.1:{port}" in result.stderr
