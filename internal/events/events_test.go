package events_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/events"
	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/store"
	"github.com/registrarhq/registrar/internal/store/sqlite"
)

var t0 = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

func open(t *testing.T) store.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(t.TempDir(), "r.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := &store.Connection{ID: "con_1", Provider: "absorb", Name: "a", Settings: map[string]string{}, SyncInterval: time.Minute, CreatedAt: t0, UpdatedAt: t0}
	if err := s.InTx(context.Background(), func(tx store.Tx) error { return tx.ConnectionCreate(context.Background(), c) }); err != nil {
		t.Fatal(err)
	}
	return s
}

func rec(id string, status lms.Status, score float64) lms.CourseEnrollment {
	return lms.CourseEnrollment{ID: id, Provider: "absorb", Status: status, Score: lms.Ptr(score),
		User: &lms.User{ID: "u1", Name: "Ana"}, Course: &lms.Course{ID: "c1", Title: "Safety"}}
}

func apply(t *testing.T, s store.Store, run string, now time.Time, recs ...lms.CourseEnrollment) (events.Counts, []store.Event) {
	t.Helper()
	ctx := context.Background()
	before, _ := s.EventLastSeq(ctx)
	var c events.Counts
	err := s.InTx(ctx, func(tx store.Tx) error {
		var err error
		c, err = events.Apply(ctx, tx, events.ApplyParams{ConnectionID: "con_1", RunID: run, Records: recs, Now: now, Source: "sync"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	evts, err := s.EventList(ctx, store.EventListParams{AfterSeq: before, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return c, evts
}

func TestApplyRaisesOneEventPerChange(t *testing.T) {
	s := open(t)
	c, evts := apply(t, s, "run_1", t0, rec("e1", lms.StatusEnrolled, 0), rec("e2", lms.StatusEnrolled, 0), rec("e2", lms.StatusEnrolled, 0))
	if c.Inserted != 2 || len(evts) != 2 || evts[0].Type != store.EventEnrollmentCreated {
		t.Fatalf("first apply: %+v %d events", c, len(evts))
	}
	c, evts = apply(t, s, "run_2", t0.Add(time.Hour), rec("e1", lms.StatusEnrolled, 0), rec("e2", lms.StatusEnrolled, 0))
	if c.Unchanged != 2 || len(evts) != 0 {
		t.Fatalf("unchanged apply: %+v, %d events", c, len(evts))
	}
	// Unchanged rows are not rewritten: their changed_at stays.
	e1, _ := s.EnrollmentGet(context.Background(), "con_1", "e1")
	if !e1.ChangedAt.Equal(t0) || e1.SeenRun != "run_2" {
		t.Fatalf("unchanged row rewritten: changed_at %v seen %q", e1.ChangedAt, e1.SeenRun)
	}
	c, evts = apply(t, s, "run_3", t0.Add(2*time.Hour), rec("e1", lms.StatusPassed, 91), rec("e2", lms.StatusEnrolled, 10))
	if c.Updated != 2 || len(evts) != 2 {
		t.Fatalf("changes: %+v %d events", c, len(evts))
	}
	var d events.Data
	json.Unmarshal(evts[0].Data, &d)
	if evts[0].Type != store.EventEnrollmentStatusChanged || d.PreviousStatus != lms.StatusEnrolled || d.Status != lms.StatusPassed ||
		len(d.ChangedFields) != 2 || d.ChangedFields[0] != "score" || d.ChangedFields[1] != "status" {
		t.Fatalf("status change event: %s %s", evts[0].Type, evts[0].Data)
	}
	json.Unmarshal(evts[1].Data, &d)
	if evts[1].Type != store.EventEnrollmentUpdated || len(d.ChangedFields) != 1 || d.ChangedFields[0] != "score" {
		t.Fatalf("update event: %s %s", evts[1].Type, evts[1].Data)
	}
}

func TestDeleteAndRestore(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	apply(t, s, "run_1", t0, rec("e1", lms.StatusEnrolled, 0), rec("e2", lms.StatusEnrolled, 0))
	apply(t, s, "run_2", t0.Add(time.Hour), rec("e1", lms.StatusEnrolled, 0))
	var swept []store.Enrollment
	err := s.InTx(ctx, func(tx store.Tx) error {
		var err error
		swept, err = tx.EnrollmentSweep(ctx, store.EnrollmentSweepParams{ConnectionID: "con_1", RunID: "run_2", DeletedAt: t0.Add(time.Hour)})
		if err != nil {
			return err
		}
		return events.Deleted(ctx, tx, "con_1", swept, t0.Add(time.Hour))
	})
	if err != nil || len(swept) != 1 || swept[0].Record.ID != "e2" {
		t.Fatalf("sweep: %v %+v", err, swept)
	}
	c, evts := apply(t, s, "run_3", t0.Add(2*time.Hour), rec("e2", lms.StatusEnrolled, 0))
	if c.Restored != 1 || len(evts) != 1 || evts[0].Type != store.EventEnrollmentRestored {
		t.Fatalf("restore: %+v %+v", c, evts)
	}
	e2, _ := s.EnrollmentGet(ctx, "con_1", "e2")
	if e2.Record.RemoteDeletedAt != nil {
		t.Fatal("restored record still marked deleted")
	}
}

func TestHashIgnoresBookkeeping(t *testing.T) {
	a := rec("e1", lms.StatusEnrolled, 1)
	b := a
	b.SyncedAt, b.ConnectionID = lms.UTC(t0), "con_x"
	if events.Hash(a) != events.Hash(b) {
		t.Fatal("bookkeeping changed the hash")
	}
	b.Score = lms.Ptr(2.0)
	if events.Hash(a) == events.Hash(b) {
		t.Fatal("a content change kept the hash")
	}
}

// Event payloads carry the record without its vendor payload; the stored
// row keeps it.
func TestEventsLeaveOutRemoteData(t *testing.T) {
	s := open(t)
	r := rec("e1", lms.StatusEnrolled, 0)
	r.RemoteData = json.RawMessage(`{"vendor":"raw"}`)
	_, evts := apply(t, s, "run_1", t0, r)
	if len(evts) != 1 {
		t.Fatalf("%d events", len(evts))
	}
	var d events.Data
	if err := json.Unmarshal(evts[0].Data, &d); err != nil || d.Enrollment == nil || d.Enrollment.ID != "e1" ||
		d.Enrollment.RemoteData != nil || d.Enrollment.User == nil || d.Enrollment.SyncedAt == nil {
		t.Fatalf("event data %s (%v)", evts[0].Data, err)
	}
	got, err := s.EnrollmentGet(context.Background(), "con_1", "e1")
	if err != nil || string(got.Record.RemoteData) != `{"vendor":"raw"}` {
		t.Fatalf("stored remote_data %s (%v)", got.Record.RemoteData, err)
	}
}
