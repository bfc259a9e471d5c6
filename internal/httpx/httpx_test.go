package httpx

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// sleeps records the delays a client asked for instead of sleeping, so that
// backoff and Retry-After are checked without waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// script answers with the given statuses in turn (the last one repeats) and
// counts requests.
type script struct {
	statuses []int
	header   http.Header
	body     string
	n        atomic.Int64
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i := int(s.n.Add(1)) - 1
	status := s.statuses[min(i, len(s.statuses)-1)]
	for k, vs := range s.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(s.body))
}

func start(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// refusedURL returns a URL on which nothing listens.
func refusedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		idempotent bool
		statuses   []int
		wantStatus int
		wantSent   int64
	}{
		{"GET retried after 500 until it succeeds", "GET", false, []int{500, 502, 200}, 200, 3},
		{"GET gives up after MaxAttempts and returns the last 5xx", "GET", false, []int{500}, 500, 4},
		{"PUT retried after 500", "PUT", false, []int{500, 200}, 200, 2},
		{"DELETE retried after 500", "DELETE", false, []int{500, 200}, 200, 2},
		{"POST not retried after 500", "POST", false, []int{500, 200}, 500, 1},
		{"POST marked Idempotent retried after 500", "POST", true, []int{500, 200}, 200, 2},
		{"POST retried after 429 (the vendor did not do the work)", "POST", false, []int{429, 201}, 201, 2},
		{"4xx returned at once", "GET", false, []int{404, 200}, 404, 1},
		{"401 returned at once", "GET", false, []int{401, 200}, 401, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &script{statuses: tt.statuses}
			u := start(t, s)
			sl := &sleeps{}
			c := New(Options{MaxAttempts: 4, Sleep: sl.sleep})
			resp, err := c.Do(context.Background(), &Request{Method: tt.method, URL: u, Body: []byte("x"), Idempotent: tt.idempotent})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != tt.wantStatus {
				t.Errorf("status %d, want %d", resp.Status, tt.wantStatus)
			}
			if got := s.n.Load(); got != tt.wantSent {
				t.Errorf("server saw %d requests, want %d", got, tt.wantSent)
			}
			if st := c.Stats(); st.Requests != tt.wantSent || st.Retries != tt.wantSent-1 {
				t.Errorf("stats %+v, want %d requests and %d retries", st, tt.wantSent, tt.wantSent-1)
			}
		})
	}
}

