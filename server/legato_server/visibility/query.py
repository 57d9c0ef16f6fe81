"""The list/count query language: one parser, typed against a namespace's attributes.

Grammar (keywords are case-insensitive; attribute names are case-sensitive)::

    query      := [ condition ] [ ORDER BY name [ASC | DESC] ]
    condition  := conjunct { OR conjunct }
    conjunct   := primary { AND primary }
    primary    := "(" condition ")" | predicate
    predicate  := name ( "=" | "!=" | "<>" | "<" | "<=" | ">" | ">=" ) value
                | name IN "(" value { "," value } ")"
                | name BETWEEN value AND value
                | name STARTS_WITH value
    value      := 'string' | "string" | number | TRUE | FALSE

Strings take ``''`` or ``\\'`` for a quote inside. ``name`` is a system
attribute (WorkflowId, RunId, WorkflowType, TaskQueue, ExecutionStatus,
StartTime, CloseTime, ExecutionTime, HistoryLength) or a custom one the
namespace registered. Each literal is read as its attribute's type at parse
time (datetimes as ISO 8601 strings become unix ms; statuses by name such as
'Running' become their number), so stores receive typed values and never
re-interpret text. Operators by type:

* Keyword, Text, WorkflowId, ...: all of them (strings compare by code point).
* Int, Double, Datetime: all but STARTS_WITH.
* Bool, ExecutionStatus: =, !=, IN.
* KeywordList: = (contains), != (does not contain), IN (contains any).

ORDER BY accepts the time attributes only (StartTime, CloseTime,
ExecutionTime); the default is StartTime DESC. A run with no close time sorts
as if it closed at the end of time. Ties are broken by RunId ascending.

Semantics of a missing value: a comparison on a custom attribute a run does
not have is false (as SQL's NULL), except KeywordList ``!=``, which is true.
CloseTime is missing while a run is open.

Every error is ``QueryError`` (INVALID_ARGUMENT) and names a 1-based
character position and what was found there: the unexpected token, the
unknown attribute, or the value of the wrong type.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from legato_server.common import errors
from legato_server.visibility.attributes import (
    STATUS_NAMES,
    SYSTEM_ATTRIBUTES,
    TIME_ATTRIBUTES,
    Attribute,
    Value,
    ValueType,
    coerce,
    parse_datetime_ms,
)

MAX_QUERY_LENGTH = 4096
MAX_IN_VALUES = 1000
MAX_DEPTH = 32

# How a missing time (an open run's CloseTime) sorts: after every real time.
MISSING_TIME_SORTS_AS = 2**63 - 1

OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "IN", "BETWEEN", "STARTS_WITH")
_ORDERING = ("<", "<=", ">", ">=", "BETWEEN")
_ALLOWED: Mapping[ValueType, tuple[str, ...]] = {
    ValueType.KEYWORD: OPERATORS,
    ValueType.TEXT: OPERATORS,
    ValueType.INT: tuple(op for op in OPERATORS if op != "STARTS_WITH"),
    ValueType.DOUBLE: tuple(op for op in OPERATORS if op != "STARTS_WITH"),
    ValueType.DATETIME: tuple(op for op in OPERATORS if op != "STARTS_WITH"),
    ValueType.BOOL: ("=", "!=", "IN"),
    ValueType.EXECUTION_STATUS: ("=", "!=", "IN"),
    ValueType.KEYWORD_LIST: ("=", "!=", "IN"),
}


class QueryError(errors.InvalidArgument):
    """A query that cannot be run; the message names the position and the problem."""

    def __init__(self, message: str, *, position: int) -> None:
        super().__init__(f"query: {message}")
        self.position = position


# ---------------------------------------------------------------- tree


@dataclass(frozen=True, slots=True)
class Comparison:
    attribute: Attribute
    operator: str  # one of OPERATORS
    values: tuple[Value, ...]  # 1 value; 2 for BETWEEN; 1+ for IN


@dataclass(frozen=True, slots=True)
class And:
    parts: tuple[Expression, ...]


@dataclass(frozen=True, slots=True)
class Or:
    parts: tuple[Expression, ...]


Expression = Comparison | And | Or


@dataclass(frozen=True, slots=True)
class OrderBy:
    attribute: Attribute  # a time attribute
    descending: bool


DEFAULT_ORDER = OrderBy(SYSTEM_ATTRIBUTES["StartTime"], descending=True)


@dataclass(frozen=True, slots=True)
class Query:
    where: Expression | None
    order_by: OrderBy = DEFAULT_ORDER

    @property
    def has_order_by(self) -> bool:
        return self.order_by != DEFAULT_ORDER


# ---------------------------------------------------------------- tokens


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # name, string, number, op, lparen, rparen, comma, end
    text: str  # as written
    value: object  # the parsed literal, the upper-cased keyword, or the operator
    position: int  # 1-based

    def shown(self) -> str:
        return "end of query" if self.kind == "end" else f"{self.text!r}"


_KEYWORDS = {"AND", "OR", "IN", "BETWEEN", "STARTS_WITH", "ORDER", "BY", "ASC", "DESC", "TRUE", "FALSE"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_OPERATOR = re.compile(r"<=|>=|!=|<>|=|<|>")


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
            continue
        position = i + 1
        if char in "'\"":
            value, i = _read_string(text, i)
            tokens.append(_Token("string", text[position - 1 : i], value, position))
            continue
        if char in "(),":
            kind = {"(": "lparen", ")": "rparen", ",": "comma"}[char]
            tokens.append(_Token(kind, char, char, position))
            i += 1
            continue
        match = _OPERATOR.match(text, i)
        if match:
            op = "!=" if match.group() == "<>" else match.group()
            tokens.append(_Token("op", match.group(), op, position))
            i = match.end()
            continue
        match = _NUMBER.match(text, i)
        if match and not _NAME.match(text, match.end()):
            raw = match.group()
            number: int | float = float(raw) if any(c in raw for c in ".eE") else int(raw)
            tokens.append(_Token("number", raw, number, position))
            i = match.end()
            continue
        match = _NAME.match(text, i)
        if match:
            word = match.group()
            if word.upper() in _KEYWORDS:
                tokens.append(_Token("keyword", word, word.upper(), position))
            else:
                tokens.append(_Token("name", word, word, position))
            i = match.end()
            continue
        raise QueryError(f"unexpected character {char!r} at position {position}", position=position)
    tokens.append(_Token("end", "", None, len(text) + 1))
    return tokens


def _read_string(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if char == quote:
            if i + 1 < len(text) and text[i + 1] == quote:  # '' inside a '...' string
                out.append(quote)
                i += 2
                continue
            return "".join(out), i + 1
        out.append(char)
        i += 1
    raise QueryError(
        f"string starting at position {start + 1} is not closed with {quote}", position=start + 1
    )


# ---------------------------------------------------------------- parser


def parse(text: str, *, custom: Mapping[str, ValueType], allow_order_by: bool = True) -> Query:
    """Parse ``text`` against the namespace's custom attributes; QueryError on any problem."""
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(
            f"is {len(text)} characters long; the limit is {MAX_QUERY_LENGTH}", position=MAX_QUERY_LENGTH + 1
        )
    return _Parser(_tokenize(text), custom, allow_order_by).query()


