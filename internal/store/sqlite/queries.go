package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/store"

	gojson "github.com/goccy/go-json"
)

// dbtx is what both a pool and a transaction offer.
type dbtx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// queries implements store.Reader over a pool or a transaction. stmts, set
// on the reader pool's queries only, keeps prepared statements of the
// enrollment list's filter shapes.
type queries struct {
	db    dbtx
	stmts *stmtCache
}

func unix(t time.Time) int64 { return t.UTC().Unix() }

func unixPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Unix()
}

func fromUnix(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.Unix(v.Int64, 0).UTC()
	return &t
}

func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return err
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// collect scans every row of a query with scan; the query's error passes
// through, so callers can hand QueryContext's results straight in.
func collect[T any](rows *sql.Rows, err error, scan func(interface{ Scan(...any) error }) (*T, error)) ([]T, error) {
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

// --- connections ---

const connectionColumns = `id, provider, name, tenant, settings, secrets_ciphertext, secret_names, sync_interval_s,
	paused, created_at, updated_at, last_sync_at, last_sync_status, last_sync_error, last_full_sync_at`

func scanConnection(row interface{ Scan(...any) error }) (*store.Connection, error) {
	var c store.Connection
	var settings, names string
	var interval, created, updated int64
	var lastSync, lastFull sql.NullInt64
	if err := row.Scan(&c.ID, &c.Provider, &c.Name, &c.Tenant, &settings, &c.SecretsCiphertext, &names, &interval,
		&c.Paused, &created, &updated, &lastSync, &c.LastSyncStatus, &c.LastSyncError, &lastFull); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(settings), &c.Settings); err != nil {
		return nil, fmt.Errorf("connection %s settings: %w", c.ID, err)
	}
	if err := json.Unmarshal([]byte(names), &c.SecretNames); err != nil {
		return nil, fmt.Errorf("connection %s secret names: %w", c.ID, err)
	}
	c.SyncInterval = time.Duration(interval) * time.Second
	c.CreatedAt = time.Unix(created, 0).UTC()
	c.UpdatedAt = time.Unix(updated, 0).UTC()
	c.LastSyncAt = fromUnix(lastSync)
	c.LastFullSyncAt = fromUnix(lastFull)
	return &c, nil
}

func (q queries) ConnectionGet(ctx context.Context, id string) (*store.Connection, error) {
	c, err := scanConnection(q.queryRow(ctx, `SELECT `+connectionColumns+` FROM connections WHERE id = ?`, id))
	return c, notFound(err, "connection "+id)
}

// queryRow runs a one-row read, through a cached prepared statement on the
// reader pool (the API's per-request lookups), unprepared in a transaction.
func (q queries) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if q.stmts != nil {
		return q.stmts.queryRow(ctx, query, args...)
	}
	return q.db.QueryRowContext(ctx, query, args...)
}

func (q queries) ConnectionGetByName(ctx context.Context, name string) (*store.Connection, error) {
	c, err := scanConnection(q.db.QueryRowContext(ctx, `SELECT `+connectionColumns+` FROM connections WHERE name = ?`, name))
	return c, notFound(err, "connection "+name)
}

func (q queries) ConnectionList(ctx context.Context, p store.ConnectionListParams) ([]store.Connection, error) {
	where, args := []string{"1=1"}, []any{}
	if p.Provider != "" {
		where, args = append(where, "provider = ?"), append(args, p.Provider)
	}
	if p.Tenant != "" {
		where, args = append(where, "tenant = ?"), append(args, p.Tenant)
	}
	rows, err := q.db.QueryContext(ctx, `SELECT `+connectionColumns+` FROM connections WHERE `+strings.Join(where, " AND ")+` ORDER BY created_at, id`, args...)
	return collect(rows, err, scanConnection)
}

// --- api keys ---

func (q queries) APIKeyGetByHash(ctx context.Context, hash string) (*store.APIKey, error) {
	var k store.APIKey
	var created int64
	err := q.queryRow(ctx, `SELECT id, name, prefix, hash, read_only, created_at FROM api_keys WHERE hash = ?`, hash).
		Scan(&k.ID, &k.Name, &k.Prefix, &k.Hash, &k.ReadOnly, &created)
	if err != nil {
		return nil, notFound(err, "api key")
	}
	k.CreatedAt = time.Unix(created, 0).UTC()
	return &k, nil
}

