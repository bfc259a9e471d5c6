package absorb

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/provider"
)

func validSecrets() map[string]string {
	return map[string]string{"api_key": "k", "username": "u", "password": "p"}
}

// TestNewSettings covers the settings of the connector issue: base_url or
// region (providers.md §2.1), page_size bounds (§2.5), the UNCERTAIN-fact
// settings and the path overrides of §2.3.
func TestNewSettings(t *testing.T) {
	tests := []struct {
		name      string
		settings  map[string]string
		secrets   map[string]string
		wantField string // "" = valid
		check     func(t *testing.T, c *Connector)
	}{
		{name: "region us", settings: map[string]string{"region": "us"}, check: func(t *testing.T, c *Connector) {
			if c.baseURL != "https://rest.myabsorb.com" || c.pageSize != 500 {
				t.Errorf("base %q page %d", c.baseURL, c.pageSize)
			}
		}},
		{name: "region sandbox-au", settings: map[string]string{"region": "sandbox-au"}, check: func(t *testing.T, c *Connector) {
			if c.baseURL != "https://rest.sandbox.myabsorb.com.au" {
				t.Errorf("base %q", c.baseURL)
			}
		}},
		{name: "base_url wins over region", settings: map[string]string{"region": "eu", "base_url": "https://absorb.example.com/api/"}, check: func(t *testing.T, c *Connector) {
			if c.baseURL != "https://absorb.example.com/api" {
				t.Errorf("base %q", c.baseURL)
			}
		}},
		{name: "neither base_url nor region", settings: map[string]string{}, wantField: "base_url"},
		{name: "unknown region", settings: map[string]string{"region": "mars"}, wantField: "region"},
		{name: "relative base_url", settings: map[string]string{"base_url": "rest.myabsorb.com"}, wantField: "base_url"},
		{name: "missing password", settings: map[string]string{"region": "us"}, secrets: map[string]string{"api_key": "k", "username": "u"}, wantField: "password"},
		{name: "page_size 0", settings: map[string]string{"region": "us", "page_size": "0"}, wantField: "page_size"},
		{name: "page_size above the 1000 maximum", settings: map[string]string{"region": "us", "page_size": "1001"}, wantField: "page_size"},
		{name: "page_size 1000", settings: map[string]string{"region": "us", "page_size": "1000"}, check: func(t *testing.T, c *Connector) {
			if c.pageSize != 1000 {
				t.Errorf("page %d", c.pageSize)
			}
		}},
		{name: "page_size not a number", settings: map[string]string{"region": "us", "page_size": "many"}, wantField: "page_size"},
		{name: "zone-less times in Paris", settings: map[string]string{"region": "us", "zoneless_time_zone": "Europe/Paris"}, check: func(t *testing.T, c *Connector) {
			if c.zone.String() != "Europe/Paris" {
				t.Errorf("zone %s", c.zone)
			}
		}},
		{name: "unknown zone", settings: map[string]string{"region": "us", "zoneless_time_zone": "Mars/Olympus"}, wantField: "zoneless_time_zone"},
		{name: "bare token", settings: map[string]string{"region": "us", "authorization_scheme": "bare"}, check: func(t *testing.T, c *Connector) {
			if !c.bareToken {
				t.Error("bare scheme ignored")
			}
		}},
		{name: "filter without since", settings: map[string]string{"region": "us", "incremental_filter": "dateEdited ge datetime'now'"}, wantField: "incremental_filter"},
		{name: "path override", settings: map[string]string{"region": "us", "path_enrollment_get": "get /v2/course-enrollments/{id}"}, check: func(t *testing.T, c *Connector) {
			if got := c.routes[routeEnrollmentGet]; got != (route{"GET", "/v2/course-enrollments/{id}"}) {
				t.Errorf("route %v", got)
			}
		}},
		{name: "path override losing a placeholder", settings: map[string]string{"region": "us", "path_enroll": "POST /users/{userId}/enrollments"}, wantField: "path_enroll"},
		{name: "path override with a bad method", settings: map[string]string{"region": "us", "path_attempt_finish": "FINISH /attempts/{attemptId}"}, wantField: "path_attempt_finish"},
		{name: "path override without method", settings: map[string]string{"region": "us", "path_unenroll": "/enrollments/unenroll"}, wantField: "path_unenroll"},
		{name: "unknown setting", settings: map[string]string{"region": "us", "colour": "blue"}, wantField: "colour"},
		{name: "secret given as a setting", settings: map[string]string{"region": "us", "password": "p"}, secrets: map[string]string{"api_key": "k", "username": "u"}, wantField: "password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secrets := tt.secrets
			if secrets == nil {
				secrets = validSecrets()
			}
			c, err := New(provider.Config{Settings: tt.settings, Secrets: secrets})
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				tt.check(t, c)
				return
			}
			var ve *provider.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("New: got %v, want a ValidationError on %s", err, tt.wantField)
			}
			found := false
			for _, f := range ve.Fields {
				found = found || f.Field == tt.wantField
			}
			if !found {
				t.Errorf("error %v does not name %s", err, tt.wantField)
			}
		})
	}
}

