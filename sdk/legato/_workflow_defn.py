"""``@workflow.defn`` and friends: turning a user class into a ``WorkflowDefinition``.

The decorators on methods (``@workflow.run``, ``@workflow.signal``,
``@workflow.query``, ``@workflow.update`` and its ``.validator``,
``@workflow.init``) only tag the function; ``@workflow.defn``
walks the class (and its bases, so handlers can be inherited) and builds one
immutable ``WorkflowDefinition`` stored as ``cls.__legato_workflow_definition__``.
Everything the runtime needs later (names, handlers, type hints for decoding
payloads) is computed here once, at import time, so mistakes such as a sync run
method or two run methods fail at import rather than on the first task.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ParamSpec, Protocol, TypeVar, overload

from legato.exceptions import FailureError

_ClassT = TypeVar("_ClassT", bound=type)
_FnT = TypeVar("_FnT", bound=Callable[..., Any])

_RUN_ATTR = "__legato_workflow_run__"
_SIGNAL_ATTR = "__legato_workflow_signal__"
_QUERY_ATTR = "__legato_workflow_query__"
_UPDATE_ATTR = "__legato_workflow_update__"
_VALIDATOR_ATTR = "__legato_update_validator__"
_INIT_ATTR = "__legato_workflow_init__"
DEFINITION_ATTR = "__legato_workflow_definition__"
WORKFLOW_NAME_ATTR = "__legato_workflow_name__"


@functools.lru_cache(maxsize=4096)
def _hints(fn: Callable[..., Any]) -> tuple[list[Any], Any]:
    """(positional parameter hints without self, return hint) of fn; ``None`` where unknown."""
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # unresolvable forward references: decode as plain JSON
        hints = {}
    params = [
        p
        for p in inspect.signature(fn).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
    ]
    if params and params[0].name == "self":
        params = params[1:]
    arg_hints: list[Any] = []
    for p in params:
        if p.kind is p.VAR_POSITIONAL:
            break
        arg_hints.append(hints.get(p.name))
    return arg_hints, hints.get("return")


def arg_hints(fn: Callable[..., Any]) -> list[Any]:
    return _hints(fn)[0]


def return_hint(fn: Callable[..., Any]) -> Any:
    return _hints(fn)[1]


@dataclass(frozen=True)
class SignalDefinition:
    name: str
    fn: Callable[..., Any]
    arg_types: list[Any]
    is_async: bool


@dataclass(frozen=True)
class QueryDefinition:
    name: str
    fn: Callable[..., Any]
    arg_types: list[Any]
    return_type: Any


@dataclass(frozen=True)
class UpdateDefinition:
    name: str
    fn: Callable[..., Any]
    arg_types: list[Any]
    return_type: Any
    validator: Callable[..., Any] | None
    """Sync, read-only; raising rejects the update before anything is recorded."""


@dataclass(frozen=True)
class WorkflowDefinition:
    """Everything the runtime needs to know about a workflow class."""

    name: str
    cls: type
    run_fn: Callable[..., Any]
    """The unbound ``@workflow.run`` method."""
    arg_types: list[Any]
    return_type: Any
    signals: dict[str, SignalDefinition] = field(default_factory=dict)
    queries: dict[str, QueryDefinition] = field(default_factory=dict)
    updates: dict[str, UpdateDefinition] = field(default_factory=dict)
    init_takes_args: bool = False
    """``__init__`` takes the same arguments as the run method."""
    failure_exception_types: tuple[type[BaseException], ...] = ()
    """Exceptions that fail the workflow (besides ``FailureError``s); others fail the task."""

    def is_failure_exception(self, error: BaseException) -> bool:
        return isinstance(error, (FailureError, *self.failure_exception_types))


def get_workflow_definition(cls: Any) -> WorkflowDefinition:
    """The definition ``@workflow.defn`` attached to cls; ``TypeError`` if there is none."""
    defn = cls.__dict__.get(DEFINITION_ATTR) if isinstance(cls, type) else None
    if not isinstance(defn, WorkflowDefinition):
        name = getattr(cls, "__qualname__", repr(cls))
        raise TypeError(f"{name} is not a workflow: decorate the class with @workflow.defn")
    return defn


# ---------------------------------------------------------------- method decorators


def run(fn: _FnT) -> _FnT:
    """Mark the ``async def`` method that runs the workflow (exactly one per workflow)."""
    if not inspect.iscoroutinefunction(fn):
        raise TypeError(f"@workflow.run method {fn.__qualname__} must be `async def`")
    setattr(fn, _RUN_ATTR, True)
    return fn


def init(fn: _FnT) -> _FnT:
    """Mark ``__init__`` as taking the run method's arguments (also detected without it)."""
    if fn.__name__ != "__init__":
        raise TypeError("@workflow.init can only decorate __init__")
    setattr(fn, _INIT_ATTR, True)
    return fn


