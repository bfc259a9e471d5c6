package syncer_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/events"
	"github.com/registrarhq/registrar/internal/httpx"
	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/provider"
	"github.com/registrarhq/registrar/internal/provider/canvas"
	"github.com/registrarhq/registrar/internal/sim/simkit"
	"github.com/registrarhq/registrar/internal/store"
	"github.com/registrarhq/registrar/internal/syncer"
)

const records = 500

// TestSyncLifecycle walks each provider through the acceptance list of a
// sync: a full sync equals the simulator record for record, a re-sync
// changes nothing, a mutation raises exactly one event per changed record,
// a vanished record is marked deleted and a returning one restored.
func TestSyncLifecycle(t *testing.T) {
	t.Parallel()
	for _, v := range vendors() {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, v, records, simkit.Faults{}, syncer.Config{})
			ctx := context.Background()

			// A full sync equals the simulator.
			run := e.sync(true, store.SyncStatusSucceeded)
			got := e.checkEqualsSim()
			if run.Stats.Inserted != int64(len(got)) || run.Stats.Seen != int64(len(got)) || run.Stats.Pages < 2 {
				t.Fatalf("first run stats %+v for %d records", run.Stats, len(got))
			}
			if _, ok := e.reader.(httpx.StatsReporter); ok && run.Stats.Requests == 0 {
				t.Errorf("requests not counted: %+v", run.Stats)
			}
			evts := byType(e.eventsAfter(0))
			if len(evts[store.EventEnrollmentCreated]) != len(got) || len(evts[store.EventSyncCompleted]) != 1 {
				t.Fatalf("first run events: %d created for %d records, %d sync.completed", len(evts[store.EventEnrollmentCreated]), len(got), len(evts[store.EventSyncCompleted]))
			}
			for id, n := range evts[store.EventEnrollmentCreated] {
				if n != 1 {
					t.Fatalf("%d enrollment.created for %s", n, id)
				}
			}
			// Spot-check fields against the vendor API's own answer.
			checked := 0
			for id, en := range got {
				if checked == 5 {
					break
				}
				checked++
				live, err := e.reader.EnrollmentGet(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if live.Status != en.Record.Status || live.RemoteStatus != en.Record.RemoteStatus ||
					!reflect.DeepEqual(live.User.ID, en.Record.User.ID) || live.Course.ID != en.Record.Course.ID {
					t.Errorf("record %s: stored %s/%s user %s course %s, vendor says %s/%s user %s course %s", id,
						en.Record.Status, en.Record.RemoteStatus, en.Record.User.ID, en.Record.Course.ID,
						live.Status, live.RemoteStatus, live.User.ID, live.Course.ID)
				}
			}
			conn, err := e.st.ConnectionGet(ctx, e.conn.ID)
			if err != nil {
				t.Fatal(err)
			}
			if conn.LastSyncStatus != store.SyncStatusSucceeded || conn.LastFullSyncAt == nil || !conn.UpdatedAt.Equal(e.conn.UpdatedAt) {
				t.Errorf("health after success: %+v", conn)
			}
			// Every learner and course the records point at is stored, as
			// the records have it (a learner in many courses is written once
			// per run, so this checks nothing was skipped).
			users := map[string]lms.User{}
			for cursor := ""; ; {
				page, next, err := e.st.UserList(ctx, store.PeopleListParams{ConnectionID: e.conn.ID, After: cursor, Limit: 500})
				if err != nil {
					t.Fatal(err)
				}
				for _, u := range page {
					users[u.ID] = u
				}
				if cursor = next; cursor == "" {
					break
				}
			}
			courses := map[string]lms.Course{}
			for cursor := ""; ; {
				page, next, err := e.st.CourseList(ctx, store.PeopleListParams{ConnectionID: e.conn.ID, After: cursor, Limit: 500})
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range page {
					courses[c.ID] = c
				}
				if cursor = next; cursor == "" {
					break
				}
			}
			for id, en := range got {
				if u, ok := users[en.Record.User.ID]; !ok || !reflect.DeepEqual(u, *en.Record.User) {
					t.Fatalf("record %s: user %+v stored as %+v (%v)", id, *en.Record.User, u, ok)
				}
				if c, ok := courses[en.Record.Course.ID]; !ok || !reflect.DeepEqual(c, *en.Record.Course) {
					t.Fatalf("record %s: course %+v stored as %+v (%v)", id, *en.Record.Course, c, ok)
				}
			}

			// A re-sync with no change writes nothing and raises nothing.
			seq := e.lastSeq()
			run = e.sync(true, store.SyncStatusSucceeded)
			if run.Stats.Inserted+run.Stats.Updated+run.Stats.Deleted+run.Stats.Restored != 0 || run.Stats.Unchanged != int64(len(got)) {
				t.Fatalf("re-sync stats %+v", run.Stats)
			}
			after := e.eventsAfter(seq)
			if len(after) != 1 || after[0].Type != store.EventSyncCompleted {
				t.Fatalf("re-sync raised %d events: %v", len(after), byType(after))
			}

			// After a mutation, exactly one event per changed record.
			before := e.stored(true)
			mutated := mutatedIDs(t, e.sim, 25, 99)
			seq = e.lastSeq()
			run = e.sync(false, store.SyncStatusSucceeded)
			if run.Kind == store.SyncKindIncremental {
				// An incremental run cannot see records that vanished (Absorb
				// un-enrolls); the full run after it marks them deleted.
				run2 := e.sync(true, store.SyncStatusSucceeded)
				run.Stats.Deleted += run2.Stats.Deleted
				run.Stats.Inserted += run2.Stats.Inserted + run2.Stats.Updated + run2.Stats.Restored
			}
			now := e.checkEqualsSim()
			changed := map[string]bool{}
			all := e.stored(true)
			for id, en := range all {
				if old, ok := before[id]; !ok || old.ContentHash != en.ContentHash || (old.Record.RemoteDeletedAt == nil) != (en.Record.RemoteDeletedAt == nil) {
					changed[id] = true
				}
			}
			perRecord := map[string]int{}
			for _, ev := range e.eventsAfter(seq) {
				if ev.EnrollmentID != "" {
					perRecord[ev.EnrollmentID]++
				}
			}
			if len(changed) == 0 {
				t.Fatal("the mutation changed nothing the connector sees")
			}
			for id := range changed {
				if perRecord[id] != 1 {
					t.Errorf("changed record %s raised %d events", id, perRecord[id])
				}
				if !mutated[id] {
					t.Errorf("record %s changed but the simulator did not mutate it", id)
				}
			}
			for id, n := range perRecord {
				if !changed[id] {
					t.Errorf("unchanged record %s raised %d events", id, n)
				}
			}
			if run.Stats.Inserted+run.Stats.Updated+run.Stats.Deleted+run.Stats.Restored != int64(len(changed)) {
				t.Errorf("run counted %+v, %d records changed", run.Stats, len(changed))
			}

			// A vanished record is marked deleted by a full sync, once.
			var victim string
			for id := range now {
				victim = id
				break
			}
			if !e.sim.DeleteEnrollment(victim) {
				t.Fatalf("simulator could not delete %s", victim)
			}
			seq = e.lastSeq()
			run = e.sync(true, store.SyncStatusSucceeded)
			e.checkEqualsSim()
			gone, err := e.st.EnrollmentGet(ctx, e.conn.ID, victim)
			if err != nil || gone.Record.RemoteDeletedAt == nil {
				t.Fatalf("deleted record %s: %+v, %v", victim, gone, err)
			}
			evts = byType(e.eventsAfter(seq))
			if run.Stats.Deleted != 1 || len(evts[store.EventEnrollmentDeleted]) != 1 || evts[store.EventEnrollmentDeleted][victim] != 1 {
				t.Fatalf("delete: stats %+v, events %v", run.Stats, evts)
			}

			// A record that comes back is restored: mark a live one deleted in
			// the store (as an earlier sweep would have) and sync.
			var back store.Enrollment
			for _, en := range now {
				if en.Record.ID != victim {
					back = en
					break
				}
			}
			err = e.st.InTx(ctx, func(tx store.Tx) error {
				_, err := tx.EnrollmentSweep(ctx, store.EnrollmentSweepParams{ConnectionID: e.conn.ID, RunID: "nobody-" + back.Record.ID, DeletedAt: time.Now()})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			seq = e.lastSeq()
			run = e.sync(true, store.SyncStatusSucceeded)
			e.checkEqualsSim()
			evts = byType(e.eventsAfter(seq))
			if run.Stats.Restored != int64(len(now)-1) || len(evts[store.EventEnrollmentRestored]) != len(now)-1 || len(evts[store.EventEnrollmentDeleted]) != 0 {
				t.Fatalf("restore: stats %+v, %d restored events for %d records", run.Stats, len(evts[store.EventEnrollmentRestored]), len(now)-1)
			}
		})
	}
}

