// Package providertest is the conformance suite every connector passes against
// its simulator (style-anchors §11 habit 2). A connector's test builds a
// Harness that starts its simulator and a connector against it, and calls Run:
//
//	func TestConformance(t *testing.T) {
//		providertest.Run(t, providertest.Harness{Start: func(t *testing.T, n int, f simkit.Faults) *providertest.Env {
//			sim, _ := canvassim.New(canvassim.Config{Seed: 1, Enrollments: n, Faults: f, ...})
//			srv, _ := simkit.Start("127.0.0.1:0", sim.Handler())
//			t.Cleanup(func() { srv.Close() })
//			return &providertest.Env{Reader: newConnector(srv.URL), Kit: sim.Kit(), BaseURL: srv.URL, ...}
//		}})
//	}
//
// The cases follow the connector issue's acceptance list: a full listing
// returns every record exactly once (compared with the simulator's own list), a
// listing resumes from a saved cursor in a fresh connector, EnrollmentGet
// equals the listed record, every write the connector has is visible on the
// next read, throttling and 20% failures are absorbed, malformed JSON and bad
// credentials are reported with the right Kind, and a cancelled context stops
// a call within 100 ms. Write cases of capabilities the connector lacks (see
// provider.Capabilities) are skipped, so one suite serves every connector.
//
// Keep the harness fast: the suite asks for a few hundred enrollments, so a
// connector should be given a small page size (e.g. 25-50) to cross many pages.
package providertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/provider"
	"github.com/registrarhq/registrar/internal/sim/simkit"
)

// Env is one simulator and the connectors a case needs against it.
type Env struct {
	// Reader is the connector under test, with valid credentials.
	Reader provider.Reader
	// Kit is the simulator's kit: faults and request statistics.
	Kit *simkit.Kit
	// BaseURL is where the simulator listens; errors must name it.
	BaseURL string
	// WantIDs returns the simulator's own list of the enrollment ids a full
	// listing must return, right now.
	WantIDs func() []string
	// NewReader returns a second, fresh connector against the same simulator
	// (a new process resuming from a stored cursor).
	NewReader func() provider.Reader
	// BadCredentials returns a connector whose credentials the simulator
	// refuses.
	BadCredentials func() provider.Reader

	// GetIgnores lists unified JSON fields (top level) in which EnrollmentGet
	// may legitimately differ from the listed record, with the connector's
	// reason in a comment where the harness sets it. The suite always ignores
	// remote_data (list and show answers are different vendor documents).
	GetIgnores []string

	// Mutate, when set, makes count realistic changes in the simulator behind
	// the connector's back (the simulator's Mutate).
	Mutate func(count int, seed uint64)
	// Delete, when set, removes an enrollment from the simulator so that it
	// vanishes from the vendor API (the simulator's DeleteEnrollment).
	Delete func(id string) bool

	// Write targets: each prepares a record in the simulator (through the
	// connector or its listing) and returns what to call the write with. Nil
	// for a capability the connector has is a harness bug and fails the case.

	// EnrollTarget returns a user and course the user is not enrolled in.
	EnrollTarget func(t *testing.T) provider.EnrollParams
	// ReEnrollTarget returns a user and course the user finished before.
	ReEnrollTarget func(t *testing.T) provider.EnrollParams
	// CompleteTarget returns the id of an enrollment that can be completed.
	CompleteTarget func(t *testing.T) string
	// WithdrawTarget returns an enrollment that can be withdrawn ("" Mode:
	// the suite also tries every mode of WithdrawModes on fresh targets).
	WithdrawTarget func(t *testing.T) provider.WithdrawParams
	// WithdrawRemoves declares that the LMS deletes a withdrawn record (Absorb
	// un-enroll): the answer must read withdrawn, and afterwards the record
	// must be gone (KindNotFound, absent from WantIDs) instead of reading
	// withdrawn.
	WithdrawRemoves bool
	// ReactivateTarget returns the id of a deactivated enrollment.
	ReactivateTarget func(t *testing.T) string
	// InvitationTarget returns the id of an enrollment with a pending
	// invitation; it is called once for accept and once for reject.
	InvitationTarget func(t *testing.T) string
	// ScoreTarget returns a score to record on an open enrollment.
	ScoreTarget func(t *testing.T) provider.ScoreParams
	// StatusTarget returns a status change the connector supports.
	StatusTarget func(t *testing.T) provider.StatusParams
}

