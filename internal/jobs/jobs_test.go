package jobs_test

import (
	"context"
	"database/sql"
	"net/url"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/registrarhq/registrar/internal/httpx"
	"github.com/registrarhq/registrar/internal/jobs"
	"github.com/registrarhq/registrar/internal/provider"
	"github.com/registrarhq/registrar/internal/provider/digitalchalk"
	"github.com/registrarhq/registrar/internal/sim/dcsim"
	"github.com/registrarhq/registrar/internal/sim/simkit"
	"github.com/registrarhq/registrar/internal/store"
	"github.com/registrarhq/registrar/internal/store/sqlite"
	"github.com/registrarhq/registrar/internal/syncer"
)

type fixedConnector struct{ r provider.Reader }

func (f fixedConnector) Connector(context.Context, *store.Connection) (provider.Reader, error) {
	return f.r, nil
}

type bundle struct {
	st   *sqlite.Store
	path string
	sim  *dcsim.Sim
	conn *store.Connection
	conr fixedConnector
}

func setup(t *testing.T, n int, faults simkit.Faults) *bundle {
	t.Helper()
	sim, err := dcsim.New(dcsim.Config{Seed: 3, Enrollments: n, Faults: faults})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := simkit.Start("127.0.0.1:0", sim.Handler())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	r, err := digitalchalk.Definition().New(provider.Config{
		Settings: map[string]string{"base_url": srv.URL + "/dc/api/v5", "page_size": "100"},
		Secrets:  map[string]string{"token": "dc-sim-token"},
		HTTP:     httpx.Options{BaseBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond, MaxElapsed: 2 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "registrar.db")
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Now().UTC().Truncate(time.Second)
	conn := &store.Connection{ID: "con_dc", Provider: "digitalchalk", Name: "dc", Settings: map[string]string{},
		SyncInterval: 15 * time.Minute, CreatedAt: now, UpdatedAt: now}
	if err := st.InTx(context.Background(), func(tx store.Tx) error { return tx.ConnectionCreate(context.Background(), conn) }); err != nil {
		t.Fatal(err)
	}
	return &bundle{st: st, path: path, sim: sim, conn: conn, conr: fixedConnector{r}}
}

func (b *bundle) open(t *testing.T, storeDB any, poll time.Duration) (*jobs.Jobs, *syncer.Syncer) {
	t.Helper()
	q, err := jobs.Open(context.Background(), jobs.Config{Store: storeDB, PollEvery: poll})
	if err != nil {
		t.Fatal(err)
	}
	sy, err := syncer.New(syncer.Config{Store: b.st, Connectors: b.conr, Enqueuer: q})
	if err != nil {
		t.Fatal(err)
	}
	return q, sy
}

func waitRun(t *testing.T, st store.Store, id string, want string, within time.Duration) *store.SyncRun {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		r, err := st.SyncRunGet(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status == want {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s is %s after %s, want %s (error %q)", id, r.Status, within, want, r.Error)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSyncJob: a run started through SyncStart is worked by River.
func TestSyncJob(t *testing.T) {
	t.Parallel()
	b := setup(t, 300, simkit.Faults{})
	q, sy := b.open(t, b.st, 50*time.Millisecond)
	ctx := context.Background()
	if err := q.Start(ctx, jobs.Work{Sync: sy, ScheduleEvery: time.Hour}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Stop(context.Background()) })
	if err := q.Start(ctx, jobs.Work{Sync: sy}); err == nil {
		t.Error("a second Start succeeded")
	}
	// RunOnStart: the schedule job starts the never-synced connection.
	var run *store.SyncRun
	deadline := time.Now().Add(10 * time.Second)
	for run == nil {
		runs, err := b.st.SyncRunList(ctx, store.SyncRunListParams{ConnectionID: b.conn.ID, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) == 1 {
			run = &runs[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the schedule job did not start the connection's first sync")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if run.Trigger != "schedule" {
		t.Errorf("first run trigger %q", run.Trigger)
	}
	done := waitRun(t, b.st, run.ID, store.SyncStatusSucceeded, 15*time.Second)
	if done.Stats.Inserted != int64(len(b.sim.EnrollmentIDs())) {
		t.Fatalf("run inserted %d of %d", done.Stats.Inserted, len(b.sim.EnrollmentIDs()))
	}
	// On demand.
	again, err := sy.SyncStart(ctx, b.conn.ID, true, "manual")
	if err != nil {
		t.Fatal(err)
	}
	waitRun(t, b.st, again.ID, store.SyncStatusSucceeded, 10*time.Second)
}

type pingArgs struct{}

func (pingArgs) Kind() string { return "test_ping" }

type pingWorker struct {
	river.WorkerDefaults[pingArgs]
	n *atomic.Int64
}

func (w *pingWorker) Work(context.Context, *river.Job[pingArgs]) error {
	w.n.Add(1)
	return nil
}

// TestRegisteredWorkers: other packages' workers and periodic jobs run.
func TestRegisteredWorkers(t *testing.T) {
	t.Parallel()
	b := setup(t, 10, simkit.Faults{})
	q, sy := b.open(t, b.st, 50*time.Millisecond)
	var n atomic.Int64
	err := q.Start(context.Background(), jobs.Work{
		Sync:          sy,
		ScheduleEvery: time.Hour,
		Workers:       []func(*river.Workers){func(w *river.Workers) { river.AddWorker(w, &pingWorker{n: &n}) }},
		Periodic: []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return pingArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true})},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Stop(context.Background()) })
	if err := q.Insert(context.Background(), pingArgs{}, nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for n.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("registered worker ran %d times, want 2 (one inserted, one periodic)", n.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStopCheckpointsAndRecoverResumes: Stop cancels a running sync, which
// gives the run back with its checkpoint; a new queue's Recover resumes it.
func TestStopCheckpointsAndRecoverResumes(t *testing.T) {
	t.Parallel()
	b := setup(t, 1500, simkit.Faults{Latency: simkit.Duration(30 * time.Millisecond)})
	q, sy := b.open(t, b.st, 20*time.Millisecond)
	ctx := context.Background()
	if err := q.Start(ctx, jobs.Work{Sync: sy, ScheduleEvery: time.Hour}); err != nil {
		t.Fatal(err)
	}
	run, err := sy.SyncStart(ctx, b.conn.ID, true, "manual")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, _ := b.st.SyncRunGet(ctx, run.ID)
		if r.Stats.Pages >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the run did not commit two pages")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := q.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	stopped, _ := b.st.SyncRunGet(ctx, run.ID)
	if stopped.Status != store.SyncStatusQueued || stopped.Cursor == "" {
		t.Fatalf("after Stop the run is %s with cursor %q", stopped.Status, stopped.Cursor)
	}
	q2, sy2 := b.open(t, b.st, 20*time.Millisecond)
	if n, err := sy2.Recover(ctx); err != nil || n != 1 {
		t.Fatalf("Recover: %d, %v", n, err)
	}
	if err := q2.Start(ctx, jobs.Work{Sync: sy2, ScheduleEvery: time.Hour}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q2.Stop(context.Background()) })
	done := waitRun(t, b.st, run.ID, store.SyncStatusSucceeded, 30*time.Second)
	if done.Stats.Pages <= stopped.Stats.Pages || done.Stats.Inserted != int64(len(b.sim.EnrollmentIDs())) {
		t.Fatalf("resumed run: %+v (stopped at %+v)", done.Stats, stopped.Stats)
	}
}

// separatePool is a store handle whose DB() is a second writer pool to the
// same file, the alternative TestSharedWriterPool measures.
type separatePool struct{ db *sql.DB }

func (s separatePool) DB() *sql.DB { return s.db }

// TestSharedWriterPool measures what River costs a sync when it polls on the
// store's writer connection (the design) and on a pool of its own, with a
// fast poll to make contention visible. Both must finish without "database
// is locked"; the timings are logged for the package doc's reasoning.
func TestSharedWriterPool(t *testing.T) {
	if testing.Short() {
		t.Skip("measurement")
	}
	t.Parallel()
	measure := func(name string, mk func(b *bundle) any) {
		b := setup(t, 3000, simkit.Faults{})
		ctx := context.Background()
		// Baseline: the same sync with no River at all.
		base, err := syncer.New(syncer.Config{Store: b.st, Connectors: b.conr})
		if err != nil {
			t.Fatal(err)
		}
		var alone time.Duration
		for range 2 { // fill, then measure a re-sync like the one below
			start := time.Now()
			if _, err := base.Foreground(ctx, syncer.ForegroundParams{ConnectionID: b.conn.ID, Full: true}); err != nil {
				t.Fatal(err)
			}
			alone = time.Since(start)
		}
		q, sy := b.open(t, mk(b), 5*time.Millisecond)
		if err := q.Start(ctx, jobs.Work{Sync: sy, ScheduleEvery: time.Hour}); err != nil {
			t.Fatal(err)
		}
		defer q.Stop(ctx)
		// A re-sync rewrites no record but marks each seen: a write
		// transaction per page, racing River's polls for the writer.
		start := time.Now()
		run, err := sy.SyncStart(ctx, b.conn.ID, true, "manual")
		if err != nil {
			t.Fatal(err)
		}
		done := waitRun(t, b.st, run.ID, store.SyncStatusSucceeded, 60*time.Second)
		t.Logf("%s: re-sync alone %s; through River polling every 5ms %s (%d pages)", name, alone.Round(time.Millisecond),
			time.Since(start).Round(time.Millisecond), done.Stats.Pages)
	}
	measure("shared writer", func(b *bundle) any { return b.st })
	measure("separate pool", func(b *bundle) any {
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "journal_mode(WAL)")
		db, err := sql.Open("sqlite", "file:"+b.path+"?"+q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		db.SetMaxOpenConns(1)
		t.Cleanup(func() { db.Close() })
		return separatePool{db}
	})
}
