"""The CLI's connection to the frontend: a synchronous gRPC channel and error mapping.

A command runs a handful of calls and exits, so this is plain blocking gRPC,
not the SDK's asyncio ``ServiceClient``, and it does not retry: a person is
watching and can rerun the command, whereas a retry loop on a refused
connection would only make them wait for the same message.

Every failed call becomes a ``CliError`` with one readable line:

* ``UNAVAILABLE`` on a channel that cannot connect (refused, unresolvable
  host) becomes ``ServerUnreachable``, which tells the user how to start a dev
  server; ``UNAVAILABLE`` sent by a reachable frontend stays an ``RpcFailure``;
* any other status becomes ``RpcFailure`` (``"NOT_FOUND: namespace ..."``),
  which keeps the status code so a caller can treat some codes as normal (the
  result long-poll treats ``DEADLINE_EXCEEDED`` as "nothing yet");
* a failed TLS handshake becomes ``TLSFailure``, saying what to check (the CA,
  the server name), rather than "cannot reach".

With ``tls`` (``--tls``, ``--tls-ca``, ...) the channel is TLS, built by the
SDK's ``TLSConfig`` so both speak TLS one way.
"""

from __future__ import annotations

import getpass
import socket
from typing import Any

import grpc

from legato._service import TLSConfig, closed_connection_hint, tls_failure_hint
from legato.api.v1 import schedule_pb2, schedule_pb2_grpc, workflow_service_pb2_grpc
from legato.cli.errors import RpcFailure, ServerUnreachable, TLSFailure

DEFAULT_ADDRESS = "127.0.0.1:7233"
DEFAULT_NAMESPACE = "default"
DEFAULT_CALL_TIMEOUT = 10.0
"""Deadline of an ordinary call, in seconds."""

_READY_PROBE_TIMEOUT = 0.25
# Schedule RPCs are a service of their own on the same channel.
_SCHEDULE_RPCS = frozenset(schedule_pb2.DESCRIPTOR.services_by_name["ScheduleService"].methods_by_name)
"""How long to wait for the channel to (re)connect when telling "unreachable" from "server said UNAVAILABLE"."""


def cli_identity() -> str:
    """Who the server records as the author of starts, signals and terminations."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()} (legato cli)"


class Connection:
    """Calls ``WorkflowService`` and ``ScheduleService`` RPCs by name on one lazily opened channel."""

    def __init__(self, address: str, *, tls: TLSConfig | None = None) -> None:
        self.address = address
        self.tls = tls
        self._channel: grpc.Channel | None = None
        self._stub: Any = None
        self._schedule_stub: Any = None

    def call(self, rpc: str, request: Any, *, timeout: float = DEFAULT_CALL_TIMEOUT) -> Any:
        """Invoke ``rpc`` and return its response; raise ``CliError`` on any failure."""
        if self._stub is None:
            self._channel = self._open()
            self._stub = workflow_service_pb2_grpc.WorkflowServiceStub(self._channel)
            self._schedule_stub = schedule_pb2_grpc.ScheduleServiceStub(self._channel)
        stub = self._schedule_stub if rpc in _SCHEDULE_RPCS else self._stub
        try:
            return getattr(stub, rpc)(request, timeout=timeout)
        except grpc.RpcError as error:
            code = error.code() if isinstance(error, grpc.Call) else grpc.StatusCode.UNKNOWN
            details = (error.details() if isinstance(error, grpc.Call) else str(error)) or ""
            if code == grpc.StatusCode.UNAVAILABLE:
                hint = tls_failure_hint(details)
                if hint is not None:
                    raise TLSFailure(self.address, hint) from None
                if not self._connected():
                    raise ServerUnreachable(self.address, hint=closed_connection_hint(details)) from None
            raise RpcFailure(code, details) from None

    def _open(self) -> grpc.Channel:
        if self.tls is None:
            return grpc.insecure_channel(self.address)
        credentials, options = self.tls.channel_arguments()
        return grpc.secure_channel(self.address, credentials, options=options)

    def _connected(self) -> bool:
        # The frontend also answers UNAVAILABLE itself (a shard is moving, a
        # role behind it is down); only a channel that cannot connect means the
        # frontend is not there. After a call that reached the server the
        # channel is READY, so this returns at once.
        try:
            grpc.channel_ready_future(self._channel).result(timeout=_READY_PROBE_TIMEOUT)
        except grpc.FutureTimeoutError:
            return False
        return True

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None
            self._stub = None