// Harness starts environments for the suite.
type Harness struct {
	// Start starts a fresh simulator holding about n enrollments with the given
	// faults, and a connector against it. It registers its own cleanup.
	Start func(t *testing.T, n int, faults simkit.Faults) *Env
	// Enrollments is the size of the data set of the listing cases; default 300.
	Enrollments int
}

// ListAll walks every page from cursor and returns the records and the number
// of pages. It fails on a cursor that does not move (a stalled walk).
func ListAll(ctx context.Context, r provider.Reader, cursor string) ([]lms.CourseEnrollment, int, error) {
	var all []lms.CourseEnrollment
	pages := 0
	seen := map[string]bool{}
	for {
		page, err := r.EnrollmentPage(ctx, provider.EnrollmentPageParams{Cursor: cursor})
		if err != nil {
			return all, pages, err
		}
		pages++
		all = append(all, page.Enrollments...)
		if page.NextCursor == "" {
			return all, pages, nil
		}
		if seen[page.NextCursor] || page.NextCursor == cursor {
			return all, pages, fmt.Errorf("cursor did not move after page %d: %q", pages, page.NextCursor)
		}
		seen[page.NextCursor] = true
		cursor = page.NextCursor
	}
}

// Run runs every case against h.
func Run(t *testing.T, h Harness) {
	if h.Enrollments <= 0 {
		h.Enrollments = 300
	}
	t.Run("ListingExactlyOnce", func(t *testing.T) { t.Parallel(); testListingExactlyOnce(t, h) })
	t.Run("ResumeFromCursor", func(t *testing.T) { t.Parallel(); testResume(t, h) })
	t.Run("GetEqualsListed", func(t *testing.T) { t.Parallel(); testGetEqualsListed(t, h) })
	t.Run("GetUnknownIsNotFound", func(t *testing.T) { t.Parallel(); testGetUnknown(t, h) })
	t.Run("UsersAndCourses", func(t *testing.T) { t.Parallel(); testUsersAndCourses(t, h) })
	t.Run("Throttled", func(t *testing.T) { t.Parallel(); testThrottled(t, h) })
	t.Run("FailingAnswers", func(t *testing.T) { t.Parallel(); testFailing(t, h) })
	t.Run("MalformedJSON", func(t *testing.T) { t.Parallel(); testMalformed(t, h) })
	t.Run("BadCredentials", func(t *testing.T) { t.Parallel(); testBadCredentials(t, h) })
	t.Run("ConnectionTest", func(t *testing.T) { t.Parallel(); testConnectionTest(t, h) })
	t.Run("CancelStopsPromptly", func(t *testing.T) { t.Parallel(); testCancel(t, h) })
	t.Run("DroppedConnections", func(t *testing.T) { t.Parallel(); testDropped(t, h) })
	t.Run("ChangesBehindTheBack", func(t *testing.T) { t.Parallel(); testChanges(t, h) })
	t.Run("Writes", func(t *testing.T) { t.Parallel(); testWrites(t, h) })
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// reporter is the part of testing.T the checks use, so that their own tests
// can record failures.
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
}

// checkIDs asserts that got holds every wanted id exactly once and nothing
// else.
func checkIDs(t reporter, got []lms.CourseEnrollment, want []string) {
	t.Helper()
	count := map[string]int{}
	for _, e := range got {
		count[e.ID]++
	}
	for id, n := range count {
		if n > 1 {
			t.Errorf("enrollment %s listed %d times", id, n)
		}
	}
	wantSet := map[string]bool{}
	missing := 0
	for _, id := range want {
		wantSet[id] = true
		if count[id] == 0 {
			missing++
			if missing <= 5 {
				t.Errorf("enrollment %s missing from the listing", id)
			}
		}
	}
	extra := 0
	for id := range count {
		if !wantSet[id] {
			extra++
			if extra <= 5 {
				t.Errorf("enrollment %s listed but not in the simulator's list", id)
			}
		}
	}
	if missing > 0 || extra > 0 {
		t.Errorf("listing: %d records, want %d (%d missing, %d extra)", len(got), len(want), missing, extra)
	}
}

