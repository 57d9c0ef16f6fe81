-- Schedules: one row per (namespace, schedule id). shard_id is the history
-- shard of the schedule id; the host owning that shard runs it and finds its
-- due rows through schedules_due. conflict_token guards every update.
-- Additive: older code ignores the table.
CREATE TABLE IF NOT EXISTS schedules (
    namespace_id    VARCHAR(64)   NOT NULL,
    schedule_id     VARCHAR(255)  NOT NULL,
    shard_id        INT           NOT NULL,
    data            MEDIUMBLOB    NOT NULL,
    conflict_token  BIGINT        NOT NULL,
    next_wakeup_ms  BIGINT        NOT NULL,
    PRIMARY KEY (namespace_id, schedule_id),
    KEY schedules_due (shard_id, next_wakeup_ms)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
