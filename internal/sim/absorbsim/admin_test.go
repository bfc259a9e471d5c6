package absorbsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/sim/simkit"
)

func TestThrottling(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		cfg        Config
		retryAfter string
	}{
		// providers.md §2.7: 429 over the rate; Retry-After is UNCERTAIN, on by default with 1 s.
		{"default retry-after", Config{}, "1"},
		{"longer retry-after", Config{RetryAfter: 3 * time.Second}, "3"},
		{"no retry-after", Config{NoRetryAfter: true}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := setup(t, tc.cfg)
			if err := h.sim.Kit().SetFaults(simkit.Faults{RateLimit: 1}); err != nil {
				t.Fatal(err)
			}
			var throttled response
			for i := 0; i < 5; i++ {
				if r := h.do("GET", "/courses", nil); r.status == http.StatusTooManyRequests {
					throttled = r
					break
				}
			}
			if throttled.status != http.StatusTooManyRequests {
				t.Fatal("never throttled")
			}
			throttled.errorBody(t)
			if got := throttled.header.Get("Retry-After"); got != tc.retryAfter {
				t.Fatalf("Retry-After %q, want %q", got, tc.retryAfter)
			}
		})
	}
}

func TestServerErrorsUseTheVendorBody(t *testing.T) {
	t.Parallel()
	h := setup(t, Config{})
	if err := h.sim.Kit().SetFaults(simkit.Faults{FailRate: 1}); err != nil {
		t.Fatal(err)
	}
	r := h.do("GET", "/courses", nil)
	if r.status != 500 {
		t.Fatalf("status %d", r.status)
	}
	r.errorBody(t)
}

func TestAdminChangesShowOnVendorRoutes(t *testing.T) {
	t.Parallel()
	h := setup(t, Config{})
	admin := func(method, path, body string) response {
		t.Helper()
		r := h.raw(method, path, body, nil)
		if r.status >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, r.status, r.body)
		}
		return r
	}
	// The clock moves forward; later writes carry the new time.
	admin("POST", "/_sim/clock", `{"advance":"2h"}`)
	later := testNow.Add(2 * time.Hour).Format("2006-01-02T15:04:05")
	// Mutate: every change is visible to an incremental filter on dateEdited
	// (providers.md §2.5 "Modified-since").
	var changes []change
	if err := json.Unmarshal(admin("POST", "/_sim/mutate", `{"count":40,"seed":9}`).body, &changes); err != nil {
		t.Fatal(err)
	}
	if len(changes) < 40 {
		t.Fatalf("%d changes for count 40", len(changes))
	}
	changed := map[string]string{}
	for _, c := range changes {
		changed[c.ID] = c.Change
	}
	seen := map[string]bool{}
	for _, c := range h.courses() {
		for _, e := range h.allOfCourse(c.ID, "&_filter="+q("dateEdited ge datetime'"+later+"'")) {
			seen[e.ID] = true
			if _, ok := changed[e.ID]; !ok {
				t.Fatalf("%s is newer than the mutation but not reported", e.ID)
			}
		}
	}
	for id, kind := range changed {
		gone := h.do("GET", "/enrollments/"+id, nil).status == 404
		if kind == "unenrolled" {
			if !gone || seen[id] {
				t.Fatalf("un-enrolled %s is still served", id)
			}
			continue
		}
		if !seen[id] && !gone {
			t.Fatalf("changed %s (%s) not found by dateEdited ge %s", id, kind, later)
		}
	}
	// The same mutate seed from the same state makes the same kinds of change.
	kinds := map[string]bool{}
	for _, c := range changes {
		kinds[c.Change] = true
	}
	if len(kinds) < 3 {
		t.Fatalf("mutate made only %v", kinds)
	}
	// Delete makes a row vanish from every route.
	victim := h.allOfCourse(h.courses()[0].ID, "")[0]
	admin("DELETE", "/_sim/enrollments/"+victim.ID, "")
	h.must(404, "GET", "/enrollments/"+victim.ID, nil)
	for _, id := range h.sim.EnrollmentIDs() {
		if id == victim.ID {
			t.Fatal("deleted id still in EnrollmentIDs")
		}
	}
	if r := h.raw("DELETE", "/_sim/enrollments/"+victim.ID, "", nil); r.status != 404 {
		t.Fatalf("second delete: %d", r.status)
	}
	// Stats count records and vendor routes by pattern.
	var stats simkit.Stats
	if err := json.Unmarshal(admin("GET", "/_sim/stats", "").body, &stats); err != nil {
		t.Fatal(err)
	}
	if stats.Records["enrollments"] != len(h.sim.EnrollmentIDs()) || stats.Records["history_enrollments"] == 0 {
		t.Fatalf("records %v", stats.Records)
	}
	if h.sim.Kit().RouteCount("GET /courses/{courseId}/enrollments") == 0 {
		t.Fatalf("route not counted: %v", stats.Requests)
	}
}

