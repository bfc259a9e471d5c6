package absorbsim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/sim/simkit"
)

var testNow = time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)

// harness is a running simulator and a client for it.
type harness struct {
	t     *testing.T
	sim   *Sim
	url   string
	token string
}

func setup(t *testing.T, cfg Config) *harness {
	t.Helper()
	if cfg.Clock == nil {
		cfg.Clock = simkit.NewFixedClock(testNow)
	}
	if cfg.Seed == 0 {
		cfg.Seed = 42
	}
	sim, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := simkit.Start("127.0.0.1:0", sim.Handler())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	h := &harness{t: t, sim: sim, url: srv.URL}
	h.token = h.login(sim.cfg.Username)
	return h
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r response) errorBody(t *testing.T) errorBody {
	t.Helper()
	var e errorBody
	r.decode(t, &e)
	if e.Code != r.status || e.Message == "" || e.Term == "" || e.Validations == nil || e.Meta == nil {
		t.Fatalf("not the vendor error body {code,message,term,validations,_meta}: %s", r.body)
	}
	return e
}

// raw sends a request with exactly the given headers.
func (h *harness) raw(method, path string, body any, headers map[string]string) response {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, h.url+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// do sends an authenticated request.
func (h *harness) do(method, path string, body any) response {
	h.t.Helper()
	return h.raw(method, path, body, map[string]string{
		"x-api-key": h.sim.cfg.APIKey, "x-api-version": "2", "Authorization": "Bearer " + h.token})
}

// must sends an authenticated request and checks its status.
func (h *harness) must(want int, method, path string, body any) response {
	h.t.Helper()
	r := h.do(method, path, body)
	if r.status != want {
		h.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.body)
	}
	return r
}

func (h *harness) login(username string) string {
	h.t.Helper()
	r := h.raw("POST", "/authenticate", map[string]string{
		"username": username, "password": h.sim.cfg.Password, "privateKey": h.sim.cfg.APIKey,
	}, map[string]string{"x-api-key": h.sim.cfg.APIKey})
	if r.status != http.StatusOK {
		h.t.Fatalf("authenticate: %d %s", r.status, r.body)
	}
	var tok string
	r.decode(h.t, &tok)
	return tok
}

type enrollmentPage struct {
	TotalItems    int                    `json:"totalItems"`
	ReturnedItems int                    `json:"returnedItems"`
	Limit         int                    `json:"limit"`
	Offset        int                    `json:"offset"`
	Enrollments   []courseEnrollmentJSON `json:"enrollments"`
}

func (h *harness) page(path string) enrollmentPage {
	h.t.Helper()
	var p enrollmentPage
	h.must(http.StatusOK, "GET", path, nil).decode(h.t, &p)
	if p.ReturnedItems != len(p.Enrollments) {
		h.t.Fatalf("returnedItems %d but %d enrollments", p.ReturnedItems, len(p.Enrollments))
	}
	return p
}

type coursePage struct {
	TotalItems int          `json:"totalItems"`
	Courses    []courseJSON `json:"courses"`
}

func (h *harness) courses() []courseJSON {
	h.t.Helper()
	var p coursePage
	h.must(http.StatusOK, "GET", "/courses?_limit=1000", nil).decode(h.t, &p)
	return p.Courses
}

func (h *harness) courseOfType(kind string) courseJSON {
	h.t.Helper()
	for _, c := range h.courses() {
		if c.CourseType == kind {
			return c
		}
	}
	h.t.Fatalf("no %s course", kind)
	return courseJSON{}
}

type userPage struct {
	TotalItems int        `json:"totalItems"`
	Users      []userJSON `json:"users"`
}

// unenrolledUser finds a user with no row in course c.
func (h *harness) unenrolledUser(courseID string) userJSON {
	h.t.Helper()
	var p userPage
	h.must(http.StatusOK, "GET", "/users?_limit=1000", nil).decode(h.t, &p)
	for _, u := range p.Users {
		pg := h.page("/users/" + u.ID + "/enrollments?_limit=1000&_filter=" + q("courseId eq guid'"+courseID+"'"))
		if pg.TotalItems == 0 {
			return u
		}
	}
	h.t.Fatal("every user is enrolled")
	return userJSON{}
}

// allOfCourse returns every row of a course by walking its pages.
func (h *harness) allOfCourse(courseID, extra string) []courseEnrollmentJSON {
	h.t.Helper()
	var all []courseEnrollmentJSON
	for off := 0; ; off++ {
		p := h.page("/courses/" + courseID + "/enrollments?_limit=1000&_offset=" + itoa(off) + extra)
		if len(p.Enrollments) == 0 {
			return all
		}
		all = append(all, p.Enrollments...)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// q escapes a query value.
func q(s string) string { return url.QueryEscape(s) }

func clockAt(t time.Time) *simkit.Clock { return simkit.NewFixedClock(t) }