func TestDefinition(t *testing.T) {
	d := Definition()
	if d.Name != "absorb" || d.New == nil || len(d.Fields) == 0 || len(d.Notes) == 0 {
		t.Fatalf("incomplete definition: %+v", d)
	}
	secrets := d.SecretNames()
	slices.Sort(secrets)
	if !slices.Equal(secrets, []string{"api_key", "password", "username"}) {
		t.Errorf("secrets %v", secrets)
	}
	// Every route of the one table is overridable by a documented setting.
	names := map[string]provider.Setting{}
	for _, s := range d.Settings {
		names[s.Name] = s
		if s.Description == "" {
			t.Errorf("setting %s has no description", s.Name)
		}
	}
	for _, spec := range routeTable() {
		s, ok := names["path_"+spec.Name]
		if !ok || s.Default != spec.Default.String() {
			t.Errorf("route %s: setting %+v", spec.Name, s)
		}
	}
	r, err := d.New(provider.Config{Settings: map[string]string{"region": "ca"}, Secrets: validSecrets()})
	if err != nil || r.Provider() != "absorb" {
		t.Fatalf("New via definition: %v", err)
	}
	caps := provider.Capabilities(r)
	want := []lms.Capability{lms.CapabilityEnroll, lms.CapabilityReEnroll, lms.CapabilityScore, lms.CapabilityComplete, lms.CapabilitySetStatus,
		lms.CapabilityWithdraw, lms.CapabilityLessonAttempts, lms.CapabilityIncrementalSync}
	if !slices.Equal(caps, want) {
		t.Errorf("capabilities %v, want %v (DESIGN.md Writes, Absorb column)", caps, want)
	}
	if got := d.Capabilities(); !slices.Equal(got, want) {
		t.Errorf("capabilities of the prototype %v, want %v", got, want)
	}
}

