-- +goose Up
-- The same schema as the SQLite engine, in PostgreSQL's own types:
--
-- * Times are timestamptz. The engine writes them at whole seconds, as SQLite
--   stores them, so both engines answer the same time filters identically.
-- * Keys and the columns enrollments are filtered on are COLLATE "C": pages
--   are walked in key order with (a, b) > (x, y) cursors, so the order must be
--   bytewise (what SQLite and Go's sort use), the same on every replica, and
--   immune to glibc collation changes that silently reorder text indexes.
-- * JSON that Registrar builds for itself and only decodes (settings, lists,
--   stats) is jsonb. Payloads whose bytes are a contract are json, which keeps
--   the text verbatim: enrollment data carries the vendor's raw record, event
--   data is served and signed as stored, and both may hold vendor strings
--   with \u0000, which jsonb refuses.

CREATE TABLE connections (
    id                 text COLLATE "C" PRIMARY KEY,
    provider           text NOT NULL,
    name               text NOT NULL UNIQUE,
    tenant             text NOT NULL DEFAULT '',
    settings           jsonb NOT NULL DEFAULT '{}',
    secrets_ciphertext bytea,
    secret_names       jsonb NOT NULL DEFAULT '[]',
    sync_interval      interval NOT NULL,
    paused             boolean NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    last_sync_at       timestamptz,
    last_sync_status   text NOT NULL DEFAULT '',
    last_sync_error    text NOT NULL DEFAULT '',
    last_full_sync_at  timestamptz
);
CREATE INDEX connections_tenant ON connections (tenant);

CREATE TABLE api_keys (
    id         text COLLATE "C" PRIMARY KEY,
    name       text NOT NULL,
    prefix     text NOT NULL,
    hash       text NOT NULL UNIQUE,
    read_only  boolean NOT NULL,
    created_at timestamptz NOT NULL
);

-- The people and courses enrollments point at, per connection.
CREATE TABLE users (
    connection_id text COLLATE "C" NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    id            text COLLATE "C" NOT NULL,
    data          json NOT NULL,
    PRIMARY KEY (connection_id, id)
);

CREATE TABLE courses (
    connection_id text COLLATE "C" NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    id            text COLLATE "C" NOT NULL,
    data          json NOT NULL,
    PRIMARY KEY (connection_id, id)
);

-- One row per (connection, vendor enrollment id). Every filterable field has
-- a column; the whole unified record is in data.
CREATE TABLE enrollments (
    connection_id     text COLLATE "C" NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    id                text COLLATE "C" NOT NULL,
    provider          text NOT NULL,
    user_id           text COLLATE "C" NOT NULL DEFAULT '',
    user_email        text COLLATE "C" NOT NULL DEFAULT '',
    course_id         text COLLATE "C" NOT NULL DEFAULT '',
    status            text COLLATE "C" NOT NULL,
    due_at            timestamptz,
    expires_at        timestamptz,
    changed_at        timestamptz NOT NULL,
    synced_at         timestamptz,
    remote_deleted_at timestamptz,
    content_hash      text NOT NULL,
    seen_run          text NOT NULL DEFAULT '',
    data              json NOT NULL,
    -- When the overdue / expired event of the record was raised, so the
    -- clock job raises each once; cleared when the date itself changes.
    overdue_event_at  timestamptz,
    expired_event_at  timestamptz,
    PRIMARY KEY (connection_id, id)
);
CREATE INDEX enrollments_user ON enrollments (user_id, connection_id, id);
CREATE INDEX enrollments_email ON enrollments (user_email, connection_id, id);
CREATE INDEX enrollments_course ON enrollments (course_id, connection_id, id);
CREATE INDEX enrollments_status ON enrollments (status, connection_id, id);
CREATE INDEX enrollments_due ON enrollments (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX enrollments_expires ON enrollments (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX enrollments_changed ON enrollments (changed_at);

CREATE TABLE sync_runs (
    id            text COLLATE "C" PRIMARY KEY,
    connection_id text COLLATE "C" NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    kind          text NOT NULL,
    trigger       text NOT NULL,
    status        text NOT NULL,
    created_at    timestamptz NOT NULL,
    started_at    timestamptz,
    finished_at   timestamptz,
    heartbeat_at  timestamptz,
    changed_since timestamptz,
    stats         jsonb NOT NULL DEFAULT '{}',
    error         text NOT NULL DEFAULT ''
);
CREATE INDEX sync_runs_connection ON sync_runs (connection_id, created_at);
-- At most one queued or running run per connection, enforced by the database
-- so that two replicas starting a sync at once cannot both succeed.
CREATE UNIQUE INDEX sync_runs_one_active ON sync_runs (connection_id) WHERE status IN ('queued', 'running');

-- The checkpoint of a run: the provider cursor after its last committed page.
CREATE TABLE checkpoints (
    run_id     text COLLATE "C" PRIMARY KEY REFERENCES sync_runs (id) ON DELETE CASCADE,
    cursor     text NOT NULL,
    updated_at timestamptz NOT NULL
);

-- The change feed (outbox). An identity column alone does not give commit
-- order across concurrent transactions; EventAppend serialises appends with a
-- transaction-level advisory lock so that it does (see tx.go).
CREATE TABLE events (
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id            text NOT NULL UNIQUE,
    type          text NOT NULL,
    connection_id text NOT NULL DEFAULT '',
    enrollment_id text NOT NULL DEFAULT '',
    occurred_at   timestamptz NOT NULL,
    -- NULL only for an event appended without a payload.
    data          json
);
CREATE INDEX events_connection ON events (connection_id, seq);
CREATE INDEX events_type ON events (type, seq);

CREATE TABLE webhooks (
    id                   text COLLATE "C" PRIMARY KEY,
    url                  text NOT NULL,
    events               jsonb NOT NULL DEFAULT '[]',
    secret_ciphertext    bytea NOT NULL,
    enabled              boolean NOT NULL,
    disabled_reason      text NOT NULL DEFAULT '',
    cursor_seq           bigint NOT NULL DEFAULT 0,
    consecutive_failures integer NOT NULL DEFAULT 0,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL
);

CREATE TABLE deliveries (
    id           text COLLATE "C" PRIMARY KEY,
    webhook_id   text COLLATE "C" NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id     text NOT NULL,
    event_seq    bigint NOT NULL,
    attempt      integer NOT NULL,
    status_code  integer NOT NULL DEFAULT 0,
    error        text NOT NULL DEFAULT '',
    succeeded    boolean NOT NULL,
    duration_ms  bigint NOT NULL DEFAULT 0,
    attempted_at timestamptz NOT NULL,
    next_attempt timestamptz
);
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, id);

CREATE TABLE idempotency_keys (
    api_key_id   text NOT NULL,
    key          text NOT NULL,
    method       text NOT NULL,
    path         text NOT NULL,
    request_hash text NOT NULL,
    status       integer NOT NULL,
    body         bytea NOT NULL,
    created_at   timestamptz NOT NULL,
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