// checkRecord asserts the contract every mapped record keeps (package lms,
// DESIGN.md "The unified model").
func checkRecord(t *testing.T, r provider.Reader, e lms.CourseEnrollment) {
	t.Helper()
	where := "enrollment " + e.ID
	if e.ID == "" {
		t.Errorf("record with empty id: %+v", e)
	}
	if e.Provider != r.Provider() {
		t.Errorf("%s: provider %q, want %q", where, e.Provider, r.Provider())
	}
	if _, err := lms.ParseStatus(string(e.Status)); err != nil {
		t.Errorf("%s: %v", where, err)
	}
	if e.Status.IsDerived() {
		t.Errorf("%s: connector produced derived status %q (the store derives it)", where, e.Status)
	}
	if e.ConnectionID != "" || e.SyncedAt != nil || e.RemoteDeletedAt != nil {
		t.Errorf("%s: connector set a field the sync engine owns", where)
	}
	if e.RemoteStatus == "" {
		t.Errorf("%s: remote_status empty", where)
	}
	if !json.Valid(e.RemoteData) {
		t.Errorf("%s: remote_data is not valid JSON: %q", where, e.RemoteData)
	}
	if e.Course == nil || e.Course.ID == "" {
		t.Errorf("%s: no course id", where)
	}
	if e.User == nil || e.User.ID == "" {
		t.Errorf("%s: no user id", where)
	}
	for name, ts := range map[string]*time.Time{
		"assigned_at": e.AssignedAt, "due_at": e.DueAt, "enrolled_at": e.EnrolledAt, "started_at": e.StartedAt,
		"last_activity_at": e.LastActivityAt, "completed_at": e.CompletedAt, "created_at": e.CreatedAt,
		"updated_at": e.UpdatedAt, "expires_at": e.ExpiresAt,
	} {
		if ts != nil && ts.Location() != time.UTC {
			t.Errorf("%s: %s not in UTC: %v", where, name, ts)
		}
	}
}

func testListingExactlyOnce(t *testing.T, h Harness) {
	env := h.Start(t, h.Enrollments, simkit.Faults{})
	got, pages, err := ListAll(ctxFor(t), env.Reader, "")
	if err != nil {
		t.Fatalf("listing: %v", err)
	}
	if pages < 2 {
		t.Errorf("listing took %d page(s); give the harness a smaller page size so paging is exercised", pages)
	}
	checkIDs(t, got, env.WantIDs())
	for _, e := range got {
		checkRecord(t, env.Reader, e)
	}
}

func testResume(t *testing.T, h Harness) {
	env := h.Start(t, h.Enrollments, simkit.Faults{})
	ctx := ctxFor(t)
	var first []lms.CourseEnrollment
	cursor := ""
	const stopAfter = 3
	for i := 0; i < stopAfter; i++ {
		page, err := env.Reader.EnrollmentPage(ctx, provider.EnrollmentPageParams{Cursor: cursor})
		if err != nil {
			t.Fatalf("page %d: %v", i+1, err)
		}
		first = append(first, page.Enrollments...)
		cursor = page.NextCursor
		if cursor == "" {
			t.Fatalf("walk ended after %d pages; the resume case needs more (smaller page size)", i+1)
		}
	}
	// The cursor crosses a process boundary as a plain string.
	stored := string([]byte(cursor))
	rest, _, err := ListAll(ctx, env.NewReader(), stored)
	if err != nil {
		t.Fatalf("resumed listing: %v", err)
	}
	checkIDs(t, append(first, rest...), env.WantIDs())
}

