-- +goose Up
-- When the overdue / expired event of a record was raised, so the clock job
-- raises each once; cleared when the date itself changes.
ALTER TABLE enrollments ADD COLUMN overdue_event_at INTEGER;
ALTER TABLE enrollments ADD COLUMN expired_event_at INTEGER;
CREATE INDEX enrollments_expires ON enrollments (expires_at) WHERE expires_at IS NOT NULL;

-- +goose Down
DROP INDEX enrollments_expires;
ALTER TABLE enrollments DROP COLUMN expired_event_at;
ALTER TABLE enrollments DROP COLUMN overdue_event_at;
