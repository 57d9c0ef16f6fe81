"""A real dev server for the CLI's integration tests, and a way to run the CLI against it.

``start_dev_server`` starts ``legato-server start-dev --in-memory --port <free>``
and waits, with a deadline, until its ``grpc.health.v1`` service reports
SERVING. Set ``LEGATO_CLI_TEST_ADDRESS`` to test against a server you already
run instead (it must have the ``default`` namespace).

``Cli.run(...)`` runs the CLI as a user does: a separate process
(``python -m legato.cli``), so exit codes, stdout and stderr are the real ones.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

SERVER_START_DEADLINE = 60.0
CLI_DEADLINE = 90.0


@dataclass(frozen=True)
class DevServer:
    address: str


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _server_command(port: int) -> list[str]:
    script = shutil.which("legato-server") or str(Path(sys.executable).with_name("legato-server"))
    return [script, "start-dev", "--in-memory", "--port", str(port)]


def _wait_until_serving(address: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_DEADLINE
    with grpc.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"legato-server start-dev exited with {process.returncode} before serving:\n"
                    + log.read_text(errors="replace")[-4000:],
                    pytrace=False,
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(
                    f"legato-server start-dev did not report SERVING within {SERVER_START_DEADLINE:.0f}s:\n"
                    + log.read_text(errors="replace")[-4000:],
                    pytrace=False,
                )
            try:
                # wait_for_ready blocks until the port accepts connections (or the
                # short deadline passes), so this loop does not spin while it boots.
                response = health.Check(
                    health_pb2.HealthCheckRequest(service=""),
                    timeout=min(1.0, remaining),
                    wait_for_ready=True,
                )
            except grpc.RpcError:
                continue
            if response.status == health_pb2.HealthCheckResponse.SERVING:
                return
            # Up but not yet SERVING: Watch returns as soon as the status changes.
            try:
                for update in health.Watch(
                    health_pb2.HealthCheckRequest(service=""), timeout=min(1.0, remaining)
                ):
                    if update.status == health_pb2.HealthCheckResponse.SERVING:
                        return
            except grpc.RpcError:
                continue


@contextlib.contextmanager
def start_dev_server(log_dir: Path) -> Iterator[DevServer]:
    external = os.environ.get("LEGATO_CLI_TEST_ADDRESS")
    if external:
        yield DevServer(address=external)
        return
    port = _free_port()
    address = f"127.0.0.1:{port}"
    log = log_dir / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(_server_command(port), stdout=sink, stderr=subprocess.STDOUT)
    try:
        _wait_until_serving(address, process, log)
        yield DevServer(address=address)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@dataclass(frozen=True)
class CliRun:
    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Cli:
    """Runs ``legato --address <server> ...`` in child processes."""

    address: str

    def _command(self, args: tuple[str, ...]) -> list[str]:
        return [sys.executable, "-m", "legato.cli", "--address", self.address, *args]

    @staticmethod
    def _env() -> dict[str, str]:
        # The user's own settings must not leak into the tests.
        return {k: v for k, v in os.environ.items() if k not in ("LEGATO_ADDRESS", "LEGATO_NAMESPACE")}

    def run(self, *args: str, timeout: float = CLI_DEADLINE) -> CliRun:
        done = subprocess.run(
            self._command(args), capture_output=True, text=True, timeout=timeout, env=self._env(), check=False
        )
        return CliRun(done.returncode, done.stdout, done.stderr)

    def start(self, *args: str) -> subprocess.Popen[str]:
        """For commands that wait (result, query): returns at once; see ``finish``."""
        return subprocess.Popen(
            self._command(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self._env()
        )

    @staticmethod
    def finish(process: subprocess.Popen[str], timeout: float = CLI_DEADLINE) -> CliRun:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
            pytest.fail(f"the CLI did not finish within {timeout:.0f}s:\n{stdout}\n{stderr}", pytrace=False)
        return CliRun(process.returncode, stdout, stderr)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def ok(run: CliRun) -> str:
    assert run.returncode == 0, f"exit {run.returncode}\nstdout: {run.stdout}\nstderr: {run.stderr}"
    return run.stdout


def fields(text: str) -> dict[str, str]:
    """``Key:  value`` lines as a dict."""
    parsed = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            parsed[key.strip()] = value.strip()
    return parsed