// TestHeaders: x-api-key and x-api-version: 2 on every call (§2.1), the
// token in Authorization as Bearer or bare (§2.2).
func TestHeaders(t *testing.T) {
	for _, scheme := range []string{"bearer", "bare"} {
		t.Run(scheme, func(t *testing.T) {
			f := newFake(t)
			f.addCourse("c1", 2)
			srv := f.start()
			c := f.connect(t, srv.URL, map[string]string{"authorization_scheme": scheme}, nil)
			_, err := c.CoursePage(context.Background(), "")
			if scheme == "bare" {
				// The fake refuses a bare token with 401; what matters is what was sent.
				if !provider.IsKind(err, provider.KindAuthentication) {
					t.Fatalf("bare token against a Bearer-only fake: %v", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			for _, r := range f.log {
				if r.Header.Get("x-api-key") != f.apiKey || r.Header.Get("x-api-version") != "2" {
					t.Errorf("%s %s: x-api-key %q x-api-version %q", r.Method, r.Path, r.Header.Get("x-api-key"), r.Header.Get("x-api-version"))
				}
				if r.Header.Get("User-Agent") == "" {
					t.Errorf("%s %s without User-Agent", r.Method, r.Path)
				}
				if r.Path == "/authenticate" {
					var body map[string]string
					_ = json.Unmarshal([]byte(r.Body), &body)
					if body["privateKey"] != f.apiKey || body["username"] != f.username || body["password"] != f.password {
						t.Errorf("authenticate body %s", r.Body)
					}
					continue
				}
				want := "Bearer token-"
				if scheme == "bare" {
					want = "token-"
				}
				if got := r.Header.Get("Authorization"); !strings.HasPrefix(got, want) {
					t.Errorf("Authorization %q, want %q", got, want)
				}
			}
		})
	}
}

// TestTokenOnceUnderConcurrency: one token per credential, obtained by one
// /authenticate call for N parallel requests (§2.2: a new token revokes the
// previous one).
func TestTokenOnceUnderConcurrency(t *testing.T) {
	f := newFake(t)
	f.addCourse("c1", 3)
	f.authDelay = 50 * time.Millisecond
	srv := f.start()
	c := f.connect(t, srv.URL, nil, nil)
	const n = 25
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.EnrollmentGet(context.Background(), "c1-e001")
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := f.authCount(); got != 1 {
		t.Errorf("%d /authenticate calls for %d parallel requests, want 1", got, n)
	}
}

// TestTokenRenewedBeforeItEnds: tokens live 4 hours (§2.2); the connector
// renews ahead of the end, by its clock.
func TestTokenRenewedBeforeItEnds(t *testing.T) {
	f := newFake(t)
	f.addCourse("c1", 1)
	srv := f.start()
	clk := &clock{now: time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)}
	c := f.connect(t, srv.URL, nil, clk.Now)
	ctx := context.Background()
	steps := []struct {
		advance  time.Duration
		wantAuth int
	}{
		{0, 1},
		{3 * time.Hour, 1},
		{40 * time.Minute, 1}, // 3h40m: still well inside
		{15 * time.Minute, 2}, // 3h55m: within the renewal margin
		{time.Hour, 2},
		{3 * time.Hour, 3},
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		if _, err := c.EnrollmentGet(ctx, "c1-e000"); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := f.authCount(); got != s.wantAuth {
			t.Errorf("step %d (+%v): %d /authenticate calls, want %d", i, s.advance, got, s.wantAuth)
		}
	}
}

// TestTokenRenewedOnceOn401: a refused token is renewed once; a second 401
// is KindAuthentication.
func TestTokenRenewedOnceOn401(t *testing.T) {
	tests := []struct {
		refuse       int
		wantErr      bool
		wantAuth     int
		wantRequests int
	}{
		{refuse: 1, wantErr: false, wantAuth: 2, wantRequests: 4},
		{refuse: 2, wantErr: true, wantAuth: 2, wantRequests: 4},
	}
	for _, tt := range tests {
		f := newFake(t)
		f.addCourse("c1", 1)
		f.refuseNext = tt.refuse
		srv := f.start()
		c := f.connect(t, srv.URL, nil, nil)
		_, err := c.EnrollmentGet(context.Background(), "c1-e000")
		if tt.wantErr != (err != nil) {
			t.Errorf("refuse %d: err %v", tt.refuse, err)
		}
		if tt.wantErr && !provider.IsKind(err, provider.KindAuthentication) {
			t.Errorf("refuse %d: got %v, want KindAuthentication", tt.refuse, err)
		}
		if got := f.authCount(); got != tt.wantAuth {
			t.Errorf("refuse %d: %d /authenticate calls, want %d", tt.refuse, got, tt.wantAuth)
		}
		if got := len(f.log); got != tt.wantRequests {
			t.Errorf("refuse %d: %d requests, want %d", tt.refuse, got, tt.wantRequests)
		}
	}
}

// TestBadCredentials: a refused login is KindAuthentication after one
// request, naming what was refused.
func TestBadCredentials(t *testing.T) {
	tests := []struct {
		name     string
		secrets  map[string]string
		wantKind provider.Kind
		wantMsg  string
	}{
		{"wrong password", map[string]string{"password": "nope"}, provider.KindAuthentication, "username or password"},
		{"wrong api key", map[string]string{"api_key": "00000000-0000-0000-0000-000000000000"}, provider.KindAuthentication, "API key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.addCourse("c1", 1)
			srv := f.start()
			secrets := map[string]string{"api_key": f.apiKey, "username": f.username, "password": f.password}
			for k, v := range tt.secrets {
				secrets[k] = v
			}
			c, err := New(provider.Config{Settings: map[string]string{"base_url": srv.URL}, Secrets: secrets, HTTP: fastHTTP()})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.EnrollmentPage(context.Background(), provider.EnrollmentPageParams{})
			if !provider.IsKind(err, tt.wantKind) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("got %v, want %s mentioning %q", err, tt.wantKind, tt.wantMsg)
			}
			if len(f.log) > 2 {
				t.Errorf("%d requests, want at most 2", len(f.log))
			}
			err = c.ConnectionTest(context.Background())
			if !provider.IsKind(err, tt.wantKind) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("ConnectionTest: got %v, want %s mentioning %q", err, tt.wantKind, tt.wantMsg)
			}
			for name, secret := range secrets {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q reveals the %s", err, name)
				}
			}
		})
	}
}

