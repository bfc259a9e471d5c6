package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/app"
	"github.com/registrarhq/registrar/internal/events"
	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/store"
	"github.com/registrarhq/registrar/internal/webhook"
)

// startHookServer is startServer with webhook delivery tuned for tests:
// jobs start within 20 ms, endpoints are checked every 50 ms and retried
// after 20-100 ms, and the retry window is short.
func startHookServer(t *testing.T, mod func(*app.Config)) *server {
	t.Helper()
	cfg := app.Config{
		Sync: app.SyncConfig{PollEvery: 20 * time.Millisecond},
		Webhooks: app.WebhookConfig{DispatchEvery: 50 * time.Millisecond, ClockEvery: 50 * time.Millisecond,
			Backoff: webhook.Backoff{Initial: 20 * time.Millisecond, Factor: 2, Max: 100 * time.Millisecond, Jitter: 0.2}}}
	if mod != nil {
		mod(&cfg)
	}
	return startServerWith(t, cfg)
}

// hookReceiver is a customer's endpoint: it verifies every signature
// against the secret it was given, keeps what it accepted, and answers
// what status() says.
type hookReceiver struct {
	t   *testing.T
	srv *httptest.Server

	mu      sync.Mutex
	secret  string
	now     func() time.Time
	status  func() int
	got     []events.FeedEvent
	bad     int
	answers int
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{t: t, now: time.Now, status: func() int { return http.StatusNoContent }}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if err := webhook.Verify(r.secret, req.Header, body, r.now(), webhook.DefaultTolerance); err != nil {
			r.bad++
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var e events.FeedEvent
		if err := json.Unmarshal(body, &e); err != nil || e.ID != req.Header.Get(webhook.HeaderID) {
			r.t.Errorf("delivery body %s, webhook-id %s: %v", body, req.Header.Get(webhook.HeaderID), err)
		}
		r.answers++
		st := r.status()
		if st < 300 {
			r.got = append(r.got, e)
		}
		w.WriteHeader(st)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *hookReceiver) setSecret(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secret = s
}

func (r *hookReceiver) setStatus(f func() int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status = f
}

// unique returns the accepted events with duplicates (by webhook-id) dropped.
func (r *hookReceiver) unique() []events.FeedEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	var out []events.FeedEvent
	for _, e := range r.got {
		if !seen[e.ID] {
			seen[e.ID] = true
			out = append(out, e)
		}
	}
	return out
}

func (r *hookReceiver) accepted() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func (r *hookReceiver) badSignatures() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bad
}

// eventually polls cond until it holds or the time is up: it waits for the
// job workers, it does not stand in for a backoff.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// createHook registers the receiver and returns the webhook's id.
func createHook(t *testing.T, s *server, r *hookReceiver, body map[string]any) string {
	t.Helper()
	body["url"] = r.srv.URL + "/hooks"
	res := s.do("POST", "/v1/webhooks", s.Key, body)
	if res.Status != 201 {
		t.Fatalf("create webhook: %d %s", res.Status, res.Body)
	}
	m := res.JSON(t)
	secret, _ := m["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("create answer has no secret: %s", res.Body)
	}
	r.setSecret(secret)
	return m["id"].(string)
}

