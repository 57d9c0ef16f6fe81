"""One client interface for every role, in-process or over gRPC.

A role's *handler* is an object with one ``async def Method(self, request)``
per RPC of its service, taking and returning the proto messages and raising
``common.errors.ServiceError`` subclasses. Other roles call it through the same
shape whether it lives in this process (they hold the handler itself) or on
another host (they hold a ``GrpcClient`` over a channel). ``servicer_for``
exposes a handler on a grpc.aio server, mapping typed errors to statuses.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from google.protobuf import descriptor as _descriptor
from opentelemetry import propagate

from legato_server.common.deadline import remaining_s
from legato_server.common.errors import (
    ORIGIN_TRAILER,
    PeerUnreachable,
    ServiceError,
    Unavailable,
    error_from_status,
)

log = logging.getLogger(__name__)


def _method_names(service: _descriptor.ServiceDescriptor) -> list[str]:
    return [m.name for m in service.methods]


def servicer_for(handler: object, service: _descriptor.ServiceDescriptor) -> object:
    """A grpc servicer object that forwards each RPC of ``service`` to ``handler``."""

    def bind(name: str) -> Callable[..., Awaitable[Any]]:
        target = getattr(handler, name)

        async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
            try:
                return await target(request)
            except ServiceError as err:
                context.set_trailing_metadata(((ORIGIN_TRAILER, "legato"), *err.trailers()))
                await context.abort(err.code, err.message)
            except Exception:
                log.exception("unhandled error in %s.%s", service.name, name)
                context.set_trailing_metadata(((ORIGIN_TRAILER, "legato"),))
                await context.abort(grpc.StatusCode.INTERNAL, f"internal error in {name}; see server log")

        call.__name__ = name
        return call

    servicer = type(f"{service.name}Servicer", (), {})()
    for name in _method_names(service):
        setattr(servicer, name, bind(name))
    return servicer


class GrpcClient:
    """Calls a remote role's handler through a gRPC stub, raising the same typed errors.

    Each call carries the caller's deadline (what is left of it, so a chain of
    hops never outlives the original call) and the current W3C trace context
    in its metadata, so the peer's spans join the caller's trace.
    """

    def __init__(
        self, stub: object, service: _descriptor.ServiceDescriptor, *, timeout_s: float = 30.0
    ) -> None:
        self._stub = stub
        self._timeout_s = timeout_s
        for name in _method_names(service):
            setattr(self, name, self._bind(name))

    def _bind(self, name: str) -> Callable[..., Awaitable[Any]]:
        rpc = getattr(self._stub, name)

        async def call(request: Any, *, timeout: float | None = None) -> Any:  # noqa: ASYNC109 - a gRPC deadline
            if timeout is None:
                left = remaining_s()
                timeout = self._timeout_s if left is None else max(left, 0.001)
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            try:
                return await rpc(request, timeout=timeout, metadata=tuple(carrier.items()))
            except grpc.aio.AioRpcError as err:
                trailers = tuple(err.trailing_metadata() or ())
                raise error_from_status(err.code(), err.details() or "", trailers) from err
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is None or current.cancelling():
                    raise  # this caller is being cancelled
                # Nobody cancelled us: the channel was closed under the call (the peer left
                # the membership). Left as CancelledError it would end a retry loop silently.
                raise Unavailable(
                    f"{name}: the connection to the peer closed mid-call (it left the membership); "
                    "the outcome is unknown; retry"
                ) from None
            except grpc.aio.UsageError as err:
                raise PeerUnreachable(
                    f"{name}: the connection to the peer is closed (it left the membership); retry"
                ) from err

        call.__name__ = name
        return call
