package digitalchalk

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/provider"
	"github.com/registrarhq/registrar/internal/provider/providertest"
	"github.com/registrarhq/registrar/internal/sim/dcsim"
)

// find lists through c and returns the first record keep accepts.
func find(t *testing.T, c *Connector, keep func(all []lms.CourseEnrollment, e lms.CourseEnrollment) bool) lms.CourseEnrollment {
	t.Helper()
	all, _, err := providertest.ListAll(context.Background(), c, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all {
		if keep(all, e) {
			return e
		}
	}
	t.Fatal("no registration fits the case")
	return lms.CourseEnrollment{}
}

func hasActive(all []lms.CourseEnrollment, userID, offeringID string) bool {
	for _, e := range all {
		if e.User.ID == userID && e.Course.ID == offeringID && e.RemoteStatus == remoteActive {
			return true
		}
	}
	return false
}

func TestEnroll(t *testing.T) {
	s := startRecordedSim(t, dcsim.Config{Enrollments: 60})
	c := newConnector(t, s.baseURL, map[string]string{"page_size": "50"})
	targets := &writeTargets{env: s.simEnv, reader: c, taken: map[string]bool{}}
	p := targets.enroll(t)
	s.rec.reset()

	got, err := c.Enroll(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	// §3.3: a new registration is active and not begun; it is the user's first
	// and only attempt at the offering.
	if got.Status != lms.StatusEnrolled || got.RemoteStatus != remoteActive {
		t.Errorf("status %s (%s), want enrolled (active)", got.Status, got.RemoteStatus)
	}
	if got.AttemptNumber == nil || *got.AttemptNumber != 1 || *got.AttemptsCount != 1 || !*got.IsCurrent {
		t.Errorf("attempt %v of %v current %v, want 1 of 1, current", got.AttemptNumber, got.AttemptsCount, got.IsCurrent)
	}
	if got.User.Name == "" || got.User.PrimaryEmail() == "" {
		t.Errorf("user %+v, want name and email from GET /users/{id}", got.User)
	}
	posts := 0
	for _, r := range s.rec.all() {
		if r.Method != http.MethodPost {
			continue
		}
		posts++
		var body map[string]string
		if err := json.Unmarshal(r.Body, &body); err != nil || len(body) != 2 || body["userId"] != p.UserID || body["offeringId"] != p.CourseID {
			t.Errorf("POST body %s, want exactly userId and offeringId", r.Body)
		}
	}
	if posts != 1 {
		t.Errorf("%d POSTs, want 1", posts)
	}

	// §3.3: registering again while active is refused with a 400 errors[].
	_, err = c.Enroll(context.Background(), p)
	wantKind(t, err, provider.KindInvalidRequest, "not available")

	// §3.3: both ids must name real resources, else 400.
	for _, bad := range []provider.EnrollParams{
		{UserID: "ffffffffffffffffffffffffffffffff", CourseID: p.CourseID},
		{UserID: p.UserID, CourseID: "ffffffffffffffffffffffffffffffff"},
	} {
		_, err = c.Enroll(context.Background(), bad)
		wantKind(t, err, provider.KindInvalidRequest, "")
	}
}

func TestReEnroll(t *testing.T) {
	s := startSim(t, dcsim.Config{Enrollments: 120})
	c := s.connector(t, simToken, map[string]string{"page_size": "50"})
	ctx := context.Background()

	t.Run("where retakes are allowed, a new current attempt", func(t *testing.T) {
		targets := &writeTargets{env: s, reader: c, taken: map[string]bool{}}
		p := targets.reEnroll(t)
		before := find(t, c, func(_ []lms.CourseEnrollment, e lms.CourseEnrollment) bool {
			return e.User.ID == p.UserID && e.Course.ID == p.CourseID
		})
		old, err := c.EnrollmentGet(ctx, before.ID)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.ReEnroll(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID == old.ID || got.Status != lms.StatusEnrolled {
			t.Errorf("re-enroll answered %s (%s), want a new enrolled registration", got.ID, got.Status)
		}
		if *got.AttemptNumber != *old.AttemptsCount+1 || *got.AttemptsCount != *old.AttemptsCount+1 || !*got.IsCurrent {
			t.Errorf("new attempt %d of %d current %v; before there were %d", *got.AttemptNumber, *got.AttemptsCount, *got.IsCurrent, *old.AttemptsCount)
		}
		again, err := c.EnrollmentGet(ctx, old.ID)
		if err != nil {
			t.Fatal(err)
		}
		if *again.IsCurrent || *again.AttemptsCount != *got.AttemptsCount {
			t.Errorf("old attempt current %v count %d, want history of %d", *again.IsCurrent, *again.AttemptsCount, *got.AttemptsCount)
		}
	})

	t.Run("where retakes are not allowed, the vendor's refusal", func(t *testing.T) {
		done := find(t, c, func(all []lms.CourseEnrollment, e lms.CourseEnrollment) bool {
			_, retake, ok := s.sim.OfferingRules(e.Course.ID)
			return ok && !retake && (e.RemoteStatus == remotePassed || e.RemoteStatus == remoteFailed) && !hasActive(all, e.User.ID, e.Course.ID)
		})
		_, err := c.ReEnroll(ctx, provider.EnrollParams{UserID: done.User.ID, CourseID: done.Course.ID})
		wantKind(t, err, provider.KindInvalidRequest, "not available")
	})
}

func TestScore(t *testing.T) {
	for _, property := range []string{"grade", "gradePercentage"} {
		t.Run(property, func(t *testing.T) {
			s := startRecordedSim(t, dcsim.Config{Enrollments: 60})
			c := newConnector(t, s.baseURL, map[string]string{"page_size": "50", "grade_property": property})
			var passMark float64
			target := find(t, c, func(_ []lms.CourseEnrollment, e lms.CourseEnrollment) bool {
				var ok bool
				passMark, _, ok = s.sim.OfferingRules(e.Course.ID)
				return ok && passMark > 0 && e.RemoteStatus == remoteActive
			})
			score := passMark - 0.5
			s.rec.reset()
			got, err := c.Score(context.Background(), provider.ScoreParams{EnrollmentID: target.ID, Score: score})
			if err != nil {
				t.Fatal(err)
			}
			// §3.3: the LMS decides from its passing grade; below it is failed.
			if got.Status != lms.StatusFailed || got.Score == nil || *got.Score != score {
				t.Errorf("after grade %v (pass mark %v): status %s score %v, want failed %v", score, passMark, got.Status, got.Score, score)
			}
			if got.CompletedAt == nil {
				t.Error("a graded registration has an endDate: completed_at unset")
			}
			if got.CustomFields["grader_id"] != s.sim.APIUserID() {
				t.Errorf("custom_fields %v, want grader_id of the token's user %s", got.CustomFields, s.sim.APIUserID())
			}
			for _, r := range s.rec.all() {
				if r.Method == http.MethodPut {
					var body map[string]float64
					if err := json.Unmarshal(r.Body, &body); err != nil || len(body) != 1 || body[property] != score {
						t.Errorf("PUT body %s, want only %q", r.Body, property)
					}
				}
			}
			// Re-grading a completed registration recomputes the verdict (§3.3).
			regraded, err := c.Score(context.Background(), provider.ScoreParams{EnrollmentID: target.ID, Score: 100})
			if err != nil {
				t.Fatal(err)
			}
			if regraded.Status != lms.StatusPassed {
				t.Errorf("after grade 100: status %s, want passed", regraded.Status)
			}
		})
	}
}

func TestWithdraw(t *testing.T) {
	s := startSim(t, dcsim.Config{Enrollments: 60})
	c := s.connector(t, simToken, map[string]string{"page_size": "50"})
	ctx := context.Background()

	active := find(t, c, func(_ []lms.CourseEnrollment, e lms.CourseEnrollment) bool { return e.RemoteStatus == remoteActive })
	got, err := c.Withdraw(ctx, provider.WithdrawParams{EnrollmentID: active.ID, Mode: withdrawModeEject})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != lms.StatusWithdrawn || got.RemoteStatus != remoteEjected || got.CompletedAt != nil {
		t.Errorf("after eject: status %s (%s) completed_at %v, want withdrawn, no completion", got.Status, got.RemoteStatus, got.CompletedAt)
	}
	// §3.3: eject only while active; the 400 fieldErrors.status comes back.
	passed := find(t, c, func(_ []lms.CourseEnrollment, e lms.CourseEnrollment) bool { return e.RemoteStatus == remotePassed })
	_, err = c.Withdraw(ctx, provider.WithdrawParams{EnrollmentID: passed.ID})
	wantKind(t, err, provider.KindInvalidRequest, "status: ")

	_, err = c.Withdraw(ctx, provider.WithdrawParams{EnrollmentID: "ffffffffffffffffffffffffffffffff"})
	wantKind(t, err, provider.KindNotFound, "")
}

// TestUserDetailsModes pins the request cost of each user_details mode over a
// full walk.
func TestUserDetailsModes(t *testing.T) {
	const prefix = "/dc/api/v5"
	tests := []struct {
		mode             string
		wantNames        bool
		usersPages, byID func(users, learners int) bool
	}{
		{userDetailsUsersPass, true,
			func(users, _ int) bool { return users > 0 },
			func(_, byID int) bool { return byID == 0 }},
		{userDetailsPerUser, true,
			func(users, _ int) bool { return users == 0 },
			func(_, byID int) bool { return byID > 0 }},
		{userDetailsNone, false,
			func(users, _ int) bool { return users == 0 },
			func(_, byID int) bool { return byID == 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			s := startRecordedSim(t, dcsim.Config{Enrollments: 80})
			c := newConnector(t, s.baseURL, map[string]string{"page_size": "20", "user_details": tt.mode})
			all, _, err := providertest.ListAll(context.Background(), c, "")
			if err != nil {
				t.Fatal(err)
			}
			learners := map[string]bool{}
			for _, e := range all {
				learners[e.User.ID] = true
				if named := e.User.Name != ""; named != tt.wantNames {
					t.Fatalf("user %+v: named %v, want %v", e.User, named, tt.wantNames)
				}
			}
			usersPages := s.rec.count(http.MethodGet, prefix, pathUsers)
			byID := s.rec.count(http.MethodGet, prefix, pathUsers+"/*")
			if !tt.usersPages(usersPages, 0) || !tt.byID(0, byID) {
				t.Errorf("GET /users %d times, GET /users/{id} %d times", usersPages, byID)
			}
			if tt.mode == userDetailsPerUser && byID != len(learners) {
				t.Errorf("per_user asked %d users for %d distinct learners; each should be asked once", byID, len(learners))
			}
		})
	}
}

func TestConnectionTest(t *testing.T) {
	ctx := context.Background()
	s := startRecordedSim(t, dcsim.Config{Enrollments: 10})

	t.Run("good", func(t *testing.T) {
		s.rec.reset()
		if err := newConnector(t, s.baseURL, nil).ConnectionTest(ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(s.rec.all()); n != 2 {
			t.Errorf("%d requests, want 2 (registrations, users)", n)
		}
	})
	t.Run("good without user details needs one call", func(t *testing.T) {
		s.rec.reset()
		if err := newConnector(t, s.baseURL, map[string]string{"user_details": "none"}).ConnectionTest(ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(s.rec.all()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
	t.Run("bad token", func(t *testing.T) {
		s.rec.reset()
		err := s.connector(t, "wrong", nil).ConnectionTest(ctx)
		wantKind(t, err, provider.KindAuthentication, "refused the token")
		if n := len(s.rec.all()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
	t.Run("wrong path prefix (§3.1)", func(t *testing.T) {
		err := newConnector(t, s.srvURL+"/api/v5", nil).ConnectionTest(ctx)
		wantKind(t, err, provider.KindNotFound, "base_url")
	})
	t.Run("unreachable", func(t *testing.T) {
		_, base := fakeVendor(t, func(http.ResponseWriter, *http.Request) {})
		gone := newConnector(t, base, nil)
		// Close the fake's listener by asking for a port nobody serves.
		gone.baseURL.Host = "127.0.0.1:1"
		err := gone.ConnectionTest(ctx)
		wantKind(t, err, provider.KindUnavailable, "cannot reach")
	})
	t.Run("users forbidden", func(t *testing.T) {
		_, base := fakeVendor(t, func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/users") {
				w.WriteHeader(http.StatusForbidden)
				_, _ = w.Write([]byte(`{"errors":["Access denied."]}`))
				return
			}
			_, _ = w.Write([]byte(`{"results":[]}`))
		})
		err := newConnector(t, base, nil).ConnectionTest(ctx)
		wantKind(t, err, provider.KindPermission, "user_details=none")
		if !strings.Contains(err.Error(), "forbids this token to read users") {
			t.Errorf("error %q does not say which read was forbidden", err)
		}
	})
}

// TestOtherPathPrefix: the Dec-2024 docs' /api/v5 prefix works when
// base_url says so (§3.1, UNCERTAIN).
func TestOtherPathPrefix(t *testing.T) {
	s := startSim(t, dcsim.Config{Enrollments: 30, PathPrefix: "/api/v5"})
	c := s.connector(t, simToken, map[string]string{"page_size": "10"})
	all, _, err := providertest.ListAll(context.Background(), c, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(s.sim.EnrollmentIDs()) {
		t.Errorf("listed %d, want %d", len(all), len(s.sim.EnrollmentIDs()))
	}
}
