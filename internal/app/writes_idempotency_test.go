package app_test

import (
	"bytes"
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/app"
	"github.com/registrarhq/registrar/internal/sim/simkit"
)

const canvasEnrollRoute = "POST /api/v1/courses/{course_id}/enrollments"

// clock is a test clock that can jump ahead.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }
func idem(key string) []string           { return []string{"Idempotency-Key", key} }
func replayed(res *response) bool        { return res.Header.Get("Idempotent-Replayed") == "true" }
func (s *server) post(path string, body any, key string) *response {
	s.t.Helper()
	return s.do("POST", path, s.Key, body, idem(key)...)
}

// TestIdempotentEnroll proves with the simulator's request counts that a
// retried enroll calls Canvas once, and covers reuse, keys per API key,
// in-flight retries, outages, LMS refusals, the lease and expiry.
func TestIdempotentEnroll(t *testing.T) {
	clk := &clock{}
	s := startWriteServer(t, clk.now)
	sim, v, cid := startCanvas(t, s, 4)
	uid, courseID := canvasTarget(t, v)
	path := "/v1/connections/" + cid + "/course-enrollments"
	body := map[string]any{"user_id": uid, "course_id": courseID}
	posts := func() int64 { return sim.Kit().RouteCount(canvasEnrollRoute) }

	first := s.post(path, body, "enroll-1")
	want(t, first, 201)
	if replayed(first) || posts() != 1 {
		t.Fatalf("first request: replayed %v, %d POSTs to Canvas", replayed(first), posts())
	}
	id := str(first.JSON(t), "id")

	t.Run("a retry gets the first answer without calling the LMS", func(t *testing.T) {
		again := s.post(path, body, "enroll-1")
		want(t, again, 201)
		if !replayed(again) || !bytes.Equal(again.Body, first.Body) {
			t.Fatalf("retry: replayed %v\n%s\nwant\n%s", replayed(again), again.Body, first.Body)
		}
		if posts() != 1 {
			t.Fatalf("%d POSTs to Canvas after a retry, want 1", posts())
		}
		wantEvents(t, s, cid, id, "enrollment.created:enrolled")
	})

	t.Run("the same key with another request is refused", func(t *testing.T) {
		other := map[string]any{"user_id": uid, "course_id": courseID, "role": "observer"}
		wantProblem(t, s.post(path, other, "enroll-1"), 422, "idempotency-key-reused")
		wantProblem(t, s.do("PATCH", path+"/"+id, s.Key, map[string]any{"status": "completed"}, idem("enroll-1")...), 422, "idempotency-key-reused")
		if posts() != 1 {
			t.Fatalf("%d POSTs to Canvas, want 1", posts())
		}
	})

	t.Run("keys belong to one API key", func(t *testing.T) {
		otherKey, _, err := app.APIKeyCreate(context.Background(), s.App.Store, "other", false, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		res := s.do("POST", path, otherKey, body, idem("enroll-1")...)
		want(t, res, 201)
		if replayed(res) || posts() != 2 {
			t.Fatalf("another API key's request: replayed %v, %d POSTs, want a fresh call", replayed(res), posts())
		}
	})

	t.Run("a retry while the first is in flight is 409, and one call is made", func(t *testing.T) {
		before := posts()
		if err := sim.Kit().SetFaults(simkit.Faults{Latency: simkit.Duration(300 * time.Millisecond)}); err != nil {
			t.Fatal(err)
		}
		defer sim.Kit().SetFaults(simkit.Faults{})
		done := make(chan *response, 1)
		go func() { done <- s.post(path, body, "enroll-slow") }()
		time.Sleep(100 * time.Millisecond)
		busy := s.post(path, body, "enroll-slow")
		wantProblem(t, busy, 409, "idempotency-key-in-progress")
		if busy.Header.Get("Retry-After") == "" {
			t.Fatal("409 in progress without Retry-After")
		}
		want(t, <-done, 201)
		if !replayed(s.post(path, body, "enroll-slow")) {
			t.Fatal("after the first finished, a retry is not replayed")
		}
		if n := posts() - before; n != 1 {
			t.Fatalf("%d POSTs to Canvas for one key, want 1", n)
		}
	})

	t.Run("concurrent requests with one key make one call", func(t *testing.T) {
		before := posts()
		if err := sim.Kit().SetFaults(simkit.Faults{Latency: simkit.Duration(200 * time.Millisecond)}); err != nil {
			t.Fatal(err)
		}
		defer sim.Kit().SetFaults(simkit.Faults{})
		const n = 8
		answers := make(chan *response, n)
		for range n {
			go func() { answers <- s.post(path, body, "enroll-burst") }()
		}
		fresh, busy := 0, 0
		for range n {
			switch res := <-answers; {
			case res.Status == 201 && !replayed(res):
				fresh++
			case res.Status == 201, res.Status == 409:
				busy++
			default:
				t.Errorf("answer %d %s", res.Status, res.Body)
			}
		}
		if fresh != 1 || busy != n-1 || posts()-before != 1 {
			t.Fatalf("%d fresh answers, %d in progress or replayed, %d POSTs; want 1, %d, 1", fresh, busy, posts()-before, n-1)
		}
	})

	t.Run("an outage is not remembered: the retry calls the LMS", func(t *testing.T) {
		if err := sim.Kit().SetFaults(simkit.Faults{FailRate: 1}); err != nil {
			t.Fatal(err)
		}
		res := s.post(path, body, "enroll-outage")
		if res.Status != 502 && res.Status != 503 {
			t.Fatalf("outage: %d %s", res.Status, res.Body)
		}
		if err := sim.Kit().SetFaults(simkit.Faults{}); err != nil {
			t.Fatal(err)
		}
		before := posts()
		res = s.post(path, body, "enroll-outage")
		want(t, res, 201)
		if replayed(res) || posts() != before+1 {
			t.Fatalf("retry after an outage: replayed %v, %d new POSTs", replayed(res), posts()-before)
		}
		if !replayed(s.post(path, body, "enroll-outage")) || posts() != before+1 {
			t.Fatal("the successful retry is not remembered")
		}
	})

	t.Run("an LMS refusal is the answer: replayed without a call", func(t *testing.T) {
		const route = "PUT /api/v1/courses/{course_id}/enrollments/{id}/reactivate"
		patch := map[string]any{"status": "enrolled"}
		first := s.do("PATCH", path+"/"+id, s.Key, patch, idem("reactivate-1")...)
		wantProblem(t, first, 422, "lms-refused")
		calls := sim.Kit().RouteCount(route)
		again := s.do("PATCH", path+"/"+id, s.Key, patch, idem("reactivate-1")...)
		p := wantProblem(t, again, 422, "lms-refused")
		if !replayed(again) || p["vendor_body"] == nil || sim.Kit().RouteCount(route) != calls {
			t.Fatalf("refusal replay: replayed %v, %d new calls\n%s", replayed(again), sim.Kit().RouteCount(route)-calls, again.Body)
		}
	})

	t.Run("an invalid key is refused", func(t *testing.T) {
		wantProblem(t, s.post(path, body, strings.Repeat("k", 256)), 400, "validation")
		wantProblem(t, s.post(path, body, "tab\tin key"), 400, "validation")
	})

	t.Run("an attempt past its lease is taken over", func(t *testing.T) {
		if err := sim.Kit().SetFaults(simkit.Faults{Latency: simkit.Duration(300 * time.Millisecond)}); err != nil {
			t.Fatal(err)
		}
		defer sim.Kit().SetFaults(simkit.Faults{})
		before := posts()
		done := make(chan *response, 1)
		go func() { done <- s.post(path, body, "enroll-lease") }()
		time.Sleep(100 * time.Millisecond)
		// As if the holder had stopped mid-call long ago: past the lease
		// its call cannot still be running, so the retry runs the write.
		clk.advance(10 * time.Minute)
		want(t, s.post(path, body, "enroll-lease"), 201)
		want(t, <-done, 201)
		if n := posts() - before; n != 2 {
			t.Fatalf("%d POSTs, want 2 (the abandoned attempt and the takeover)", n)
		}
		if !replayed(s.post(path, body, "enroll-lease")) {
			t.Fatal("the takeover's answer is not remembered")
		}
	})

	t.Run("keys expire after 24 hours", func(t *testing.T) {
		clk.advance(25 * time.Hour)
		before := posts()
		other := map[string]any{"user_id": uid, "course_id": courseID, "role": "observer"}
		res := s.post(path, other, "enroll-1")
		want(t, res, 201)
		if replayed(res) || posts() != before+1 {
			t.Fatalf("an expired key: replayed %v, %d new POSTs", replayed(res), posts()-before)
		}
	})
}
