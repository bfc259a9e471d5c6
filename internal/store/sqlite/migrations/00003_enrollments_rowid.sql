-- +goose Up
-- enrollments becomes an ordinary rowid table with a unique index on its key.
-- As a WITHOUT ROWID table it kept each ~1-3 KB record (the unified JSON,
-- vendor remote_data included) in the cells of its primary-key B-tree, which
-- SQLite advises against for rows over ~1/20 of a page: every insert moved
-- those large cells through the key order. A rowid table appends rows to its
-- own B-tree, and the unique index (connection_id, id) is small; ON CONFLICT
-- (connection_id, id) upserts use it. Columns and other indexes are unchanged.
CREATE TABLE enrollments_new (
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
    overdue_event_at  INTEGER,
    expired_event_at  INTEGER
);
INSERT INTO enrollments_new (connection_id, id, provider, user_id, user_email, course_id, status, due_at, expires_at,
    changed_at, synced_at, remote_deleted_at, content_hash, seen_run, data, overdue_event_at, expired_event_at)
SELECT connection_id, id, provider, user_id, user_email, course_id, status, due_at, expires_at,
    changed_at, synced_at, remote_deleted_at, content_hash, seen_run, data, overdue_event_at, expired_event_at
FROM enrollments ORDER BY connection_id, id;
DROP TABLE enrollments;
ALTER TABLE enrollments_new RENAME TO enrollments;
CREATE UNIQUE INDEX enrollments_key ON enrollments (connection_id, id);
CREATE INDEX enrollments_user ON enrollments (user_id, connection_id, id);
CREATE INDEX enrollments_email ON enrollments (user_email, connection_id, id);
CREATE INDEX enrollments_course ON enrollments (course_id, connection_id, id);
CREATE INDEX enrollments_status ON enrollments (status, connection_id, id);
CREATE INDEX enrollments_due ON enrollments (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX enrollments_changed ON enrollments (changed_at);
CREATE INDEX enrollments_expires ON enrollments (expires_at) WHERE expires_at IS NOT NULL;

-- +goose Down
CREATE TABLE enrollments_old (
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
    overdue_event_at  INTEGER,
    expired_event_at  INTEGER,
    PRIMARY KEY (connection_id, id)
) WITHOUT ROWID;
INSERT INTO enrollments_old SELECT connection_id, id, provider, user_id, user_email, course_id, status, due_at,
    expires_at, changed_at, synced_at, remote_deleted_at, content_hash, seen_run, data, overdue_event_at,
    expired_event_at FROM enrollments;
DROP TABLE enrollments;
ALTER TABLE enrollments_old RENAME TO enrollments;
CREATE INDEX enrollments_user ON enrollments (user_id, connection_id, id);
CREATE INDEX enrollments_email ON enrollments (user_email, connection_id, id);
CREATE INDEX enrollments_course ON enrollments (course_id, connection_id, id);
CREATE INDEX enrollments_status ON enrollments (status, connection_id, id);
CREATE INDEX enrollments_due ON enrollments (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX enrollments_changed ON enrollments (changed_at);
CREATE INDEX enrollments_expires ON enrollments (expires_at) WHERE expires_at IS NOT NULL;
