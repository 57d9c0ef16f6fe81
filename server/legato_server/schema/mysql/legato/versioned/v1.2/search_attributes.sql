-- Custom search attributes of each run, one row per value (a KeywordList has
-- one row per item, numbered by position), so a list query's predicate on an
-- attribute is an index lookup on (namespace, name, value) instead of a scan
-- that decodes every run's attribute blob. The value sits in the column its
-- type uses: int_value (Int, Bool 0/1, Datetime unix ms), double_value
-- (Double), string_value (Keyword, Text, KeywordList; a Text is at most 2048
-- characters, indexed on its first 191). utf8mb4_bin: strings compare by code
-- point, as the query language specifies. Rewritten with the run's visibility
-- row, in the same transaction. Additive: 1.0/1.1 code ignores it.
CREATE TABLE IF NOT EXISTS executions_search_attributes (
    namespace_id  VARCHAR(64)   NOT NULL,
    run_id        VARCHAR(64)   NOT NULL,
    name          VARCHAR(64)   NOT NULL,
    position      INT           NOT NULL,
    int_value     BIGINT        NULL,
    double_value  DOUBLE        NULL,
    string_value  VARCHAR(2048) NULL,
    PRIMARY KEY (namespace_id, run_id, name, position),
    KEY executions_search_attributes_by_int (namespace_id, name, int_value, run_id),
    KEY executions_search_attributes_by_double (namespace_id, name, double_value, run_id),
    KEY executions_search_attributes_by_string (namespace_id, name, string_value(191), run_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
