-- Bookkeeping of the schema tool, created before any versioned file is applied
-- (it is what records which versions have been). Idempotent.

-- The database's current schema version: exactly one row (name = 'legato').
CREATE TABLE IF NOT EXISTS schema_version (
    name                    VARCHAR(64)  NOT NULL,
    version                 VARCHAR(32)  NOT NULL,
    min_compatible_version  VARCHAR(32)  NOT NULL,
    updated_at_ms           BIGINT       NOT NULL,
    PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per version applied, in the order they were.
CREATE TABLE IF NOT EXISTS schema_update_history (
    version                 VARCHAR(32)  NOT NULL,
    min_compatible_version  VARCHAR(32)  NOT NULL,
    description             TEXT         NOT NULL,
    files                   TEXT         NOT NULL,
    applied_at_ms           BIGINT       NOT NULL,
    PRIMARY KEY (version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
