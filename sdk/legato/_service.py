"""The SDK's one connection to the frontend: a gRPC channel, retries and typed errors.

Everything the client and the worker send goes through ``ServiceClient.call``.
It guarantees three things:

* **Transient failures are retried, bounded.** ``UNAVAILABLE`` (a shard is
  moving, the server is restarting), ``RESOURCE_EXHAUSTED`` (rate limits) and
  ``ABORTED`` are retried with exponential backoff and full jitter, up to
  ``RPCRetryConfig.max_attempts`` attempts and ``max_elapsed`` seconds.
  ``DEADLINE_EXCEEDED`` is retried too, except on long-poll calls: there it is
  the normal "nothing happened in time" answer and goes back to the caller.
* **Everything else is a typed error.** A failed call raises
  ``legato.exceptions.RPCError`` carrying the ``grpc.StatusCode``; callers that
  know more (start -> ``WorkflowAlreadyStartedError``) translate further.
* **No grpc types leak upwards** except the status code on the error.
* **A failed TLS handshake is not retried.** A certificate the client does not
  trust (or a name it does not match) will not fix itself within a retry
  budget, so it raises ``TLSError`` at once with what to check
  (``tls_failure_hint``) instead of waiting out the retries. A server that
  closes the connection during the handshake (it wants a client certificate,
  or TLS from a plaintext client) looks like any dropped connection to gRPC,
  so that stays retried; its final error carries a hint.

The stub is injected, so tests drive the retry logic with a fake stub and a
fake sleep instead of a server and the clock.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
from opentelemetry import propagate, trace

from legato.api.v1 import workflow_service_pb2_grpc
from legato.exceptions import RPCError, TLSError

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.ABORTED}
)

RUN_ID_METADATA = "legato-run-id"
"""Trailing metadata the server sends with ALREADY_EXISTS: the run that holds the workflow id."""

DEFAULT_RPC_TIMEOUT = 10.0
"""Deadline of an ordinary (non long-poll) call, in seconds."""

LONG_POLL_TIMEOUT = 70.0
"""Deadline of a long-poll call: longer than the server's own poll expiry (60s)."""


@dataclass(frozen=True)
class RPCRetryConfig:
    """How transient RPC failures are retried."""

    initial_interval: float = 0.1
    """Delay before the first retry, in seconds."""
    multiplier: float = 2.0
    """Each retry's upper bound is this many times the previous one."""
    max_interval: float = 5.0
    """Upper bound of a single delay, in seconds."""
    max_attempts: int = 10
    """Total attempts including the first; 1 disables retries."""
    max_elapsed: float = 60.0
    """Stop retrying once this many seconds passed since the first attempt."""

    def backoff(self, retry_number: int, rng: random.Random | None = None) -> float:
        """Delay before retry ``retry_number`` (1-based): full jitter under an exponential cap."""
        cap = min(self.max_interval, self.initial_interval * self.multiplier ** (retry_number - 1))
        # Half fixed, half random: never a zero delay, yet callers that failed
        # together do not come back together.
        return cap / 2 + (rng or random).uniform(0, cap / 2)


@dataclass(frozen=True)
class TLSConfig:
    """TLS for the connection; unset fields use gRPC's defaults (system roots)."""

    server_root_ca_cert: bytes | None = None
    """PEM root certificates that sign the server's certificate."""
    client_cert: bytes | None = None
    """PEM client certificate chain, for mutual TLS."""
    client_private_key: bytes | None = None
    """PEM private key of ``client_cert``."""
    domain: str | None = None
    """Server name to verify instead of the host of the address (and to send as SNI)."""

    @classmethod
    def from_files(
        cls,
        *,
        ca_file: str | os.PathLike[str] | None = None,
        cert_file: str | os.PathLike[str] | None = None,
        key_file: str | os.PathLike[str] | None = None,
        domain: str | None = None,
    ) -> TLSConfig:
        """A TLSConfig from PEM files; ValueError names a file that cannot be read."""
        if (cert_file is None) != (key_file is None):
            raise ValueError("a TLS client certificate needs both a certificate file and a key file")
        return cls(
            server_root_ca_cert=_read_pem(ca_file, "CA"),
            client_cert=_read_pem(cert_file, "client certificate"),
            client_private_key=_read_pem(key_file, "client key"),
            domain=domain or None,
        )

    def channel_arguments(self) -> tuple[grpc.ChannelCredentials, list[tuple[str, Any]]]:
        """The credentials and channel options that make a gRPC channel (asyncio or not) use this TLS."""
        credentials = grpc.ssl_channel_credentials(
            root_certificates=self.server_root_ca_cert,
            private_key=self.client_private_key,
            certificate_chain=self.client_cert,
        )
        options = [("grpc.ssl_target_name_override", self.domain)] if self.domain else []
        return credentials, options


def _read_pem(path: str | os.PathLike[str] | None, what: str) -> bytes | None:
    if path is None or str(path) == "":
        return None
    try:
        return Path(path).expanduser().read_bytes()
    except OSError as err:
        raise ValueError(f"cannot read the TLS {what} file {path}: {err.strerror or err}") from None


