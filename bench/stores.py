"""Servers on MySQL/MariaDB or Cassandra for the benchmark: one process, or a cluster of processes.

``StoreServer.start`` creates a fresh database (or keyspace) with the schema
tool, as an operator would, and starts either one ``legato-server start``
process running every role, or, with a cluster spec such as
``frontend=1,history=2,matching=1``, one process per role instance, each on
its own port, all under one supervising shell. The harness measures the
supervisor with its descendants, so server CPU and RSS are summed over every
process of the cluster. The benchmark's client and worker talk to the first
frontend.

Where the databases are: ``LEGATO_TEST_MYSQL_HOST/PORT/USER/PASSWORD`` and
``LEGATO_TEST_CASSANDRA_HOST/PORT`` (the test suite's variables; defaults
127.0.0.1, 3306, legato/legato, 9042), as started by scripts/infra/*.sh.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bench.server import SERVER_ENTRY, ServerStartError, free_port, health_status, tail

ROLES = ("frontend", "history", "matching")
STORES = ("sqlite", "mysql", "cassandra")


def parse_cluster(text: str) -> dict[str, int]:
    """``frontend=1,history=2,matching=1`` -> counts per role; ValueError says what is wrong."""
    counts: dict[str, int] = {}
    for part in text.split(","):
        role, sep, number = part.strip().partition("=")
        if not sep or role not in ROLES or not number.isdigit() or int(number) < 1:
            raise ValueError(
                f"expected ROLE=N,... with ROLE one of {', '.join(ROLES)} and N >= 1; got {part!r}"
            )
        counts[role] = int(number)
    missing = [role for role in ROLES if role not in counts]
    if missing:
        raise ValueError(f"a cluster needs every role; missing {', '.join(missing)}")
    return counts


def _store_config(kind: str, database: str) -> dict[str, Any]:
    env = os.environ
    if kind == "mysql":
        return {
            "kind": "mysql",
            "mysql": {
                "host": env.get("LEGATO_TEST_MYSQL_HOST", "127.0.0.1"),
                "port": int(env.get("LEGATO_TEST_MYSQL_PORT", "3306")),
                "user": env.get("LEGATO_TEST_MYSQL_USER", "legato"),
                "password": env.get("LEGATO_TEST_MYSQL_PASSWORD", "legato"),
                "database": database,
            },
        }
    return {
        "kind": "cassandra",
        "cassandra": {
            "hosts": [env.get("LEGATO_TEST_CASSANDRA_HOST", "127.0.0.1")],
            "port": int(env.get("LEGATO_TEST_CASSANDRA_PORT", "9042")),
            "keyspace": database,
        },
    }


def database_port(kind: str) -> int | None:
    """The port of the database a ``kind`` server uses, when that database runs on this machine."""
    env = os.environ
    if kind == "mysql" and env.get("LEGATO_TEST_MYSQL_HOST", "127.0.0.1") in ("127.0.0.1", "localhost"):
        return int(env.get("LEGATO_TEST_MYSQL_PORT", "3306"))
    if kind == "cassandra" and env.get("LEGATO_TEST_CASSANDRA_HOST", "127.0.0.1") in (
        "127.0.0.1",
        "localhost",
    ):
        return int(env.get("LEGATO_TEST_CASSANDRA_PORT", "9042"))
    return None


def _schema(action: str, kind: str, store: dict[str, Any], database: str, log: Path) -> int:
    """``legato-server schema <action>`` on the bench's database, output to ``log``; the exit code."""
    settings = store[kind]
    if kind == "mysql":
        target = ["--db", "mysql", "--host", settings["host"], "--port", str(settings["port"])]
        target += ["--user", settings["user"], "--database", database]
    else:
        target = ["--db", "cassandra", "--host", settings["hosts"][0], "--port", str(settings["port"])]
        target += ["--keyspace", database]
    if action == "drop":
        target.append("--yes")
    env = {**os.environ, "LEGATO_DB_PASSWORD": str(settings.get("password", ""))}
    with open(log, "ab") as out:
        return subprocess.run(
            [sys.executable, "-c", SERVER_ENTRY, "schema", action, *target], env=env, stdout=out, stderr=out
        ).returncode


