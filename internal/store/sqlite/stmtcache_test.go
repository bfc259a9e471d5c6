package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/store"
	"github.com/registrarhq/registrar/internal/store/sqlite"
)

// TestEnrollmentListManyShapes: list queries of more filter shapes than the
// statement cache keeps, and with IN lists too long to be cached, all answer
// right, the first and the second time (cached or not); after Close, lists
// fail instead of using closed statements silently.
func TestEnrollmentListManyShapes(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(t.TempDir(), "registrar.db")})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := &store.Connection{ID: "con_1", Provider: "canvas", Name: "a", Settings: map[string]string{},
		SyncInterval: time.Minute, CreatedAt: t0, UpdatedAt: t0}
	var rows []store.Enrollment
	for i := range 40 {
		rows = append(rows, store.Enrollment{Record: lms.CourseEnrollment{
			ConnectionID: "con_1", ID: fmt.Sprintf("e%02d", i), Provider: "canvas", Status: lms.StatusEnrolled,
			User:   &lms.User{ID: fmt.Sprintf("u%02d", i)},
			Course: &lms.Course{ID: fmt.Sprintf("c%d", i%3)},
		}, ContentHash: "h", ChangedAt: t0})
	}
	if err := s.InTx(ctx, func(tx store.Tx) error {
		if err := tx.ConnectionCreate(ctx, c); err != nil {
			return err
		}
		return tx.EnrollmentUpsertMany(ctx, rows)
	}); err != nil {
		t.Fatal(err)
	}
	// 20 user-list lengths × 2 course filters × 2 cursors = 80 shapes (> 64),
	// lists of more than 8 values among them.
	check := func() {
		t.Helper()
		for n := 1; n <= 20; n++ {
			for _, courses := range [][]string{nil, {"c0", "c1"}} {
				for _, after := range []store.EnrollmentKey{{}, {ConnectionID: "con_1", ID: "e00"}} {
					var users []string
					want := map[string]bool{}
					for i := range n {
						users = append(users, fmt.Sprintf("u%02d", i))
						if (courses == nil || i%3 != 2) && (after.IsZero() || i > 0) {
							want[fmt.Sprintf("e%02d", i)] = true
						}
					}
					res, err := s.EnrollmentList(ctx, store.EnrollmentListParams{UserIDs: users, CourseIDs: courses,
						After: after, Limit: 100, Now: t0})
					if err != nil {
						t.Fatalf("%d users, courses %v, after %v: %v", n, courses, after, err)
					}
					got := map[string]bool{}
					for _, e := range res.Enrollments {
						got[e.Record.ID] = true
					}
					if fmt.Sprint(got) != fmt.Sprint(want) {
						t.Fatalf("%d users, courses %v, after %v: got %v, want %v", n, courses, after, got, want)
					}
				}
			}
		}
	}
	check()
	check()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnrollmentList(ctx, store.EnrollmentListParams{Limit: 10, Now: t0}); err == nil {
		t.Fatal("list after Close succeeded")
	}
}

// TestAPIKeyLookupSeesChanges: the per-request key lookup runs through a
// kept prepared statement, and still sees a key deleted or created by
// another connection at once (what the API promises for revocation).
func TestAPIKeyLookupSeesChanges(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(t.TempDir(), "registrar.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	k := &store.APIKey{ID: "key_1", Name: "ci", Prefix: "rk_abc", Hash: "h1", CreatedAt: time.Now()}
	put := func() {
		if err := s.InTx(ctx, func(tx store.Tx) error { return tx.APIKeyCreate(ctx, k) }); err != nil {
			t.Fatal(err)
		}
	}
	put()
	for round := range 3 {
		if got, err := s.APIKeyGetByHash(ctx, "h1"); err != nil || got.ID != "key_1" {
			t.Fatalf("round %d: lookup of a live key: %v, %v", round, got, err)
		}
		if err := s.InTx(ctx, func(tx store.Tx) error { return tx.APIKeyDelete(ctx, "key_1") }); err != nil {
			t.Fatal(err)
		}
		if _, err := s.APIKeyGetByHash(ctx, "h1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("round %d: lookup of a deleted key: %v, want not found", round, err)
		}
		put()
	}
}