def tls_failure_hint(details: str) -> str | None:
    """What to check when a call failed in a TLS handshake; None if ``details`` shows no such failure.

    gRPC reports these as UNAVAILABLE with the OpenSSL reason in the text.
    """
    if "WRONG_VERSION_NUMBER" in details:
        return "the server does not speak TLS (connect without TLS, or check the address)"
    if "Hostname Verification" in details or "No match found for server name" in details:
        return "the server's certificate does not name the host dialed; set the server name to a name in it"
    if "CERTIFICATE_VERIFY_FAILED" in details:
        return "the server's certificate is not signed by a trusted CA; pass the CA that signed it"
    if (
        "certificate" in details.lower()
        or "Tls handshake failed" in details
        or "Ssl handshake failed" in details
    ):
        return "the TLS handshake failed; check the CA, the client certificate and the server name"
    return None


def closed_connection_hint(details: str) -> str | None:
    """A hint for a connection the server closed before any call: often TLS trouble, not a dead server."""
    if "Socket closed" in details and "failed to connect" in details:
        return (
            "the server closed the connection before any call: it may want TLS, "
            "or a client certificate signed by its client CA"
        )
    return None


def create_channel(address: str, *, tls: bool | TLSConfig = False) -> grpc.aio.Channel:
    options: list[tuple[str, Any]] = [
        ("grpc.max_receive_message_length", 128 * 1024 * 1024),
        ("grpc.max_send_message_length", 128 * 1024 * 1024),
        ("grpc.keepalive_time_ms", 30_000),
        ("grpc.keepalive_permit_without_calls", 1),
    ]
    if tls is False:
        return grpc.aio.insecure_channel(address, options=options)
    config = tls if isinstance(tls, TLSConfig) else TLSConfig()
    credentials, tls_options = config.channel_arguments()
    return grpc.aio.secure_channel(address, credentials, options=options + tls_options)


def _trace_metadata() -> tuple[tuple[str, str], ...]:
    """The current span's W3C trace context as gRPC metadata; empty when no span is active.

    The server makes its spans children of the caller's span from this (the
    persisted ``_tracer-data`` header serves the workers, which run later).
    Without an active, valid span (tracing not set up) this is one context
    lookup and no allocation.
    """
    if not trace.get_current_span().get_span_context().is_valid:
        return ()
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return tuple(carrier.items())


class ServiceClient:
    """Calls ``WorkflowService`` RPCs by name, with retries and error mapping."""

    def __init__(
        self,
        stub: Any,
        *,
        retry: RPCRetryConfig | None = None,
        metadata: Mapping[str, str] | None = None,
        channel: grpc.aio.Channel | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._stub = stub
        self._channel = channel
        self.retry = retry or RPCRetryConfig()
        self._metadata = tuple((metadata or {}).items())
        self._sleep = sleep
        self._clock = clock

    @classmethod
    def connect(
        cls,
        address: str,
        *,
        tls: bool | TLSConfig = False,
        retry: RPCRetryConfig | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ServiceClient:
        channel = create_channel(address, tls=tls)
        return cls(
            workflow_service_pb2_grpc.WorkflowServiceStub(channel),
            retry=retry,
            metadata=metadata,
            channel=channel,
        )

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    async def call(
        self,
        rpc: str,
        request: Any,
        *,
        deadline: float | None = None,
        long_poll: bool = False,
        waits_for_worker: bool = False,
        retry: bool = True,
    ) -> Any:
        """Invoke ``rpc`` with ``request``; returns the response message.

        ``deadline`` (seconds) defaults to ``DEFAULT_RPC_TIMEOUT`` (``LONG_POLL_TIMEOUT`` for
        long polls). Raises ``RPCError`` once retries are exhausted or on a
        non-retryable status. With ``waits_for_worker`` (a query: the server
        holds the call until a worker answers) DEADLINE_EXCEEDED is not
        retried: it means no worker answered in time, and asking again would
        only make the caller wait that long once more.
        """
        method = getattr(self._stub, rpc)
        if deadline is None:
            deadline = LONG_POLL_TIMEOUT if long_poll else DEFAULT_RPC_TIMEOUT
        started = self._now()
        attempt = 0
        while True:
            attempt += 1
            try:
                return await method(request, timeout=deadline, metadata=self._metadata + _trace_metadata())
            except grpc.aio.AioRpcError as err:
                status = err.code()
                details = err.details() or ""
                hint = tls_failure_hint(details) if status == grpc.StatusCode.UNAVAILABLE else None
                if hint is not None:
                    raise TLSError(f"{rpc}: {hint} ({details})", status=status, details=details) from None
                retryable = status in RETRYABLE_STATUSES or (
                    status == grpc.StatusCode.DEADLINE_EXCEEDED and not long_poll and not waits_for_worker
                )
                delay = self.retry.backoff(attempt)
                out_of_budget = (
                    attempt >= self.retry.max_attempts
                    or self._now() - started + delay > self.retry.max_elapsed
                )
                if not retry or not retryable or out_of_budget:
                    hint = closed_connection_hint(details) if status == grpc.StatusCode.UNAVAILABLE else None
                    raise RPCError(
                        f"{rpc}: {details or status.name}" + (f" ({hint})" if hint else ""),
                        status=status,
                        details=err.details() or "",
                        metadata={key: str(value) for key, value in err.trailing_metadata() or ()},
                    ) from None
                log.debug(
                    "%s failed with %s (attempt %d); retrying in %.2fs", rpc, status.name, attempt, delay
                )
                await self._sleep(delay)