def _create_schema(kind: str, store: dict[str, Any], database: str, log: Path) -> None:
    for action in ("setup", "update"):
        if _schema(action, kind, store, database, log) != 0:
            raise ServerStartError(
                f"legato-server schema {action} on {kind} failed (is the database running? "
                f"scripts/infra/{'mariadb' if kind == 'mysql' else 'cassandra'}.sh start):\n{tail(log)}"
            )


@dataclass
class StoreServer:
    """Server processes on MySQL or Cassandra; same surface as ``DevServer`` for the runner."""

    process: subprocess.Popen[bytes]
    address: str
    addresses: list[str]
    workdir: Path
    log_path: Path
    store: str
    db_path: str | None = None
    drop_database: Callable[[], int] | None = None
    """Drops the bench's database/keyspace (runs at ``stop``; every run makes a new one)."""

    @property
    def pid(self) -> int:
        return self.process.pid

    def exit_code(self) -> int | None:
        return self.process.poll()

    @classmethod
    async def start(
        cls, *, kind: str, cluster: dict[str, int] | None, startup_timeout_s: float
    ) -> StoreServer:
        server = await asyncio.to_thread(cls.launch, kind=kind, cluster=cluster)
        try:
            for address in server.addresses:
                await server._wait_serving(address, startup_timeout_s)
        except BaseException:
            server.stop(keep_workdir=True)
            raise
        return server

    @classmethod
    def launch(cls, *, kind: str, cluster: dict[str, int] | None) -> StoreServer:
        """Create the database and spawn the processes (not yet serving)."""
        workdir = Path(tempfile.mkdtemp(prefix="legato-bench-"))
        log_path = workdir / "server.log"
        database = f"legato_bench_{uuid.uuid4().hex[:10]}"
        store = _store_config(kind, database)
        _create_schema(kind, store, database, log_path)
        layout = cluster or {"frontend": 1}  # one process with every role
        commands, addresses = [], []
        for role, count in layout.items():
            for index in range(count):
                port = free_port()
                config = workdir / f"{role}-{index}.yaml"
                config.write_text(
                    yaml.safe_dump(
                        {
                            "host": "127.0.0.1",
                            "port": port,
                            "services": [role] if cluster else list(ROLES),
                            "num_history_shards": 16,
                            "namespaces": ["default"],
                            "persistence": store,
                        }
                    )
                )
                command = [sys.executable, "-c", SERVER_ENTRY, "start", "--config", str(config)]
                commands.append(" ".join(shlex.quote(part) for part in command))
                addresses.append(f"127.0.0.1:{port}")
        frontends = addresses[: layout["frontend"]] if cluster else addresses
        script = " & ".join(commands) + " & wait"
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                ["sh", "-c", script],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        label = f"{kind}-cluster({','.join(f'{r}={n}' for r, n in layout.items())})" if cluster else kind
        return cls(
            process=process,
            address=frontends[0],
            addresses=addresses,
            workdir=workdir,
            log_path=log_path,
            store=label,
            drop_database=lambda: _schema("drop", kind, store, database, log_path),
        )

    async def _wait_serving(self, address: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        status = "no answer yet"
        while time.monotonic() < deadline:
            if self.exit_code() is not None:
                raise ServerStartError(f"the server processes exited during start-up:\n{tail(self.log_path)}")
            status = await health_status(address, timeout_s=1.0)
            if status == "SERVING":
                return
            await asyncio.sleep(0.2)
        raise ServerStartError(
            f"{address} not SERVING after {timeout_s:g} s ({status}):\n{tail(self.log_path)}"
        )

    def stop(self, *, timeout_s: float = 30.0, keep_workdir: bool = False) -> int | None:
        """SIGTERM every process (they drain), SIGKILL what is left after ``timeout_s``."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            except ProcessLookupError:
                pass
        if self.drop_database is not None and os.environ.get("LEGATO_BENCH_KEEP") is None:
            self.drop_database()
        if not keep_workdir and os.environ.get("LEGATO_BENCH_KEEP") is None:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return self.process.returncode