// TestAbsorbIncremental: an incremental sync asks Absorb only for what
// changed, and still raises one event per changed record.
func TestAbsorbIncremental(t *testing.T) {
	t.Parallel()
	e := newEnv(t, vendors()[1], 2000, simkit.Faults{}, syncer.Config{Overlap: time.Second})
	full := e.sync(false, store.SyncStatusSucceeded)
	if full.Kind != store.SyncKindFull {
		t.Fatalf("first run of a connection is %s, want full", full.Kind)
	}
	mutated := mutatedIDs(t, e.sim, 10, 5)
	time.Sleep(1100 * time.Millisecond) // let the run's start second pass the overlap
	seq := e.lastSeq()
	inc := e.sync(false, store.SyncStatusSucceeded)
	if inc.Kind != store.SyncKindIncremental || inc.ChangedSince == nil {
		t.Fatalf("second run is %s since %v, want incremental", inc.Kind, inc.ChangedSince)
	}
	// The connector still lists each course once (Absorb filters enrollments
	// per course), so requests shrink less than records: fewer requests, and
	// only the changed records read.
	if inc.Stats.Requests == 0 || inc.Stats.Requests >= full.Stats.Requests || inc.Stats.Seen > int64(len(mutated))+50 {
		t.Errorf("incremental run made %d requests and read %d records; the full run made %d requests for %d records, %d changed",
			inc.Stats.Requests, inc.Stats.Seen, full.Stats.Requests, full.Stats.Seen, len(mutated))
	}
	for _, ev := range e.eventsAfter(seq) {
		if ev.EnrollmentID != "" && !mutated[ev.EnrollmentID] {
			t.Errorf("event %s for %s, which did not change", ev.Type, ev.EnrollmentID)
		}
	}
	if inc.Stats.Inserted+inc.Stats.Updated == 0 {
		t.Errorf("incremental run saw no change: %+v", inc.Stats)
	}
	// What an incremental run cannot see (records that vanished) the next
	// full run settles, and it finds nothing else to change.
	rec := e.sync(true, store.SyncStatusSucceeded)
	e.checkEqualsSim()
	if rec.Stats.Inserted+rec.Stats.Updated+rec.Stats.Restored != 0 {
		t.Errorf("the full run after the incremental one found changes it missed: %+v", rec.Stats)
	}
}

