-- Custom search attributes of each run, one row per value (a KeywordList has
-- one row per item, numbered by position), so a list query's predicate on an
-- attribute is an index lookup on (namespace, name, value) instead of a scan
-- that decodes every run's attribute blob. The value sits in the column its
-- type uses: int_value (Int, Bool 0/1, Datetime unix ms), double_value
-- (Double), string_value (Keyword, Text, KeywordList). Rewritten with the
-- run's visibility row, in the same transaction. Additive: 1.0 code ignores it.
CREATE TABLE executions_search_attributes (
    namespace_id  TEXT    NOT NULL,
    run_id        TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    position      INTEGER NOT NULL,
    int_value     INTEGER,
    double_value  REAL,
    string_value  TEXT,
    PRIMARY KEY (namespace_id, run_id, name, position)
) WITHOUT ROWID;

CREATE INDEX executions_search_attributes_by_int
    ON executions_search_attributes (namespace_id, name, int_value, run_id);
CREATE INDEX executions_search_attributes_by_double
    ON executions_search_attributes (namespace_id, name, double_value, run_id);
CREATE INDEX executions_search_attributes_by_string
    ON executions_search_attributes (namespace_id, name, string_value, run_id);