class _Parser:
    def __init__(self, tokens: list[_Token], custom: Mapping[str, ValueType], allow_order_by: bool) -> None:
        self._tokens = tokens
        self._at = 0
        self._custom = custom
        self._allow_order_by = allow_order_by
        self._depth = 0

    # -- helpers

    def _peek(self) -> _Token:
        return self._tokens[self._at]

    def _next(self) -> _Token:
        token = self._tokens[self._at]
        if token.kind != "end":
            self._at += 1
        return token

    def _is_keyword(self, word: str) -> bool:
        token = self._peek()
        return token.kind == "keyword" and token.value == word

    def _unexpected(self, token: _Token, expected: str) -> QueryError:
        return QueryError(
            f"unexpected {token.shown()} at position {token.position}; expected {expected}",
            position=token.position,
        )

    def _expect_keyword(self, word: str) -> _Token:
        if not self._is_keyword(word):
            raise self._unexpected(self._peek(), word)
        return self._next()

    # -- grammar

    def query(self) -> Query:
        where: Expression | None = None
        if self._peek().kind != "end" and not self._is_keyword("ORDER"):
            where = self._condition()
        order_by = DEFAULT_ORDER
        if self._is_keyword("ORDER"):
            order_token = self._next()
            if not self._allow_order_by:
                raise QueryError(
                    f"ORDER BY at position {order_token.position} is not allowed in a count",
                    position=order_token.position,
                )
            self._expect_keyword("BY")
            order_by = self._order_by()
        end = self._peek()
        if end.kind != "end":
            expected = (
                "AND, OR, ORDER BY or the end of the query"
                if order_by is DEFAULT_ORDER
                else "the end of the query"
            )
            raise self._unexpected(end, expected)
        return Query(where=where, order_by=order_by)

    def _order_by(self) -> OrderBy:
        token = self._next()
        if token.kind != "name":
            raise self._unexpected(token, f"a time attribute ({', '.join(TIME_ATTRIBUTES)})")
        if token.value not in TIME_ATTRIBUTES:
            raise QueryError(
                f"cannot ORDER BY {token.text!r} at position {token.position}; "
                f"only the time attributes can: {', '.join(TIME_ATTRIBUTES)}",
                position=token.position,
            )
        descending = True
        if self._is_keyword("ASC") or self._is_keyword("DESC"):
            descending = self._next().value == "DESC"
        return OrderBy(SYSTEM_ATTRIBUTES[str(token.value)], descending=descending)

    def _condition(self) -> Expression:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            token = self._peek()
            raise QueryError(
                f"nesting deeper than {MAX_DEPTH} levels at position {token.position}",
                position=token.position,
            )
        parts = [self._conjunct()]
        while self._is_keyword("OR"):
            self._next()
            parts.append(self._conjunct())
        self._depth -= 1
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def _conjunct(self) -> Expression:
        parts = [self._primary()]
        while self._is_keyword("AND"):
            self._next()
            parts.append(self._primary())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def _primary(self) -> Expression:
        token = self._peek()
        if token.kind == "lparen":
            self._next()
            inner = self._condition()
            closing = self._next()
            if closing.kind != "rparen":
                raise self._unexpected(closing, "')' or AND/OR")
            return inner
        return self._predicate()

    def _attribute(self) -> tuple[Attribute, _Token]:
        token = self._next()
        if token.kind != "name":
            raise self._unexpected(token, "an attribute name or '('")
        name = str(token.value)
        system = SYSTEM_ATTRIBUTES.get(name)
        if system is not None:
            return system, token
        value_type = self._custom.get(name)
        if value_type is None:
            registered = ", ".join(sorted(self._custom)) or "none"
            raise QueryError(
                f"unknown search attribute {name!r} at position {token.position}; "
                f"system attributes: {', '.join(SYSTEM_ATTRIBUTES)}; registered in this namespace: {registered}",
                position=token.position,
            )
        return Attribute(name, value_type), token

    def _predicate(self) -> Comparison:
        attribute, name_token = self._attribute()
        token = self._next()
        if token.kind == "op":
            operator = str(token.value)
        elif token.kind == "keyword" and token.value in ("IN", "BETWEEN", "STARTS_WITH"):
            operator = str(token.value)
        else:
            raise self._unexpected(token, "an operator (=, !=, <, <=, >, >=, IN, BETWEEN, STARTS_WITH)")
        allowed = _ALLOWED[attribute.type]
        if operator not in allowed:
            raise QueryError(
                f"operator {operator} at position {token.position} does not apply to {attribute.name} "
                f"({attribute.type.value}); allowed: {', '.join(allowed)}",
                position=token.position,
            )
        if operator == "IN":
            opening = self._next()
            if opening.kind != "lparen":
                raise self._unexpected(opening, "'(' after IN")
            values = [self._value(attribute)]
            while self._peek().kind == "comma":
                self._next()
                values.append(self._value(attribute))
            closing = self._next()
            if closing.kind != "rparen":
                raise self._unexpected(closing, "',' or ')'")
            if len(values) > MAX_IN_VALUES:
                raise QueryError(
                    f"IN at position {token.position} has {len(values)} values; the limit is {MAX_IN_VALUES}",
                    position=token.position,
                )
            return Comparison(attribute, operator, tuple(values))
        if operator == "BETWEEN":
            low = self._value(attribute)
            self._expect_keyword("AND")
            high = self._value(attribute)
            return Comparison(attribute, operator, (low, high))
        return Comparison(attribute, operator, (self._value(attribute),))

    def _value(self, attribute: Attribute) -> Value:
        token = self._next()
        if token.kind == "keyword" and token.value in ("TRUE", "FALSE"):
            literal: object = token.value == "TRUE"
        elif token.kind in ("string", "number"):
            literal = token.value
        else:
            raise self._unexpected(token, f"a value for {attribute.name} ({attribute.type.value})")
        try:
            return _typed(literal, attribute.type)
        except ValueError as err:
            raise QueryError(
                f"value {token.text} at position {token.position} does not fit {attribute.name} "
                f"({attribute.type.value}): {err}",
                position=token.position,
            ) from None