func TestConnectionTest(t *testing.T) {
	f := newFake(t)
	f.addCourse("c1", 1)
	srv := f.start()
	c := f.connect(t, srv.URL, nil, nil)
	if err := c.ConnectionTest(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(f.log) != 2 {
		t.Errorf("connection test took %d requests, want 2 (authenticate, one course)", len(f.log))
	}
	if q := f.requests("GET", "/courses")[0].Query; q.Get("_limit") != "1" {
		t.Errorf("connection test listed courses with %v", q)
	}

	f.override["GET /courses"] = func(w http.ResponseWriter, r *http.Request) {
		absorbError(w, http.StatusForbidden, "User does not have permission")
	}
	err := c.ConnectionTest(context.Background())
	if !provider.IsKind(err, provider.KindPermission) || !strings.Contains(err.Error(), "User does not have permission") {
		t.Errorf("forbidden: got %v, want KindPermission with the vendor's words", err)
	}

	srv.Close()
	down := f.connect(t, srv.URL, nil, nil)
	err = down.ConnectionTest(context.Background())
	if !provider.IsKind(err, provider.KindUnavailable) || !strings.Contains(err.Error(), "could not be reached") {
		t.Errorf("unreachable: got %v, want KindUnavailable", err)
	}
}

// walkAll lists every page from cursor, failing on a stalled cursor.
func walkAll(t *testing.T, c *Connector, params provider.EnrollmentPageParams) ([]string, []string) {
	t.Helper()
	var ids, cursors []string
	for i := 0; ; i++ {
		if i > 100 {
			t.Fatal("walk does not end")
		}
		page, err := c.EnrollmentPage(context.Background(), params)
		if err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
		if page.Total != -1 {
			t.Errorf("Total %d, want -1", page.Total)
		}
		if len(page.Enrollments) == 0 && page.NextCursor != "" {
			t.Errorf("page %d empty but not the last", i)
		}
		for _, e := range page.Enrollments {
			ids = append(ids, e.ID)
		}
		if page.NextCursor == "" {
			return ids, cursors
		}
		cursors = append(cursors, page.NextCursor)
		params.Cursor = page.NextCursor
	}
}

// TestWalk: GET /courses (paged) then each course's enrollments (paged),
// _offset being a page index (§2.5); every record once; any cursor resumes
// in a new connector.
func TestWalk(t *testing.T) {
	f := newFake(t)
	// 7 courses with page size 5: two course pages; courses without
	// enrollments are skipped; 10 is a whole number of pages.
	counts := []int{0, 7, 5, 0, 12, 10, 1}
	var want []string
	for i, n := range counts {
		id := string(rune('a'+i)) + "course"
		f.addCourse(id, n)
		for _, e := range f.enrollments[id] {
			want = append(want, e["id"].(string))
		}
	}
	srv := f.start()
	c := f.connect(t, srv.URL, nil, nil)
	got, cursors := walkAll(t, c, provider.EnrollmentPageParams{})
	if !slices.Equal(got, want) {
		t.Fatalf("walk returned %d ids %v, want %d", len(got), got, len(want))
	}
	for _, r := range f.requests("GET", "/courses") {
		if r.Query.Get("_limit") != "5" || r.Query.Get("_offset") == "" {
			t.Errorf("%s with query %v", r.Path, r.Query)
		}
	}
	// Resume from every cursor with a fresh connector (a new process).
	for i, cur := range cursors {
		fresh := f.connect(t, srv.URL, map[string]string{"page_size": "3"}, nil)
		rest, _ := walkAll(t, fresh, provider.EnrollmentPageParams{Cursor: cur})
		done := 0
		for _, id := range got {
			if id == rest[0] {
				break
			}
			done++
		}
		if !slices.Equal(append(slices.Clone(got[:done]), rest...), want) || done == 0 {
			t.Errorf("resume from cursor %d: %d records, want the %d after the first %d", i, len(rest), len(want)-done, done)
		}
	}
	if _, err := c.EnrollmentPage(context.Background(), provider.EnrollmentPageParams{Cursor: "garbage"}); !provider.IsKind(err, provider.KindInvalidRequest) {
		t.Errorf("garbage cursor: %v", err)
	}
}

// TestIncremental: ChangedSince becomes _filter=dateEdited ge datetime'…' on
// the enrollment listing (§2.5), and a cursor stays with its walk.
func TestIncremental(t *testing.T) {
	f := newFake(t)
	f.addCourse("c1", 7)
	srv := f.start()
	c := f.connect(t, srv.URL, nil, nil)
	since := time.Date(2026, 1, 2, 4, 4, 5, 0, time.FixedZone("CET", 3600))
	page, err := c.EnrollmentPage(context.Background(), provider.EnrollmentPageParams{ChangedSince: &since})
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.requests("GET", "/courses/c1/enrollments")
	if len(reqs) != 1 || reqs[0].Query.Get("_filter") != "dateEdited ge datetime'2026-01-02T03:04:05Z'" {
		t.Errorf("enrollment listing query %v", reqs)
	}
	if q := f.requests("GET", "/courses")[0].Query; q.Has("_filter") {
		t.Errorf("course listing filtered: %v", q)
	}
	if _, err := c.EnrollmentPage(context.Background(), provider.EnrollmentPageParams{Cursor: page.NextCursor}); !provider.IsKind(err, provider.KindInvalidRequest) {
		t.Errorf("incremental cursor resumed as a full walk: %v", err)
	}
	if !c.SupportsChangedSince() {
		t.Error("SupportsChangedSince false")
	}
}

// TestErrors: each answer becomes a *provider.Error of the right Kind with
// Absorb's own message (GenericErrorResponse, §2.7) and the raw body.
func TestErrors(t *testing.T) {
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		wantKind provider.Kind
		wantMsg  string
	}{
		{"404", func(w http.ResponseWriter, r *http.Request) { absorbError(w, 404, "Enrollment not found") }, provider.KindNotFound, "Enrollment not found"},
		{"422 with validations", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 422, map[string]any{"code": 422, "message": "Validation failed", "validations": []string{"Id is not a GUID"}})
		}, provider.KindInvalidRequest, "Validation failed; Id is not a GUID"},
		{"403", func(w http.ResponseWriter, r *http.Request) { absorbError(w, 403, "Forbidden") }, provider.KindPermission, "Forbidden"},
		{"500 after retries", func(w http.ResponseWriter, r *http.Request) { absorbError(w, 500, "Boom") }, provider.KindUnavailable, "Boom"},
		{"429 after retries", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "0")
			absorbError(w, 429, "Too many requests")
		}, provider.KindThrottled, "Too many requests"},
		{"malformed JSON", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"id":"c1-e0`))
		}, provider.KindUpstream, "malformed JSON"},
		{"unreadable record", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, map[string]any{"id": "x", "dateAdded": "not a date"})
		}, provider.KindUpstream, "not a date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.override["GET /enrollments/x"] = tt.handler
			srv := f.start()
			c := f.connect(t, srv.URL, nil, nil)
			c.http = newTestClient(3)
			_, err := c.EnrollmentGet(context.Background(), "x")
			var pe *provider.Error
			if !errors.As(err, &pe) || pe.Kind != tt.wantKind {
				t.Fatalf("got %v, want %s", err, tt.wantKind)
			}
			if !strings.Contains(pe.Message+" "+err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not carry %q", err, tt.wantMsg)
			}
			if pe.Provider != "absorb" || !strings.Contains(err.Error(), srv.URL+"/enrollments/x") {
				t.Errorf("error %q does not name the vendor and URL", err)
			}
			if tt.name != "unreadable record" && len(pe.Body) == 0 {
				t.Error("error without the vendor's body")
			}
		})
	}
}

