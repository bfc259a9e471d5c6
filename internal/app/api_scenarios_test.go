package app_test

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/api"
	"github.com/registrarhq/registrar/internal/app"
	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/store"
)

const canvasToken = "super-secret-canvas-token-7f3a"

func canvasConnection(name string) map[string]any {
	return map[string]any{
		"provider":    "canvas",
		"name":        name,
		"tenant":      "acme",
		"settings":    map[string]string{"base_url": "https://acme.instructure.com", "account_id": "1"},
		"credentials": map[string]string{"token": canvasToken},
	}
}

// scenario is one request and what must come back (PocketBase's ApiScenario).
type scenario struct {
	name       string
	method     string
	path       string
	key        string // "rw", "ro", "bad" or "" for none
	body       any
	wantStatus int
	// wantType is the problem type suffix for errors.
	wantType    string
	wantContain []string
	wantAbsent  []string
}

func (s *server) run(t *testing.T, sc scenario) *response {
	t.Helper()
	key := map[string]string{"rw": s.Key, "ro": s.ReadKey, "bad": "rk_not_a_real_key", "": ""}[sc.key]
	res := s.do(sc.method, sc.path, key, sc.body)
	if res.Status != sc.wantStatus {
		t.Fatalf("%s %s: status %d, want %d\n%s", sc.method, sc.path, res.Status, sc.wantStatus, res.Body)
	}
	if sc.wantStatus >= 400 {
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
			t.Fatalf("error content type %q, want application/problem+json\n%s", ct, res.Body)
		}
		m := res.JSON(t)
		for _, member := range []string{"type", "title", "status", "detail"} {
			if _, ok := m[member]; !ok {
				t.Fatalf("problem lacks %q: %s", member, res.Body)
			}
		}
		if sc.wantType != "" && m["type"] != "https://registrar.dev/problems/"+sc.wantType {
			t.Fatalf("problem type %v, want %s\n%s", m["type"], sc.wantType, res.Body)
		}
		if int(m["status"].(float64)) != sc.wantStatus {
			t.Fatalf("problem status member %v", m["status"])
		}
	}
	for _, w := range sc.wantContain {
		if !bytes.Contains(res.Body, []byte(w)) {
			t.Fatalf("body lacks %q:\n%s", w, res.Body)
		}
	}
	for _, w := range sc.wantAbsent {
		if bytes.Contains(res.Body, []byte(w)) {
			t.Fatalf("body contains %q:\n%s", w, res.Body)
		}
	}
	return res
}

func TestConnectionsAPI(t *testing.T) { testConnectionsAPI(t, startServer) }

