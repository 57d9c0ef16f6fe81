"""Test helpers: a real Legato dev server in a subprocess, and a client connected to it.

```python
async with WorkflowEnvironment.start_local() as env:
    async with Worker(env.client, task_queue="q", workflows=[MyWorkflow]):
        assert await env.client.execute_workflow(MyWorkflow.run, id="w", task_queue="q") == ...
```

``start_local`` runs ``legato-server start-dev --in-memory --ip 127.0.0.1
--port <free port>`` (or ``--db-file``), waits until the server's
``grpc.health.v1`` service reports SERVING (failing with the server's output if
it exits or does not get ready in time), connects a client, and stops the
server on exit (SIGTERM, then SIGKILL). For pytest fixtures that cannot use
``async with``, ``await start_local_environment(...)`` returns a started
environment; call ``await env.shutdown()`` when done.

``start_time_skipping`` starts the same server with ``--time-skipping``: its
clock jumps to the next timer whenever a client waits for a workflow result
and no workflow or activity task is out with a worker, so a workflow that
sleeps 30 days finishes in about a second. Time runs normally while nobody
waits for a result (start a workflow, signal it, then wait), and
``await env.sleep(timedelta(days=1))`` moves it explicitly, firing the timers
due on the way. ``await env.get_current_time()`` is the server's (skipped) time.
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
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import grpc
import grpc.aio

from legato.api.v1 import test_service_pb2, test_service_pb2_grpc
from legato.client import Client
from legato.converter import DataConverter, default_converter
from legato.exceptions import RPCError
from legato.interceptor import Interceptor

__all__ = ["ServerStartError", "WorkflowEnvironment", "find_free_port", "start_local_environment"]

_HEALTH_CHECK = "/grpc.health.v1.Health/Check"
_SERVING = 1


class ServerStartError(RuntimeError):
    """The dev server exited or did not report SERVING in time; the message has its output."""


def find_free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _health_status(response: bytes) -> int:
    """The ``status`` (field 1, varint) of a serialized HealthCheckResponse; 0 (UNKNOWN) if absent."""
    if len(response) >= 2 and response[0] == 0x08:
        return response[1]
    return 0


def server_command() -> list[str]:
    """How to run ``legato-server``: the console script next to this interpreter, on PATH, or via ``-c``."""
    beside = Path(sys.executable).parent / "legato-server"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("legato-server")
    if found:
        return [found]
    return [sys.executable, "-c", "import sys; from legato_server.cli import main; sys.exit(main())"]


class WorkflowEnvironment:
    """A server to test against and a client for it."""

    def __init__(
        self,
        client: Client,
        *,
        address: str,
        process: subprocess.Popen[bytes] | None = None,
        log: IO[bytes] | None = None,
        time_skipping: bool = False,
    ) -> None:
        self.client = client
        self.address = address
        self._process = process
        self._log = log
        self._time_skipping = time_skipping
        self._test_channel: grpc.aio.Channel | None = None

    @property
    def namespace(self) -> str:
        return self.client.namespace

    @property
    def supports_time_skipping(self) -> bool:
        return self._time_skipping

    async def sleep(self, duration: timedelta | float) -> None:
        """Let ``duration`` pass: skipped at once (firing the timers due) with time skipping, else really slept."""
        seconds = duration.total_seconds() if isinstance(duration, timedelta) else float(duration)
        if not self._time_skipping:
            await asyncio.sleep(seconds)
            return
        request = test_service_pb2.SkipTimeRequest()
        request.duration.FromTimedelta(timedelta(seconds=seconds))
        await self._call_test_service("SkipTime", request, deadline_s=max(60.0, seconds / 3600))

    async def get_current_time(self) -> datetime:
        """The server's current time (ahead of the wall clock by whatever was skipped)."""
        if not self._time_skipping:
            return datetime.now(UTC)
        response = await self._call_test_service(
            "GetCurrentTime", test_service_pb2.GetCurrentTimeRequest(), deadline_s=10
        )
        return response.time.ToDatetime(tzinfo=UTC)

    async def _call_test_service(self, rpc: str, request: Any, *, deadline_s: float) -> Any:
        """Call the TestService; a refusal is an ``RPCError``, as from every other call of the SDK."""
        if self._test_channel is None:
            self._test_channel = grpc.aio.insecure_channel(self.address)
        method = getattr(test_service_pb2_grpc.TestServiceStub(self._test_channel), rpc)
        try:
            return await method(request, timeout=deadline_s)
        except grpc.aio.AioRpcError as err:
            details = err.details() or ""
            raise RPCError(
                f"{rpc}: {details or err.code().name}", status=err.code(), details=details
            ) from None

    @staticmethod
    def start_time_skipping(
        *,
        port: int | None = None,
        ip: str = "127.0.0.1",
        namespace: str = "default",
        data_converter: DataConverter = default_converter,
        interceptors: Sequence[Interceptor] = (),
        extra_args: Sequence[str] = (),
        startup_timeout: float = 30.0,
        command: Sequence[str] | None = None,
    ) -> _LocalEnvironmentContext:
        """An in-memory dev server whose timers fire as soon as nothing else can happen (see the module doc)."""
        return _LocalEnvironmentContext(
            dict(
                port=port,
                ip=ip,
                db_file=None,
                namespace=namespace,
                data_converter=data_converter,
                interceptors=interceptors,
                extra_args=extra_args,
                startup_timeout=startup_timeout,
                command=command,
                time_skipping=True,
            )
        )

    @staticmethod
    def from_client(client: Client, *, address: str = "") -> WorkflowEnvironment:
        """Wrap an existing connection (a server you run yourself); ``shutdown`` only closes the client."""
        return WorkflowEnvironment(client, address=address)

    @staticmethod
    def start_local(
        *,
        port: int | None = None,
        ip: str = "127.0.0.1",
        db_file: str | os.PathLike[str] | None = None,
        namespace: str = "default",
        data_converter: DataConverter = default_converter,
        interceptors: Sequence[Interceptor] = (),
        extra_args: Sequence[str] = (),
        startup_timeout: float = 30.0,
        command: Sequence[str] | None = None,
    ) -> _LocalEnvironmentContext:
        """Start a dev server subprocess; use as ``async with WorkflowEnvironment.start_local() as env``."""
        return _LocalEnvironmentContext(
            dict(
                port=port,
                ip=ip,
                db_file=db_file,
                namespace=namespace,
                data_converter=data_converter,
                interceptors=interceptors,
                extra_args=extra_args,
                startup_timeout=startup_timeout,
                command=command,
            )
        )

    def server_output(self) -> str:
        """What the server printed so far (for diagnosing a failed test)."""
        if self._log is None:
            return ""
        self._log.flush()
        return Path(self._log.name).read_text(errors="replace")

    async def shutdown(self) -> None:
        await self.client.close()
        if self._test_channel is not None:
            await self._test_channel.close()
            self._test_channel = None
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(process.wait, 10)
            except subprocess.TimeoutExpired:
                process.kill()
                await asyncio.to_thread(process.wait)
        if self._log is not None:
            self._log.close()
            try:
                os.unlink(self._log.name)
            except OSError:
                pass
            self._log = None

    async def __aenter__(self) -> WorkflowEnvironment:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.shutdown()