// getIgnored are the fields in which a single read may always differ from
// the listed record.
var getIgnored = []string{"remote_data"}

func comparable(t *testing.T, e *lms.CourseEnrollment, ignore []string) map[string]any {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, f := range ignore {
		delete(m, f)
	}
	return m
}

func diffRecords(t *testing.T, label string, want, got *lms.CourseEnrollment, ignore []string) {
	t.Helper()
	ignore = append(slices.Clone(getIgnored), ignore...)
	w, g := comparable(t, want, ignore), comparable(t, got, ignore)
	for _, k := range simkit.SortedKeys(mergeKeys(w, g)) {
		wj, _ := json.Marshal(w[k])
		gj, _ := json.Marshal(g[k])
		if string(wj) != string(gj) {
			t.Errorf("%s: field %s: listed %s, got %s", label, k, wj, gj)
		}
	}
}

func mergeKeys(a, b map[string]any) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

func testGetEqualsListed(t *testing.T, h Harness) {
	env := h.Start(t, 60, simkit.Faults{})
	ctx := ctxFor(t)
	all, _, err := ListAll(ctx, env.Reader, "")
	if err != nil {
		t.Fatalf("listing: %v", err)
	}
	// One record of each remote status, so every state is read back once.
	byStatus := map[string]lms.CourseEnrollment{}
	for _, e := range all {
		if _, ok := byStatus[e.RemoteStatus]; !ok {
			byStatus[e.RemoteStatus] = e
		}
	}
	if len(byStatus) == 0 {
		t.Fatal("empty listing")
	}
	for _, st := range simkit.SortedKeys(byStatus) {
		listed := byStatus[st]
		got, err := env.Reader.EnrollmentGet(ctx, listed.ID)
		if err != nil {
			t.Errorf("get %s (%s): %v", listed.ID, st, err)
			continue
		}
		checkRecord(t, env.Reader, *got)
		diffRecords(t, "get "+listed.ID, &listed, got, env.GetIgnores)
	}
}

func testGetUnknown(t *testing.T, h Harness) {
	env := h.Start(t, 10, simkit.Faults{})
	_, err := env.Reader.EnrollmentGet(ctxFor(t), "999999999")
	if !provider.IsKind(err, provider.KindNotFound) {
		t.Errorf("get unknown id: got %v, want KindNotFound", err)
	}
}

func testUsersAndCourses(t *testing.T, h Harness) {
	env := h.Start(t, 60, simkit.Faults{})
	ctx := ctxFor(t)
	all, _, err := ListAll(ctx, env.Reader, "")
	if err != nil {
		t.Fatalf("listing: %v", err)
	}
	users := map[string]bool{}
	for cursor, first := "", true; first || cursor != ""; first = false {
		page, err := env.Reader.UserPage(ctx, cursor)
		if err != nil {
			t.Fatalf("users: %v", err)
		}
		for _, u := range page.Users {
			if users[u.ID] {
				t.Errorf("user %s listed twice", u.ID)
			}
			users[u.ID] = true
		}
		cursor = page.NextCursor
	}
	courses := map[string]bool{}
	for cursor, first := "", true; first || cursor != ""; first = false {
		page, err := env.Reader.CoursePage(ctx, cursor)
		if err != nil {
			t.Fatalf("courses: %v", err)
		}
		for _, c := range page.Courses {
			if courses[c.ID] {
				t.Errorf("course %s listed twice", c.ID)
			}
			if c.Title == "" {
				t.Errorf("course %s without title", c.ID)
			}
			courses[c.ID] = true
		}
		cursor = page.NextCursor
	}
	// Every enrollment points at a listed course and user.
	for _, e := range all {
		if e.Course != nil && !courses[e.Course.ID] {
			t.Errorf("enrollment %s points at course %s, not in CoursePage", e.ID, e.Course.ID)
		}
		if e.User != nil && !users[e.User.ID] {
			t.Errorf("enrollment %s points at user %s, not in UserPage", e.ID, e.User.ID)
		}
	}
}

