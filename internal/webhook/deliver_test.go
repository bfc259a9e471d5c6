package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/registrarhq/registrar/internal/events"
	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/secrets"
	"github.com/registrarhq/registrar/internal/store"
	"github.com/registrarhq/registrar/internal/store/sqlite"
	"github.com/registrarhq/registrar/internal/webhook"
)

var t0 = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

// clock is a test clock that moves only when told to.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
}

func (c *clock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// receiver is a webhook endpoint that verifies every delivery and keeps
// what it accepted; answer decides the status of each request.
type receiver struct {
	t      *testing.T
	secret string
	clock  *clock
	srv    *httptest.Server

	mu       sync.Mutex
	answer   func(n int) int
	requests int
	got      []received
	badSigs  int
}

type received struct {
	ID   string
	Feed events.FeedEvent
	Data events.Data
}

func newReceiver(t *testing.T, secret string, c *clock) *receiver {
	r := &receiver{t: t, secret: secret, clock: c, answer: func(int) int { return http.StatusOK }}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if err := webhook.Verify(r.secret, req.Header, body, r.clock.Now(), webhook.DefaultTolerance); err != nil {
		r.badSigs++
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if req.Header.Get("User-Agent") == "" || req.Header.Get("Content-Type") != "application/json" {
		r.t.Errorf("headers: %v", req.Header)
	}
	status := r.answer(r.requests)
	var fe events.FeedEvent
	if err := json.Unmarshal(body, &fe); err != nil {
		r.t.Errorf("body is not a feed event: %v: %s", err, body)
	}
	var d events.Data
	_ = json.Unmarshal(fe.Data, &d)
	if fe.ID != req.Header.Get(webhook.HeaderID) {
		r.t.Errorf("webhook-id %q is not the event id %q", req.Header.Get(webhook.HeaderID), fe.ID)
	}
	// A receiver may process an event and still fail to answer 2xx; it
	// keeps it, and drops the redelivery by webhook-id.
	r.got = append(r.got, received{ID: fe.ID, Feed: fe, Data: d})
	w.WriteHeader(status)
}

func (r *receiver) setAnswer(f func(n int) int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answer = f
}

// unique returns what was received, duplicates (same webhook-id) dropped.
func (r *receiver) unique() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	var out []received
	for _, g := range r.got {
		if !seen[g.ID] {
			seen[g.ID] = true
			out = append(out, g)
		}
	}
	return out
}

type bundle struct {
	ctx   context.Context
	store store.Store
	box   *secrets.Box
	clock *clock
	d     *webhook.Deliverer
}

func setup(t *testing.T, mod ...func(*webhook.Config)) *bundle {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(t.TempDir(), "r.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	box, err := secrets.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{now: t0}
	err = st.InTx(ctx, func(tx store.Tx) error {
		return tx.ConnectionCreate(ctx, &store.Connection{ID: "con_1", Provider: "absorb", Name: "a",
			Settings: map[string]string{}, SyncInterval: time.Minute, CreatedAt: t0, UpdatedAt: t0})
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := webhook.Config{Store: st, Secrets: box, Now: c.Now, Rand: func() float64 { return 0.5 }, Timeout: 2 * time.Second}
	for _, m := range mod {
		m(&cfg)
	}
	return &bundle{ctx: ctx, store: st, box: box, clock: c, d: webhook.New(cfg)}
}

func (b *bundle) hook(t *testing.T, url, secret string, types ...string) string {
	t.Helper()
	ct, err := b.box.Seal([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	w := &store.Webhook{ID: fmt.Sprintf("whk_%d", time.Now().UnixNano()), URL: url, Events: types, SecretCiphertext: ct,
		Enabled: true, CreatedAt: t0, UpdatedAt: t0}
	if err := b.store.InTx(b.ctx, func(tx store.Tx) error { return tx.WebhookCreate(b.ctx, w) }); err != nil {
		t.Fatal(err)
	}
	return w.ID
}

// apply writes records as a sync would, raising their events.
func (b *bundle) apply(t *testing.T, recs ...lms.CourseEnrollment) {
	t.Helper()
	err := b.store.InTx(b.ctx, func(tx store.Tx) error {
		_, err := events.Apply(b.ctx, tx, events.ApplyParams{ConnectionID: "con_1", RunID: "run_1", Records: recs, Now: b.clock.Now(), Source: "sync"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (b *bundle) allEvents(t *testing.T) []store.Event {
	t.Helper()
	evts, err := b.store.EventList(b.ctx, store.EventListParams{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	return evts
}

func (b *bundle) webhook(t *testing.T, id string) *store.Webhook {
	t.Helper()
	w, err := b.store.WebhookGet(b.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (b *bundle) deliveries(t *testing.T, id string) []store.Delivery {
	t.Helper()
	list, err := b.store.DeliveryList(b.ctx, store.DeliveryListParams{WebhookID: id, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// drain delivers until nothing is left, moving the clock to each retry;
// it stops after max calls so a bug cannot loop forever.
func (b *bundle) drain(t *testing.T, id string, max int) webhook.Result {
	t.Helper()
	var res webhook.Result
	for range max {
		var err error
		res, err = b.d.Deliver(b.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if res.Disabled || (!res.Failed && !res.More && res.NextAttempt == nil) {
			return res
		}
		if res.NextAttempt != nil {
			b.clock.Set(*res.NextAttempt)
		}
	}
	t.Fatalf("still delivering after %d calls: %+v", max, res)
	return res
}

func rec(id string, status lms.Status, score float64) lms.CourseEnrollment {
	return lms.CourseEnrollment{ID: id, Provider: "absorb", Status: status, Score: lms.Ptr(score),
		User: &lms.User{ID: "u-" + id, Name: "Ana"}, Course: &lms.Course{ID: "c1", Title: "Safety"}}
}

// checkOnceInOrder asserts the receiver saw every feed event exactly once
// (after de-duplication), in feed order.
func checkOnceInOrder(t *testing.T, got []received, want []store.Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("received %d distinct events, want %d", len(got), len(want))
	}
	for i, e := range want {
		if got[i].ID != e.ID || got[i].Feed.Type != e.Type || !got[i].Feed.Time.Equal(e.OccurredAt) {
			t.Fatalf("event %d: got %s %s, want %s %s", i, got[i].ID, got[i].Feed.Type, e.ID, e.Type)
		}
	}
}

func TestDeliverSignedInFeedOrder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	secret := webhook.NewSecret()
	r := newReceiver(t, secret, b.clock)
	id := b.hook(t, r.srv.URL, secret)
	b.apply(t, rec("e1", lms.StatusEnrolled, 0), rec("e2", lms.StatusEnrolled, 0))
	b.clock.Advance(time.Minute)
	b.apply(t, rec("e1", lms.StatusInProgress, 10), rec("e2", lms.StatusEnrolled, 20))
	b.clock.Advance(time.Minute)
	b.apply(t, rec("e1", lms.StatusCompleted, 90))

	res, err := b.d.Deliver(b.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := b.allEvents(t)
	if res.Delivered != len(want) || res.Failed || len(want) != 5 {
		t.Fatalf("result %+v for %d events", res, len(want))
	}
	checkOnceInOrder(t, r.unique(), want)
	if r.badSigs != 0 || len(r.got) != len(want) {
		t.Fatalf("bad signatures %d, requests %d", r.badSigs, len(r.got))
	}
	if got := r.got[2].Data; got.EnrollmentID != "e1" || got.PreviousStatus != lms.StatusEnrolled || got.Status != lms.StatusInProgress {
		t.Fatalf("third delivery data: %+v", got)
	}
	if w := b.webhook(t, id); w.CursorSeq != want[len(want)-1].Seq || w.ConsecutiveFailures != 0 {
		t.Fatalf("cursor %d failures %d", w.CursorSeq, w.ConsecutiveFailures)
	}
	ds := b.deliveries(t, id)
	if len(ds) != len(want) {
		t.Fatalf("%d deliveries recorded, want %d", len(ds), len(want))
	}
	for i, d := range ds { // newest first
		e := want[len(want)-1-i]
		if !d.Succeeded || d.StatusCode != 200 || d.EventID != e.ID || d.Attempt != 1 || d.NextAttempt != nil {
			t.Fatalf("delivery %d: %+v, want event %s", i, d, e.ID)
		}
	}
	// Nothing new: nothing sent.
	if res, err := b.d.Deliver(b.ctx, id); err != nil || res.Delivered != 0 || len(r.got) != len(want) {
		t.Fatalf("second run: %+v %v", res, err)
	}
}

func TestDeliverCatchesUpAfterReceiverOutage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	secret := webhook.NewSecret()
	r := newReceiver(t, secret, b.clock)
	id := b.hook(t, r.srv.URL, secret)
	// The receiver processes requests 2-4 but answers 500 (down behind a
	// proxy, say), then recovers: those events come again.
	r.setAnswer(func(n int) int {
		if n >= 2 && n <= 4 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	b.apply(t, rec("e1", lms.StatusEnrolled, 0), rec("e2", lms.StatusEnrolled, 0))
	res, err := b.d.Deliver(b.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if res.Delivered != 1 || !res.Failed || res.NextAttempt == nil || !res.NextAttempt.Equal(t0.Add(5*time.Second)) {
		t.Fatalf("first run: %+v", res)
	}
	// While the retry waits, nothing is sent and the endpoint is not due.
	if due, _ := b.d.Due(b.ctx); len(due) != 0 {
		t.Fatalf("due while waiting: %v", due)
	}
	if res, _ := b.d.Deliver(b.ctx, id); res.Delivered != 0 || r.requests != 2 {
		t.Fatalf("sent before the retry was due: %+v, %d requests", res, r.requests)
	}
	// Events keep coming during the outage.
	b.clock.Advance(time.Second)
	b.apply(t, rec("e1", lms.StatusInProgress, 50), rec("e3", lms.StatusEnrolled, 0))
	b.clock.Advance(4 * time.Second)
	if due, _ := b.d.Due(b.ctx); len(due) != 1 || due[0] != id {
		t.Fatalf("due after the retry time: %v", due)
	}
	b.drain(t, id, 20)

	want := b.allEvents(t)
	checkOnceInOrder(t, r.unique(), want)
	if len(r.got) != len(want)+3 {
		t.Fatalf("%d requests accepted for %d events and 3 failures", len(r.got), len(want))
	}
	// Every attempt is recorded: the head event's three failures with
	// attempt numbers and their schedule, then its success.
	ds := b.deliveries(t, id)
	var head []store.Delivery
	for i := len(ds) - 1; i >= 0; i-- {
		if ds[i].EventID == want[1].ID {
			head = append(head, ds[i])
		}
	}
	if len(head) != 4 {
		t.Fatalf("head event attempts: %+v", head)
	}
	for i, d := range head[:3] {
		if d.Attempt != i+1 || d.Succeeded || d.StatusCode != 500 || d.NextAttempt == nil || !strings.HasPrefix(d.Error, "HTTP 500") {
			t.Fatalf("attempt %d: %+v", i+1, d)
		}
	}
	if d := head[3]; d.Attempt != 4 || !d.Succeeded {
		t.Fatalf("last attempt: %+v", d)
	}
	if gap1, gap2 := head[1].AttemptedAt.Sub(head[0].AttemptedAt), head[2].AttemptedAt.Sub(head[1].AttemptedAt); gap1 != 5*time.Second || gap2 != 15*time.Second {
		t.Fatalf("retry gaps %v %v, want 5s 15s", gap1, gap2)
	}
	if w := b.webhook(t, id); !w.Enabled || w.ConsecutiveFailures != 0 {
		t.Fatalf("webhook after recovery: %+v", w)
	}
}

func TestDeliverDisablesAfterRetryWindow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	secret := webhook.NewSecret()
	r := newReceiver(t, secret, b.clock)
	r.setAnswer(func(int) int { return http.StatusServiceUnavailable })
	id := b.hook(t, r.srv.URL, secret)
	b.apply(t, rec("e1", lms.StatusEnrolled, 0), rec("e2", lms.StatusEnrolled, 0))

	res := b.drain(t, id, 100)
	if !res.Disabled {
		t.Fatalf("not disabled: %+v", res)
	}
	w := b.webhook(t, id)
	if w.Enabled || !strings.Contains(w.DisabledReason, "failed") || !strings.Contains(w.DisabledReason, "HTTP 503") {
		t.Fatalf("webhook: enabled %v reason %q", w.Enabled, w.DisabledReason)
	}
	ds := b.deliveries(t, id)
	first, last := ds[len(ds)-1], ds[0]
	if span := last.AttemptedAt.Sub(first.AttemptedAt); span != webhook.DefaultRetryFor {
		t.Fatalf("retried for %v, want exactly %v (the last retry is pulled to the window's end)", span, webhook.DefaultRetryFor)
	}
	if len(ds) < webhook.DefaultMinAttempts || len(ds) > 20 || last.Attempt != len(ds) || last.NextAttempt != nil {
		t.Fatalf("%d attempts, last %+v", len(ds), last)
	}
	if w.CursorSeq != 0 {
		t.Fatalf("cursor moved to %d without a success", w.CursorSeq)
	}
	// A disabled endpoint gets nothing more.
	b.clock.Advance(48 * time.Hour)
	n := r.requests
	if due, _ := b.d.Due(b.ctx); len(due) != 0 {
		t.Fatalf("disabled endpoint is due: %v", due)
	}
	if res, _ := b.d.Deliver(b.ctx, id); res.Delivered != 0 || r.requests != n {
		t.Fatalf("disabled endpoint was called: %+v", res)
	}
}

func TestDeliverMinAttemptsGuard(t *testing.T) {
	t.Parallel()
	// Registrar itself was down for two days between the first and second
	// attempts: the endpoint is not disabled on its second failure.
	b := setup(t)
	secret := webhook.NewSecret()
	r := newReceiver(t, secret, b.clock)
	r.setAnswer(func(int) int { return http.StatusInternalServerError })
	id := b.hook(t, r.srv.URL, secret)
	b.apply(t, rec("e1", lms.StatusEnrolled, 0))
	if _, err := b.d.Deliver(b.ctx, id); err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(48 * time.Hour)
	res, err := b.d.Deliver(b.ctx, id)
	if err != nil || res.Disabled || res.NextAttempt == nil {
		t.Fatalf("second attempt: %+v %v", res, err)
	}
	res = b.drain(t, id, 20)
	if !res.Disabled || len(b.deliveries(t, id)) != webhook.DefaultMinAttempts {
		t.Fatalf("disabled %v after %d attempts", res.Disabled, len(b.deliveries(t, id)))
	}
}

func TestDeliverEndpointAnswers(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name         string
		handler      http.HandlerFunc
		wantDisabled bool
		wantNext     time.Duration // after t0; 0 when disabled
		wantErr      string
	}{
		{name: "410 disables at once", handler: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusGone) },
			wantDisabled: true, wantErr: "HTTP 410"},
		{name: "Retry-After longer than the backoff", handler: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusTooManyRequests)
		}, wantNext: 2 * time.Minute, wantErr: "HTTP 429"},
		{name: "redirects are not followed", handler: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://127.0.0.1:1/elsewhere", http.StatusFound)
		}, wantNext: 5 * time.Second, wantErr: "redirects are not followed"},
		{name: "error body kept short", handler: func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, "bad payload "+strings.Repeat("x", 100000))
		}, wantNext: 5 * time.Second, wantErr: "HTTP 400: bad payload xxx"},
		{name: "timeout", handler: func(w http.ResponseWriter, r *http.Request) {
			// Read the body first: the server notices the client hanging up
			// only once it reads the connection again.
			_, _ = io.ReadAll(r.Body)
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		},
			wantNext: 5 * time.Second, wantErr: "timed out"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, func(c *webhook.Config) { c.Timeout = 200 * time.Millisecond })
			srv := httptest.NewServer(tt.handler)
			t.Cleanup(srv.Close)
			id := b.hook(t, srv.URL+"/hook?token=do-not-show", webhook.NewSecret())
			b.apply(t, rec("e1", lms.StatusEnrolled, 0))
			res, err := b.d.Deliver(b.ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if res.Disabled != tt.wantDisabled || !res.Failed {
				t.Fatalf("result %+v", res)
			}
			ds := b.deliveries(t, id)
			if len(ds) != 1 || !strings.Contains(ds[0].Error, tt.wantErr) || len(ds[0].Error) > 400 || strings.Contains(ds[0].Error, "do-not-show") {
				t.Fatalf("delivery error %q, want %q", ds[0].Error, tt.wantErr)
			}
			if tt.wantDisabled {
				if w := b.webhook(t, id); w.Enabled || w.DisabledReason == "" {
					t.Fatalf("webhook %+v", w)
				}
				return
			}
			if ds[0].NextAttempt == nil || !ds[0].NextAttempt.Equal(t0.Add(tt.wantNext)) {
				t.Fatalf("next attempt %v, want t0+%v", ds[0].NextAttempt, tt.wantNext)
			}
		})
	}
}

func TestDeliverFilterSkipsOtherTypes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	secret := webhook.NewSecret()
	r := newReceiver(t, secret, b.clock)
	id := b.hook(t, r.srv.URL, secret, store.EventEnrollmentStatusChanged)
	b.apply(t, rec("e1", lms.StatusEnrolled, 0), rec("e2", lms.StatusEnrolled, 0))
	b.apply(t, rec("e1", lms.StatusCompleted, 100), rec("e2", lms.StatusEnrolled, 5))
	b.apply(t, rec("e3", lms.StatusEnrolled, 0))
	res, err := b.d.Deliver(b.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	got := r.unique()
	if res.Delivered != 1 || len(got) != 1 || got[0].Feed.Type != store.EventEnrollmentStatusChanged || got[0].Data.EnrollmentID != "e1" {
		t.Fatalf("result %+v, got %+v", res, got)
	}
	// The cursor passes the events the filter leaves out, so they are not
	// read again.
	last, _ := b.store.EventLastSeq(b.ctx)
	if w := b.webhook(t, id); w.CursorSeq != last {
		t.Fatalf("cursor %d, want %d", w.CursorSeq, last)
	}
	if due, _ := b.d.Due(b.ctx); len(due) != 0 {
		t.Fatalf("due with nothing matching: %v", due)
	}
}

func TestDeliverBoundsOneRun(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *webhook.Config) { c.MaxPerRun, c.BatchSize = 3, 2 })
	secret := webhook.NewSecret()
	r := newReceiver(t, secret, b.clock)
	id := b.hook(t, r.srv.URL, secret)
	var recs []lms.CourseEnrollment
	for i := range 7 {
		recs = append(recs, rec(fmt.Sprintf("e%d", i), lms.StatusEnrolled, 0))
	}
	b.apply(t, recs...)
	res, err := b.d.Deliver(b.ctx, id)
	if err != nil || res.Delivered != 3 || !res.More {
		t.Fatalf("first run %+v %v", res, err)
	}
	b.drain(t, id, 10)
	checkOnceInOrder(t, r.unique(), b.allEvents(t))
}

func TestDeliverGoneWebhook(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res, err := b.d.Deliver(b.ctx, "whk_missing")
	if err != nil || res != (webhook.Result{}) {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestDeliverMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	b := setup(t, func(c *webhook.Config) { c.Metrics = reg })
	secret := webhook.NewSecret()
	r := newReceiver(t, secret, b.clock)
	r.setAnswer(func(n int) int {
		if n == 2 {
			return http.StatusGone
		}
		return http.StatusOK
	})
	id := b.hook(t, r.srv.URL, secret)
	b.apply(t, rec("e1", lms.StatusEnrolled, 0), rec("e2", lms.StatusEnrolled, 0))
	if res, err := b.d.Deliver(b.ctx, id); err != nil || !res.Disabled || res.Delivered != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	got := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range m.GetLabel() {
				name += "/" + l.GetValue()
			}
			switch {
			case m.GetCounter() != nil:
				got[name] = m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				got[name] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	for name, want := range map[string]float64{
		"registrar_webhook_attempts_total/succeeded": 1,
		"registrar_webhook_attempts_total/failed":    1,
		"registrar_webhook_disabled_total":           1,
		"registrar_webhook_attempt_duration_seconds": 2,
	} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v (all: %v)", name, got[name], want, got)
		}
	}
}

func TestDeliverChangeCancelsRetryWait(t *testing.T) {
	t.Parallel()
	b := setup(t)
	secret := webhook.NewSecret()
	r := newReceiver(t, secret, b.clock)
	r.setAnswer(func(n int) int {
		if n == 1 {
			return http.StatusNotFound
		}
		return http.StatusOK
	})
	id := b.hook(t, r.srv.URL, secret)
	b.apply(t, rec("e1", lms.StatusEnrolled, 0))
	if res, _ := b.d.Deliver(b.ctx, id); !res.Failed {
		t.Fatalf("first attempt: %+v", res)
	}
	b.clock.Advance(time.Second)
	if due, _ := b.d.Due(b.ctx); len(due) != 0 {
		t.Fatalf("due before the retry: %v", due)
	}
	// The owner fixes the endpoint (the API's PATCH stamps UpdatedAt).
	err := b.store.InTx(b.ctx, func(tx store.Tx) error {
		w, err := tx.WebhookGet(b.ctx, id)
		if err != nil {
			return err
		}
		w.UpdatedAt = b.clock.Now()
		return tx.WebhookUpdate(b.ctx, w)
	})
	if err != nil {
		t.Fatal(err)
	}
	if due, _ := b.d.Due(b.ctx); len(due) != 1 {
		t.Fatalf("not due after a change: %v", due)
	}
	if res, err := b.d.Deliver(b.ctx, id); err != nil || res.Delivered != 1 {
		t.Fatalf("after a change: %+v %v", res, err)
	}
}
