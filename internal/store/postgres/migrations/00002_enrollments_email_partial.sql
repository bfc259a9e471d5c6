-- +goose Up
-- As the SQLite engine's 00004: only records that have an email are in the
-- email index (Canvas and Absorb enrollment records carry none); email
-- filters add user_email <> '' so that the planner can use it.
DROP INDEX enrollments_email;
CREATE INDEX enrollments_email ON enrollments (user_email, connection_id, id) WHERE user_email <> '';

-- +goose Down
DROP INDEX enrollments_email;
CREATE INDEX enrollments_email ON enrollments (user_email, connection_id, id);