class _LocalEnvironmentContext:
    def __init__(self, options: dict[str, object]) -> None:
        self._options = options
        self._env: WorkflowEnvironment | None = None

    async def __aenter__(self) -> WorkflowEnvironment:
        self._env = await start_local_environment(**self._options)  # type: ignore[arg-type]
        return self._env

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._env is not None:
            await self._env.shutdown()


def _tail(log: IO[bytes]) -> str:
    log.flush()
    return Path(log.name).read_text(errors="replace")[-4000:]


def _spawn(args: Sequence[str], log: IO[bytes]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


async def _wait_serving(
    address: str, process: subprocess.Popen[bytes], within: float, log: IO[bytes]
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    async with grpc.aio.insecure_channel(address) as channel:
        check = channel.unary_unary(
            _HEALTH_CHECK, request_serializer=lambda _: b"", response_deserializer=lambda raw: raw
        )
        last_error = "no answer"
        while True:
            if process.poll() is not None:
                raise ServerStartError(f"legato-server exited with code {process.returncode}:\n{_tail(log)}")
            try:
                response = await check(None, timeout=1.0)
                status = _health_status(response)
                if status == _SERVING:
                    return
                last_error = f"health status {status}"
            except grpc.aio.AioRpcError as err:
                last_error = f"{err.code().name}: {err.details()}"
            if loop.time() > deadline:
                process.kill()
                raise ServerStartError(
                    f"legato-server at {address} was not SERVING after {within:.0f}s ({last_error}):\n{_tail(log)}"
                )
            await asyncio.sleep(0.1)


async def start_local_environment(
    *,
    port: int | None = None,
    ip: str = "127.0.0.1",
    db_file: str | os.PathLike[str] | None = None,
    namespace: str = "default",
    data_converter: DataConverter = default_converter,
    interceptors: Sequence[Interceptor] = (),
    extra_args: Sequence[str] = (),
    startup_timeout: float = 30.0,
    command: Sequence[str] | None = None,
    time_skipping: bool = False,
) -> WorkflowEnvironment:
    """Start ``legato-server start-dev`` and connect; the caller must ``await env.shutdown()``."""
    port = port or find_free_port(ip)
    args = [*(command or server_command()), "start-dev", "--ip", ip, "--port", str(port)]
    args += ["--db-file", os.fspath(db_file)] if db_file is not None else ["--in-memory"]
    args += list(extra_args)
    if time_skipping:
        args.append("--time-skipping")
    log = tempfile.NamedTemporaryFile(prefix="legato-server-", suffix=".log", delete=False)  # noqa: SIM115
    process = _spawn(args, log)
    address = f"{ip}:{port}"
    try:
        await _wait_serving(address, process, startup_timeout, log)
        client = await Client.connect(
            address, namespace=namespace, data_converter=data_converter, interceptors=interceptors
        )
    except BaseException:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()
        raise
    return WorkflowEnvironment(client, address=address, process=process, log=log, time_skipping=time_skipping)
