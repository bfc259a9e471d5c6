package absorb

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/httpx"
	"github.com/registrarhq/registrar/internal/provider"
)

// fakeAbsorb is a minimal stand-in for the Integration API, written from seed
// 003 and providers.md §2, for unit tests that need to see exact requests or
// provoke rare answers. The conformance suite runs against absorbsim.
type fakeAbsorb struct {
	t        *testing.T
	apiKey   string
	username string
	password string

	mu          sync.Mutex
	token       string // the one valid token (§2.2: a new one revokes the old)
	issued      int
	authDelay   time.Duration
	refuseNext  int // answer 401 to this many API calls, whatever the token
	courses     []string
	enrollments map[string][]map[string]any // by course id
	log         []fakeRequest
	override    map[string]http.HandlerFunc // by "METHOD /path"
}

type fakeRequest struct {
	Method, Path string
	Query        url.Values
	Header       http.Header
	Body         string
}

func newFake(t *testing.T) *fakeAbsorb {
	return &fakeAbsorb{
		t: t, apiKey: "11111111-2222-3333-4444-555555555555", username: "admin", password: "s3cret",
		enrollments: map[string][]map[string]any{}, override: map[string]http.HandlerFunc{},
	}
}

// addCourse adds a course with n enrollments.
func (f *fakeAbsorb) addCourse(id string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.courses = append(f.courses, id)
	for i := 0; i < n; i++ {
		f.enrollments[id] = append(f.enrollments[id], map[string]any{
			"id": fmt.Sprintf("%s-e%03d", id, i), "courseId": id, "courseName": "Course " + id,
			"userId": fmt.Sprintf("u%03d", i), "fullName": "User " + strconv.Itoa(i), "status": i % 13,
			"dateAdded": "2026-01-01T00:00:00Z", "dateEdited": "2026-01-02T00:00:00Z", "isActive": true,
		})
	}
}

func (f *fakeAbsorb) start() *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	f.t.Cleanup(srv.Close)
	return srv
}

func (f *fakeAbsorb) requests(method, pathPrefix string) []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeRequest
	for _, r := range f.log {
		if r.Method == method && strings.HasPrefix(r.Path, pathPrefix) {
			out = append(out, r)
		}
	}
	return out
}

func (f *fakeAbsorb) authCount() int { return len(f.requests("POST", "/authenticate")) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func absorbError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"validations": []string{}, "code": status, "message": msg, "term": "", "_meta": map[string]string{}})
}

func (f *fakeAbsorb) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.log = append(f.log, fakeRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: string(body)})
	override := f.override[r.Method+" "+r.URL.Path]
	f.mu.Unlock()

	// §2.1: the key on every call, 401 when missing or wrong.
	if r.Header.Get("x-api-key") != f.apiKey {
		absorbError(w, http.StatusUnauthorized, "The x-api-key header is invalid")
		return
	}
	if r.Method == "POST" && r.URL.Path == "/authenticate" {
		f.authenticate(w, r, body)
		return
	}
	f.mu.Lock()
	ok := r.Header.Get("Authorization") == "Bearer "+f.token && f.token != ""
	if f.refuseNext > 0 {
		f.refuseNext--
		ok = false
	}
	f.mu.Unlock()
	if !ok {
		absorbError(w, http.StatusUnauthorized, "Token is invalid or expired")
		return
	}
	if override != nil {
		override(w, r)
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method == "GET" && len(parts) == 1 && parts[0] == "courses":
		f.mu.Lock()
		var items []any
		for _, id := range f.courses {
			items = append(items, map[string]any{"id": id, "name": "Course " + id})
		}
		f.mu.Unlock()
		page(w, r, "courses", items)
	case r.Method == "GET" && len(parts) == 3 && parts[0] == "courses" && parts[2] == "enrollments":
		f.mu.Lock()
		var items []any
		for _, e := range f.enrollments[parts[1]] {
			items = append(items, e)
		}
		f.mu.Unlock()
		page(w, r, "enrollments", items)
	case r.Method == "GET" && len(parts) == 2 && parts[0] == "enrollments":
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, list := range f.enrollments {
			for _, e := range list {
				if e["id"] == parts[1] {
					writeJSON(w, http.StatusOK, e)
					return
				}
			}
		}
		absorbError(w, http.StatusNotFound, "Enrollment not found")
	default:
		absorbError(w, http.StatusNotFound, "no such route in the fake: "+r.Method+" "+r.URL.Path)
	}
}

func (f *fakeAbsorb) authenticate(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct{ Username, Password, PrivateKey string }
	if err := json.Unmarshal(body, &req); err != nil || req.Username == "" || req.Password == "" || req.PrivateKey == "" {
		absorbError(w, http.StatusBadRequest, "username, password and privateKey are required")
		return
	}
	f.mu.Lock()
	delay := f.authDelay
	f.mu.Unlock()
	select {
	case <-time.After(delay):
	case <-r.Context().Done():
		return
	}
	if req.Username != f.username || req.Password != f.password || req.PrivateKey != f.apiKey {
		absorbError(w, http.StatusBadRequest, "Invalid username or password")
		return
	}
	f.mu.Lock()
	f.issued++
	f.token = fmt.Sprintf("token-%d", f.issued)
	token := f.token
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, token) // a bare JSON string (§2.2)
}

// page serves a paged envelope with _offset as a page index (§2.5).
func page(w http.ResponseWriter, r *http.Request, key string, items []any) {
	offset, _ := strconv.Atoi(r.URL.Query().Get("_offset"))
	limit, err := strconv.Atoi(r.URL.Query().Get("_limit"))
	if err != nil || limit <= 0 {
		limit = 20
	}
	from := min(offset*limit, len(items))
	to := min(from+limit, len(items))
	out := items[from:to]
	if out == nil {
		out = []any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"totalItems": len(items), "returnedItems": len(out), "limit": limit, "offset": offset, key: out,
	})
}

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// connect builds a connector against the fake.
func (f *fakeAbsorb) connect(t *testing.T, baseURL string, settings map[string]string, now func() time.Time) *Connector {
	t.Helper()
	s := map[string]string{"base_url": baseURL, "page_size": "5"}
	for k, v := range settings {
		s[k] = v
	}
	c, err := New(provider.Config{
		Settings: s,
		Secrets:  map[string]string{"api_key": f.apiKey, "username": f.username, "password": f.password},
		HTTP:     fastHTTP(),
		Now:      now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fastHTTP keeps retries but makes their pauses tiny.
func fastHTTP() httpx.Options {
	return httpx.Options{BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Timeout: 5 * time.Second}
}

// newTestClient retries a few times with tiny pauses.
func newTestClient(attempts int) *httpx.Client {
	o := fastHTTP()
	o.MaxAttempts = attempts
	return httpx.New(o)
}