func (q queries) APIKeyList(ctx context.Context) ([]store.APIKey, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT id, name, prefix, hash, read_only, created_at FROM api_keys ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.APIKey
	for rows.Next() {
		var k store.APIKey
		var created int64
		if err := rows.Scan(&k.ID, &k.Name, &k.Prefix, &k.Hash, &k.ReadOnly, &created); err != nil {
			return nil, err
		}
		k.CreatedAt = time.Unix(created, 0).UTC()
		out = append(out, k)
	}
	return out, rows.Err()
}

// --- enrollments ---

const enrollmentColumns = `e.connection_id, e.id, e.provider, e.changed_at, e.synced_at, e.remote_deleted_at,
	e.content_hash, e.seen_run, e.data, c.last_full_sync_at`

// enrollmentJSON returns the record's JSON held in the data column (as
// written by the write path's enrollmentData). Every read of the column goes
// through it, decoded or raw.
func enrollmentJSON(col []byte) ([]byte, error) { return decodeDocument(col) }

func scanEnrollment(row interface{ Scan(...any) error }) (*store.Enrollment, error) {
	var e store.Enrollment
	var connID, id, provider string
	var data []byte
	var changed int64
	var synced, deleted, lastFull sql.NullInt64
	if err := row.Scan(&connID, &id, &provider, &changed, &synced, &deleted, &e.ContentHash, &e.SeenRun, &data, &lastFull); err != nil {
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
	e.Record.RemoteDeletedAt = fromUnix(deleted)
	e.Record.SyncedAt = syncedAt(fromUnix(synced), fromUnix(lastFull), e.Record.RemoteDeletedAt)
	e.ChangedAt = time.Unix(changed, 0).UTC()
	return &e, nil
}

// enrollmentRawColumns are what raw listings (store.EnrollmentListParams.Raw)
// read: the record's column fields and those of its effective status, not
// the sync bookkeeping, packed by SQLite into one JSON array, then the
// stored record. Every column costs on every row: modernc makes two to three
// sqlite3_column_* calls per column, each taking the connection's mutex
// (about half the time of a raw listing with a column per field). synced_at
// is computed as syncedAt computes it (all three are unix seconds), so the
// connection's last_full_sync_at is not read on its own.
const enrollmentRawColumns = `json_array(e.connection_id, e.id, e.provider,
	CASE WHEN e.remote_deleted_at IS NULL AND c.last_full_sync_at IS NOT NULL
		AND (e.synced_at IS NULL OR c.last_full_sync_at > e.synced_at)
	THEN c.last_full_sync_at ELSE e.synced_at END,
	e.remote_deleted_at, e.status, e.due_at, e.expires_at), e.data`

// rawScanner reads rows of enrollmentRawColumns without decoding the
// records: Data holds each record's JSON, Record the column fields. Both
// columns are read as sql.RawBytes (no copy by database/sql); the records
// are decompressed into an arena shared by the page, so a page costs a few
// allocations for its JSON instead of two per record.
type rawScanner struct {
	fields, data sql.RawBytes
	arena        []byte
	left         int // rows still expected, to size the arena
	// the previous row's strings, shared when the next row has the same
	// (a page is mostly one connection)
	conn, provider string
	// times holds the page's dates, allocated a slab at a time
	times []time.Time
}

// knownStatuses lets a row's status share the constant's string.
var knownStatuses = func() map[string]lms.Status {
	m := map[string]lms.Status{}
	for _, s := range []lms.Status{lms.StatusAssigned, lms.StatusEnrolled, lms.StatusInProgress, lms.StatusCompleted,
		lms.StatusPassed, lms.StatusFailed, lms.StatusWithdrawn, lms.StatusExpired, lms.StatusOverdue, lms.StatusUnknown} {
		m[string(s)] = s
	}
	return m
}()

// time returns a pointer to t, in the page's slab of dates.
func (s *rawScanner) time(t time.Time) *time.Time {
	if len(s.times) == cap(s.times) {
		s.times = make([]time.Time, 0, 2*(s.left+1))
	}
	s.times = append(s.times, t)
	return &s.times[len(s.times)-1]
}

// rawArenaChunk bounds the arena's chunks: about 20 Canvas records.
const rawArenaChunk = 64 << 10

func (s *rawScanner) scan(rows *sql.Rows) (store.Enrollment, error) {
	var e store.Enrollment
	if err := rows.Scan(&s.fields, &s.data); err != nil {
		return e, err
	}
	s.left--
	r := &e.Record
	if err := s.parseFields(r); err != nil {
		return e, fmt.Errorf("enrollment columns %s: %w", s.fields, err)
	}
	js, err := s.decode(s.data)
	if err != nil {
		return e, fmt.Errorf("enrollment %s/%s data: %w", r.ConnectionID, r.ID, err)
	}
	e.Data = js
	return e, nil
}

// parseFields sets r's column fields from the JSON array of
// enrollmentRawColumns: [connection_id, id, provider, synced_at,
// remote_deleted_at, status, due_at, expires_at], strings and unix seconds or
// null, as SQLite's json_array writes them.
func (s *rawScanner) parseFields(r *lms.CourseEnrollment) error {
	b := []byte(s.fields)
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return errRawFields
	}
	b = b[1 : len(b)-1]
	var err error
	next := func() []byte {
		if err != nil {
			return nil
		}
		var v []byte
		if v, b, err = nextJSONValue(b); err != nil {
			return nil
		}
		return v
	}
	// str returns the string v holds; prev, if given, is shared when equal.
	str := func(v []byte, prev *string) string {
		if err != nil {
			return ""
		}
		if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
			err = errRawFields
			return ""
		}
		if bytes.IndexByte(v, '\\') >= 0 {
			var out string
			err = json.Unmarshal(v, &out)
			return out
		}
		v = v[1 : len(v)-1]
		if prev != nil && *prev == string(v) {
			return *prev
		}
		out := string(v)
		if prev != nil {
			*prev = out
		}
		return out
	}
	status := func(v []byte) lms.Status {
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			if st, ok := knownStatuses[string(v[1:len(v)-1])]; ok {
				return st
			}
		}
		return lms.Status(str(v, nil))
	}
	unixTime := func(v []byte) *time.Time {
		if err != nil || string(v) == "null" {
			return nil
		}
		n, perr := strconv.ParseInt(string(v), 10, 64)
		if perr != nil {
			err = perr
			return nil
		}
		return s.time(time.Unix(n, 0).UTC())
	}
	r.ConnectionID = str(next(), &s.conn)
	r.ID = str(next(), nil)
	r.Provider = str(next(), &s.provider)
	r.SyncedAt = unixTime(next())
	r.RemoteDeletedAt = unixTime(next())
	r.Status = status(next())
	r.DueAt = unixTime(next())
	r.ExpiresAt = unixTime(next())
	if err == nil && len(b) != 0 {
		err = errRawFields
	}
	return err
}

