package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/registrarhq/registrar/internal/store"
)

// Migration 3 rebuilds enrollments as a rowid table: the rows of a database
// at version 2 survive it (and its down step), and the upsert's ON CONFLICT
// (connection_id, id) still finds them.
func TestMigrateEnrollmentsRowid(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", dsn(filepath.Join(t.TempDir(), "r.db"), true))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sub, _ := fs.Sub(migrations, "migrations")
	p, err := goose.NewProvider(goose.DialectSQLite3, db, sub)
	if err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	count := func(want int) {
		t.Helper()
		var n int
		var data string
		if err := db.QueryRowContext(ctx, `SELECT count(*), max(data) FROM enrollments`).Scan(&n, &data); err != nil || n != want || data != `{"b":2}` {
			t.Fatalf("enrollments: %d rows, max data %q, %v; want %d", n, data, err, want)
		}
	}
	if _, err := p.UpTo(ctx, 2); err != nil {
		t.Fatal(err)
	}
	exec(`INSERT INTO connections (id, provider, name, sync_interval_s, created_at, updated_at) VALUES ('con_1', 'canvas', 'a', 60, 1, 1)`)
	exec(`INSERT INTO enrollments (connection_id, id, provider, status, changed_at, content_hash, data, overdue_event_at)
		VALUES ('con_1', 'e1', 'canvas', 'enrolled', 1, 'h1', '{"a":1}', 5), ('con_1', 'e2', 'canvas', 'enrolled', 1, 'h2', '{"b":2}', NULL)`)
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	count(2)
	exec(`INSERT INTO enrollments (connection_id, id, provider, status, changed_at, content_hash, data)
		VALUES ('con_1', 'e1', 'canvas', 'passed', 2, 'h1b', '{"a":1}') ON CONFLICT (connection_id, id) DO UPDATE SET status = excluded.status`)
	count(2)
	var status string
	var overdue int
	if err := db.QueryRowContext(ctx, `SELECT status, overdue_event_at FROM enrollments WHERE connection_id = 'con_1' AND id = 'e1'`).Scan(&status, &overdue); err != nil || status != "passed" || overdue != 5 {
		t.Fatalf("e1 after upsert: %q %d %v", status, overdue, err)
	}
	if _, err := p.Down(ctx); err != nil {
		t.Fatal(err)
	}
	count(2)
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	count(2)
}

// Migration 5 rebuilds events without the UNIQUE index on id and with
// compressed payloads: events written before it keep their seq and plain
// JSON payloads and still read, and the next event continues the sequence
// after the highest seq ever handed out (so feed cursors stay valid).
func TestMigrateEventsLean(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	db, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		t.Fatal(err)
	}
	sub, _ := fs.Sub(migrations, "migrations")
	p, err := goose.NewProvider(goose.DialectSQLite3, db, sub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 4); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO events (seq, id, type, occurred_at, data) VALUES (1, 'evt_a', 'sync.completed', 1, '{"n":1}'), (2, 'evt_b', 'sync.completed', 2, '{"n":2}'), (9, 'evt_c', 'sync.completed', 3, '{"n":9}')`,
		`DELETE FROM events WHERE seq = 9`, // the high-water mark stays 9
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s, err := Open(ctx, Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	next := []store.Event{{ID: "evt_d", Type: store.EventSyncCompleted, OccurredAt: time.Unix(4, 0), Data: []byte(`{"n":10}`)}}
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.EventAppend(ctx, next) }); err != nil {
		t.Fatal(err)
	}
	got, err := s.EventList(ctx, store.EventListParams{})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, e := range got {
		seen = append(seen, fmt.Sprintf("%d %s %s", e.Seq, e.ID, e.Data))
	}
	want := []string{`1 evt_a {"n":1}`, `2 evt_b {"n":2}`, `10 evt_d {"n":10}`}
	if !slices.Equal(seen, want) {
		t.Fatalf("events after migration:\n got %q\nwant %q", seen, want)
	}
	var typ string
	if err := s.writer.QueryRowContext(ctx, `SELECT typeof(data) FROM events WHERE seq = 10`).Scan(&typ); err != nil || typ != "blob" {
		t.Fatalf("new payload stored as %q (%v), want a compressed blob", typ, err)
	}
}