def _typed(literal: object, value_type: ValueType) -> Value:
    if value_type is ValueType.EXECUTION_STATUS:
        if isinstance(literal, str):
            for name, number in STATUS_NAMES.items():
                if name.lower() == literal.lower():
                    return number
        raise ValueError(f"expected one of {', '.join(repr(n) for n in STATUS_NAMES)}")
    if value_type is ValueType.DATETIME:
        if not isinstance(literal, str):
            raise ValueError("expected an ISO 8601 datetime string like '2026-01-01T00:00:00Z'")
        return parse_datetime_ms(literal)
    if value_type is ValueType.KEYWORD_LIST:
        # A literal compared with a keyword list is one keyword.
        return str(coerce(literal, ValueType.KEYWORD))
    return coerce(literal, value_type)


# ---------------------------------------------------------------- pushdown helpers


def start_time_bounds(expression: Expression | None) -> tuple[int | None, int | None]:
    """[low, high) bounds on StartTime implied by top-level AND-ed comparisons (None = open).

    Stores that can only range-scan by start time (Cassandra) push these into
    the scan; everything else is still evaluated on each row, so the bounds
    only need to be implied by the query, not to capture all of it.
    """
    parts: tuple[Expression, ...]
    if expression is None:
        return None, None
    parts = expression.parts if isinstance(expression, And) else (expression,)
    low: int | None = None
    high: int | None = None

    def raise_low(value: int) -> None:
        nonlocal low
        low = value if low is None else max(low, value)

    def lower_high(value: int) -> None:
        nonlocal high
        high = value if high is None else min(high, value)

    for part in parts:
        if not isinstance(part, Comparison) or part.attribute.name != "StartTime":
            continue
        values = [int(v) for v in part.values]  # type: ignore[arg-type]
        if part.operator == "=":
            raise_low(values[0])
            lower_high(values[0] + 1)
        elif part.operator == ">":
            raise_low(values[0] + 1)
        elif part.operator == ">=":
            raise_low(values[0])
        elif part.operator == "<":
            lower_high(values[0])
        elif part.operator == "<=":
            lower_high(values[0] + 1)
        elif part.operator == "BETWEEN":
            raise_low(values[0])
            lower_high(values[1] + 1)
        elif part.operator == "IN":
            raise_low(min(values))
            lower_high(max(values) + 1)
    return low, high
