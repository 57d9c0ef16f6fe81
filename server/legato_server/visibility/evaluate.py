"""Decide a parsed query against one run's values, in Python.

The Cassandra store filters with it (Cassandra cannot express these
predicates over its visibility table), and the conformance suite uses it as
the reference the SQL stores must agree with, so its semantics are the
specification of the query language: see ``query`` for missing values and
the KeywordList operators, and ``sort_key`` for ORDER BY.
"""

from __future__ import annotations

from collections.abc import Callable

from legato_server.visibility.attributes import Attribute, Value, ValueType
from legato_server.visibility.query import MISSING_TIME_SORTS_AS, And, Comparison, Expression, Or

Lookup = Callable[[Attribute], Value | None]
"""The run's value of an attribute (a custom one by name, a system one by column); None = missing."""


def matches(expression: Expression | None, lookup: Lookup) -> bool:
    if expression is None:
        return True
    if isinstance(expression, And):
        return all(matches(part, lookup) for part in expression.parts)
    if isinstance(expression, Or):
        return any(matches(part, lookup) for part in expression.parts)
    return _compare(expression, lookup(expression.attribute))


def _compare(comparison: Comparison, actual: Value | None) -> bool:
    op = comparison.operator
    values = comparison.values
    if comparison.attribute.type is ValueType.KEYWORD_LIST:
        items = actual if isinstance(actual, tuple) else ()
        if op == "=":
            return values[0] in items
        if op == "!=":
            return values[0] not in items
        return any(value in items for value in values)  # IN
    if actual is None:
        return False
    a = actual
    if op == "=":
        return bool(a == values[0])
    if op == "!=":
        return bool(a != values[0])
    if op == "IN":
        return a in values
    if op == "STARTS_WITH":
        return isinstance(a, str) and a.startswith(str(values[0]))
    if op == "BETWEEN":
        return bool(values[0] <= a <= values[1])  # type: ignore[operator]
    if op == "<":
        return bool(a < values[0])  # type: ignore[operator]
    if op == "<=":
        return bool(a <= values[0])  # type: ignore[operator]
    if op == ">":
        return bool(a > values[0])  # type: ignore[operator]
    if op == ">=":
        return bool(a >= values[0])  # type: ignore[operator]
    raise AssertionError(f"unknown operator {op}")


def sort_time(value: int | None) -> int:
    """An ORDER BY time value, with a missing time (open run's CloseTime) after every real one."""
    return MISSING_TIME_SORTS_AS if value is None else value
