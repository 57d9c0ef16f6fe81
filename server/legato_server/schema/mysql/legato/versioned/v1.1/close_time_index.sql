-- Listings filtered on close time ("what finished in the last hour") range-scan
-- this index instead of every run of the namespace. Additive: 1.0 code works
-- with it, so min_compatible_version stays 1.0.
CREATE INDEX executions_visibility_by_close_time
    ON executions_visibility (namespace_id, close_time_ms, start_time_ms, run_id);