var errRawFields = errors.New("not the expected JSON array")

// nextJSONValue splits the first value off a JSON array's members (strings,
// integers and null, without spaces, as json_array writes them).
func nextJSONValue(b []byte) (v, rest []byte, err error) {
	i := 0
	if len(b) > 0 && b[0] == '"' {
		for i = 1; i < len(b) && b[i] != '"'; i++ {
			if b[i] == '\\' {
				i++
			}
		}
		if i >= len(b) {
			return nil, nil, errRawFields
		}
		i++
	} else {
		for i < len(b) && b[i] != ',' {
			i++
		}
	}
	if i == 0 {
		return nil, nil, errRawFields
	}
	v, rest = b[:i], b[i:]
	if len(rest) > 0 {
		if rest[0] != ',' {
			return nil, nil, errRawFields
		}
		rest = rest[1:]
	}
	return v, rest, nil
}

// decode returns the JSON of a data column value (see decodeDocument) in
// memory of its own: col is only valid until the next row.
func (s *rawScanner) decode(col []byte) ([]byte, error) {
	n, err := documentLen(col)
	if err != nil {
		return nil, err
	}
	if cap(s.arena)-len(s.arena) < n {
		// room for the rows still expected if they are this size, within
		// a chunk
		s.arena = make([]byte, 0, max(n, min(rawArenaChunk, n*(s.left+1)+n/4)))
	}
	start := len(s.arena)
	out, err := appendDocument(s.arena, col)
	if err != nil {
		return nil, err
	}
	s.arena = out
	return out[start:len(out):len(out)], nil
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
	e, err := scanEnrollment(q.db.QueryRowContext(ctx, `SELECT `+enrollmentColumns+`
		FROM enrollments e JOIN connections c ON c.id = e.connection_id
		WHERE e.connection_id = ? AND e.id = ?`, connectionID, id))
	return e, notFound(err, "enrollment "+id)
}

