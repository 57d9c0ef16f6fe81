"""What activity code uses: the ``@activity.defn`` decorator and the running activity's context.

An activity is an ordinary function, ``async def`` (runs on the worker's event
loop) or plain ``def`` (runs in the worker's executor thread pool). Inside it,
the functions of this module reach the attempt being executed through a
context variable, so they work from either kind:

* ``info()``: who and what this attempt is (ids, attempt number, deadlines).
* ``heartbeat(*details)``: tell the server the activity is alive and record
  progress. Calls are throttled (at most one RPC every 0.8 x heartbeat timeout,
  30s without one) and always send the *latest* details. A new attempt after a
  failure reads them back with ``heartbeat_details()``.
* Cancellation arrives through heartbeats: when the server answers that the
  workflow asked to cancel, an ``async`` activity gets ``asyncio.CancelledError``
  at its current ``await``; a sync activity sees ``is_cancelled()`` turn true
  and its next ``heartbeat()`` raises ``legato.exceptions.CancelledError``.
  An activity that never heartbeats is never told.
* ``raise_complete_async()``: end the function without answering; the attempt
  stays open until another process completes, fails or heartbeats it through
  ``Client.get_async_activity_handle`` (by ``info().task_token`` or by ids).
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import inspect
import logging
import threading
import typing
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from datetime import datetime, timedelta
from typing import Any, NoReturn, TypeVar, overload

from legato.converter import PayloadConverter
from legato.exceptions import CancelledError

__all__ = [
    "ActivityDefinition",
    "CompleteAsyncError",
    "Info",
    "defn",
    "heartbeat",
    "heartbeat_details",
    "in_activity",
    "info",
    "is_cancelled",
    "logger",
    "payload_converter",
    "raise_complete_async",
    "wait_for_cancelled",
    "wait_for_cancelled_sync",
]

CallableT = TypeVar("CallableT", bound=Callable[..., Any])


@dataclasses.dataclass(frozen=True)
class ActivityDefinition:
    """What ``@activity.defn`` records on the function (``fn.__legato_activity_definition__``)."""

    name: str
    """The activity type name workflows schedule it by."""
    fn: Callable[..., Any]
    is_async: bool
    """True for ``async def`` (runs on the event loop), False for a sync function (runs in the executor)."""
    arg_types: tuple[Any, ...]
    """Type hints of the positional parameters, used to decode the arguments."""
    return_type: Any
    """Type hint of the result (``None`` if not annotated)."""

    @staticmethod
    def from_fn(fn: Callable[..., Any], name: str | None = None) -> ActivityDefinition:
        if not callable(fn):
            raise TypeError(f"@activity.defn needs a function, got {type(fn).__name__}")
        target = fn.__call__ if not inspect.isfunction(fn) and not inspect.ismethod(fn) else fn  # type: ignore[operator]
        try:
            hints = typing.get_type_hints(target)
        except Exception:  # unresolvable forward references: decode without hints
            hints = {}
        params = [
            p
            for p in inspect.signature(target).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
        ]
        arg_types = tuple(hints.get(p.name) for p in params if p.kind != p.VAR_POSITIONAL)
        return ActivityDefinition(
            name=name or getattr(fn, "__name__", None) or type(fn).__name__,
            fn=fn,
            is_async=inspect.iscoroutinefunction(target),
            arg_types=arg_types,
            return_type=hints.get("return"),
        )

    @staticmethod
    def of(fn: Callable[..., Any]) -> ActivityDefinition:
        """The definition of a decorated activity; ``TypeError`` if it is not one."""
        defn_ = getattr(fn, "__legato_activity_definition__", None)
        if not isinstance(defn_, ActivityDefinition):
            raise TypeError(
                f"{getattr(fn, '__qualname__', fn)!r} is not an activity: decorate it with @activity.defn"
            )
        return defn_


@overload
def defn(fn: CallableT, /) -> CallableT: ...


@overload
def defn(*, name: str | None = None) -> Callable[[CallableT], CallableT]: ...


def defn(fn: Any = None, /, *, name: str | None = None) -> Any:
    """Mark a function as an activity: ``@activity.defn`` or ``@activity.defn(name="Charge")``.

    The function itself is returned unchanged (it stays callable in unit tests).
    """

    def decorate(f: CallableT) -> CallableT:
        f.__legato_activity_definition__ = ActivityDefinition.from_fn(f, name)  # type: ignore[attr-defined]
        return f

    if fn is not None:
        return decorate(fn)
    return decorate


@dataclasses.dataclass(frozen=True)
class Info:
    """The activity attempt being executed."""

    activity_id: str
    activity_type: str
    attempt: int
    """1 for the first attempt."""
    task_queue: str
    task_token: bytes
    workflow_namespace: str
    workflow_id: str
    workflow_run_id: str
    workflow_type: str
    heartbeat_details: Sequence[Any]
    """Raw payloads of the last heartbeat of an earlier attempt; see ``heartbeat_details()``."""
    heartbeat_timeout: timedelta | None
    schedule_to_close_timeout: timedelta | None
    start_to_close_timeout: timedelta | None
    scheduled_time: datetime | None
    """When the first attempt was scheduled."""
    current_attempt_scheduled_time: datetime | None
    started_time: datetime | None
    """When this attempt started (server clock)."""
    deadline: datetime | None
    """When the server times this attempt out (the earlier of start-to-close and schedule-to-close)."""


class _ActivityContext:
    """Per-attempt state the module functions reach; created and owned by the worker."""

    def __init__(
        self,
        *,
        info: Info,
        is_async: bool,
        loop: asyncio.AbstractEventLoop,
        payload_converter: PayloadConverter,
        record_heartbeat: Callable[[Sequence[Any]], None],
    ) -> None:
        self.info = info
        self.is_async = is_async
        self.loop = loop
        self.payload_converter = payload_converter
        self._record_heartbeat = record_heartbeat
        self._loop_thread = threading.get_ident()  # contexts are created on the loop's thread
        self.cancel_reason: str | None = None
        self._cancelled_thread_event = threading.Event()
        self._cancelled_async_event = asyncio.Event()
        self.logger = _ActivityLoggerAdapter(logging.getLogger("legato.activity"), info)

    def heartbeat(self, details: Sequence[Any]) -> None:
        if threading.get_ident() == self._loop_thread:
            self._record_heartbeat(details)
        else:
            self.loop.call_soon_threadsafe(self._record_heartbeat, details)
        if not self.is_async and self.cancelled:
            raise CancelledError(f"activity cancelled: {self.cancel_reason}")

    @property
    def cancelled(self) -> bool:
        return self._cancelled_thread_event.is_set()

    def mark_cancelled(self, reason: str) -> None:
        """Called on the loop thread by the worker; idempotent (the first reason wins)."""
        if self.cancel_reason is None:
            self.cancel_reason = reason
        self._cancelled_thread_event.set()
        self._cancelled_async_event.set()

    async def wait_cancelled(self) -> None:
        await self._cancelled_async_event.wait()

    def wait_cancelled_sync(self, timeout: float | None) -> bool:
        return self._cancelled_thread_event.wait(timeout)


_current: contextvars.ContextVar[_ActivityContext] = contextvars.ContextVar("legato_activity_context")


def _context() -> _ActivityContext:
    ctx = _current.get(None)
    if ctx is None:
        raise RuntimeError(
            "not in an activity: legato.activity functions only work inside a running activity"
        )
    return ctx


def in_activity() -> bool:
    """True inside an activity run by a Legato worker."""
    return _current.get(None) is not None


def info() -> Info:
    """The attempt being executed."""
    return _context().info


def heartbeat(*details: Any) -> None:
    """Report liveness and progress; the latest details survive into the next attempt.

    Cheap to call often: the worker sends at most one RPC per throttle interval.
    In a sync activity, raises ``legato.exceptions.CancelledError`` once the
    activity was cancelled.
    """
    _context().heartbeat(details)


def heartbeat_details(*type_hints: Any) -> list[Any]:
    """The details of the last heartbeat of the previous attempt (``[]`` on a first attempt).

    ``type_hints`` (one per detail) rebuild dataclasses and other typed values.
    """
    ctx = _context()
    return [
        ctx.payload_converter.from_payload(p, type_hints[i] if i < len(type_hints) else None)
        for i, p in enumerate(ctx.info.heartbeat_details)
    ]


def is_cancelled() -> bool:
    """True once cancellation was requested (by the workflow, the local deadline or worker shutdown)."""
    return _context().cancelled


async def wait_for_cancelled() -> None:
    """Return once cancellation was requested (async activities)."""
    await _context().wait_cancelled()


def wait_for_cancelled_sync(timeout: float | None = None) -> bool:
    """Block until cancellation was requested or ``timeout`` passed; True if cancelled (sync activities)."""
    return _context().wait_cancelled_sync(timeout)


class CompleteAsyncError(BaseException):
    """Raised by ``raise_complete_async``: the worker leaves the attempt open instead of answering it.

    A BaseException so that ``except Exception`` in the activity does not swallow it.
    """


def raise_complete_async() -> NoReturn:
    """End this attempt without completing it; complete it later with ``Client.get_async_activity_handle``.

    Pass ``info().task_token`` (or the workflow and activity ids) to the process
    that will answer. Until then the activity's timeouts keep running: set a
    ``start_to_close_timeout`` long enough, or heartbeat through the handle.
    """
    _context()
    raise CompleteAsyncError()


def payload_converter() -> PayloadConverter:
    """The payload converter of the worker running this activity."""
    return _context().payload_converter


class _ActivityLoggerAdapter(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Prefixes records with the attempt's identity and adds it as ``record.legato_activity``."""

    def __init__(self, base: logging.Logger, info: Info | None) -> None:
        super().__init__(base, {})
        self._info = info

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        info_ = self._info
        if info_ is None:
            ctx = _current.get(None)
            info_ = ctx.info if ctx is not None else None
        if info_ is None:
            return msg, kwargs
        extra: Mapping[str, Any] = {
            "activity_id": info_.activity_id,
            "activity_type": info_.activity_type,
            "attempt": info_.attempt,
            "workflow_id": info_.workflow_id,
            "workflow_run_id": info_.workflow_run_id,
        }
        kwargs.setdefault("extra", {})["legato_activity"] = extra
        return (
            f"{msg} (activity {info_.activity_type} id={info_.activity_id} attempt={info_.attempt} "
            f"workflow={info_.workflow_id})",
            kwargs,
        )


logger = _ActivityLoggerAdapter(logging.getLogger("legato.activity"), None)
"""A logger that adds the current activity's identity to every record."""
