-- +goose Up
-- Only records that have an email are in the email index. Canvas and Absorb
-- enrollment records carry none, and each of them added an entry
-- ('', connection_id, id) to this index: one more B-tree insert per record
-- of every sync, for a filter that can never match them. Email filters add
-- user_email <> '' so that SQLite uses the partial index.
DROP INDEX enrollments_email;
CREATE INDEX enrollments_email ON enrollments (user_email, connection_id, id) WHERE user_email <> '';

-- +goose Down
DROP INDEX enrollments_email;
CREATE INDEX enrollments_email ON enrollments (user_email, connection_id, id);
