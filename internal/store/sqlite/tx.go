package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/store"
)

// tx implements store.Tx on one SQL transaction of the writer connection.
// ws holds the writer's prepared multi-row INSERTs (see writestmts.go).
type tx struct {
	queries
	sqlTx *sql.Tx
	ws    *writeStmts
}

func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (t *tx) ConnectionCreate(ctx context.Context, c *store.Connection) error {
	settings, err := jsonText(c.Settings)
	if err != nil {
		return err
	}
	names, err := jsonText(nonNil(c.SecretNames))
	if err != nil {
		return err
	}
	_, err = t.db.ExecContext(ctx, `INSERT INTO connections (`+connectionColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		c.ID, c.Provider, c.Name, c.Tenant, settings, c.SecretsCiphertext, names, int64(c.SyncInterval/time.Second),
		c.Paused, unix(c.CreatedAt), unix(c.UpdatedAt), unixPtr(c.LastSyncAt), c.LastSyncStatus, c.LastSyncError,
		unixPtr(c.LastFullSyncAt))
	if isUnique(err) {
		return fmt.Errorf("connection name %q is taken: %w", c.Name, store.ErrConflict)
	}
	return err
}

func (t *tx) ConnectionUpdate(ctx context.Context, c *store.Connection) error {
	settings, err := jsonText(c.Settings)
	if err != nil {
		return err
	}
	names, err := jsonText(nonNil(c.SecretNames))
	if err != nil {
		return err
	}
	res, err := t.db.ExecContext(ctx, `UPDATE connections SET provider = ?, name = ?, tenant = ?, settings = ?,
		secrets_ciphertext = ?, secret_names = ?, sync_interval_s = ?, paused = ?, updated_at = ?, last_sync_at = ?,
		last_sync_status = ?, last_sync_error = ?, last_full_sync_at = ? WHERE id = ?`,
		c.Provider, c.Name, c.Tenant, settings, c.SecretsCiphertext, names, int64(c.SyncInterval/time.Second), c.Paused,
		unix(c.UpdatedAt), unixPtr(c.LastSyncAt), c.LastSyncStatus, c.LastSyncError, unixPtr(c.LastFullSyncAt), c.ID)
	if isUnique(err) {
		return fmt.Errorf("connection name %q is taken: %w", c.Name, store.ErrConflict)
	}
	return affected(res, err, "connection "+c.ID)
}

func affected(res interface{ RowsAffected() (int64, error) }, err error, what string) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

func (t *tx) ConnectionDelete(ctx context.Context, id string) error {
	res, err := t.db.ExecContext(ctx, `DELETE FROM connections WHERE id = ?`, id)
	return affected(res, err, "connection "+id)
}

func (t *tx) APIKeyCreate(ctx context.Context, k *store.APIKey) error {
	_, err := t.db.ExecContext(ctx, `INSERT INTO api_keys (id, name, prefix, hash, read_only, created_at) VALUES (?,?,?,?,?,?)`,
		k.ID, k.Name, k.Prefix, k.Hash, k.ReadOnly, unix(k.CreatedAt))
	if isUnique(err) {
		return fmt.Errorf("api key: %w", store.ErrConflict)
	}
	return err
}

func (t *tx) APIKeyDelete(ctx context.Context, id string) error {
	res, err := t.db.ExecContext(ctx, `DELETE FROM api_keys WHERE id = ?`, id)
	return affected(res, err, "api key "+id)
}

// enrollmentData is what goes into the data column: the record without the
// fields that have their own columns or come from the connection, compressed
// (see encodeDocument).
func enrollmentData(r lms.CourseEnrollment) ([]byte, error) {
	r.ConnectionID, r.ID, r.Provider = "", "", ""
	r.RemoteDeletedAt, r.SyncedAt = nil, nil
	js, err := gojson.Marshal(r)
	if err != nil {
		return nil, err
	}
	return encodeDocument(js), nil
}

const enrollmentInsertHead = `INSERT INTO enrollments (connection_id, id, provider, user_id, user_email, course_id, status,
		due_at, expires_at, changed_at, synced_at, remote_deleted_at, content_hash, seen_run, data) VALUES `

const enrollmentRowGroup = "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"

func enrollmentUpsertQuery(n int) string {
	return enrollmentInsertHead + valuesList(n, enrollmentRowGroup) + ` ON CONFLICT (connection_id, id) DO UPDATE SET provider = excluded.provider,
			user_id = excluded.user_id, user_email = excluded.user_email, course_id = excluded.course_id,
			status = excluded.status, due_at = excluded.due_at, expires_at = excluded.expires_at,
			changed_at = excluded.changed_at, synced_at = excluded.synced_at,
			remote_deleted_at = excluded.remote_deleted_at, content_hash = excluded.content_hash,
			seen_run = excluded.seen_run, data = excluded.data,
			overdue_event_at = CASE WHEN enrollments.due_at IS excluded.due_at THEN enrollments.overdue_event_at END,
			expired_event_at = CASE WHEN enrollments.expires_at IS excluded.expires_at THEN enrollments.expired_event_at END`
}

