// Package simkit is the scaffolding the vendor simulators share: a movable
// clock, fault injection (latency, throttling, 5xx, malformed JSON, dropped
// connections), request statistics, the loopback-only admin API under /_sim/,
// deterministic fake people, and a loopback server that starts and stops
// cleanly.
//
// It speaks no vendor dialect and imports no Registrar model code: each
// simulator decides how a throttled or failed answer looks for its vendor.
package simkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Clock is the simulator's time: the real clock plus an offset that the admin
// API can advance, so tests can make due dates pass.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
	base   func() time.Time
}

// NewClock returns a clock that starts at the real time.
func NewClock() *Clock { return &Clock{base: time.Now} }

// NewFixedClock returns a clock frozen at t (plus any advance), for
// deterministic tests.
func NewFixedClock(t time.Time) *Clock { return &Clock{base: func() time.Time { return t }} }

// Now returns the simulated time in UTC.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.base().Add(c.offset).UTC()
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
	return c.Now()
}

// Duration is a time.Duration that reads and writes JSON as "50ms".
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n float64
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return fmt.Errorf("duration must be a string like \"50ms\": %w", err)
		}
		*d = Duration(time.Duration(n))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Faults are the failures a simulator injects into vendor routes.
type Faults struct {
	// Latency is added before every vendor answer.
	Latency Duration `json:"latency"`
	// FailRate is the share of requests answered with a 5xx.
	FailRate float64 `json:"fail_rate"`
	// MalformedRate is the share of successful JSON answers whose body is cut
	// short, so that it no longer parses.
	MalformedRate float64 `json:"malformed_rate"`
	// DropRate is the share of requests whose connection is closed without an
	// answer.
	DropRate float64 `json:"drop_rate"`
	// RateLimit is the sustained requests per second allowed (0 = no limit);
	// requests beyond it get the vendor's throttling answer.
	RateLimit float64 `json:"rate_limit"`
	// ThrottleStatus selects the throttling status where the vendor has two
	// (Canvas: 403 or 429); 0 means the vendor's default.
	ThrottleStatus int `json:"throttle_status"`
}

func (f Faults) validate() error {
	for name, v := range map[string]float64{"fail_rate": f.FailRate, "malformed_rate": f.MalformedRate, "drop_rate": f.DropRate} {
		if v < 0 || v > 1 {
			return fmt.Errorf("%s must be between 0 and 1", name)
		}
	}
	if f.RateLimit < 0 {
		return errors.New("rate_limit must not be negative")
	}
	if f.Latency < 0 {
		return errors.New("latency must not be negative")
	}
	if f.ThrottleStatus != 0 && f.ThrottleStatus != 403 && f.ThrottleStatus != 429 {
		return errors.New("throttle_status must be 403 or 429")
	}
	return nil
}

// Backend is what a vendor simulator offers the admin API.
type Backend interface {
	// Counts returns record counts by kind ("enrollments", "users", ...).
	Counts() map[string]int
	// Mutate makes count random realistic changes, reproducible from seed,
	// and describes them (JSON-encodable).
	Mutate(count int, seed uint64) (any, error)
	// DeleteEnrollment removes a record so that it vanishes from the vendor
	// API; false when there is no such record.
	DeleteEnrollment(id string) bool
}

// Vendor answers for faults, in the vendor's own dialect.
type Vendor struct {
	// Throttled writes the vendor's throttling answer; status is the
	// configured ThrottleStatus (0 = vendor default); remaining is 0.
	Throttled func(w http.ResponseWriter, r *http.Request, status int)
	// Failed writes the vendor's answer to an internal error.
	Failed func(w http.ResponseWriter, r *http.Request)
}

// Options configures a Kit.
type Options struct {
	Faults Faults
	Clock  *Clock
	// Seed makes fault decisions reproducible.
	Seed uint64
}

// Kit injects faults, counts requests and serves the admin API for one
// simulator.
type Kit struct {
	Clock *Clock

	mu      sync.Mutex
	faults  Faults
	limiter *rate.Limiter
	rng     *rand.Rand

	routesMu sync.Mutex
	routes   map[string]int64

	total, throttled, failed, malformed, dropped atomic.Int64
}

