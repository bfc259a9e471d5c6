-- +goose Up
-- Nothing looks an event up by id (the feed and webhooks read by seq) and
-- ids are unique by construction (80 random bits), yet the UNIQUE index cost
-- an index insert per event, and a first sync raises one per record. The
-- SQLite engine drops it too (its migration 00005).
ALTER TABLE events DROP CONSTRAINT IF EXISTS events_id_key;

-- +goose Down
ALTER TABLE events ADD CONSTRAINT events_id_key UNIQUE (id);