// TestSyncThroughFaults: 20% failures and throttling are absorbed.
func TestSyncThroughFaults(t *testing.T) {
	t.Parallel()
	for _, v := range vendors() {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, v, 300, simkit.Faults{FailRate: 0.2, RateLimit: 40}, syncer.Config{RetryBackoff: 10 * time.Millisecond})
			run := e.sync(true, store.SyncStatusSucceeded)
			e.checkEqualsSim()
			if _, ok := e.reader.(httpx.StatsReporter); ok && run.Stats.Retries == 0 {
				t.Errorf("no retries counted through 20%% failures: %+v", run.Stats)
			}
		})
	}
}

// TestSyncLMSDown: a sync whose LMS stays down ends failed within the
// bound, marks nothing deleted, and the next run succeeds.
func TestSyncLMSDown(t *testing.T) {
	t.Parallel()
	for _, v := range vendors() {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, v, 200, simkit.Faults{}, syncer.Config{MaxFailure: 2 * time.Second, RetryBackoff: 50 * time.Millisecond})
			e.sync(true, store.SyncStatusSucceeded)
			stored := len(e.stored(false))
			if err := e.sim.Kit().SetFaults(simkit.Faults{FailRate: 1}); err != nil {
				t.Fatal(err)
			}
			seq := e.lastSeq()
			start := time.Now()
			run := e.sync(true, store.SyncStatusFailed)
			if took := time.Since(start); took > 4*time.Second {
				t.Errorf("failing run took %s, bound 2s", took)
			}
			if run.Error == "" || run.FinishedAt == nil {
				t.Errorf("failed run without error or end: %+v", run)
			}
			if n := len(e.stored(false)); n != stored {
				t.Fatalf("failed run left %d live records of %d", n, stored)
			}
			evts := byType(e.eventsAfter(seq))
			if len(evts) != 1 || len(evts[store.EventSyncFailed]) != 1 {
				t.Fatalf("failed run raised %v", evts)
			}
			conn, _ := e.st.ConnectionGet(context.Background(), e.conn.ID)
			if conn.LastSyncStatus != store.SyncStatusFailed || conn.LastSyncError == "" {
				t.Errorf("health after failure: %s %q", conn.LastSyncStatus, conn.LastSyncError)
			}
			var data events.SyncData
			_ = json.Unmarshal(e.eventsAfter(seq)[0].Data, &data)
			if data.Error == "" || data.RunID != run.ID {
				t.Errorf("sync.failed data %+v", data)
			}
			if err := e.sim.Kit().SetFaults(simkit.Faults{}); err != nil {
				t.Fatal(err)
			}
			e.sync(true, store.SyncStatusSucceeded)
			e.checkEqualsSim()
		})
	}
}