// testConnectionsAPI runs on a server from start (SQLite or PostgreSQL,
// see scenarios_pg_test.go).
func testConnectionsAPI(t *testing.T, start func(*testing.T) *server) {
	s := start(t)
	created := s.run(t, scenario{method: "POST", path: "/v1/connections", key: "rw", body: canvasConnection("acme-canvas"),
		wantStatus: 201, wantContain: []string{`"credentials":{"token":true}`, `"provider":"canvas"`, `"sync_interval":"15m0s"`},
		wantAbsent: []string{canvasToken}})
	id := created.JSON(t)["id"].(string)

	scenarios := []scenario{
		{name: "get without secret", method: "GET", path: "/v1/connections/" + id, key: "ro", wantStatus: 200,
			wantContain: []string{`"name":"acme-canvas"`, `"token":true`}, wantAbsent: []string{canvasToken}},
		{name: "list", method: "GET", path: "/v1/connections?tenant=acme", key: "ro", wantStatus: 200, wantContain: []string{id},
			wantAbsent: []string{canvasToken}},
		{name: "no key", method: "GET", path: "/v1/connections", wantStatus: 401, wantType: "unauthenticated"},
		{name: "wrong key", method: "GET", path: "/v1/connections", key: "bad", wantStatus: 401, wantType: "unauthenticated"},
		{name: "read-only key writes", method: "POST", path: "/v1/connections", key: "ro", body: canvasConnection("x"),
			wantStatus: 403, wantType: "read-only-key"},
		{name: "unknown id", method: "GET", path: "/v1/connections/con_nope", key: "ro", wantStatus: 404, wantType: "not-found"},
		{name: "duplicate name", method: "POST", path: "/v1/connections", key: "rw", body: canvasConnection("acme-canvas"),
			wantStatus: 409, wantType: "conflict"},
		{name: "unknown provider", method: "POST", path: "/v1/connections", key: "rw",
			body: map[string]any{"provider": "moodle", "name": "m"}, wantStatus: 400, wantType: "validation",
			wantContain: []string{`"location":"body.provider"`}},
		{name: "missing settings", method: "POST", path: "/v1/connections", key: "rw",
			body:       map[string]any{"provider": "canvas", "name": "n", "credentials": map[string]string{"token": canvasToken}},
			wantStatus: 400, wantType: "validation", wantContain: []string{"body.base_url"}, wantAbsent: []string{canvasToken}},
		{name: "bad base url", method: "POST", path: "/v1/connections", key: "rw",
			body: map[string]any{"provider": "canvas", "name": "n", "settings": map[string]string{"base_url": "not a url"},
				"credentials": map[string]string{"token": "t"}}, wantStatus: 400, wantType: "validation",
			wantContain: []string{"absolute http or https URL"}},
		{name: "credential in settings", method: "POST", path: "/v1/connections", key: "rw",
			body:       map[string]any{"provider": "canvas", "name": "n", "settings": map[string]string{"base_url": "https://x", "token": canvasToken}},
			wantStatus: 400, wantType: "validation", wantContain: []string{"is a credential"}, wantAbsent: []string{canvasToken}},
		{name: "unknown field", method: "POST", path: "/v1/connections", key: "rw",
			body: `{"provider":"canvas","name":"n","surprise":1}`, wantStatus: 400, wantContain: []string{"surprise"}},
		{name: "wrong type", method: "POST", path: "/v1/connections", key: "rw",
			body: `{"provider":"canvas","name":42}`, wantStatus: 400, wantContain: []string{"body.name"}},
		{name: "bad json", method: "POST", path: "/v1/connections", key: "rw", body: `{"provider":`, wantStatus: 400},
		{name: "bad json with a secret is not echoed", method: "POST", path: "/v1/connections", key: "rw",
			body: `{"credentials":{"token":"` + canvasToken + `"}, "name": 5}`, wantStatus: 400, wantAbsent: []string{canvasToken}},
		{name: "interval too short", method: "PATCH", path: "/v1/connections/" + id, key: "rw",
			body: map[string]any{"sync_interval": "10s"}, wantStatus: 400, wantContain: []string{"at least 1m"}},
		{name: "body over 1 MiB", method: "POST", path: "/v1/connections", key: "rw",
			body: `{"name":"` + strings.Repeat("a", 1<<20+10) + `"}`, wantStatus: 413, wantType: "body-too-large"},
		{name: "patch", method: "PATCH", path: "/v1/connections/" + id, key: "rw",
			body:       map[string]any{"name": "renamed", "sync_interval": "1h", "settings": map[string]any{"account_id": "7"}},
			wantStatus: 200, wantContain: []string{`"name":"renamed"`, `"sync_interval":"1h0m0s"`, `"account_id":"7"`, `"token":true`}},
		{name: "providers", method: "GET", path: "/v1/providers", key: "ro", wantStatus: 200,
			wantContain: []string{`"name":"canvas"`, `"name":"absorb"`, `"name":"digitalchalk"`, `"sync":"incremental"`}},
		{name: "capabilities", method: "GET", path: "/v1/capabilities", key: "ro", wantStatus: 200,
			wantContain: []string{`"writes":[`, `"enroll"`}},
		{name: "unknown route", method: "GET", path: "/v1/nothing-here", key: "ro", wantStatus: 404, wantType: "not-found"},
		{name: "wrong method", method: "PUT", path: "/v1/connections", key: "rw", wantStatus: 405, wantType: "method-not-allowed"},
		{name: "healthz needs no key", method: "GET", path: "/healthz", wantStatus: 200},
		{name: "readyz", method: "GET", path: "/readyz", wantStatus: 200, wantContain: []string{"ready"}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) { s.run(t, sc) })
	}

	// A bad request changes nothing.
	list := s.do("GET", "/v1/connections", s.Key, nil)
	if n := strings.Count(string(list.Body), `"id":"con_`); n != 1 {
		t.Fatalf("after bad requests there are %d connections, want 1:\n%s", n, list.Body)
	}
	metrics := s.do("GET", "/metrics", "", nil)
	if !bytes.Contains(metrics.Body, []byte(`registrar_http_requests_total{method="POST",route="/v1/connections",status="409"} 1`)) {
		t.Fatalf("metrics lack the request counter by route and status:\n%s", metrics.Body)
	}
	s.run(t, scenario{method: "DELETE", path: "/v1/connections/" + id, key: "rw", wantStatus: 204})
	s.run(t, scenario{method: "DELETE", path: "/v1/connections/" + id, key: "rw", wantStatus: 404, wantType: "not-found"})
}

