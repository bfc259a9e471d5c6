package absorb

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/provider"
)

// writeFake is a fake with course c1 (enrollments c1-e000.. for users
// u000..) and canned answers for the write operations of seed 003.
func writeFake(t *testing.T) (*fakeAbsorb, *Connector) {
	f := newFake(t)
	f.addCourse("c1", 4)
	created := func(status int, v any) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { writeJSON(w, status, v) }
	}
	f.override["POST /users/u001/enrollments/c1"] = created(201, map[string]string{"enrollmentId": "c1-e001", "courseId": "c1", "userId": "u001"})
	f.override["POST /users/u002/enrollments/c1/sessions/s9"] = created(201, map[string]string{
		"enrollmentId": "c1-e002", "courseId": "c1", "userId": "u002", "sessionId": "s9", "sessionEnrollmentId": "se1"})
	f.override["POST /users/u003/enrollments"] = created(201, map[string]string{"enrollmentId": "c1-e003", "courseId": "c1", "userId": "u003"})
	f.override["POST /enrollments/unenroll"] = func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }
	f.override["POST /users/u001/enrollments/c1/lessons/l1/attempts"] = created(200, map[string]string{"attemptId": "a1", "courseId": "c1", "userId": "u001"})
	f.override["PUT /attempts/a1"] = created(200, map[string]string{"attemptId": "a1"})
	srv := f.start()
	return f, f.connect(t, srv.URL, nil, nil)
}

// apiCalls are the logged requests other than /authenticate.
func apiCalls(f *fakeAbsorb) []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeRequest
	for _, r := range f.log {
		if r.Path != "/authenticate" {
			out = append(out, r)
		}
	}
	return out
}

func TestEnroll(t *testing.T) {
	tests := []struct {
		name        string
		reEnroll    bool
		params      provider.EnrollParams
		wantCreate  string
		wantReEnrol string
		wantID      string
		wantSection string
	}{
		{"course (§2.3 #4)", false, provider.EnrollParams{UserID: "u001", CourseID: "c1"}, "/users/u001/enrollments/c1", "", "c1-e001", ""},
		{"re-enroll keeps history", true, provider.EnrollParams{UserID: "u001", CourseID: "c1", Role: lms.RoleLearner}, "/users/u001/enrollments/c1", "true", "c1-e001", ""},
		{"ILC session (§2.3 #11)", false, provider.EnrollParams{UserID: "u002", CourseID: "c1", SectionID: "s9"}, "/users/u002/enrollments/c1/sessions/s9", "", "c1-e002", "s9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := writeFake(t)
			var got *lms.CourseEnrollment
			var err error
			if tt.reEnroll {
				got, err = c.ReEnroll(context.Background(), tt.params)
			} else {
				got, err = c.Enroll(context.Background(), tt.params)
			}
			if err != nil {
				t.Fatal(err)
			}
			calls := apiCalls(f)
			if len(calls) != 2 || calls[0].Method != "POST" || calls[0].Path != tt.wantCreate || calls[1].Path != "/enrollments/"+tt.wantID {
				t.Fatalf("calls %+v, want POST %s then the read-back", calls, tt.wantCreate)
			}
			if calls[0].Query.Get("reEnroll") != tt.wantReEnrol {
				t.Errorf("reEnroll=%q, want %q", calls[0].Query.Get("reEnroll"), tt.wantReEnrol)
			}
			if got.ID != tt.wantID || got.Provider != "absorb" {
				t.Errorf("answer %+v", got)
			}
			if (got.Section == nil) != (tt.wantSection == "") || (got.Section != nil && got.Section.ID != tt.wantSection) {
				t.Errorf("section %+v, want %q", got.Section, tt.wantSection)
			}
		})
	}
}

