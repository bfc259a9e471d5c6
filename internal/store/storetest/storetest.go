// Package storetest is the behaviour suite every storage engine passes, in
// the manner of River's riverdrivertest: one set of tests, run against SQLite
// always and PostgreSQL whenever a test database is configured, so the two
// engines cannot drift apart.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/store"
)

// Factory returns a fresh, empty, migrated store; the suite closes it.
type Factory func(t *testing.T) store.Store

// Run runs the whole suite.
func Run(t *testing.T, newStore Factory) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"ConnectionCRUD", testConnectionCRUD},
		{"APIKeys", testAPIKeys},
		{"EnrollmentUpsertAndGet", testEnrollmentUpsertAndGet},
		{"EnrollmentUpsertEncoded", testEnrollmentUpsertEncoded},
		{"EnrollmentInsertNew", testEnrollmentInsertNew},
		{"EnrollmentListFilters", testEnrollmentListFilters},
		{"EnrollmentListPagination", testEnrollmentListPagination},
		{"EnrollmentEffectiveStatus", testEnrollmentEffectiveStatus},
		{"EnrollmentSweep", testEnrollmentSweep},
		{"EnrollmentSyncedAt", testEnrollmentSyncedAt},
		{"EnrollmentListRaw", testEnrollmentListRaw},
		{"TxRollback", testTxRollback},
		{"UsersAndCourses", testUsersAndCourses},
		{"SyncRuns", testSyncRuns},
		{"Events", testEvents},
		{"EventsManyInOneTx", testEventsManyInOneTx},
		{"EnrollmentWritesManyRows", testEnrollmentWritesManyRows},
		{"Webhooks", testWebhooks},
		{"Idempotency", testIdempotency},
		{"ConnectionDeleteCascades", testConnectionDeleteCascades},
		{"DateEventsOncePerRecord", testDateEventsOncePerRecord},
		{"SyncRunListActive", testSyncRunListActive},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func ctx() context.Context { return context.Background() }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func inTx(t *testing.T, s store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	must(t, s.InTx(ctx(), fn))
}

func newConnection(t *testing.T, s store.Store, id, provider, tenant string) *store.Connection {
	t.Helper()
	c := &store.Connection{
		ID: id, Provider: provider, Name: "conn " + id, Tenant: tenant,
		Settings:          map[string]string{"base_url": "https://lms.example.com"},
		SecretsCiphertext: []byte{1, 2, 3},
		SecretNames:       []string{"token"},
		SyncInterval:      15 * time.Minute,
		CreatedAt:         t0, UpdatedAt: t0,
	}
	inTx(t, s, func(tx store.Tx) error { return tx.ConnectionCreate(ctx(), c) })
	return c
}

