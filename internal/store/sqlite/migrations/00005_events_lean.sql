-- +goose Up
-- The change feed loses the UNIQUE index on its event ids, and its payloads
-- are stored compressed (same format as enrollments.data; rows written
-- before stay plain JSON and still read).
--
-- Nothing looks an event up by id (the feed and webhooks read by seq, and
-- ids are made unique by construction: 80 random bits), yet the index cost
-- one B-tree insert per event, on the single writer, and a first sync
-- raises one event per record. Event ids stay in the row.
--
-- seq keeps its values and its AUTOINCREMENT high-water mark, so feed
-- cursors and webhook positions held by clients stay valid.
CREATE TABLE events_new (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL,
    type          TEXT NOT NULL,
    connection_id TEXT NOT NULL DEFAULT '',
    enrollment_id TEXT NOT NULL DEFAULT '',
    occurred_at   INTEGER NOT NULL,
    data          BLOB NOT NULL
);
INSERT INTO events_new (seq, id, type, connection_id, enrollment_id, occurred_at, data)
SELECT seq, id, type, connection_id, enrollment_id, occurred_at, data FROM events ORDER BY seq;
INSERT INTO sqlite_sequence (name, seq)
SELECT 'events_new', seq FROM sqlite_sequence WHERE name = 'events'
    AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'events_new');
UPDATE sqlite_sequence SET seq = max(seq, (SELECT seq FROM sqlite_sequence WHERE name = 'events'))
WHERE name = 'events_new' AND EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'events');
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE INDEX events_connection ON events (connection_id, seq);
CREATE INDEX events_type ON events (type, seq);

-- +goose Down
CREATE TABLE events_old (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    type          TEXT NOT NULL,
    connection_id TEXT NOT NULL DEFAULT '',
    enrollment_id TEXT NOT NULL DEFAULT '',
    occurred_at   INTEGER NOT NULL,
    data          TEXT NOT NULL
);
-- Compressed payloads cannot be decoded in SQL: a downgrade keeps the ids,
-- order and types of the events written since, with an empty payload.
INSERT INTO events_old (seq, id, type, connection_id, enrollment_id, occurred_at, data)
SELECT seq, id, type, connection_id, enrollment_id, occurred_at,
    CASE WHEN typeof(data) = 'text' THEN data ELSE '{}' END FROM events ORDER BY seq;
UPDATE sqlite_sequence SET seq = max(seq, (SELECT seq FROM sqlite_sequence WHERE name = 'events'))
WHERE name = 'events_old' AND EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'events');
DROP TABLE events;
ALTER TABLE events_old RENAME TO events;
CREATE INDEX events_connection ON events (connection_id, seq);
CREATE INDEX events_type ON events (type, seq);
