package absorb

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/provider"
	"github.com/registrarhq/registrar/internal/sim/absorbsim"
	"github.com/registrarhq/registrar/internal/sim/simkit"
)

// Behaviour beyond the shared suite, against absorbsim.

// TestSimWithdraw: un-enroll removes the record from Absorb (connector
// issue), so the answer is the last known record with status withdrawn and
// a later read is KindNotFound.
func TestSimWithdraw(t *testing.T) {
	env := startSim(t, 40, simkit.Faults{})
	c := env.connector(t, simPassword)
	target := pick(t, c, map[string]bool{}, lms.StatusEnrolled, lms.StatusInProgress)
	got, err := c.Withdraw(context.Background(), provider.WithdrawParams{EnrollmentID: target.ID})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != target.ID || got.Status != lms.StatusWithdrawn || got.RemoteStatus != target.RemoteStatus || got.User.ID != target.User.ID {
		t.Errorf("answer %+v, want the last known record, withdrawn", got)
	}
	if _, err := c.EnrollmentGet(context.Background(), target.ID); !provider.IsKind(err, provider.KindNotFound) {
		t.Errorf("read after un-enroll: %v, want KindNotFound", err)
	}
	if slices.Contains(env.sim.EnrollmentIDs(), target.ID) {
		t.Error("the simulator still lists the un-enrolled record")
	}
	for _, e := range listing(t, c) {
		if e.ID == target.ID {
			t.Error("un-enrolled record still in the walk")
		}
	}
}

// TestSimOneTokenForParallelWalks: one /authenticate for many parallel
// callers (§2.2).
func TestSimOneTokenForParallelWalks(t *testing.T) {
	env := startSim(t, 60, simkit.Faults{Latency: simkit.Duration(20 * time.Millisecond)})
	c := env.connector(t, simPassword)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.CoursePage(context.Background(), ""); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := env.sim.Kit().RouteCount("POST /authenticate"); n != 1 {
		t.Errorf("%d /authenticate calls, want 1", n)
	}
}

