package events_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/events"
	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/store"
)

// referenceHash is Hash as earlier versions computed it, with encoding/json.
// Stored hashes were made that way: if Hash gave other values, every stored
// record would look changed to the next sync.
func referenceHash(r lms.CourseEnrollment) string {
	r.SyncedAt, r.RemoteDeletedAt, r.ConnectionID = nil, nil, ""
	b, err := json.Marshal(r)
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

func TestHashIsStableAcrossVersions(t *testing.T) {
	var recs []lms.CourseEnrollment
	files, err := filepath.Glob("../provider/*/testdata/*.golden.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var r lms.CourseEnrollment
		if json.Unmarshal(b, &r) == nil && r.ID != "" {
			recs = append(recs, r)
		}
	}
	if len(recs) < 20 {
		t.Fatalf("found %d golden records of the connectors; the glob is wrong", len(recs))
	}
	recs = append(recs,
		// HTML-special characters, line separators, whitespace in the vendor JSON.
		lms.CourseEnrollment{ID: "x<y>&z\u2028\u2029", Score: lms.Ptr(1e21), ProgressPercent: lms.Ptr(0.000001),
			RemoteData: json.RawMessage("{ \"a\" : [1, 2,\n 3], \"h\":\"<b>&amp;\" ,\"u\":\"\u2028\"}")},
		// Invalid UTF-8, negative zero, large and precise numbers.
		lms.CourseEnrollment{ID: "bad\xffutf8", Score: lms.Ptr(-0.0), ProgressPercent: lms.Ptr(123456789.123456789),
			TimeSpentSeconds: lms.Ptr(int64(1) << 60)},
		// Custom fields: maps (sorted keys), nested values, nulls, small floats.
		lms.CourseEnrollment{ID: "e", CustomFields: map[string]any{"b": 1.5, "a": []any{"x", nil, true},
			"c": map[string]any{"z": "<", "y": 2e-7}}},
	)
	for _, r := range recs {
		if got, want := events.Hash(r), referenceHash(r); got != want {
			t.Errorf("record %q: Hash %s, earlier versions %s", r.ID, got, want)
		}
	}
}

// A stored record whose hash differs although no field did (hashed by a
// version that encoded differently) gets the new hash, keeps its change
// time, and raises no event.
func TestHashOnlyDifferenceRaisesNoEvent(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	r := rec("e1", lms.StatusEnrolled, 3)
	apply(t, s, "run_1", t0, r)
	err := s.InTx(ctx, func(tx store.Tx) error {
		old, err := tx.EnrollmentGet(ctx, "con_1", "e1")
		if err != nil {
			return err
		}
		old.ContentHash = "hash-of-another-version"
		return tx.EnrollmentUpsertMany(ctx, []store.Enrollment{*old})
	})
	if err != nil {
		t.Fatal(err)
	}
	c, evts := apply(t, s, "run_2", t0.Add(time.Hour), r)
	if len(evts) != 0 || c.Updated != 0 || c.Unchanged != 1 {
		t.Fatalf("%+v, %d events", c, len(evts))
	}
	got, err := s.EnrollmentGet(ctx, "con_1", "e1")
	if err != nil || got.ContentHash != events.Hash(r) || !got.ChangedAt.Equal(t0) || got.SeenRun != "run_2" {
		t.Fatalf("stored %+v (%v)", got, err)
	}
}

// With Encoded set (a sync that expects new records), Apply inserts first
// and diffs the rest: every case still gets its own count and event.
func TestApplyInsertFirstDiffsTheRest(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	apply(t, s, "run_1", t0, rec("same", lms.StatusEnrolled, 1), rec("changed", lms.StatusEnrolled, 1), rec("gone", lms.StatusEnrolled, 1))
	apply(t, s, "run_2", t0, rec("same", lms.StatusEnrolled, 1), rec("changed", lms.StatusEnrolled, 1))
	err := s.InTx(ctx, func(tx store.Tx) error {
		swept, err := tx.EnrollmentSweep(ctx, store.EnrollmentSweepParams{ConnectionID: "con_1", RunID: "run_2", DeletedAt: t0})
		if err == nil && (len(swept) != 1 || swept[0].Record.ID != "gone") {
			err = fmt.Errorf("swept %d records", len(swept))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	recs := []lms.CourseEnrollment{rec("same", lms.StatusEnrolled, 1), rec("changed", lms.StatusPassed, 90),
		rec("gone", lms.StatusEnrolled, 1), rec("new", lms.StatusEnrolled, 0), rec("new", lms.StatusEnrolled, 0)}
	encoded := make([][]byte, len(recs))
	for i, r := range recs {
		b, err := s.EnrollmentEncode(r)
		if err != nil {
			t.Fatal(err)
		}
		encoded[i] = b
	}
	before, _ := s.EventLastSeq(ctx)
	var c events.Counts
	err = s.InTx(ctx, func(tx store.Tx) error {
		c, err = events.Apply(ctx, tx, events.ApplyParams{ConnectionID: "con_1", RunID: "run_3", Records: recs,
			Encoded: encoded, Now: t0.Add(time.Hour), Source: "sync"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if c != (events.Counts{Inserted: 1, Updated: 1, Unchanged: 1, Restored: 1}) {
		t.Fatalf("counts %+v", c)
	}
	evts, _ := s.EventList(ctx, store.EventListParams{AfterSeq: before, Limit: 100})
	got := map[string]string{}
	for _, e := range evts {
		got[e.EnrollmentID] = e.Type
	}
	want := map[string]string{"new": store.EventEnrollmentCreated, "changed": store.EventEnrollmentStatusChanged,
		"gone": store.EventEnrollmentRestored}
	if !reflect.DeepEqual(got, want) || len(evts) != 3 {
		t.Fatalf("events %v, want %v", got, want)
	}
	for _, id := range []string{"same", "changed", "gone", "new"} {
		e, err := s.EnrollmentGet(ctx, "con_1", id)
		if err != nil || e.SeenRun != "run_3" || e.Record.RemoteDeletedAt != nil {
			t.Fatalf("%s: %+v (%v)", id, e, err)
		}
	}
}
