package dcsim

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/sim/simkit"
)

func TestFaultAnswers(t *testing.T) {
	cases := []struct {
		name     string
		faults   simkit.Faults
		requests int
		want     int
		message  string
	}{
		// providers.md §3.4: rate limits are undocumented (UNCERTAIN); the sim answers 429 errors[].
		{"throttled", simkit.Faults{RateLimit: 0.001}, 3, 429, "Too many requests"},
		// providers.md §3.4: server failures keep the errors[] shape.
		{"failed", simkit.Faults{FailRate: 1}, 1, 500, "unexpected"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := setup(t, Config{Faults: c.faults})
			var last response
			for range c.requests {
				last = f.call(t, "GET", "/registrations", nil)
			}
			if last.status != c.want {
				t.Fatalf("status %d, want %d", last.status, c.want)
			}
			e := last.errors(t)
			if len(e.Errors) != 1 || !strings.Contains(e.Errors[0], c.message) {
				t.Fatalf("body %s", last.body)
			}
		})
	}
}

func TestAdminMutate(t *testing.T) {
	f := setup(t, Config{})
	before := map[string]registrationJSON{}
	for _, r := range f.walk(t, "/registrations?limit=100") {
		before[r.ID] = r
	}
	f.clock.Advance(time.Minute)
	res := f.call(t, "POST", f.url+"/_sim/mutate", map[string]any{"count": 40, "seed": 3})
	if res.status != 200 {
		t.Fatalf("mutate: %d %s", res.status, res.body)
	}
	var changes []Change
	res.json(t, &changes)
	if len(changes) != 40 {
		t.Fatalf("%d changes, want 40", len(changes))
	}
	kinds := map[string]int{}
	after := map[string]registrationJSON{}
	for _, r := range f.walk(t, "/registrations?limit=100") {
		after[r.ID] = r
	}
	now := testNow.Add(time.Minute).Format(dateLayout)
	for _, c := range changes {
		kinds[c.Change]++
		got, ok := after[c.ID]
		if !ok {
			t.Fatalf("changed registration %s not listed", c.ID)
		}
		if got.Status != c.Status {
			// A later change in the same batch may have moved it on.
			continue
		}
		old, existed := before[c.ID]
		switch c.Change {
		case "registered", "retake": // new active registration (seed 001: several per pair with retakes)
			if existed || got.Status != "active" || got.CreatedDate != now {
				t.Errorf("%s: %+v (existed %v)", c.Change, got, existed)
			}
		case "began":
			if got.BeginDate == "" || old.BeginDate != "" {
				t.Errorf("began: %+v → %+v", old, got)
			}
		case "passed", "failed": // seed 001: on completion status becomes passed or failed
			if got.Grade == nil || got.EndDate != now || (existed && old.Status != "active") {
				t.Errorf("%s: %+v → %+v", c.Change, old, got)
			}
		case "ejected":
			if got.Grade != nil || got.EndDate != now || (existed && old.Status != "active") {
				t.Errorf("ejected: %+v → %+v", old, got)
			}
		}
	}
	if kinds["registered"]+kinds["retake"] == 0 || kinds["passed"]+kinds["failed"] == 0 {
		t.Fatalf("too little variety: %v", kinds)
	}

	// The same seed on the same data gives the same changes.
	g := setup(t, Config{})
	g.clock.Advance(time.Minute)
	again, err := g.sim.Mutate(40, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again.([]Change), changes) {
		t.Fatal("Mutate is not reproducible from its seed")
	}
}

func TestAdminDelete(t *testing.T) {
	f := setup(t, Config{})
	victim := f.find(t, "a learner's registration", func(r *registration, _ *offering) bool { return len(f.sim.byUser[r.user]) > 1 })
	id := victim.id.String()
	user, offeringID := f.userID(victim.user), f.offeringID(victim.offering)
	if res := f.call(t, "DELETE", f.url+"/_sim/enrollments/"+id, nil); res.status != 204 {
		t.Fatalf("delete: %d %s", res.status, res.body)
	}
	// Gone from every route.
	if res := f.call(t, "GET", "/registrations/"+id, nil); res.status != 404 {
		t.Fatalf("GET after delete: %d", res.status)
	}
	if res := f.call(t, "PUT", "/registrations/"+id, map[string]int{"grade": 50}); res.status != 404 {
		t.Fatalf("PUT after delete: %d", res.status)
	}
	for _, path := range []string{"/registrations?limit=100", "/registrations?userId=" + user, "/registrations?offeringId=" + offeringID + "&limit=100"} {
		if slices.Contains(ids(f.walk(t, path)), id) {
			t.Fatalf("%s still lists the deleted registration", path)
		}
	}
	if slices.Contains(f.sim.EnrollmentIDs(), id) {
		t.Fatal("EnrollmentIDs still has it")
	}
	if res := f.call(t, "DELETE", f.url+"/_sim/enrollments/"+id, nil); res.status != 404 {
		t.Fatalf("second delete: %d", res.status)
	}
}

