package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/jobs"
	"github.com/registrarhq/registrar/internal/sim/simkit"
	"github.com/registrarhq/registrar/internal/store"
	"github.com/registrarhq/registrar/internal/store/postgres"
	"github.com/registrarhq/registrar/internal/syncer"
)

// TestPostgresSyncJob: on PostgreSQL the queue runs on River's pgx driver
// (the store's Pool()), migrates its tables, and works a sync. It runs
// where REGISTRAR_TEST_DATABASE_URL points at a server.
func TestPostgresSyncJob(t *testing.T) {
	t.Parallel()
	dbURL := postgres.TestDatabase(t)
	ctx := context.Background()
	st, err := postgres.Open(ctx, postgres.Options{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	b := setup(t, 300, simkit.Faults{})
	if err := st.InTx(ctx, func(tx store.Tx) error { return tx.ConnectionCreate(ctx, b.conn) }); err != nil {
		t.Fatal(err)
	}
	q, err := jobs.Open(ctx, jobs.Config{Store: st, PollEvery: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	sy, err := syncer.New(syncer.Config{Store: st, Connectors: b.conr, Enqueuer: q})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx, jobs.Work{Sync: sy, ScheduleEvery: time.Hour}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Stop(context.Background()) })
	run, err := sy.SyncStart(ctx, b.conn.ID, true, "manual")
	if err != nil {
		t.Fatal(err)
	}
	done := waitRun(t, st, run.ID, store.SyncStatusSucceeded, 20*time.Second)
	if done.Stats.Inserted != int64(len(b.sim.EnrollmentIDs())) {
		t.Fatalf("inserted %d of %d", done.Stats.Inserted, len(b.sim.EnrollmentIDs()))
	}
	// Opening again (another replica, a restart) finds River's tables there.
	if _, err := jobs.Open(ctx, jobs.Config{Store: st}); err != nil {
		t.Fatal(err)
	}
}
