package app_test

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/app"
	"github.com/registrarhq/registrar/internal/httpx"
	"github.com/registrarhq/registrar/internal/sim/dcsim"
	"github.com/registrarhq/registrar/internal/sim/simkit"
)

// startSyncServer is startServer with the sync engine tuned for tests: jobs
// start within 50 ms and connectors retry briefly.
func startSyncServer(t *testing.T) *server { return startSyncServerOn(t, "") }

// startSyncServerOn is startSyncServer on the PostgreSQL database at
// databaseURL ("" for SQLite in a temporary directory).
func startSyncServerOn(t *testing.T, databaseURL string) *server {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, app.Config{DataDir: dir, DatabaseURL: databaseURL,
		HTTP: httpx.Options{BaseBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond, MaxElapsed: 2 * time.Second},
		Sync: app.SyncConfig{PollEvery: 50 * time.Millisecond, MaxFailure: 3 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	key, _, err := app.APIKeyCreate(ctx, a.Store, "test", false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	readKey, _, err := app.APIKeyCreate(ctx, a.Store, "reader", true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, App: a, URL: "http://" + ln.Addr().String(), Key: key, ReadKey: readKey, DataDir: dir}
	var once sync.Once
	s.shutdown = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
			a.Close()
		})
	}
	t.Cleanup(s.shutdown)
	return s
}

type apiRun struct {
	ID          string  `json:"id"`
	Status      string  `json:"status"`
	Kind        string  `json:"kind"`
	Trigger     string  `json:"trigger"`
	Pages       int64   `json:"pages"`
	RecordsSeen int64   `json:"records_seen"`
	Inserted    int64   `json:"inserted"`
	Unchanged   int64   `json:"unchanged"`
	Requests    int64   `json:"requests"`
	DurationMS  *int64  `json:"duration_ms"`
	FinishedAt  *string `json:"finished_at"`
	Error       string  `json:"error"`
}

func decodeRun(t *testing.T, r *response) apiRun {
	t.Helper()
	var run apiRun
	if err := json.Unmarshal(r.Body, &run); err != nil {
		t.Fatalf("run: %v\n%s", err, r.Body)
	}
	return run
}

