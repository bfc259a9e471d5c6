package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/store"

	gojson "github.com/goccy/go-json"
)

// dbtx is what both the pool and a transaction offer.
type dbtx interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// queries implements store.Reader over the pool or a transaction.
type queries struct {
	db dbtx
	// inTx makes single-row reads lock the row they return (see lockRow).
	inTx bool
}

// lockRow is appended to the single-row reads (the Get methods). Inside a
// write transaction those reads are nearly always read-modify-write (load a
// webhook, move its cursor forward if behind, save it), which SQLite
// serialises with its one writer but READ COMMITTED does not: two replicas
// would both read the old row and the later write would undo the earlier.
// Locking the row at the read makes the second wait and then read the
// first's result, as on SQLite. NO KEY UPDATE is the lock an UPDATE of
// non-key columns takes anyway, and it does not block the foreign-key checks
// of rows inserted under the locked one (enrollments of a connection).
// table names the locked table in a join; "" for a single table.
func (q queries) lockRow(table string) string {
	switch {
	case !q.inTx:
		return ""
	case table == "":
		return " FOR NO KEY UPDATE"
	default:
		return " FOR NO KEY UPDATE OF " + table
	}
}

// params collects the arguments of a statement built from optional filters
// and names each one's placeholder, so the SQL stays readable in place.
type params []any

func (p *params) add(v any) string {
	*p = append(*p, v)
	return "$" + strconv.Itoa(len(*p))
}

// ts is how a time is stored: UTC, whole seconds, as the SQLite engine
// stores unix seconds, so both engines compare and return the same values.
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

func tsPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := ts(*t)
	return &v
}

// utc puts a scanned time in UTC (pgx returns local time).
func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}

func notFound(err error, what string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return err
}

// --- connections ---

const connectionSelect = `SELECT id, provider, name, tenant, settings, secrets_ciphertext, secret_names,
	EXTRACT(EPOCH FROM sync_interval)::bigint, paused, created_at, updated_at, last_sync_at, last_sync_status,
	last_sync_error, last_full_sync_at FROM connections`