// TestCancel: a cancelled context stops a call within 100 ms, also while it
// waits for another caller's /authenticate.
func TestCancel(t *testing.T) {
	f := newFake(t)
	f.authDelay = 2 * time.Second
	srv := f.start()
	c := f.connect(t, srv.URL, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	for i := 0; i < 2; i++ {
		go func() {
			_, err := c.EnrollmentGet(ctx, "x")
			done <- err
		}()
	}
	time.Sleep(50 * time.Millisecond)
	cancel()
	cancelled := time.Now()
	for i := 0; i < 2; i++ {
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("got %v, want context.Canceled", err)
			}
		case <-time.After(time.Second):
			t.Fatal("call did not return after cancel")
		}
	}
	if took := time.Since(cancelled); took > 100*time.Millisecond {
		t.Errorf("returned %v after cancel", took)
	}
}

// TestRefusedLogin: a 401 from /authenticate names what Absorb refused, from
// its own words (§2.2: the key's 401 is documented, the password's is not).
func TestRefusedLogin(t *testing.T) {
	tests := []struct{ vendor, want string }{
		{"The x-api-key header is invalid.", "API key"},
		{"The username or password is incorrect.", "username or password"},
		{"Invalid credentials", "username or password"},
		{"", "API key or the username and password"},
	}
	for _, tt := range tests {
		if got := refusedLogin(tt.vendor); !strings.HasSuffix(got, tt.want) {
			t.Errorf("refusedLogin(%q) = %q, want it to name %q", tt.vendor, got, tt.want)
		}
	}
}