func enrollmentInsertNewQuery(n int) string {
	return enrollmentInsertHead + valuesList(n, enrollmentRowGroup) + ` ON CONFLICT (connection_id, id) DO NOTHING RETURNING id`
}

func (t *tx) EnrollmentUpsertMany(ctx context.Context, rows []store.Enrollment) error {
	return forChunks(len(rows), func(start, n, index int) error {
		args, err := enrollmentArgs(rows[start : start+n])
		if err != nil {
			return err
		}
		if _, err := t.stmt(ctx, writeUpsert, index).ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("upsert enrollments: %w", err)
		}
		return nil
	})
}

func (t *tx) EnrollmentInsertNew(ctx context.Context, rows []store.Enrollment) ([]string, error) {
	var inserted []string
	err := forChunks(len(rows), func(start, n, index int) error {
		args, err := enrollmentArgs(rows[start : start+n])
		if err != nil {
			return err
		}
		rs, err := t.stmt(ctx, writeInsertNew, index).QueryContext(ctx, args...)
		if err != nil {
			return fmt.Errorf("insert enrollments: %w", err)
		}
		defer rs.Close()
		for rs.Next() {
			var id string
			if err := rs.Scan(&id); err != nil {
				return err
			}
			inserted = append(inserted, id)
		}
		if err := rs.Err(); err != nil {
			return fmt.Errorf("insert enrollments: %w", err)
		}
		return nil
	})
	return inserted, err
}

// enrollmentArgs are the parameters of rows (at most chunkSizes[0]) for an
// INSERT of enrollmentInsertHead, in enrollmentRowGroup order.
func enrollmentArgs(rows []store.Enrollment) ([]any, error) {
	const cols = 15
	args := make([]any, 0, len(rows)*cols)
	for _, e := range rows {
		r := e.Record
		data := e.Encoded
		if data == nil {
			var err error
			if data, err = enrollmentData(r); err != nil {
				return nil, err
			}
		}
		var userID, courseID string
		if r.User != nil {
			userID = r.User.ID
		}
		if r.Course != nil {
			courseID = r.Course.ID
		}
		args = append(args, r.ConnectionID, r.ID, r.Provider, userID, strings.ToLower(r.User.PrimaryEmail()), courseID,
			string(r.Status), unixPtr(r.DueAt), unixPtr(r.ExpiresAt), unix(e.ChangedAt), unixPtr(r.SyncedAt),
			unixPtr(r.RemoteDeletedAt), e.ContentHash, e.SeenRun, data)
	}
	return args, nil
}

func (t *tx) EnrollmentMarkSeen(ctx context.Context, connectionID, runID string, ids []string) error {
	for start := 0; start < len(ids); start += 500 {
		part := ids[start:min(start+500, len(ids))]
		args := make([]any, 0, len(part)+2)
		args = append(args, runID, connectionID)
		for _, id := range part {
			args = append(args, id)
		}
		if _, err := t.db.ExecContext(ctx, `UPDATE enrollments SET seen_run = ? WHERE connection_id = ? AND id IN (`+
			placeholders(len(part))+`)`, args...); err != nil {
			return fmt.Errorf("mark seen: %w", err)
		}
	}
	return nil
}

