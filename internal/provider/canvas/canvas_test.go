package canvas

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/httpx"
	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/provider"
	"github.com/registrarhq/registrar/internal/provider/providertest"
	"github.com/registrarhq/registrar/internal/sim/canvassim"
	"github.com/registrarhq/registrar/internal/sim/simkit"
)

// fastHTTP keeps retries quick in tests; the pacing logic is unchanged.
var fastHTTP = httpx.Options{BaseBackoff: 5 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, MaxElapsed: 30 * time.Second}

// startSim starts a canvassim holding n enrollments and returns it with its URL.
func startSim(t *testing.T, n int, faults simkit.Faults) (*canvassim.Sim, string) {
	t.Helper()
	courses := max(n/40, 3)
	sim, err := canvassim.New(canvassim.Config{Seed: 7, Users: max(n/3, 10), Courses: courses, Enrollments: n, Faults: faults})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := simkit.Start("127.0.0.1:0", sim.Handler())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return sim, srv.URL
}

func simConnector(t *testing.T, sim *canvassim.Sim, url, token string) *Connector {
	t.Helper()
	settings := map[string]string{SettingBaseURL: url, SettingPerPage: "25"}
	secrets := map[string]string{SettingToken: token}
	for _, cred := range sim.Credentials() {
		if cred.Name == "account_id" {
			settings[SettingAccountID] = cred.Value
		}
	}
	c, err := New(provider.Config{Settings: settings, Secrets: secrets, HTTP: fastHTTP})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func simToken(sim *canvassim.Sim) string {
	for _, cred := range sim.Credentials() {
		if cred.Name == "token" {
			return cred.Value
		}
	}
	return "canvas-sim-token"
}

// targets hands out enrollments of the simulator for the write cases, each
// at most once, found through the connector's own listing.
type targets struct {
	t    *testing.T
	c    *Connector
	mu   sync.Mutex
	used map[string]bool
}

func (tg *targets) find(t *testing.T, match func(e lms.CourseEnrollment) bool) lms.CourseEnrollment {
	t.Helper()
	tg.mu.Lock()
	defer tg.mu.Unlock()
	all, _, err := providertest.ListAll(context.Background(), tg.c, "")
	if err != nil {
		t.Fatalf("listing for a write target: %v", err)
	}
	for _, e := range all {
		if !tg.used[e.ID] && match(e) {
			tg.used[e.ID] = true
			return e
		}
	}
	t.Fatal("the simulator's data set has no suitable target left")
	return lms.CourseEnrollment{}
}

func state(s string) func(lms.CourseEnrollment) bool {
	return func(e lms.CourseEnrollment) bool { return e.RemoteStatus == s && e.Role == lms.RoleLearner }
}

// TestConformance runs the shared connector suite against canvassim.
func TestConformance(t *testing.T) {
	providertest.Run(t, providertest.Harness{Start: func(t *testing.T, n int, faults simkit.Faults) *providertest.Env {
		sim, url := startSim(t, n, faults)
		token := simToken(sim)
		c := simConnector(t, sim, url, token)
		tg := &targets{c: simConnector(t, sim, url, token), used: map[string]bool{}}
		return &providertest.Env{
			Reader:         c,
			Kit:            sim.Kit(),
			BaseURL:        url,
			WantIDs:        sim.EnrollmentIDs,
			NewReader:      func() provider.Reader { return simConnector(t, sim, url, token) },
			BadCredentials: func() provider.Reader { return simConnector(t, sim, url, "wrong-token") },
			Mutate:         func(count int, seed uint64) { _, _ = sim.Mutate(count, seed) },
			Delete:         sim.DeleteEnrollment,
			EnrollTarget: func(t *testing.T) provider.EnrollParams {
				return enrollTarget(t, tg)
			},
			CompleteTarget: func(t *testing.T) string { return tg.find(t, state("active")).ID },
			WithdrawTarget: func(t *testing.T) provider.WithdrawParams {
				return provider.WithdrawParams{EnrollmentID: tg.find(t, state("active")).ID}
			},
			ReactivateTarget: func(t *testing.T) string {
				// Deactivate an active enrollment first: the data set may hold
				// no inactive one, and this also proves the round trip.
				e := tg.find(t, state("active"))
				if _, err := c.Withdraw(context.Background(), provider.WithdrawParams{EnrollmentID: e.ID, Mode: WithdrawDeactivate}); err != nil {
					t.Fatalf("deactivate before reactivate: %v", err)
				}
				return e.ID
			},
			InvitationTarget: func(t *testing.T) string { return tg.find(t, state("invited")).ID },
		}
	}})
}

// enrollTarget finds a user and a course the user has no enrollment in.
func enrollTarget(t *testing.T, tg *targets) provider.EnrollParams {
	t.Helper()
	ctx := context.Background()
	all, _, err := providertest.ListAll(ctx, tg.c, "")
	if err != nil {
		t.Fatal(err)
	}
	enrolled := map[[2]string]bool{}
	for _, e := range all {
		enrolled[[2]string{e.User.ID, e.Course.ID}] = true
	}
	users, err := tg.c.UserPage(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	courses, err := tg.c.CoursePage(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, co := range courses.Courses {
		for _, u := range users.Users {
			if !enrolled[[2]string{u.ID, co.ID}] {
				return provider.EnrollParams{UserID: u.ID, CourseID: co.ID}
			}
		}
	}
	t.Fatal("every user is enrolled in every course")
	return provider.EnrollParams{}
}

// TestThrottleStatuses: Canvas throttles with 403 "Rate Limit Exceeded" or
// with 429 (providers.md §1.12); both are waited out, neither is a
// permission error.
func TestThrottleStatuses(t *testing.T) {
	for _, status := range []int{403, 429} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			t.Parallel()
			sim, url := startSim(t, 80, simkit.Faults{RateLimit: 4, ThrottleStatus: status})
			c := simConnector(t, sim, url, simToken(sim))
			all, _, err := providertest.ListAll(context.Background(), c, "")
			if err != nil {
				t.Fatalf("listing: %v", err)
			}
			if len(all) != len(sim.EnrollmentIDs()) {
				t.Errorf("listed %d, want %d", len(all), len(sim.EnrollmentIDs()))
			}
			if sim.Kit().Stats(nil).Throttled == 0 || c.HTTPStats().Throttled == 0 {
				t.Errorf("nothing throttled: sim %+v, client %+v", sim.Kit().Stats(nil), c.HTTPStats())
			}
		})
	}
}