// TestIsLastPage: the end of a paged list (§2.5), including a server that
// applies a smaller page size than asked, which must not end a list early.
func TestIsLastPage(t *testing.T) {
	items := func(n int) []json.RawMessage { return make([]json.RawMessage, n) }
	tests := []struct {
		name        string
		env         envelope
		index, size int
		want        bool
	}{
		{"empty page", envelope{Items: items(0), TotalItems: lms.Ptr(50)}, 3, 5, true},
		{"full page, more in total", envelope{Items: items(5), TotalItems: lms.Ptr(11)}, 1, 5, false},
		{"full page reaching the total", envelope{Items: items(5), TotalItems: lms.Ptr(10)}, 1, 5, true},
		{"short page without total", envelope{Items: items(4)}, 0, 5, true},
		{"full page without total", envelope{Items: items(5)}, 0, 5, false},
		{"server capped the size, more in total", envelope{Items: items(3), Limit: lms.Ptr(3), TotalItems: lms.Ptr(7)}, 1, 5, false},
		{"server capped the size, total reached", envelope{Items: items(1), Limit: lms.Ptr(3), TotalItems: lms.Ptr(7)}, 2, 5, true},
		{"server capped the size, no total", envelope{Items: items(3), Limit: lms.Ptr(3)}, 0, 5, false},
	}
	for _, tt := range tests {
		if got := isLastPage(&tt.env, tt.index, tt.size); got != tt.want {
			t.Errorf("%s: isLastPage = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestWalkWithCappedPageSize: a server that pages by 3 when asked for 5
// still yields every record.
func TestWalkWithCappedPageSize(t *testing.T) {
	f := newFake(t)
	f.addCourse("c1", 8)
	f.addCourse("c2", 3)
	f.override["GET /courses/c1/enrollments"] = func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		q.Set("_limit", "3")
		r.URL.RawQuery = q.Encode()
		var items []any
		for _, e := range f.enrollments["c1"] {
			items = append(items, e)
		}
		page(w, r, "enrollments", items)
	}
	srv := f.start()
	c := f.connect(t, srv.URL, nil, nil)
	got, _ := walkAll(t, c, provider.EnrollmentPageParams{})
	if len(got) != 11 {
		t.Errorf("walk returned %d records, want 11: %v", len(got), got)
	}
}

// TestTokenSharedAcrossConnectors: connectors built through one Definition
// share the token of their credential; a connector of another Definition
// takes its own, which revokes the first (§2.2), and the first recovers by
// renewing once on the 401.
func TestTokenSharedAcrossConnectors(t *testing.T) {
	f := newFake(t)
	f.addCourse("c1", 1)
	f.authDelay = 30 * time.Millisecond
	srv := f.start()
	cfg := provider.Config{
		Settings: map[string]string{"base_url": srv.URL + "/"},
		Secrets:  map[string]string{"api_key": f.apiKey, "username": f.username, "password": f.password},
		HTTP:     fastHTTP(),
	}
	d := Definition()
	var wg sync.WaitGroup
	var first provider.Reader
	for i := 0; i < 6; i++ {
		r, err := d.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		first = r
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.EnrollmentGet(context.Background(), "c1-e000"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := f.authCount(); n != 1 {
		t.Fatalf("%d /authenticate calls for 6 connectors of one Definition, want 1", n)
	}
	other, err := Definition().New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.EnrollmentGet(context.Background(), "c1-e000"); err != nil {
		t.Fatal(err)
	}
	if _, err := first.EnrollmentGet(context.Background(), "c1-e000"); err != nil {
		t.Fatalf("revoked token not renewed: %v", err)
	}
	if n := f.authCount(); n != 3 {
		t.Errorf("%d /authenticate calls, want 3 (shared, other definition, renewal after revocation)", n)
	}
}
