"""``legato-server start-dev`` as a user runs it: a subprocess, a real SQLite file, real signals."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from legato.api.v1 import workflow_service_pb2, workflow_service_pb2_grpc

START_DEADLINE_S = 60.0
STOP_DEADLINE_S = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_serving(address: str, process: subprocess.Popen[str], deadline: float) -> None:
    with grpc.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"server exited with {process.returncode} before serving:\n{process.stderr.read()}"
                )  # type: ignore[union-attr]
            try:
                response = health.Check(
                    health_pb2.HealthCheckRequest(service=""), timeout=1, wait_for_ready=True
                )
                if response.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"server not SERVING on {address} within {START_DEADLINE_S}s")


def start_dev(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from legato_server.cli import main; raise SystemExit(main())",
            "start-dev",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def stop(process: subprocess.Popen[str], signum: int = signal.SIGTERM) -> tuple[int, str]:
    process.send_signal(signum)
    try:
        _, stderr = process.communicate(timeout=STOP_DEADLINE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
        pytest.fail(f"server did not stop within {STOP_DEADLINE_S}s of signal {signum}:\n{stderr}")
    return process.returncode, stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_start_dev_serves_on_a_sqlite_file_and_stops_cleanly(tmp_path: Path, signum: int) -> None:
    port = free_port()
    db_file = tmp_path / "dev.db"
    process = start_dev("--port", str(port), "--db-file", str(db_file), "--namespace", "extra")
    try:
        wait_until_serving(f"127.0.0.1:{port}", process, time.monotonic() + START_DEADLINE_S)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = workflow_service_pb2_grpc.WorkflowServiceStub(channel)
            listed = stub.ListNamespaces(workflow_service_pb2.ListNamespacesRequest(), timeout=5)
        assert {n.namespace_info.name for n in listed.namespaces} == {"default", "extra"}
    finally:
        code, stderr = stop(process, signum)
    assert code == 0, stderr
    assert f"Legato dev server listening on 127.0.0.1:{port} (SQLite: {db_file.resolve()})" in stderr
    assert db_file.exists()


def test_start_dev_defaults_to_the_user_data_dir(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    process = start_dev("--port", str(port), env=env)
    try:
        wait_until_serving(f"127.0.0.1:{port}", process, time.monotonic() + START_DEADLINE_S)
    finally:
        code, stderr = stop(process)
    assert code == 0, stderr
    assert (tmp_path / "data" / "legato" / "dev.db").exists()


def test_start_dev_reports_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = start_dev("--port", str(port), "--in-memory")
        _, stderr = process.communicate(timeout=START_DEADLINE_S)
    assert process.returncode == 1
    assert "legato-server: error: could not start" in stderr


def test_start_with_a_yaml_config(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "legato.yaml"
    config.write_text(
        f"port: {port}\n"
        "num_history_shards: 2\n"
        "namespaces: [default, team-a]\n"
        "persistence:\n"
        "  kind: sqlite\n"
        f"  sqlite: {{path: {tmp_path / 'prod.db'}}}\n"
        "matching: {poll_timeout_seconds: 20}\n"
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from legato_server.cli import main; raise SystemExit(main())",
            "start",
            "--config",
            str(config),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until_serving(f"127.0.0.1:{port}", process, time.monotonic() + START_DEADLINE_S)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = workflow_service_pb2_grpc.WorkflowServiceStub(channel)
            listed = stub.ListNamespaces(workflow_service_pb2.ListNamespacesRequest(), timeout=5)
        assert {n.namespace_info.name for n in listed.namespaces} == {"default", "team-a"}
    finally:
        code, stderr = stop(process)
    assert code == 0, stderr
    assert f"Legato server listening on 127.0.0.1:{port} (frontend, history, matching; sqlite)" in stderr


@pytest.mark.parametrize(
    ("yaml_text", "needle"),
    [
        pytest.param("colour: blue\n", "unknown config key colour", id="unknown-key"),
        pytest.param(
            "peers: {history: 'h:7233'}\n", "unknown config key peers", id="peers-are-found-not-configured"
        ),
        pytest.param("services: [gateway]\n", "services must be a non-empty subset", id="unknown-role"),
        pytest.param("persistence: {kind: sqlite, sqlite: {file: x}}\n", "persistence:", id="bad-store-key"),
        pytest.param(
            "namespace_deletion: {grace: 3}\n",
            "unknown config key namespace_deletion.grace",
            id="namespace-deletion-unknown-key",
        ),
        pytest.param(
            "namespace_deletion: {runs_per_second: 0}\n",
            "interval_seconds and runs_per_second must be positive",
            id="namespace-deletion-zero-rate",
        ),
        pytest.param(
            "namespace_deletion: {interval_seconds: soon}\n",
            "namespace_deletion: every value must be a number",
            id="namespace-deletion-not-a-number",
        ),
        pytest.param(
            "matching: {sync_match_wait_seconds: -1}\n",
            "matching.sync_match_wait_seconds must not be negative, got -1",
            id="matching-negative-wait",
        ),
        pytest.param(
            "matching: {poll_timeout_seconds: soon}\n",
            "matching.poll_timeout_seconds must be a number of seconds, got 'soon'",
            id="matching-not-a-number",
        ),
    ],
)
def test_start_rejects_a_bad_config_file(
    tmp_path: Path, yaml_text: str, needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from legato_server.cli import main

    config = tmp_path / "bad.yaml"
    config.write_text(yaml_text)
    assert main(["start", "--config", str(config)]) == 1
    assert needle in capsys.readouterr().err


def test_environment_variables_override_the_config_file() -> None:
    from legato_server.server import apply_environment, server_config_from_mapping

    data = {"host": "127.0.0.1", "port": 7233, "services": ["frontend"], "num_history_shards": 8}
    environ = {
        "LEGATO_HOST": "0.0.0.0",
        "LEGATO_PORT": "7234",
        "LEGATO_ADVERTISE_ADDRESS": "10.244.0.7:7234",
        "LEGATO_SERVICES": "history,matching",
        "LEGATO_HOST_ID": "",  # empty: not an override
    }
    config = server_config_from_mapping(apply_environment(data, environ))
    assert (config.host, config.port, config.advertise_address) == ("0.0.0.0", 7234, "10.244.0.7:7234")
    assert config.services == ("history", "matching")
    assert config.host_id is None
    assert config.num_history_shards == 8


def test_matching_settings_come_from_the_config_file() -> None:
    from legato_server.server import server_config_from_mapping

    config = server_config_from_mapping(
        {"matching": {"sync_match_wait_seconds": 0, "poll_timeout_seconds": 20}}
    )
    assert config.matching.sync_match_wait == timedelta(0)
    assert config.matching.poll_timeout == timedelta(seconds=20)
    assert server_config_from_mapping({}).matching.sync_match_wait == timedelta(milliseconds=200)


def test_namespace_deletion_settings_come_from_the_config_file() -> None:
    from legato_server.server import server_config_from_mapping

    config = server_config_from_mapping(
        {"namespace_deletion": {"interval_seconds": 2, "grace_seconds": 30, "runs_per_second": 50}}
    )
    assert (config.namespace_deletion_interval, config.namespace_deletion_grace) == (
        timedelta(seconds=2),
        timedelta(seconds=30),
    )
    assert config.namespace_deletion_rate == 50.0
    defaults = server_config_from_mapping({})
    assert (defaults.namespace_deletion_interval, defaults.namespace_deletion_grace) == (
        timedelta(seconds=5),
        timedelta(seconds=15),
    )


def test_a_bad_port_from_the_environment_is_named() -> None:
    from legato_server.server import apply_environment, server_config_from_mapping

    with pytest.raises(ValueError, match="port: expected a whole number, got 'seven'"):
        server_config_from_mapping(apply_environment({}, {"LEGATO_PORT": "seven"}))


def test_the_database_password_comes_from_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from legato_server.persistence.config import CassandraConfig, MySQLConfig

    monkeypatch.delenv("LEGATO_DB_PASSWORD", raising=False)
    secret = tmp_path / "password"
    secret.write_text("s3cret\n")
    assert MySQLConfig(password_file=str(secret)).password == "s3cret"
    assert CassandraConfig(password_file=str(secret)).password == "s3cret"
    monkeypatch.setenv("LEGATO_DB_PASSWORD", "from-env")
    assert MySQLConfig(password_file=str(secret)).password == "from-env"
    with pytest.raises(ValueError, match="password_file .*missing"):
        MySQLConfig(password_file=str(tmp_path / "missing"))
