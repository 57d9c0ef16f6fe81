"""A role's handler, measured: every RPC counted and timed by method and status code.

``instrument_handler`` wraps each RPC method of a handler object in place
(an instance attribute shadows the class's method), once, at assembly. The
same object is what the gRPC servicer forwards to and what in-process callers
hold (``common.rpc``), so an RPC is counted once at the role that answers it,
whether it came over the network (cluster mode) or from a role in the same
process (start-dev): the counts mean the same thing in both.

The status code is the one the caller sees: ``ServiceError.code`` for typed
errors, CANCELLED when the caller went away, INTERNAL for anything else (which
``servicer_for`` turns into INTERNAL too).

While JSON logs are on (``log_context.enabled``) the wrapper also sets the
request's namespace, workflow id and run id as the log context of the call.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from google.protobuf import descriptor as _descriptor

from legato_server.common import log_context
from legato_server.common.errors import ServiceError
from legato_server.common.metrics import RPC_LATENCY, RPC_REQUESTS, Labelled

_requests = Labelled(RPC_REQUESTS)
_latencies = Labelled(RPC_LATENCY)


def instrument_handler(
    handler: object,
    *,
    service: _descriptor.ServiceDescriptor,
    role: str,
    token_fields: log_context.TokenFields | None = None,
) -> None:
    """Count and time every RPC of ``service`` that ``handler`` answers (idempotent).

    ``token_fields`` reads the run out of a task token, for the log fields of a worker's answer.
    """
    if getattr(handler, "_legato_instrumented", False):
        return
    for method in service.methods:
        target = getattr(handler, method.name, None)
        if target is not None:
            setattr(
                handler,
                method.name,
                _measured(target, role=role, method=method.name, token_fields=token_fields),
            )
    handler._legato_instrumented = True  # type: ignore[attr-defined]


def _code_of(err: BaseException) -> str:
    if isinstance(err, ServiceError):
        return err.code.name
    if isinstance(err, asyncio.CancelledError):
        return grpc.StatusCode.CANCELLED.name
    return grpc.StatusCode.INTERNAL.name


def _measured(
    call: Callable[[Any], Awaitable[Any]],
    *,
    role: str,
    method: str,
    token_fields: log_context.TokenFields | None,
) -> Callable[[Any], Awaitable[Any]]:
    # Series appear on a method's first call, not at start: a role has ~60 methods and a
    # histogram of zeros for each unused one would triple every scrape.
    ok_code = grpc.StatusCode.OK.name

    @functools.wraps(call)
    async def measured(request: Any) -> Any:
        token = None
        if log_context.enabled:
            fields = log_context.fields_of_request(request, token_fields=token_fields)
            if fields is not None:
                token = log_context.current.set(fields)
        started = time.perf_counter()
        try:
            response = await call(request)
        except BaseException as err:
            _latencies(role, method).observe(time.perf_counter() - started)
            _requests(role, method, _code_of(err)).inc()
            raise
        finally:
            if token is not None:
                log_context.current.reset(token)
        _latencies(role, method).observe(time.perf_counter() - started)
        _requests(role, method, ok_code).inc()
        return response

    return measured
