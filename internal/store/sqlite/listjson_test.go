package sqlite_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/store"
	"github.com/registrarhq/registrar/internal/store/sqlite"
)

// TestEnrollmentListJSON: EnrollmentListJSON writes exactly the bytes of the
// raw listing of the same parameters patched by AppendEnrollmentJSON, with
// the page's count, last key and More (storetest EnrollmentListRaw checks
// those bytes against the decoded listing).
func TestEnrollmentListJSON(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(t.TempDir(), "registrar.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	now := t0.Add(30*time.Minute + 250*time.Millisecond)
	full := t0.Add(10 * time.Minute)
	at := func(d time.Duration) *time.Time { return lms.UTC(now.Add(d)) }
	var rows []store.Enrollment
	add := func(conn, provider, id string, st lms.Status, edit func(r *lms.CourseEnrollment)) {
		r := lms.CourseEnrollment{ID: id, ConnectionID: conn, Provider: provider, Status: st,
			User: &lms.User{ID: "u-" + id, Name: "Zoë \"Q\" <O'Brien>"}, Course: &lms.Course{ID: "c1", Title: "Safety"},
			SyncedAt: lms.UTC(t0)}
		if edit != nil {
			edit(&r)
		}
		rows = append(rows, store.Enrollment{Record: r, ContentHash: "h-" + id, ChangedAt: t0})
	}
	add("con_a", "canvas", "plain", lms.StatusEnrolled, func(r *lms.CourseEnrollment) {
		r.RemoteData = []byte(`{"id":"plain","grades":{"html_url":"https://x/y?a=1&b=2"}}`)
	})
	add("con_a", "canvas", "overdue", lms.StatusInProgress, func(r *lms.CourseEnrollment) { r.DueAt = at(-48 * time.Hour) })
	add("con_a", "canvas", "due-just-before", lms.StatusAssigned, func(r *lms.CourseEnrollment) { r.DueAt = at(-100 * time.Millisecond) })
	add("con_a", "canvas", "expires-at-now", lms.StatusEnrolled, func(r *lms.CourseEnrollment) { r.ExpiresAt = at(0) })
	add("con_a", "canvas", "synced-after-full", lms.StatusPassed, func(r *lms.CourseEnrollment) { r.SyncedAt = lms.UTC(t0.Add(20 * time.Minute)) })
	add("con_a", "canvas", "never-synced", lms.StatusUnknown, func(r *lms.CourseEnrollment) { r.SyncedAt = nil })
	add("con_a", "canvas", "deleted", lms.StatusEnrolled, func(r *lms.CourseEnrollment) { r.RemoteDeletedAt = lms.UTC(t0.Add(5 * time.Minute)) })
	add("con_a", "canvas", "odd \"id\" \\ é <&>\x01", lms.Status("custom-status"), nil)
	add("con_b", "absorb", "other", lms.StatusWithdrawn, nil)
	err = s.InTx(ctx, func(tx store.Tx) error {
		for _, c := range []*store.Connection{
			{ID: "con_a", Provider: "canvas", Name: "a", CreatedAt: t0, UpdatedAt: t0, LastFullSyncAt: &full},
			{ID: "con_b", Provider: "absorb", Name: "b", CreatedAt: t0, UpdatedAt: t0},
		} {
			if err := tx.ConnectionCreate(ctx, c); err != nil {
				return err
			}
		}
		return tx.EnrollmentUpsertMany(ctx, rows)
	})
	if err != nil {
		t.Fatal(err)
	}

	for _, p := range []store.EnrollmentListParams{
		{IncludeDeleted: true, Now: now, Limit: 100},
		{IncludeDeleted: true, Now: now, Limit: 3},
		{Now: now, Limit: 4, After: store.EnrollmentKey{ConnectionID: "con_a", ID: "e"}},
		{Statuses: []lms.Status{lms.StatusOverdue, lms.StatusExpired}, Now: now},
		{UserIDs: []string{"u-nobody"}, Now: now},
	} {
		p.Raw = true
		res, err := s.EnrollmentList(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		want := []byte("prefix")
		for i := range res.Enrollments {
			if i > 0 {
				want = append(want, ',')
			}
			if want, err = store.AppendEnrollmentJSON(want, &res.Enrollments[i], now); err != nil {
				t.Fatal(err)
			}
		}
		page, err := s.EnrollmentListJSON(ctx, p, []byte("prefix"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(page.JSON, want) {
			t.Errorf("%+v: EnrollmentListJSON wrote\n%s\nwant\n%s", p, page.JSON, want)
		}
		var last store.EnrollmentKey
		if n := len(res.Enrollments); n > 0 {
			last = store.EnrollmentKey{ConnectionID: res.Enrollments[n-1].Record.ConnectionID, ID: res.Enrollments[n-1].Record.ID}
		}
		if page.Count != len(res.Enrollments) || page.More != res.More || page.Last != last {
			t.Errorf("%+v: count %d, more %v, last %v; want %d, %v, %v", p, page.Count, page.More, page.Last,
				len(res.Enrollments), res.More, last)
		}
	}
}