func (q queries) EnrollmentStates(ctx context.Context, connectionID string, ids []string) (map[string]store.EnrollmentState, error) {
	out := make(map[string]store.EnrollmentState, len(ids))
	const chunk = 500
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		args := make([]any, 0, len(part)+1)
		args = append(args, connectionID)
		for _, id := range part {
			args = append(args, id)
		}
		rows, err := q.db.QueryContext(ctx, `SELECT id, content_hash, status, remote_deleted_at FROM enrollments
			WHERE connection_id = ? AND id IN (`+placeholders(len(part))+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			var st store.EnrollmentState
			var deleted sql.NullInt64
			if err := rows.Scan(&id, &st.ContentHash, &st.Status, &deleted); err != nil {
				rows.Close()
				return nil, err
			}
			st.RemoteDeletedAt = fromUnix(deleted)
			out[id] = st
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// statusCondition turns an effective status into SQL over the stored status
// and the dates, mirroring lms.EffectiveStatus.
func statusCondition(s lms.Status, now int64) (string, []any) {
	notExpired := "(e.expires_at IS NULL OR e.expires_at > ?)"
	switch s {
	case lms.StatusWithdrawn:
		return "e.status = 'withdrawn'", nil
	case lms.StatusExpired:
		return "(e.status <> 'withdrawn' AND e.expires_at <= ?)", []any{now}
	case lms.StatusOverdue:
		return "(e.status IN ('assigned','enrolled','in_progress') AND e.due_at < ? AND " + notExpired + ")", []any{now, now}
	case lms.StatusAssigned, lms.StatusEnrolled, lms.StatusInProgress:
		return "(e.status = ? AND (e.due_at IS NULL OR e.due_at >= ?) AND " + notExpired + ")", []any{string(s), now, now}
	default:
		return "(e.status = ? AND " + notExpired + ")", []any{string(s), now}
	}
}

// maxCachedInValues: a list query with a longer IN list is not kept as a
// prepared statement (each length is another statement).
const maxCachedInValues = 8

func inList(column string, values []string) (string, []any) {
	args := make([]any, len(values))
	for i, v := range values {
		args[i] = v
	}
	return column + " IN (" + placeholders(len(values)) + ")", args
}

func (q queries) EnrollmentList(ctx context.Context, p store.EnrollmentListParams) (*store.EnrollmentListResult, error) {
	rows, limit, err := q.enrollmentRows(ctx, p)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	res := &store.EnrollmentListResult{Enrollments: make([]store.Enrollment, 0, limit)}
	raw := rawScanner{left: limit}
	for rows.Next() {
		if len(res.Enrollments) == limit {
			res.More = true
			break
		}
		if p.Raw {
			e, err := raw.scan(rows)
			if err != nil {
				return nil, err
			}
			res.Enrollments = append(res.Enrollments, e)
			continue
		}
		e, err := scanEnrollment(rows)
		if err != nil {
			return nil, err
		}
		res.Enrollments = append(res.Enrollments, *e)
	}
	return res, rows.Err()
}

// EnrollmentListJSON implements store.EnrollmentJSONLister: the raw listing
// of p, each record patched by store.AppendEnrollmentJSON as soon as it is
// read. Each record is decompressed into one buffer reused for the page,
// and the rows' fields into reused memory, instead of into memory of their
// own kept until the page is written.
func (q queries) EnrollmentListJSON(ctx context.Context, p store.EnrollmentListParams, dst []byte) (store.EnrollmentJSONPage, error) {
	page := store.EnrollmentJSONPage{JSON: dst}
	p.Raw = true
	rows, limit, err := q.enrollmentRows(ctx, p)
	if err != nil {
		return page, err
	}
	defer rows.Close()
	sc := rawScanner{left: limit}
	var scratch []byte
	var e store.Enrollment
	for rows.Next() {
		if page.Count == limit {
			page.More = true
			break
		}
		if err := rows.Scan(&sc.fields, &sc.data); err != nil {
			return page, err
		}
		sc.times = sc.times[:0] // the previous record is written: its dates are free
		e.Record = lms.CourseEnrollment{}
		r := &e.Record
		if err := sc.parseFields(r); err != nil {
			return page, fmt.Errorf("enrollment columns %s: %w", sc.fields, err)
		}
		if scratch, err = appendDocument(scratch[:0], sc.data); err != nil {
			return page, fmt.Errorf("enrollment %s/%s data: %w", r.ConnectionID, r.ID, err)
		}
		e.Data = scratch
		if page.Count > 0 {
			page.JSON = append(page.JSON, ',')
		}
		if page.JSON, err = store.AppendEnrollmentJSON(page.JSON, &e, p.Now); err != nil {
			return page, err
		}
		page.Count++
		page.Last = store.EnrollmentKey{ConnectionID: r.ConnectionID, ID: r.ID}
	}
	return page, rows.Err()
}

// enrollmentRows runs the listing query of p; limit is the page size (the
// query reads one row more, to tell whether more follow).
func (q queries) enrollmentRows(ctx context.Context, p store.EnrollmentListParams) (_ *sql.Rows, limit int, _ error) {
	var where []string
	var args []any
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	// Filter shapes with short IN lists are prepared once (q.stmts).
	cacheable := q.stmts != nil
	for _, in := range [][]string{p.ConnectionIDs, p.Providers, p.UserIDs, p.UserEmails, p.CourseIDs} {
		if len(in) > maxCachedInValues {
			cacheable = false
		}
	}
	if len(p.ConnectionIDs) > 0 {
		c, a := inList("e.connection_id", p.ConnectionIDs)
		add(c, a...)
	}
	if len(p.Providers) > 0 {
		c, a := inList("e.provider", p.Providers)
		add(c, a...)
	}
	if p.Tenant != "" {
		add("c.tenant = ?", p.Tenant)
	}
	if len(p.UserIDs) > 0 {
		c, a := inList("e.user_id", p.UserIDs)
		add(c, a...)
	}
	if len(p.UserEmails) > 0 {
		lower := make([]string, len(p.UserEmails))
		for i, e := range p.UserEmails {
			lower[i] = strings.ToLower(e)
		}
		c, a := inList("e.user_email", lower)
		add(c, a...)
		add("e.user_email <> ''") // the email index holds only records with one (migration 00004)
	}
	if len(p.CourseIDs) > 0 {
		c, a := inList("e.course_id", p.CourseIDs)
		add(c, a...)
	}
	if len(p.Statuses) > 0 {
		now := unix(p.Now)
		var ors []string
		for _, s := range p.Statuses {
			c, a := statusCondition(s, now)
			ors = append(ors, c)
			args = append(args, a...)
		}
		where = append(where, "("+strings.Join(ors, " OR ")+")")
	}
	if p.UpdatedAfter != nil {
		add("e.changed_at > ?", unix(*p.UpdatedAfter))
	}
	if p.DueBefore != nil {
		add("e.due_at < ?", unix(*p.DueBefore))
	}
	if !p.IncludeDeleted {
		add("e.remote_deleted_at IS NULL")
	}
	if !p.After.IsZero() {
		add("(e.connection_id, e.id) > (?, ?)", p.After.ConnectionID, p.After.ID)
	}
	limit = p.Limit
	if limit <= 0 {
		limit = 50
	}
	columns := enrollmentColumns
	if p.Raw {
		columns = enrollmentRawColumns
	}
	query := `SELECT ` + columns + ` FROM enrollments e JOIN connections c ON c.id = e.connection_id`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY e.connection_id, e.id LIMIT ?"
	args = append(args, limit+1)
	var rows *sql.Rows
	var err error
	if cacheable {
		rows, err = q.stmts.query(ctx, query, args...)
	} else {
		rows, err = q.db.QueryContext(ctx, query, args...)
	}
	return rows, limit, err
}

func (q queries) EnrollmentDateEventsDue(ctx context.Context, p store.DateEventsDueParams) ([]store.DateEventDue, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 500
	}
	now := unix(p.Now)
	var out []store.DateEventDue
	kinds := []struct {
		typ   string
		where string
		args  []any
	}{
		{store.EventEnrollmentOverdue, `e.overdue_event_at IS NULL AND e.due_at < ? AND e.status IN ('assigned','enrolled','in_progress')
			AND (e.expires_at IS NULL OR e.expires_at > ?) ORDER BY e.due_at`, []any{now, now}},
		{store.EventEnrollmentExpired, `e.expired_event_at IS NULL AND e.expires_at <= ? AND e.status <> 'withdrawn'
			ORDER BY e.expires_at`, []any{now}},
	}
	for _, k := range kinds {
		rows, err := q.db.QueryContext(ctx, `SELECT `+enrollmentColumns+` FROM enrollments e JOIN connections c ON c.id = e.connection_id
			WHERE e.remote_deleted_at IS NULL AND `+k.where+` LIMIT ?`, append(k.args, limit)...)
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

func (q queries) peopleList(ctx context.Context, table string, p store.PeopleListParams, each func(data []byte) error) (string, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 50
	}
	rows, err := q.db.QueryContext(ctx, `SELECT id, data FROM `+table+` WHERE connection_id = ? AND id > ? ORDER BY id LIMIT ?`,
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

const syncRunColumns = `r.id, r.connection_id, r.kind, r.trigger, r.status, r.created_at, r.started_at, r.finished_at,
	r.heartbeat_at, r.changed_since, r.stats, r.error, COALESCE(k.cursor, '')`

const syncRunFrom = ` FROM sync_runs r LEFT JOIN checkpoints k ON k.run_id = r.id`

func scanSyncRun(row interface{ Scan(...any) error }) (*store.SyncRun, error) {
	var r store.SyncRun
	var created int64
	var started, finished, heartbeat, since sql.NullInt64
	var stats string
	if err := row.Scan(&r.ID, &r.ConnectionID, &r.Kind, &r.Trigger, &r.Status, &created, &started, &finished,
		&heartbeat, &since, &stats, &r.Error, &r.Cursor); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(stats), &r.Stats); err != nil {
		return nil, fmt.Errorf("sync run %s stats: %w", r.ID, err)
	}
	r.CreatedAt = time.Unix(created, 0).UTC()
	r.StartedAt = fromUnix(started)
	r.FinishedAt = fromUnix(finished)
	r.HeartbeatAt = fromUnix(heartbeat)
	r.ChangedSince = fromUnix(since)
	return &r, nil
}

func (q queries) SyncRunGet(ctx context.Context, id string) (*store.SyncRun, error) {
	r, err := scanSyncRun(q.db.QueryRowContext(ctx, `SELECT `+syncRunColumns+syncRunFrom+` WHERE r.id = ?`, id))
	return r, notFound(err, "sync run "+id)
}

func (q queries) SyncRunActive(ctx context.Context, connectionID string) (*store.SyncRun, error) {
	r, err := scanSyncRun(q.db.QueryRowContext(ctx, `SELECT `+syncRunColumns+syncRunFrom+`
		WHERE r.connection_id = ? AND r.status IN ('queued', 'running')`, connectionID))
	return r, notFound(err, "active sync run of "+connectionID)
}

func (q queries) SyncRunListActive(ctx context.Context) ([]store.SyncRun, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+syncRunColumns+syncRunFrom+` WHERE r.status IN ('queued', 'running') ORDER BY r.id`)
	return collect(rows, err, scanSyncRun)
}

func (q queries) SyncRunList(ctx context.Context, p store.SyncRunListParams) ([]store.SyncRun, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 50
	}
	where, args := "r.connection_id = ?", []any{p.ConnectionID}
	if p.Before != "" {
		where += " AND r.id < ?"
		args = append(args, p.Before)
	}
	args = append(args, limit)
	rows, err := q.db.QueryContext(ctx, `SELECT `+syncRunColumns+syncRunFrom+` WHERE `+where+` ORDER BY r.id DESC LIMIT ?`, args...)
	return collect(rows, err, scanSyncRun)
}

// --- events ---

func (q queries) EventList(ctx context.Context, p store.EventListParams) ([]store.Event, error) {
	where, args := []string{"seq > ?"}, []any{p.AfterSeq}
	if len(p.Types) > 0 {
		c, a := inList("type", p.Types)
		where, args = append(where, c), append(args, a...)
	}
	if p.ConnectionID != "" {
		where, args = append(where, "connection_id = ?"), append(args, p.ConnectionID)
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	args = append(args, limit)
	rows, err := q.db.QueryContext(ctx, `SELECT seq, id, type, connection_id, enrollment_id, occurred_at, data FROM events
		WHERE `+strings.Join(where, " AND ")+` ORDER BY seq LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		var e store.Event
		var occurred int64
		var data []byte
		if err := rows.Scan(&e.Seq, &e.ID, &e.Type, &e.ConnectionID, &e.EnrollmentID, &occurred, &data); err != nil {
			return nil, err
		}
		var err error
		if e.Data, err = decodeDocument(data); err != nil {
			return nil, fmt.Errorf("event %d: %w", e.Seq, err)
		}
		e.OccurredAt = time.Unix(occurred, 0).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

func (q queries) EventLastSeq(ctx context.Context) (int64, error) {
	var seq int64
	err := q.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM events`).Scan(&seq)
	return seq, err
}

// --- webhooks ---

const webhookColumns = `id, url, events, secret_ciphertext, enabled, disabled_reason, cursor_seq, consecutive_failures, created_at, updated_at`

func scanWebhook(row interface{ Scan(...any) error }) (*store.Webhook, error) {
	var w store.Webhook
	var events string
	var created, updated int64
	if err := row.Scan(&w.ID, &w.URL, &events, &w.SecretCiphertext, &w.Enabled, &w.DisabledReason, &w.CursorSeq,
		&w.ConsecutiveFailures, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(events), &w.Events); err != nil {
		return nil, fmt.Errorf("webhook %s events: %w", w.ID, err)
	}
	w.CreatedAt = time.Unix(created, 0).UTC()
	w.UpdatedAt = time.Unix(updated, 0).UTC()
	return &w, nil
}

func (q queries) WebhookGet(ctx context.Context, id string) (*store.Webhook, error) {
	w, err := scanWebhook(q.db.QueryRowContext(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE id = ?`, id))
	return w, notFound(err, "webhook "+id)
}

func (q queries) WebhookList(ctx context.Context) ([]store.Webhook, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+webhookColumns+` FROM webhooks ORDER BY id`)
	return collect(rows, err, scanWebhook)
}

func (q queries) DeliveryList(ctx context.Context, p store.DeliveryListParams) ([]store.Delivery, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 50
	}
	where, args := "webhook_id = ?", []any{p.WebhookID}
	if p.Before != "" {
		where += " AND id < ?"
		args = append(args, p.Before)
	}
	args = append(args, limit)
	rows, err := q.db.QueryContext(ctx, `SELECT id, webhook_id, event_id, event_seq, attempt, status_code, error, succeeded,
		duration_ms, attempted_at, next_attempt FROM deliveries WHERE `+where+` ORDER BY id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Delivery
	for rows.Next() {
		var d store.Delivery
		var attempted int64
		var next sql.NullInt64
		if err := rows.Scan(&d.ID, &d.WebhookID, &d.EventID, &d.EventSeq, &d.Attempt, &d.StatusCode, &d.Error, &d.Succeeded,
			&d.DurationMS, &attempted, &next); err != nil {
			return nil, err
		}
		d.AttemptedAt = time.Unix(attempted, 0).UTC()
		d.NextAttempt = fromUnix(next)
		out = append(out, d)
	}
	return out, rows.Err()
}

// --- idempotency ---

func (q queries) IdempotencyGet(ctx context.Context, apiKeyID, key string) (*store.IdempotencyRecord, error) {
	var r store.IdempotencyRecord
	var created int64
	err := q.db.QueryRowContext(ctx, `SELECT api_key_id, key, method, path, request_hash, status, body, created_at
		FROM idempotency_keys WHERE api_key_id = ? AND key = ?`, apiKeyID, key).
		Scan(&r.APIKeyID, &r.Key, &r.Method, &r.Path, &r.RequestHash, &r.Status, &r.Body, &created)
	if err != nil {
		return nil, notFound(err, "idempotency key")
	}
	r.CreatedAt = time.Unix(created, 0).UTC()
	return &r, nil
}
