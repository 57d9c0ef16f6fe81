"""Search attributes and the list/count query language, shared by every visibility store.

``attributes`` knows the typed attributes (system ones and those a namespace
registers) and turns stored payloads into typed values; ``query`` parses a
query string into a typed tree once, on the frontend, so every store receives
the same validated tree; ``evaluate`` decides a tree against one run's values
(the Cassandra store's filter, and the reference the conformance suite checks
SQL stores against). Stores compile the tree into their own dialect.

This package sits below ``persistence`` (stores import it) and above
``common``; it knows nothing of any role.
"""