// TestSimTokenRenewal: with the simulator's and the connector's clocks in
// step, a token is renewed before the simulator would refuse it, so no call
// fails and no 401 is needed.
func TestSimTokenRenewal(t *testing.T) {
	clk := simkit.NewFixedClock(time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC))
	sim, err := absorbsim.New(absorbsim.Config{Seed: 3, Users: 10, Courses: 4, Enrollments: 20,
		APIKey: simAPIKey, Username: simUsername, Password: simPassword, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := simkit.Start("127.0.0.1:0", sim.Handler())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	c, err := New(provider.Config{
		Settings: map[string]string{"base_url": srv.URL},
		Secrets:  map[string]string{"api_key": simAPIKey, "username": simUsername, "password": simPassword},
		HTTP:     fastHTTP(),
		Now:      clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i, advance := range []time.Duration{0, 2 * time.Hour, time.Hour + 55*time.Minute, 3 * time.Hour, 2 * time.Hour} {
		clk.Advance(advance)
		if _, err := c.CoursePage(ctx, ""); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	// Issued at 0h; renewed at 3h55m (inside the margin) and at 8h55m.
	if n := sim.Kit().RouteCount("POST /authenticate"); n != 3 {
		t.Errorf("%d /authenticate calls, want 3", n)
	}
	if n := sim.Kit().RouteCount("GET /courses"); n != 5 {
		t.Errorf("%d course calls, want 5 (no call repeated after a 401)", n)
	}
}

// TestSimIncremental: a walk with ChangedSince returns the records changed
// behind the connector's back and only records edited since (§2.5).
func TestSimIncremental(t *testing.T) {
	env := startSim(t, 80, simkit.Faults{})
	c := env.connector(t, simPassword)
	before := map[string]string{}
	for _, e := range listing(t, c) {
		before[e.ID] = string(e.RemoteData)
	}
	since := env.sim.Kit().Clock.Now().Add(-time.Second)
	if _, err := env.sim.Mutate(15, 99); err != nil {
		t.Fatal(err)
	}
	var changed []string
	for _, e := range listing(t, c) {
		if before[e.ID] != string(e.RemoteData) {
			changed = append(changed, e.ID)
		}
	}
	if len(changed) == 0 {
		t.Fatal("Mutate changed nothing visible")
	}
	var got []lms.CourseEnrollment
	params := provider.EnrollmentPageParams{ChangedSince: &since}
	for {
		page, err := c.EnrollmentPage(context.Background(), params)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page.Enrollments...)
		if page.NextCursor == "" {
			break
		}
		params.Cursor = page.NextCursor
	}
	ids := map[string]bool{}
	for _, e := range got {
		ids[e.ID] = true
		if e.UpdatedAt == nil || e.UpdatedAt.Before(since.Truncate(time.Second)) {
			t.Errorf("incremental walk returned %s edited %v, before %v", e.ID, e.UpdatedAt, since)
		}
	}
	for _, id := range changed {
		if !ids[id] {
			t.Errorf("changed enrollment %s missing from the incremental walk", id)
		}
	}
	if len(got) >= len(before) {
		t.Errorf("incremental walk returned %d of %d records: not filtered", len(got), len(before))
	}
}

// TestSimReEnrollKeepsHistory: reEnroll=true makes a new current enrollment
// and keeps the old one with isActive=false (§2.6).
func TestSimReEnrollKeepsHistory(t *testing.T) {
	env := startSim(t, 40, simkit.Faults{})
	c := env.connector(t, simPassword)
	old := pick(t, c, map[string]bool{}, lms.StatusCompleted, lms.StatusFailed)
	got, err := c.ReEnroll(context.Background(), provider.EnrollParams{UserID: old.User.ID, CourseID: old.Course.ID})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID == old.ID || got.IsCurrent == nil || !*got.IsCurrent || !got.Status.IsOpen() {
		t.Errorf("new attempt %+v", got)
	}
	prev, err := c.EnrollmentGet(context.Background(), old.ID)
	if err != nil {
		t.Fatal(err)
	}
	if prev.IsCurrent == nil || *prev.IsCurrent || prev.Status != old.Status {
		t.Errorf("old attempt after re-enroll: is_current %v status %s, want false and %s", prev.IsCurrent, prev.Status, old.Status)
	}
}

// rawList calls a listing route the connector does not use, to find ids of
// sessions and lessons.
func rawList(t *testing.T, c *Connector, path string, params map[string]string) []map[string]any {
	t.Helper()
	c.routes["test_only"] = route{"GET", path}
	var items []map[string]any
	if err := c.call(context.Background(), request{route: "test_only", params: params}, &items); err != nil {
		t.Fatal(err)
	}
	return items
}

// TestSimSessionEnroll: an enroll with a SectionID creates an ILC session
// enrollment (§2.3 #11) and answers the session as section.
func TestSimSessionEnroll(t *testing.T) {
	env := startSim(t, 120, simkit.Faults{})
	c := env.connector(t, simPassword)
	all := listing(t, c)
	enrolled := map[[2]string]bool{}
	for _, e := range all {
		enrolled[[2]string{e.User.ID, e.Course.ID}] = true
	}
	for _, e := range all {
		sessions := rawList(t, c, "/users/{userId}/enrollments/{courseId}/sessions", map[string]string{"userId": e.User.ID, "courseId": e.Course.ID})
		if len(sessions) == 0 {
			continue
		}
		sessionID, _ := sessions[0]["sessionId"].(string)
		for _, other := range all {
			if enrolled[[2]string{other.User.ID, e.Course.ID}] {
				continue
			}
			got, err := c.Enroll(context.Background(), provider.EnrollParams{UserID: other.User.ID, CourseID: e.Course.ID, SectionID: sessionID})
			if err != nil {
				t.Fatal(err)
			}
			if got.Section == nil || got.Section.ID != sessionID || got.Course.ID != e.Course.ID || got.User.ID != other.User.ID {
				t.Errorf("session enrollment %+v", got)
			}
			return
		}
	}
	t.Skip("the data set holds no ILC session enrollment with a free learner")
}

// TestSimLessonAttempts: start an attempt on a lesson of an active
// enrollment and finish it complete (§2.3 #21, #22).
func TestSimLessonAttempts(t *testing.T) {
	env := startSim(t, 40, simkit.Faults{})
	c := env.connector(t, simPassword)
	for _, e := range listing(t, c) {
		if e.Status != lms.StatusInProgress && e.Status != lms.StatusEnrolled {
			continue
		}
		ids := map[string]string{"userId": e.User.ID, "courseId": e.Course.ID}
		lessons := rawList(t, c, "/users/{userId}/enrollments/{courseId}/lessons", ids)
		if len(lessons) == 0 {
			continue
		}
		lessonID, _ := lessons[0]["lessonId"].(string)
		attemptID, err := c.LessonAttemptStart(context.Background(), provider.LessonAttemptParams{UserID: e.User.ID, CourseID: e.Course.ID, LessonID: lessonID})
		if err != nil {
			t.Fatal(err)
		}
		done := time.Now().UTC().Truncate(time.Second)
		if err := c.LessonAttemptFinish(context.Background(), provider.LessonAttemptFinishParams{AttemptID: attemptID, Status: 3, Score: lms.Ptr(90.0), CompletedAt: &done}); err != nil {
			t.Fatal(err)
		}
		ids["lessonId"] = lessonID
		attempts := rawList(t, c, "/users/{userId}/enrollments/{courseId}/lessons/{lessonId}/attempts", ids)
		for _, a := range attempts {
			if a["id"] == attemptID {
				if b, _ := json.Marshal(a); a["status"] != 3.0 || a["score"] != 90.0 {
					t.Errorf("finished attempt %s", b)
				}
				return
			}
		}
		t.Fatalf("attempt %s not among %v", attemptID, attempts)
	}
	t.Skip("the data set holds no open enrollment with lessons")
}

// TestSimConnectionTest: the test names what failed.
func TestSimConnectionTest(t *testing.T) {
	env := startSim(t, 20, simkit.Faults{})
	tests := []struct {
		name    string
		secrets map[string]string
		want    string
	}{
		{"wrong password", map[string]string{"password": "nope"}, "username or password"},
		{"wrong api key", map[string]string{"api_key": "00000000-0000-0000-0000-000000000000"}, "API key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secrets := map[string]string{"api_key": simAPIKey, "username": simUsername, "password": simPassword}
			for k, v := range tt.secrets {
				secrets[k] = v
			}
			c, err := New(provider.Config{Settings: map[string]string{"base_url": env.baseURL}, Secrets: secrets, HTTP: fastHTTP()})
			if err != nil {
				t.Fatal(err)
			}
			err = c.ConnectionTest(context.Background())
			if !provider.IsKind(err, provider.KindAuthentication) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want KindAuthentication naming %q", err, tt.want)
			}
		})
	}
}
