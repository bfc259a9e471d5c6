package clockjob_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/clockjob"
	"github.com/registrarhq/registrar/internal/events"
	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/store"
	"github.com/registrarhq/registrar/internal/store/sqlite"
)

var t0 = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

type bundle struct {
	ctx   context.Context
	store store.Store
	now   time.Time
	job   *clockjob.Job
}

func setup(t *testing.T, batch int) *bundle {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(t.TempDir(), "r.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	err = st.InTx(ctx, func(tx store.Tx) error {
		return tx.ConnectionCreate(ctx, &store.Connection{ID: "con_1", Provider: "absorb", Name: "a",
			Settings: map[string]string{}, SyncInterval: time.Minute, CreatedAt: t0, UpdatedAt: t0})
	})
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{ctx: ctx, store: st, now: t0}
	b.job = clockjob.New(clockjob.Config{Store: st, Now: func() time.Time { return b.now }, BatchSize: batch})
	return b
}

func (b *bundle) apply(t *testing.T, recs ...lms.CourseEnrollment) {
	t.Helper()
	err := b.store.InTx(b.ctx, func(tx store.Tx) error {
		_, err := events.Apply(b.ctx, tx, events.ApplyParams{ConnectionID: "con_1", Records: recs, Now: b.now, Source: "sync"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// run runs the job and returns the events it appended, as "type:id".
func (b *bundle) run(t *testing.T) []string {
	t.Helper()
	before, _ := b.store.EventLastSeq(b.ctx)
	n, err := b.job.Run(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	evts, err := b.store.EventList(b.ctx, store.EventListParams{AfterSeq: before, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(evts) {
		t.Fatalf("Run says %d events, feed has %d", n, len(evts))
	}
	var out []string
	for _, e := range evts {
		var d events.Data
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		want := lms.StatusOverdue
		if e.Type == store.EventEnrollmentExpired {
			want = lms.StatusExpired
		}
		if d.Status != want || d.EnrollmentID != e.EnrollmentID || e.ConnectionID != "con_1" || d.Source != "clock" || !e.OccurredAt.Equal(b.now) {
			t.Fatalf("event %s: %+v", e.Type, d)
		}
		out = append(out, strings.TrimPrefix(e.Type, "enrollment.")+":"+e.EnrollmentID)
	}
	sort.Strings(out)
	return out
}

func rec(id string, status lms.Status, due, expires *time.Time) lms.CourseEnrollment {
	return lms.CourseEnrollment{ID: id, Provider: "absorb", Status: status, DueAt: due, ExpiresAt: expires,
		User: &lms.User{ID: "u-" + id}, Course: &lms.Course{ID: "c1"}}
}

func at(d time.Duration) *time.Time { t := t0.Add(d); return &t }

func TestRaisesOncePerRecord(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	b.apply(t,
		rec("past-due", lms.StatusInProgress, at(-time.Hour), nil),
		rec("due-later", lms.StatusEnrolled, at(2*time.Hour), nil),
		rec("done-late", lms.StatusCompleted, at(-time.Hour), nil),
		rec("expired", lms.StatusCompleted, nil, at(-time.Minute)),
		rec("expires-later", lms.StatusPassed, nil, at(3*time.Hour)),
		rec("withdrawn", lms.StatusWithdrawn, at(-time.Hour), at(-time.Hour)),
		rec("no-dates", lms.StatusEnrolled, nil, nil),
	)
	if got, want := b.run(t), []string{"expired:expired", "overdue:past-due"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("first run raised %v, want %v", got, want)
	}
	if got := b.run(t); len(got) != 0 {
		t.Fatalf("second run raised %v", got)
	}
	b.now = t0.Add(4 * time.Hour)
	if got, want := b.run(t), []string{"expired:expires-later", "overdue:due-later"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("after the clock moved: %v, want %v", got, want)
	}
	if got := b.run(t); len(got) != 0 {
		t.Fatalf("run after that raised %v", got)
	}
	// A moved due date can pass, and be announced, again.
	b.apply(t, rec("past-due", lms.StatusInProgress, at(5*time.Hour), nil))
	if got := b.run(t); len(got) != 0 {
		t.Fatalf("raised before the new date: %v", got)
	}
	b.now = t0.Add(6 * time.Hour)
	if got := b.run(t); strings.Join(got, " ") != "overdue:past-due" {
		t.Fatalf("after the new date passed: %v", got)
	}
}

func TestDrainsMoreThanOneBatch(t *testing.T) {
	t.Parallel()
	b := setup(t, 3)
	var recs []lms.CourseEnrollment
	for i := range 10 {
		recs = append(recs, rec(string(rune('a'+i)), lms.StatusEnrolled, at(-time.Duration(i+1)*time.Minute), nil))
	}
	b.apply(t, recs...)
	if got := b.run(t); len(got) != 10 {
		t.Fatalf("raised %d events, want 10: %v", len(got), got)
	}
	if got := b.run(t); len(got) != 0 {
		t.Fatalf("second run raised %v", got)
	}
}