@overload
def signal(fn: _FnT, /) -> _FnT: ...
@overload
def signal(*, name: str | None = None) -> Callable[[_FnT], _FnT]: ...
def signal(fn: Any = None, /, *, name: str | None = None) -> Any:
    """Mark a signal handler (sync or async). Default signal name: the method name."""

    def mark(f: _FnT) -> _FnT:
        setattr(f, _SIGNAL_ATTR, name or f.__name__)
        return f

    return mark(fn) if fn is not None else mark


@overload
def query(fn: _FnT, /) -> _FnT: ...
@overload
def query(*, name: str | None = None) -> Callable[[_FnT], _FnT]: ...
def query(fn: Any = None, /, *, name: str | None = None) -> Any:
    """Mark a query handler: a sync, read-only method. Default query name: the method name."""

    def mark(f: _FnT) -> _FnT:
        if inspect.iscoroutinefunction(f):
            raise TypeError(
                f"@workflow.query method {f.__qualname__} must not be async: queries are read-only"
            )
        setattr(f, _QUERY_ATTR, name or f.__name__)
        return f

    return mark(fn) if fn is not None else mark


_P = ParamSpec("_P")
_R = TypeVar("_R", covariant=True)


class UpdateMethod(Protocol[_P, _R]):
    """What ``@workflow.update`` makes of a method: still the method, plus ``.validator``.

    Only for type checkers: at run time the decorated function itself is
    returned, with a ``validator`` attribute.
    """

    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> _R: ...

    def validator(self, fn: Callable[_P, None], /) -> Callable[_P, None]: ...


@overload
def update(fn: Callable[_P, _R], /) -> UpdateMethod[_P, _R]: ...
@overload
def update(*, name: str | None = None) -> Callable[[Callable[_P, _R]], UpdateMethod[_P, _R]]: ...
def update(fn: Any = None, /, *, name: str | None = None) -> Any:
    """Mark an update handler (sync or async; async ones may run activities and wait).

    Default update name: the method name. ``@<method>.validator`` marks a sync
    method with the same parameters that runs first, read-only, on the
    workflow's current state; if it raises, the update is rejected and history
    keeps no trace of it.
    """

    def mark(f: Any) -> Any:
        setattr(f, _UPDATE_ATTR, name or f.__name__)

        def validator(check: Callable[..., None], /) -> Callable[..., None]:
            if inspect.iscoroutinefunction(check):
                raise TypeError(
                    f"update validator {check.__qualname__} must not be async: validators are read-only"
                )
            setattr(f, _VALIDATOR_ATTR, check)
            return check

        f.validator = validator
        return f

    return mark(fn) if fn is not None else mark


# ---------------------------------------------------------------- class decorator