func TestBackoffGrowsAndIsBounded(t *testing.T) {
	s := &script{statuses: []int{500}}
	sl := &sleeps{}
	c := New(Options{MaxAttempts: 8, BaseBackoff: 100 * time.Millisecond, MaxBackoff: 400 * time.Millisecond, Sleep: sl.sleep, MaxElapsed: time.Hour})
	if _, err := c.Do(context.Background(), &Request{URL: start(t, s)}); err != nil {
		t.Fatal(err)
	}
	got := sl.all()
	if len(got) != 7 {
		t.Fatalf("%d sleeps, want 7 (between 8 attempts): %v", len(got), got)
	}
	for i, d := range got {
		ceiling := min(100*time.Millisecond<<i, 400*time.Millisecond)
		if d < 0 || d > ceiling {
			t.Errorf("sleep %d = %v, want within [0, %v] (full jitter)", i, d, ceiling)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name  string
		value string
		min   time.Duration
	}{
		{"seconds", "3", 3 * time.Second},
		{"fractional seconds", "1.5", 1500 * time.Millisecond},
		// HTTP-date has a resolution of one second; allow for the truncation.
		{"HTTP-date", now.Add(5 * time.Second).UTC().Format(http.TimeFormat), 3 * time.Second},
	}
	for _, status := range []int{429, 503} {
		for _, tt := range tests {
			t.Run(http.StatusText(status)+" "+tt.name, func(t *testing.T) {
				s := &script{statuses: []int{status, 200}, header: http.Header{"Retry-After": {tt.value}}}
				sl := &sleeps{}
				c := New(Options{Sleep: sl.sleep, BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
				resp, err := c.Do(context.Background(), &Request{URL: start(t, s)})
				if err != nil || resp.Status != 200 {
					t.Fatalf("got %v, %v; want 200", resp, err)
				}
				var longest time.Duration
				for _, d := range sl.all() {
					longest = max(longest, d)
				}
				if longest < tt.min || longest > tt.min+3*time.Second {
					t.Errorf("waited %v, want about %v (Retry-After %q)", longest, tt.min, tt.value)
				}
			})
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"7", 7 * time.Second},
		{"-3", 0},
		{"soon", 0},
		{"Thu, 01 Jan 2026 12:00:10 GMT", 10 * time.Second},
		{"Thu, 01 Jan 2026 11:00:00 GMT", 0}, // in the past
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestThrottlingSlowsDown(t *testing.T) {
	canvas403 := func(status int, body []byte) bool {
		return status == 403 && strings.Contains(string(body), "Rate Limit Exceeded")
	}
	tests := []struct {
		name     string
		statuses []int
		body     string
		header   http.Header
		want     int // final status
	}{
		{"429", []int{429, 200}, "", nil, 200},
		{"IsThrottle hook (Canvas 403 Rate Limit Exceeded)", []int{403, 200}, "403 Forbidden (Rate Limit Exceeded)\n", nil, 200},
		{"X-Rate-Limit-Remaining low", []int{200}, "", http.Header{"X-Rate-Limit-Remaining": {"12.5"}}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &script{statuses: tt.statuses, body: tt.body, header: tt.header}
			sl := &sleeps{}
			c := New(Options{Sleep: sl.sleep, IsThrottle: canvas403})
			if c.Limit() < 1e300 {
				t.Fatalf("a fresh client is paced at %v; want no pacing until the vendor signals", c.Limit())
			}
			resp, err := c.Do(context.Background(), &Request{URL: start(t, s)})
			if err != nil || resp.Status != tt.want {
				t.Fatalf("got %v, %v", resp, err)
			}
			if c.Limit() > 100 {
				t.Errorf("pace after the signal is %v rps; want it lowered", c.Limit())
			}
		})
	}
	t.Run("repeated throttling lowers the pace further", func(t *testing.T) {
		s := &script{statuses: []int{429, 429, 429, 200}}
		c := New(Options{Sleep: (&sleeps{}).sleep})
		if _, err := c.Do(context.Background(), &Request{URL: start(t, s)}); err != nil {
			t.Fatal(err)
		}
		if c.Limit() >= 10*0.7 {
			t.Errorf("pace %v after three throttles, want below %v", c.Limit(), 10*0.7)
		}
		if st := c.Stats(); st.Throttled != 3 {
			t.Errorf("throttled %d, want 3", st.Throttled)
		}
	})
	t.Run("a non-throttle 403 is returned at once", func(t *testing.T) {
		s := &script{statuses: []int{403, 200}, body: `{"errors":[{"message":"user not authorized"}]}`}
		c := New(Options{Sleep: (&sleeps{}).sleep, IsThrottle: canvas403})
		resp, err := c.Do(context.Background(), &Request{URL: start(t, s)})
		if err != nil || resp.Status != 403 || s.n.Load() != 1 {
			t.Errorf("got %v, %v after %d requests; want the 403 after 1", resp, err, s.n.Load())
		}
	})
	t.Run("negative remaining is ignored", func(t *testing.T) {
		s := &script{statuses: []int{200}, header: http.Header{"X-Rate-Limit-Remaining": {"-1"}}}
		c := New(Options{})
		if _, err := c.Do(context.Background(), &Request{URL: start(t, s)}); err != nil {
			t.Fatal(err)
		}
		if c.Limit() < 1e300 {
			t.Errorf("paced at %v after a meaningless remaining", c.Limit())
		}
	})
}

// TestPausesOtherCallers: a Retry-After pauses every request of the client,
// not just the throttled one (one connection shares one vendor budget).
func TestPausesOtherCallers(t *testing.T) {
	s := &script{statuses: []int{429, 200}, header: http.Header{"Retry-After": {"2"}}}
	sl := &sleeps{}
	c := New(Options{Sleep: sl.sleep})
	u := start(t, s)
	if _, err := c.Do(context.Background(), &Request{URL: u}); err != nil {
		t.Fatal(err)
	}
	before := len(sl.all())
	// The recorded sleeps did not really wait, so the pause is still ahead.
	if _, err := c.Do(context.Background(), &Request{URL: u}); err != nil {
		t.Fatal(err)
	}
	got := sl.all()
	if len(got) <= before || got[len(got)-1] < time.Second {
		t.Errorf("second caller did not wait for the pause: sleeps %v", got)
	}
}

func TestConnectionErrors(t *testing.T) {
	t.Run("refused GET is retried and reported as TransportError", func(t *testing.T) {
		c := New(Options{MaxAttempts: 3, Sleep: (&sleeps{}).sleep})
		_, err := c.Do(context.Background(), &Request{URL: refusedURL(t)})
		var te *TransportError
		if !errors.As(err, &te) {
			t.Fatalf("got %v, want *TransportError", err)
		}
		if te.Attempts != 3 || c.Stats().Requests != 3 || c.Stats().Failures != 3 {
			t.Errorf("attempts %d, stats %+v; want 3 attempts, all failures", te.Attempts, c.Stats())
		}
	})
	t.Run("refused POST is retried (it never reached the server)", func(t *testing.T) {
		c := New(Options{MaxAttempts: 3, Sleep: (&sleeps{}).sleep})
		_, err := c.Do(context.Background(), &Request{Method: "POST", URL: refusedURL(t), Body: []byte("{}")})
		if err == nil || c.Stats().Requests != 3 {
			t.Errorf("err %v after %d requests, want an error after 3", err, c.Stats().Requests)
		}
	})
	dropping := func(n *atomic.Int64) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 1 {
				conn, _, _ := w.(http.Hijacker).Hijack()
				conn.Close()
				return
			}
			w.WriteHeader(200)
		})
	}
	t.Run("dropped GET is retried", func(t *testing.T) {
		var n atomic.Int64
		c := New(Options{Sleep: (&sleeps{}).sleep})
		resp, err := c.Do(context.Background(), &Request{URL: start(t, dropping(&n))})
		if err != nil || resp.Status != 200 || n.Load() != 2 {
			t.Errorf("got %v, %v after %d requests; want 200 after 2", resp, err, n.Load())
		}
	})
	t.Run("dropped POST is not retried (it may have been done)", func(t *testing.T) {
		var n atomic.Int64
		c := New(Options{Sleep: (&sleeps{}).sleep})
		_, err := c.Do(context.Background(), &Request{Method: "POST", URL: start(t, dropping(&n)), Body: []byte("{}")})
		if err == nil || n.Load() != 1 {
			t.Errorf("got %v after %d requests; want an error after 1", err, n.Load())
		}
	})
}

func TestMaxElapsedBoundsAVendorThatStaysDown(t *testing.T) {
	s := &script{statuses: []int{503}}
	c := New(Options{MaxAttempts: 1000, BaseBackoff: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, MaxElapsed: 300 * time.Millisecond})
	began := time.Now()
	resp, err := c.Do(context.Background(), &Request{URL: start(t, s)})
	if err != nil || resp.Status != 503 {
		t.Fatalf("got %v, %v; want the last 503", resp, err)
	}
	if took := time.Since(began); took > time.Second {
		t.Errorf("took %v, want about MaxElapsed (300ms)", took)
	}
	t.Run("a Retry-After beyond MaxElapsed is not waited for", func(t *testing.T) {
		s := &script{statuses: []int{429, 200}, header: http.Header{"Retry-After": {"3600"}}}
		c := New(Options{MaxElapsed: time.Second})
		began := time.Now()
		resp, err := c.Do(context.Background(), &Request{URL: start(t, s)})
		if err != nil || resp.Status != 429 || time.Since(began) > 500*time.Millisecond {
			t.Errorf("got %v, %v after %v; want the 429 at once", resp, err, time.Since(began))
		}
	})
}

func TestCancelStopsPromptly(t *testing.T) {
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	for _, name := range []string{"during a request", "during a backoff"} {
		t.Run(name, func(t *testing.T) {
			h := http.Handler(slow)
			if name == "during a backoff" {
				h = &script{statuses: []int{503}, header: http.Header{"Retry-After": {"5"}}}
			}
			c := New(Options{})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			u := start(t, h)
			go func() {
				_, err := c.Do(ctx, &Request{URL: u})
				done <- err
			}()
			time.Sleep(50 * time.Millisecond)
			cancel()
			cancelled := time.Now()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("got %v, want context.Canceled", err)
				}
				if took := time.Since(cancelled); took > 100*time.Millisecond {
					t.Errorf("returned %v after cancel", took)
				}
			case <-time.After(2 * time.Second):
				t.Fatal("did not return after cancel")
			}
		})
	}
	t.Run("deadline shorter than the pacing wait", func(t *testing.T) {
		c := New(Options{RateLimit: 0.01})
		u := start(t, &script{statuses: []int{200}})
		if _, err := c.Do(context.Background(), &Request{URL: u}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := c.Do(ctx, &Request{URL: u})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want context.DeadlineExceeded", err)
		}
	})
}

