package app_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/app"
	"github.com/registrarhq/registrar/internal/httpx"
	"github.com/registrarhq/registrar/internal/sim/dcsim"
	"github.com/registrarhq/registrar/internal/sim/simkit"
	"github.com/registrarhq/registrar/internal/store"
)

// TestWebhookDeliversWhatASyncChanged: end to end, a sync against the
// DigitalChalk simulator raises events that reach a registered endpoint,
// signed, once each and in feed order; after changes behind the API's back,
// a re-sync delivers exactly the new events.
func TestWebhookDeliversWhatASyncChanged(t *testing.T) {
	sim, err := dcsim.New(dcsim.Config{Seed: 5, Enrollments: 80})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := simkit.Start("127.0.0.1:0", sim.Handler())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	s := startHookServer(t, func(c *app.Config) {
		c.HTTP = httpx.Options{BaseBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond, MaxElapsed: 2 * time.Second}
	})
	r := newHookReceiver(t)
	createHook(t, s, r, map[string]any{})

	created := s.do("POST", "/v1/connections", s.Key, map[string]any{"provider": "digitalchalk", "name": "dc",
		"settings":    map[string]string{"base_url": srv.URL + "/dc/api/v5", "page_size": "25"},
		"credentials": map[string]string{"token": "dc-sim-token"}})
	if created.Status != 201 {
		t.Fatalf("create: %d %s", created.Status, created.Body)
	}
	cid := created.JSON(t)["id"].(string)
	sync := func(path string) {
		t.Helper()
		res := s.do("POST", path, s.Key, nil)
		if res.Status != 202 {
			t.Fatalf("POST %s: %d %s", path, res.Status, res.Body)
		}
		if run := s.pollRun(decodeRun(t, res).ID); run.Status != "succeeded" {
			t.Fatalf("run %+v", run)
		}
	}
	sync("/v1/connections/" + cid + "/sync")

	check := func(what string) []store.Event {
		t.Helper()
		feed := allFeed(t, s.App.Store)
		eventually(t, 15*time.Second, what, func() bool { return len(r.unique()) == len(feed) })
		got := r.unique()
		for i, e := range feed {
			if got[i].ID != e.ID || got[i].Type != e.Type {
				t.Fatalf("%s: event %d is %s %s, want %s %s", what, i, got[i].ID, got[i].Type, e.ID, e.Type)
			}
		}
		checkEnrollmentOrder(t, got, feed)
		if r.badSignatures() != 0 {
			t.Fatal("a delivery failed signature verification")
		}
		return feed
	}
	first := check("the first sync's events")
	created0 := 0
	for _, e := range first {
		if e.Type == store.EventEnrollmentCreated {
			created0++
		}
	}
	if created0 != len(sim.EnrollmentIDs()) || first[len(first)-1].Type != store.EventSyncCompleted {
		t.Fatalf("first sync raised %d created events for %d records, last %s", created0, len(sim.EnrollmentIDs()), first[len(first)-1].Type)
	}

	if _, err := sim.Mutate(6, 42); err != nil {
		t.Fatal(err)
	}
	sync("/v1/connections/" + cid + "/sync?full=true")
	second := check("the re-sync's events")
	if len(second) <= len(first)+1 {
		t.Fatalf("the re-sync raised no enrollment events: %d then %d", len(first), len(second))
	}
	// The receiver has every event before the deliverer has counted the last
	// answer, so wait briefly for the counter to catch up.
	want := `registrar_webhook_attempts_total{outcome="succeeded"} ` + strconv.Itoa(len(second))
	metrics := ""
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if metrics = string(s.do("GET", "/metrics", "", nil).Body); strings.Contains(metrics, want) {
			break
		}
	}
	if !strings.Contains(metrics, want) {
		t.Fatalf("metrics lack %d successful attempts", len(second))
	}
}