// TestWritesRefusedBeforeAnyCall: what Absorb cannot do is refused with
// KindInvalidRequest and no request.
func TestWritesRefusedBeforeAnyCall(t *testing.T) {
	due := time.Now()
	tests := []struct {
		name string
		call func(c *Connector) error
	}{
		{"instructor role", func(c *Connector) error {
			_, err := c.Enroll(context.Background(), provider.EnrollParams{UserID: "u", CourseID: "c", Role: lms.RoleInstructor})
			return err
		}},
		{"due date", func(c *Connector) error {
			_, err := c.Enroll(context.Background(), provider.EnrollParams{UserID: "u", CourseID: "c", DueAt: &due})
			return err
		}},
		{"no course", func(c *Connector) error {
			_, err := c.ReEnroll(context.Background(), provider.EnrollParams{UserID: "u"})
			return err
		}},
		{"score above 100", func(c *Connector) error {
			_, err := c.Score(context.Background(), provider.ScoreParams{EnrollmentID: "c1-e003", Score: 101})
			return err
		}},
		{"score with passed (no Absorb code)", func(c *Connector) error {
			_, err := c.Score(context.Background(), provider.ScoreParams{EnrollmentID: "c1-e003", Score: 80, Status: lms.StatusPassed})
			return err
		}},
		{"status withdrawn (use Withdraw)", func(c *Connector) error {
			_, err := c.SetStatus(context.Background(), provider.StatusParams{EnrollmentID: "c1-e003", Status: lms.StatusWithdrawn})
			return err
		}},
		{"withdraw mode delete", func(c *Connector) error {
			_, err := c.Withdraw(context.Background(), provider.WithdrawParams{EnrollmentID: "c1-e003", Mode: "delete"})
			return err
		}},
		{"attempt status 2", func(c *Connector) error {
			return c.LessonAttemptFinish(context.Background(), provider.LessonAttemptFinishParams{AttemptID: "a1", Status: 2})
		}},
		{"attempt status 0", func(c *Connector) error {
			return c.LessonAttemptFinish(context.Background(), provider.LessonAttemptFinishParams{AttemptID: "a1", Status: 0})
		}},
		{"attempt without lesson", func(c *Connector) error {
			_, err := c.LessonAttemptStart(context.Background(), provider.LessonAttemptParams{UserID: "u", CourseID: "c"})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := writeFake(t)
			if err := tt.call(c); !provider.IsKind(err, provider.KindInvalidRequest) {
				t.Errorf("got %v, want KindInvalidRequest", err)
			}
			if n := len(f.log); n != 0 {
				t.Errorf("%d requests sent, want none", n)
			}
		})
	}
}