func TestUserAgentAlwaysSet(t *testing.T) {
	var got []string
	var mu sync.Mutex
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("User-Agent"))
		mu.Unlock()
	})
	u := start(t, h)
	for _, tt := range []struct{ opt, want string }{{"", DefaultUserAgent}, {"Registrar-test/2", "Registrar-test/2"}} {
		c := New(Options{UserAgent: tt.opt})
		// A caller's header cannot remove it (Canvas refuses requests without one).
		if _, err := c.Do(context.Background(), &Request{URL: u, Header: http.Header{"User-Agent": {""}}}); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		last := got[len(got)-1]
		mu.Unlock()
		if last != tt.want {
			t.Errorf("User-Agent %q, want %q", last, tt.want)
		}
	}
}

func TestStatsSub(t *testing.T) {
	s := &script{statuses: []int{500, 429, 200}}
	c := New(Options{Sleep: (&sleeps{}).sleep})
	u := start(t, s)
	before := c.Stats()
	if _, err := c.Do(context.Background(), &Request{URL: u}); err != nil {
		t.Fatal(err)
	}
	run := c.Stats().Sub(before)
	want := Stats{Requests: 3, Retries: 2, Throttled: 1, Failures: 1}
	if run != want {
		t.Errorf("run stats %+v, want %+v", run, want)
	}
	if again := c.Stats().Sub(c.Stats()); again != (Stats{}) {
		t.Errorf("empty run %+v", again)
	}
}