func TestUnauthenticatedAnswerNamesTheScheme(t *testing.T) {
	s := startServer(t)
	res := s.do("GET", "/v1/course-enrollments", "", nil)
	if res.Status != 401 || res.Header.Get("WWW-Authenticate") != `Bearer realm="registrar"` {
		t.Fatalf("status %d, WWW-Authenticate %q", res.Status, res.Header.Get("WWW-Authenticate"))
	}
}

func TestNoCredentialInTheDatabaseFile(t *testing.T) {
	s := startServer(t)
	s.run(t, scenario{method: "POST", path: "/v1/connections", key: "rw", body: canvasConnection("acme"), wantStatus: 201})
	s.run(t, scenario{method: "PATCH", path: "/v1/connections/" + mustConnectionID(t, s, "acme"), key: "rw",
		body: map[string]any{"credentials": map[string]string{"token": canvasToken + "-rotated"}}, wantStatus: 200,
		wantAbsent: []string{canvasToken}})
	s.shutdown() // flush the WAL into the file
	files, _ := filepath.Glob(filepath.Join(s.DataDir, "registrar.db*"))
	if len(files) == 0 {
		t.Fatal("no database file")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte(canvasToken)) {
			t.Fatalf("%s contains the credential in clear text", f)
		}
	}
}