func allFeed(t *testing.T, st store.Store) []store.Event {
	t.Helper()
	evts, err := st.EventList(context.Background(), store.EventListParams{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	return evts
}

// checkEnrollmentOrder asserts that, per enrollment, events arrived in the
// feed's order.
func checkEnrollmentOrder(t *testing.T, got []events.FeedEvent, feed []store.Event) {
	t.Helper()
	seq := map[string]int64{}
	for _, e := range feed {
		seq[e.ID] = e.Seq
	}
	last := map[string]int64{}
	for _, e := range got {
		var d events.Data
		_ = json.Unmarshal(e.Data, &d)
		k := d.ConnectionID + "/" + d.EnrollmentID
		if seq[e.ID] <= last[k] {
			t.Fatalf("events of %s out of order: %s", k, e.ID)
		}
		last[k] = seq[e.ID]
	}
}

func TestWebhookDeliversEveryEventSignedAndInOrder(t *testing.T) {
	s := startHookServer(t, nil)
	feedConnection(t, s.App.Store, "con_a")
	now := time.Now().UTC()
	// History before the endpoints exist: replayed only to the one that asks.
	feedApply(t, s.App.Store, "con_a", now, feedRec("a1", lms.StatusEnrolled, 0), feedRec("a2", lms.StatusEnrolled, 0))

	replay, fresh := newHookReceiver(t), newHookReceiver(t)
	replayID := createHook(t, s, replay, map[string]any{"from": "start"})
	createHook(t, s, fresh, map[string]any{})
	before := len(allFeed(t, s.App.Store))

	// The receiver is down for a while (500s), then comes back.
	var mu sync.Mutex
	down := true
	replay.setStatus(func() int {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	for i := range 5 {
		feedApply(t, s.App.Store, "con_a", now, feedRec("a1", lms.StatusInProgress, float64(10*(i+1))), feedRec("a3", lms.StatusEnrolled, float64(i)))
	}
	eventually(t, 10*time.Second, "failed attempts while the receiver is down", func() bool {
		res := s.do("GET", "/v1/webhooks/"+replayID+"/deliveries", s.ReadKey, nil)
		return strings.Count(string(res.Body), `"succeeded":false`) >= 3
	})
	mu.Lock()
	down = false
	mu.Unlock()

	feed := allFeed(t, s.App.Store)
	eventually(t, 10*time.Second, "every event at the replaying endpoint", func() bool { return len(replay.unique()) == len(feed) })
	eventually(t, 10*time.Second, "new events at the fresh endpoint", func() bool { return len(fresh.unique()) == len(feed)-before })

	got := replay.unique()
	for i, e := range feed {
		if got[i].ID != e.ID || got[i].Type != e.Type {
			t.Fatalf("replay event %d: %s %s, want %s %s", i, got[i].ID, got[i].Type, e.ID, e.Type)
		}
	}
	checkEnrollmentOrder(t, got, feed)
	gotFresh := fresh.unique()
	for i, e := range feed[before:] {
		if gotFresh[i].ID != e.ID {
			t.Fatalf("fresh event %d: %s, want %s", i, gotFresh[i].ID, e.ID)
		}
	}
	if replay.badSignatures()+fresh.badSignatures() != 0 {
		t.Fatal("a delivery failed signature verification")
	}

	// Every attempt is listed, newest first, in pages. The receiver may
	// have the last event before its success is recorded: wait for it.
	var all []map[string]any
	eventually(t, 10*time.Second, "every success recorded", func() bool {
		all = listDeliveries(t, s, replayID, 4)
		return strings.Count(fmtAll(all), "succeeded:true") == len(feed)
	})
	failed := 0
	for i, d := range all {
		if i > 0 && d["attempted_at"].(string) > all[i-1]["attempted_at"].(string) {
			t.Fatalf("deliveries not newest first at %d", i)
		}
		if d["succeeded"] == true {
			continue
		}
		failed++
		if d["status_code"].(float64) != 500 || d["next_attempt_at"] == nil || d["attempt"].(float64) < 1 {
			t.Fatalf("failed attempt: %v", d)
		}
	}
	if failed < 3 {
		t.Fatalf("%d failed attempts listed", failed)
	}
}

// listDeliveries walks a webhook's deliveries page by page.
func listDeliveries(t *testing.T, s *server, id string, limit int) []map[string]any {
	t.Helper()
	var all []map[string]any
	cursor := ""
	for range 1000 {
		path := fmt.Sprintf("/v1/webhooks/%s/deliveries?limit=%d", id, limit)
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		res := s.do("GET", path, s.ReadKey, nil)
		if res.Status != 200 {
			t.Fatalf("%s: %d %s", path, res.Status, res.Body)
		}
		var page struct {
			Data       []map[string]any `json:"data"`
			NextCursor string           `json:"next_cursor"`
		}
		if err := json.Unmarshal(res.Body, &page); err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Data...)
		if cursor = page.NextCursor; cursor == "" {
			return all
		}
	}
	t.Fatal("the delivery list does not end")
	return nil
}

func fmtAll(ds []map[string]any) string {
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&b, "succeeded:%v ", d["succeeded"])
	}
	return b.String()
}

func TestWebhookDisabledAfterRetryWindowAndReenabled(t *testing.T) {
	s := startHookServer(t, func(c *app.Config) { c.Webhooks.RetryFor = 300 * time.Millisecond })
	feedConnection(t, s.App.Store, "con_a")
	r := newHookReceiver(t)
	r.setStatus(func() int { return http.StatusBadGateway })
	id := createHook(t, s, r, map[string]any{"events": []string{store.EventEnrollmentCreated}})
	feedApply(t, s.App.Store, "con_a", time.Now(), feedRec("a1", lms.StatusEnrolled, 0))

	var hook map[string]any
	eventually(t, 10*time.Second, "the endpoint to be disabled", func() bool {
		hook = s.do("GET", "/v1/webhooks/"+id, s.ReadKey, nil).JSON(t)
		return hook["enabled"] == false
	})
	if reason, _ := hook["disabled_reason"].(string); !strings.Contains(reason, "HTTP 502") {
		t.Fatalf("disabled reason %q", reason)
	}
	res := s.do("GET", "/v1/webhooks/"+id+"/deliveries?limit=500", s.ReadKey, nil)
	var page struct{ Data []map[string]any }
	_ = json.Unmarshal(res.Body, &page)
	if len(page.Data) < webhook.DefaultMinAttempts || page.Data[0]["next_attempt_at"] != nil {
		t.Fatalf("attempts before disabling: %s", res.Body)
	}

	// Fixed and re-enabled: the blocked event goes out.
	r.setStatus(func() int { return http.StatusOK })
	res = s.do("PATCH", "/v1/webhooks/"+id, s.Key, map[string]any{"enabled": true})
	if res.Status != 200 || res.JSON(t)["enabled"] != true || res.JSON(t)["consecutive_failures"].(float64) != 0 {
		t.Fatalf("re-enable: %d %s", res.Status, res.Body)
	}
	eventually(t, 10*time.Second, "the blocked event after re-enabling", func() bool { return len(r.unique()) == 1 })
}

func TestWebhookAPI(t *testing.T) {
	s := startHookServer(t, nil)
	secret := webhook.NewSecret()
	created := s.run(t, scenario{name: "create with own secret", method: "POST", path: "/v1/webhooks", key: "rw",
		body:       map[string]any{"url": "https://example.com/hook", "events": []string{"enrollment.created", "enrollment.created", "sync.failed"}, "secret": secret},
		wantStatus: 201, wantContain: []string{secret, `"events":["enrollment.created","sync.failed"]`, `"enabled":true`}}).JSON(t)
	id := created["id"].(string)
	for _, sc := range []scenario{
		{name: "generated secret", method: "POST", path: "/v1/webhooks", key: "rw", body: map[string]any{"url": "http://127.0.0.1:9/x"},
			wantStatus: 201, wantContain: []string{`"secret":"whsec_`, `"events":[]`}},
		{name: "relative URL", method: "POST", path: "/v1/webhooks", key: "rw", body: map[string]any{"url": "/hook"}, wantStatus: 400,
			wantType: "validation", wantContain: []string{"body.url"}},
		{name: "not http", method: "POST", path: "/v1/webhooks", key: "rw", body: map[string]any{"url": "ftp://example.com/x"}, wantStatus: 400,
			wantType: "validation"},
		{name: "unknown event type", method: "POST", path: "/v1/webhooks", key: "rw",
			body: map[string]any{"url": "https://example.com/x", "events": []string{"enrollment.exploded"}}, wantStatus: 400,
			wantType: "validation", wantContain: []string{"body.events"}},
		{name: "malformed secret", method: "POST", path: "/v1/webhooks", key: "rw",
			body: map[string]any{"url": "https://example.com/x", "secret": "hunter2"}, wantStatus: 400, wantType: "validation",
			wantContain: []string{"body.secret"}, wantAbsent: []string{"hunter2"}},
		{name: "bad from", method: "POST", path: "/v1/webhooks", key: "rw",
			body: map[string]any{"url": "https://example.com/x", "from": "yesterday"}, wantStatus: 400},
		{name: "read-only key cannot create", method: "POST", path: "/v1/webhooks", key: "ro",
			body: map[string]any{"url": "https://example.com/x"}, wantStatus: 403},
		{name: "secret never shown again", method: "GET", path: "/v1/webhooks/" + id, key: "ro", wantStatus: 200,
			wantContain: []string{id, "https://example.com/hook"}, wantAbsent: []string{secret, "whsec_", "secret"}},
		{name: "list", method: "GET", path: "/v1/webhooks", key: "ro", wantStatus: 200, wantContain: []string{id},
			wantAbsent: []string{"whsec_"}},
		{name: "no deliveries yet", method: "GET", path: "/v1/webhooks/" + id + "/deliveries", key: "ro", wantStatus: 200,
			wantContain: []string{`"data":[]`}},
		{name: "bad delivery cursor", method: "GET", path: "/v1/webhooks/" + id + "/deliveries?cursor=xyz", key: "ro", wantStatus: 400},
		{name: "unknown webhook", method: "GET", path: "/v1/webhooks/whk_nope", key: "ro", wantStatus: 404, wantType: "not-found"},
		{name: "deliveries of unknown webhook", method: "GET", path: "/v1/webhooks/whk_nope/deliveries", key: "ro", wantStatus: 404},
		{name: "patch unknown", method: "PATCH", path: "/v1/webhooks/whk_nope", key: "rw", body: map[string]any{"enabled": false}, wantStatus: 404},
		{name: "patch events", method: "PATCH", path: "/v1/webhooks/" + id, key: "rw", body: map[string]any{"events": []string{"enrollment.deleted"}},
			wantStatus: 200, wantContain: []string{`"events":["enrollment.deleted"]`}},
		{name: "patch bad url", method: "PATCH", path: "/v1/webhooks/" + id, key: "rw", body: map[string]any{"url": "nope"}, wantStatus: 400},
		{name: "disable", method: "PATCH", path: "/v1/webhooks/" + id, key: "rw", body: map[string]any{"enabled": false},
			wantStatus: 200, wantContain: []string{`"enabled":false`, "disabled through the API"}},
		{name: "delete", method: "DELETE", path: "/v1/webhooks/" + id, key: "rw", wantStatus: 204},
		{name: "gone after delete", method: "GET", path: "/v1/webhooks/" + id, key: "ro", wantStatus: 404},
		{name: "delete again", method: "DELETE", path: "/v1/webhooks/" + id, key: "rw", wantStatus: 404},
	} {
		t.Run(sc.name, func(t *testing.T) { s.run(t, sc) })
	}
}

func TestClockJobRaisesOverdueOnceThroughTheFeed(t *testing.T) {
	var mu sync.Mutex
	now := time.Now().UTC().Truncate(time.Second)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	s := startHookServer(t, func(c *app.Config) { c.Now = clock })
	feedConnection(t, s.App.Store, "con_a")
	due := now.Add(time.Hour)
	r := feedRec("a1", lms.StatusInProgress, 10)
	r.DueAt = &due
	feedApply(t, s.App.Store, "con_a", now, r, feedRec("a2", lms.StatusEnrolled, 0))
	hook := newHookReceiver(t)
	hook.now = clock // the app signs with its clock
	createHook(t, s, hook, map[string]any{"events": []string{store.EventEnrollmentOverdue}})

	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	eventually(t, 10*time.Second, "the overdue event at the webhook", func() bool { return len(hook.unique()) == 1 })
	// Several more runs of the clock job raise nothing new.
	time.Sleep(300 * time.Millisecond)
	got, _ := walkFeed(t, s, map[string][]string{"type": {store.EventEnrollmentOverdue}}, "")
	if len(got) != 1 || !strings.Contains(string(got[0].Data), `"enrollment_id":"a1"`) || !strings.Contains(string(got[0].Data), `"status":"overdue"`) {
		t.Fatalf("overdue events in the feed: %+v", got)
	}
	if n := hook.accepted(); len(hook.unique()) != 1 || n != 1 || hook.badSignatures() != 0 {
		t.Fatalf("webhook got %d overdue deliveries", n)
	}
}
