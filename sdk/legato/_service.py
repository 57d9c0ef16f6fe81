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

The stub is injected, so tests drive the retry logic with a fake stub and a
fake sleep instead of a server and the clock.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio

from legato.api.v1 import workflow_service_pb2_grpc
from legato.exceptions import RPCError

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
    """Server name to verify instead of the host of the address."""


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
    if config.domain:
        options.append(("grpc.ssl_target_name_override", config.domain))
    credentials = grpc.ssl_channel_credentials(
        root_certificates=config.server_root_ca_cert,
        private_key=config.client_private_key,
        certificate_chain=config.client_cert,
    )
    return grpc.aio.secure_channel(address, credentials, options=options)


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
                return await method(request, timeout=deadline, metadata=self._metadata)
            except grpc.aio.AioRpcError as err:
                status = err.code()
                retryable = status in RETRYABLE_STATUSES or (
                    status == grpc.StatusCode.DEADLINE_EXCEEDED and not long_poll and not waits_for_worker
                )
                delay = self.retry.backoff(attempt)
                out_of_budget = (
                    attempt >= self.retry.max_attempts
                    or self._now() - started + delay > self.retry.max_elapsed
                )
                if not retry or not retryable or out_of_budget:
                    raise RPCError(
                        f"{rpc}: {err.details() or status.name}",
                        status=status,
                        details=err.details() or "",
                        metadata={key: str(value) for key, value in err.trailing_metadata() or ()},
                    ) from None
                log.debug(
                    "%s failed with %s (attempt %d); retrying in %.2fs", rpc, status.name, attempt, delay
                )
                await self._sleep(delay)