// TestResumeFromEveryPage: a fresh connector resumed from the cursor after
// any page ends with exactly the remaining records (DESIGN.md "Checkpoints").
func TestResumeFromEveryPage(t *testing.T) {
	sim, url := startSim(t, 90, simkit.Faults{})
	token := simToken(sim)
	c := simConnector(t, sim, url, token)
	ctx := context.Background()
	var seen []string
	cursor := ""
	for page := 1; ; page++ {
		p, err := c.EnrollmentPage(ctx, provider.EnrollmentPageParams{Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Enrollments {
			seen = append(seen, e.ID)
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
		rest, _, err := providertest.ListAll(ctx, simConnector(t, sim, url, token), cursor)
		if err != nil {
			t.Fatalf("resume after page %d: %v", page, err)
		}
		ids := append([]string(nil), seen...)
		for _, e := range rest {
			ids = append(ids, e.ID)
		}
		slices.Sort(ids)
		if want := sim.EnrollmentIDs(); !slices.Equal(ids, want) {
			t.Errorf("resumed after page %d: %d ids, want %d", page, len(ids), len(want))
		}
	}
}

// TestBadTokenAndGarbageCursor: a cursor the connector did not issue and an
// incremental request are refused before any call; the capability matrix
// claims nothing Canvas lacks (DESIGN.md "Writes").
func TestBadTokenAndGarbageCursor(t *testing.T) {
	sim, url := startSim(t, 20, simkit.Faults{})
	c := simConnector(t, sim, url, simToken(sim))
	if _, err := c.EnrollmentPage(context.Background(), provider.EnrollmentPageParams{Cursor: "not-a-cursor"}); !provider.IsKind(err, provider.KindInvalidRequest) {
		t.Errorf("garbage cursor: got %v, want KindInvalidRequest", err)
	}
	since := time.Now()
	if _, err := c.EnrollmentPage(context.Background(), provider.EnrollmentPageParams{ChangedSince: &since}); !provider.IsKind(err, provider.KindInvalidRequest) {
		t.Errorf("ChangedSince: got %v, want KindInvalidRequest (Canvas cannot filter by modification time)", err)
	}
	if provider.Has(c, lms.CapabilityIncrementalSync) || provider.Has(c, lms.CapabilityScore) || provider.Has(c, lms.CapabilityReEnroll) {
		t.Errorf("capabilities %v claim what Canvas cannot do", provider.Capabilities(c))
	}
}

// TestEnrollSemantics checks the create rules of providers.md §1.7 through
// the connector: section enrollments, a duplicate POST answering the
// existing enrollment, and a deleted enrollment revived with the same id.
func TestEnrollSemantics(t *testing.T) {
	sim, url := startSim(t, 60, simkit.Faults{})
	c := simConnector(t, sim, url, simToken(sim))
	ctx := context.Background()
	tg := &targets{c: c, used: map[string]bool{}}
	p := enrollTarget(t, tg)

	first, err := c.Enroll(ctx, p)
	if err != nil {
		t.Fatalf("enroll: %v", err)
	}
	if first.Status != lms.StatusEnrolled || first.RemoteStatus != "active" || first.Role != lms.RoleLearner {
		t.Errorf("enrolled as %s/%s/%s, want enrolled/active/learner (enroll_state=active by default)", first.Status, first.RemoteStatus, first.Role)
	}
	if first.Course.Title == "" || first.User.Name == "" {
		t.Errorf("read-back lacks course title or user name: %+v %+v", first.Course, first.User)
	}
	again, err := c.Enroll(ctx, p)
	if err != nil || again.ID != first.ID {
		t.Errorf("duplicate enroll: %v, id %v; want the existing id %s", err, again, first.ID)
	}
	if _, err := c.Withdraw(ctx, provider.WithdrawParams{EnrollmentID: first.ID}); err != nil {
		t.Fatalf("withdraw: %v", err)
	}
	revived, err := c.Enroll(ctx, p)
	if err != nil || revived.ID != first.ID || revived.Status != lms.StatusEnrolled {
		t.Errorf("re-enroll after delete: %v, %+v; want %s revived as enrolled", err, revived, first.ID)
	}

	t.Run("into a section", func(t *testing.T) {
		listed := tg.find(t, func(e lms.CourseEnrollment) bool { return e.Section != nil })
		// A user with no enrollment in the listed record's course.
		var q provider.EnrollParams
		all, _, _ := providertest.ListAll(ctx, c, "")
		users, _ := c.UserPage(ctx, "")
		inCourse := map[string]bool{}
		for _, e := range all {
			if e.Course.ID == listed.Course.ID {
				inCourse[e.User.ID] = true
			}
		}
		for _, u := range users.Users {
			if !inCourse[u.ID] {
				q = provider.EnrollParams{UserID: u.ID, SectionID: listed.Section.ID, Role: lms.RoleTeachingAssistant}
				break
			}
		}
		if q.UserID == "" {
			t.Fatal("every user is in course " + listed.Course.ID)
		}
		got, err := c.Enroll(ctx, q)
		if err != nil {
			t.Fatalf("section enroll: %v", err)
		}
		if got.Section == nil || got.Section.ID != listed.Section.ID || got.Course.ID != listed.Course.ID || got.Role != lms.RoleTeachingAssistant {
			t.Errorf("section enroll gave section %+v course %+v role %s; want section %s of course %s as TA", got.Section, got.Course, got.Role, listed.Section.ID, listed.Course.ID)
		}
	})
	t.Run("refused before any call", func(t *testing.T) {
		before := sim.Kit().Stats(nil).Total
		due := time.Now()
		for _, bad := range []provider.EnrollParams{
			{UserID: p.UserID, CourseID: p.CourseID, DueAt: &due},
			{UserID: p.UserID, CourseID: p.CourseID, Role: "janitor"},
			{CourseID: p.CourseID},
		} {
			if _, err := c.Enroll(ctx, bad); !provider.IsKind(err, provider.KindInvalidRequest) {
				t.Errorf("enroll %+v: got %v, want KindInvalidRequest", bad, err)
			}
		}
		if after := sim.Kit().Stats(nil).Total; after != before {
			t.Errorf("refused writes made %d calls", after-before)
		}
	})
}

// TestStateGuards: Canvas refuses actions out of their state with its own
// words (providers.md §1.9), passed on as KindInvalidRequest.
func TestStateGuards(t *testing.T) {
	sim, url := startSim(t, 60, simkit.Faults{})
	c := simConnector(t, sim, url, simToken(sim))
	tg := &targets{c: c, used: map[string]bool{}}
	active := tg.find(t, state("active"))
	_, err := c.Reactivate(context.Background(), active.ID)
	if !provider.IsKind(err, provider.KindInvalidRequest) || !strings.Contains(err.Error(), "not inactive") {
		t.Errorf("reactivate an active enrollment: got %v, want KindInvalidRequest quoting Canvas", err)
	}
	if _, err := c.Complete(context.Background(), "999999999"); !provider.IsKind(err, provider.KindNotFound) {
		t.Errorf("complete unknown: got %v, want KindNotFound", err)
	}
	if _, err := c.Withdraw(context.Background(), provider.WithdrawParams{EnrollmentID: active.ID, Mode: "conclude"}); !provider.IsKind(err, provider.KindInvalidRequest) {
		t.Errorf("withdraw mode conclude: got %v, want KindInvalidRequest", err)
	}
}

// TestEnrollmentTypesSetting syncs only the types asked for.
func TestEnrollmentTypesSetting(t *testing.T) {
	sim, url := startSim(t, 120, simkit.Faults{})
	c, err := New(provider.Config{Settings: map[string]string{SettingBaseURL: url, SettingAccountID: "1", SettingPerPage: "30",
		SettingEnrollmentTypes: "TeacherEnrollment, TaEnrollment"}, Secrets: map[string]string{SettingToken: simToken(sim)}, HTTP: fastHTTP})
	if err != nil {
		t.Fatal(err)
	}
	all, _, err := providertest.ListAll(context.Background(), c, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all {
		if e.Role != lms.RoleInstructor && e.Role != lms.RoleTeachingAssistant {
			t.Errorf("enrollment %s has role %s, not asked for", e.ID, e.Role)
		}
	}
	if len(all) == 0 || len(all) >= len(sim.EnrollmentIDs()) {
		t.Errorf("listed %d of %d; want a non-empty subset", len(all), len(sim.EnrollmentIDs()))
	}
}

// TestNewWalkSeesNewCourses: a connector reused for the next sync reads the
// courses afresh instead of its cached page.
func TestNewWalkSeesNewCourses(t *testing.T) {
	var courses atomic.Int32
	courses.Store(1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/courses") {
			var list []string
			for i := 1; i <= int(courses.Load()); i++ {
				list = append(list, fmt.Sprintf(`{"id":"%d","name":"Course %d"}`, i, i))
			}
			_, _ = w.Write([]byte("[" + strings.Join(list, ",") + "]"))
			return
		}
		id := strings.Split(r.URL.Path, "/")[4]
		fmt.Fprintf(w, `[{"id":"e%s","course_id":"%s","user_id":"u1","enrollment_state":"active","type":"StudentEnrollment"}]`, id, id)
	}))
	defer srv.Close()
	c := newTestConnector(t, srv.URL, nil)
	for want := 1; want <= 2; want++ {
		all, _, err := providertest.ListAll(context.Background(), c, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != want {
			t.Errorf("walk %d listed %d enrollments, want %d", want, len(all), want)
		}
		courses.Store(2)
	}
}

var _ httpx.StatsReporter = (*Connector)(nil)

// TestCapabilities: the Canvas column of DESIGN.md "Writes", derived from the
// connector type.
func TestCapabilities(t *testing.T) {
	want := []lms.Capability{lms.CapabilityEnroll, lms.CapabilityComplete, lms.CapabilityWithdraw,
		lms.CapabilityReactivate, lms.CapabilityInvitation}
	if got := Definition().Capabilities(); !slices.Equal(got, want) {
		t.Errorf("capabilities %v, want %v", got, want)
	}
	if _, ok := Definition().Prototype.(provider.ConnectionTester); !ok {
		t.Error("no ConnectionTest")
	}
}

// fakeCourses is a Canvas whose account courses list (paged by page number,
// providers.md §1.11) can change while a walk runs; each course holds one
// enrollment "e<course id>".
type fakeCourses struct {
	mu  sync.Mutex
	ids []string
}

func (f *fakeCourses) set(ids ...string) {
	f.mu.Lock()
	f.ids = ids
	f.mu.Unlock()
}

func (f *fakeCourses) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	ids := append([]string(nil), f.ids...)
	f.mu.Unlock()
	if strings.HasSuffix(r.URL.Path, "/courses") {
		per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		page = max(page, 1)
		from, to := min((page-1)*per, len(ids)), min(page*per, len(ids))
		if to < len(ids) {
			w.Header().Set("Link", fmt.Sprintf(`<http://%s/api/v1/accounts/self/courses?page=%d&per_page=%d>; rel="next"`, r.Host, page+1, per))
		}
		var list []string
		for _, id := range ids[from:to] {
			list = append(list, fmt.Sprintf(`{"id":%q,"name":"Course %s"}`, id, id))
		}
		_, _ = w.Write([]byte("[" + strings.Join(list, ",") + "]"))
		return
	}
	id := strings.Split(r.URL.Path, "/")[4]
	fmt.Fprintf(w, `[{"id":"e%s","course_id":%q,"user_id":"u1","enrollment_state":"active","type":"StudentEnrollment"}]`, id, id)
}

// TestCourseListShiftsMidWalk: a course deleted or created while a walk runs
// shifts the page-numbered courses list; the walk still lists every course
// that existed throughout exactly once (so no enrollment is wrongly swept as
// deleted, DESIGN.md "Deletes").
func TestCourseListShiftsMidWalk(t *testing.T) {
	tests := []struct {
		name   string
		after  string   // change the list once this enrollment was listed
		change []string // the list from then on
		want   []string // enrollments the walk must list exactly once
	}{
		{"course before deleted", "eB", []string{"B", "C", "D", "E"}, []string{"eA", "eB", "eC", "eD", "eE"}},
		{"course created before", "eB", []string{"0", "A", "B", "C", "D", "E"}, []string{"eA", "eB", "eC", "eD", "eE"}},
		{"nothing changes", "eB", []string{"A", "B", "C", "D", "E"}, []string{"eA", "eB", "eC", "eD", "eE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeCourses{}
			f.set("A", "B", "C", "D", "E")
			srv := httptest.NewServer(f)
			defer srv.Close()
			c := newTestConnector(t, srv.URL, map[string]string{SettingPerPage: "2"})
			count := map[string]int{}
			cursor := ""
			for {
				page, err := c.EnrollmentPage(context.Background(), provider.EnrollmentPageParams{Cursor: cursor})
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range page.Enrollments {
					count[e.ID]++
					if e.ID == tt.after {
						f.set(tt.change...)
					}
				}
				if cursor = page.NextCursor; cursor == "" {
					break
				}
			}
			for _, id := range tt.want {
				if count[id] != 1 {
					t.Errorf("%s listed %d times, want once (all: %v)", id, count[id], count)
				}
			}
		})
	}
}

// TestRepeatedWritesSucceed: withdrawing or completing twice answers the
// record as it is without a second DELETE (Canvas may answer 404 for a
// deleted enrollment, providers.md §1.8).
func TestRepeatedWritesSucceed(t *testing.T) {
	sim, url := startSim(t, 60, simkit.Faults{})
	c := simConnector(t, sim, url, simToken(sim))
	tg := &targets{c: c, used: map[string]bool{}}
	ctx := context.Background()
	const deleteRoute = "DELETE /api/v1/courses/{course_id}/enrollments/{id}"
	for _, write := range []struct {
		name string
		do   func(id string) (*lms.CourseEnrollment, error)
		want string
	}{
		{"withdraw delete", func(id string) (*lms.CourseEnrollment, error) {
			return c.Withdraw(ctx, provider.WithdrawParams{EnrollmentID: id})
		}, "deleted"},
		{"withdraw deactivate", func(id string) (*lms.CourseEnrollment, error) {
			return c.Withdraw(ctx, provider.WithdrawParams{EnrollmentID: id, Mode: WithdrawDeactivate})
		}, "inactive"},
		{"complete", func(id string) (*lms.CourseEnrollment, error) { return c.Complete(ctx, id) }, "completed"},
	} {
		id := tg.find(t, state("active")).ID
		for i := 1; i <= 2; i++ {
			e, err := write.do(id)
			if err != nil || e.RemoteStatus != write.want {
				t.Errorf("%s #%d: %v, %+v; want %s", write.name, i, err, e, write.want)
			}
		}
	}
	if n := sim.Kit().RouteCount(deleteRoute); n != 3 {
		t.Errorf("%d DELETE requests for three writes made twice, want 3", n)
	}
}