func mustConnectionID(t *testing.T, s *server, name string) string {
	t.Helper()
	c, err := s.App.Store.ConnectionGetByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// seedEnrollments stores records directly (sync comes from the sync engine;
// here the store is the fixture).
func seedEnrollments(t *testing.T, s *server, connID, provider string, n int, mutate func(i int, e *lms.CourseEnrollment)) []string {
	t.Helper()
	var rows []store.Enrollment
	var keys []string
	now := time.Now().UTC()
	for i := 0; i < n; i++ {
		e := lms.CourseEnrollment{
			ID: fmt.Sprintf("e%04d", i), ConnectionID: connID, Provider: provider, Status: lms.StatusEnrolled,
			User:   &lms.User{ID: fmt.Sprintf("u%d", i%7), Name: "Zoë Ångström", Emails: []lms.Email{{Email: fmt.Sprintf("user%d@example.com", i%7)}}},
			Course: &lms.Course{ID: fmt.Sprintf("c%d", i%3), Title: "Safety"},
		}
		if mutate != nil {
			mutate(i, &e)
		}
		rows = append(rows, store.Enrollment{Record: e, ContentHash: "h" + e.ID, ChangedAt: now})
		keys = append(keys, connID+"/"+e.ID)
	}
	if err := s.App.Store.InTx(context.Background(), func(tx store.Tx) error { return tx.EnrollmentUpsertMany(context.Background(), rows) }); err != nil {
		t.Fatal(err)
	}
	return keys
}

func TestEnrollmentListFiltersAndCursorWalk(t *testing.T) {
	testEnrollmentListFiltersAndCursorWalk(t, startServer)
}

func testEnrollmentListFiltersAndCursorWalk(t *testing.T, start func(*testing.T) *server) {
	s := start(t)
	s.run(t, scenario{method: "POST", path: "/v1/connections", key: "rw", body: canvasConnection("a"), wantStatus: 201})
	dc := map[string]any{"provider": "digitalchalk", "name": "b", "tenant": "globex",
		"settings": map[string]string{"base_url": "https://api.digitalchalk.com/dc/api/v5"}, "credentials": map[string]string{"token": "t"}}
	s.run(t, scenario{method: "POST", path: "/v1/connections", key: "rw", body: dc, wantStatus: 201})
	a, b := mustConnectionID(t, s, "a"), mustConnectionID(t, s, "b")
	past := time.Now().Add(-48 * time.Hour).UTC()
	all := seedEnrollments(t, s, a, "canvas", 130, func(i int, e *lms.CourseEnrollment) {
		if i%10 == 0 {
			e.Status, e.DueAt = lms.StatusInProgress, &past
		}
		if i%25 == 0 {
			e.Status, e.RemoteDeletedAt = lms.StatusWithdrawn, &past
		}
	})
	all = append(all, seedEnrollments(t, s, b, "digitalchalk", 45, func(i int, e *lms.CourseEnrollment) { e.Status = lms.StatusPassed })...)
	var live []string
	for _, k := range all {
		var i int
		fmt.Sscanf(k[strings.Index(k, "/e")+2:], "%d", &i)
		if strings.HasPrefix(k, a) && i%25 == 0 {
			continue
		}
		live = append(live, k)
	}
	sort.Strings(live)

	// Walk every page with the cursor: each live row exactly once.
	for _, limit := range []int{1, 7, 50, 1000} {
		var got []string
		cursor := ""
		for pages := 0; ; pages++ {
			q := url.Values{"limit": {fmt.Sprint(limit)}}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			res := s.do("GET", "/v1/course-enrollments?"+q.Encode(), s.ReadKey, nil)
			if res.Status != 200 {
				t.Fatalf("page: %d %s", res.Status, res.Body)
			}
			m := res.JSON(t)
			for _, d := range m["data"].([]any) {
				r := d.(map[string]any)
				got = append(got, r["connection_id"].(string)+"/"+r["id"].(string))
			}
			next, _ := m["next_cursor"].(string)
			if next == "" {
				break
			}
			cursor = next
			if pages > 1000 {
				t.Fatal("cursor walk does not end")
			}
		}
		if strings.Join(got, ",") != strings.Join(live, ",") {
			t.Fatalf("limit %d: walk returned %d rows, want %d, each once", limit, len(got), len(live))
		}
	}

	count := func(query string) int {
		t.Helper()
		res := s.do("GET", "/v1/course-enrollments?limit=1000&"+query, s.ReadKey, nil)
		if res.Status != 200 {
			t.Fatalf("%s: %d %s", query, res.Status, res.Body)
		}
		return len(res.JSON(t)["data"].([]any))
	}
	filterCases := []struct {
		query string
		want  int
	}{
		{"", 169},
		{"include_deleted=true", 175},
		{"connection_id=" + b, 45},
		{"provider=canvas", 124},
		{"provider=canvas,digitalchalk", 169},
		{"provider=canvas&provider=digitalchalk", 169},
		{"tenant=globex", 45},
		{"user_id=u0", 25},
		{"user_email=USER0@example.com", 25},
		{"course_id=c1", 56},
		{"status=overdue", 10},
		{"status=passed&status=overdue", 55},
		{"status=enrolled", 114},
		{"due_before=" + url.QueryEscape(time.Now().UTC().Format(time.RFC3339)), 10},
		{"updated_after=" + url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339)), 0},
	}
	for _, fc := range filterCases {
		if got := count(fc.query); got != fc.want {
			t.Errorf("filter %q: %d rows, want %d", fc.query, got, fc.want)
		}
	}

	one := s.do("GET", "/v1/connections/"+a+"/course-enrollments/e0010", s.ReadKey, nil)
	if one.Status != 200 || !bytes.Contains(one.Body, []byte(`"status":"overdue"`)) {
		t.Fatalf("a past-due open record reads as overdue: %d %s", one.Status, one.Body)
	}

	bad := []scenario{
		{method: "GET", path: "/v1/course-enrollments?status=bogus", key: "ro", wantStatus: 400, wantType: "validation", wantContain: []string{"query.status"}},
		{method: "GET", path: "/v1/course-enrollments?limit=5000", key: "ro", wantStatus: 400},
		{method: "GET", path: "/v1/course-enrollments?limit=0", key: "ro", wantStatus: 400},
		{method: "GET", path: "/v1/course-enrollments?provider=moodle", key: "ro", wantStatus: 400},
		{method: "GET", path: "/v1/course-enrollments?updated_after=yesterday", key: "ro", wantStatus: 400},
		{method: "GET", path: "/v1/course-enrollments?cursor=not-a-cursor", key: "ro", wantStatus: 400, wantContain: []string{"query.cursor"}},
		{method: "GET", path: "/v1/connections/con_nope/course-enrollments", key: "ro", wantStatus: 404},
		{method: "GET", path: "/v1/connections/" + a + "/course-enrollments/nope", key: "ro", wantStatus: 404},
	}
	for _, sc := range bad {
		t.Run(sc.path, func(t *testing.T) { s.run(t, sc) })
	}
	// A cursor replayed with other filters is refused, not silently misused.
	first := s.do("GET", "/v1/course-enrollments?limit=5", s.ReadKey, nil).JSON(t)
	cur := first["next_cursor"].(string)
	s.run(t, scenario{method: "GET", path: "/v1/course-enrollments?limit=5&provider=canvas&cursor=" + cur, key: "ro",
		wantStatus: 400, wantContain: []string{"other filters"}})
}