// New returns a Kit.
func New(opts Options) (*Kit, error) {
	if err := opts.Faults.validate(); err != nil {
		return nil, err
	}
	if opts.Clock == nil {
		opts.Clock = NewClock()
	}
	k := &Kit{
		Clock:  opts.Clock,
		rng:    rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		routes: map[string]int64{},
	}
	k.setFaults(opts.Faults)
	return k, nil
}

func (k *Kit) setFaults(f Faults) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.faults = f
	if f.RateLimit > 0 {
		burst := int(f.RateLimit)
		if burst < 1 {
			burst = 1
		}
		k.limiter = rate.NewLimiter(rate.Limit(f.RateLimit), burst)
	} else {
		k.limiter = nil
	}
}

// Faults returns the current faults.
func (k *Kit) Faults() Faults {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.faults
}

// SetFaults replaces the faults.
func (k *Kit) SetFaults(f Faults) error {
	if err := f.validate(); err != nil {
		return err
	}
	k.setFaults(f)
	return nil
}

// RateRemaining reports the requests left in the rate-limit bucket right now,
// or -1 when there is no limit. Canvas serves it as X-Rate-Limit-Remaining.
func (k *Kit) RateRemaining() float64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.limiter == nil {
		return -1
	}
	return max(k.limiter.Tokens(), 0)
}

func (k *Kit) roll(p float64) bool {
	if p <= 0 {
		return false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.rng.Float64() < p
}

// Stats is what GET /_sim/stats answers.
type Stats struct {
	Records   map[string]int   `json:"records"`
	Requests  map[string]int64 `json:"requests"`
	Total     int64            `json:"total"`
	Throttled int64            `json:"throttled"`
	Failed    int64            `json:"failed"`
	Malformed int64            `json:"malformed"`
	Dropped   int64            `json:"dropped"`
	Faults    Faults           `json:"faults"`
	Now       time.Time        `json:"now"`
}

// Stats returns the counters; records come from backend when non-nil.
func (k *Kit) Stats(backend Backend) Stats {
	k.routesMu.Lock()
	routes := make(map[string]int64, len(k.routes))
	for r, n := range k.routes {
		routes[r] = n
	}
	k.routesMu.Unlock()
	s := Stats{
		Requests:  routes,
		Total:     k.total.Load(),
		Throttled: k.throttled.Load(),
		Failed:    k.failed.Load(),
		Malformed: k.malformed.Load(),
		Dropped:   k.dropped.Load(),
		Faults:    k.Faults(),
		Now:       k.Clock.Now(),
	}
	if backend != nil {
		s.Records = backend.Counts()
	}
	return s
}

// RouteCount returns how many requests matched a route pattern, such as
// "POST /api/v1/courses/{course_id}/enrollments".
func (k *Kit) RouteCount(pattern string) int64 {
	k.routesMu.Lock()
	defer k.routesMu.Unlock()
	return k.routes[pattern]
}

// ResetStats zeroes the request counters.
func (k *Kit) ResetStats() {
	k.routesMu.Lock()
	k.routes = map[string]int64{}
	k.routesMu.Unlock()
	k.total.Store(0)
	k.throttled.Store(0)
	k.failed.Store(0)
	k.malformed.Store(0)
	k.dropped.Store(0)
}

// Handler wraps a vendor mux (an *http.ServeMux whose patterns name the
// routes) with fault injection and statistics, and serves the admin API
// under /_sim/.
func (k *Kit) Handler(vendor *http.ServeMux, backend Backend, v Vendor) http.Handler {
	admin := k.adminMux(backend)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_sim/") {
			if !isLoopback(r.RemoteAddr) {
				http.Error(w, "the simulator admin API answers only on loopback", http.StatusForbidden)
				return
			}
			admin.ServeHTTP(w, r)
			return
		}
		k.total.Add(1)
		f := k.Faults()
		_, pattern := vendor.Handler(r)
		k.countRoute(r.Method, pattern)
		if f.Latency > 0 {
			t := time.NewTimer(time.Duration(f.Latency))
			select {
			case <-r.Context().Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		if k.roll(f.DropRate) {
			k.dropped.Add(1)
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			panic(http.ErrAbortHandler)
		}
		k.mu.Lock()
		lim := k.limiter
		k.mu.Unlock()
		if lim != nil && !lim.Allow() {
			k.throttled.Add(1)
			v.Throttled(w, r, f.ThrottleStatus)
			return
		}
		if k.roll(f.FailRate) {
			k.failed.Add(1)
			v.Failed(w, r)
			return
		}
		if k.roll(f.MalformedRate) {
			k.malformed.Add(1)
			mw := &malformedWriter{ResponseWriter: w}
			vendor.ServeHTTP(mw, r)
			mw.flush()
			return
		}
		vendor.ServeHTTP(w, r)
	})
}

