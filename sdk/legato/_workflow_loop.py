"""The deterministic asyncio event loop every workflow instance runs on.

Why a loop of our own: workflow code is ordinary ``async`` Python, so it may use
``asyncio.sleep``, ``asyncio.wait_for``, ``asyncio.gather``, ``asyncio.Event``,
``asyncio.timeout`` and tasks. All of them reduce to four loop primitives:
``call_soon``, ``call_later``/``call_at``, ``create_future``, ``create_task``.
This loop implements those deterministically:

* ``call_soon`` appends to a FIFO; ``run_until_idle`` drains it in order. There is
  no I/O selector and no wall clock, so the order of steps depends only on the
  order of events fed in.
* ``time()`` is the workflow clock: the time of the WorkflowTaskStarted event of
  the task being processed. It never moves while code runs.
* ``call_later``/``call_at`` become *durable timers*: the loop asks its
  ``TimerScheduler`` (the workflow instance) to issue a StartTimer command, and
  runs the callback only when the matching TimerFired event arrives. Cancelling
  the returned handle (``asyncio.sleep`` and ``wait_for`` do so in ``finally``)
  cancels the timer.

The loop is never "run" in the asyncio sense: ``WorkflowInstance`` calls
``run_until_idle`` synchronously inside ``running()``, which installs the loop as
the thread's running loop for the duration and restores the previous one (the
worker's own loop) afterwards. So activation is a plain synchronous call that a
worker may make from a coroutine or from a thread.

Determinism guards: everything that would reach outside the process (executors,
``asyncio.to_thread``, sockets, DNS, subprocesses, signal handlers, other
threads' callbacks) raises ``NondeterministicCallError``. ``install_guards()``
additionally wraps ``threading.Thread.start`` and ``time.sleep`` so that, *only
on a thread that is currently running workflow code*, they raise too. Reading
the wall clock (``time.time``, ``datetime.now``) and global ``random`` cannot
be blocked without breaking logging and libraries; use ``workflow.now()`` and
``workflow.random()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine, Generator, Iterator
from typing import Any, NoReturn, Protocol, TypeVar, TypeVarTuple, Unpack

from legato._workflow_types import NondeterministicCallError, ReadOnlyContextError

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")

logger = logging.getLogger("legato.workflow")

_thread_state = threading.local()


def current_workflow_loop() -> WorkflowEventLoop | None:
    """The workflow loop running on this thread, if workflow code is running."""
    loop = asyncio.events._get_running_loop()
    return loop if isinstance(loop, WorkflowEventLoop) else None


def _forbidden(what: str) -> Any:
    """A loop method that refuses: I/O, threads and executors are not replayable."""

    def refuse(self: WorkflowEventLoop, *args: Any, **kwargs: Any) -> NoReturn:
        raise NondeterministicCallError(
            f"{what} is not allowed in workflow code: it is not deterministic on replay. "
            "Do I/O, threads and blocking work in an activity."
        )

    return refuse


class TimerScheduler(Protocol):
    """What the loop needs from its owner to turn delays into durable timers."""

    def start_timer(self, handle: WorkflowTimerHandle, delay: float) -> None: ...

    def cancel_timer(self, handle: WorkflowTimerHandle) -> None: ...


class WorkflowTimerHandle(asyncio.TimerHandle):
    """A ``call_later`` handle backed by a durable timer; ``cancel()`` cancels the timer."""

    timer_id: str | None = None


class WorkflowEventLoop(asyncio.AbstractEventLoop):
    """See the module docstring."""

    def __init__(self, scheduler: TimerScheduler, clock: Callable[[], float]) -> None:
        self._ready: deque[asyncio.Handle] = deque()
        self._scheduler = scheduler
        self._clock = clock
        self._exception_handler: Any = None
        self.read_only = False
        """Set while a query runs: scheduling anything is then an error."""
        self.owner: Any = scheduler
        """The WorkflowInstance this loop belongs to (``legato.workflow`` finds it here)."""

    # ------------------------------------------------------------ running

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """Make this the thread's running loop (and mark the thread as running workflow code)."""
        previous = asyncio.events._get_running_loop()
        asyncio.events._set_running_loop(self)
        previous_flag = getattr(_thread_state, "in_workflow", False)
        _thread_state.in_workflow = True
        try:
            yield
        finally:
            _thread_state.in_workflow = previous_flag
            asyncio.events._set_running_loop(previous)

    def run_until_idle(self, on_idle: Callable[[], bool], should_stop: Callable[[], bool]) -> None:
        """Run ready callbacks in FIFO order until none are left.

        ``on_idle`` is called whenever the queue is empty; it may schedule more work
        (e.g. wake a satisfied ``wait_condition``) and returns whether it did.
        ``should_stop`` is checked after every step (the workflow has closed).
        """
        ready = self._ready
        while True:
            while ready:
                handle = ready.popleft()
                if not handle._cancelled:
                    handle._run()
                if should_stop():
                    ready.clear()
                    return
            if not on_idle():
                return

    def schedule_handle(self, handle: asyncio.Handle) -> None:
        """Queue a handle whose time has come (a fired timer)."""
        self._ready.append(handle)

    # ------------------------------------------------------------ scheduling

    def _check_writable(self) -> None:
        if self.read_only:
            raise ReadOnlyContextError("a query handler must not schedule work or change workflow state")

    def call_soon(
        self,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: contextvars.Context | None = None,
    ) -> asyncio.Handle:
        self._check_writable()
        handle = asyncio.Handle(callback, args, self, context)
        self._ready.append(handle)
        return handle

    def call_later(
        self,
        delay: float,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: contextvars.Context | None = None,
    ) -> asyncio.TimerHandle:
        self._check_writable()
        handle = WorkflowTimerHandle(self.time() + delay, callback, args, self, context)
        if delay <= 0:
            # Nothing to wait for: no timer, just run it next (deterministically).
            self._ready.append(handle)
        else:
            self._scheduler.start_timer(handle, delay)
        return handle

    def call_at(
        self,
        when: float,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: contextvars.Context | None = None,
    ) -> asyncio.TimerHandle:
        return self.call_later(when - self.time(), callback, *args, context=context)

    def _timer_handle_cancelled(self, handle: asyncio.TimerHandle) -> None:
        # Called by TimerHandle.cancel() (asyncio's own hook name).
        if isinstance(handle, WorkflowTimerHandle) and handle.timer_id is not None:
            self._scheduler.cancel_timer(handle)

    def time(self) -> float:
        return self._clock()

    def create_future(self) -> asyncio.Future[Any]:
        return asyncio.Future(loop=self)

    def create_task(  # type: ignore[override]
        self,
        coro: Coroutine[Any, Any, _T] | Generator[Any, None, _T],
        *,
        name: str | None = None,
        context: contextvars.Context | None = None,
    ) -> asyncio.Task[_T]:
        self._check_writable()
        return asyncio.Task(coro, loop=self, name=name, context=context)  # type: ignore[arg-type]

    # ------------------------------------------------------------ state

    def is_running(self) -> bool:
        return asyncio.events._get_running_loop() is self

    def is_closed(self) -> bool:
        return False

    def close(self) -> None:
        self._ready.clear()

    def get_debug(self) -> bool:
        return False

    def set_debug(self, enabled: bool) -> None:
        pass

    def get_exception_handler(self) -> Any:
        return self._exception_handler

    def set_exception_handler(self, handler: Any) -> None:
        self._exception_handler = handler

    def default_exception_handler(self, context: dict[str, Any]) -> None:
        if "task" in context and "exception" not in context:
            # "Task was destroyed but it is pending": an evicted instance being collected.
            return
        exc = context.get("exception")
        logger.error("%s", context.get("message", "unhandled error in workflow"), exc_info=exc)

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        if self._exception_handler is not None:
            self._exception_handler(self, context)
        else:
            self.default_exception_handler(context)

    async def shutdown_asyncgens(self) -> None:
        pass

    async def shutdown_default_executor(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        pass

    # ------------------------------------------------------------ forbidden

    def run_forever(self) -> None:
        raise RuntimeError("a workflow event loop is driven by its WorkflowInstance, not run")

    def run_until_complete(self, future: Any) -> Any:
        raise RuntimeError("a workflow event loop is driven by its WorkflowInstance, not run")

    def stop(self) -> None:
        pass

    def get_task_factory(self) -> None:
        return None

    def set_task_factory(self, factory: Any) -> None:
        raise NondeterministicCallError("a workflow event loop does not take a task factory")

    call_soon_threadsafe = _forbidden("call_soon_threadsafe (another thread reaching into the workflow)")
    run_in_executor = _forbidden("run_in_executor / asyncio.to_thread")
    set_default_executor = _forbidden("set_default_executor")
    getaddrinfo = _forbidden("DNS lookup (getaddrinfo)")
    getnameinfo = _forbidden("DNS lookup (getnameinfo)")
    create_connection = _forbidden("opening a network connection")
    create_server = _forbidden("starting a server")
    create_datagram_endpoint = _forbidden("opening a datagram endpoint")
    create_unix_connection = _forbidden("opening a unix socket")
    create_unix_server = _forbidden("starting a unix server")
    connect_accepted_socket = _forbidden("using a socket")
    sendfile = _forbidden("sendfile")
    start_tls = _forbidden("start_tls")
    sock_recv = sock_recv_into = sock_recvfrom = sock_recvfrom_into = _forbidden("socket I/O")
    sock_sendall = sock_sendto = sock_connect = sock_accept = sock_sendfile = _forbidden("socket I/O")
    connect_read_pipe = connect_write_pipe = _forbidden("pipes")
    subprocess_shell = subprocess_exec = _forbidden("starting a subprocess")
    add_reader = remove_reader = add_writer = remove_writer = _forbidden("watching a file descriptor")
    add_signal_handler = remove_signal_handler = _forbidden("a process signal handler")


# ---------------------------------------------------------------- process-wide guards

_guards_installed = False
_guard_lock = threading.Lock()


def in_workflow_thread() -> bool:
    """Is this thread currently running workflow code?"""
    return bool(getattr(_thread_state, "in_workflow", False))


def install_guards() -> None:
    """Make ``threading.Thread.start`` and ``time.sleep`` raise inside workflow code.

    Idempotent. Outside workflow code (every other thread, and this thread
    between activations) both behave exactly as before.
    """
    global _guards_installed
    with _guard_lock:
        if _guards_installed:
            return
        original_start = threading.Thread.start
        original_sleep = time.sleep

        def guarded_start(self: threading.Thread) -> None:
            if in_workflow_thread():
                raise NondeterministicCallError(
                    "starting a thread is not allowed in workflow code; use an activity"
                )
            original_start(self)

        def guarded_sleep(seconds: float) -> None:
            if in_workflow_thread():
                raise NondeterministicCallError(
                    "time.sleep blocks the workflow and is not durable; use `await workflow.sleep(...)`"
                )
            original_sleep(seconds)

        threading.Thread.start = guarded_start  # type: ignore[method-assign]
        time.sleep = guarded_sleep  # type: ignore[assignment]
        _guards_installed = True
