"""A Legato cluster of real OS processes over a real MariaDB or Cassandra, for cluster-mode tests.

Each process is ``legato-server start --config`` with one role (frontend,
history or matching), its own port and log file, all sharing one fresh
database or keyspace created with the schema tool. Membership runs with short
intervals (heartbeat 1 s, TTL 5 s) so a killed host's work moves within
seconds. Helpers kill (-9), stop (SIGTERM), pause (SIGSTOP/SIGCONT), restart
and add processes, and wait on health with deadlines.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from legato.testing import find_free_port, server_command
from tests import infra
from tests.store_servers import create_schema, drop_schema

START_DEADLINE_S = 60.0
NUM_SHARDS = 16
HEARTBEAT_S = 1.0
TTL_S = 5.0


@dataclass
class Process:
    role: str
    port: int
    config: Path
    log: Path
    popen: subprocess.Popen[str] | None = None
    metrics_port: int | None = None

    @property
    def metrics_url(self) -> str:
        assert self.metrics_port is not None, "the cluster was created without metrics=True"
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


@dataclass
class Cluster:
    kind: str
    workdir: Path
    database: str = field(default_factory=lambda: f"legato_cluster_{uuid.uuid4().hex[:10]}")
    processes: list[Process] = field(default_factory=list)
    metrics: bool = False
    """Each process serves /metrics on a port of its own (``Process.metrics_url``)."""
    extra_config: dict[str, object] = field(default_factory=dict)
    """More top-level keys of every process's YAML config (e.g. ``namespace_deletion``)."""

    def store_config(self) -> dict[str, object]:
        if self.kind == "mysql":
            store: dict[str, object] = {
                "host": infra.MYSQL_HOST,
                "port": infra.MYSQL_PORT,
                "user": infra.MYSQL_USER,
                "password": infra.MYSQL_PASSWORD,
                "database": self.database,
            }
        else:
            store = {"hosts": [infra.CASSANDRA_HOST], "port": infra.CASSANDRA_PORT, "keyspace": self.database}
        return {"kind": self.kind, self.kind: store}

    def create(self, *, frontend: int = 2, history: int = 3, matching: int = 2) -> None:
        {"mysql": infra.require_mysql, "cassandra": infra.require_cassandra}[self.kind]()
        create_schema(self.kind, self.database)
        for role, count in (("history", history), ("matching", matching), ("frontend", frontend)):
            for _ in range(count):
                self.add(role, wait=False)
        for process in self.processes:
            self.wait_serving(process)

    def add(self, role: str, *, wait: bool = True) -> Process:
        port = find_free_port()
        index = len(self.processes)
        config = self.workdir / f"{role}-{index}.yaml"
        metrics_port = find_free_port() if self.metrics else None
        config.write_text(
            yaml.safe_dump(
                {
                    **({"metrics": {"port": metrics_port}} if metrics_port is not None else {}),
                    "host": "127.0.0.1",
                    "port": port,
                    "services": [role],
                    "num_history_shards": NUM_SHARDS,
                    "namespaces": ["default"] if role == "frontend" else [],
                    "persistence": self.store_config(),
                    "membership": {
                        "heartbeat_seconds": HEARTBEAT_S,
                        "refresh_seconds": 0.5,
                        "ttl_seconds": TTL_S,
                    },
                    "shutdown_grace_seconds": 5,
                    **self.extra_config,
                }
            )
        )
        process = Process(
            role=role,
            port=port,
            config=config,
            log=self.workdir / f"{role}-{index}.log",
            metrics_port=metrics_port,
        )
        self.processes.append(process)
        self.start(process, wait=wait)
        return process

    def start(self, process: Process, *, wait: bool = True) -> None:
        process.popen = subprocess.Popen(
            [*server_command(), "start", "--config", str(process.config)],
            stdout=process.log.open("a"),
            stderr=subprocess.STDOUT,
            text=True,
        )
        if wait:
            self.wait_serving(process)

    def wait_serving(self, process: Process, *, deadline_s: float = START_DEADLINE_S) -> None:
        deadline = time.monotonic() + deadline_s
        with grpc.insecure_channel(process.address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while True:
                assert process.alive, (
                    f"{process.role} on {process.address} exited:\n{process.log.read_text()[-3000:]}"
                )
                try:
                    status = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=1).status
                    if status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.RpcError:
                    pass
                assert time.monotonic() < deadline, (
                    f"{process.role} on {process.address} not SERVING within {deadline_s}s:\n"
                    f"{process.log.read_text()[-3000:]}"
                )
                time.sleep(0.2)

    def of(self, role: str) -> list[Process]:
        return [p for p in self.processes if p.role == role and p.alive]

    def signal(self, process: Process, signum: int) -> None:
        assert process.popen is not None
        os.kill(process.popen.pid, signum)

    def kill(self, process: Process) -> None:
        self.signal(process, signal.SIGKILL)
        assert process.popen is not None
        process.popen.wait(10)

    def stop(self, process: Process) -> int:
        """SIGTERM and wait for the drain; returns the exit code."""
        self.signal(process, signal.SIGTERM)
        assert process.popen is not None
        return process.popen.wait(30)

    def close(self) -> None:
        for process in self.processes:
            if process.alive:
                assert process.popen is not None
                process.popen.send_signal(signal.SIGCONT)
                process.popen.terminate()
        for process in self.processes:
            if process.popen is not None:
                try:
                    process.popen.wait(30)
                except subprocess.TimeoutExpired:
                    process.popen.kill()
        drop_schema(self.kind, self.database)

    def logs(self) -> str:
        return "\n".join(f"== {p.log.name}\n{p.log.read_text()[-4000:]}" for p in self.processes)
