"""A real Legato server process on each store, for tests that run workflows end to end.

``running_server(kind, workdir)`` starts ``legato-server start-dev`` (SQLite)
or, for MySQL and Cassandra, creates a fresh database/keyspace with the schema
tool (``legato-server schema setup`` + ``update``, as an operator would) and
starts ``legato-server start --config`` on it. It yields the frontend address
and stops the server afterwards. The CI rule of tests/infra.py applies: a
database that is not running fails in CI and skips elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from legato.testing import find_free_port, server_command
from tests import infra
from tests.server.test_start_dev import START_DEADLINE_S, wait_until_serving

STORES = ("sqlite", "mysql", "cassandra")


def create_schema(kind: str, name: str) -> None:
    """Create the database/keyspace ``name`` at the newest schema, with the real schema tool."""
    if kind == "mysql":
        target = ["--db", "mysql", "--host", infra.MYSQL_HOST, "--port", str(infra.MYSQL_PORT)]
        target += ["--user", infra.MYSQL_USER, "--database", name]
    else:
        target = ["--db", "cassandra", "--host", infra.CASSANDRA_HOST, "--port", str(infra.CASSANDRA_PORT)]
        target += ["--keyspace", name]
    env = {**os.environ, "LEGATO_DB_PASSWORD": infra.MYSQL_PASSWORD}
    for action in ("setup", "update"):
        subprocess.run(
            [*server_command(), "schema", action, *target], env=env, check=True, capture_output=True
        )


def drop_schema(kind: str, name: str) -> None:
    """Drop the database/keyspace ``name`` with the schema tool (best effort: cleanup after a test).

    Left behind, every test run's keyspaces pile up in the long-lived local
    Cassandra until its heap runs out.
    """
    from legato_server import schema_tool
    from legato_server.persistence.config import CassandraConfig

    if kind not in ("mysql", "cassandra"):
        return
    config = (
        infra.mysql_config(name)
        if kind == "mysql"
        else CassandraConfig(hosts=[infra.CASSANDRA_HOST], port=infra.CASSANDRA_PORT, keyspace=name)
    )
    with contextlib.suppress(Exception):
        schema_tool.run("drop", kind, config, confirmed=True)


def _config(kind: str, name: str, port: int) -> dict[str, object]:
    if kind == "mysql":
        store: dict[str, object] = {
            "host": infra.MYSQL_HOST,
            "port": infra.MYSQL_PORT,
            "user": infra.MYSQL_USER,
            "password": infra.MYSQL_PASSWORD,
            "database": name,
        }
    else:
        store = {"hosts": [infra.CASSANDRA_HOST], "port": infra.CASSANDRA_PORT, "keyspace": name}
    return {
        "host": "127.0.0.1",
        "port": port,
        "num_history_shards": 4,
        "namespaces": ["default"],
        "persistence": {"kind": kind, kind: store},
    }


@dataclass(frozen=True)
class ServerProcess:
    address: str
    """The frontend's host:port."""
    database: str
    """The MySQL database or Cassandra keyspace it uses ("" for SQLite)."""
    log: Path
    """Its stdout and stderr."""


def _start(kind: str, workdir: Path) -> tuple[subprocess.Popen[str], ServerProcess]:
    port = find_free_port()
    log_path = workdir / f"server-{kind}.log"
    log = log_path.open("w")
    name = ""
    if kind == "sqlite":
        args = ["start-dev", "--port", str(port), "--db-file", str(workdir / "legato.db")]
    else:
        {"mysql": infra.require_mysql, "cassandra": infra.require_cassandra}[kind]()
        name = f"legato_e2e_{uuid.uuid4().hex[:10]}"
        create_schema(kind, name)
        config = workdir / f"{kind}.yaml"
        config.write_text(yaml.safe_dump(_config(kind, name, port)))
        args = ["start", "--config", str(config)]
    process = subprocess.Popen([*server_command(), *args], stdout=log, stderr=subprocess.STDOUT, text=True)
    address = f"127.0.0.1:{port}"
    wait_until_serving(address, process, time.monotonic() + START_DEADLINE_S)
    return process, ServerProcess(address=address, database=name, log=log_path)


@contextlib.asynccontextmanager
async def running_server(kind: str, workdir: Path) -> AsyncIterator[str]:
    """A server on ``kind``; yields its frontend address."""
    async with running_server_process(kind, workdir) as server:
        yield server.address


@contextlib.asynccontextmanager
async def running_server_process(kind: str, workdir: Path) -> AsyncIterator[ServerProcess]:
    """A server on ``kind``; yields where it listens, its database and its log."""
    process, server = await asyncio.to_thread(_start, kind, workdir)
    try:
        yield server
    finally:
        process.terminate()
        try:
            await asyncio.to_thread(process.wait, 30)
        except subprocess.TimeoutExpired:
            process.kill()
        if server.database:
            await asyncio.to_thread(drop_schema, kind, server.database)
