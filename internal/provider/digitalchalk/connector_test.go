package digitalchalk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/httpx"
	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/provider"
	"github.com/registrarhq/registrar/internal/provider/providertest"
	"github.com/registrarhq/registrar/internal/sim/dcsim"
	"github.com/registrarhq/registrar/internal/sim/simkit"
)

// seen is one request a recorder saw.
type seen struct {
	Method, Path, Query string
	Auth, Accept, CT    string
	Body                []byte
}

// recorder sits in front of a handler and keeps every request it passes on.
type recorder struct {
	next http.Handler
	mu   sync.Mutex
	reqs []seen
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, seen{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Auth: r.Header.Get("Authorization"), Accept: r.Header.Get("Accept"), CT: r.Header.Get("Content-Type"),
		Body: body,
	})
	rec.mu.Unlock()
	rec.next.ServeHTTP(w, r)
}

func (rec *recorder) all() []seen {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.reqs)
}

func (rec *recorder) reset() {
	rec.mu.Lock()
	rec.reqs = nil
	rec.mu.Unlock()
}

// count counts requests whose method matches and whose path, relative to
// prefix, matches shape ("/users" or "/users/*").
func (rec *recorder) count(method, prefix, shape string) int {
	n := 0
	for _, r := range rec.all() {
		rel := strings.TrimPrefix(r.Path, prefix)
		if r.Method != method {
			continue
		}
		if base, ok := strings.CutSuffix(shape, "/*"); ok {
			if rest, found := strings.CutPrefix(rel, base+"/"); found && rest != "" && !strings.Contains(rest, "/") {
				n++
			}
		} else if rel == shape {
			n++
		}
	}
	return n
}

// recordedSim is a dcsim organisation behind a recorder.
type recordedSim struct {
	*simEnv
	rec *recorder
}

func startRecordedSim(t *testing.T, cfg dcsim.Config) *recordedSim {
	t.Helper()
	if cfg.Token == "" {
		cfg.Token = simToken
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	sim, err := dcsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{next: sim.Handler()}
	srv, err := simkit.Start("127.0.0.1:0", rec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	prefix := cfg.PathPrefix
	if prefix == "" {
		prefix = "/dc/api/v5"
	}
	return &recordedSim{simEnv: &simEnv{sim: sim, baseURL: srv.URL + prefix, srvURL: srv.URL}, rec: rec}
}

// fakeVendor serves canned answers, for vendor behaviours the simulator does
// not produce on demand (odd next links, error bodies).
func fakeVendor(t *testing.T, h http.HandlerFunc) (*recorder, string) {
	t.Helper()
	rec := &recorder{next: h}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return rec, srv.URL + "/dc/api/v5"
}

func newConnector(t *testing.T, baseURL string, settings map[string]string) *Connector {
	t.Helper()
	all := map[string]string{settingBaseURL: baseURL}
	for k, v := range settings {
		all[k] = v
	}
	c, err := New(provider.Config{Settings: all, Secrets: map[string]string{settingToken: simToken}, HTTP: fastHTTP})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantKind(t *testing.T, err error, kind provider.Kind, msgPart string) {
	t.Helper()
	if !provider.IsKind(err, kind) {
		t.Fatalf("got error %v, want kind %s", err, kind)
	}
	if msgPart != "" && !strings.Contains(err.Error(), msgPart) {
		t.Errorf("error %q does not contain %q", err, msgPart)
	}
}

func TestNewValidatesSettings(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]string
		secrets  map[string]string
		badField string
	}{
		{"defaults are valid", nil, map[string]string{"token": "t"}, ""},
		{"token is required", nil, nil, "token"},
		{"token is a secret", map[string]string{"token": "t"}, nil, "token"},
		{"page_size above the vendor maximum (§3.2)", map[string]string{"page_size": "101"}, map[string]string{"token": "t"}, "page_size"},
		{"page_size zero", map[string]string{"page_size": "0"}, map[string]string{"token": "t"}, "page_size"},
		{"page_size not a number", map[string]string{"page_size": "many"}, map[string]string{"token": "t"}, "page_size"},
		{"base_url must be a URL", map[string]string{"base_url": "api.digitalchalk.com"}, map[string]string{"token": "t"}, "base_url"},
		{"user_details enum", map[string]string{"user_details": "all"}, map[string]string{"token": "t"}, "user_details"},
		{"grade_property enum", map[string]string{"grade_property": "score"}, map[string]string{"token": "t"}, "grade_property"},
		{"unknown setting", map[string]string{"region": "eu"}, map[string]string{"token": "t"}, "region"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(provider.Config{Settings: tt.settings, Secrets: tt.secrets})
			if tt.badField == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.baseURL.String() != DefaultBaseURL || c.pageSize != 100 || c.userDetails != userDetailsUsersPass || c.gradeProperty != "grade" {
					t.Errorf("defaults: base %s page %d users %s grade %s", c.baseURL, c.pageSize, c.userDetails, c.gradeProperty)
				}
				return
			}
			var ve *provider.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("got %v, want a *provider.ValidationError", err)
			}
			if !slices.ContainsFunc(ve.Fields, func(f provider.FieldError) bool { return f.Field == tt.badField }) {
				t.Errorf("error %v does not name %s", err, tt.badField)
			}
		})
	}
}