// pollRun reads a run until it ended.
func (s *server) pollRun(id string) apiRun {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res := s.do("GET", "/v1/sync-runs/"+id, s.ReadKey, nil)
		if res.Status != 200 {
			s.t.Fatalf("GET run: %d %s", res.Status, res.Body)
		}
		run := decodeRun(s.t, res)
		if run.Status == "succeeded" || run.Status == "failed" {
			return run
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("run %s still %s", id, run.Status)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// TestSyncThroughTheAPI: creating a connection starts its first sync; POST
// sync answers 202 with the active run; runs are listed and end succeeded;
// the records are then listed by the enrollment API.
func TestSyncThroughTheAPI(t *testing.T) { testSyncThroughTheAPI(t, startSyncServer) }

func testSyncThroughTheAPI(t *testing.T, start func(*testing.T) *server) {
	t.Parallel()
	sim, err := dcsim.New(dcsim.Config{Seed: 11, Enrollments: 400})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := simkit.Start("127.0.0.1:0", sim.Handler())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	s := start(t)

	created := s.do("POST", "/v1/connections", s.Key, map[string]any{"provider": "digitalchalk", "name": "dc",
		"settings":    map[string]string{"base_url": srv.URL + "/dc/api/v5", "page_size": "50"},
		"credentials": map[string]string{"token": "dc-sim-token"}})
	if created.Status != 201 {
		t.Fatalf("create: %d %s", created.Status, created.Body)
	}
	cid := created.JSON(t)["id"].(string)

	// The first sync started on creation; asking again answers that run.
	res := s.do("POST", "/v1/connections/"+cid+"/sync", s.Key, nil)
	if res.Status != 202 {
		t.Fatalf("POST sync: %d %s", res.Status, res.Body)
	}
	first := decodeRun(t, res)
	if first.Trigger != "created" || first.Kind != "full" || res.Header.Get("Location") != "/v1/sync-runs/"+first.ID {
		t.Fatalf("POST sync while the first runs answered %+v (Location %q)", first, res.Header.Get("Location"))
	}
	done := s.pollRun(first.ID)
	want := len(sim.EnrollmentIDs())
	if done.Status != "succeeded" || done.Inserted != int64(want) || done.Pages < 8 || done.DurationMS == nil || done.Requests == 0 {
		t.Fatalf("first run ended %+v for %d records", done, want)
	}

	// The records are served.
	list := s.do("GET", "/v1/connections/"+cid+"/course-enrollments?limit=1000", s.ReadKey, nil)
	var page struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(list.Body, &page); err != nil || list.Status != 200 {
		t.Fatalf("list: %d %v", list.Status, err)
	}
	if len(page.Data) != want {
		t.Fatalf("listed %d enrollments, the LMS has %d", len(page.Data), want)
	}

	// A full re-sync on demand: a new run, nothing changed.
	res = s.do("POST", "/v1/connections/"+cid+"/sync?full=true", s.Key, nil)
	second := decodeRun(t, res)
	if res.Status != 202 || second.ID == first.ID || second.Trigger != "manual" {
		t.Fatalf("second POST sync: %d %+v", res.Status, second)
	}
	if again := s.pollRun(second.ID); again.Unchanged != int64(want) || again.Inserted != 0 {
		t.Fatalf("re-sync: %+v", again)
	}

	// Runs are listed newest first with cursor paging.
	res = s.do("GET", "/v1/connections/"+cid+"/sync-runs?limit=1", s.ReadKey, nil)
	var runs struct {
		Data       []apiRun `json:"data"`
		NextCursor string   `json:"next_cursor"`
	}
	if err := json.Unmarshal(res.Body, &runs); err != nil || len(runs.Data) != 1 || runs.Data[0].ID != second.ID || runs.NextCursor == "" {
		t.Fatalf("runs page 1: %s", res.Body)
	}
	res = s.do("GET", "/v1/connections/"+cid+"/sync-runs?limit=1&cursor="+runs.NextCursor, s.ReadKey, nil)
	runs.NextCursor = ""
	if err := json.Unmarshal(res.Body, &runs); err != nil || len(runs.Data) != 1 || runs.Data[0].ID != first.ID || runs.NextCursor != "" {
		t.Fatalf("runs page 2: %s", res.Body)
	}

	for _, c := range []struct {
		method, path, key string
		status            int
		typ               string
	}{
		{"POST", "/v1/connections/con_nope/sync", s.Key, 404, "not-found"},
		{"GET", "/v1/connections/con_nope/sync-runs", s.ReadKey, 404, "not-found"},
		{"GET", "/v1/sync-runs/run_nope", s.ReadKey, 404, "not-found"},
		{"POST", "/v1/connections/" + cid + "/sync", s.ReadKey, 403, "read-only-key"},
		{"GET", "/v1/connections/" + cid + "/sync-runs?limit=0", s.ReadKey, 400, "validation"},
	} {
		res := s.do(c.method, c.path, c.key, nil)
		if res.Status != c.status || !strings.Contains(string(res.Body), "/problems/"+c.typ) {
			t.Errorf("%s %s: %d %s, want %d %s", c.method, c.path, res.Status, res.Body, c.status, c.typ)
		}
	}

	metrics := s.do("GET", "/metrics", "", nil)
	if !strings.Contains(string(metrics.Body), `registrar_sync_runs_total{provider="digitalchalk",status="succeeded"} 2`) ||
		!strings.Contains(string(metrics.Body), `registrar_sync_records_total{outcome="inserted",provider="digitalchalk"}`) ||
		!strings.Contains(string(metrics.Body), `registrar_sync_http_total{provider="digitalchalk",what="requests"}`) ||
		!strings.Contains(string(metrics.Body), `registrar_sync_run_duration_seconds_count{provider="digitalchalk",status="succeeded"} 2`) {
		t.Errorf("sync metrics missing from /metrics")
	}
	conn := s.do("GET", "/v1/connections/"+cid, s.ReadKey, nil)
	if !strings.Contains(string(conn.Body), `"last_sync_status":"succeeded"`) || !strings.Contains(string(conn.Body), `"last_full_sync_at"`) {
		t.Errorf("connection health after syncs: %s", conn.Body)
	}
}
