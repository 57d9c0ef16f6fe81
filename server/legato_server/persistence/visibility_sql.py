"""A parsed visibility query as SQL, for the SQLite and MySQL stores.

System attributes are columns of ``executions_visibility`` (aliased ``v``).
Custom attributes live in ``executions_search_attributes``, one row per value
(a KeywordList has one row per item), with the value in the column its type
uses: ``int_value`` (Int, Bool as 0/1, Datetime as unix ms),
``double_value`` (Double) or ``string_value`` (Keyword, Text, KeywordList).
A predicate on a custom attribute is an ``EXISTS`` on that table, which the
index (namespace_id, name, <value column>, run_id) answers; this keeps the
visibility row narrow and needs no schema change per registered attribute.

The semantics match ``visibility.evaluate`` (the reference): a missing value
fails every comparison, except KeywordList ``!=`` (``NOT EXISTS``).
STARTS_WITH compares a ``substr`` rather than using LIKE, which is
case-insensitive in SQLite and would need escaping. Strings compare
by code point in both databases (SQLite's BINARY collation on UTF-8,
MySQL's utf8mb4_bin), as Python compares them.

The two dialects differ only in the placeholder, passed in.
"""

from __future__ import annotations

from typing import Any

from legato_server.visibility.attributes import ValueType
from legato_server.visibility.query import MISSING_TIME_SORTS_AS, And, Comparison, Expression, OrderBy

SEARCH_ATTRIBUTE_COLUMNS = "namespace_id, run_id, name, position, int_value, double_value, string_value"


def value_column(value_type: ValueType) -> str:
    if value_type in (ValueType.INT, ValueType.BOOL, ValueType.DATETIME):
        return "int_value"
    if value_type is ValueType.DOUBLE:
        return "double_value"
    return "string_value"


def search_attribute_rows(
    *, namespace_id: str, run_id: str, values: dict[str, tuple[ValueType, Any]]
) -> list[tuple[Any, ...]]:
    """Rows of ``executions_search_attributes`` for one run's typed values."""
    rows: list[tuple[Any, ...]] = []
    for name, (value_type, value) in sorted(values.items()):
        items = value if value_type is ValueType.KEYWORD_LIST else (value,)
        for position, item in enumerate(items):
            row: list[Any] = [namespace_id, run_id, name, position, None, None, None]
            column = value_column(value_type)
            row[{"int_value": 4, "double_value": 5, "string_value": 6}[column]] = (
                int(item) if column == "int_value" else item
            )
            rows.append(tuple(row))
    return rows


class SqlQuery:
    """Compiles expressions with one placeholder style (``?`` or ``%s``)."""

    def __init__(self, placeholder: str) -> None:
        self._p = placeholder

    def where(self, expression: Expression | None) -> tuple[str, list[Any]]:
        if expression is None:
            return "1 = 1", []
        params: list[Any] = []
        return self._expression(expression, params), params

    def _expression(self, expression: Expression, params: list[Any]) -> str:
        if isinstance(expression, Comparison):
            return self._comparison(expression, params)
        joiner = " AND " if isinstance(expression, And) else " OR "
        return "(" + joiner.join(self._expression(part, params) for part in expression.parts) + ")"

    def _test(self, column: str, comparison: Comparison, params: list[Any]) -> str:
        p = self._p
        op = comparison.operator
        values = [int(v) if isinstance(v, bool) else v for v in comparison.values]
        if op == "IN":
            params.extend(values)
            return f"{column} IN ({', '.join([p] * len(values))})"
        if op == "BETWEEN":
            params.extend(values)
            return f"{column} BETWEEN {p} AND {p}"
        if op == "STARTS_WITH":
            prefix = str(values[0])
            params.extend((len(prefix), prefix))
            return f"substr({column}, 1, {p}) = {p}"
        params.append(values[0])
        return f"{column} {op} {p}"

    def _comparison(self, comparison: Comparison, params: list[Any]) -> str:
        attribute = comparison.attribute
        if not attribute.is_custom:
            return "(" + self._test(f"v.{attribute.column}", comparison, params) + ")"
        p = self._p
        exists = (
            "EXISTS (SELECT 1 FROM executions_search_attributes a WHERE a.namespace_id = v.namespace_id "
            f"AND a.run_id = v.run_id AND a.name = {p} AND "
        )
        column = f"a.{value_column(attribute.type)}"
        if attribute.type is ValueType.KEYWORD_LIST and comparison.operator == "!=":
            params.append(attribute.name)
            params.append(comparison.values[0])
            return f"(NOT {exists}{column} = {p}))"
        params.append(attribute.name)
        operator_for_rows = "IN" if attribute.type is ValueType.KEYWORD_LIST else comparison.operator
        test = self._test(column, Comparison(attribute, operator_for_rows, comparison.values), params)
        return f"({exists}{test}))"


def order_expression(order_by: OrderBy) -> str:
    """The sort key column of an ORDER BY (an open run's CloseTime sorts last)."""
    column = f"v.{order_by.attribute.column}"
    if order_by.attribute.name == "CloseTime":
        return f"COALESCE({column}, {MISSING_TIME_SORTS_AS})"
    return column


def order_attribute_value(order_by: OrderBy, *, start: int, close: int | None, execution: int) -> int:
    """The value of the ORDER BY attribute of a record (for the page token)."""
    name = order_by.attribute.name
    if name == "StartTime":
        return start
    if name == "ExecutionTime":
        return execution
    return MISSING_TIME_SORTS_AS if close is None else close


def seek(order_by: OrderBy, placeholder: str, *, key: int, run_id: str) -> tuple[str, list[Any]]:
    """The keyset condition for the rows after (key, run_id) in ``order_by`` order (ties: run_id ascending).

    Written as ``key <= ? AND (...)`` (``>=`` ascending) so the database can use it as an index range bound.
    """
    p = placeholder
    column = order_expression(order_by)
    if order_by.descending:
        return f"{column} <= {p} AND ({column} < {p} OR v.run_id > {p})", [key, key, run_id]
    return f"{column} >= {p} AND ({column} > {p} OR v.run_id > {p})", [key, key, run_id]


def order_clause(order_by: OrderBy) -> str:
    direction = "DESC" if order_by.descending else "ASC"
    return f"ORDER BY {order_expression(order_by)} {direction}, v.run_id ASC"
