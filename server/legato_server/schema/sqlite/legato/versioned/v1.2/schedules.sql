-- Schedules: one row per (namespace, schedule id). shard_id is the history
-- shard of the schedule id; the host owning that shard runs it and finds its
-- due rows through schedules_due. conflict_token guards every update.
-- Additive: older code ignores the table.
CREATE TABLE IF NOT EXISTS schedules (
    namespace_id    TEXT    NOT NULL,
    schedule_id     TEXT    NOT NULL,
    shard_id        INTEGER NOT NULL,
    data            BLOB    NOT NULL,
    conflict_token  INTEGER NOT NULL,
    next_wakeup_ms  INTEGER NOT NULL,
    PRIMARY KEY (namespace_id, schedule_id)
);
CREATE INDEX IF NOT EXISTS schedules_due ON schedules (shard_id, next_wakeup_ms);