func TestCredentialsRedactedInErrors(t *testing.T) {
	c := New(Options{MaxAttempts: 1})
	u := refusedURL(t) + "/api/v1/courses?access_token=s3cret&per_page=10"
	_, err := c.Do(context.Background(), &Request{URL: u})
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error leaks the token: %v", err)
	}
	if !strings.Contains(err.Error(), "per_page=10") {
		t.Errorf("error lost the harmless query: %v", err)
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://x.test/a?per_page=1", "https://x.test/a?per_page=1"},
		{"https://x.test/a?access_token=abc&page=2", "https://x.test/a?access_token=REDACTED&page=2"},
		{"https://user:pw@x.test/a", "https://x.test/a"},
		{"https://x.test/a?api_key=k", "https://x.test/a?api_key=REDACTED"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestMaxElapsedBoundsAHangingVendor: attempts share the MaxElapsed budget,
// so a vendor that never answers fails within it, not after MaxAttempts
// full timeouts; the error counts the attempts really made.
func TestMaxElapsedBoundsAHangingVendor(t *testing.T) {
	hang := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	c := New(Options{Timeout: 200 * time.Millisecond, MaxElapsed: 500 * time.Millisecond, MaxAttempts: 10,
		BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	began := time.Now()
	_, err := c.Do(context.Background(), &Request{URL: start(t, hang)})
	took := time.Since(began)
	var te *TransportError
	if !errors.As(err, &te) {
		t.Fatalf("got %v, want *TransportError", err)
	}
	if took > 900*time.Millisecond {
		t.Errorf("took %v, want about MaxElapsed (500ms)", took)
	}
	if te.Attempts < 2 || te.Attempts > 4 || int64(te.Attempts) != c.Stats().Requests {
		t.Errorf("error says %d attempts, stats %d requests; want the same 2-4", te.Attempts, c.Stats().Requests)
	}
}
