-- Legato schema 1.0 for MySQL 8 / MariaDB 10.6+ (InnoDB, utf8mb4).
--
-- Conventions: times are unix milliseconds (BIGINT); engine-owned payloads are
-- opaque blobs the store never parses. Identifiers use utf8mb4_bin: workflow
-- ids are case-sensitive. Key widths stay under InnoDB's 3072-byte index limit
-- (namespace/run ids are UUIDs, workflow ids at most 255 characters).
-- Statements are separated by ';' at the end of a line.

CREATE TABLE IF NOT EXISTS cluster_metadata (
    cluster_name        VARCHAR(255) NOT NULL,
    num_history_shards  INT          NOT NULL,
    created_at_ms       BIGINT       NOT NULL,
    PRIMARY KEY (cluster_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per history shard; range_id is the fencing token every shard write
-- checks with SELECT ... FOR UPDATE inside its transaction.
CREATE TABLE IF NOT EXISTS shards (
    shard_id            INT          NOT NULL,
    range_id            BIGINT       NOT NULL,
    owner               VARCHAR(255) NOT NULL,
    transfer_ack_level  BIGINT       NOT NULL,
    timer_ack_level_ms  BIGINT       NOT NULL,
    updated_at_ms       BIGINT       NOT NULL,
    PRIMARY KEY (shard_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Mutable state of every run.
CREATE TABLE IF NOT EXISTS executions (
    shard_id            INT          NOT NULL,
    namespace_id        VARCHAR(64)  NOT NULL,
    workflow_id         VARCHAR(255) NOT NULL,
    run_id              VARCHAR(64)  NOT NULL,
    state               MEDIUMBLOB   NOT NULL,
    state_enum          TINYINT      NOT NULL,
    status              INT          NOT NULL,
    next_event_id       BIGINT       NOT NULL,
    db_version          BIGINT       NOT NULL,
    create_request_id   VARCHAR(64)  NOT NULL,
    start_time_ms       BIGINT       NOT NULL,
    PRIMARY KEY (shard_id, namespace_id, workflow_id, run_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The run that currently owns a workflow id (running, or the last closed one).
CREATE TABLE IF NOT EXISTS current_executions (
    shard_id            INT          NOT NULL,
    namespace_id        VARCHAR(64)  NOT NULL,
    workflow_id         VARCHAR(255) NOT NULL,
    run_id              VARCHAR(64)  NOT NULL,
    create_request_id   VARCHAR(64)  NOT NULL,
    state               TINYINT      NOT NULL,
    status              INT          NOT NULL,
    start_time_ms       BIGINT       NOT NULL,
    PRIMARY KEY (shard_id, namespace_id, workflow_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Event batches; a rewrite of the same (run, first_event_id) replaces the row.
CREATE TABLE IF NOT EXISTS history_batches (
    namespace_id        VARCHAR(64)  NOT NULL,
    workflow_id         VARCHAR(255) NOT NULL,
    run_id              VARCHAR(64)  NOT NULL,
    first_event_id      BIGINT       NOT NULL,
    event_count         INT          NOT NULL,
    data                MEDIUMBLOB   NOT NULL,
    PRIMARY KEY (namespace_id, workflow_id, run_id, first_event_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The transactional outbox of each shard, drained in task_id order.
CREATE TABLE IF NOT EXISTS transfer_tasks (
    shard_id            INT          NOT NULL,
    task_id             BIGINT       NOT NULL,
    data                MEDIUMBLOB   NOT NULL,
    PRIMARY KEY (shard_id, task_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS timer_tasks (
    shard_id            INT          NOT NULL,
    visibility_time_ms  BIGINT       NOT NULL,
    task_id             BIGINT       NOT NULL,
    data                MEDIUMBLOB   NOT NULL,
    PRIMARY KEY (shard_id, visibility_time_ms, task_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Matching's task queues, leased by range_id like shards.
CREATE TABLE IF NOT EXISTS task_queues (
    namespace_id        VARCHAR(64)  NOT NULL,
    name                VARCHAR(255) NOT NULL,
    task_type           INT          NOT NULL,
    range_id            BIGINT       NOT NULL,
    ack_level           BIGINT       NOT NULL,
    data                MEDIUMBLOB   NOT NULL,
    PRIMARY KEY (namespace_id, name, task_type)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS queued_tasks (
    namespace_id        VARCHAR(64)  NOT NULL,
    name                VARCHAR(255) NOT NULL,
    task_type           INT          NOT NULL,
    task_id             BIGINT       NOT NULL,
    data                MEDIUMBLOB   NOT NULL,
    expiry_time_ms      BIGINT       NOT NULL,
    PRIMARY KEY (namespace_id, name, task_type, task_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS namespaces (
    id                    VARCHAR(64)  NOT NULL,
    name                  VARCHAR(255) NOT NULL,
    data                  MEDIUMBLOB   NOT NULL,
    notification_version  BIGINT       NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY namespaces_by_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Live hosts; roles is a comma-separated list (few rows: filtered in the store).
CREATE TABLE IF NOT EXISTS cluster_membership (
    host_id             VARCHAR(255) NOT NULL,
    rpc_address         VARCHAR(255) NOT NULL,
    roles               VARCHAR(255) NOT NULL,
    session_start_ms    BIGINT       NOT NULL,
    last_heartbeat_ms   BIGINT       NOT NULL,
    expiry_ms           BIGINT       NOT NULL,
    PRIMARY KEY (host_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Visibility: one row per run. Listing is newest start first, ties by run_id,
-- so every index that serves a filter ends in (start_time_ms, run_id): the
-- filtered listing is an index range scan in result order and the keyset
-- page token is a seek, not an offset.
CREATE TABLE IF NOT EXISTS executions_visibility (
    namespace_id        VARCHAR(64)  NOT NULL,
    run_id              VARCHAR(64)  NOT NULL,
    workflow_id         VARCHAR(255) NOT NULL,
    workflow_type       VARCHAR(255) NOT NULL,
    task_queue          VARCHAR(255) NOT NULL,
    status              INT          NOT NULL,
    start_time_ms       BIGINT       NOT NULL,
    execution_time_ms   BIGINT       NOT NULL,
    close_time_ms       BIGINT       NULL,
    history_length      BIGINT       NOT NULL,
    memo                MEDIUMBLOB   NOT NULL,
    search_attributes   MEDIUMBLOB   NOT NULL,
    parent_workflow_id  VARCHAR(255) NOT NULL,
    parent_run_id       VARCHAR(64)  NOT NULL,
    PRIMARY KEY (namespace_id, run_id),
    KEY executions_visibility_by_start (namespace_id, start_time_ms, run_id),
    KEY executions_visibility_by_workflow_id (namespace_id, workflow_id, start_time_ms, run_id),
    KEY executions_visibility_by_type (namespace_id, workflow_type, start_time_ms, run_id),
    KEY executions_visibility_by_status (namespace_id, status, start_time_ms, run_id),
    KEY executions_visibility_by_task_queue (namespace_id, task_queue, start_time_ms, run_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
