package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/jackc/pgx/v5"

	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/store"
)

// tx implements store.Tx on one pgx transaction.
type tx struct{ queries }

// upsertChunk bounds the rows sent in one statement; a sync page (up to 1000
// rows) is one statement, so one round trip.
const upsertChunk = 5000

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// affected turns "no row matched" into store.ErrNotFound.
func affected(n int64, what string) error {
	if n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

// Inserts that may collide use ON CONFLICT DO NOTHING and report a conflict
// when nothing was inserted, rather than catching SQLSTATE 23505: a failed
// statement aborts a PostgreSQL transaction, and a caller that gets
// ErrConflict may reasonably carry on in the same transaction, as it can on
// SQLite.

func (t *tx) ConnectionCreate(ctx context.Context, c *store.Connection) error {
	settings, err := json.Marshal(c.Settings)
	if err != nil {
		return err
	}
	names, err := json.Marshal(nonNil(c.SecretNames))
	if err != nil {
		return err
	}
	tag, err := t.db.Exec(ctx, `INSERT INTO connections (id, provider, name, tenant, settings, secrets_ciphertext,
		secret_names, sync_interval, paused, created_at, updated_at, last_sync_at, last_sync_status, last_sync_error,
		last_full_sync_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8::bigint * interval '1 second', $9, $10, $11, $12, $13, $14, $15)
		ON CONFLICT DO NOTHING`,
		c.ID, c.Provider, c.Name, c.Tenant, settings, c.SecretsCiphertext, names, int64(c.SyncInterval/time.Second),
		c.Paused, ts(c.CreatedAt), ts(c.UpdatedAt), tsPtr(c.LastSyncAt), c.LastSyncStatus, c.LastSyncError,
		tsPtr(c.LastFullSyncAt))
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("connection name %q is taken: %w", c.Name, store.ErrConflict)
	}
	return nil
}

func (t *tx) ConnectionUpdate(ctx context.Context, c *store.Connection) error {
	settings, err := json.Marshal(c.Settings)
	if err != nil {
		return err
	}
	names, err := json.Marshal(nonNil(c.SecretNames))
	if err != nil {
		return err
	}
	tag, err := t.db.Exec(ctx, `UPDATE connections SET provider = $1, name = $2, tenant = $3, settings = $4,
		secrets_ciphertext = $5, secret_names = $6, sync_interval = $7::bigint * interval '1 second', paused = $8,
		updated_at = $9, last_sync_at = $10, last_sync_status = $11, last_sync_error = $12, last_full_sync_at = $13
		WHERE id = $14`,
		c.Provider, c.Name, c.Tenant, settings, c.SecretsCiphertext, names, int64(c.SyncInterval/time.Second), c.Paused,
		ts(c.UpdatedAt), tsPtr(c.LastSyncAt), c.LastSyncStatus, c.LastSyncError, tsPtr(c.LastFullSyncAt), c.ID)
	if uniqueViolation(err) {
		return fmt.Errorf("connection name %q is taken: %w", c.Name, store.ErrConflict)
	}
	if err != nil {
		return err
	}
	return affected(tag.RowsAffected(), "connection "+c.ID)
}

func (t *tx) ConnectionDelete(ctx context.Context, id string) error {
	tag, err := t.db.Exec(ctx, `DELETE FROM connections WHERE id = $1`, id)
	if err != nil {
		return err
	}
	return affected(tag.RowsAffected(), "connection "+id)
}