func TestDefinitionAndCapabilities(t *testing.T) {
	d := Definition()
	if d.Name != "digitalchalk" || d.New == nil {
		t.Fatalf("definition %+v", d)
	}
	r, err := d.New(provider.Config{Secrets: map[string]string{"token": "t"}})
	if err != nil {
		t.Fatal(err)
	}
	// DESIGN.md "Writes": register, re-register, grade, eject; nothing else.
	want := []lms.Capability{lms.CapabilityEnroll, lms.CapabilityReEnroll, lms.CapabilityScore, lms.CapabilityWithdraw}
	if got := provider.Capabilities(r); !slices.Equal(got, want) {
		t.Errorf("capabilities %v, want %v", got, want)
	}
	if _, ok := r.(provider.IncrementalReader); ok {
		t.Error("DigitalChalk v5 has no modified-since filter; the connector must not be an IncrementalReader")
	}
	if got := d.Capabilities(); !slices.Equal(got, want) {
		t.Errorf("definition capabilities %v, want %v", got, want)
	}
	if _, ok := r.(provider.ConnectionTester); !ok {
		t.Error("no ConnectionTest")
	}
}

// TestRequestsCarryAuthAndJSONHeaders: bearer token, JSON Accept and
// Content-Type on every call (§3.1).
func TestRequestsCarryAuthAndJSONHeaders(t *testing.T) {
	s := startRecordedSim(t, dcsim.Config{Enrollments: 30})
	c := newConnector(t, s.baseURL, map[string]string{"page_size": "10"})
	if _, _, err := providertest.ListAll(context.Background(), c, ""); err != nil {
		t.Fatal(err)
	}
	reqs := s.rec.all()
	if len(reqs) == 0 {
		t.Fatal("no requests")
	}
	for _, r := range reqs {
		if r.Auth != "Bearer "+simToken || r.Accept != "application/json" || r.CT != "application/json" {
			t.Errorf("%s %s: Authorization %q Accept %q Content-Type %q", r.Method, r.Path, r.Auth, r.Accept, r.CT)
		}
	}
}

// listVendor serves GET /registrations from a list that tests change between
// pages, with limit/offset item paging and next links as §3.2 describes;
// relative says whether next links are relative.
type listVendor struct {
	mu       sync.Mutex
	ids      []string
	relative bool
	maxLimit int // 0: no cap below the asked limit
}

func (v *listVendor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v.mu.Lock()
	defer v.mu.Unlock()
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
	if v.maxLimit > 0 {
		limit = min(limit, v.maxLimit)
	}
	p := page[json.RawMessage]{Results: []json.RawMessage{}}
	for _, id := range v.ids[min(offset, len(v.ids)):min(offset+limit, len(v.ids))] {
		p.Results = append(p.Results, json.RawMessage(`{"id":"`+id+`","userId":"u","offeringId":"o","status":"active"}`))
	}
	if offset+limit < len(v.ids) {
		// Parameters in the vendor's own order, to show the connector reads
		// the link rather than rebuilding it.
		p.Next = fmt.Sprintf("/dc/api/v5/registrations?offset=%d&limit=%d", offset+limit, limit)
		if !v.relative {
			p.Next = "http://" + r.Host + p.Next
		}
	}
	_ = json.NewEncoder(w).Encode(p)
}

func (v *listVendor) change(f func(ids []string) []string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.ids = f(v.ids)
}

func ids(es []lms.CourseEnrollment) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