// TestAuthFailureEndsAtOnce: refused credentials do not heal; the run fails
// without waiting for MaxFailure.
func TestAuthFailureEndsAtOnce(t *testing.T) {
	t.Parallel()
	v := vendors()[0]
	e := newEnv(t, v, 50, simkit.Faults{}, syncer.Config{MaxFailure: time.Minute})
	e.conns.byID[e.conn.ID] = build(t, canvas.Definition(), map[string]string{"base_url": e.url, "account_id": "1"}, map[string]string{"token": "wrong"})
	start := time.Now()
	run := e.sync(true, store.SyncStatusFailed)
	if time.Since(start) > 10*time.Second {
		t.Errorf("authentication failure took %s", time.Since(start))
	}
	if run.Error == "" {
		t.Error("no error recorded")
	}
}

// TestResumeAfterInterruption: a run stopped after some pages resumes from
// its checkpoint in a new syncer, with one event per record overall.
func TestResumeAfterInterruption(t *testing.T) {
	t.Parallel()
	for _, v := range vendors() {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			// A slow LMS: the store keeps up, so pages are committed one by
			// one and the run is still going when it is stopped (a fast LMS
			// lets a 400-record set be stored in one batch).
			e := newEnv(t, v, 400, simkit.Faults{Latency: simkit.Duration(10 * time.Millisecond)}, syncer.Config{})
			ctx, cancel := context.WithCancel(context.Background())
			_, err := e.sy.Foreground(ctx, syncer.ForegroundParams{ConnectionID: e.conn.ID, Full: true,
				Progress: func(r store.SyncRun, _ bool) {
					// Pages may be committed several at once: stop at the
					// first commit at or past page 3.
					if r.Stats.Pages >= 3 {
						cancel()
					}
				}})
			if err == nil {
				t.Fatal("an interrupted run returned no error")
			}
			run, err := e.st.SyncRunActive(context.Background(), e.conn.ID)
			if err != nil {
				t.Fatal(err)
			}
			if run.Status != store.SyncStatusQueued || run.Cursor == "" || run.Stats.Pages < 3 {
				t.Fatalf("interrupted run: %s cursor %q pages %d", run.Status, run.Cursor, run.Stats.Pages)
			}
			// A fresh engine (a new process) resumes the same run.
			sy := e.syncer(syncer.Config{})
			out, err := sy.Foreground(context.Background(), syncer.ForegroundParams{ConnectionID: e.conn.ID, Full: true})
			if err != nil {
				t.Fatal(err)
			}
			if out.ID != run.ID || out.Status != store.SyncStatusSucceeded || out.Stats.Pages <= run.Stats.Pages {
				t.Fatalf("resumed run %s (was %s): %s, %d pages", out.ID, run.ID, out.Status, out.Stats.Pages)
			}
			got := e.checkEqualsSim()
			evts := byType(e.eventsAfter(0))
			if len(evts[store.EventEnrollmentCreated]) != len(got) || len(evts[store.EventEnrollmentDeleted]) != 0 {
				t.Fatalf("after resume: %d created events for %d records, %d deleted", len(evts[store.EventEnrollmentCreated]), len(got), len(evts[store.EventEnrollmentDeleted]))
			}
			for id, n := range evts[store.EventEnrollmentCreated] {
				if n != 1 {
					t.Fatalf("%d created events for %s", n, id)
				}
			}
		})
	}
}