func TestClockPassingOfferingEndGradesActiveRegistrations(t *testing.T) {
	f := setup(t, Config{})
	now := testNow.Unix()
	oi, o := f.findOffering(t, "running with active registrations", func(oi int32, o *offering) bool {
		if o.end == 0 || o.end <= now {
			return false
		}
		for _, ri := range f.sim.byOffering[oi] {
			if f.sim.regs[ri].status == statusActive {
				return true
			}
		}
		return false
	})
	list := func() []registrationJSON { return f.walk(t, "/registrations?limit=100&offeringId="+f.offeringID(oi)) }
	before := list()
	var activeIDs []string
	for _, r := range before {
		if r.Status == "active" {
			activeIDs = append(activeIDs, r.ID)
		}
	}

	// providers.md §3.5: when the offering's endDate passes, users still in progress are halted and graded.
	advance := time.Duration(o.end-now+1) * time.Second
	res := f.call(t, "POST", f.url+"/_sim/clock", map[string]string{"advance": advance.String()})
	if res.status != 200 {
		t.Fatalf("clock: %d %s", res.status, res.body)
	}
	after := map[string]registrationJSON{}
	for _, r := range list() {
		after[r.ID] = r
	}
	end := formatDate(o.end)
	for _, id := range activeIDs {
		r := after[id]
		if (r.Status != "passed" && r.Status != "failed") || r.Grade == nil || r.EndDate != end || r.GraderID != "" {
			t.Fatalf("active registration after the end: %+v", r)
		}
		if wantPass := *r.Grade >= o.passingGrade; wantPass != (r.Status == "passed") {
			t.Fatalf("grade %v vs pass mark %v gave %s", *r.Grade, o.passingGrade, r.Status)
		}
	}
	for _, r := range before {
		if r.Status != "active" && !equalJSON(t, r, after[r.ID]) {
			t.Fatalf("finished registration changed: %+v → %+v", r, after[r.ID])
		}
	}
	// And the offering no longer takes registrations.
	body := map[string]string{"userId": f.userID(f.freeLearner(t, oi)), "offeringId": f.offeringID(oi)}
	if res := f.call(t, "POST", "/registrations", body); res.status != 400 {
		t.Fatalf("POST after the end: %d", res.status)
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestDataCoverage(t *testing.T) {
	f := setup(t, Config{})
	now := testNow.Unix()
	// Every state a connector must map (seed 000 statuses, providers.md §3.3/§3.5, DESIGN status table).
	checks := []struct {
		name string
		fits func(r *registration, o *offering) bool
	}{
		{"active without beginDate", func(r *registration, _ *offering) bool { return r.status == statusActive && r.begin == 0 }},
		{"active with beginDate", func(r *registration, _ *offering) bool { return r.status == statusActive && r.begin != 0 }},
		{"passed", func(r *registration, _ *offering) bool { return r.status == statusPassed }},
		{"failed", func(r *registration, _ *offering) bool { return r.status == statusFailed }},
		{"ejected", func(r *registration, _ *offering) bool { return r.status == statusEjected }},
		{"graded by hand", func(r *registration, _ *offering) bool { return r.grader >= 0 }},
		{"graded by the course", func(r *registration, _ *offering) bool { return r.hasGrade && r.grader < 0 }},
		{"in a closed offering", func(r *registration, o *offering) bool { return o.regEnd != 0 && o.regEnd < now && o.end > now }},
		{"in an ended offering", func(r *registration, o *offering) bool { return o.end != 0 && o.end < now }},
		{"a retake", func(r *registration, o *offering) bool {
			n := 0
			for _, ri := range f.sim.byUser[r.user] {
				if f.sim.regs[ri].offering == r.offering {
					n++
				}
			}
			return n > 1 && o.allowRetake
		}},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) { f.find(t, c.name, c.fits) })
	}
	t.Run("invariants", func(t *testing.T) {
		type pair struct{ u, o int32 }
		activeByPair := map[pair]int{}
		completedByPair := map[pair]int{}
		for _, ri := range f.sim.live {
			r := &f.sim.regs[ri]
			o := &f.sim.offerings[r.offering]
			p := pair{r.user, r.offering}
			if r.status == statusActive {
				activeByPair[p]++
				if o.end != 0 && o.end <= now {
					t.Fatalf("active registration in an ended offering")
				}
				if r.end != 0 || r.hasGrade {
					t.Fatalf("active registration with end or grade")
				}
			}
			if r.status == statusPassed || r.status == statusFailed {
				completedByPair[p]++
			}
			if r.created > now || r.end > now || r.lastActive > now || r.begin > now {
				t.Fatalf("a date after the clock: %+v", r)
			}
			if r.user == 0 {
				t.Fatal("the API account holds a registration")
			}
		}
		for p, n := range activeByPair {
			if n > 1 {
				t.Fatalf("pair %v has %d active registrations", p, n)
			}
		}
		for p, n := range completedByPair {
			if o := f.sim.offerings[p.o]; !o.allowRetake && (n > 1 || activeByPair[p] > 0) {
				t.Fatalf("pair %v completed %d times without retakes", p, n)
			}
		}
	})
}