// TestScoreAndStatus: create-or-update (§2.3 #5) addressed by user, with the
// enrollment id and course id in the body and the unified status as its
// Absorb code.
func TestScoreAndStatus(t *testing.T) {
	completed := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("X", -3600))
	tests := []struct {
		name     string
		call     func(c *Connector) (*lms.CourseEnrollment, error)
		wantBody string
	}{
		{"score only", func(c *Connector) (*lms.CourseEnrollment, error) {
			return c.Score(context.Background(), provider.ScoreParams{EnrollmentID: "c1-e003", Score: 88.5})
		}, `{"id":"c1-e003","courseId":"c1","score":88.5}`},
		{"score with failed", func(c *Connector) (*lms.CourseEnrollment, error) {
			return c.Score(context.Background(), provider.ScoreParams{EnrollmentID: "c1-e003", Score: 30, Status: lms.StatusFailed, CompletedAt: &completed})
		}, `{"id":"c1-e003","courseId":"c1","status":5,"score":30,"dateCompleted":"2026-03-04T06:06:07Z"}`},
		{"completed", func(c *Connector) (*lms.CourseEnrollment, error) {
			return c.SetStatus(context.Background(), provider.StatusParams{EnrollmentID: "c1-e003", Status: lms.StatusCompleted})
		}, `{"id":"c1-e003","courseId":"c1","status":3}`},
		{"in_progress", func(c *Connector) (*lms.CourseEnrollment, error) {
			return c.SetStatus(context.Background(), provider.StatusParams{EnrollmentID: "c1-e003", Status: lms.StatusInProgress})
		}, `{"id":"c1-e003","courseId":"c1","status":1}`},
		{"complete (DESIGN.md Writes: Status=3)", func(c *Connector) (*lms.CourseEnrollment, error) {
			return c.Complete(context.Background(), "c1-e003")
		}, `{"id":"c1-e003","courseId":"c1","status":3}`},
		{"enrolled", func(c *Connector) (*lms.CourseEnrollment, error) {
			return c.SetStatus(context.Background(), provider.StatusParams{EnrollmentID: "c1-e003", Status: lms.StatusEnrolled})
		}, `{"id":"c1-e003","courseId":"c1","status":0}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := writeFake(t)
			got, err := tt.call(c)
			if err != nil {
				t.Fatal(err)
			}
			calls := apiCalls(f)
			if len(calls) != 3 || calls[1].Method != "POST" || calls[1].Path != "/users/u003/enrollments" {
				t.Fatalf("calls %+v, want read, POST /users/u003/enrollments, read-back", calls)
			}
			if calls[1].Body != tt.wantBody {
				t.Errorf("body %s, want %s", calls[1].Body, tt.wantBody)
			}
			if calls[1].Header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q", calls[1].Header.Get("Content-Type"))
			}
			if got.ID != "c1-e003" {
				t.Errorf("answer %+v", got)
			}
		})
	}
	_, c := writeFake(t)
	want := []lms.Status{lms.StatusEnrolled, lms.StatusInProgress, lms.StatusCompleted, lms.StatusFailed}
	if got := c.SettableStatuses(); len(got) != len(want) {
		t.Errorf("SettableStatuses %v, want %v", got, want)
	}
}

// TestWithdraw: un-enroll by a JSON array of enrollment ids (§2.3 #7); the
// answer is the last known record, withdrawn.
func TestWithdraw(t *testing.T) {
	for _, mode := range []string{"", "unenroll"} {
		f, c := writeFake(t)
		got, err := c.Withdraw(context.Background(), provider.WithdrawParams{EnrollmentID: "c1-e001", Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		calls := apiCalls(f)
		if len(calls) != 2 || calls[1].Method != "POST" || calls[1].Path != "/enrollments/unenroll" || calls[1].Body != `["c1-e001"]` {
			t.Fatalf("calls %+v", calls)
		}
		if got.ID != "c1-e001" || got.Status != lms.StatusWithdrawn || got.RemoteStatus != "1" {
			t.Errorf("answer %+v", got)
		}
	}
	_, c := writeFake(t)
	if _, err := c.Withdraw(context.Background(), provider.WithdrawParams{EnrollmentID: "missing"}); !provider.IsKind(err, provider.KindNotFound) {
		t.Errorf("withdraw unknown: %v", err)
	}
	if modes := c.WithdrawModes(); len(modes) != 1 || modes[0] != "unenroll" {
		t.Errorf("modes %v", modes)
	}
}

// TestLessonAttempts: start (§2.3 #21) answers the attempt id; finish (§2.3
// #22) sends status 1/3/5 with optional score and dates.
func TestLessonAttempts(t *testing.T) {
	f, c := writeFake(t)
	id, err := c.LessonAttemptStart(context.Background(), provider.LessonAttemptParams{UserID: "u001", CourseID: "c1", LessonID: "l1"})
	if err != nil || id != "a1" {
		t.Fatalf("start: %q, %v", id, err)
	}
	started := time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)
	for _, status := range []int{1, 3, 5} {
		err := c.LessonAttemptFinish(context.Background(), provider.LessonAttemptFinishParams{AttemptID: "a1", Status: status, Score: lms.Ptr(75.0), StartedAt: &started})
		if err != nil {
			t.Fatalf("finish %d: %v", status, err)
		}
	}
	finishes := f.requests("PUT", "/attempts/a1")
	if len(finishes) != 3 {
		t.Fatalf("%d finish calls", len(finishes))
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(finishes[2].Body), &body); err != nil {
		t.Fatal(err)
	}
	if body["status"] != 5.0 || body["score"] != 75.0 || body["startDate"] != "2026-02-01T10:00:00Z" || body["completionDate"] != nil {
		t.Errorf("finish body %v", body)
	}
}