@overload
def defn(cls: _ClassT, /) -> _ClassT: ...
@overload
def defn(
    *, name: str | None = None, failure_exception_types: Sequence[type[BaseException]] = ()
) -> Callable[[_ClassT], _ClassT]: ...
def defn(
    cls: Any = None,
    /,
    *,
    name: str | None = None,
    failure_exception_types: Sequence[type[BaseException]] = (),
) -> Any:
    """Declare a workflow class. ``name`` defaults to the class name.

    ``failure_exception_types``: exception types that, raised from the workflow,
    fail the workflow execution. ``FailureError``s (``ApplicationError``,
    ``ActivityError``, ...) always do; any other exception fails only the
    workflow *task*, which the server retries, so a fixed deploy can continue.
    """

    def build(c: _ClassT) -> _ClassT:
        definition = _build_definition(c, name or c.__name__, tuple(failure_exception_types))
        setattr(c, DEFINITION_ATTR, definition)
        if vars(c).get(definition.run_fn.__name__) is definition.run_fn:
            # Lets `execute_child_workflow(MyWorkflow.run, ...)` find the workflow's name.
            setattr(definition.run_fn, WORKFLOW_NAME_ATTR, definition.name)
        return c

    return build(cls) if cls is not None else build


def _build_definition(
    cls: type, name: str, failure_exception_types: tuple[type[BaseException], ...]
) -> WorkflowDefinition:
    run_fn: Callable[..., Any] | None = None
    signals: dict[str, SignalDefinition] = {}
    queries: dict[str, QueryDefinition] = {}
    updates: dict[str, UpdateDefinition] = {}
    seen: set[str] = set()
    # Most-derived first, so an override in a subclass wins.
    for klass in cls.__mro__:
        for attr, member in vars(klass).items():
            if attr in seen or not callable(member):
                continue
            seen.add(attr)
            if getattr(member, _RUN_ATTR, False):
                if run_fn is not None and klass is cls:
                    raise TypeError(f"workflow {cls.__qualname__} has more than one @workflow.run method")
                run_fn = run_fn or member
            signal_name = getattr(member, _SIGNAL_ATTR, None)
            if signal_name is not None:
                if signal_name in signals:
                    raise TypeError(
                        f"workflow {cls.__qualname__} has two handlers for signal {signal_name!r}"
                    )
                signals[signal_name] = SignalDefinition(
                    signal_name, member, arg_hints(member), inspect.iscoroutinefunction(member)
                )
            query_name = getattr(member, _QUERY_ATTR, None)
            if query_name is not None:
                if query_name in queries:
                    raise TypeError(f"workflow {cls.__qualname__} has two handlers for query {query_name!r}")
                queries[query_name] = QueryDefinition(
                    query_name, member, arg_hints(member), return_hint(member)
                )
            update_name = getattr(member, _UPDATE_ATTR, None)
            if update_name is not None:
                if update_name in updates:
                    raise TypeError(
                        f"workflow {cls.__qualname__} has two handlers for update {update_name!r}"
                    )
                updates[update_name] = UpdateDefinition(
                    update_name,
                    member,
                    arg_hints(member),
                    return_hint(member),
                    getattr(member, _VALIDATOR_ATTR, None),
                )
    if run_fn is None:
        raise TypeError(f"workflow {cls.__qualname__} has no `@workflow.run async def` method")
    init_fn: Any = cls.__init__  # type: ignore[misc]
    init_takes_args = getattr(init_fn, _INIT_ATTR, False) or (
        init_fn is not object.__init__ and len(inspect.signature(init_fn).parameters) > 1
    )
    return WorkflowDefinition(
        name=name,
        cls=cls,
        run_fn=run_fn,
        arg_types=arg_hints(run_fn),
        return_type=return_hint(run_fn),
        signals=signals,
        queries=queries,
        updates=updates,
        init_takes_args=init_takes_args,
        failure_exception_types=failure_exception_types,
    )


def handler_name(handler: str | Callable[..., Any], kind: str) -> str:
    """The name of a signal or query (``kind``) given as a string or as the decorated method."""
    if isinstance(handler, str):
        return handler
    for attr in (f"__legato_workflow_{kind}__", f"__legato_{kind}_definition__"):
        definition = getattr(handler, attr, None)
        name = getattr(definition, "name", None)
        if isinstance(name, str):
            return name
        if isinstance(definition, str):
            return definition
    name = getattr(handler, "__name__", None)
    if not isinstance(name, str):
        raise TypeError(f"cannot tell the {kind} name of {handler!r}; pass it as a string")
    return name