// recorder is an Enqueuer that remembers what it was handed, so tests can
// see which runs the engine decided to (re)start.
type recorder struct{ runs []string }

func (r *recorder) EnqueueSync(_ context.Context, runID string) error {
	r.runs = append(r.runs, runID)
	return nil
}

// TestOneRunPerConnection: SyncStart returns the active run instead of a
// second one, and the queued run is handed to the queue once.
func TestOneRunPerConnection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, vendors()[2], 50, simkit.Faults{}, syncer.Config{})
	q := &recorder{}
	sy := e.syncer(syncer.Config{Enqueuer: q})
	ctx := context.Background()
	a, err := sy.SyncStart(ctx, e.conn.ID, true, "manual")
	if err != nil {
		t.Fatal(err)
	}
	b, err := sy.SyncStart(ctx, e.conn.ID, false, "manual")
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != b.ID || a.Status != store.SyncStatusQueued || len(q.runs) != 1 {
		t.Fatalf("two starts gave %s and %s, enqueued %v", a.ID, b.ID, q.runs)
	}
	if _, err := sy.SyncStart(ctx, "con_missing", true, "manual"); err == nil {
		t.Error("a sync of an unknown connection started")
	}
	if err := sy.Run(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	done, _ := e.st.SyncRunGet(ctx, a.ID)
	if done.Status != store.SyncStatusSucceeded {
		t.Fatalf("run ended %s: %s", done.Status, done.Error)
	}
	// Running a finished run again does nothing.
	seq := e.lastSeq()
	if err := sy.Run(ctx, a.ID); err != nil || e.lastSeq() != seq {
		t.Fatalf("re-running a finished run: %v, events %d→%d", err, seq, e.lastSeq())
	}
}

