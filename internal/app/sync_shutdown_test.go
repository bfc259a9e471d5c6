package app_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/app"
	"github.com/registrarhq/registrar/internal/sim/dcsim"
	"github.com/registrarhq/registrar/internal/sim/simkit"
	"github.com/registrarhq/registrar/internal/store"
)

// TestServeShutdownResumes: stopping serve while a sync runs leaves the run
// queued at its checkpoint, and the next serve on the data directory
// resumes it to the end, with one enrollment.created per record.
func TestServeShutdownResumes(t *testing.T) {
	t.Parallel()
	sim, err := dcsim.New(dcsim.Config{Seed: 8, Enrollments: 1500, Faults: simkit.Faults{Latency: simkit.Duration(20 * time.Millisecond)}})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := simkit.Start("127.0.0.1:0", sim.Handler())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	s := startSyncServer(t)
	created := s.do("POST", "/v1/connections", s.Key, map[string]any{"provider": "digitalchalk", "name": "dc",
		"settings":    map[string]string{"base_url": srv.URL + "/dc/api/v5", "page_size": "50"},
		"credentials": map[string]string{"token": "dc-sim-token"}})
	if created.Status != 201 {
		t.Fatalf("create: %d %s", created.Status, created.Body)
	}
	cid := created.JSON(t)["id"].(string)
	ctx := context.Background()
	var run *store.SyncRun
	deadline := time.Now().Add(10 * time.Second)
	for {
		if run, err = s.App.Store.SyncRunActive(ctx, cid); err == nil && run.Stats.Pages >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first sync did not commit 3 pages: %v %v", run, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.shutdown()

	// The run was given back with its checkpoint.
	a, err := app.New(ctx, app.Config{DataDir: s.DataDir, Sync: app.SyncConfig{PollEvery: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	stopped, err := a.Store.SyncRunGet(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stopped.Status != store.SyncStatusQueued || stopped.Cursor == "" || stopped.Stats.Pages < 3 {
		t.Fatalf("after shutdown the run is %s, cursor %q, %d pages", stopped.Status, stopped.Cursor, stopped.Stats.Pages)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Serve(sctx, ln) }()
	defer func() { cancel(); <-done }()
	deadline = time.Now().Add(30 * time.Second)
	for {
		r, err := a.Store.SyncRunGet(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status == store.SyncStatusSucceeded {
			if r.Stats.Inserted != int64(len(sim.EnrollmentIDs())) || r.Stats.Pages <= stopped.Stats.Pages {
				t.Fatalf("resumed run: %+v", r.Stats)
			}
			break
		}
		if r.Status == store.SyncStatusFailed || time.Now().After(deadline) {
			t.Fatalf("resumed run is %s: %s", r.Status, r.Error)
		}
		time.Sleep(20 * time.Millisecond)
	}
	evts, err := a.Store.EventList(ctx, store.EventListParams{Types: []string{store.EventEnrollmentCreated}, Limit: 5000})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, ev := range evts {
		if seen[ev.EnrollmentID] {
			t.Fatalf("two enrollment.created events for %s", ev.EnrollmentID)
		}
		seen[ev.EnrollmentID] = true
	}
	if len(seen) != len(sim.EnrollmentIDs()) {
		t.Fatalf("%d created events for %d records", len(seen), len(sim.EnrollmentIDs()))
	}
}