func (t *tx) EnrollmentSweep(ctx context.Context, p store.EnrollmentSweepParams) ([]store.Enrollment, error) {
	rows, err := t.db.QueryContext(ctx, `SELECT `+enrollmentColumns+`
		FROM enrollments e JOIN connections c ON c.id = e.connection_id
		WHERE e.connection_id = ? AND e.seen_run <> ? AND e.remote_deleted_at IS NULL`, p.ConnectionID, p.RunID)
	if err != nil {
		return nil, err
	}
	var swept []store.Enrollment
	for rows.Next() {
		e, err := scanEnrollment(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		swept = append(swept, *e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(swept) == 0 {
		return nil, nil
	}
	deletedAt := unix(p.DeletedAt)
	if _, err := t.db.ExecContext(ctx, `UPDATE enrollments SET remote_deleted_at = ?, changed_at = ?
		WHERE connection_id = ? AND seen_run <> ? AND remote_deleted_at IS NULL`, deletedAt, deletedAt, p.ConnectionID, p.RunID); err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	for i := range swept {
		swept[i].Record.RemoteDeletedAt = lms.UTC(p.DeletedAt)
		swept[i].ChangedAt = p.DeletedAt
	}
	return swept, nil
}

func (t *tx) EnrollmentMarkDateEvent(ctx context.Context, connectionID, id, typ string, at time.Time) error {
	column := map[string]string{store.EventEnrollmentOverdue: "overdue_event_at", store.EventEnrollmentExpired: "expired_event_at"}[typ]
	if column == "" {
		return fmt.Errorf("mark date event: %q is not a date event", typ)
	}
	res, err := t.db.ExecContext(ctx, `UPDATE enrollments SET `+column+` = ? WHERE connection_id = ? AND id = ?`, unix(at), connectionID, id)
	return affected(res, err, "enrollment "+id)
}

func (t *tx) peopleUpsert(ctx context.Context, table, connectionID string, ids []string, values []any) error {
	for start := 0; start < len(ids); start += 300 {
		end := min(start+300, len(ids))
		var sb strings.Builder
		sb.WriteString(`INSERT INTO ` + table + ` (connection_id, id, data) VALUES `)
		args := make([]any, 0, (end-start)*3)
		for i := start; i < end; i++ {
			if i > start {
				sb.WriteString(",")
			}
			sb.WriteString("(?,?,?)")
			data, err := json.Marshal(values[i])
			if err != nil {
				return err
			}
			args = append(args, connectionID, ids[i], string(data))
		}
		// Rows whose data did not change are not rewritten.
		sb.WriteString(` ON CONFLICT (connection_id, id) DO UPDATE SET data = excluded.data WHERE data <> excluded.data`)
		if _, err := t.db.ExecContext(ctx, sb.String(), args...); err != nil {
			return fmt.Errorf("upsert %s: %w", table, err)
		}
	}
	return nil
}

func (t *tx) UserUpsertMany(ctx context.Context, connectionID string, users []lms.User) error {
	ids, values := make([]string, 0, len(users)), make([]any, 0, len(users))
	for _, u := range users {
		if u.ID != "" {
			ids, values = append(ids, u.ID), append(values, u)
		}
	}
	return t.peopleUpsert(ctx, "users", connectionID, ids, values)
}

func (t *tx) CourseUpsertMany(ctx context.Context, connectionID string, courses []lms.Course) error {
	ids, values := make([]string, 0, len(courses)), make([]any, 0, len(courses))
	for _, c := range courses {
		if c.ID != "" {
			ids, values = append(ids, c.ID), append(values, c)
		}
	}
	return t.peopleUpsert(ctx, "courses", connectionID, ids, values)
}

func (t *tx) SyncRunCreate(ctx context.Context, r *store.SyncRun) error {
	stats, err := jsonText(r.Stats)
	if err != nil {
		return err
	}
	_, err = t.db.ExecContext(ctx, `INSERT INTO sync_runs (id, connection_id, kind, trigger, status, created_at, started_at,
		finished_at, heartbeat_at, changed_since, stats, error) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
		r.ID, r.ConnectionID, r.Kind, r.Trigger, r.Status, unix(r.CreatedAt), unixPtr(r.StartedAt), unixPtr(r.FinishedAt),
		unixPtr(r.HeartbeatAt), unixPtr(r.ChangedSince), stats, r.Error)
	if isUnique(err) {
		return fmt.Errorf("connection %s already has an active sync run: %w", r.ConnectionID, store.ErrConflict)
	}
	if err != nil {
		return err
	}
	return t.checkpointPut(ctx, r)
}

func (t *tx) SyncRunUpdate(ctx context.Context, r *store.SyncRun) error {
	stats, err := jsonText(r.Stats)
	if err != nil {
		return err
	}
	res, err := t.db.ExecContext(ctx, `UPDATE sync_runs SET kind = ?, status = ?, started_at = ?, finished_at = ?,
		heartbeat_at = ?, changed_since = ?, stats = ?, error = ? WHERE id = ?`,
		r.Kind, r.Status, unixPtr(r.StartedAt), unixPtr(r.FinishedAt), unixPtr(r.HeartbeatAt), unixPtr(r.ChangedSince),
		stats, r.Error, r.ID)
	if isUnique(err) {
		return fmt.Errorf("connection %s already has an active sync run: %w", r.ConnectionID, store.ErrConflict)
	}
	if err := affected(res, err, "sync run "+r.ID); err != nil {
		return err
	}
	return t.checkpointPut(ctx, r)
}

func (t *tx) checkpointPut(ctx context.Context, r *store.SyncRun) error {
	if r.Cursor == "" {
		_, err := t.db.ExecContext(ctx, `DELETE FROM checkpoints WHERE run_id = ?`, r.ID)
		return err
	}
	_, err := t.db.ExecContext(ctx, `INSERT INTO checkpoints (run_id, cursor, updated_at) VALUES (?,?,?)
		ON CONFLICT (run_id) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at`,
		r.ID, r.Cursor, checkpointTime(r))
	return err
}

func eventAppendQuery(n int) string {
	return `INSERT INTO events (id, type, connection_id, enrollment_id, occurred_at, data) VALUES ` +
		valuesList(n, "(?,?,?,?,?,?)") + ` RETURNING seq, id`
}

func (t *tx) EventAppend(ctx context.Context, events []store.Event) error {
	// One multi-row INSERT per chunk (see chunkSizes): a sync page raises up
	// to a page of events, and per-row statements were a third of the cost
	// of storing a page.
	return forChunks(len(events), func(start, n, index int) error {
		part := events[start : start+n]
		args := make([]any, 0, len(part)*6)
		byID := make(map[string]int, len(part))
		for i, e := range part {
			// Payloads are stored compressed like records (see encodeDocument):
			// a first sync raises an event per record, and the feed's pages are
			// half the bytes to write and to read.
			args = append(args, e.ID, e.Type, e.ConnectionID, e.EnrollmentID, unix(e.OccurredAt), encodeDocument(e.Data))
			byID[e.ID] = start + i
		}
		// SQLite does not promise RETURNING rows in insertion order, so map
		// the sequence numbers back by id.
		rows, err := t.stmt(ctx, writeEventAppend, index).QueryContext(ctx, args...)
		if err != nil {
			return fmt.Errorf("append events: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var seq int64
			var id string
			if err := rows.Scan(&seq, &id); err != nil {
				return err
			}
			events[byID[id]].Seq = seq
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("append events: %w", err)
		}
		return nil
	})
}

func (t *tx) WebhookCreate(ctx context.Context, w *store.Webhook) error {
	events, err := jsonText(nonNil(w.Events))
	if err != nil {
		return err
	}
	_, err = t.db.ExecContext(ctx, `INSERT INTO webhooks (`+webhookColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		w.ID, w.URL, events, w.SecretCiphertext, w.Enabled, w.DisabledReason, w.CursorSeq, w.ConsecutiveFailures,
		unix(w.CreatedAt), unix(w.UpdatedAt))
	return err
}

func (t *tx) WebhookUpdate(ctx context.Context, w *store.Webhook) error {
	events, err := jsonText(nonNil(w.Events))
	if err != nil {
		return err
	}
	res, err := t.db.ExecContext(ctx, `UPDATE webhooks SET url = ?, events = ?, secret_ciphertext = ?, enabled = ?,
		disabled_reason = ?, cursor_seq = ?, consecutive_failures = ?, updated_at = ? WHERE id = ?`,
		w.URL, events, w.SecretCiphertext, w.Enabled, w.DisabledReason, w.CursorSeq, w.ConsecutiveFailures,
		unix(w.UpdatedAt), w.ID)
	return affected(res, err, "webhook "+w.ID)
}

func (t *tx) WebhookDelete(ctx context.Context, id string) error {
	res, err := t.db.ExecContext(ctx, `DELETE FROM webhooks WHERE id = ?`, id)
	return affected(res, err, "webhook "+id)
}

func (t *tx) DeliveryCreate(ctx context.Context, d *store.Delivery) error {
	_, err := t.db.ExecContext(ctx, `INSERT INTO deliveries (id, webhook_id, event_id, event_seq, attempt, status_code,
		error, succeeded, duration_ms, attempted_at, next_attempt) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
		d.ID, d.WebhookID, d.EventID, d.EventSeq, d.Attempt, d.StatusCode, d.Error, d.Succeeded, d.DurationMS,
		unix(d.AttemptedAt), unixPtr(d.NextAttempt))
	return err
}

func (t *tx) IdempotencyPut(ctx context.Context, r *store.IdempotencyRecord) error {
	_, err := t.db.ExecContext(ctx, `INSERT INTO idempotency_keys (api_key_id, key, method, path, request_hash, status,
		body, created_at) VALUES (?,?,?,?,?,?,?,?)`, r.APIKeyID, r.Key, r.Method, r.Path, r.RequestHash, r.Status,
		r.Body, unix(r.CreatedAt))
	if isUnique(err) {
		return fmt.Errorf("idempotency key %q: %w", r.Key, store.ErrConflict)
	}
	return err
}

func (t *tx) IdempotencyPurge(ctx context.Context, before time.Time) (int64, error) {
	res, err := t.db.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at < ?`, unix(before))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// checkpointTime records when the checkpoint moved: the run's heartbeat,
// which the sync engine refreshes from its clock with every page.
func checkpointTime(r *store.SyncRun) int64 {
	if r.HeartbeatAt != nil {
		return unix(*r.HeartbeatAt)
	}
	return unix(r.CreatedAt)
}