func testThrottled(t *testing.T, h Harness) {
	// A low limit, so that even a short listing outruns the bucket (the
	// simulator's burst equals its rate).
	env := h.Start(t, h.Enrollments/2, simkit.Faults{RateLimit: 5})
	began := time.Now()
	got, _, err := ListAll(ctxFor(t), env.Reader, "")
	if err != nil {
		t.Fatalf("listing under a 5 rps limit: %v", err)
	}
	checkIDs(t, got, env.WantIDs())
	st := env.Kit.Stats(nil)
	if st.Throttled == 0 {
		t.Errorf("the simulator throttled no request (%d requests); the case proves nothing", st.Total)
	}
	t.Logf("%d requests, %d throttled, %v", st.Total, st.Throttled, time.Since(began))
}

func testFailing(t *testing.T, h Harness) {
	env := h.Start(t, h.Enrollments/2, simkit.Faults{FailRate: 0.2})
	got, _, err := ListAll(ctxFor(t), env.Reader, "")
	if err != nil {
		t.Fatalf("listing with 20%% failures: %v", err)
	}
	checkIDs(t, got, env.WantIDs())
	if env.Kit.Stats(nil).Failed == 0 {
		t.Error("the simulator failed no request; the case proves nothing")
	}
}

func testDropped(t *testing.T, h Harness) {
	env := h.Start(t, h.Enrollments/2, simkit.Faults{DropRate: 0.1})
	got, _, err := ListAll(ctxFor(t), env.Reader, "")
	if err != nil {
		t.Fatalf("listing with 10%% dropped connections: %v", err)
	}
	checkIDs(t, got, env.WantIDs())
}

// testChanges: after records change or vanish behind the connector's back,
// the next walk of the same connector lists exactly what the simulator has,
// and a vanished record reads as not found.
func testChanges(t *testing.T, h Harness) {
	env := h.Start(t, 90, simkit.Faults{})
	if env.Mutate == nil && env.Delete == nil {
		t.Skip("harness gives neither Mutate nor Delete")
	}
	ctx := ctxFor(t)
	first, _, err := ListAll(ctx, env.Reader, "")
	if err != nil {
		t.Fatalf("first listing: %v", err)
	}
	if env.Mutate != nil {
		env.Mutate(20, 42)
	}
	var gone string
	if env.Delete != nil && len(first) > 0 {
		gone = first[len(first)/2].ID
		if !env.Delete(gone) {
			t.Fatalf("simulator could not delete %s", gone)
		}
	}
	second, _, err := ListAll(ctx, env.Reader, "")
	if err != nil {
		t.Fatalf("listing after changes: %v", err)
	}
	checkIDs(t, second, env.WantIDs())
	if gone != "" {
		for _, e := range second {
			if e.ID == gone {
				t.Errorf("deleted enrollment %s still listed", gone)
			}
		}
		if _, err := env.Reader.EnrollmentGet(ctx, gone); !provider.IsKind(err, provider.KindNotFound) {
			t.Errorf("get deleted %s: got %v, want KindNotFound", gone, err)
		}
	}
}

func testMalformed(t *testing.T, h Harness) {
	env := h.Start(t, 20, simkit.Faults{MalformedRate: 1})
	_, err := env.Reader.EnrollmentPage(ctxFor(t), provider.EnrollmentPageParams{})
	if !provider.IsKind(err, provider.KindUpstream) {
		t.Fatalf("malformed JSON: got %v, want KindUpstream", err)
	}
	msg := strings.ToLower(err.Error())
	if !strings.Contains(msg, strings.ToLower(env.Reader.Provider())) {
		t.Errorf("error %q does not name the vendor %q", err, env.Reader.Provider())
	}
	if env.BaseURL != "" && !strings.Contains(err.Error(), env.BaseURL) {
		t.Errorf("error %q does not name the URL under %s", err, env.BaseURL)
	}
}