// TestLiveOwnerKeepsItsRun: a running run with a fresh heartbeat is not
// taken by Recover or Run; once the heartbeat is stale it is recovered.
func TestLiveOwnerKeepsItsRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, vendors()[2], 50, simkit.Faults{}, syncer.Config{})
	ctx := context.Background()
	clock := time.Now().UTC()
	now := func() time.Time { return clock }
	q := &recorder{}
	sy := e.syncer(syncer.Config{Enqueuer: q, Now: now, StaleAfter: time.Minute, HeartbeatEvery: time.Second})
	run, err := sy.SyncStart(ctx, e.conn.ID, true, "manual")
	if err != nil {
		t.Fatal(err)
	}
	// Another process owns it: running, heartbeat now.
	err = e.st.InTx(ctx, func(tx store.Tx) error {
		hb := clock.Truncate(time.Second)
		run.Status, run.StartedAt, run.HeartbeatAt = store.SyncStatusRunning, &hb, &hb
		return tx.SyncRunUpdate(ctx, run)
	})
	if err != nil {
		t.Fatal(err)
	}
	q.runs = nil
	if n, err := sy.Recover(ctx); err != nil || n != 0 {
		t.Fatalf("Recover took a live run: %d, %v", n, err)
	}
	if err := sy.Run(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	if r, _ := e.st.SyncRunGet(ctx, run.ID); r.Status != store.SyncStatusRunning || r.Stats.Pages != 0 {
		t.Fatalf("a live run was worked by another: %s, %d pages", r.Status, r.Stats.Pages)
	}
	clock = clock.Add(2 * time.Minute)
	if n, err := sy.Recover(ctx); err != nil || n != 1 || len(q.runs) != 1 || q.runs[0] != run.ID {
		t.Fatalf("Recover of a stale run: %d, %v, %v", n, err, q.runs)
	}
	if err := sy.Run(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	if r, _ := e.st.SyncRunGet(ctx, run.ID); r.Status != store.SyncStatusSucceeded {
		t.Fatalf("stale run taken over ended %s: %s", r.Status, r.Error)
	}
}

// TestFileLockProvesLiveness: with a file lock, a run whose owner still
// holds the lock is followed, and one whose owner released it (died) is
// taken over at once, whatever its heartbeat.
func TestFileLockProvesLiveness(t *testing.T) {
	t.Parallel()
	e := newEnv(t, vendors()[2], 50, simkit.Faults{}, syncer.Config{})
	lock := syncer.NewFileLocker(e.dir)
	if lock == nil {
		t.Skip("no flock on this platform")
	}
	ctx := context.Background()
	q := &recorder{}
	sy := e.syncer(syncer.Config{Locker: lock, Enqueuer: q})
	run, err := sy.SyncStart(ctx, e.conn.ID, true, "manual")
	if err != nil {
		t.Fatal(err)
	}
	err = e.st.InTx(ctx, func(tx store.Tx) error {
		hb := time.Now().UTC().Truncate(time.Second)
		run.Status, run.StartedAt, run.HeartbeatAt = store.SyncStatusRunning, &hb, &hb
		return tx.SyncRunUpdate(ctx, run)
	})
	if err != nil {
		t.Fatal(err)
	}
	unlock, ok, err := lock.TryLock(e.conn.ID)
	if err != nil || !ok {
		t.Fatalf("lock: %v %v", ok, err)
	}
	if _, ok2, _ := lock.TryLock(e.conn.ID); ok2 {
		t.Fatal("a held lock was granted twice")
	}
	q.runs = nil
	if n, _ := sy.Recover(ctx); n != 0 {
		t.Fatal("Recover took a run whose owner holds the lock")
	}
	followed := make(chan struct{}, 1)
	done := make(chan *store.SyncRun, 1)
	go func() {
		out, err := sy.Foreground(ctx, syncer.ForegroundParams{ConnectionID: e.conn.ID, PollEvery: 20 * time.Millisecond,
			Progress: func(r store.SyncRun, following bool) {
				if following {
					select {
					case followed <- struct{}{}:
					default:
					}
				}
			}})
		if err != nil {
			t.Error(err)
		}
		done <- out
	}()
	<-followed
	unlock() // the owner dies: the kernel drops its lock
	select {
	case out := <-done:
		if out.ID != run.ID || out.Status != store.SyncStatusSucceeded {
			t.Fatalf("taken-over run %s ended %s (%s)", out.ID, out.Status, out.Error)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the follower did not take over a run whose owner died")
	}
	e.checkEqualsSim()
}

// TestSchedule: due connections start, paused ones and ones synced within
// their interval do not, and full runs come back after FullEvery.
func TestSchedule(t *testing.T) {
	t.Parallel()
	e := newEnv(t, vendors()[1], 60, simkit.Faults{}, syncer.Config{})
	ctx := context.Background()
	clock := time.Now().UTC()
	q := &recorder{}
	sy := e.syncer(syncer.Config{Enqueuer: q, Now: func() time.Time { return clock }, FullEvery: 24 * time.Hour})
	n, err := sy.Schedule(ctx)
	if err != nil || n != 1 {
		t.Fatalf("a never-synced connection: %d started, %v", n, err)
	}
	if err := sy.Run(ctx, q.runs[0]); err != nil {
		t.Fatal(err)
	}
	if n, _ := sy.Schedule(ctx); n != 0 {
		t.Fatal("a connection synced just now started again")
	}
	clock = clock.Add(16 * time.Minute)
	q.runs = nil
	if n, _ := sy.Schedule(ctx); n != 1 {
		t.Fatal("a connection past its interval did not start")
	}
	r, _ := e.st.SyncRunGet(ctx, q.runs[0])
	if r.Kind != store.SyncKindIncremental || r.Trigger != "schedule" {
		t.Fatalf("scheduled run within a day of a full one: %s, trigger %s", r.Kind, r.Trigger)
	}
	if err := sy.Run(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(25 * time.Hour)
	q.runs = nil
	if n, _ := sy.Schedule(ctx); n != 1 {
		t.Fatal("not started after a day")
	}
	if r, _ := e.st.SyncRunGet(ctx, q.runs[0]); r.Kind != store.SyncKindFull {
		t.Fatalf("scheduled run a day after the last full one is %s", r.Kind)
	}
	if err := sy.Run(ctx, q.runs[0]); err != nil {
		t.Fatal(err)
	}
	// Paused connections are skipped.
	conn, _ := e.st.ConnectionGet(ctx, e.conn.ID)
	conn.Paused = true
	if err := e.st.InTx(ctx, func(tx store.Tx) error { return tx.ConnectionUpdate(ctx, conn) }); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(time.Hour)
	if n, _ := sy.Schedule(ctx); n != 0 {
		t.Fatal("a paused connection was scheduled")
	}
}

// TestWriteBackDuringFullRunIsNotSwept: a record rewritten through the API
// while a full run walks (write-back stores the LMS's answer without the
// run's mark) is not marked deleted when the run ends, even though the
// walk had passed its page.
func TestWriteBackDuringFullRunIsNotSwept(t *testing.T) {
	t.Parallel()
	for _, v := range vendors() {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, v, 400, simkit.Faults{}, syncer.Config{})
			ctx := context.Background()
			e.sync(true, store.SyncStatusSucceeded)
			var target lms.CourseEnrollment
			score := 42.5
			seq := e.lastSeq()
			run, err := e.sy.Foreground(ctx, syncer.ForegroundParams{ConnectionID: e.conn.ID, Full: true,
				Progress: func(r store.SyncRun, _ bool) {
					if r.Stats.Pages < 2 || target.ID != "" {
						return
					}
					// A record the run has already seen on page 1 or 2.
					for _, en := range e.stored(false) {
						if en.SeenRun == r.ID {
							target = en.Record
							break
						}
					}
					target.Score = &score
					err := e.st.InTx(ctx, func(tx store.Tx) error {
						_, err := events.Apply(ctx, tx, events.ApplyParams{ConnectionID: e.conn.ID, Records: []lms.CourseEnrollment{target},
							Now: time.Now(), Source: "api"})
						return err
					})
					if err != nil {
						t.Error(err)
					}
				}})
			if err != nil || run.Status != store.SyncStatusSucceeded {
				t.Fatalf("run: %v %+v", err, run)
			}
			if target.ID == "" {
				t.Fatal("no record was written during the run")
			}
			got, err := e.st.EnrollmentGet(ctx, e.conn.ID, target.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Record.RemoteDeletedAt != nil || run.Stats.Deleted != 0 {
				t.Fatalf("a record written during the run was marked deleted (run deleted %d)", run.Stats.Deleted)
			}
			if got.Record.Score == nil || *got.Record.Score != score {
				t.Fatalf("the walk re-read the record after the write, so this test proves nothing (score %v)", got.Record.Score)
			}
			for _, ev := range e.eventsAfter(seq) {
				if ev.Type == store.EventEnrollmentDeleted {
					t.Fatalf("deleted event for %s", ev.EnrollmentID)
				}
			}
		})
	}
}

// TestOwnerThatLostItsRunStops: when another owner took a run over (this
// one stalled past StaleAfter), the old owner's next commit finds a
// heartbeat it did not write and stops without writing.
func TestOwnerThatLostItsRunStops(t *testing.T) {
	t.Parallel()
	// A slow LMS, so that pages are committed one by one (see
	// TestResumeAfterInterruption).
	e := newEnv(t, vendors()[0], 400, simkit.Faults{Latency: simkit.Duration(10 * time.Millisecond)}, syncer.Config{})
	ctx := context.Background()
	taken := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
	var takenAt int64
	_, err := e.sy.Foreground(ctx, syncer.ForegroundParams{ConnectionID: e.conn.ID, Full: true,
		Progress: func(r store.SyncRun, _ bool) {
			// Pages may be committed several at once: take the run over at
			// the first commit at or past page 2.
			if r.Stats.Pages < 2 || takenAt != 0 {
				return
			}
			takenAt = r.Stats.Pages
			err := e.st.InTx(ctx, func(tx store.Tx) error {
				cur, err := tx.SyncRunGet(ctx, r.ID)
				if err != nil {
					return err
				}
				cur.HeartbeatAt = &taken
				return tx.SyncRunUpdate(ctx, cur)
			})
			if err != nil {
				t.Error(err)
			}
		}})
	if err == nil {
		t.Fatal("an owner that lost its run finished it")
	}
	run, err := e.st.SyncRunActive(ctx, e.conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if run.Stats.Pages != takenAt || run.HeartbeatAt == nil || !run.HeartbeatAt.Equal(taken) || run.Status != store.SyncStatusRunning {
		t.Fatalf("the old owner wrote after losing the run: %d pages, heartbeat %v, %s", run.Stats.Pages, run.HeartbeatAt, run.Status)
	}
}

// TestRunOfDeletedConnection: a run whose connection was deleted (with its
// runs) is nothing to do, not an error for the job to retry.
func TestRunOfDeletedConnection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, vendors()[2], 20, simkit.Faults{}, syncer.Config{})
	ctx := context.Background()
	q := &recorder{}
	sy := e.syncer(syncer.Config{Enqueuer: q})
	run, err := sy.SyncStart(ctx, e.conn.ID, true, "manual")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.InTx(ctx, func(tx store.Tx) error { return tx.ConnectionDelete(ctx, e.conn.ID) }); err != nil {
		t.Fatal(err)
	}
	if err := sy.Run(ctx, run.ID); err != nil {
		t.Fatalf("run of a deleted connection: %v", err)
	}
}

