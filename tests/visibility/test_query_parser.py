"""The query parser: every valid query of the shared table parses; each bad one fails where it should.

A bad query's error must be INVALID_ARGUMENT, name the 1-based position of
the problem, and say what was found there (the unexpected token, the unknown
attribute, the value of the wrong type).
"""

from __future__ import annotations

import pytest

from legato_server.common.errors import InvalidArgument
from legato_server.visibility.attributes import SYSTEM_ATTRIBUTES, ValueType
from legato_server.visibility.query import (
    DEFAULT_ORDER,
    And,
    Comparison,
    Or,
    QueryError,
    parse,
    start_time_bounds,
)
from tests.visibility.cases import CUSTOM, QUERIES


@pytest.mark.parametrize("text", QUERIES.values(), ids=QUERIES.keys())
def test_valid_queries_parse(text: str) -> None:
    parse(text, custom=CUSTOM)


def test_values_are_typed_at_parse_time() -> None:
    query = parse(
        "ExecutionStatus = 'running' AND StartTime > '2026-01-01T00:00:00Z' AND Amount > 3 AND Priority = false",
        custom=CUSTOM,
    )

    assert isinstance(query.where, And)
    assert [c.values for c in query.where.parts if isinstance(c, Comparison)] == [
        (1,),
        (1_767_225_600_000,),
        (3.0,),
        (False,),
    ]
    assert query.order_by == DEFAULT_ORDER


def test_and_binds_tighter_than_or() -> None:
    query = parse("WorkflowId = 'a' OR WorkflowId = 'b' AND RunId = 'c'", custom={})

    assert isinstance(query.where, Or)
    assert isinstance(query.where.parts[1], And)


def test_order_by_direction_and_keywords_in_any_case() -> None:
    query = parse(
        "workflowtype_is_not_a_keyword_here = 1 order by CloseTime asc",
        custom={"workflowtype_is_not_a_keyword_here": ValueType.INT},
    )

    assert query.order_by.attribute == SYSTEM_ATTRIBUTES["CloseTime"]
    assert not query.order_by.descending


def test_start_time_bounds_come_from_the_top_level_and_only() -> None:
    anded = parse("StartTime >= '2026-01-01T00:00:00Z' AND StartTime < '2026-01-02T00:00:00Z'", custom={})
    ored = parse("StartTime >= '2026-01-01T00:00:00Z' OR WorkflowId = 'x'", custom={})

    assert start_time_bounds(anded.where) == (1_767_225_600_000, 1_767_312_000_000)
    assert start_time_bounds(ored.where) == (None, None)


# (query, position, text the message must contain)
INVALID = {
    "empty-value": (
        "WorkflowType = ",
        16,
        "unexpected end of query at position 16; expected a value for WorkflowType",
    ),
    "double-equals": ("WorkflowType == 'a'", 15, "unexpected '=' at position 15"),
    "missing-operator": ("WorkflowType 'a'", 14, "unexpected \"'a'\" at position 14; expected an operator"),
    "dangling-and": (
        "WorkflowType = 'a' AND",
        23,
        "unexpected end of query at position 23; expected an attribute name",
    ),
    "unclosed-paren": ("(WorkflowType = 'a'", 20, "expected ')' or AND/OR"),
    "extra-paren": ("WorkflowType = 'a')", 19, "unexpected ')' at position 19; expected AND, OR, ORDER BY"),
    "unclosed-string": ("WorkflowType = 'abc", 16, "string starting at position 16 is not closed"),
    "bad-character": ("WorkflowType = 'a' ; DROP", 20, "unexpected character ';' at position 20"),
    "unknown-attribute": ("CustomerID = 'c-42'", 1, "unknown search attribute 'CustomerID' at position 1"),
    "unknown-after-and": (
        "WorkflowType = 'a' AND Nope > 1",
        24,
        "unknown search attribute 'Nope' at position 24",
    ),
    "int-gets-string": ("Items = 'three'", 9, "value 'three' at position 9 does not fit Items (Int)"),
    "int-gets-double": ("Items = 2.5", 9, "does not fit Items (Int)"),
    "double-gets-string": ("Amount > 'x'", 10, "does not fit Amount (Double)"),
    "bool-gets-number": ("Priority = 1", 12, "does not fit Priority (Bool)"),
    "bad-datetime": (
        "StartTime > 'yesterday'",
        13,
        "does not fit StartTime (Datetime): 'yesterday' is not an ISO 8601",
    ),
    "unknown-status": ("ExecutionStatus = 'Sleeping'", 19, "does not fit ExecutionStatus"),
    "keyword-gets-number": ("WorkflowId = 42", 14, "does not fit WorkflowId (Keyword)"),
    "starts-with-on-int": (
        "Items STARTS_WITH '1'",
        7,
        "operator STARTS_WITH at position 7 does not apply to Items (Int)",
    ),
    "range-on-bool": ("Priority > true", 10, "does not apply to Priority (Bool)"),
    "range-on-keyword-list": ("Tags > 'a'", 6, "does not apply to Tags (KeywordList)"),
    "between-without-and": ("Items BETWEEN 1 OR 2", 17, "unexpected 'OR' at position 17; expected AND"),
    "in-without-paren": ("Items IN 1", 10, "unexpected '1' at position 10; expected '(' after IN"),
    "in-unclosed": ("Items IN (1, 2", 15, "expected ',' or ')'"),
    "order-by-keyword": ("ORDER BY WorkflowId", 10, "cannot ORDER BY 'WorkflowId' at position 10"),
    "order-without-by": ("ORDER StartTime", 7, "unexpected 'StartTime' at position 7; expected BY"),
    "after-order-by": (
        "ORDER BY StartTime DESC AND x = 1",
        25,
        "unexpected 'AND' at position 25; expected the end",
    ),
    "keyword-as-attribute": ("AND = 1", 1, "unexpected 'AND' at position 1; expected an attribute name"),
}


@pytest.mark.parametrize(("text", "position", "message"), INVALID.values(), ids=INVALID.keys())
def test_invalid_queries_name_the_position_and_the_problem(text: str, position: int, message: str) -> None:
    with pytest.raises(QueryError) as raised:
        parse(text, custom=CUSTOM)

    assert isinstance(raised.value, InvalidArgument)
    assert raised.value.position == position
    assert message in str(raised.value)


def test_order_by_is_refused_in_a_count() -> None:
    with pytest.raises(QueryError, match="ORDER BY at position 20 is not allowed in a count"):
        parse("WorkflowId = 'a'   ORDER BY StartTime", custom={}, allow_order_by=False)


def test_an_overlong_query_is_refused() -> None:
    with pytest.raises(QueryError, match="the limit is 4096"):
        parse("WorkflowId = 'a' OR " * 300 + "WorkflowId = 'b'", custom={})