func testBadCredentials(t *testing.T, h Harness) {
	env := h.Start(t, 20, simkit.Faults{})
	env.Kit.ResetStats()
	_, err := env.BadCredentials().EnrollmentPage(ctxFor(t), provider.EnrollmentPageParams{})
	if !provider.IsKind(err, provider.KindAuthentication) {
		t.Fatalf("bad credentials: got %v, want KindAuthentication", err)
	}
	if n := env.Kit.Stats(nil).Total; n > 2 {
		t.Errorf("bad credentials took %d requests, want at most 2 (no retries of a refusal)", n)
	}
}

func testConnectionTest(t *testing.T, h Harness) {
	env := h.Start(t, 20, simkit.Faults{})
	tester, ok := env.Reader.(provider.ConnectionTester)
	if !ok {
		t.Skip("connector has no ConnectionTest")
	}
	if err := tester.ConnectionTest(ctxFor(t)); err != nil {
		t.Errorf("connection test with good credentials: %v", err)
	}
	bad, ok := env.BadCredentials().(provider.ConnectionTester)
	if !ok {
		t.Fatal("BadCredentials returned a connector without ConnectionTest")
	}
	if err := bad.ConnectionTest(ctxFor(t)); !provider.IsKind(err, provider.KindAuthentication) {
		t.Errorf("connection test with bad credentials: got %v, want KindAuthentication", err)
	}
}