// TestConcurrentStartsShareOneRun: starts racing from many goroutines (API
// requests, the schedule) all get the same run.
func TestConcurrentStartsShareOneRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, vendors()[2], 20, simkit.Faults{}, syncer.Config{})
	q := &lockedRecorder{}
	sy := e.syncer(syncer.Config{Enqueuer: q})
	ids := make(chan string, 16)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run, err := sy.SyncStart(context.Background(), e.conn.ID, i%2 == 0, "manual")
			if err != nil {
				t.Error(err)
				return
			}
			ids <- run.ID
		}()
	}
	wg.Wait()
	close(ids)
	first := ""
	for id := range ids {
		if first == "" {
			first = id
		}
		if id != first {
			t.Fatalf("concurrent starts gave runs %s and %s", first, id)
		}
	}
	if q.n.Load() != 1 {
		t.Fatalf("the run was enqueued %d times", q.n.Load())
	}
}

type lockedRecorder struct{ n atomic.Int64 }

func (r *lockedRecorder) EnqueueSync(context.Context, string) error {
	r.n.Add(1)
	return nil
}

// cyclingReader stands for a buggy connector: after a few pages it hands
// back a cursor it gave before, as a frozen or looping vendor cursor does.
type cyclingReader struct {
	provider.Reader
	mu    sync.Mutex
	pages int
	first string
}

func (c *cyclingReader) EnrollmentPage(ctx context.Context, p provider.EnrollmentPageParams) (*provider.EnrollmentPage, error) {
	page, err := c.Reader.EnrollmentPage(ctx, p)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pages++
	if c.pages == 1 {
		c.first = page.NextCursor
	}
	if c.pages == 4 {
		page.NextCursor = c.first
	}
	return page, nil
}

// TestCyclingCursorFailsTheRun: a walk that comes back to a cursor it
// followed fails instead of looping or ending phantom-complete, and its
// sweep does not run.
func TestCyclingCursorFailsTheRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, vendors()[0], 400, simkit.Faults{}, syncer.Config{})
	e.sync(true, store.SyncStatusSucceeded)
	live := len(e.stored(false))
	e.conns.byID[e.conn.ID] = &cyclingReader{Reader: e.reader}
	run := e.sync(true, store.SyncStatusFailed)
	if !strings.Contains(run.Error, "already followed") {
		t.Errorf("error %q", run.Error)
	}
	if n := len(e.stored(false)); n != live {
		t.Fatalf("a failed walk left %d of %d records live", n, live)
	}
}