// TestPagingFollowsNext: the connector asks for the offsets the vendor's next
// links name (less the anchor window), absolute or relative, stops when next
// is absent (§3.2), and a fresh connector resumes from a stored cursor.
func TestPagingFollowsNext(t *testing.T) {
	for _, relative := range []bool{false, true} {
		t.Run(fmt.Sprintf("relative=%v", relative), func(t *testing.T) {
			vendor := &listVendor{ids: []string{"r1", "r2", "r3", "r4", "r5", "r6", "r7"}, relative: relative}
			rec, base := fakeVendor(t, vendor.ServeHTTP)
			settings := map[string]string{"page_size": "2", "user_details": "none"}
			ctx := context.Background()

			first, err := newConnector(t, base, settings).EnrollmentPage(ctx, provider.EnrollmentPageParams{})
			if err != nil {
				t.Fatal(err)
			}
			if first.Total != -1 {
				t.Errorf("total %d, want -1 (DigitalChalk gives no count)", first.Total)
			}
			// A new process: only the stored string crosses over.
			rest, pages, err := providertest.ListAll(ctx, newConnector(t, base, settings), first.NextCursor)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := ids(append(first.Enrollments, rest...)), vendor.ids; !slices.Equal(got, want) || pages != 3 {
				t.Errorf("ids %v over %d resumed pages, want %v over 3", got, pages, want)
			}
			var queries []string
			for _, r := range rec.all() {
				queries = append(queries, r.Query)
			}
			// next offsets 2, 4, 6, each read from up to 5 records earlier.
			want := []string{"limit=2&offset=0", "limit=4&offset=0", "limit=6&offset=0", "limit=7&offset=1"}
			if !slices.Equal(queries, want) {
				t.Errorf("queries %v, want %v", queries, want)
			}
		})
	}
}

// TestPagingSurvivesShifts: records that vanish or appear before the current
// offset between two pages neither hide nor repeat a record.
func TestPagingSurvivesShifts(t *testing.T) {
	tests := []struct {
		name   string
		change func(ids []string) []string
		want   []string
	}{
		{"a listed record vanishes", func(ids []string) []string { return slices.DeleteFunc(ids, func(id string) bool { return id == "r2" }) },
			[]string{"r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9"}},
		{"the last listed record vanishes", func(ids []string) []string { return slices.DeleteFunc(ids, func(id string) bool { return id == "r4" }) },
			[]string{"r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9"}},
		{"two records appear before the offset", func(ids []string) []string { return slices.Insert(ids, 1, "n1", "n2") },
			[]string{"r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vendor := &listVendor{ids: []string{"r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9"}}
			_, base := fakeVendor(t, vendor.ServeHTTP)
			c := newConnector(t, base, map[string]string{"page_size": "4", "user_details": "none"})
			ctx := context.Background()
			first, err := c.EnrollmentPage(ctx, provider.EnrollmentPageParams{})
			if err != nil {
				t.Fatal(err)
			}
			vendor.change(tt.change)
			rest, _, err := providertest.ListAll(ctx, c, first.NextCursor)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(append(first.Enrollments, rest...)); !slices.Equal(got, tt.want) {
				t.Errorf("walk saw %v, want %v", got, tt.want)
			}
		})
	}
}

// TestPagingNeverLoops: a vendor answering fewer records than the anchor
// window would send the walk back to the same place forever; it fails
// instead.
func TestPagingNeverLoops(t *testing.T) {
	vendor := &listVendor{ids: []string{"r1", "r2", "r3", "r4", "r5", "r6", "r7"}, maxLimit: 3}
	_, base := fakeVendor(t, vendor.ServeHTTP)
	c := newConnector(t, base, map[string]string{"page_size": "3", "user_details": "none"})
	_, _, err := providertest.ListAll(context.Background(), c, "")
	wantKind(t, err, provider.KindUpstream, "does not advance")
}