func TestDeterministicData(t *testing.T) {
	clock := simkit.NewFixedClock(testNow)
	mk := func(seed uint64) []string {
		s, err := New(Config{Seed: seed, Users: 20, Courses: 10, Enrollments: 200, Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		return s.EnrollmentIDs()
	}
	if a, b := mk(1), mk(1); !slices.Equal(a, b) {
		t.Fatal("same seed, different data")
	}
	if a, b := mk(1), mk(2); slices.Equal(a, b) {
		t.Fatal("different seeds, same data")
	}
}

func TestConfig(t *testing.T) {
	cases := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"defaults", Config{}, ""},
		{"one user is only the API account", Config{Users: 1}, "users"},
		{"negative enrollments", Config{Enrollments: -1}, "enrollments"},
		{"negative courses", Config{Courses: -3}, "courses"},
		{"relative prefix", Config{PathPrefix: "api/v5"}, "prefix"},
		{"token with space", Config{Token: "a b"}, "token"},
		{"bad faults", Config{Faults: simkit.Faults{FailRate: 2}}, "fail_rate"},
		// providers.md §3.1: the Dec-2024 docs show /api/v5 without /dc.
		{"other prefix", Config{PathPrefix: "/api/v5/"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.cfg)
			if c.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
				t.Fatalf("error %v, want one about %s", err, c.wantErr)
			}
		})
	}
}

func TestCustomPrefixAndToken(t *testing.T) {
	f := setup(t, Config{PathPrefix: "/api/v5", Token: "secret"})
	if got := f.sim.Credentials(); got[0].Value != "secret" || got[1].Value != "/api/v5" {
		t.Fatalf("credentials %+v", got)
	}
	if res := f.call(t, "GET", "/registrations", nil, "Bearer secret"); res.status != 200 {
		t.Fatalf("custom prefix: %d", res.status)
	}
	if res := f.call(t, "GET", f.url+"/dc/api/v5/registrations", nil, "Bearer secret"); res.status != 404 {
		t.Fatalf("default prefix still served: %d", res.status)
	}
	oi, _ := f.findOffering(t, "open", func(_ int32, o *offering) bool { return o.registrationOpen(testNow.Unix()) })
	res := f.call(t, "POST", "/registrations", map[string]string{"userId": f.userID(f.freeLearner(t, oi)), "offeringId": f.offeringID(oi)}, "Bearer secret")
	if res.status != 201 || !strings.HasPrefix(res.header.Get("Location"), "/api/v5/registrations/") {
		t.Fatalf("POST: %d Location %q", res.status, res.header.Get("Location"))
	}
}

func TestStatsCountRoutes(t *testing.T) {
	f := setup(t, Config{})
	f.call(t, "GET", "/registrations", nil)
	f.call(t, "GET", "/registrations?offset=15", nil)
	if got := f.sim.Kit().RouteCount("GET /dc/api/v5/registrations"); got != 2 {
		t.Fatalf("route count %d, want 2", got)
	}
	if got := f.sim.Counts()["enrollments"]; got != 300 {
		t.Fatalf("counts %d, want 300", got)
	}
}

// TestConcurrentUse runs readers, writers and admin changes at once; with
// -race it checks the RWMutex discipline (the brief: guard data with a
// RWMutex).
func TestConcurrentUse(t *testing.T) {
	f := setup(t, Config{})
	active := f.find(t, "active", func(r *registration, _ *offering) bool { return r.status == statusActive })
	oi, _ := f.findOffering(t, "open", func(_ int32, o *offering) bool { return o.registrationOpen(testNow.Unix()) })
	learner := f.userID(f.freeLearner(t, oi))
	var wg sync.WaitGroup
	codes := make(chan int, 100)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				switch (w + i) % 4 {
				case 0:
					codes <- f.call(t, "GET", "/registrations?limit=100&offset="+strconv.Itoa(i*10), nil).status
				case 1:
					codes <- f.call(t, "PUT", "/registrations/"+active.id.String(), map[string]int{"grade": i * 10}).status
				case 2:
					codes <- f.call(t, "POST", "/registrations", map[string]string{"userId": learner, "offeringId": f.offeringID(oi)}).status
				case 3:
					codes <- f.call(t, "POST", f.url+"/_sim/mutate", map[string]int{"count": 3, "seed": i}).status
				}
			}
		}()
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 200 && c != 201 && c != 204 && c != 400 { // 400: a repeated POST (providers.md §3.3)
			t.Fatalf("unexpected status %d", c)
		}
	}

	// Racing POSTs for one fresh pair: exactly one wins (providers.md §3.3:
	// already registered → 400).
	oi2, _ := f.findOffering(t, "open", func(i int32, o *offering) bool { return i != oi && o.registrationOpen(testNow.Unix()) })
	body := map[string]string{"userId": f.userID(f.freeLearner(t, oi2)), "offeringId": f.offeringID(oi2)}
	results := make(chan int, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results <- f.call(t, "POST", "/registrations", body).status
		}()
	}
	wg.Wait()
	close(results)
	created := 0
	for c := range results {
		if c == 201 {
			created++
		}
	}
	if created != 1 {
		t.Fatalf("%d concurrent POSTs for one pair succeeded, want exactly 1", created)
	}
}
