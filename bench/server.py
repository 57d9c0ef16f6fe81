"""Starting ``legato-server start-dev`` as a subprocess the harness can measure.

The harness owns the server's whole life: a free port on 127.0.0.1, a fresh
SQLite file in a temporary directory (unless ``--db-file``/``--in-memory``),
stdout and stderr into ``server.log`` next to it, then polling
``grpc.health.v1.Health/Check`` until it answers ``SERVING`` or the deadline
passes. A server that exits during start-up fails at once with the tail of its
log instead of waiting out the deadline.

The server is run as ``python -c "from legato_server.cli import main; ..."``
with this interpreter rather than through the ``legato-server`` script on PATH,
so the measured pid is the Python process itself and always the checkout
the harness was imported from.

Stopping sends SIGTERM (a graceful drain), then SIGKILL after a grace period,
and removes the temporary directory — except after the server died mid-run,
when its log is kept for the post-mortem (``LEGATO_BENCH_KEEP=1`` always keeps it).

The port is found by binding port 0 and closing the socket: another process
could take it before the server binds, which shows up as a start-up failure
with a clear log — acceptable for a benchmark.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

SERVER_ENTRY = "import sys; from legato_server.cli import main; sys.exit(main())"


class ServerStartError(RuntimeError):
    """The dev server did not become healthy; the message carries its log's tail."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


@dataclass
class DevServerOptions:
    db_file: str | None = None
    """Use this SQLite file (kept afterwards); None means a temporary one."""
    in_memory: bool = False
    extra_args: list[str] = field(default_factory=list)
    startup_timeout_s: float = 30.0
    stop_timeout_s: float = 10.0
    host: str = "127.0.0.1"


@dataclass
class DevServer:
    """A running ``start-dev`` process. Build it with ``DevServer.start``."""

    process: subprocess.Popen[bytes]
    address: str
    workdir: Path
    log_path: Path
    store: str
    db_path: str | None
    owns_workdir: bool

    @property
    def pid(self) -> int:
        return self.process.pid

    def exit_code(self) -> int | None:
        return self.process.poll()

    @staticmethod
    def command(*, host: str, port: int, options: DevServerOptions, db_path: str | None) -> list[str]:
        command = [sys.executable, "-c", SERVER_ENTRY, "start-dev", "--ip", host, "--port", str(port)]
        if options.in_memory:
            command.append("--in-memory")
        elif db_path is not None:
            command += ["--db-file", db_path]
        return command + list(options.extra_args)

    @classmethod
    def launch(cls, options: DevServerOptions) -> DevServer:
        """Spawn the process (not yet serving); ``start`` also waits until it serves."""
        workdir = Path(tempfile.mkdtemp(prefix="legato-bench-"))
        if options.in_memory:
            store, db_path = "sqlite-memory", None
        elif options.db_file is not None:
            store, db_path = "sqlite-file", os.path.abspath(options.db_file)
        else:
            store, db_path = "sqlite-file", str(workdir / "bench.db")
        port = free_port(options.host)
        log_path = workdir / "server.log"
        command = cls.command(host=options.host, port=port, options=options, db_path=db_path)
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return cls(
            process=process,
            address=f"{options.host}:{port}",
            workdir=workdir,
            log_path=log_path,
            store=store,
            db_path=db_path,
            owns_workdir=True,
        )

    @classmethod
    async def start(cls, options: DevServerOptions) -> DevServer:
        server = cls.launch(options)
        try:
            await server.wait_serving(timeout_s=options.startup_timeout_s)
        except BaseException:
            server.stop(timeout_s=options.stop_timeout_s)  # the error carries the log's tail
            raise
        return server

    async def wait_serving(self, *, timeout_s: float) -> None:
        """Poll the gRPC health service until SERVING; fail fast if the process exits."""
        deadline = time.monotonic() + timeout_s
        answered: str | None = None  # the last status the server itself gave
        failed: str | None = None  # why the poll after it got no answer, if it did not
        while True:
            code = self.exit_code()
            if code is not None:
                raise ServerStartError(
                    f"legato-server start-dev exited with code {code} during start-up "
                    f"(log {self.log_path}):\n{tail(self.log_path)}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                # A last poll cut short by the deadline says less than an earlier real answer: give both.
                problem = "; then ".join(
                    part for part in (answered and f"last health answer: {answered}", failed) if part
                )
                raise ServerStartError(
                    f"legato-server start-dev at {self.address} not SERVING after {timeout_s:g} s "
                    f"({problem or 'no answer yet'}; log {self.log_path}):\n{tail(self.log_path)}"
                )
            status = await health_status(self.address, timeout_s=min(1.0, remaining))
            if status == "SERVING":
                return
            if status.startswith("rpc "):
                failed = status
            else:
                answered, failed = status, None
            await asyncio.sleep(0.1)

    def stop(self, *, timeout_s: float = 10.0, keep_workdir: bool = False) -> int | None:
        """SIGTERM, wait, SIGKILL if needed; remove the temporary directory. Returns the exit code."""
        if self.process.poll() is None:
            try:
                self.process.send_signal(signal.SIGTERM)
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            except ProcessLookupError:
                pass
        if self.owns_workdir and not keep_workdir and os.environ.get("LEGATO_BENCH_KEEP") is None:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return self.process.returncode


async def health_status(address: str, *, timeout_s: float, service: str = "") -> str:
    """``grpc.health.v1`` status name of ``address`` (``SERVING``...), or a short reason it failed."""
    import grpc
    import grpc.aio
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    try:
        async with grpc.aio.insecure_channel(address) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            answer = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout_s)
            return health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
    except grpc.aio.AioRpcError as error:
        return f"rpc {error.code().name}"
