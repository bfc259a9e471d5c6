package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/store"
	"github.com/registrarhq/registrar/internal/store/postgres"
	"github.com/registrarhq/registrar/internal/store/storetest"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// openTest opens the engine on a fresh database and closes it at the end.
func openTest(t *testing.T, opts postgres.Options) *postgres.Store {
	t.Helper()
	opts.URL = postgres.TestDatabase(t)
	s, err := postgres.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestStore(t *testing.T) {
	t.Parallel()
	if os.Getenv(postgres.TestDatabaseEnv) == "" {
		t.Skip(postgres.TestDatabaseEnv + " not set: skipping PostgreSQL tests")
	}
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := postgres.Open(context.Background(), postgres.Options{URL: postgres.TestDatabase(t)})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestEventFeedOrderUnderConcurrentAppends is the reason EventAppend takes
// a lock: many transactions append at once and commit after random delays
// (some roll back) while a reader tails the feed with EventList. The reader
// must see every committed event exactly once, in increasing sequence order,
// and no rolled-back event. Without the lock a sequence taken early and
// committed late lands behind the reader's cursor and is lost.
func TestEventFeedOrderUnderConcurrentAppends(t *testing.T) {
	t.Parallel()
	s := openTest(t, postgres.Options{MaxConns: 24})
	ctx := context.Background()
	const writers, txPerWriter = 12, 12
	errRollback := errors.New("rollback on purpose")

	var mu sync.Mutex
	committed := map[string]bool{}
	var writing sync.WaitGroup
	for w := range writers {
		writing.Go(func() {
			for i := range txPerWriter {
				n := 1 + rand.IntN(4)
				events := make([]store.Event, n)
				for k := range events {
					events[k] = store.Event{ID: fmt.Sprintf("evt_w%d_t%d_%d", w, i, k), Type: store.EventEnrollmentUpdated,
						ConnectionID: "con_a", OccurredAt: t0, Data: []byte(`{}`)}
				}
				rollback := rand.IntN(6) == 0
				err := s.InTx(ctx, func(tx store.Tx) error {
					time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
					if err := tx.EventAppend(ctx, events); err != nil {
						return err
					}
					time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
					if rollback {
						return errRollback
					}
					return nil
				})
				if rollback && errors.Is(err, errRollback) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, e := range events {
					committed[e.ID] = true
				}
				mu.Unlock()
			}
		})
	}
	done := make(chan struct{})
	go func() { writing.Wait(); close(done) }()

	seen := map[string]bool{}
	var last int64
	deadline := time.After(30 * time.Second)
	for finished := false; ; {
		select {
		case <-done:
			finished = true
		case <-deadline:
			t.Fatal("reader did not finish")
		default:
		}
		page, err := s.EventList(ctx, store.EventListParams{AfterSeq: last, Limit: 5})
		must(t, err)
		for _, e := range page {
			if e.Seq <= last {
				t.Fatalf("event %s has seq %d, not after %d", e.ID, e.Seq, last)
			}
			if seen[e.ID] {
				t.Fatalf("event %s seen twice", e.ID)
			}
			seen[e.ID], last = true, e.Seq
		}
		// Only a read that starts after every writer finished and finds
		// nothing proves the reader has caught up.
		if finished && len(page) == 0 {
			break
		}
	}
	if len(committed) == 0 {
		t.Fatal("nothing committed")
	}
	for id := range committed {
		if !seen[id] {
			t.Errorf("committed event %s was never seen by the reader", id)
		}
	}
	for id := range seen {
		if !committed[id] {
			t.Errorf("reader saw %s, which was not committed", id)
		}
	}
	lastSeq, err := s.EventLastSeq(ctx)
	must(t, err)
	if lastSeq != last {
		t.Errorf("EventLastSeq = %d, reader ended at %d", lastSeq, last)
	}
}

// queryCounter counts the statements a pool sends.
type queryCounter struct {
	mu      sync.Mutex
	enabled bool
	sql     []string
}

func (c *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.enabled {
		c.sql = append(c.sql, strings.Join(strings.Fields(data.SQL), " "))
	}
	return ctx
}

func (c *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func enrollment(conn, id string) store.Enrollment {
	return store.Enrollment{
		Record: lms.CourseEnrollment{ID: id, ConnectionID: conn, Provider: "canvas", Status: lms.StatusEnrolled,
			User: &lms.User{ID: "u-" + id}, Course: &lms.Course{ID: "c1"}},
		ContentHash: "h-" + id,
		ChangedAt:   t0,
	}
}

func createConnection(t *testing.T, s store.Store, id string) {
	t.Helper()
	must(t, s.InTx(context.Background(), func(tx store.Tx) error {
		return tx.ConnectionCreate(context.Background(), &store.Connection{ID: id, Provider: "canvas", Name: "conn " + id,
			Settings: map[string]string{}, SyncInterval: time.Minute, CreatedAt: t0, UpdatedAt: t0})
	}))
}

func TestEnrollmentUpsertPageIsOneStatement(t *testing.T) {
	t.Parallel()
	counter := &queryCounter{}
	s := openTest(t, postgres.Options{PoolConfigFunc: func(c *pgxpool.Config) { c.ConnConfig.Tracer = counter }})
	ctx := context.Background()
	createConnection(t, s, "con_a")
	page := make([]store.Enrollment, 1000)
	for i := range page {
		page[i] = enrollment("con_a", fmt.Sprintf("e%04d", i))
	}
	for round := range 2 { // insert, then update every row
		counter.mu.Lock()
		counter.enabled, counter.sql = true, nil
		counter.mu.Unlock()
		must(t, s.InTx(ctx, func(tx store.Tx) error { return tx.EnrollmentUpsertMany(ctx, page) }))
		counter.mu.Lock()
		counter.enabled = false
		statements := counter.sql
		counter.mu.Unlock()
		// begin, the upsert, commit
		if len(statements) != 3 {
			t.Fatalf("round %d: a 1000-row page took %d statements: %q", round, len(statements), statements)
		}
		for i := range page {
			page[i].Record.Status = lms.StatusCompleted
		}
	}
	res, err := s.EnrollmentList(ctx, store.EnrollmentListParams{Statuses: []lms.Status{lms.StatusCompleted}, Limit: 1000, Now: t0})
	must(t, err)
	if len(res.Enrollments) != 1000 || res.More {
		t.Fatalf("listed %d completed (more %v)", len(res.Enrollments), res.More)
	}
}

// Within one call the last row of a key wins, as on SQLite; PostgreSQL would
// otherwise refuse to update a row twice in one statement.
func TestUpsertRepeatedKeysLastWins(t *testing.T) {
	t.Parallel()
	s := openTest(t, postgres.Options{})
	ctx := context.Background()
	createConnection(t, s, "con_a")
	first, second := enrollment("con_a", "e1"), enrollment("con_a", "e1")
	second.Record.Status, second.ContentHash = lms.StatusCompleted, "h2"
	must(t, s.InTx(ctx, func(tx store.Tx) error {
		if err := tx.EnrollmentUpsertMany(ctx, []store.Enrollment{first, enrollment("con_a", "e2"), second}); err != nil {
			return err
		}
		return tx.UserUpsertMany(ctx, "con_a", []lms.User{{ID: "u1", Name: "old"}, {ID: "u1", Name: "new"}})
	}))
	got, err := s.EnrollmentGet(ctx, "con_a", "e1")
	must(t, err)
	if got.Record.Status != lms.StatusCompleted || got.ContentHash != "h2" {
		t.Fatalf("e1 = %s %s, want the last row", got.Record.Status, got.ContentHash)
	}
	users, _, err := s.UserList(ctx, store.PeopleListParams{ConnectionID: "con_a"})
	must(t, err)
	if len(users) != 1 || users[0].Name != "new" {
		t.Fatalf("users %+v", users)
	}
}

// A conflicting insert reports ErrConflict without aborting the
// transaction, so the caller can carry on as it could on SQLite.
func TestConflictLeavesTransactionUsable(t *testing.T) {
	t.Parallel()
	s := openTest(t, postgres.Options{})
	ctx := context.Background()
	createConnection(t, s, "con_a")
	must(t, s.InTx(ctx, func(tx store.Tx) error {
		err := tx.ConnectionCreate(ctx, &store.Connection{ID: "con_b", Provider: "canvas", Name: "conn con_a",
			Settings: map[string]string{}, CreatedAt: t0, UpdatedAt: t0})
		if !errors.Is(err, store.ErrConflict) || err.Error() != `connection name "conn con_a" is taken: conflict` {
			return fmt.Errorf("duplicate name: %v", err)
		}
		return tx.APIKeyCreate(ctx, &store.APIKey{ID: "key_1", Name: "k", Prefix: "rk", Hash: "h", CreatedAt: t0})
	}))
	if _, err := s.APIKeyGetByHash(ctx, "h"); err != nil {
		t.Fatalf("write after the conflict was lost: %v", err)
	}
	// An update that collides is a conflict too.
	createConnection(t, s, "con_c")
	err := s.InTx(ctx, func(tx store.Tx) error {
		c, err := tx.ConnectionGet(ctx, "con_c")
		if err != nil {
			return err
		}
		c.Name = "conn con_a"
		return tx.ConnectionUpdate(ctx, c)
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("rename onto a taken name: %v", err)
	}
}

// Replicas starting together migrate once and all open.
func TestOpenConcurrentMigrations(t *testing.T) {
	t.Parallel()
	url := postgres.TestDatabase(t)
	ctx := context.Background()
	const replicas = 4
	errs := make(chan error, replicas)
	var wg sync.WaitGroup
	for range replicas {
		wg.Go(func() {
			s, err := postgres.Open(ctx, postgres.Options{URL: url})
			if err == nil {
				err = s.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	s, err := postgres.Open(ctx, postgres.Options{URL: url})
	must(t, err)
	defer s.Close()
	var applied int
	must(t, s.Pool().QueryRow(ctx, `SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&applied))
	files, err := filepath.Glob("migrations/*.sql")
	must(t, err)
	if applied != len(files) || applied == 0 {
		t.Fatalf("migration rows: %d, want one per migration file (%d)", applied, len(files))
	}
}

func TestOpenPoolSettings(t *testing.T) {
	t.Parallel()
	base := postgres.TestDatabase(t)
	ctx := context.Background()
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	fromURL, err := postgres.Open(ctx, postgres.Options{URL: base + sep + "pool_max_conns=3&pool_min_conns=1"})
	must(t, err)
	defer fromURL.Close()
	if c := fromURL.Pool().Config(); c.MaxConns != 3 || c.MinConns != 1 {
		t.Fatalf("from the URL: max %d min %d", c.MaxConns, c.MinConns)
	}
	fromOptions, err := postgres.Open(ctx, postgres.Options{URL: base + sep + "pool_max_conns=3", MaxConns: 7, SkipMigrate: true})
	must(t, err)
	defer fromOptions.Close()
	if c := fromOptions.Pool().Config(); c.MaxConns != 7 {
		t.Fatalf("options over the URL: max %d", c.MaxConns)
	}
	must(t, fromOptions.DB().PingContext(ctx))
}

// closedPort returns a local address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// This one needs no server: it runs everywhere.
func TestOpenUnreachableSaysWhereNotWhat(t *testing.T) {
	t.Parallel()
	addr := closedPort(t)
	start := time.Now()
	var log bytes.Buffer
	_, err := postgres.Open(context.Background(), postgres.Options{
		URL:            "postgres://registrar:s3cret-Passw0rd@" + addr + "/registrar?sslmode=disable",
		StartupTimeout: 1200 * time.Millisecond,
		Logger:         slog.New(slog.NewTextHandler(&log, nil)),
	})
	took := time.Since(start)
	if err == nil {
		t.Fatal("opened a closed port")
	}
	msg := err.Error()
	if !strings.Contains(msg, "could not reach the database at "+addr) {
		t.Errorf("error does not name %s: %s", addr, msg)
	}
	if strings.Contains(msg, "s3cret-Passw0rd") || strings.Contains(log.String(), "s3cret-Passw0rd") {
		t.Errorf("error or log shows the password: %s\n%s", msg, log.String())
	}
	// serve prints the error as one line; the wait is logged once, not
	// at each of the attempts.
	if strings.Contains(msg, "\n") {
		t.Errorf("error spans lines: %q", msg)
	}
	if lines := strings.Count(log.String(), "\n"); lines != 1 || !strings.Contains(log.String(), "waiting for PostgreSQL") {
		t.Errorf("want one line saying it waits, got %d:\n%s", lines, log.String())
	}
	if took < time.Second || took > 5*time.Second {
		t.Errorf("gave up after %s, want about 1.2s", took)
	}
}

// A database that starts after Registrar is waited for: a proxy to the test
// server starts listening on a closed port 700ms after Open begins.
func TestOpenWaitsForDatabase(t *testing.T) {
	t.Parallel()
	dbURL := postgres.TestDatabase(t)
	u, err := url.Parse(dbURL)
	if err != nil || u.Host == "" {
		t.Skip("the test database is not a postgres:// URL with a host")
	}
	target, addr := u.Host, closedPort(t)
	proxyCtx, stopProxy := context.WithCancel(context.Background())
	t.Cleanup(stopProxy)
	go func() {
		select {
		case <-proxyCtx.Done():
			return
		case <-time.After(700 * time.Millisecond):
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("proxy: %v", err)
			return
		}
		context.AfterFunc(proxyCtx, func() { ln.Close() })
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			go proxy(proxyCtx, client, target)
		}
	}()
	u.Host = addr
	start := time.Now()
	s, err := postgres.Open(context.Background(), postgres.Options{URL: u.String(), StartupTimeout: 10 * time.Second})
	must(t, err)
	defer s.Close()
	if waited := time.Since(start); waited < 700*time.Millisecond {
		t.Fatalf("opened after %s, before the database was up", waited)
	}
	must(t, s.Ping(context.Background()))
}

func proxy(ctx context.Context, client net.Conn, target string) {
	server, err := net.Dial("tcp", target)
	if err != nil {
		client.Close()
		return
	}
	stop := context.AfterFunc(ctx, func() { client.Close(); server.Close() })
	defer stop()
	go func() { io.Copy(server, client); server.Close() }()
	io.Copy(client, server)
	client.Close()
}

// Errors that waiting cannot fix end the wait at once.
func TestOpenUnknownDatabaseFailsFast(t *testing.T) {
	t.Parallel()
	dbURL := postgres.TestDatabase(t)
	u, err := url.Parse(dbURL)
	if err != nil || u.Host == "" {
		t.Skip("the test database is not a postgres:// URL with a host")
	}
	u.Path = "/registrar_no_such_database"
	start := time.Now()
	_, err = postgres.Open(context.Background(), postgres.Options{URL: u.String()})
	if err == nil || !strings.Contains(err.Error(), "refused the connection") {
		t.Fatalf("err = %v", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("took %s to give up on a database that does not exist", took)
	}
}

// Times are kept at whole seconds in UTC, as on SQLite.
func TestTimesAreWholeSecondsUTC(t *testing.T) {
	t.Parallel()
	s := openTest(t, postgres.Options{})
	ctx := context.Background()
	createConnection(t, s, "con_a")
	e := enrollment("con_a", "e1")
	e.ChangedAt = time.Date(2026, 3, 1, 13, 0, 0, 900_000_000, time.FixedZone("CET", 3600))
	must(t, s.InTx(ctx, func(tx store.Tx) error { return tx.EnrollmentUpsertMany(ctx, []store.Enrollment{e}) }))
	got, err := s.EnrollmentGet(ctx, "con_a", "e1")
	must(t, err)
	if want := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC); got.ChangedAt != want {
		t.Fatalf("changed_at = %v, want %v", got.ChangedAt, want)
	}
	// updated_after compares whole seconds too: a record changed within the
	// second of the bound is not after it.
	after := t0.Add(500 * time.Millisecond)
	res, err := s.EnrollmentList(ctx, store.EnrollmentListParams{UpdatedAfter: &after, Now: t0})
	must(t, err)
	if len(res.Enrollments) != 0 {
		t.Fatalf("updated_after within the same second listed %d rows", len(res.Enrollments))
	}
}

// Vendor payloads are kept byte for byte, including what jsonb would refuse
// or reorder.
func TestPayloadsVerbatim(t *testing.T) {
	t.Parallel()
	s := openTest(t, postgres.Options{})
	ctx := context.Background()
	createConnection(t, s, "con_a")
	e := enrollment("con_a", "e1")
	raw := `{"z":1,"a":"nul \u0000 here","n":1.50}`
	e.Record.RemoteData = []byte(raw)
	e.Record.User.Name = "nul \x00 in a name"
	evt := store.Event{ID: "evt_1", Type: store.EventEnrollmentCreated, OccurredAt: t0, Data: []byte(`{"b":2,"a":1}`)}
	bare := store.Event{ID: "evt_2", Type: store.EventSyncCompleted, OccurredAt: t0}
	must(t, s.InTx(ctx, func(tx store.Tx) error {
		if err := tx.EnrollmentUpsertMany(ctx, []store.Enrollment{e}); err != nil {
			return err
		}
		return tx.EventAppend(ctx, []store.Event{evt, bare})
	}))
	got, err := s.EnrollmentGet(ctx, "con_a", "e1")
	must(t, err)
	if string(got.Record.RemoteData) != raw || got.Record.User.Name != "nul \x00 in a name" {
		t.Fatalf("remote data %s, user %q", got.Record.RemoteData, got.Record.User.Name)
	}
	events, err := s.EventList(ctx, store.EventListParams{})
	must(t, err)
	if len(events) != 2 || string(events[0].Data) != `{"b":2,"a":1}` || len(events[1].Data) != 0 {
		t.Fatalf("events %+v", events)
	}
}

// Inside a transaction a Get locks its row, so read-modify-write works as on
// SQLite's single writer: the webhook deliverer's "move the cursor forward
// only" guard must not let a slower replica move it back. Without the lock
// the second transaction reads 0, writes 9 and commits while the first,
// which also read 0, then writes 5.
func TestReadModifyWriteInTransactionIsSerialised(t *testing.T) {
	t.Parallel()
	s := openTest(t, postgres.Options{})
	ctx := context.Background()
	must(t, s.InTx(ctx, func(tx store.Tx) error {
		return tx.WebhookCreate(ctx, &store.Webhook{ID: "whk_1", URL: "https://example.com", SecretCiphertext: []byte("x"),
			Enabled: true, CreatedAt: t0, UpdatedAt: t0})
	}))
	advance := func(to int64, hold time.Duration) error {
		return s.InTx(ctx, func(tx store.Tx) error {
			w, err := tx.WebhookGet(ctx, "whk_1")
			if err != nil {
				return err
			}
			time.Sleep(hold)
			if w.CursorSeq >= to {
				return nil
			}
			w.CursorSeq = to
			return tx.WebhookUpdate(ctx, w)
		})
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := advance(5, 300*time.Millisecond); err != nil {
			t.Error(err)
		}
	})
	time.Sleep(50 * time.Millisecond) // the first has read the row
	wg.Go(func() {
		if err := advance(9, 0); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
	w, err := s.WebhookGet(ctx, "whk_1")
	must(t, err)
	if w.CursorSeq != 9 {
		t.Fatalf("cursor = %d, want 9: the second transaction acted on a stale read", w.CursorSeq)
	}
}

// Diffing a page against stored states and writing it is one step per
// connection, as on SQLite: a transaction that reads states while another
// is between its read and its commit waits and sees the other's rows.
func TestEnrollmentDiffSerialisedPerConnection(t *testing.T) {
	t.Parallel()
	s := openTest(t, postgres.Options{})
	ctx := context.Background()
	createConnection(t, s, "con_a")
	createConnection(t, s, "con_b")
	diffAndWrite := func(conn string, hold time.Duration) (existed bool, err error) {
		err = s.InTx(ctx, func(tx store.Tx) error {
			states, err := tx.EnrollmentStates(ctx, conn, []string{"e1"})
			if err != nil {
				return err
			}
			_, existed = states["e1"]
			time.Sleep(hold)
			return tx.EnrollmentUpsertMany(ctx, []store.Enrollment{enrollment(conn, "e1")})
		})
		return existed, err
	}
	var wg sync.WaitGroup
	var firstExisted, secondExisted bool
	wg.Go(func() {
		var err error
		if firstExisted, err = diffAndWrite("con_a", 300*time.Millisecond); err != nil {
			t.Error(err)
		}
	})
	time.Sleep(50 * time.Millisecond)
	// Another connection does not wait.
	start := time.Now()
	_, err := diffAndWrite("con_b", 0)
	must(t, err)
	if waited := time.Since(start); waited > 200*time.Millisecond {
		t.Errorf("a diff of another connection waited %s", waited)
	}
	wg.Go(func() {
		var err error
		if secondExisted, err = diffAndWrite("con_a", 0); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
	if firstExisted || !secondExisted {
		t.Fatalf("first saw e1: %v, second saw e1: %v; want false, true (the second must diff against the first's write)",
			firstExisted, secondExisted)
	}
}
