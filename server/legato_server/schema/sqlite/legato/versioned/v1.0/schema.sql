-- Legato schema 1.0 for the embedded SQLite store.
--
-- Conventions: times are unix milliseconds (INTEGER); engine-owned payloads
-- are opaque BLOBs the store never parses. Tables whose rows are small and
-- always reached by primary key are WITHOUT ROWID (the row lives in the key's
-- b-tree: one lookup instead of two). Tables with large blobs (mutable state,
-- history, visibility memos) stay rowid tables, because SQLite stores big rows
-- poorly inside a clustered key b-tree.

CREATE TABLE cluster_metadata (
    cluster_name        TEXT    NOT NULL PRIMARY KEY,
    num_history_shards  INTEGER NOT NULL,
    created_at_ms       INTEGER NOT NULL
);

-- One row per history shard; range_id is the fencing token every shard write checks.
CREATE TABLE shards (
    shard_id            INTEGER NOT NULL PRIMARY KEY,
    range_id            INTEGER NOT NULL,
    owner               TEXT    NOT NULL,
    transfer_ack_level  INTEGER NOT NULL,
    timer_ack_level_ms  INTEGER NOT NULL,
    updated_at_ms       INTEGER NOT NULL
);

-- Mutable state of every run.
CREATE TABLE executions (
    shard_id            INTEGER NOT NULL,
    namespace_id        TEXT    NOT NULL,
    workflow_id         TEXT    NOT NULL,
    run_id              TEXT    NOT NULL,
    state               BLOB    NOT NULL,
    state_enum          INTEGER NOT NULL,
    status              INTEGER NOT NULL,
    next_event_id       INTEGER NOT NULL,
    db_version          INTEGER NOT NULL,
    create_request_id   TEXT    NOT NULL,
    start_time_ms       INTEGER NOT NULL,
    PRIMARY KEY (shard_id, namespace_id, workflow_id, run_id)
);

-- The run that currently owns a workflow id (running, or the last closed one).
CREATE TABLE current_executions (
    shard_id            INTEGER NOT NULL,
    namespace_id        TEXT    NOT NULL,
    workflow_id         TEXT    NOT NULL,
    run_id              TEXT    NOT NULL,
    create_request_id   TEXT    NOT NULL,
    state               INTEGER NOT NULL,
    status              INTEGER NOT NULL,
    start_time_ms       INTEGER NOT NULL,
    PRIMARY KEY (shard_id, namespace_id, workflow_id)
) WITHOUT ROWID;

-- Event batches; a rewrite of the same (run, first_event_id) replaces the row.
CREATE TABLE history_batches (
    namespace_id        TEXT    NOT NULL,
    workflow_id         TEXT    NOT NULL,
    run_id              TEXT    NOT NULL,
    first_event_id      INTEGER NOT NULL,
    event_count         INTEGER NOT NULL,
    data                BLOB    NOT NULL,
    PRIMARY KEY (namespace_id, workflow_id, run_id, first_event_id)
);

-- The transactional outbox of each shard, drained in task_id order.
CREATE TABLE transfer_tasks (
    shard_id            INTEGER NOT NULL,
    task_id             INTEGER NOT NULL,
    data                BLOB    NOT NULL,
    PRIMARY KEY (shard_id, task_id)
) WITHOUT ROWID;

CREATE TABLE timer_tasks (
    shard_id            INTEGER NOT NULL,
    visibility_time_ms  INTEGER NOT NULL,
    task_id             INTEGER NOT NULL,
    data                BLOB    NOT NULL,
    PRIMARY KEY (shard_id, visibility_time_ms, task_id)
) WITHOUT ROWID;

-- Matching's task queues, leased by range_id like shards.
CREATE TABLE task_queues (
    namespace_id        TEXT    NOT NULL,
    name                TEXT    NOT NULL,
    task_type           INTEGER NOT NULL,
    range_id            INTEGER NOT NULL,
    ack_level           INTEGER NOT NULL,
    data                BLOB    NOT NULL,
    PRIMARY KEY (namespace_id, name, task_type)
) WITHOUT ROWID;

CREATE TABLE queued_tasks (
    namespace_id        TEXT    NOT NULL,
    name                TEXT    NOT NULL,
    task_type           INTEGER NOT NULL,
    task_id             INTEGER NOT NULL,
    data                BLOB    NOT NULL,
    expiry_time_ms      INTEGER NOT NULL,
    PRIMARY KEY (namespace_id, name, task_type, task_id)
) WITHOUT ROWID;

CREATE TABLE namespaces (
    id                    TEXT    NOT NULL PRIMARY KEY,
    name                  TEXT    NOT NULL UNIQUE,
    data                  BLOB    NOT NULL,
    notification_version  INTEGER NOT NULL
);

-- Live hosts; roles is a comma-separated list (few rows: filtered in the store).
CREATE TABLE cluster_membership (
    host_id             TEXT    NOT NULL PRIMARY KEY,
    rpc_address         TEXT    NOT NULL,
    roles               TEXT    NOT NULL,
    session_start_ms    INTEGER NOT NULL,
    last_heartbeat_ms   INTEGER NOT NULL,
    expiry_ms           INTEGER NOT NULL
);

-- Visibility: one row per run. Listing is newest start first, ties by run_id,
-- so every index that serves a filter ends in (start_time_ms DESC, run_id):
-- the filtered listing is then an index range scan in result order, and the
-- keyset page token is a seek, not an offset.
CREATE TABLE executions_visibility (
    namespace_id        TEXT    NOT NULL,
    run_id              TEXT    NOT NULL,
    workflow_id         TEXT    NOT NULL,
    workflow_type       TEXT    NOT NULL,
    task_queue          TEXT    NOT NULL,
    status              INTEGER NOT NULL,
    start_time_ms       INTEGER NOT NULL,
    execution_time_ms   INTEGER NOT NULL,
    close_time_ms       INTEGER,
    history_length      INTEGER NOT NULL,
    memo                BLOB    NOT NULL,
    search_attributes   BLOB    NOT NULL,
    parent_workflow_id  TEXT    NOT NULL,
    parent_run_id       TEXT    NOT NULL,
    PRIMARY KEY (namespace_id, run_id)
);

CREATE INDEX executions_visibility_by_start
    ON executions_visibility (namespace_id, start_time_ms DESC, run_id);
CREATE INDEX executions_visibility_by_workflow_id
    ON executions_visibility (namespace_id, workflow_id, start_time_ms DESC, run_id);
CREATE INDEX executions_visibility_by_type
    ON executions_visibility (namespace_id, workflow_type, start_time_ms DESC, run_id);
CREATE INDEX executions_visibility_by_status
    ON executions_visibility (namespace_id, status, start_time_ms DESC, run_id);
CREATE INDEX executions_visibility_by_task_queue
    ON executions_visibility (namespace_id, task_queue, start_time_ms DESC, run_id);
CREATE INDEX executions_visibility_by_close_time
    ON executions_visibility (namespace_id, close_time_ms);