// collect scans every row of a query with scan; the query's error passes
// through, so callers can hand Query's results straight in.
func collect[T any](rows pgx.Rows, err error, scan func(pgx.Row) (*T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, rows.Err()
}

func scanConnection(row pgx.Row) (*store.Connection, error) {
	var c store.Connection
	var settings, names []byte
	var intervalSeconds int64
	if err := row.Scan(&c.ID, &c.Provider, &c.Name, &c.Tenant, &settings, &c.SecretsCiphertext, &names, &intervalSeconds,
		&c.Paused, &c.CreatedAt, &c.UpdatedAt, &c.LastSyncAt, &c.LastSyncStatus, &c.LastSyncError, &c.LastFullSyncAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(settings, &c.Settings); err != nil {
		return nil, fmt.Errorf("connection %s settings: %w", c.ID, err)
	}
	if err := json.Unmarshal(names, &c.SecretNames); err != nil {
		return nil, fmt.Errorf("connection %s secret names: %w", c.ID, err)
	}
	c.SyncInterval = time.Duration(intervalSeconds) * time.Second
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	c.LastSyncAt, c.LastFullSyncAt = utc(c.LastSyncAt), utc(c.LastFullSyncAt)
	return &c, nil
}

func (q queries) ConnectionGet(ctx context.Context, id string) (*store.Connection, error) {
	c, err := scanConnection(q.db.QueryRow(ctx, connectionSelect+` WHERE id = $1`+q.lockRow(""), id))
	return c, notFound(err, "connection "+id)
}

func (q queries) ConnectionGetByName(ctx context.Context, name string) (*store.Connection, error) {
	c, err := scanConnection(q.db.QueryRow(ctx, connectionSelect+` WHERE name = $1`+q.lockRow(""), name))
	return c, notFound(err, "connection "+name)
}

func (q queries) ConnectionList(ctx context.Context, p store.ConnectionListParams) ([]store.Connection, error) {
	var args params
	where := []string{"true"}
	if p.Provider != "" {
		where = append(where, "provider = "+args.add(p.Provider))
	}
	if p.Tenant != "" {
		where = append(where, "tenant = "+args.add(p.Tenant))
	}
	rows, err := q.db.Query(ctx, connectionSelect+` WHERE `+strings.Join(where, " AND ")+` ORDER BY created_at, id`, args...)
	return collect(rows, err, scanConnection)
}

// --- api keys ---

const apiKeySelect = `SELECT id, name, prefix, hash, read_only, created_at FROM api_keys`

func scanAPIKey(row pgx.Row) (*store.APIKey, error) {
	var k store.APIKey
	if err := row.Scan(&k.ID, &k.Name, &k.Prefix, &k.Hash, &k.ReadOnly, &k.CreatedAt); err != nil {
		return nil, err
	}
	k.CreatedAt = k.CreatedAt.UTC()
	return &k, nil
}

func (q queries) APIKeyGetByHash(ctx context.Context, hash string) (*store.APIKey, error) {
	k, err := scanAPIKey(q.db.QueryRow(ctx, apiKeySelect+` WHERE hash = $1`, hash))
	return k, notFound(err, "api key")
}

func (q queries) APIKeyList(ctx context.Context) ([]store.APIKey, error) {
	rows, err := q.db.Query(ctx, apiKeySelect+` ORDER BY id`)
	return collect(rows, err, scanAPIKey)
}

// --- enrollments ---

const enrollmentColumns = `e.connection_id, e.id, e.provider, e.changed_at, e.synced_at, e.remote_deleted_at,
	e.content_hash, e.seen_run, e.data, c.last_full_sync_at`

// enrollmentJSON returns the record's JSON held in the data column (as
// written by the write path). Every read of the column goes through it,
// decoded or raw.
func enrollmentJSON(col []byte) ([]byte, error) { return col, nil }

func scanEnrollment(row pgx.Row) (*store.Enrollment, error) {
	var e store.Enrollment
	var connID, id, provider string
	var data []byte
	var synced, deleted, lastFull *time.Time
	if err := row.Scan(&connID, &id, &provider, &e.ChangedAt, &synced, &deleted, &e.ContentHash, &e.SeenRun, &data, &lastFull); err != nil {
		return nil, err
	}
	js, err := enrollmentJSON(data)
	if err == nil {
		err = gojson.Unmarshal(js, &e.Record)
	}
	if err != nil {
		return nil, fmt.Errorf("enrollment %s/%s data: %w", connID, id, err)
	}
	e.Record.ConnectionID = connID
	e.Record.ID = id
	e.Record.Provider = provider
	e.Record.RemoteDeletedAt = utc(deleted)
	e.Record.SyncedAt = syncedAt(utc(synced), utc(lastFull), e.Record.RemoteDeletedAt)
	e.ChangedAt = e.ChangedAt.UTC()
	return &e, nil
}

// enrollmentRawColumns are what raw listings (store.EnrollmentListParams.Raw)
// read: the columns of the record's fields and of its effective status, not
// the sync bookkeeping.
const enrollmentRawColumns = `e.connection_id, e.id, e.provider, e.synced_at, e.remote_deleted_at, e.data,
	c.last_full_sync_at, e.status, e.due_at, e.expires_at`

// scanEnrollmentRaw reads a row of enrollmentRawColumns without decoding the
// record: Data holds its JSON, Record the column fields.
func scanEnrollmentRaw(row pgx.Row) (*store.Enrollment, error) {
	var e store.Enrollment
	var data []byte
	var status string
	var synced, deleted, lastFull, due, expires *time.Time
	r := &e.Record
	if err := row.Scan(&r.ConnectionID, &r.ID, &r.Provider, &synced, &deleted, &data, &lastFull, &status, &due,
		&expires); err != nil {
		return nil, err
	}
	js, err := enrollmentJSON(data)
	if err != nil {
		return nil, fmt.Errorf("enrollment %s/%s data: %w", r.ConnectionID, r.ID, err)
	}
	e.Data = js
	r.Status = lms.Status(status)
	r.DueAt, r.ExpiresAt = utc(due), utc(expires)
	r.RemoteDeletedAt = utc(deleted)
	r.SyncedAt = syncedAt(utc(synced), utc(lastFull), r.RemoteDeletedAt)
	return &e, nil
}

// syncedAt is when Registrar last saw the record: the row's own write time,
// or the end of the last successful full sync if later, since a full sync
// that completes has seen every live record (unchanged ones are not
// rewritten, so their rows keep an older time).
func syncedAt(row, lastFull, deleted *time.Time) *time.Time {
	if deleted != nil || lastFull == nil {
		return row
	}
	if row == nil || lastFull.After(*row) {
		return lastFull
	}
	return row
}

func (q queries) EnrollmentGet(ctx context.Context, connectionID, id string) (*store.Enrollment, error) {
	e, err := scanEnrollment(q.db.QueryRow(ctx, `SELECT `+enrollmentColumns+`
		FROM enrollments e JOIN connections c ON c.id = e.connection_id
		WHERE e.connection_id = $1 AND e.id = $2`+q.lockRow("e"), connectionID, id))
	return e, notFound(err, "enrollment "+id)
}

// EnrollmentStates reads any number of ids in one statement: the ids travel
// as one array parameter.
func (q queries) EnrollmentStates(ctx context.Context, connectionID string, ids []string) (map[string]store.EnrollmentState, error) {
	if len(ids) == 0 {
		return map[string]store.EnrollmentState{}, nil
	}
	rows, err := q.db.Query(ctx, enrollmentStatesSQL, connectionID, ids)
	if err != nil {
		return nil, err
	}
	return scanEnrollmentStates(rows, len(ids))
}

const enrollmentStatesSQL = `SELECT id, content_hash, status, remote_deleted_at FROM enrollments
	WHERE connection_id = $1 AND id = ANY($2::text[])`

func scanEnrollmentStates(rows pgx.Rows, n int) (map[string]store.EnrollmentState, error) {
	defer rows.Close()
	out := make(map[string]store.EnrollmentState, n)
	for rows.Next() {
		var id, status string
		var st store.EnrollmentState
		if err := rows.Scan(&id, &st.ContentHash, &status, &st.RemoteDeletedAt); err != nil {
			return nil, err
		}
		st.Status = lms.Status(status)
		st.RemoteDeletedAt = utc(st.RemoteDeletedAt)
		out[id] = st
	}
	return out, rows.Err()
}

// statusCondition turns an effective status into SQL over the stored status
// and the dates, mirroring lms.EffectiveStatus.
func statusCondition(s lms.Status, now time.Time, args *params) string {
	switch s {
	case lms.StatusWithdrawn:
		return "e.status = 'withdrawn'"
	case lms.StatusExpired:
		return "(e.status <> 'withdrawn' AND e.expires_at <= " + args.add(now) + ")"
	case lms.StatusOverdue:
		return "(e.status IN ('assigned','enrolled','in_progress') AND e.due_at < " + args.add(now) +
			" AND (e.expires_at IS NULL OR e.expires_at > " + args.add(now) + "))"
	case lms.StatusAssigned, lms.StatusEnrolled, lms.StatusInProgress:
		return "(e.status = " + args.add(string(s)) + " AND (e.due_at IS NULL OR e.due_at >= " + args.add(now) +
			") AND (e.expires_at IS NULL OR e.expires_at > " + args.add(now) + "))"
	default:
		return "(e.status = " + args.add(string(s)) + " AND (e.expires_at IS NULL OR e.expires_at > " + args.add(now) + "))"
	}
}

func (q queries) EnrollmentList(ctx context.Context, p store.EnrollmentListParams) (*store.EnrollmentListResult, error) {
	var args params
	var where []string
	if len(p.ConnectionIDs) > 0 {
		where = append(where, "e.connection_id = ANY("+args.add(p.ConnectionIDs)+"::text[])")
	}
	if len(p.Providers) > 0 {
		where = append(where, "e.provider = ANY("+args.add(p.Providers)+"::text[])")
	}
	if p.Tenant != "" {
		where = append(where, "c.tenant = "+args.add(p.Tenant))
	}
	if len(p.UserIDs) > 0 {
		where = append(where, "e.user_id = ANY("+args.add(p.UserIDs)+"::text[])")
	}
	if len(p.UserEmails) > 0 {
		lower := make([]string, len(p.UserEmails))
		for i, e := range p.UserEmails {
			lower[i] = strings.ToLower(e)
		}
		where = append(where, "e.user_email = ANY("+args.add(lower)+"::text[])", "e.user_email <> ''") // partial index (migration 00002)
	}
	if len(p.CourseIDs) > 0 {
		where = append(where, "e.course_id = ANY("+args.add(p.CourseIDs)+"::text[])")
	}
	if len(p.Statuses) > 0 {
		now := ts(p.Now)
		ors := make([]string, len(p.Statuses))
		for i, s := range p.Statuses {
			ors[i] = statusCondition(s, now, &args)
		}
		where = append(where, "("+strings.Join(ors, " OR ")+")")
	}
	if p.UpdatedAfter != nil {
		where = append(where, "e.changed_at > "+args.add(ts(*p.UpdatedAfter)))
	}
	if p.DueBefore != nil {
		where = append(where, "e.due_at < "+args.add(ts(*p.DueBefore)))
	}
	if !p.IncludeDeleted {
		where = append(where, "e.remote_deleted_at IS NULL")
	}
	if !p.After.IsZero() {
		where = append(where, "(e.connection_id, e.id) > ("+args.add(p.After.ConnectionID)+", "+args.add(p.After.ID)+")")
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 50
	}
	columns, scan := enrollmentColumns, scanEnrollment
	if p.Raw {
		columns, scan = enrollmentRawColumns, scanEnrollmentRaw
	}
	query := `SELECT ` + columns + ` FROM enrollments e JOIN connections c ON c.id = e.connection_id`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY e.connection_id, e.id LIMIT " + args.add(limit+1)
	rows, err := q.db.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	res := &store.EnrollmentListResult{Enrollments: make([]store.Enrollment, 0, limit)}
	for rows.Next() {
		if len(res.Enrollments) == limit {
			res.More = true
			break
		}
		e, err := scan(rows)
		if err != nil {
			return nil, err
		}
		res.Enrollments = append(res.Enrollments, *e)
	}
	return res, rows.Err()
}

// EnrollmentDateEventsDue reads the overdue records, then the expired ones,
// each oldest date first; the conditions mirror statusCondition.
func (q queries) EnrollmentDateEventsDue(ctx context.Context, p store.DateEventsDueParams) ([]store.DateEventDue, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 500
	}
	now := ts(p.Now)
	kinds := []struct {
		typ   string
		query string
	}{
		{store.EventEnrollmentOverdue, `SELECT ` + enrollmentColumns + `
			FROM enrollments e JOIN connections c ON c.id = e.connection_id
			WHERE e.remote_deleted_at IS NULL AND e.overdue_event_at IS NULL AND e.due_at < $1
				AND e.status IN ('assigned','enrolled','in_progress') AND (e.expires_at IS NULL OR e.expires_at > $1)
			ORDER BY e.due_at, e.connection_id, e.id LIMIT $2`},
		{store.EventEnrollmentExpired, `SELECT ` + enrollmentColumns + `
			FROM enrollments e JOIN connections c ON c.id = e.connection_id
			WHERE e.remote_deleted_at IS NULL AND e.expired_event_at IS NULL AND e.expires_at <= $1
				AND e.status <> 'withdrawn'
			ORDER BY e.expires_at, e.connection_id, e.id LIMIT $2`},
	}
	var out []store.DateEventDue
	for _, k := range kinds {
		rows, err := q.db.Query(ctx, k.query, now, limit)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			e, err := scanEnrollment(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, store.DateEventDue{Enrollment: *e, Type: k.typ})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// --- users and courses ---

// peopleList pages users or courses; table is one of those two constants.
func (q queries) peopleList(ctx context.Context, table string, p store.PeopleListParams, each func(data []byte) error) (string, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 50
	}
	rows, err := q.db.Query(ctx, `SELECT id, data FROM `+table+` WHERE connection_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
		p.ConnectionID, p.After, limit+1)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	n, last, next := 0, "", ""
	for rows.Next() {
		var id string
		var data []byte
		if err := rows.Scan(&id, &data); err != nil {
			return "", err
		}
		if n == limit {
			next = last
			break
		}
		if err := each(data); err != nil {
			return "", err
		}
		n, last = n+1, id
	}
	return next, rows.Err()
}

func (q queries) UserList(ctx context.Context, p store.PeopleListParams) ([]lms.User, string, error) {
	var out []lms.User
	next, err := q.peopleList(ctx, "users", p, func(data []byte) error {
		var u lms.User
		err := json.Unmarshal(data, &u)
		out = append(out, u)
		return err
	})
	return out, next, err
}

func (q queries) CourseList(ctx context.Context, p store.PeopleListParams) ([]lms.Course, string, error) {
	var out []lms.Course
	next, err := q.peopleList(ctx, "courses", p, func(data []byte) error {
		var c lms.Course
		err := json.Unmarshal(data, &c)
		out = append(out, c)
		return err
	})
	return out, next, err
}

// --- sync runs ---

const syncRunSelect = `SELECT r.id, r.connection_id, r.kind, r.trigger, r.status, r.created_at, r.started_at,
	r.finished_at, r.heartbeat_at, r.changed_since, r.stats, r.error, COALESCE(k.cursor, '')
	FROM sync_runs r LEFT JOIN checkpoints k ON k.run_id = r.id`

func scanSyncRun(row pgx.Row) (*store.SyncRun, error) {
	var r store.SyncRun
	var stats []byte
	if err := row.Scan(&r.ID, &r.ConnectionID, &r.Kind, &r.Trigger, &r.Status, &r.CreatedAt, &r.StartedAt, &r.FinishedAt,
		&r.HeartbeatAt, &r.ChangedSince, &stats, &r.Error, &r.Cursor); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(stats, &r.Stats); err != nil {
		return nil, fmt.Errorf("sync run %s stats: %w", r.ID, err)
	}
	r.CreatedAt = r.CreatedAt.UTC()
	r.StartedAt, r.FinishedAt = utc(r.StartedAt), utc(r.FinishedAt)
	r.HeartbeatAt, r.ChangedSince = utc(r.HeartbeatAt), utc(r.ChangedSince)
	return &r, nil
}

func (q queries) SyncRunGet(ctx context.Context, id string) (*store.SyncRun, error) {
	r, err := scanSyncRun(q.db.QueryRow(ctx, syncRunSelect+` WHERE r.id = $1`+q.lockRow("r"), id))
	return r, notFound(err, "sync run "+id)
}

func (q queries) SyncRunActive(ctx context.Context, connectionID string) (*store.SyncRun, error) {
	r, err := scanSyncRun(q.db.QueryRow(ctx, syncRunSelect+`
		WHERE r.connection_id = $1 AND r.status IN ('queued', 'running')`+q.lockRow("r"), connectionID))
	return r, notFound(err, "active sync run of "+connectionID)
}

func (q queries) SyncRunListActive(ctx context.Context) ([]store.SyncRun, error) {
	rows, err := q.db.Query(ctx, syncRunSelect+` WHERE r.status IN ('queued', 'running') ORDER BY r.id`)
	return collect(rows, err, scanSyncRun)
}

func (q queries) SyncRunList(ctx context.Context, p store.SyncRunListParams) ([]store.SyncRun, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 50
	}
	var args params
	where := "r.connection_id = " + args.add(p.ConnectionID)
	if p.Before != "" {
		where += " AND r.id < " + args.add(p.Before)
	}
	rows, err := q.db.Query(ctx, syncRunSelect+` WHERE `+where+` ORDER BY r.id DESC LIMIT `+args.add(limit), args...)
	return collect(rows, err, scanSyncRun)
}

// --- events ---

func (q queries) EventList(ctx context.Context, p store.EventListParams) ([]store.Event, error) {
	var args params
	where := []string{"seq > " + args.add(p.AfterSeq)}
	if len(p.Types) > 0 {
		where = append(where, "type = ANY("+args.add(p.Types)+"::text[])")
	}
	if p.ConnectionID != "" {
		where = append(where, "connection_id = "+args.add(p.ConnectionID))
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	rows, err := q.db.Query(ctx, `SELECT seq, id, type, connection_id, enrollment_id, occurred_at, data FROM events
		WHERE `+strings.Join(where, " AND ")+` ORDER BY seq LIMIT `+args.add(limit), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		var e store.Event
		if err := rows.Scan(&e.Seq, &e.ID, &e.Type, &e.ConnectionID, &e.EnrollmentID, &e.OccurredAt, &e.Data); err != nil {
			return nil, err
		}
		e.OccurredAt = e.OccurredAt.UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

func (q queries) EventLastSeq(ctx context.Context) (int64, error) {
	var seq int64
	err := q.db.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM events`).Scan(&seq)
	return seq, err
}

// --- webhooks ---

const webhookSelect = `SELECT id, url, events, secret_ciphertext, enabled, disabled_reason, cursor_seq,
	consecutive_failures, created_at, updated_at FROM webhooks`

func scanWebhook(row pgx.Row) (*store.Webhook, error) {
	var w store.Webhook
	var events []byte
	if err := row.Scan(&w.ID, &w.URL, &events, &w.SecretCiphertext, &w.Enabled, &w.DisabledReason, &w.CursorSeq,
		&w.ConsecutiveFailures, &w.CreatedAt, &w.UpdatedAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(events, &w.Events); err != nil {
		return nil, fmt.Errorf("webhook %s events: %w", w.ID, err)
	}
	w.CreatedAt, w.UpdatedAt = w.CreatedAt.UTC(), w.UpdatedAt.UTC()
	return &w, nil
}

func (q queries) WebhookGet(ctx context.Context, id string) (*store.Webhook, error) {
	w, err := scanWebhook(q.db.QueryRow(ctx, webhookSelect+` WHERE id = $1`+q.lockRow(""), id))
	return w, notFound(err, "webhook "+id)
}

func (q queries) WebhookList(ctx context.Context) ([]store.Webhook, error) {
	rows, err := q.db.Query(ctx, webhookSelect+` ORDER BY id`)
	return collect(rows, err, scanWebhook)
}

func (q queries) DeliveryList(ctx context.Context, p store.DeliveryListParams) ([]store.Delivery, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 50
	}
	var args params
	where := "webhook_id = " + args.add(p.WebhookID)
	if p.Before != "" {
		where += " AND id < " + args.add(p.Before)
	}
	rows, err := q.db.Query(ctx, `SELECT id, webhook_id, event_id, event_seq, attempt, status_code, error, succeeded,
		duration_ms, attempted_at, next_attempt FROM deliveries WHERE `+where+` ORDER BY id DESC LIMIT `+args.add(limit), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Delivery
	for rows.Next() {
		var d store.Delivery
		if err := rows.Scan(&d.ID, &d.WebhookID, &d.EventID, &d.EventSeq, &d.Attempt, &d.StatusCode, &d.Error, &d.Succeeded,
			&d.DurationMS, &d.AttemptedAt, &d.NextAttempt); err != nil {
			return nil, err
		}
		d.AttemptedAt = d.AttemptedAt.UTC()
		d.NextAttempt = utc(d.NextAttempt)
		out = append(out, d)
	}
	return out, rows.Err()
}

// --- idempotency ---

func (q queries) IdempotencyGet(ctx context.Context, apiKeyID, key string) (*store.IdempotencyRecord, error) {
	var r store.IdempotencyRecord
	err := q.db.QueryRow(ctx, `SELECT api_key_id, key, method, path, request_hash, status, body, created_at
		FROM idempotency_keys WHERE api_key_id = $1 AND key = $2`+q.lockRow(""), apiKeyID, key).
		Scan(&r.APIKeyID, &r.Key, &r.Method, &r.Path, &r.RequestHash, &r.Status, &r.Body, &r.CreatedAt)
	if err != nil {
		return nil, notFound(err, "idempotency key")
	}
	r.CreatedAt = r.CreatedAt.UTC()
	return &r, nil
}
