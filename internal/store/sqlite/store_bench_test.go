package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/store"
	"github.com/registrarhq/registrar/internal/store/sqlite"
)

// benchRows is the size of the store the list benchmarks read: big enough
// that an index mistake shows, small enough to build in a few seconds.
const benchRows = 200_000

var benchT0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

func benchEnrollment(i int) store.Enrollment {
	due := benchT0.Add(time.Duration(i) * time.Hour)
	r := lms.CourseEnrollment{
		ConnectionID: "con_1", ID: fmt.Sprintf("%09d", i), Provider: "canvas", Status: lms.StatusInProgress, RemoteStatus: "active",
		User:   &lms.User{ID: fmt.Sprintf("u%d", i%20000), Name: "Zoë Ångström", Emails: []lms.Email{{Email: fmt.Sprintf("u%d@example.com", i%20000)}}},
		Course: &lms.Course{ID: fmt.Sprintf("c%d", i%200), Title: "Workplace Safety 101"},
		DueAt:  &due, Score: lms.Ptr(81.5), ProgressPercent: lms.Ptr(40.0), Role: lms.RoleLearner, SyncedAt: &benchT0,
		URLs:       []lms.URL{{URL: "https://canvas.example.com/courses/1/users/2", Type: "html"}},
		RemoteData: []byte(`{"id":1,"course_id":2,"user_id":3,"type":"StudentEnrollment","enrollment_state":"active","grades":{"current_score":81.5}}`),
	}
	return store.Enrollment{Record: r, ContentHash: fmt.Sprintf("%032x", i), ChangedAt: benchT0, SeenRun: "run_1"}
}

func benchStore(b *testing.B) *sqlite.Store {
	b.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(b.TempDir(), "registrar.db")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	c := &store.Connection{ID: "con_1", Provider: "canvas", Name: "a", Settings: map[string]string{}, SyncInterval: time.Minute,
		CreatedAt: benchT0, UpdatedAt: benchT0}
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.ConnectionCreate(ctx, c) }); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkEnrollmentUpsertMany writes one sync page of 100 new rows in a
// transaction (no events: events.BenchmarkApplyPage measures the whole).
func BenchmarkEnrollmentUpsertMany(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b)
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		rows := make([]store.Enrollment, 100)
		for i := range rows {
			rows[i] = benchEnrollment(n)
			n++
		}
		if err := s.InTx(ctx, func(tx store.Tx) error { return tx.EnrollmentUpsertMany(ctx, rows) }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkEnrollmentList reads 50-row pages from a store of benchRows rows,
// built once: the first page, a page 90% into the cursor walk, and the
// enrollments of one user.
func BenchmarkEnrollmentList(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b)
	for start := 0; start < benchRows; start += 5000 {
		rows := make([]store.Enrollment, 0, 5000)
		for i := start; i < start+5000; i++ {
			rows = append(rows, benchEnrollment(i))
		}
		if err := s.InTx(ctx, func(tx store.Tx) error { return tx.EnrollmentUpsertMany(ctx, rows) }); err != nil {
			b.Fatal(err)
		}
	}
	deep := store.EnrollmentKey{ConnectionID: "con_1", ID: fmt.Sprintf("%09d", benchRows*9/10)}
	for _, bc := range []struct {
		name string
		p    func(i int) store.EnrollmentListParams
	}{
		{"first", func(int) store.EnrollmentListParams { return store.EnrollmentListParams{Limit: 50} }},
		{"deep", func(int) store.EnrollmentListParams { return store.EnrollmentListParams{Limit: 50, After: deep} }},
		{"user", func(i int) store.EnrollmentListParams {
			return store.EnrollmentListParams{Limit: 50, UserIDs: []string{fmt.Sprintf("u%d", i%20000)}}
		}},
		// raw: the stored JSON, patched as the API serves it.
		{"first-raw", func(int) store.EnrollmentListParams { return store.EnrollmentListParams{Limit: 50, Raw: true} }},
		{"deep-raw", func(int) store.EnrollmentListParams {
			return store.EnrollmentListParams{Limit: 50, After: deep, Raw: true}
		}},
		// json: the same pages written by EnrollmentListJSON, as the API does.
		{"first-json", func(int) store.EnrollmentListParams { return store.EnrollmentListParams{Limit: 50, Raw: true} }},
		{"deep-json", func(int) store.EnrollmentListParams {
			return store.EnrollmentListParams{Limit: 50, After: deep, Raw: true}
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			var buf []byte
			for b.Loop() {
				p := bc.p(i)
				p.Now = benchT0
				if strings.HasSuffix(bc.name, "-json") {
					page, err := s.EnrollmentListJSON(ctx, p, buf[:0])
					if err != nil || page.Count == 0 {
						b.Fatal(err, page.Count)
					}
					buf = page.JSON
					i++
					continue
				}
				res, err := s.EnrollmentList(ctx, p)
				if err != nil || len(res.Enrollments) == 0 {
					b.Fatal(err, len(res.Enrollments))
				}
				if p.Raw {
					buf = buf[:0]
					for j := range res.Enrollments {
						if buf, err = store.AppendEnrollmentJSON(buf, &res.Enrollments[j], p.Now); err != nil {
							b.Fatal(err)
						}
					}
				}
				i++
			}
		})
	}
}
