package events_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/events"
	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/store"
	"github.com/registrarhq/registrar/internal/store/sqlite"
)

func benchRecord(i int) lms.CourseEnrollment {
	due := t0.Add(time.Duration(i) * time.Hour)
	return lms.CourseEnrollment{
		ID: fmt.Sprintf("%09d", i), Provider: "canvas", Status: lms.StatusInProgress, RemoteStatus: "active",
		User:   &lms.User{ID: fmt.Sprintf("u%d", i%5000), Name: "Zoë Ångström", Emails: []lms.Email{{Email: fmt.Sprintf("u%d@example.com", i%5000)}}},
		Course: &lms.Course{ID: fmt.Sprintf("c%d", i%200), Title: "Workplace Safety 101"},
		DueAt:  &due, Score: lms.Ptr(81.5), ProgressPercent: lms.Ptr(40.0), Role: lms.RoleLearner,
		URLs:       []lms.URL{{URL: "https://canvas.example.com/courses/1/users/2", Type: "html"}},
		RemoteData: []byte(`{"id":1,"course_id":2,"user_id":3,"type":"StudentEnrollment","enrollment_state":"active","grades":{"current_score":81.5}}`),
	}
}

func BenchmarkHash(b *testing.B) {
	r := benchRecord(1)
	b.ReportAllocs()
	for b.Loop() {
		events.Hash(r)
	}
}

// BenchmarkApplyPage measures storing one 100-record sync page (new records,
// so every row and its created event are written) in one transaction.
func BenchmarkApplyPage(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b, "con_1")
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		page := make([]lms.CourseEnrollment, 100)
		for i := range page {
			page[i] = benchRecord(n)
			n++
		}
		err := s.InTx(ctx, func(tx store.Tx) error {
			_, err := events.Apply(ctx, tx, events.ApplyParams{ConnectionID: "con_1", RunID: "run_1", Records: page, Now: t0, Source: "sync"})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkApplyPageUnchanged measures a re-sync page where nothing changed:
// hashes compared, nothing rewritten, no events.
func BenchmarkApplyPageUnchanged(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b, "con_1")
	page := make([]lms.CourseEnrollment, 100)
	for i := range page {
		page[i] = benchRecord(i)
	}
	apply := func(run string) {
		err := s.InTx(ctx, func(tx store.Tx) error {
			_, err := events.Apply(ctx, tx, events.ApplyParams{ConnectionID: "con_1", RunID: run, Records: page, Now: t0, Source: "sync"})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	apply("run_0")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		apply(fmt.Sprintf("run_%d", i))
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "records/s")
}

// benchStore opens a store in b's temporary directory with one Canvas
// connection cid; it is closed when the benchmark ends.
func benchStore(b *testing.B, cid string) *sqlite.Store {
	b.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(b.TempDir(), "r.db")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	c := &store.Connection{ID: cid, Provider: "canvas", Name: "a", Settings: map[string]string{}, SyncInterval: time.Minute, CreatedAt: t0, UpdatedAt: t0}
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.ConnectionCreate(ctx, c) }); err != nil {
		b.Fatal(err)
	}
	return s
}
