package dcsim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/sim/simkit"
)

var testNow = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

const testToken = "dc-sim-token"

type fixture struct {
	sim   *Sim
	url   string // server root
	base  string // server root + path prefix
	clock *simkit.Clock
}

// setup starts a small simulator on a frozen clock, so dates are exact.
func setup(t *testing.T, cfg Config) *fixture {
	t.Helper()
	clock := simkit.NewFixedClock(testNow)
	cfg.Clock = clock
	if cfg.Seed == 0 {
		cfg.Seed = 7
	}
	if cfg.Users == 0 {
		cfg.Users = 60
	}
	if cfg.Courses == 0 {
		cfg.Courses = 10
	}
	if cfg.Enrollments == 0 {
		cfg.Enrollments = 300
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := simkit.Start("127.0.0.1:0", s.Handler())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return &fixture{sim: s, url: srv.URL, base: srv.URL + s.cfg.PathPrefix, clock: clock}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %q: %v", r.body, err)
	}
}

// errors decodes the vendor error body (providers.md §3.4).
func (r response) errors(t *testing.T) errorBody {
	t.Helper()
	var e errorBody
	r.json(t, &e)
	return e
}

// call sends a request with the right token unless token says otherwise
// ("-" sends no Authorization header at all).
func (f *fixture) call(t *testing.T, method, target string, body any, token ...string) response {
	t.Helper()
	if !strings.HasPrefix(target, "http") {
		target = f.base + target
	}
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		t.Fatal(err)
	}
	tok := "Bearer " + testToken
	if len(token) > 0 {
		tok = token[0]
	}
	if tok != "-" {
		req.Header.Set("Authorization", tok)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: raw}
}

type regPage struct {
	Results []registrationJSON `json:"results"`
	Next    string             `json:"next"`
	Prev    string             `json:"prev"`
}

// walk follows next links from path and returns every registration seen.
func (f *fixture) walk(t *testing.T, path string) []registrationJSON {
	t.Helper()
	var all []registrationJSON
	target := f.base + path
	for pages := 0; target != ""; pages++ {
		if pages > 10000 {
			t.Fatal("walk does not end")
		}
		res := f.call(t, "GET", target, nil)
		if res.status != 200 {
			t.Fatalf("GET %s: %d %s", target, res.status, res.body)
		}
		var p regPage
		res.json(t, &p)
		all = append(all, p.Results...)
		target = p.Next
	}
	return all
}

func (f *fixture) getReg(t *testing.T, id string) registrationJSON {
	t.Helper()
	res := f.call(t, "GET", "/registrations/"+id, nil)
	if res.status != 200 {
		t.Fatalf("GET registration %s: %d %s", id, res.status, res.body)
	}
	var v registrationJSON
	res.json(t, &v)
	return v
}

// find returns the first live registration matching, read from the data set
// directly: tests use it only to choose a subject, then act through HTTP.
func (f *fixture) find(t *testing.T, what string, fits func(reg *registration, o *offering) bool) *registration {
	t.Helper()
	s := f.sim
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, ri := range s.live {
		reg := &s.regs[ri]
		if fits(reg, &s.offerings[reg.offering]) {
			return reg
		}
	}
	t.Fatalf("the data set has no registration that is %s", what)
	return nil
}

// findOffering returns the first offering matching.
func (f *fixture) findOffering(t *testing.T, what string, fits func(oi int32, o *offering) bool) (int32, *offering) {
	t.Helper()
	s := f.sim
	s.mu.RLock()
	defer s.mu.RUnlock()
	for i := range s.offerings {
		if fits(int32(i), &s.offerings[i]) {
			return int32(i), &s.offerings[i]
		}
	}
	t.Fatalf("the data set has no offering that is %s", what)
	return 0, nil
}

// freeLearner returns a learner with no registration in offering oi.
func (f *fixture) freeLearner(t *testing.T, oi int32) int32 {
	t.Helper()
	s := f.sim
	s.mu.RLock()
	defer s.mu.RUnlock()
next:
	for ui := int32(1); ui < int32(len(s.users)); ui++ {
		for _, ri := range s.byUser[ui] {
			if s.regs[ri].offering == oi {
				continue next
			}
		}
		return ui
	}
	t.Fatalf("every learner is registered in offering %d", oi)
	return 0
}

func (f *fixture) userID(ui int32) string     { return f.sim.users[ui].id.String() }
func (f *fixture) offeringID(oi int32) string { return f.sim.offerings[oi].id.String() }

func withQuery(path string, kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return path + "?" + q.Encode()
}

func ids(regs []registrationJSON) []string {
	out := make([]string, len(regs))
	for i, r := range regs {
		out[i] = r.ID
	}
	return out
}