func testCancel(t *testing.T, h Harness) {
	env := h.Start(t, 20, simkit.Faults{})
	if err := env.Kit.SetFaults(simkit.Faults{Latency: simkit.Duration(3 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := env.Reader.EnrollmentPage(ctx, provider.EnrollmentPageParams{})
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	cancelled := time.Now()
	select {
	case err := <-done:
		if took := time.Since(cancelled); took > 100*time.Millisecond {
			t.Errorf("call returned %v after cancel, want within 100ms", took)
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled call: got %v, want an error wrapping context.Canceled", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("call did not return within 2s of cancel")
	}
}

// mustGet reads id back and fails the test when it cannot.
func mustGet(t *testing.T, r provider.Reader, id string) *lms.CourseEnrollment {
	t.Helper()
	got, err := r.EnrollmentGet(ctxFor(t), id)
	if err != nil {
		t.Fatalf("read back %s: %v", id, err)
	}
	checkRecord(t, r, *got)
	return got
}

// checkWrite asserts that the answer of a write and the next read agree and
// show want.
func checkWrite(t *testing.T, r provider.Reader, op string, answer *lms.CourseEnrollment, err error, want ...lms.Status) *lms.CourseEnrollment {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	if answer == nil {
		t.Fatalf("%s returned no enrollment", op)
	}
	read := mustGet(t, r, answer.ID)
	if !slices.Contains(want, answer.Status) {
		t.Errorf("%s answered status %q, want one of %v", op, answer.Status, want)
	}
	if !slices.Contains(want, read.Status) {
		t.Errorf("%s: next read has status %q (remote %q), want one of %v", op, read.Status, read.RemoteStatus, want)
	}
	return read
}

func testWrites(t *testing.T, h Harness) {
	env := h.Start(t, 60, simkit.Faults{})
	r := env.Reader
	need := func(t *testing.T, c lms.Capability, haveTarget bool) {
		t.Helper()
		if !provider.Has(r, c) {
			t.Skipf("connector lacks %s", c)
		}
		if !haveTarget {
			t.Fatalf("connector has %s but the harness gives no target for it", c)
		}
	}
	open := []lms.Status{lms.StatusAssigned, lms.StatusEnrolled, lms.StatusInProgress}
	t.Run("Enroll", func(t *testing.T) {
		need(t, lms.CapabilityEnroll, env.EnrollTarget != nil)
		p := env.EnrollTarget(t)
		got, err := r.(provider.Enroller).Enroll(ctxFor(t), p)
		read := checkWrite(t, r, "enroll", got, err, open...)
		if read.User == nil || read.User.ID != p.UserID || read.Course == nil || read.Course.ID != p.CourseID {
			t.Errorf("enrolled record points at user %+v course %+v, want %s in %s", read.User, read.Course, p.UserID, p.CourseID)
		}
		if !slices.Contains(env.WantIDs(), got.ID) {
			t.Errorf("new enrollment %s not in the simulator's list", got.ID)
		}
	})
	t.Run("ReEnroll", func(t *testing.T) {
		need(t, lms.CapabilityReEnroll, env.ReEnrollTarget != nil)
		p := env.ReEnrollTarget(t)
		got, err := r.(provider.ReEnroller).ReEnroll(ctxFor(t), p)
		read := checkWrite(t, r, "re-enroll", got, err, open...)
		if read.IsCurrent != nil && !*read.IsCurrent {
			t.Errorf("new attempt %s is not current", read.ID)
		}
	})
	t.Run("Complete", func(t *testing.T) {
		need(t, lms.CapabilityComplete, env.CompleteTarget != nil)
		id := env.CompleteTarget(t)
		got, err := r.(provider.Completer).Complete(ctxFor(t), id)
		checkWrite(t, r, "complete", got, err, lms.StatusCompleted, lms.StatusPassed)
	})
	t.Run("Withdraw", func(t *testing.T) {
		need(t, lms.CapabilityWithdraw, env.WithdrawTarget != nil)
		w := r.(provider.Withdrawer)
		modes := append([]string{""}, w.WithdrawModes()...)
		for _, mode := range modes {
			p := env.WithdrawTarget(t)
			p.Mode = mode
			got, err := w.Withdraw(ctxFor(t), p)
			op := fmt.Sprintf("withdraw (mode %q)", mode)
			if !env.WithdrawRemoves {
				checkWrite(t, r, op, got, err, lms.StatusWithdrawn)
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", op, err)
			}
			if got == nil || got.Status != lms.StatusWithdrawn {
				t.Fatalf("%s answered %+v, want the last known record with status withdrawn", op, got)
			}
			if _, err := r.EnrollmentGet(ctxFor(t), p.EnrollmentID); !provider.IsKind(err, provider.KindNotFound) {
				t.Errorf("%s: the LMS removes withdrawn records, but the next read gave %v, want not_found", op, err)
			}
			if slices.Contains(env.WantIDs(), p.EnrollmentID) {
				t.Errorf("%s: %s is still in the simulator's list", op, p.EnrollmentID)
			}
		}
	})
	t.Run("Reactivate", func(t *testing.T) {
		need(t, lms.CapabilityReactivate, env.ReactivateTarget != nil)
		id := env.ReactivateTarget(t)
		got, err := r.(provider.Reactivator).Reactivate(ctxFor(t), id)
		checkWrite(t, r, "reactivate", got, err, lms.StatusEnrolled, lms.StatusInProgress)
	})
	t.Run("Invitation", func(t *testing.T) {
		need(t, lms.CapabilityInvitation, env.InvitationTarget != nil)
		ir := r.(provider.InvitationResponder)
		accepted, err := ir.InvitationAccept(ctxFor(t), env.InvitationTarget(t))
		checkWrite(t, r, "accept invitation", accepted, err, lms.StatusEnrolled, lms.StatusInProgress)
		rejected, err := ir.InvitationReject(ctxFor(t), env.InvitationTarget(t))
		checkWrite(t, r, "reject invitation", rejected, err, lms.StatusWithdrawn)
	})
	t.Run("Score", func(t *testing.T) {
		need(t, lms.CapabilityScore, env.ScoreTarget != nil)
		p := env.ScoreTarget(t)
		got, err := r.(provider.Scorer).Score(ctxFor(t), p)
		if err != nil {
			t.Fatalf("score: %v", err)
		}
		read := mustGet(t, r, got.ID)
		if read.Score == nil || *read.Score != p.Score {
			t.Errorf("score: next read has score %v, want %v", read.Score, p.Score)
		}
	})
	t.Run("SetStatus", func(t *testing.T) {
		need(t, lms.CapabilitySetStatus, env.StatusTarget != nil)
		p := env.StatusTarget(t)
		got, err := r.(provider.StatusSetter).SetStatus(ctxFor(t), p)
		checkWrite(t, r, "set status", got, err, p.Status)
	})
}