// Settings only a connector can judge (ranges, enums) are refused at create
// time, not at the first sync.
func TestConnectorSettingsCheckedOnCreate(t *testing.T) {
	s := startServer(t)
	body := canvasConnection("bad-page")
	body["settings"].(map[string]string)["per_page"] = "5000"
	res := s.run(t, scenario{method: "POST", path: "/v1/connections", key: "rw", body: body, wantStatus: 400, wantType: "validation",
		wantAbsent: []string{canvasToken}})
	if !bytes.Contains(res.Body, []byte("per_page")) {
		t.Fatalf("problem does not name per_page: %s", res.Body)
	}
}

// A process started without the key the credentials were sealed with must
// refuse, not make a new key and lose them.
func TestMissingSecretKeyIsRefused(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	key := "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	a, err := app.New(ctx, app.Config{DataDir: dir, SecretKey: key})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.API.ConnectionCreate(ctx, api.ConnectionCreateParams{Provider: "canvas", Name: "c",
		Settings: map[string]string{"base_url": "https://x.example"}, Credentials: map[string]string{"token": "t"}}); err != nil {
		t.Fatal(err)
	}
	a.Close()
	if _, err := app.New(ctx, app.Config{DataDir: dir}); err == nil || !strings.Contains(err.Error(), "REGISTRAR_SECRET_KEY") {
		t.Fatalf("opened without the key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "secret.key")); !os.IsNotExist(err) {
		t.Fatalf("a new key file was made: %v", err)
	}
	b, err := app.New(ctx, app.Config{DataDir: dir, SecretKey: key})
	if err != nil {
		t.Fatalf("reopen with the key: %v", err)
	}
	b.Close()
}