func testConnectionCRUD(t *testing.T, s store.Store) {
	c := newConnection(t, s, "con_1", "canvas", "acme")
	got, err := s.ConnectionGet(ctx(), "con_1")
	must(t, err)
	if got.Name != c.Name || got.Settings["base_url"] != "https://lms.example.com" || string(got.SecretsCiphertext) != "\x01\x02\x03" ||
		got.SyncInterval != 15*time.Minute || !got.CreatedAt.Equal(t0) || len(got.SecretNames) != 1 {
		t.Fatalf("round trip: %+v", got)
	}
	byName, err := s.ConnectionGetByName(ctx(), c.Name)
	must(t, err)
	if byName.ID != "con_1" {
		t.Fatalf("by name: %s", byName.ID)
	}
	if _, err := s.ConnectionGet(ctx(), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	dup := *c
	dup.ID = "con_2"
	if err := s.InTx(ctx(), func(tx store.Tx) error { return tx.ConnectionCreate(ctx(), &dup) }); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate name: %v", err)
	}
	newConnection(t, s, "con_3", "absorb", "globex")
	list, err := s.ConnectionList(ctx(), store.ConnectionListParams{Tenant: "globex"})
	must(t, err)
	if len(list) != 1 || list[0].ID != "con_3" {
		t.Fatalf("list by tenant: %+v", list)
	}
	got.Name, got.UpdatedAt = "renamed", t0.Add(time.Hour)
	got.LastSyncAt, got.LastSyncStatus = lms.UTC(t0.Add(time.Minute)), store.SyncStatusSucceeded
	inTx(t, s, func(tx store.Tx) error { return tx.ConnectionUpdate(ctx(), got) })
	again, err := s.ConnectionGet(ctx(), "con_1")
	must(t, err)
	if again.Name != "renamed" || again.LastSyncStatus != store.SyncStatusSucceeded || again.LastSyncAt == nil {
		t.Fatalf("update: %+v", again)
	}
	ghost := *got
	ghost.ID = "nope"
	ghost.Name = "ghost"
	if err := s.InTx(ctx(), func(tx store.Tx) error { return tx.ConnectionUpdate(ctx(), &ghost) }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update unknown: %v", err)
	}
	inTx(t, s, func(tx store.Tx) error { return tx.ConnectionDelete(ctx(), "con_1") })
	if _, err := s.ConnectionGet(ctx(), "con_1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if err := s.InTx(ctx(), func(tx store.Tx) error { return tx.ConnectionDelete(ctx(), "con_1") }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

func testAPIKeys(t *testing.T, s store.Store) {
	k := &store.APIKey{ID: "key_1", Name: "ci", Prefix: "rk_abc", Hash: "deadbeef", ReadOnly: true, CreatedAt: t0}
	inTx(t, s, func(tx store.Tx) error { return tx.APIKeyCreate(ctx(), k) })
	got, err := s.APIKeyGetByHash(ctx(), "deadbeef")
	must(t, err)
	if got.ID != "key_1" || !got.ReadOnly || got.Name != "ci" {
		t.Fatalf("got %+v", got)
	}
	if _, err := s.APIKeyGetByHash(ctx(), "other"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown hash: %v", err)
	}
	keys, err := s.APIKeyList(ctx())
	must(t, err)
	if len(keys) != 1 {
		t.Fatalf("list: %d", len(keys))
	}
	inTx(t, s, func(tx store.Tx) error { return tx.APIKeyDelete(ctx(), "key_1") })
	if _, err := s.APIKeyGetByHash(ctx(), "deadbeef"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

// enrollment builds a stored record.
func enrollment(conn, provider, id, user, email, course string, status lms.Status) store.Enrollment {
	return store.Enrollment{
		Record: lms.CourseEnrollment{
			ID: id, ConnectionID: conn, Provider: provider, Status: status, RemoteStatus: string(status),
			User:     &lms.User{ID: user, Name: "User " + user, Emails: []lms.Email{{Email: email, IsPrimary: lms.Ptr(true)}}},
			Course:   &lms.Course{ID: course, Title: "Course " + course},
			SyncedAt: lms.UTC(t0),
		},
		ContentHash: "h-" + id + "-" + string(status),
		ChangedAt:   t0,
	}
}

func upsert(t *testing.T, s store.Store, rows ...store.Enrollment) {
	t.Helper()
	inTx(t, s, func(tx store.Tx) error { return tx.EnrollmentUpsertMany(ctx(), rows) })
}

func testEnrollmentUpsertAndGet(t *testing.T, s store.Store) {
	newConnection(t, s, "con_1", "canvas", "")
	e := enrollment("con_1", "canvas", "e1", "u1", "Ana@Example.com", "c1", lms.StatusInProgress)
	e.Record.Score = lms.Ptr(87.5)
	e.Record.DueAt = lms.UTC(t0.Add(48 * time.Hour))
	e.Record.RemoteData = []byte(`{"id":"e1","enrollment_state":"active"}`)
	e.Record.Section = &lms.Section{ID: "s1", Name: "Section 1"}
	upsert(t, s, e)
	got, err := s.EnrollmentGet(ctx(), "con_1", "e1")
	must(t, err)
	r := got.Record
	if r.ID != "e1" || r.ConnectionID != "con_1" || r.Provider != "canvas" || r.Status != lms.StatusInProgress ||
		r.Score == nil || *r.Score != 87.5 || r.User.Name != "User u1" || r.Section.Name != "Section 1" ||
		string(r.RemoteData) != `{"id":"e1","enrollment_state":"active"}` || !r.DueAt.Equal(t0.Add(48*time.Hour)) ||
		got.ContentHash != e.ContentHash || r.SyncedAt == nil {
		t.Fatalf("round trip: %+v", got)
	}
	// Replace: every column follows the new values.
	e.Record.Status = lms.StatusCompleted
	e.ContentHash = "h2"
	upsert(t, s, e)
	got, err = s.EnrollmentGet(ctx(), "con_1", "e1")
	must(t, err)
	if got.Record.Status != lms.StatusCompleted || got.ContentHash != "h2" {
		t.Fatalf("after replace: %+v", got.Record)
	}
	states, err := s.EnrollmentStates(ctx(), "con_1", []string{"e1", "missing"})
	must(t, err)
	if len(states) != 1 || states["e1"].ContentHash != "h2" || states["e1"].Status != lms.StatusCompleted {
		t.Fatalf("states: %+v", states)
	}
	if _, err := s.EnrollmentGet(ctx(), "con_1", "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
}

// testEnrollmentUpsertEncoded: a row encoded outside the transaction
// (Store.EnrollmentEncode, as a sync's preparer does) reads back exactly as
// the same row encoded by the upsert, and the engine writes what it was given.
func testEnrollmentUpsertEncoded(t *testing.T, s store.Store) {
	newConnection(t, s, "con_1", "canvas", "")
	plain := enrollment("con_1", "canvas", "e1", "u1", "ana@example.com", "c1", lms.StatusInProgress)
	plain.Record.Score = lms.Ptr(61.5)
	plain.Record.RemoteData = []byte(`{"id":"e1","grades":{"current_score":61.5},"user":{"name":"Zoë Ōkubo"}}`)
	pre := plain
	pre.Record.ID = "e2"
	enc, err := s.EnrollmentEncode(pre.Record)
	must(t, err)
	pre.Encoded = enc
	upsert(t, s, plain, pre)
	a, err := s.EnrollmentGet(ctx(), "con_1", "e1")
	must(t, err)
	b, err := s.EnrollmentGet(ctx(), "con_1", "e2")
	must(t, err)
	b.Record.ID = "e1"
	if !reflect.DeepEqual(a.Record, b.Record) {
		t.Fatalf("pre-encoded row reads back differently:\n%+v\n%+v", a.Record, b.Record)
	}
	// The engine writes Encoded as given: the encoding of another record
	// shows through (callers must encode the record they pass).
	other := plain.Record
	other.Score = lms.Ptr(99.0)
	enc, err = s.EnrollmentEncode(other)
	must(t, err)
	pre.Encoded = enc
	upsert(t, s, pre)
	b, err = s.EnrollmentGet(ctx(), "con_1", "e2")
	must(t, err)
	if b.Record.Score == nil || *b.Record.Score != 99 {
		t.Fatalf("Encoded was not what the engine wrote: score %v", b.Record.Score)
	}
}

// testEnrollmentInsertNew: only keys not stored are inserted, and their ids
// returned; a stored row is left exactly as it was.
func testEnrollmentInsertNew(t *testing.T, s store.Store) {
	newConnection(t, s, "con_1", "canvas", "")
	newConnection(t, s, "con_2", "canvas", "")
	a := enrollment("con_1", "canvas", "a", "u1", "a@example.com", "c1", lms.StatusEnrolled)
	upsert(t, s, a)
	changed := a
	changed.Record.Status, changed.ContentHash = lms.StatusCompleted, "other"
	b := enrollment("con_1", "canvas", "b", "u2", "b@example.com", "c1", lms.StatusInProgress)
	sameIDOtherConn := enrollment("con_2", "canvas", "a", "u1", "a@example.com", "c1", lms.StatusPassed)
	var got []string
	inTx(t, s, func(tx store.Tx) error {
		var err error
		got, err = tx.EnrollmentInsertNew(ctx(), []store.Enrollment{changed, b, sameIDOtherConn})
		return err
	})
	sort.Strings(got)
	if !equal(got, []string{"a", "b"}) {
		t.Fatalf("inserted %v, want a (of con_2) and b", got)
	}
	stored, err := s.EnrollmentGet(ctx(), "con_1", "a")
	must(t, err)
	if stored.Record.Status != lms.StatusEnrolled || stored.ContentHash != a.ContentHash {
		t.Fatalf("a stored row was overwritten: %s %s", stored.Record.Status, stored.ContentHash)
	}
	for _, k := range []store.EnrollmentKey{{ConnectionID: "con_1", ID: "b"}, {ConnectionID: "con_2", ID: "a"}} {
		if _, err := s.EnrollmentGet(ctx(), k.ConnectionID, k.ID); err != nil {
			t.Fatalf("%v not inserted: %v", k, err)
		}
	}
}

// Writes of many rows go in chunks the engine may prepare once (SQLite: 200,
// 100, 50, …, 1 rows): odd counts past a chunk, and one row, insert and
// update exactly the rows given.
func testEnrollmentWritesManyRows(t *testing.T, s store.Store) {
	newConnection(t, s, "con_many", "canvas", "")
	rows := func(from, to int, status lms.Status) []store.Enrollment {
		var out []store.Enrollment
		for i := from; i < to; i++ {
			out = append(out, enrollment("con_many", "canvas", fmt.Sprintf("m%04d", i), fmt.Sprintf("u%d", i%7), "",
				"c1", status))
		}
		return out
	}
	inTx(t, s, func(tx store.Tx) error { return tx.EnrollmentUpsertMany(ctx(), rows(0, 237, lms.StatusEnrolled)) })
	for _, c := range []struct {
		from, to, inserted int
	}{
		{100, 101, 0},  // one row, its key taken
		{19, 456, 219}, // 437 rows: 218 taken, 219 new
		{455, 457, 1},  // two rows, the first now taken
	} {
		var got []string
		inTx(t, s, func(tx store.Tx) error {
			var err error
			got, err = tx.EnrollmentInsertNew(ctx(), rows(c.from, c.to, lms.StatusInProgress))
			return err
		})
		if len(got) != c.inserted {
			t.Fatalf("insert of rows %d-%d: %d inserted, want %d", c.from, c.to-1, len(got), c.inserted)
		}
	}
	inTx(t, s, func(tx store.Tx) error { return tx.EnrollmentUpsertMany(ctx(), rows(0, 19, lms.StatusCompleted)) })
	for status, want := range map[lms.Status]int{lms.StatusCompleted: 19, lms.StatusEnrolled: 237 - 19, lms.StatusInProgress: 220} {
		if ids := listIDs(t, s, store.EnrollmentListParams{ConnectionIDs: []string{"con_many"}, Statuses: []lms.Status{status}}); len(ids) != want {
			t.Errorf("%s: %d rows, want %d", status, len(ids), want)
		}
	}
}

func listIDs(t *testing.T, s store.Store, p store.EnrollmentListParams) []string {
	t.Helper()
	if p.Now.IsZero() {
		p.Now = t0
	}
	p.Limit = 1000
	res, err := s.EnrollmentList(ctx(), p)
	must(t, err)
	var ids []string
	for _, e := range res.Enrollments {
		ids = append(ids, e.Record.ConnectionID+"/"+e.Record.ID)
	}
	return ids
}

func equal(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func testEnrollmentListFilters(t *testing.T, s store.Store) {
	newConnection(t, s, "con_a", "canvas", "acme")
	newConnection(t, s, "con_b", "absorb", "globex")
	due := enrollment("con_b", "absorb", "e3", "u2", "bo@example.com", "c2", lms.StatusEnrolled)
	due.Record.DueAt = lms.UTC(t0.Add(24 * time.Hour))
	due.ChangedAt = t0.Add(time.Hour)
	gone := enrollment("con_b", "absorb", "e4", "u3", "cy@example.com", "c2", lms.StatusWithdrawn)
	gone.Record.RemoteDeletedAt = lms.UTC(t0)
	upsert(t, s,
		enrollment("con_a", "canvas", "e1", "u1", "ana@example.com", "c1", lms.StatusInProgress),
		enrollment("con_a", "canvas", "e2", "u2", "bo@example.com", "c1", lms.StatusCompleted),
		due, gone,
	)
	later := t0.Add(30 * time.Minute)
	dueBefore := t0.Add(48 * time.Hour)
	cases := []struct {
		name string
		p    store.EnrollmentListParams
		want []string
	}{
		{"all live", store.EnrollmentListParams{}, []string{"con_a/e1", "con_a/e2", "con_b/e3"}},
		{"include deleted", store.EnrollmentListParams{IncludeDeleted: true}, []string{"con_a/e1", "con_a/e2", "con_b/e3", "con_b/e4"}},
		{"connection", store.EnrollmentListParams{ConnectionIDs: []string{"con_b"}}, []string{"con_b/e3"}},
		{"provider", store.EnrollmentListParams{Providers: []string{"canvas"}}, []string{"con_a/e1", "con_a/e2"}},
		{"tenant", store.EnrollmentListParams{Tenant: "globex"}, []string{"con_b/e3"}},
		{"user", store.EnrollmentListParams{UserIDs: []string{"u2"}}, []string{"con_a/e2", "con_b/e3"}},
		{"email any case", store.EnrollmentListParams{UserEmails: []string{"ANA@example.com"}}, []string{"con_a/e1"}},
		{"course", store.EnrollmentListParams{CourseIDs: []string{"c1"}}, []string{"con_a/e1", "con_a/e2"}},
		{"statuses", store.EnrollmentListParams{Statuses: []lms.Status{lms.StatusCompleted, lms.StatusEnrolled}}, []string{"con_a/e2", "con_b/e3"}},
		{"updated after", store.EnrollmentListParams{UpdatedAfter: &later}, []string{"con_b/e3"}},
		{"due before", store.EnrollmentListParams{DueBefore: &dueBefore}, []string{"con_b/e3"}},
		{"combined", store.EnrollmentListParams{UserIDs: []string{"u2"}, Providers: []string{"absorb"}}, []string{"con_b/e3"}},
		{"none", store.EnrollmentListParams{UserIDs: []string{"nobody"}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := listIDs(t, s, tc.p); !equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func testEnrollmentListPagination(t *testing.T, s store.Store) {
	newConnection(t, s, "con_a", "canvas", "")
	newConnection(t, s, "con_b", "canvas", "")
	var rows []store.Enrollment
	var want []string
	for _, conn := range []string{"con_a", "con_b"} {
		for i := 0; i < 57; i++ {
			id := fmt.Sprintf("e%03d", i)
			rows = append(rows, enrollment(conn, "canvas", id, "u", "u@example.com", "c", lms.StatusEnrolled))
			want = append(want, conn+"/"+id)
		}
	}
	upsert(t, s, rows...)
	sort.Strings(want)
	var got []string
	var after store.EnrollmentKey
	pages := 0
	for {
		res, err := s.EnrollmentList(ctx(), store.EnrollmentListParams{After: after, Limit: 10, Now: t0})
		must(t, err)
		pages++
		for _, e := range res.Enrollments {
			got = append(got, e.Record.ConnectionID+"/"+e.Record.ID)
		}
		if !res.More {
			break
		}
		last := res.Enrollments[len(res.Enrollments)-1].Record
		after = store.EnrollmentKey{ConnectionID: last.ConnectionID, ID: last.ID}
		// A record inserted behind the cursor while walking must not appear or
		// shift the walk.
		if pages == 3 {
			upsert(t, s, enrollment("con_a", "canvas", "a-late", "u", "u@example.com", "c", lms.StatusEnrolled))
		}
	}
	if !equal(got, want) {
		t.Fatalf("walk returned %d rows, want %d (each once)\n%v", len(got), len(want), got)
	}
	if pages != 12 {
		t.Fatalf("pages = %d, want 12", pages)
	}
}

func testEnrollmentEffectiveStatus(t *testing.T, s store.Store) {
	newConnection(t, s, "con_a", "absorb", "")
	past, future := lms.UTC(t0.Add(-time.Hour)), lms.UTC(t0.Add(time.Hour))
	mk := func(id string, st lms.Status, due, expires *time.Time) store.Enrollment {
		e := enrollment("con_a", "absorb", id, "u", "u@example.com", "c", st)
		e.Record.DueAt, e.Record.ExpiresAt = due, expires
		return e
	}
	upsert(t, s,
		mk("open-overdue", lms.StatusInProgress, past, nil),
		mk("open-due-later", lms.StatusInProgress, future, nil),
		mk("done-past-due", lms.StatusCompleted, past, nil),
		mk("done-expired", lms.StatusPassed, nil, past),
		mk("done-valid", lms.StatusPassed, nil, future),
		mk("withdrawn-expired", lms.StatusWithdrawn, nil, past),
		mk("assigned-overdue", lms.StatusAssigned, past, future),
	)
	cases := []struct {
		status lms.Status
		want   []string
	}{
		{lms.StatusOverdue, []string{"con_a/assigned-overdue", "con_a/open-overdue"}},
		{lms.StatusExpired, []string{"con_a/done-expired"}},
		{lms.StatusInProgress, []string{"con_a/open-due-later"}},
		{lms.StatusPassed, []string{"con_a/done-valid"}},
		{lms.StatusCompleted, []string{"con_a/done-past-due"}},
		{lms.StatusWithdrawn, []string{"con_a/withdrawn-expired"}},
		{lms.StatusAssigned, nil},
	}
	for _, tc := range cases {
		got := listIDs(t, s, store.EnrollmentListParams{Statuses: []lms.Status{tc.status}})
		if !equal(got, tc.want) {
			t.Errorf("status %s: got %v, want %v", tc.status, got, tc.want)
		}
		// The SQL filter and lms.EffectiveStatus must agree record by record.
		for _, id := range got {
			var connID, eid string
			fmt.Sscanf(id, "con_a/%s", &eid)
			connID = "con_a"
			e, err := s.EnrollmentGet(ctx(), connID, eid)
			must(t, err)
			if eff := e.Record.Effective(t0).Status; eff != tc.status {
				t.Errorf("%s: filter says %s, EffectiveStatus says %s", id, tc.status, eff)
			}
		}
	}
}

func testEnrollmentSweep(t *testing.T, s store.Store) {
	newConnection(t, s, "con_a", "canvas", "")
	newConnection(t, s, "con_b", "canvas", "")
	upsert(t, s,
		enrollment("con_a", "canvas", "e1", "u", "u@example.com", "c", lms.StatusEnrolled),
		enrollment("con_a", "canvas", "e2", "u", "u@example.com", "c", lms.StatusEnrolled),
		enrollment("con_a", "canvas", "e3", "u", "u@example.com", "c", lms.StatusEnrolled),
		enrollment("con_b", "canvas", "x1", "u", "u@example.com", "c", lms.StatusEnrolled),
	)
	deletedAt := t0.Add(time.Hour)
	var swept []store.Enrollment
	inTx(t, s, func(tx store.Tx) error {
		if err := tx.EnrollmentMarkSeen(ctx(), "con_a", "run_1", []string{"e1", "e3"}); err != nil {
			return err
		}
		var err error
		swept, err = tx.EnrollmentSweep(ctx(), store.EnrollmentSweepParams{ConnectionID: "con_a", RunID: "run_1", DeletedAt: deletedAt})
		return err
	})
	if len(swept) != 1 || swept[0].Record.ID != "e2" || swept[0].Record.RemoteDeletedAt == nil {
		t.Fatalf("swept %+v", swept)
	}
	if got := listIDs(t, s, store.EnrollmentListParams{}); !equal(got, []string{"con_a/e1", "con_a/e3", "con_b/x1"}) {
		t.Fatalf("live after sweep: %v (the other connection must be untouched)", got)
	}
	e2, err := s.EnrollmentGet(ctx(), "con_a", "e2")
	must(t, err)
	if e2.Record.RemoteDeletedAt == nil || !e2.Record.RemoteDeletedAt.Equal(deletedAt) {
		t.Fatalf("e2 deleted at %v", e2.Record.RemoteDeletedAt)
	}
	// A second sweep of the same run finds nothing more.
	inTx(t, s, func(tx store.Tx) error {
		var err error
		swept, err = tx.EnrollmentSweep(ctx(), store.EnrollmentSweepParams{ConnectionID: "con_a", RunID: "run_1", DeletedAt: deletedAt})
		return err
	})
	if len(swept) != 0 {
		t.Fatalf("second sweep: %d", len(swept))
	}
}

func testEnrollmentSyncedAt(t *testing.T, s store.Store) {
	c := newConnection(t, s, "con_a", "canvas", "")
	upsert(t, s, enrollment("con_a", "canvas", "e1", "u", "u@example.com", "c", lms.StatusEnrolled))
	full := t0.Add(2 * time.Hour)
	c.LastFullSyncAt = &full
	inTx(t, s, func(tx store.Tx) error { return tx.ConnectionUpdate(ctx(), c) })
	e, err := s.EnrollmentGet(ctx(), "con_a", "e1")
	must(t, err)
	if e.Record.SyncedAt == nil || !e.Record.SyncedAt.Equal(full) {
		t.Fatalf("synced_at = %v, want the last full sync %v", e.Record.SyncedAt, full)
	}
}

// testEnrollmentListRaw: a raw listing, patched by AppendEnrollmentJSON,
// gives for every record the JSON of the record the decoded listing gives,
// effective status and synced_at included.
func testEnrollmentListRaw(t *testing.T, s store.Store) {
	// now is not on a second: the columns keep seconds, the stored JSON the
	// exact dates.
	now := t0.Add(30*time.Minute + 250*time.Millisecond)
	full := t0.Add(10 * time.Minute)
	c := newConnection(t, s, "con_a", "canvas", "")
	c.LastFullSyncAt = &full
	inTx(t, s, func(tx store.Tx) error { return tx.ConnectionUpdate(ctx(), c) })
	newConnection(t, s, "con_b", "absorb", "")

	var rows []store.Enrollment
	add := func(conn, id string, st lms.Status, due, expires *time.Time, edit func(r *lms.CourseEnrollment)) {
		e := enrollment(conn, map[string]string{"con_a": "canvas", "con_b": "absorb"}[conn], id, "u-"+id, id+"@example.com", "c1", st)
		e.Record.DueAt, e.Record.ExpiresAt = due, expires
		if edit != nil {
			edit(&e.Record)
		}
		rows = append(rows, e)
	}
	at := func(d time.Duration) *time.Time { return lms.UTC(now.Add(d)) }
	add("con_a", "plain", lms.StatusEnrolled, nil, nil, func(r *lms.CourseEnrollment) {
		r.Score, r.ProgressPercent, r.TimeSpentSeconds = lms.Ptr(87.5), lms.Ptr(12.0), lms.Ptr(int64(3600))
		r.Grade, r.Role = "B+ <a&b>", lms.RoleLearner
		r.User.Name = "Zoë \"Q\" <O'Brien> \u2028 \t"
		r.URLs = []lms.URL{{URL: "https://lms.example.com/courses/1?a=1&b=2", Type: "course"}}
		r.CustomFields = map[string]any{"status": "nested", "id": 7.0, "list": []any{"x", map[string]any{"synced_at": nil}}}
		r.RemoteData = json.RawMessage(`{"id":"plain","status":"active","grades":{"html_url":"https://x/y?a=1&b=2","score":null},"tags":["a","b\"c",[]],"n":12345678901234567890}`)
		r.Section = &lms.Section{ID: "s1", Name: "Section {1}"}
		r.IsMandatory = lms.Ptr(false)
		r.AssignedAt = lms.UTC(t0.Add(-time.Hour + 123456789*time.Nanosecond))
	})
	add("con_a", "overdue", lms.StatusInProgress, at(-48*time.Hour), nil, nil)
	add("con_a", "due-later", lms.StatusInProgress, at(48*time.Hour), nil, nil)
	add("con_a", "done-past-due", lms.StatusCompleted, at(-48*time.Hour), nil, nil)
	add("con_a", "expired", lms.StatusPassed, nil, at(-time.Hour), nil)
	add("con_a", "valid", lms.StatusPassed, nil, at(time.Hour), nil)
	add("con_a", "withdrawn-expired", lms.StatusWithdrawn, at(-time.Hour), at(-time.Hour), nil)
	add("con_a", "expired-and-overdue", lms.StatusAssigned, at(-time.Hour), at(-time.Minute), nil)
	// Dates within the second of now: only the stored JSON can tell.
	add("con_a", "due-just-before", lms.StatusAssigned, at(-100*time.Millisecond), nil, nil)
	add("con_a", "due-just-after", lms.StatusAssigned, at(100*time.Millisecond), nil, nil)
	add("con_a", "expires-at-now", lms.StatusEnrolled, nil, at(0), nil)
	add("con_a", "expires-just-after", lms.StatusEnrolled, nil, at(time.Nanosecond), nil)
	add("con_a", "synced-after-full", lms.StatusEnrolled, nil, nil, func(r *lms.CourseEnrollment) {
		r.SyncedAt = lms.UTC(t0.Add(20 * time.Minute))
	})
	add("con_a", "never-synced", lms.StatusUnknown, nil, nil, func(r *lms.CourseEnrollment) { r.SyncedAt = nil })
	add("con_a", "deleted", lms.StatusEnrolled, at(-time.Hour), nil, func(r *lms.CourseEnrollment) {
		r.RemoteDeletedAt = lms.UTC(t0.Add(5 * time.Minute))
	})
	add("con_a", "odd \"id\" \\ é <&>", lms.StatusFailed, nil, nil, func(r *lms.CourseEnrollment) { r.User, r.Course = nil, nil })
	add("con_b", "other-provider", lms.StatusOverdue, nil, nil, nil)
	upsert(t, s, rows...)

	for _, p := range []store.EnrollmentListParams{
		{IncludeDeleted: true, Now: now, Limit: 100},
		{IncludeDeleted: true, Now: now, Limit: 5, After: store.EnrollmentKey{ConnectionID: "con_a", ID: "e"}},
		{Statuses: []lms.Status{lms.StatusOverdue, lms.StatusExpired}, Now: now, Limit: 100},
	} {
		decoded, err := s.EnrollmentList(ctx(), p)
		must(t, err)
		p.Raw = true
		raw, err := s.EnrollmentList(ctx(), p)
		must(t, err)
		if len(raw.Enrollments) != len(decoded.Enrollments) || raw.More != decoded.More || len(raw.Enrollments) == 0 {
			t.Fatalf("raw listing: %d rows (more %v), decoded: %d (more %v)", len(raw.Enrollments), raw.More,
				len(decoded.Enrollments), decoded.More)
		}
		for i, d := range decoded.Enrollments {
			r := raw.Enrollments[i]
			name := d.Record.ConnectionID + "/" + d.Record.ID
			if d.Data != nil {
				t.Errorf("%s: decoded listing has Data", name)
			}
			b, err := store.AppendEnrollmentJSON([]byte("prefix"), &r, now)
			must(t, err)
			if !bytes.HasPrefix(b, []byte("prefix")) {
				t.Fatalf("%s: AppendEnrollmentJSON did not append: %s", name, b)
			}
			b = b[len("prefix"):]
			if err := noDuplicateKeys(b); err != nil {
				t.Errorf("%s: %v in %s", name, err, b)
			}
			var got lms.CourseEnrollment
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("%s: %v in %s", name, err, b)
			}
			want := d.Record.Effective(now)
			if !reflect.DeepEqual(got, want) {
				wb, _ := json.Marshal(want)
				t.Errorf("%s: raw listing gives\n%s\nwant (decoded listing)\n%s", name, b, wb)
			}
		}
	}
}

// noDuplicateKeys checks that b is one JSON object without repeated keys.
func noDuplicateKeys(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("not an object (%v)", err)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key := tok.(string)
		if seen[key] {
			return fmt.Errorf("key %q twice", key)
		}
		seen[key] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the object")
	}
	return nil
}

func testTxRollback(t *testing.T, s store.Store) {
	newConnection(t, s, "con_a", "canvas", "")
	boom := errors.New("boom")
	err := s.InTx(ctx(), func(tx store.Tx) error {
		if err := tx.EnrollmentUpsertMany(ctx(), []store.Enrollment{enrollment("con_a", "canvas", "e1", "u", "u@example.com", "c", lms.StatusEnrolled)}); err != nil {
			return err
		}
		if err := tx.EventAppend(ctx(), []store.Event{{ID: "evt_1", Type: store.EventEnrollmentCreated, OccurredAt: t0, Data: []byte(`{}`)}}); err != nil {
			return err
		}
		// Reads inside the transaction see its own writes.
		if _, err := tx.EnrollmentGet(ctx(), "con_a", "e1"); err != nil {
			return fmt.Errorf("read own write: %w", err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx returned %v", err)
	}
	if _, err := s.EnrollmentGet(ctx(), "con_a", "e1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rolled back enrollment visible: %v", err)
	}
	if seq, _ := s.EventLastSeq(ctx()); seq != 0 {
		t.Fatalf("rolled back event visible: seq %d", seq)
	}
}

func testUsersAndCourses(t *testing.T, s store.Store) {
	newConnection(t, s, "con_a", "canvas", "")
	var users []lms.User
	for i := 0; i < 25; i++ {
		users = append(users, lms.User{ID: fmt.Sprintf("u%02d", i), Name: fmt.Sprintf("Ünïcode %d", i)})
	}
	inTx(t, s, func(tx store.Tx) error {
		if err := tx.UserUpsertMany(ctx(), "con_a", users); err != nil {
			return err
		}
		return tx.CourseUpsertMany(ctx(), "con_a", []lms.Course{{ID: "c1", Title: "Safety"}, {ID: "c2", Title: "Privacy"}})
	})
	var all []lms.User
	after := ""
	for {
		page, next, err := s.UserList(ctx(), store.PeopleListParams{ConnectionID: "con_a", After: after, Limit: 10})
		must(t, err)
		all = append(all, page...)
		if next == "" {
			break
		}
		after = next
	}
	if len(all) != 25 || all[0].Name != "Ünïcode 0" || all[24].ID != "u24" {
		t.Fatalf("users walk: %d %+v", len(all), all)
	}
	courses, next, err := s.CourseList(ctx(), store.PeopleListParams{ConnectionID: "con_a", Limit: 10})
	must(t, err)
	if len(courses) != 2 || next != "" || courses[1].Title != "Privacy" {
		t.Fatalf("courses: %+v %q", courses, next)
	}
	// Re-upsert with a change.
	inTx(t, s, func(tx store.Tx) error {
		return tx.CourseUpsertMany(ctx(), "con_a", []lms.Course{{ID: "c1", Title: "Safety 2"}})
	})
	courses, _, err = s.CourseList(ctx(), store.PeopleListParams{ConnectionID: "con_a", Limit: 1})
	must(t, err)
	if courses[0].Title != "Safety 2" {
		t.Fatalf("course update: %+v", courses)
	}
}

func testSyncRuns(t *testing.T, s store.Store) {
	newConnection(t, s, "con_a", "canvas", "")
	r := &store.SyncRun{ID: "run_1", ConnectionID: "con_a", Kind: store.SyncKindFull, Trigger: "manual",
		Status: store.SyncStatusQueued, CreatedAt: t0, Stats: store.SyncStats{Total: -1}}
	inTx(t, s, func(tx store.Tx) error { return tx.SyncRunCreate(ctx(), r) })
	second := &store.SyncRun{ID: "run_2", ConnectionID: "con_a", Kind: store.SyncKindFull, Trigger: "manual",
		Status: store.SyncStatusQueued, CreatedAt: t0}
	if err := s.InTx(ctx(), func(tx store.Tx) error { return tx.SyncRunCreate(ctx(), second) }); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second active run: %v", err)
	}
	active, err := s.SyncRunActive(ctx(), "con_a")
	must(t, err)
	if active.ID != "run_1" {
		t.Fatalf("active: %s", active.ID)
	}
	r.Status, r.StartedAt, r.HeartbeatAt = store.SyncStatusRunning, lms.UTC(t0), lms.UTC(t0)
	r.Cursor = "opaque-cursor-1"
	r.Stats.Pages, r.Stats.Inserted = 3, 42
	inTx(t, s, func(tx store.Tx) error { return tx.SyncRunUpdate(ctx(), r) })
	got, err := s.SyncRunGet(ctx(), "run_1")
	must(t, err)
	if got.Cursor != "opaque-cursor-1" || got.Stats.Pages != 3 || got.Stats.Inserted != 42 || got.Status != store.SyncStatusRunning || got.Stats.Total != -1 {
		t.Fatalf("run: %+v", got)
	}
	r.Status, r.FinishedAt, r.Cursor = store.SyncStatusSucceeded, lms.UTC(t0.Add(time.Minute)), ""
	inTx(t, s, func(tx store.Tx) error { return tx.SyncRunUpdate(ctx(), r) })
	if _, err := s.SyncRunActive(ctx(), "con_a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("active after finish: %v", err)
	}
	inTx(t, s, func(tx store.Tx) error { return tx.SyncRunCreate(ctx(), second) })
	runs, err := s.SyncRunList(ctx(), store.SyncRunListParams{ConnectionID: "con_a"})
	must(t, err)
	if len(runs) != 2 || runs[0].ID != "run_2" || runs[1].Cursor != "" {
		t.Fatalf("list newest first: %+v", runs)
	}
	older, err := s.SyncRunList(ctx(), store.SyncRunListParams{ConnectionID: "con_a", Before: "run_2"})
	must(t, err)
	if len(older) != 1 || older[0].ID != "run_1" {
		t.Fatalf("before: %+v", older)
	}
	if _, err := s.SyncRunGet(ctx(), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown run: %v", err)
	}
}

// A sync appends thousands of events in one transaction, in chunks the
// engine may prepare once: every event gets its Seq back, in order, and its
// payload reads back byte for byte.
func testEventsManyInOneTx(t *testing.T, s store.Store) {
	const n = 451 // past two full chunks of 200, with a remainder
	batch := make([]store.Event, n)
	for i := range batch {
		batch[i] = store.Event{ID: fmt.Sprintf("evt_many_%04d", i), Type: store.EventEnrollmentCreated, ConnectionID: "con_a",
			EnrollmentID: fmt.Sprint(i), OccurredAt: t0,
			Data: []byte(fmt.Sprintf(`{"n":%d,"name":"Zoë Ångström","pad":%q}`, i, strings.Repeat("ab", i)))}
	}
	inTx(t, s, func(tx store.Tx) error { return tx.EventAppend(ctx(), batch) })
	last, err := s.EventLastSeq(ctx())
	must(t, err)
	listed, err := s.EventList(ctx(), store.EventListParams{AfterSeq: last - n, Limit: n})
	must(t, err)
	if len(listed) != n {
		t.Fatalf("listed %d events, want %d", len(listed), n)
	}
	for i, e := range listed {
		want := batch[i]
		if e.Seq != want.Seq || e.ID != want.ID || e.EnrollmentID != want.EnrollmentID || string(e.Data) != string(want.Data) {
			t.Fatalf("event %d: got seq %d id %s data %.40s; appended seq %d id %s data %.40s", i, e.Seq, e.ID, e.Data, want.Seq, want.ID, want.Data)
		}
		if i > 0 && e.Seq <= listed[i-1].Seq {
			t.Fatalf("seq not increasing at %d", i)
		}
	}
}

func testEvents(t *testing.T, s store.Store) {
	var batch []store.Event
	for i := 0; i < 5; i++ {
		typ := store.EventEnrollmentCreated
		conn := "con_a"
		if i%2 == 1 {
			typ, conn = store.EventEnrollmentUpdated, "con_b"
		}
		batch = append(batch, store.Event{ID: fmt.Sprintf("evt_%d", i), Type: typ, ConnectionID: conn, EnrollmentID: "e",
			OccurredAt: t0, Data: []byte(fmt.Sprintf(`{"n":%d}`, i))})
	}
	inTx(t, s, func(tx store.Tx) error { return tx.EventAppend(ctx(), batch) })
	all, err := s.EventList(ctx(), store.EventListParams{})
	must(t, err)
	if len(all) != 5 {
		t.Fatalf("events: %d", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].Seq <= all[i-1].Seq || all[i].ID != fmt.Sprintf("evt_%d", i) {
			t.Fatalf("order: %+v", all)
		}
	}
	if string(all[2].Data) != `{"n":2}` {
		t.Fatalf("data: %s", all[2].Data)
	}
	after, err := s.EventList(ctx(), store.EventListParams{AfterSeq: all[1].Seq, Limit: 2})
	must(t, err)
	if len(after) != 2 || after[0].ID != "evt_2" {
		t.Fatalf("after: %+v", after)
	}
	typed, err := s.EventList(ctx(), store.EventListParams{Types: []string{store.EventEnrollmentUpdated}})
	must(t, err)
	conn, err := s.EventList(ctx(), store.EventListParams{ConnectionID: "con_a"})
	must(t, err)
	if len(typed) != 2 || len(conn) != 3 {
		t.Fatalf("typed %d conn %d", len(typed), len(conn))
	}
	last, err := s.EventLastSeq(ctx())
	must(t, err)
	if last != all[4].Seq {
		t.Fatalf("last seq %d", last)
	}
}

func testWebhooks(t *testing.T, s store.Store) {
	w := &store.Webhook{ID: "whk_1", URL: "https://example.com/hook", Events: []string{store.EventEnrollmentCreated},
		SecretCiphertext: []byte("x"), Enabled: true, CreatedAt: t0, UpdatedAt: t0}
	inTx(t, s, func(tx store.Tx) error { return tx.WebhookCreate(ctx(), w) })
	w.CursorSeq, w.ConsecutiveFailures, w.Enabled, w.DisabledReason = 7, 3, false, "too many failures"
	inTx(t, s, func(tx store.Tx) error { return tx.WebhookUpdate(ctx(), w) })
	got, err := s.WebhookGet(ctx(), "whk_1")
	must(t, err)
	if got.CursorSeq != 7 || got.Enabled || got.DisabledReason == "" || len(got.Events) != 1 {
		t.Fatalf("webhook: %+v", got)
	}
	for i := 1; i <= 3; i++ {
		d := &store.Delivery{ID: fmt.Sprintf("dlv_%d", i), WebhookID: "whk_1", EventID: "evt_1", EventSeq: 1, Attempt: i,
			StatusCode: 500, Error: "HTTP 500", AttemptedAt: t0}
		inTx(t, s, func(tx store.Tx) error { return tx.DeliveryCreate(ctx(), d) })
	}
	ds, err := s.DeliveryList(ctx(), store.DeliveryListParams{WebhookID: "whk_1", Limit: 2})
	must(t, err)
	if len(ds) != 2 || ds[0].Attempt != 3 {
		t.Fatalf("deliveries newest first: %+v", ds)
	}
	list, err := s.WebhookList(ctx())
	must(t, err)
	if len(list) != 1 {
		t.Fatalf("list: %d", len(list))
	}
	inTx(t, s, func(tx store.Tx) error { return tx.WebhookDelete(ctx(), "whk_1") })
	if _, err := s.WebhookGet(ctx(), "whk_1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	ds, err = s.DeliveryList(ctx(), store.DeliveryListParams{WebhookID: "whk_1"})
	must(t, err)
	if len(ds) != 0 {
		t.Fatalf("deliveries of a deleted webhook: %d", len(ds))
	}
}

func testIdempotency(t *testing.T, s store.Store) {
	r := &store.IdempotencyRecord{APIKeyID: "key_1", Key: "abc", Method: "POST", Path: "/v1/x", RequestHash: "h",
		Status: 201, Body: []byte(`{"id":"1"}`), CreatedAt: t0}
	inTx(t, s, func(tx store.Tx) error { return tx.IdempotencyPut(ctx(), r) })
	got, err := s.IdempotencyGet(ctx(), "key_1", "abc")
	must(t, err)
	if got.Status != 201 || string(got.Body) != `{"id":"1"}` || got.RequestHash != "h" {
		t.Fatalf("got %+v", got)
	}
	if _, err := s.IdempotencyGet(ctx(), "key_2", "abc"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("keys are per API key: %v", err)
	}
	if err := s.InTx(ctx(), func(tx store.Tx) error { return tx.IdempotencyPut(ctx(), r) }); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate: %v", err)
	}
	var n int64
	inTx(t, s, func(tx store.Tx) error {
		var err error
		n, err = tx.IdempotencyPurge(ctx(), t0.Add(time.Second))
		return err
	})
	if n != 1 {
		t.Fatalf("purged %d", n)
	}
}

func testConnectionDeleteCascades(t *testing.T, s store.Store) {
	newConnection(t, s, "con_a", "canvas", "")
	upsert(t, s, enrollment("con_a", "canvas", "e1", "u", "u@example.com", "c", lms.StatusEnrolled))
	inTx(t, s, func(tx store.Tx) error {
		if err := tx.UserUpsertMany(ctx(), "con_a", []lms.User{{ID: "u"}}); err != nil {
			return err
		}
		return tx.SyncRunCreate(ctx(), &store.SyncRun{ID: "run_1", ConnectionID: "con_a", Kind: "full", Trigger: "manual",
			Status: store.SyncStatusRunning, CreatedAt: t0, Cursor: "c"})
	})
	inTx(t, s, func(tx store.Tx) error { return tx.ConnectionDelete(ctx(), "con_a") })
	if _, err := s.EnrollmentGet(ctx(), "con_a", "e1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("enrollment survived: %v", err)
	}
	if _, err := s.SyncRunGet(ctx(), "run_1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("run survived: %v", err)
	}
	users, _, err := s.UserList(ctx(), store.PeopleListParams{ConnectionID: "con_a"})
	must(t, err)
	if len(users) != 0 {
		t.Fatalf("users survived: %d", len(users))
	}
}

func testDateEventsOncePerRecord(t *testing.T, s store.Store) {
	newConnection(t, s, "con_a", "absorb", "")
	past, future := lms.UTC(t0.Add(-time.Hour)), lms.UTC(t0.Add(time.Hour))
	overdue := enrollment("con_a", "absorb", "late", "u", "u@example.com", "c", lms.StatusInProgress)
	overdue.Record.DueAt = past
	expired := enrollment("con_a", "absorb", "old-cert", "u", "u@example.com", "c", lms.StatusPassed)
	expired.Record.ExpiresAt = past
	onTime := enrollment("con_a", "absorb", "on-time", "u", "u@example.com", "c", lms.StatusInProgress)
	onTime.Record.DueAt = future
	done := enrollment("con_a", "absorb", "done", "u", "u@example.com", "c", lms.StatusCompleted)
	done.Record.DueAt = past
	upsert(t, s, overdue, expired, onTime, done)
	due, err := s.EnrollmentDateEventsDue(ctx(), store.DateEventsDueParams{Now: t0})
	must(t, err)
	got := map[string]string{}
	for _, d := range due {
		got[d.Enrollment.Record.ID] = d.Type
	}
	if len(got) != 2 || got["late"] != store.EventEnrollmentOverdue || got["old-cert"] != store.EventEnrollmentExpired {
		t.Fatalf("due: %v", got)
	}
	inTx(t, s, func(tx store.Tx) error {
		for _, d := range due {
			if err := tx.EnrollmentMarkDateEvent(ctx(), "con_a", d.Enrollment.Record.ID, d.Type, t0); err != nil {
				return err
			}
		}
		return nil
	})
	due, err = s.EnrollmentDateEventsDue(ctx(), store.DateEventsDueParams{Now: t0})
	must(t, err)
	if len(due) != 0 {
		t.Fatalf("announced twice: %+v", due)
	}
	// Rewriting the record unchanged keeps the mark; moving the due date
	// clears it, so the new date is announced when it passes.
	upsert(t, s, overdue)
	due, _ = s.EnrollmentDateEventsDue(ctx(), store.DateEventsDueParams{Now: t0})
	if len(due) != 0 {
		t.Fatalf("same due date announced again: %+v", due)
	}
	overdue.Record.DueAt = lms.UTC(t0.Add(-30 * time.Minute))
	upsert(t, s, overdue)
	due, _ = s.EnrollmentDateEventsDue(ctx(), store.DateEventsDueParams{Now: t0})
	if len(due) != 1 || due[0].Enrollment.Record.ID != "late" {
		t.Fatalf("moved due date not announced: %+v", due)
	}
	if err := s.InTx(ctx(), func(tx store.Tx) error {
		return tx.EnrollmentMarkDateEvent(ctx(), "con_a", "late", "enrollment.bogus", t0)
	}); err == nil {
		t.Fatal("unknown date event type accepted")
	}
}

func testSyncRunListActive(t *testing.T, s store.Store) {
	newConnection(t, s, "con_a", "canvas", "")
	newConnection(t, s, "con_b", "canvas", "")
	for i, st := range []string{store.SyncStatusRunning, store.SyncStatusQueued} {
		r := &store.SyncRun{ID: fmt.Sprintf("run_%d", i), ConnectionID: []string{"con_a", "con_b"}[i], Kind: "full",
			Trigger: "manual", Status: st, CreatedAt: t0}
		inTx(t, s, func(tx store.Tx) error { return tx.SyncRunCreate(ctx(), r) })
	}
	done := &store.SyncRun{ID: "run_9", ConnectionID: "con_a", Kind: "full", Trigger: "manual", Status: store.SyncStatusSucceeded, CreatedAt: t0}
	inTx(t, s, func(tx store.Tx) error { return tx.SyncRunCreate(ctx(), done) })
	active, err := s.SyncRunListActive(ctx())
	must(t, err)
	if len(active) != 2 || active[0].ID != "run_0" || active[1].ID != "run_1" {
		t.Fatalf("active: %+v", active)
	}
}
