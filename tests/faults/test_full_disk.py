"""A full disk under the dev server's SQLite file: retryable errors, a clean stop, a clean restart.

The database lives on a small tmpfs of its own; a filler file takes the rest
of the space while workflows run. Clients must see RESOURCE_EXHAUSTED or
UNAVAILABLE (never INTERNAL), the server must stop cleanly on SIGTERM, and
once the filler is gone the same file must start again and every workflow
finish. Needs root to mount the tmpfs (CI runs as root); elsewhere it skips.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import grpc
import pytest

from legato import activity, workflow
from legato.client import Client, RPCRetryConfig
from legato.exceptions import RPCError
from legato.testing import find_free_port, server_command
from legato.worker import Worker
from tests import infra
from tests.server.test_start_dev import START_DEADLINE_S, STOP_DEADLINE_S, wait_until_serving

DISK_MIB = 8


@activity.defn
async def greet(name: str) -> str:
    return f"Hello, {name}!"


@workflow.defn
class DiskWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(greet, name, start_to_close_timeout=timedelta(seconds=10))


@contextlib.contextmanager
def small_disk(path: Path) -> Iterator[Path]:
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_MIB}m", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        message = f"cannot mount a {DISK_MIB} MiB tmpfs (needs root): {mounted.stderr.strip()}"
        if infra.IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(disk: Path) -> Path:
    """Take every free byte of ``disk`` with one file."""
    filler = disk / "filler"
    with filler.open("wb") as out:
        chunk = b"\0" * 65536
        with contextlib.suppress(OSError):
            while True:
                out.write(chunk)
                out.flush()
    return filler


def start_server(db: Path, port: int, log: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [*server_command(), "start-dev", "--port", str(port), "--db-file", str(db)],
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until_serving(f"127.0.0.1:{port}", process, time.monotonic() + START_DEADLINE_S)
    except BaseException:
        process.kill()  # never leave a server behind a failed test
        raise
    return process


async def test_a_full_disk_is_retryable_and_the_server_restarts_once_space_is_freed(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk") as disk:
        db, log, port = disk / "legato.db", tmp_path / "server.log", find_free_port()
        server = await asyncio.to_thread(start_server, db, port, log)
        address = f"127.0.0.1:{port}"
        impatient = RPCRetryConfig(max_attempts=2, max_elapsed=2)
        client = await Client.connect(address, rpc_retry=impatient)
        started = []
        async with Worker(client, task_queue="disk", workflows=[DiskWorkflow], activities=[greet]):
            for n in range(5):
                started.append(
                    await client.start_workflow(
                        DiskWorkflow.run, f"w{n}", id=f"before-{n}", task_queue="disk"
                    )
                )
            assert [await h.result() for h in started] == [f"Hello, w{n}!" for n in range(5)]

            filler = await asyncio.to_thread(fill, disk)
            refused: list[grpc.StatusCode] = []
            for n in range(200):
                try:
                    started.append(
                        await client.start_workflow(
                            DiskWorkflow.run,
                            f"f{n}",
                            id=f"full-{n}",
                            task_queue="disk",
                            memo={"pad": "x" * 20_000},
                        )
                    )
                except RPCError as err:
                    refused.append(err.status)
                    if len(refused) >= 3:
                        break
        assert refused, "the disk never filled up"
        assert set(refused) <= {grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAVAILABLE}, refused

        server.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(server.wait, STOP_DEADLINE_S) == 0, log.read_text()[-3000:]

        os.unlink(filler)
        server = await asyncio.to_thread(start_server, db, port, log)
        try:
            client = await Client.connect(address)
            async with Worker(client, task_queue="disk", workflows=[DiskWorkflow], activities=[greet]):
                results = [await h.result() for h in started]
                late = await client.execute_workflow(DiskWorkflow.run, "again", id="after", task_queue="disk")
            assert results == [
                h.id.replace("before-", "Hello, w").replace("full-", "Hello, f") + "!" for h in started
            ]
            assert late == "Hello, again!"
        finally:
            server.send_signal(signal.SIGTERM)
            await asyncio.to_thread(server.wait, STOP_DEADLINE_S)
        assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
