"""Valid list queries, shared by the parser table and the store conformance suite.

The conformance suite (``tests/persistence/test_visibility_query.py``) runs
each of these on SQLite, MariaDB and Cassandra against one dataset and checks
the result against ``visibility.evaluate`` (the reference semantics), so a
query added here is checked on every store.
"""

from __future__ import annotations

from legato_server.visibility.attributes import ValueType

CUSTOM = {
    "CustomerId": ValueType.KEYWORD,
    "Note": ValueType.TEXT,
    "Amount": ValueType.DOUBLE,
    "Items": ValueType.INT,
    "Priority": ValueType.BOOL,
    "DueAt": ValueType.DATETIME,
    "Tags": ValueType.KEYWORD_LIST,
}

# id -> query text (T0 of the dataset is 2023-11-14T22:13:20Z).
QUERIES = {
    "empty": "",
    "type-equals": "WorkflowType = 'Checkout'",
    "type-not-equals": "WorkflowType != 'Checkout'",
    "status-by-name": "ExecutionStatus = 'Running'",
    "status-in": "ExecutionStatus IN ('Completed', 'Failed')",
    "status-name-case-insensitive": "ExecutionStatus = 'completed'",
    "start-after": "StartTime > '2023-11-14T22:13:20.300Z'",
    "start-between": "StartTime BETWEEN '2023-11-14T22:13:20.200Z' AND '2023-11-14T22:13:20.500Z'",
    "close-before-excludes-open": "CloseTime < '2023-11-14T22:13:20.500Z'",
    "close-not-equal-excludes-open": "CloseTime != '2023-11-14T22:13:20.150Z'",
    "workflow-id-prefix": "WorkflowId STARTS_WITH 'order-'",
    "prefix-is-case-sensitive": "WorkflowId STARTS_WITH 'ORDER-'",
    "keyword-equals": "CustomerId = 'c-42'",
    "keyword-range": "CustomerId >= 'c-2' AND CustomerId < 'c-5'",
    "keyword-in": "CustomerId IN ('c-42', 'c-7', 'nobody')",
    "keyword-not-equals-skips-missing": "CustomerId != 'c-42'",
    "text-prefix": "Note STARTS_WITH 'rush'",
    "double-compare": "Amount > 10.5",
    "double-with-int-literal": "Amount <= 20",
    "int-between": "Items BETWEEN 2 AND 5",
    "int-in": "Items IN (1, 7)",
    "bool-true": "Priority = true",
    "bool-not-true": "Priority != TRUE",
    "datetime-after": "DueAt > '2026-01-01T00:00:00Z'",
    "datetime-with-offset": "DueAt < '2026-06-01T02:00:00+02:00'",
    "keyword-list-contains": "Tags = 'vip'",
    "keyword-list-not-contains-includes-missing": "Tags != 'vip'",
    "keyword-list-in": "Tags IN ('gift', 'fragile')",
    "and-or-precedence": "WorkflowType = 'Refund' OR WorkflowType = 'Checkout' AND ExecutionStatus = 'Running'",
    "parentheses": "(WorkflowType = 'Refund' OR WorkflowType = 'Checkout') AND ExecutionStatus = 'Running'",
    "nested": "((CustomerId = 'c-42' OR Tags = 'vip') AND (Amount > 1 OR Items > 3)) OR TaskQueue = 'payments'",
    "issue-example": (
        "WorkflowType = 'Checkout' AND ExecutionStatus = 'Running' AND StartTime > '2023-01-01T00:00:00Z' "
        "AND CustomerId = 'c-42'"
    ),
    "matches-nothing": "WorkflowId = 'order-1' AND WorkflowType = 'Refund'",
    "quote-inside-string": "Note = 'it''s here'",
    "history-length": "HistoryLength >= 11",
    "order-start-asc": "ExecutionStatus != 'Running' ORDER BY StartTime ASC",
    "order-close-desc": "ORDER BY CloseTime DESC",
    "order-close-asc": "WorkflowType = 'Checkout' ORDER BY CloseTime asc",
    "order-execution-time": "ORDER BY ExecutionTime",
    "order-start-desc-explicit": "ORDER BY StartTime DESC",
}

# Queries a store may refuse: id -> the stores that must refuse it, with a message containing this text.
CASSANDRA_REFUSES = {
    "order-start-asc",
    "order-close-desc",
    "order-close-asc",
    "order-execution-time",
}
