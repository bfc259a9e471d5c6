package canvassim

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/sim/simkit"
)

var testNow = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

const testToken = "canvas-sim-token"

// startSim serves a simulator on loopback for one test.
func startSim(t *testing.T, cfg Config) (*Sim, string) {
	t.Helper()
	if cfg.Clock == nil {
		cfg.Clock = simkit.NewFixedClock(testNow)
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
	return s, srv.URL
}

type reply struct {
	status int
	header http.Header
	body   string
}

func (r reply) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("body is not JSON (%v): %s", err, r.body)
	}
}

// links parses a Link header into rel → URL.
func (r reply) links() map[string]string {
	out := map[string]string{}
	re := regexp.MustCompile(`<([^>]*)>; rel="([a-z]+)"`)
	for _, m := range re.FindAllStringSubmatch(r.header.Get("Link"), -1) {
		out[m[2]] = m[1]
	}
	return out
}

// multipartForm is a body sent as curl -F sends it (seed 004's examples).
type multipartForm map[string]string

type reqOpt func(*http.Request)

func withoutToken() reqOpt { return func(r *http.Request) { r.Header.Del("Authorization") } }
func withToken(tok string) reqOpt {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}
func withHeader(k, v string) reqOpt { return func(r *http.Request) { r.Header.Set(k, v) } }

// send sends a request as a well-behaved client: a Bearer token and a
// User-Agent. body is form-encoded when it is url.Values, JSON otherwise.
func send(t *testing.T, method, u string, body any, opts ...reqOpt) reply {
	t.Helper()
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, ctype = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	case multipartForm:
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for k, v := range b {
			if err := mw.WriteField(k, v); err != nil {
				t.Fatal(err)
			}
		}
		mw.Close()
		rd, ctype = &buf, mw.FormDataContentType()
	default:
		js, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd, ctype = strings.NewReader(string(js)), "application/json"
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("User-Agent", "canvassim-test")
	for _, o := range opts {
		o(req)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: res.StatusCode, header: res.Header, body: string(b)}
}

// wireEnrollment is the part of the Enrollment object tests read.
type wireEnrollment struct {
	ID              int64   `json:"id"`
	UserID          int64   `json:"user_id"`
	CourseID        int64   `json:"course_id"`
	CourseSectionID int64   `json:"course_section_id"`
	Type            string  `json:"type"`
	Role            string  `json:"role"`
	EnrollmentState string  `json:"enrollment_state"`
	UpdatedAt       string  `json:"updated_at"`
	LastAttendedAt  *string `json:"last_attended_at"`
	SISUserID       *string `json:"sis_user_id"`
	Grades          *struct {
		HTMLURL      string   `json:"html_url"`
		CurrentScore *float64 `json:"current_score"`
	} `json:"grades"`
	User *struct {
		ID           int64  `json:"id"`
		Name         string `json:"name"`
		SortableName string `json:"sortable_name"`
		LoginID      string `json:"login_id"`
	} `json:"user"`
}

// walk follows rel="next" from first and returns every row.
func walk(t *testing.T, first string, opts ...reqOpt) ([]wireEnrollment, int) {
	t.Helper()
	var all []wireEnrollment
	pages := 0
	for next := first; next != ""; pages++ {
		if pages > 10000 {
			t.Fatal("paging does not end")
		}
		r := send(t, "GET", next, nil, opts...)
		if r.status != 200 {
			t.Fatalf("GET %s: %d %s", next, r.status, r.body)
		}
		var page []wireEnrollment
		r.json(t, &page)
		all = append(all, page...)
		next = r.links()["next"]
	}
	return all, pages
}

// fixture picks an enrollment from the generated data with a predicate, so
// tests need not know the seed's layout. It returns nil when none matches.
func fixture(s *Sim, ok func(st *store, e *enrollment) bool) *enrollment {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for i := range s.st.enrollments {
		if e := &s.st.enrollments[i]; !e.gone && ok(s.st, e) {
			cp := *e
			return &cp
		}
	}
	return nil
}

func (s *Sim) courseID(e *enrollment) int64 { return s.st.courses[e.course].id }
func (s *Sim) userID(e *enrollment) int64   { return s.st.users[e.user].id }