func TestRouteTable(t *testing.T) {
	t.Parallel()
	if err := checkRoutes(DefaultRoutes()); err != nil {
		t.Fatal(err)
	}
	// A corrected path from the real OpenAPI file replaces the guess
	// (providers.md §2.8 "make every path configurable").
	routes := DefaultRoutes()
	for i := range routes {
		if routes[i].Op == OpUnenroll {
			routes[i].Method, routes[i].Path = "DELETE", "/enrollments"
		}
	}
	h := setup(t, Config{Routes: routes})
	id := h.sim.EnrollmentIDs()[0]
	h.must(204, "DELETE", "/enrollments", []string{id})
	h.must(404, "POST", "/enrollments/unenroll", []string{id})
	bad := []struct {
		name   string
		mutate func([]Route) []Route
		want   string
	}{
		{"missing op", func(r []Route) []Route { return r[1:] }, "operations listed"},
		{"duplicate op", func(r []Route) []Route { return append(r, r[0]) }, "twice"},
		{"renamed wildcard", func(r []Route) []Route {
			for i := range r {
				if r[i].Op == OpGetEnrollment {
					r[i].Path = "/enrollments/{enrollmentId}"
				}
			}
			return r
		}, "wildcards"},
		{"unknown op", func(r []Route) []Route { return append(r, Route{Op: "Nope", Method: "GET", Path: "/x"}) }, "unknown operation"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Config{Routes: tc.mutate(DefaultRoutes()), Enrollments: 10})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
	}{
		{"more enrollments than pairs", Config{Users: 2, Courses: 2, Enrollments: 5}},
		{"api key not a GUID", Config{APIKey: "secret"}},
		{"bad faults", Config{Faults: simkit.Faults{FailRate: 2}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg); err == nil {
				t.Fatal("no error")
			}
		})
	}
	s, err := New(Config{Enrollments: 100})
	if err != nil {
		t.Fatal(err)
	}
	creds := s.Credentials()
	if len(creds) != 3 || creds[0].Name != "api_key" || creds[0].Value != DefaultAPIKey || creds[1].Value != "admin" {
		t.Fatalf("credentials %+v", creds)
	}
}

func TestMalformedFaultCutsTheBody(t *testing.T) {
	t.Parallel()
	h := setup(t, Config{})
	if err := h.sim.Kit().SetFaults(simkit.Faults{MalformedRate: 1}); err != nil {
		t.Fatal(err)
	}
	r := h.do("GET", "/courses", nil)
	var v any
	if r.status != 200 || json.Unmarshal(r.body, &v) == nil {
		t.Fatalf("status %d, body parses: %.80s", r.status, r.body)
	}
}

// Readers, writers and the admin API at once: run with -race.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	h := setup(t, Config{})
	courses := h.courses()
	var users userPage
	h.must(200, "GET", "/users?_limit=50", nil).decode(t, &users)
	done := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 25; i++ {
				c := courses[(g+i)%len(courses)]
				u := users.Users[(g*7+i)%len(users.Users)]
				var r response
				switch i % 4 {
				case 0:
					r = h.do("GET", "/courses/"+c.ID+"/enrollments?_limit=100&_filter="+q("status eq 3"), nil)
				case 1:
					r = h.do("POST", "/users/"+u.ID+"/enrollments/"+c.ID+"?reEnroll=true", nil)
				case 2:
					r = h.raw("POST", "/_sim/mutate", `{"count":3,"seed":`+itoa(g*100+i)+`}`, nil)
				default:
					r = h.do("GET", "/users/"+u.ID+"/enrollments", nil)
				}
				if r.status >= 300 {
					done <- fmt.Errorf("status %d: %s", r.status, r.body)
					return
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