func (t *tx) APIKeyCreate(ctx context.Context, k *store.APIKey) error {
	tag, err := t.db.Exec(ctx, `INSERT INTO api_keys (id, name, prefix, hash, read_only, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
		k.ID, k.Name, k.Prefix, k.Hash, k.ReadOnly, ts(k.CreatedAt))
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("api key: %w", store.ErrConflict)
	}
	return nil
}

func (t *tx) APIKeyDelete(ctx context.Context, id string) error {
	tag, err := t.db.Exec(ctx, `DELETE FROM api_keys WHERE id = $1`, id)
	if err != nil {
		return err
	}
	return affected(tag.RowsAffected(), "api key "+id)
}

// enrollmentData is what goes into the data column: the record without the
// fields that have their own columns or come from the connection.
func enrollmentData(r lms.CourseEnrollment) ([]byte, error) {
	r.ConnectionID, r.ID, r.Provider = "", "", ""
	r.RemoteDeletedAt, r.SyncedAt = nil, nil
	return gojson.Marshal(r)
}

// EnrollmentEncode implements store.Store: the data column's value.
func (s *Store) EnrollmentEncode(r lms.CourseEnrollment) ([]byte, error) { return enrollmentData(r) }

// EnrollmentStates, in a write transaction, first takes a lock on the
// connection's records, held until commit. Callers read states to diff a
// page against them and then write the page and its events (events.Apply);
// SQLite's single writer makes that read and those writes one step. Under
// READ COMMITTED two transactions touching the same connection (a sync page
// and an API write-back) could both diff against the same old state and
// both raise "created" for one record. The lock makes the second wait and
// diff against the first's result. Syncs of different connections do not
// wait for each other. The lock and the read travel in one round trip.
func (t *tx) EnrollmentStates(ctx context.Context, connectionID string, ids []string) (map[string]store.EnrollmentState, error) {
	if len(ids) == 0 {
		return map[string]store.EnrollmentState{}, nil
	}
	batch := &pgx.Batch{}
	batch.Queue(`SELECT pg_advisory_xact_lock($1, hashtext($2))`, enrollmentDiffLockClass, connectionID)
	batch.Queue(enrollmentStatesSQL, connectionID, ids)
	results := t.db.SendBatch(ctx, batch)
	defer results.Close()
	if _, err := results.Exec(); err != nil {
		return nil, fmt.Errorf("lock the records of connection %s: %w", connectionID, err)
	}
	rows, err := results.Query()
	if err != nil {
		return nil, err
	}
	states, err := scanEnrollmentStates(rows, len(ids))
	if err != nil {
		return nil, err
	}
	return states, results.Close()
}

// lastPerKey drops all but the last of rows sharing a key, keeping the
// position of the first: PostgreSQL refuses to update one row twice in one
// INSERT ... ON CONFLICT, while SQLite applies the rows in turn, so the last
// one wins there and must win here too.
func lastPerKey[T any, K comparable](rows []T, key func(T) K) []T {
	index := make(map[K]int, len(rows))
	out := make([]T, 0, len(rows))
	for _, r := range rows {
		k := key(r)
		if i, ok := index[k]; ok {
			out[i] = r
			continue
		}
		index[k] = len(out)
		out = append(out, r)
	}
	return out
}

// EnrollmentUpsertMany sends each column as one array and unnests them into
// rows: one statement, one round trip, and the same SQL text whatever the
// number of rows (so it is prepared once per connection).
func (t *tx) EnrollmentUpsertMany(ctx context.Context, rows []store.Enrollment) error {
	rows = lastPerKey(rows, func(e store.Enrollment) store.EnrollmentKey {
		return store.EnrollmentKey{ConnectionID: e.Record.ConnectionID, ID: e.Record.ID}
	})
	for start := 0; start < len(rows); start += upsertChunk {
		args, err := enrollmentArrays(rows[start:min(start+upsertChunk, len(rows))])
		if err != nil {
			return err
		}
		_, err = t.db.Exec(ctx, enrollmentInsertSQL+`
		ON CONFLICT (connection_id, id) DO UPDATE SET provider = excluded.provider,
			user_id = excluded.user_id, user_email = excluded.user_email, course_id = excluded.course_id,
			status = excluded.status, due_at = excluded.due_at, expires_at = excluded.expires_at,
			changed_at = excluded.changed_at, synced_at = excluded.synced_at,
			remote_deleted_at = excluded.remote_deleted_at, content_hash = excluded.content_hash,
			seen_run = excluded.seen_run, data = excluded.data,
			overdue_event_at = CASE WHEN enrollments.due_at IS NOT DISTINCT FROM excluded.due_at
				THEN enrollments.overdue_event_at END,
			expired_event_at = CASE WHEN enrollments.expires_at IS NOT DISTINCT FROM excluded.expires_at
				THEN enrollments.expired_event_at END`, args...)
		if err != nil {
			return fmt.Errorf("upsert enrollments: %w", err)
		}
	}
	return nil
}

// EnrollmentInsertNew takes the connection's diff lock first, as
// EnrollmentStates does: a write-back that read the states before this
// insert must not then raise "created" for the same record.
func (t *tx) EnrollmentInsertNew(ctx context.Context, rows []store.Enrollment) ([]string, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	rows = lastPerKey(rows, func(e store.Enrollment) store.EnrollmentKey {
		return store.EnrollmentKey{ConnectionID: e.Record.ConnectionID, ID: e.Record.ID}
	})
	locked := map[string]bool{}
	var inserted []string
	for start := 0; start < len(rows); start += upsertChunk {
		part := rows[start:min(start+upsertChunk, len(rows))]
		for _, e := range part {
			if c := e.Record.ConnectionID; !locked[c] {
				if _, err := t.db.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, enrollmentDiffLockClass, c); err != nil {
					return nil, fmt.Errorf("lock the records of connection %s: %w", c, err)
				}
				locked[c] = true
			}
		}
		args, err := enrollmentArrays(part)
		if err != nil {
			return nil, err
		}
		rs, err := t.db.Query(ctx, enrollmentInsertSQL+` ON CONFLICT (connection_id, id) DO NOTHING RETURNING id`, args...)
		if err != nil {
			return nil, fmt.Errorf("insert enrollments: %w", err)
		}
		ids, err := pgx.CollectRows(rs, pgx.RowTo[string])
		if err != nil {
			return nil, fmt.Errorf("insert enrollments: %w", err)
		}
		inserted = append(inserted, ids...)
	}
	return inserted, nil
}

// enrollmentInsertSQL inserts the rows given as arrays by enrollmentArrays,
// without its conflict clause.
const enrollmentInsertSQL = `INSERT INTO enrollments (connection_id, id, provider, user_id, user_email, course_id,
			status, due_at, expires_at, changed_at, synced_at, remote_deleted_at, content_hash, seen_run, data)
		SELECT connection_id, id, provider, user_id, user_email, course_id, status, due_at, expires_at, changed_at,
			synced_at, remote_deleted_at, content_hash, seen_run, data::json
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
			$8::timestamptz[], $9::timestamptz[], $10::timestamptz[], $11::timestamptz[], $12::timestamptz[],
			$13::text[], $14::text[], $15::text[])
			AS u(connection_id, id, provider, user_id, user_email, course_id, status, due_at, expires_at, changed_at,
				synced_at, remote_deleted_at, content_hash, seen_run, data)`

// enrollmentArrays returns the column arrays of enrollmentInsertSQL.
func enrollmentArrays(part []store.Enrollment) ([]any, error) {
	n := len(part)
	text := func() []string { return make([]string, n) }
	times := func() []*time.Time { return make([]*time.Time, n) }
	connIDs, ids, providers, userIDs, emails, courseIDs := text(), text(), text(), text(), text(), text()
	statuses, hashes, seenRuns, data := text(), text(), text(), text()
	dueAt, expiresAt, syncedAt, deletedAt := times(), times(), times(), times()
	changedAt := make([]time.Time, n)
	for i, e := range part {
		r := e.Record
		d := e.Encoded
		if d == nil {
			var err error
			if d, err = enrollmentData(r); err != nil {
				return nil, err
			}
		}
		connIDs[i], ids[i], providers[i] = r.ConnectionID, r.ID, r.Provider
		if r.User != nil {
			userIDs[i] = r.User.ID
		}
		emails[i] = strings.ToLower(r.User.PrimaryEmail())
		if r.Course != nil {
			courseIDs[i] = r.Course.ID
		}
		statuses[i], hashes[i], seenRuns[i], data[i] = string(r.Status), e.ContentHash, e.SeenRun, string(d)
		dueAt[i], expiresAt[i], syncedAt[i], deletedAt[i] = tsPtr(r.DueAt), tsPtr(r.ExpiresAt), tsPtr(r.SyncedAt), tsPtr(r.RemoteDeletedAt)
		changedAt[i] = ts(e.ChangedAt)
	}
	return []any{connIDs, ids, providers, userIDs, emails, courseIDs, statuses,
		dueAt, expiresAt, changedAt, syncedAt, deletedAt, hashes, seenRuns, data}, nil
}

// EnrollmentMarkSeen skips rows already marked, so a resumed run does not
// rewrite them.
func (t *tx) EnrollmentMarkSeen(ctx context.Context, connectionID, runID string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := t.db.Exec(ctx, `UPDATE enrollments SET seen_run = $1
		WHERE connection_id = $2 AND id = ANY($3::text[]) AND seen_run <> $1`, runID, connectionID, ids); err != nil {
		return fmt.Errorf("mark seen: %w", err)
	}
	return nil
}

// EnrollmentSweep marks and returns the unseen rows in one statement. The
// records it returns are as they were before the sweep, apart from the
// deletion itself, exactly as the SQLite engine returns them.
func (t *tx) EnrollmentSweep(ctx context.Context, p store.EnrollmentSweepParams) ([]store.Enrollment, error) {
	deletedAt := ts(p.DeletedAt)
	rows, err := t.db.Query(ctx, `WITH swept AS (
			UPDATE enrollments e SET remote_deleted_at = $3, changed_at = $3
			FROM connections c
			WHERE c.id = e.connection_id AND e.connection_id = $1 AND e.seen_run <> $2 AND e.remote_deleted_at IS NULL
			RETURNING e.connection_id, e.id, e.provider, e.changed_at, e.synced_at,
				NULL::timestamptz AS remote_deleted_at, e.content_hash, e.seen_run, e.data, c.last_full_sync_at)
		SELECT * FROM swept ORDER BY connection_id, id`, p.ConnectionID, p.RunID, deletedAt)
	if err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	defer rows.Close()
	var swept []store.Enrollment
	for rows.Next() {
		e, err := scanEnrollment(rows)
		if err != nil {
			return nil, err
		}
		e.Record.RemoteDeletedAt = lms.UTC(p.DeletedAt)
		e.ChangedAt = p.DeletedAt
		swept = append(swept, *e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	return swept, nil
}

func (t *tx) EnrollmentMarkDateEvent(ctx context.Context, connectionID, id, typ string, at time.Time) error {
	var column string
	switch typ {
	case store.EventEnrollmentOverdue:
		column = "overdue_event_at"
	case store.EventEnrollmentExpired:
		column = "expired_event_at"
	default:
		return fmt.Errorf("mark date event: %q is not a date event", typ)
	}
	tag, err := t.db.Exec(ctx, `UPDATE enrollments SET `+column+` = $1 WHERE connection_id = $2 AND id = $3`,
		ts(at), connectionID, id)
	if err != nil {
		return err
	}
	return affected(tag.RowsAffected(), "enrollment "+id)
}

// peopleUpsert writes users or courses (table is one of those constants) in
// one statement per chunk. Rows whose data did not change are not rewritten.
func (t *tx) peopleUpsert(ctx context.Context, table, connectionID string, ids []string, data []string) error {
	for start := 0; start < len(ids); start += upsertChunk {
		end := min(start+upsertChunk, len(ids))
		if _, err := t.db.Exec(ctx, `INSERT INTO `+table+` (connection_id, id, data)
			SELECT $1, u.id, u.data::json FROM unnest($2::text[], $3::text[]) AS u(id, data)
			ON CONFLICT (connection_id, id) DO UPDATE SET data = excluded.data
			WHERE `+table+`.data::text <> excluded.data::text`,
			connectionID, ids[start:end], data[start:end]); err != nil {
			return fmt.Errorf("upsert %s: %w", table, err)
		}
	}
	return nil
}

type person struct {
	id   string
	data string
}

func (t *tx) upsertPeople(ctx context.Context, table, connectionID string, people []person) error {
	people = lastPerKey(people, func(p person) string { return p.id })
	ids, data := make([]string, len(people)), make([]string, len(people))
	for i, p := range people {
		ids[i], data[i] = p.id, p.data
	}
	return t.peopleUpsert(ctx, table, connectionID, ids, data)
}

func (t *tx) UserUpsertMany(ctx context.Context, connectionID string, users []lms.User) error {
	people := make([]person, 0, len(users))
	for _, u := range users {
		if u.ID == "" {
			continue
		}
		d, err := json.Marshal(u)
		if err != nil {
			return err
		}
		people = append(people, person{id: u.ID, data: string(d)})
	}
	return t.upsertPeople(ctx, "users", connectionID, people)
}

func (t *tx) CourseUpsertMany(ctx context.Context, connectionID string, courses []lms.Course) error {
	people := make([]person, 0, len(courses))
	for _, c := range courses {
		if c.ID == "" {
			continue
		}
		d, err := json.Marshal(c)
		if err != nil {
			return err
		}
		people = append(people, person{id: c.ID, data: string(d)})
	}
	return t.upsertPeople(ctx, "courses", connectionID, people)
}

func (t *tx) SyncRunCreate(ctx context.Context, r *store.SyncRun) error {
	stats, err := json.Marshal(r.Stats)
	if err != nil {
		return err
	}
	tag, err := t.db.Exec(ctx, `INSERT INTO sync_runs (id, connection_id, kind, trigger, status, created_at, started_at,
		finished_at, heartbeat_at, changed_since, stats, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT DO NOTHING`,
		r.ID, r.ConnectionID, r.Kind, r.Trigger, r.Status, ts(r.CreatedAt), tsPtr(r.StartedAt), tsPtr(r.FinishedAt),
		tsPtr(r.HeartbeatAt), tsPtr(r.ChangedSince), stats, r.Error)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("connection %s already has an active sync run: %w", r.ConnectionID, store.ErrConflict)
	}
	return t.checkpointPut(ctx, r)
}

func (t *tx) SyncRunUpdate(ctx context.Context, r *store.SyncRun) error {
	stats, err := json.Marshal(r.Stats)
	if err != nil {
		return err
	}
	tag, err := t.db.Exec(ctx, `UPDATE sync_runs SET kind = $1, status = $2, started_at = $3, finished_at = $4,
		heartbeat_at = $5, changed_since = $6, stats = $7, error = $8 WHERE id = $9`,
		r.Kind, r.Status, tsPtr(r.StartedAt), tsPtr(r.FinishedAt), tsPtr(r.HeartbeatAt), tsPtr(r.ChangedSince),
		stats, r.Error, r.ID)
	if uniqueViolation(err) {
		return fmt.Errorf("connection %s already has an active sync run: %w", r.ConnectionID, store.ErrConflict)
	}
	if err != nil {
		return err
	}
	if err := affected(tag.RowsAffected(), "sync run "+r.ID); err != nil {
		return err
	}
	return t.checkpointPut(ctx, r)
}

func (t *tx) checkpointPut(ctx context.Context, r *store.SyncRun) error {
	if r.Cursor == "" {
		_, err := t.db.Exec(ctx, `DELETE FROM checkpoints WHERE run_id = $1`, r.ID)
		return err
	}
	_, err := t.db.Exec(ctx, `INSERT INTO checkpoints (run_id, cursor, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (run_id) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at`,
		r.ID, r.Cursor, checkpointTime(r))
	return err
}

// checkpointTime records when the checkpoint moved: the run's heartbeat,
// which the sync engine refreshes from its clock with every page.
func checkpointTime(r *store.SyncRun) time.Time {
	if r.HeartbeatAt != nil {
		return ts(*r.HeartbeatAt)
	}
	return ts(r.CreatedAt)
}

// EventAppend assigns sequence numbers in commit order.
//
// An identity column alone is not enough with concurrent writers: if
// transaction A takes seq 7 and B takes seq 8, and B commits first, a reader
// can read 8, move its cursor past it, and never see 7 when A commits. So an
// append first takes a transaction-scoped advisory lock, held until commit
// or rollback. Appending transactions thus take their numbers one at a time,
// and each has committed (and is visible: PostgreSQL releases the lock after
// making the commit visible) before the next one gets higher numbers.
//
// The price is that event-appending transactions are serialised from their
// EventAppend to their commit; callers append events last, just before
// committing, so that window is one short statement plus the commit (and
// after the per-connection lock of EnrollmentStates, so that the two locks
// are always taken in one order and cannot deadlock). A
// commit-ordered design without the lock (readers stopping below the oldest
// in-flight transaction, pg_snapshot_xmin) would need a cursor of more than
// one number, which the feed's API does not have.
func (t *tx) EventAppend(ctx context.Context, events []store.Event) error {
	if len(events) == 0 {
		return nil
	}
	n := len(events)
	ids, types, connIDs, enrollmentIDs := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	occurredAt, data := make([]time.Time, n), make([]*string, n)
	for i, e := range events {
		ids[i], types[i], connIDs[i], enrollmentIDs[i] = e.ID, e.Type, e.ConnectionID, e.EnrollmentID
		occurredAt[i] = ts(e.OccurredAt)
		if len(e.Data) > 0 {
			s := string(e.Data)
			data[i] = &s
		}
	}
	// The lock and the insert travel in one round trip.
	batch := &pgx.Batch{}
	batch.Queue(`SELECT pg_advisory_xact_lock($1)`, eventAppendLockID)
	// ORDER BY ord makes the identity values follow the order of events.
	batch.Queue(`INSERT INTO events (id, type, connection_id, enrollment_id, occurred_at, data)
		SELECT id, type, connection_id, enrollment_id, occurred_at, data::json
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[])
			WITH ORDINALITY AS u(id, type, connection_id, enrollment_id, occurred_at, data, ord)
		ORDER BY ord
		RETURNING id, seq`, ids, types, connIDs, enrollmentIDs, occurredAt, data)
	results := t.db.SendBatch(ctx, batch)
	defer results.Close()
	if _, err := results.Exec(); err != nil {
		return fmt.Errorf("append event: lock the feed: %w", err)
	}
	rows, err := results.Query()
	if err != nil {
		return fmt.Errorf("append event: %w", err)
	}
	seqs := make(map[string]int64, n)
	for rows.Next() {
		var id string
		var seq int64
		if err := rows.Scan(&id, &seq); err != nil {
			rows.Close()
			return fmt.Errorf("append event: %w", err)
		}
		seqs[id] = seq
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("append event: %w", err)
	}
	for i := range events {
		events[i].Seq = seqs[events[i].ID]
	}
	return results.Close()
}

func (t *tx) WebhookCreate(ctx context.Context, w *store.Webhook) error {
	events, err := json.Marshal(nonNil(w.Events))
	if err != nil {
		return err
	}
	_, err = t.db.Exec(ctx, `INSERT INTO webhooks (id, url, events, secret_ciphertext, enabled, disabled_reason,
		cursor_seq, consecutive_failures, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		w.ID, w.URL, events, nonNil(w.SecretCiphertext), w.Enabled, w.DisabledReason, w.CursorSeq, w.ConsecutiveFailures,
		ts(w.CreatedAt), ts(w.UpdatedAt))
	return err
}

func (t *tx) WebhookUpdate(ctx context.Context, w *store.Webhook) error {
	events, err := json.Marshal(nonNil(w.Events))
	if err != nil {
		return err
	}
	tag, err := t.db.Exec(ctx, `UPDATE webhooks SET url = $1, events = $2, secret_ciphertext = $3, enabled = $4,
		disabled_reason = $5, cursor_seq = $6, consecutive_failures = $7, updated_at = $8 WHERE id = $9`,
		w.URL, events, nonNil(w.SecretCiphertext), w.Enabled, w.DisabledReason, w.CursorSeq, w.ConsecutiveFailures,
		ts(w.UpdatedAt), w.ID)
	if err != nil {
		return err
	}
	return affected(tag.RowsAffected(), "webhook "+w.ID)
}

func (t *tx) WebhookDelete(ctx context.Context, id string) error {
	tag, err := t.db.Exec(ctx, `DELETE FROM webhooks WHERE id = $1`, id)
	if err != nil {
		return err
	}
	return affected(tag.RowsAffected(), "webhook "+id)
}

func (t *tx) DeliveryCreate(ctx context.Context, d *store.Delivery) error {
	_, err := t.db.Exec(ctx, `INSERT INTO deliveries (id, webhook_id, event_id, event_seq, attempt, status_code,
		error, succeeded, duration_ms, attempted_at, next_attempt) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		d.ID, d.WebhookID, d.EventID, d.EventSeq, d.Attempt, d.StatusCode, d.Error, d.Succeeded, d.DurationMS,
		ts(d.AttemptedAt), tsPtr(d.NextAttempt))
	return err
}

func (t *tx) IdempotencyPut(ctx context.Context, r *store.IdempotencyRecord) error {
	tag, err := t.db.Exec(ctx, `INSERT INTO idempotency_keys (api_key_id, key, method, path, request_hash, status,
		body, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
		r.APIKeyID, r.Key, r.Method, r.Path, r.RequestHash, r.Status, nonNil(r.Body), ts(r.CreatedAt))
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("idempotency key %q: %w", r.Key, store.ErrConflict)
	}
	return nil
}

func (t *tx) IdempotencyPurge(ctx context.Context, before time.Time) (int64, error) {
	tag, err := t.db.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1`, ts(before))
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}
