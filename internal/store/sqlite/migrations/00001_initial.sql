-- +goose Up
-- Times are INTEGER unix seconds (UTC): compact, fast to compare, and every
-- vendor publishes second precision. JSON payloads are TEXT.

CREATE TABLE connections (
    id                 TEXT PRIMARY KEY,
    provider           TEXT NOT NULL,
    name               TEXT NOT NULL UNIQUE,
    tenant             TEXT NOT NULL DEFAULT '',
    settings           TEXT NOT NULL DEFAULT '{}',
    secrets_ciphertext BLOB,
    secret_names       TEXT NOT NULL DEFAULT '[]',
    sync_interval_s    INTEGER NOT NULL,
    paused             INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    last_sync_at       INTEGER,
    last_sync_status   TEXT NOT NULL DEFAULT '',
    last_sync_error    TEXT NOT NULL DEFAULT '',
    last_full_sync_at  INTEGER
);
CREATE INDEX connections_tenant ON connections (tenant);

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    prefix     TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE,
    read_only  INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

-- The people and courses enrollments point at, per connection.
CREATE TABLE users (
    connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    id            TEXT NOT NULL,
    data          TEXT NOT NULL,
    PRIMARY KEY (connection_id, id)
) WITHOUT ROWID;

CREATE TABLE courses (
    connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    id            TEXT NOT NULL,
    data          TEXT NOT NULL,
    PRIMARY KEY (connection_id, id)
) WITHOUT ROWID;

-- One row per (connection, vendor enrollment id). Every filterable field has
-- a column; the whole unified record is in data.
CREATE TABLE enrollments (
    connection_id     TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    id                TEXT NOT NULL,
    provider          TEXT NOT NULL,
    user_id           TEXT NOT NULL DEFAULT '',
    user_email        TEXT NOT NULL DEFAULT '',
    course_id         TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL,
    due_at            INTEGER,
    expires_at        INTEGER,
    changed_at        INTEGER NOT NULL,
    synced_at         INTEGER,
    remote_deleted_at INTEGER,
    content_hash      TEXT NOT NULL,
    seen_run          TEXT NOT NULL DEFAULT '',
    data              TEXT NOT NULL,
    PRIMARY KEY (connection_id, id)
) WITHOUT ROWID;
CREATE INDEX enrollments_user ON enrollments (user_id, connection_id, id);
CREATE INDEX enrollments_email ON enrollments (user_email, connection_id, id);
CREATE INDEX enrollments_course ON enrollments (course_id, connection_id, id);
CREATE INDEX enrollments_status ON enrollments (status, connection_id, id);
CREATE INDEX enrollments_due ON enrollments (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX enrollments_changed ON enrollments (changed_at);

CREATE TABLE sync_runs (
    id            TEXT PRIMARY KEY,
    connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    trigger       TEXT NOT NULL,
    status        TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    started_at    INTEGER,
    finished_at   INTEGER,
    heartbeat_at  INTEGER,
    changed_since INTEGER,
    stats         TEXT NOT NULL DEFAULT '{}',
    error         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sync_runs_connection ON sync_runs (connection_id, created_at);
-- At most one queued or running run per connection.
CREATE UNIQUE INDEX sync_runs_one_active ON sync_runs (connection_id) WHERE status IN ('queued', 'running');

-- The checkpoint of a run: the provider cursor after its last committed page.
CREATE TABLE checkpoints (
    run_id     TEXT PRIMARY KEY REFERENCES sync_runs (id) ON DELETE CASCADE,
    cursor     TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- The change feed (outbox). seq is assigned in commit order by the single
-- writer, so a reader never sees a gap filled in later.
CREATE TABLE events (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    type          TEXT NOT NULL,
    connection_id TEXT NOT NULL DEFAULT '',
    enrollment_id TEXT NOT NULL DEFAULT '',
    occurred_at   INTEGER NOT NULL,
    data          TEXT NOT NULL
);
CREATE INDEX events_connection ON events (connection_id, seq);
CREATE INDEX events_type ON events (type, seq);

CREATE TABLE webhooks (
    id                   TEXT PRIMARY KEY,
    url                  TEXT NOT NULL,
    events               TEXT NOT NULL DEFAULT '[]',
    secret_ciphertext    BLOB NOT NULL,
    enabled              INTEGER NOT NULL,
    disabled_reason      TEXT NOT NULL DEFAULT '',
    cursor_seq           INTEGER NOT NULL DEFAULT 0,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);

CREATE TABLE deliveries (
    id           TEXT PRIMARY KEY,
    webhook_id   TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id     TEXT NOT NULL,
    event_seq    INTEGER NOT NULL,
    attempt      INTEGER NOT NULL,
    status_code  INTEGER NOT NULL DEFAULT 0,
    error        TEXT NOT NULL DEFAULT '',
    succeeded    INTEGER NOT NULL,
    duration_ms  INTEGER NOT NULL DEFAULT 0,
    attempted_at INTEGER NOT NULL,
    next_attempt INTEGER
);
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, id);

CREATE TABLE idempotency_keys (
    api_key_id   TEXT NOT NULL,
    key          TEXT NOT NULL,
    method       TEXT NOT NULL,
    path         TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL,
    body         BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (api_key_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE deliveries;
DROP TABLE webhooks;
DROP TABLE events;
DROP TABLE checkpoints;
DROP TABLE sync_runs;
DROP TABLE enrollments;
DROP TABLE courses;
DROP TABLE users;
DROP TABLE api_keys;
DROP TABLE connections;