// TestWalkWhileTheSimulatorDeletes: records purged behind a running walk
// (dcsim DeleteEnrollment) cost no other record.
func TestWalkWhileTheSimulatorDeletes(t *testing.T) {
	s := startSim(t, dcsim.Config{Enrollments: 100})
	c := s.connector(t, simToken, map[string]string{"page_size": "20", "user_details": "none"})
	ctx := context.Background()
	var seenIDs []string
	cursor := ""
	for pages := 0; ; pages++ {
		p, err := c.EnrollmentPage(ctx, provider.EnrollmentPageParams{Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		seenIDs = append(seenIDs, ids(p.Enrollments)...)
		if pages == 1 {
			// Purge two records the walk already passed.
			s.sim.DeleteEnrollment(seenIDs[3])
			s.sim.DeleteEnrollment(seenIDs[25])
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	count := map[string]int{}
	for _, id := range seenIDs {
		count[id]++
	}
	for _, id := range s.sim.EnrollmentIDs() {
		if count[id] != 1 {
			t.Errorf("registration %s seen %d times, want once", id, count[id])
		}
	}
}

func TestPagingRefusesBadLinksAndCursors(t *testing.T) {
	tests := []struct {
		name, next, cursor string
		kind               provider.Kind
		msg                string
	}{
		{"next that does not advance", "/dc/api/v5/registrations?offset=0&limit=2", "", provider.KindUpstream, "does not advance"},
		{"next to another host", "https://elsewhere.example/dc/api/v5/registrations?page=2", "", provider.KindUpstream, "leaves"},
		{"next with a bad offset", "/dc/api/v5/registrations?offset=-4", "", provider.KindUpstream, "offset"},
		{"cursor from elsewhere", "", "next=https%3A%2F%2Fevil.example%2Fdc%2Fapi%2Fv5%2Fregistrations%3Fp%3D2", provider.KindInvalidRequest, "cursor"},
		{"cursor that is not ours", "", "page=3", provider.KindInvalidRequest, "cursor"},
		{"negative offset cursor", "", "offset=-1", provider.KindInvalidRequest, "cursor"},
		{"garbled cursor", "", "%zz", provider.KindInvalidRequest, "cursor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, base := fakeVendor(t, func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, `{"results":[{"id":"r1","userId":"u","offeringId":"o","status":"active"}],"next":"`+tt.next+`"}`)
			})
			c := newConnector(t, base, map[string]string{"user_details": "none"})
			_, err := c.EnrollmentPage(context.Background(), provider.EnrollmentPageParams{Cursor: tt.cursor})
			wantKind(t, err, tt.kind, tt.msg)
			if tt.cursor != "" && len(rec.all()) != 0 {
				t.Errorf("a foreign cursor was followed: %d requests", len(rec.all()))
			}
		})
	}
}

func TestChangedSinceIsRefused(t *testing.T) {
	rec, base := fakeVendor(t, func(w http.ResponseWriter, r *http.Request) { t.Error("no call expected") })
	since := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err := newConnector(t, base, nil).EnrollmentPage(context.Background(), provider.EnrollmentPageParams{ChangedSince: &since})
	wantKind(t, err, provider.KindInvalidRequest, "modification time")
	if len(rec.all()) != 0 {
		t.Errorf("%d requests, want none", len(rec.all()))
	}
}

// TestErrorAnswers: each vendor answer becomes the right Kind with the
// vendor's own words (§3.4) and the raw body.
func TestErrorAnswers(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		kind   provider.Kind
		msg    string
	}{
		{"errors array", 400, `{"errors":["This offering is not available for registration for the given user."]}`, provider.KindInvalidRequest, "This offering is not available"},
		{"fieldErrors", 400, `{"fieldErrors":{"status":"Eject is not available after completion."}}`, provider.KindInvalidRequest, "status: Eject is not available after completion."},
		{"bad token", 401, `{"errors":["Invalid access token."]}`, provider.KindAuthentication, "Invalid access token."},
		{"no permission", 403, `{"errors":["Not allowed."]}`, provider.KindPermission, "Not allowed."},
		{"unknown id", 404, `{"errors":["Not found."]}`, provider.KindNotFound, "Not found."},
		{"throttled after retries", 429, `{"errors":["Too many requests"]}`, provider.KindThrottled, "Too many requests"},
		{"server error after retries", 500, `<html>boom</html>`, provider.KindUnavailable, "HTTP 500 Internal Server Error"},
		{"malformed JSON", 200, `{"results":[{"id":`, provider.KindUpstream, "malformed JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, base := fakeVendor(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			})
			c, err := New(provider.Config{
				Settings: map[string]string{"base_url": base, "user_details": "none"},
				Secrets:  map[string]string{"token": simToken},
				HTTP:     httpx.Options{MaxAttempts: 2, BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond},
			})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.EnrollmentGet(context.Background(), "abc")
			wantKind(t, err, tt.kind, tt.msg)
			var pe *provider.Error
			errors.As(err, &pe)
			if pe.Provider != Name || !strings.HasPrefix(pe.URL, base+"/registrations/abc") || string(pe.Body) != tt.body {
				t.Errorf("error provider %q URL %q body %q", pe.Provider, pe.URL, pe.Body)
			}
			if strings.Contains(err.Error(), simToken) {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

// TestPostIsNotRepeated: registering is not idempotent (§3.3), so a failed
// POST is reported, never re-sent.
func TestPostIsNotRepeated(t *testing.T) {
	rec, base := fakeVendor(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"errors":["Internal error"]}`, http.StatusInternalServerError)
	})
	_, err := newConnector(t, base, nil).Enroll(context.Background(), provider.EnrollParams{UserID: "u", CourseID: "o"})
	wantKind(t, err, provider.KindUnavailable, "Internal error")
	if n := rec.count(http.MethodPost, "/dc/api/v5", "/registrations"); n != 1 {
		t.Errorf("POST sent %d times, want 1", n)
	}
}

func TestPostWithoutAnswerSaysItMayHaveHappened(t *testing.T) {
	s := startRecordedSim(t, dcsim.Config{Enrollments: 10, Faults: simkit.Faults{DropRate: 1}})
	c := newConnector(t, s.baseURL, nil)
	_, err := c.Enroll(context.Background(), provider.EnrollParams{UserID: "u", CourseID: "o"})
	wantKind(t, err, provider.KindUnavailable, "may or may not")
	if n := s.rec.count(http.MethodPost, "/dc/api/v5", "/registrations"); n != 1 {
		t.Errorf("POST sent %d times after a dropped connection, want 1", n)
	}
}

func TestIDFromLocation(t *testing.T) {
	tests := []struct{ location, want string }{
		{"/dc/api/v5/registrations/65ade781cc98d136543678191005431a", "65ade781cc98d136543678191005431a"},
		{"https://api.digitalchalk.com/dc/api/v5/registrations/65ade781cc98d136543678191005431a", "65ade781cc98d136543678191005431a"},
		{"/api/v5/registrations/abc/", "abc"},
		{"", ""},
		{"/dc/api/v5/users/abc", ""},
		{"/dc/api/v5/registrations", ""},
	}
	for _, tt := range tests {
		if got := idFromLocation(tt.location); got != tt.want {
			t.Errorf("idFromLocation(%q) = %q, want %q", tt.location, got, tt.want)
		}
	}
}

// TestWriteValidationBeforeAnyCall: what DigitalChalk cannot do is refused
// without calling it.
func TestWriteValidationBeforeAnyCall(t *testing.T) {
	rec, base := fakeVendor(t, func(w http.ResponseWriter, r *http.Request) { t.Errorf("unexpected %s %s", r.Method, r.URL) })
	c := newConnector(t, base, nil)
	ctx := context.Background()
	due := time.Now()
	tests := []struct {
		name string
		call func() error
		msg  string
	}{
		{"score below 0", func() error { _, err := c.Score(ctx, provider.ScoreParams{EnrollmentID: "r", Score: -0.5}); return err }, "outside 0-100"},
		{"score above 100", func() error {
			_, err := c.Score(ctx, provider.ScoreParams{EnrollmentID: "r", Score: 100.1})
			return err
		}, "outside 0-100"},
		{"score NaN", func() error {
			_, err := c.Score(ctx, provider.ScoreParams{EnrollmentID: "r", Score: math.NaN()})
			return err
		}, "outside 0-100"},
		{"score with status (§3.3: never decide pass/fail ourselves)", func() error {
			_, err := c.Score(ctx, provider.ScoreParams{EnrollmentID: "r", Score: 90, Status: lms.StatusPassed})
			return err
		}, "without a status"},
		{"score with completion date", func() error {
			_, err := c.Score(ctx, provider.ScoreParams{EnrollmentID: "r", Score: 90, CompletedAt: &due})
			return err
		}, "completion date"},
		{"enroll without offering", func() error { _, err := c.Enroll(ctx, provider.EnrollParams{UserID: "u"}); return err }, "offering"},
		{"enroll into a section", func() error {
			_, err := c.Enroll(ctx, provider.EnrollParams{UserID: "u", CourseID: "o", SectionID: "s"})
			return err
		}, "sections"},
		{"enroll an instructor", func() error {
			_, err := c.Enroll(ctx, provider.EnrollParams{UserID: "u", CourseID: "o", Role: lms.RoleInstructor})
			return err
		}, "learners only"},
		{"enroll with a due date", func() error {
			_, err := c.ReEnroll(ctx, provider.EnrollParams{UserID: "u", CourseID: "o", DueAt: &due})
			return err
		}, "due date"},
		{"withdraw in an unknown mode", func() error {
			_, err := c.Withdraw(ctx, provider.WithdrawParams{EnrollmentID: "r", Mode: "delete"})
			return err
		}, "eject"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantKind(t, tt.call(), provider.KindInvalidRequest, tt.msg) })
	}
	if n := len(rec.all()); n != 0 {
		t.Errorf("%d requests, want none", n)
	}
}