func (k *Kit) countRoute(method, p string) {
	if p == "" {
		p = method + " (unmatched)"
	} else if !strings.Contains(p, " ") {
		p = method + " " + p
	}
	k.routesMu.Lock()
	k.routes[p]++
	k.routesMu.Unlock()
}

// malformedWriter buffers an answer and sends only the first half of a JSON
// body, as a proxy cutting a connection would.
type malformedWriter struct {
	http.ResponseWriter
	status int
	buf    []byte
}

func (m *malformedWriter) WriteHeader(status int) { m.status = status }
func (m *malformedWriter) Write(b []byte) (int, error) {
	m.buf = append(m.buf, b...)
	return len(b), nil
}

func (m *malformedWriter) flush() {
	status := m.status
	if status == 0 {
		status = http.StatusOK
	}
	body := m.buf
	if len(body) > 1 && strings.Contains(m.Header().Get("Content-Type"), "json") {
		body = body[:len(body)/2]
	}
	m.Header().Del("Content-Length")
	m.ResponseWriter.WriteHeader(status)
	_, _ = m.ResponseWriter.Write(body)
}

func (k *Kit) adminMux(backend Backend) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_sim/stats", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, k.Stats(backend))
	})
	mux.HandleFunc("POST /_sim/stats/reset", func(w http.ResponseWriter, r *http.Request) {
		k.ResetStats()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, k.Faults())
	})
	mux.HandleFunc("POST /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		f := k.Faults()
		if err := decodeStrict(r, &f); err != nil {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
		if err := k.SetFaults(f); err != nil {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
		WriteJSON(w, http.StatusOK, k.Faults())
	})
	mux.HandleFunc("POST /_sim/mutate", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Count int    `json:"count"`
			Seed  uint64 `json:"seed"`
		}
		if err := decodeStrict(r, &req); err != nil {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
		if req.Count <= 0 {
			adminError(w, http.StatusBadRequest, "count must be positive")
			return
		}
		out, err := backend.Mutate(req.Count, req.Seed)
		if err != nil {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
		WriteJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("DELETE /_sim/enrollments/{id}", func(w http.ResponseWriter, r *http.Request) {
		if !backend.DeleteEnrollment(r.PathValue("id")) {
			adminError(w, http.StatusNotFound, "no enrollment "+r.PathValue("id"))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_sim/clock", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]time.Time{"now": k.Clock.Now()})
	})
	mux.HandleFunc("POST /_sim/clock", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Advance Duration `json:"advance"`
		}
		if err := decodeStrict(r, &req); err != nil {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
		if req.Advance < 0 {
			adminError(w, http.StatusBadRequest, "advance must not be negative")
			return
		}
		WriteJSON(w, http.StatusOK, map[string]time.Time{"now": k.Clock.Advance(time.Duration(req.Advance))})
	})
	return mux
}

func decodeStrict(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("invalid JSON body: %w", err)
	}
	return nil
}

func adminError(w http.ResponseWriter, status int, msg string) {
	WriteJSON(w, status, map[string]string{"error": msg})
}

// WriteJSON writes v as a JSON answer with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func isLoopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Server is a simulator listening on a port.
type Server struct {
	URL string
	srv *http.Server
	ln  net.Listener
}

// Start listens on addr ("127.0.0.1:0" picks a free port) and serves h.
func Start(addr string, h http.Handler) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	s := &Server{
		URL: "http://" + ln.Addr().String(),
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
		ln:  ln,
	}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server, letting in-flight requests finish for a moment.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		return s.srv.Close()
	}
	return nil
}

// SortedKeys returns m's keys in order (handy for stable JSON and tests).
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Credential is one value a user needs to connect to a simulator, printed by
// `registrar sim` after the listening line.
type Credential struct {
	Name  string
	Value string
}
