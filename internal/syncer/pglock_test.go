package syncer_test

import (
	"context"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/provider"
	"github.com/registrarhq/registrar/internal/provider/digitalchalk"
	"github.com/registrarhq/registrar/internal/sim/dcsim"
	"github.com/registrarhq/registrar/internal/sim/simkit"
	"github.com/registrarhq/registrar/internal/store"
	"github.com/registrarhq/registrar/internal/store/postgres"
	"github.com/registrarhq/registrar/internal/syncer"
)

type oneConnector struct{ r provider.Reader }

func (c oneConnector) Connector(context.Context, *store.Connection) (provider.Reader, error) {
	return c.r, nil
}

// TestPostgresLiveOwnerKeepsItsRun: on PostgreSQL the owner of a run holds
// a session advisory lock; another replica, whose clock says the run's
// heartbeat is an hour old, neither recovers nor executes the run while the
// lock is held, and the owner finishes it alone.
func TestPostgresLiveOwnerKeepsItsRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := postgres.Open(ctx, postgres.Options{URL: postgres.TestDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sim, err := dcsim.New(dcsim.Config{Seed: 4, Enrollments: 600, Faults: simkit.Faults{Latency: simkit.Duration(20 * time.Millisecond)}})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := simkit.Start("127.0.0.1:0", sim.Handler())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	r, err := digitalchalk.Definition().New(provider.Config{
		Settings: map[string]string{"base_url": srv.URL + "/dc/api/v5", "page_size": "10"},
		Secrets:  map[string]string{"token": "dc-sim-token"}, HTTP: fastHTTP})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	conn := &store.Connection{ID: "con_dc", Provider: "digitalchalk", Name: "dc", Settings: map[string]string{},
		SyncInterval: 15 * time.Minute, CreatedAt: now, UpdatedAt: now}
	if err := st.InTx(ctx, func(tx store.Tx) error { return tx.ConnectionCreate(ctx, conn) }); err != nil {
		t.Fatal(err)
	}
	replica := func(clock func() time.Time) *syncer.Syncer {
		s, err := st.OpenSession(ctx, postgres.SessionOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		sy, err := syncer.New(syncer.Config{Store: st, Connectors: oneConnector{r}, Locker: s, Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		return sy
	}
	owner := replica(time.Now)
	other := replica(func() time.Time { return time.Now().Add(time.Hour) })

	run, err := owner.SyncStart(ctx, conn.ID, true, "manual")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- owner.Run(ctx, run.ID) }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		cur, err := st.SyncRunGet(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if cur.Status == store.SyncStatusRunning && cur.Stats.Pages >= 2 {
			break
		}
		if cur.Status != store.SyncStatusQueued && cur.Status != store.SyncStatusRunning || time.Now().After(deadline) {
			t.Fatalf("the run is %s with %d pages; it should be running", cur.Status, cur.Stats.Pages)
		}
	}
	if n, err := other.Recover(ctx); err != nil || n != 0 {
		t.Fatalf("the other replica recovered %d runs (%v), want none", n, err)
	}
	if _, err := other.Schedule(ctx); err != nil {
		t.Fatal(err)
	}
	if err := other.Run(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	if cur, err := st.SyncRunGet(ctx, run.ID); err != nil || cur.HeartbeatAt == nil || cur.HeartbeatAt.After(time.Now().Add(time.Minute)) {
		t.Fatalf("the other replica claimed the run: %+v %v", cur, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	end, err := st.SyncRunGet(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if end.Status != store.SyncStatusSucceeded || end.Stats.Inserted != int64(len(sim.EnrollmentIDs())) {
		t.Fatalf("the owner's run ended %s with %+v", end.Status, end.Stats)
	}
}
