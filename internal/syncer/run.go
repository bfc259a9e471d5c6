package syncer

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	gojson "github.com/goccy/go-json"
	"golang.org/x/sync/semaphore"

	"github.com/registrarhq/registrar/internal/events"
	"github.com/registrarhq/registrar/internal/httpx"
	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/provider"
	"github.com/registrarhq/registrar/internal/store"
)

var (
	// errBusy: a live owner runs the run.
	errBusy = errors.New("sync run is owned by a live worker")
	// errFinished: the run had already ended.
	errFinished = errors.New("sync run already finished")
	// errLost: another owner took the run over (this one stalled past
	// StaleAfter), or the run was deleted with its connection.
	errLost = errors.New("sync run was taken over or deleted")
)

// Run executes a run until it ends (succeeded or failed) or ctx is done.
// It resumes from the run's checkpoint. It returns nil when the run ended,
// was already finished, or is owned by a live worker elsewhere; a cancelled
// ctx leaves the run queued with its checkpoint, for Recover to resume. A
// run deleted with its connection is nothing to do. An error means the
// store failed: the caller (a job) may retry.
func (s *Syncer) Run(ctx context.Context, runID string) error {
	_, err := s.execute(ctx, runID, nil)
	switch {
	case err == nil, errors.Is(err, errBusy), errors.Is(err, errFinished), errors.Is(err, errLost):
		return nil
	case errors.Is(err, store.ErrNotFound):
		// The run went with its connection: nothing is left to do.
		return nil
	case ctx.Err() != nil:
		return nil
	}
	return err
}

// execution is one process's turn at a run.
type execution struct {
	s        *Syncer
	reader   provider.Reader
	provider string
	progress func(store.SyncRun)

	// mu serialises commits of the page loop and the heartbeat ticker, so
	// that run is always the state last committed.
	mu  sync.Mutex
	run store.SyncRun

	// written remembers the users and courses this execution has written
	// (by a hash of their JSON), so that a learner in forty courses is
	// written once per run rather than once per page that lists them. Only
	// the walk's goroutine uses it; an execution ends at its first failed
	// commit, so it never holds what a rolled-back transaction wrote.
	written     map[string]uint64
	writtenSeed maphash.Seed

	// encodeAhead tells the preparer whether most records of the pages last
	// committed were written (see preparer).
	encodeAhead atomic.Bool
}

// maxWrittenPeople bounds execution.written (~100 bytes an entry, so ~5 MB); past it,
// people are upserted as if new (the store skips unchanged rows anyway).
const maxWrittenPeople = 50_000

// execute claims and runs a run; see Run. It returns the run as it ended.
func (s *Syncer) execute(ctx context.Context, runID string, progress func(store.SyncRun)) (*store.SyncRun, error) {
	r, err := s.cfg.Store.SyncRunGet(ctx, runID)
	if err != nil {
		return nil, err
	}
	if r.Status == store.SyncStatusSucceeded || r.Status == store.SyncStatusFailed {
		return r, errFinished
	}
	haveLock := false
	if s.cfg.Locker != nil {
		unlock, ok, err := s.cfg.Locker.TryLock(r.ConnectionID)
		if err != nil {
			return r, err
		}
		if !ok {
			return r, errBusy
		}
		defer unlock()
		haveLock = true
	}
	r, err = s.claim(ctx, runID, haveLock)
	if err != nil {
		return r, err
	}
	e := &execution{s: s, run: *r, progress: progress}
	conn, err := s.cfg.Store.ConnectionGet(ctx, r.ConnectionID)
	if err != nil {
		return r, err
	}
	e.provider = conn.Provider
	if e.reader, err = s.cfg.Connectors.Connector(ctx, conn); err != nil {
		// A connection that cannot build a connector (bad stored settings,
		// undecryptable credentials) will not heal by retrying.
		return e.fail(ctx, err)
	}
	if r.Cursor != "" {
		s.log.Info("sync run resuming from its checkpoint", "run", r.ID, "connection", r.ConnectionID, "pages", r.Stats.Pages)
	} else {
		s.log.Info("sync run started", "run", r.ID, "connection", r.ConnectionID, "kind", r.Kind)
	}
	e.report()

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stopBeat := e.heartbeat(runCtx, cancel)
	out, err := e.walk(runCtx)
	stopBeat()
	if cause := context.Cause(runCtx); err != nil && errors.Is(cause, errLost) {
		err = cause
	}
	return out, err
}

// claim marks a run running for this owner. A queued run is free; a running
// one is taken over only when its owner is known dead (haveLock: this
// process holds the connection's lock, so no live process on this host runs
// it) or its heartbeat is stale.
func (s *Syncer) claim(ctx context.Context, runID string, haveLock bool) (*store.SyncRun, error) {
	var out *store.SyncRun
	err := s.cfg.Store.InTx(ctx, func(tx store.Tx) error {
		r, err := tx.SyncRunGet(ctx, runID)
		if err != nil {
			return err
		}
		out = r
		switch r.Status {
		case store.SyncStatusSucceeded, store.SyncStatusFailed:
			return errFinished
		case store.SyncStatusRunning:
			if !haveLock && !s.stale(r) {
				return errBusy
			}
		}
		now := s.now()
		if r.StartedAt == nil {
			r.StartedAt = &now
		}
		// The heartbeat doubles as the owner's token (commit compares it), and
		// it has second precision: a claim always moves it past the previous
		// owner's last one, so a stalled owner that wakes up within the same
		// second cannot mistake the run for still its own.
		hb := now
		if r.HeartbeatAt != nil && !hb.After(*r.HeartbeatAt) {
			hb = r.HeartbeatAt.Add(time.Second)
		}
		r.Status, r.HeartbeatAt, r.Error = store.SyncStatusRunning, &hb, ""
		return tx.SyncRunUpdate(ctx, r)
	})
	return out, err
}

// heartbeat refreshes the run's heartbeat between pages until stopped; if
// the run was lost it cancels the execution.
func (e *execution) heartbeat(ctx context.Context, cancel context.CancelCauseFunc) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(e.s.cfg.HeartbeatEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				err := e.commit(ctx, func(store.Tx, *store.SyncRun) error { return nil })
				if errors.Is(err, errLost) {
					cancel(err)
					return
				}
				if err != nil && ctx.Err() == nil {
					e.s.log.Warn("sync heartbeat failed", "run", e.run.ID, "err", err)
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// commit runs fn and the run's update in one transaction, after checking
// that this owner still holds the run. fn changes next, a copy of the run;
// the copy becomes the run only when the transaction committed.
func (e *execution) commit(ctx context.Context, fn func(tx store.Tx, next *store.SyncRun) error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	next := e.run
	// Never move the heartbeat back (see claim): it stays past any earlier
	// owner's, whatever this process's clock says.
	now := e.s.now()
	if e.run.HeartbeatAt != nil && now.Before(*e.run.HeartbeatAt) {
		now = *e.run.HeartbeatAt
	}
	next.HeartbeatAt = &now
	err := e.s.cfg.Store.InTx(ctx, func(tx store.Tx) error {
		cur, err := tx.SyncRunGet(ctx, e.run.ID)
		if errors.Is(err, store.ErrNotFound) {
			return errLost
		}
		if err != nil {
			return err
		}
		if cur.Status != store.SyncStatusRunning || !sameTime(cur.HeartbeatAt, e.run.HeartbeatAt) {
			return errLost
		}
		if err := fn(tx, &next); err != nil {
			return err
		}
		return tx.SyncRunUpdate(ctx, &next)
	})
	if err != nil {
		return err
	}
	e.run = next
	return nil
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Unix() == b.Unix()
}

func (e *execution) snapshot() store.SyncRun {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.run
}

func (e *execution) report() {
	if e.progress != nil {
		e.progress(e.snapshot())
	}
}

func (e *execution) httpStats() httpx.Stats {
	if sr, ok := e.reader.(httpx.StatsReporter); ok {
		return sr.HTTPStats()
	}
	return httpx.Stats{}
}

// fetched is one page read by the fetcher of a walk, or the error that
// ended the fetching.
type fetched struct {
	params  provider.EnrollmentPageParams // what was asked
	page    *provider.EnrollmentPage
	hashes  []string // events.Hash of each record, computed by the preparer
	encoded [][]byte // the store's encoding of records to write (preparer)
	used    httpx.Stats
	err     error
	queued  int64 // read-ahead records it holds until committed
}

// Batching bounds: the pages committed in one transaction. Committing
// several pages at once saves the per-transaction work (the run row's read
// and rewrite, the commit), and above all the rewriting of the same index
// pages: every commit writes each B-tree page it touched to the WAL, and a
// page of random user ids touches most leaves of the user index, so small
// commits write those leaves again and again.
//
// Fetched records hold a share of readAheadRecords from the fetch until
// their commit (queued or in a batch), so it bounds the sync's memory
// whatever the page size (Absorb's pages hold 500 records, Canvas's 100)
// and, with it, the largest batch. Measured on Canvas, 100k full sync /
// peak memory of a sync process at 100k and 1M: 2,000: 6.2 s, 134 MB;
// 4,000: 5.6 s, 150 / 166 MB; 8,000: 5.2 s, 196 / 207 MB (over the 200 MB
// goal). readAheadPages only sizes the queues.
const (
	maxBatchPages    = 64
	readAheadRecords = 4000
	maxBatchRecords  = readAheadRecords
	readAheadPages   = 128
)

// walk reads pages from the checkpoint to the end, committing them. One
// fetcher reads the next pages while the current ones are stored
// (pipelining, in order); the pages that arrived while the store was busy
// are committed together in one transaction, whose checkpoint is the cursor
// after the last of them, so a resume is exactly as after per-page commits.
// When the LMS is slower than the store, every page has its own commit.
func (e *execution) walk(ctx context.Context) (*store.SyncRun, error) {
	start := e.snapshot()
	pages := make(chan fetched, readAheadPages)
	fetchCtx, stopFetch := context.WithCancel(ctx)
	defer stopFetch()
	queued := semaphore.NewWeighted(readAheadRecords)
	fetchedPages := make(chan fetched, readAheadPages)
	go e.fetcher(fetchCtx, provider.EnrollmentPageParams{Cursor: start.Cursor, ChangedSince: start.ChangedSince}, fetchedPages, queued)
	e.encodeAhead.Store(true) // until the writer says otherwise
	go e.preparer(fetchCtx, fetchedPages, pages)
	walked := map[string]bool{}
	var pending *fetched // read but not yet batched (it did not fit)
	for {
		var batch []fetched
		var failed *fetched // a fetch error or a cursor the walk had followed
		records := 0
		add := func(f fetched) bool {
			if f.err == nil {
				last := f.page.NextCursor == ""
				if !last && (f.page.NextCursor == f.params.Cursor || walked[f.page.NextCursor]) {
					// A frozen or cycling cursor would walk forever, or end as a
					// phantom-complete run whose sweep deletes what it never reached.
					f.err = fmt.Errorf("%s connector returned a cursor this walk had already followed: the walk would never end", e.provider)
				}
			}
			if f.err != nil {
				failed = &f
				return false
			}
			walked[f.params.Cursor] = true
			batch = append(batch, f)
			records += len(f.page.Enrollments)
			return f.page.NextCursor != ""
		}
		more := true
		if pending != nil {
			more, pending = add(*pending), nil
		} else {
			select {
			case f := <-pages:
				more = add(f)
			case <-ctx.Done():
				return e.release(ctx)
			}
		}
		// Take what else is ready, without waiting for the LMS.
		for more && len(batch) < maxBatchPages && records < maxBatchRecords {
			select {
			case f := <-pages:
				if len(batch) > 0 && records+len(f.page.Enrollments) > maxBatchRecords && f.err == nil {
					pending, more = &f, false
					continue
				}
				more = add(f)
				continue
			default:
			}
			break
		}
		if len(batch) > 0 {
			out, err, stop := e.commitBatch(ctx, batch)
			for _, f := range batch {
				queued.Release(f.queued)
			}
			if stop {
				return out, err
			}
		}
		if failed != nil {
			if failed.err != nil && ctx.Err() != nil {
				return e.release(ctx)
			}
			return e.failWith(ctx, failed.err, failed.used)
		}
	}
}

// fetcher reads pages in order into out until the walk ends, a fetch fails
// (the failure is sent, and it stops), or ctx is done.
func (e *execution) fetcher(ctx context.Context, params provider.EnrollmentPageParams, out chan<- fetched, queued *semaphore.Weighted) {
	for {
		before := e.httpStats()
		page, err := e.s.fetch(ctx, e.reader, params)
		f := fetched{params: params, page: page, used: e.httpStats().Sub(before), err: err}
		if err == nil {
			f.queued = min(int64(len(page.Enrollments)), readAheadRecords)
			if err := queued.Acquire(ctx, f.queued); err != nil {
				return
			}
		}
		select {
		case out <- f:
		case <-ctx.Done():
			return
		}
		if err != nil || page.NextCursor == "" {
			return
		}
		params.Cursor = page.NextCursor
	}
}

// preparer does, beside the fetcher and the store, the work on a page that
// needs no transaction, so that the single writer only writes: it hashes
// every record (events.ApplyParams.Hashes) and, while most records are being
// written, encodes them for the store (events.ApplyParams.Encoded).
//
// Whether to encode follows what the writer found on the pages it last
// committed (execution.encodeAhead): a first sync writes every record, a
// re-sync of an unchanged LMS writes none. It is not decided by reading the
// stored states here: those reads went through the reader pool and pulled
// the pages the writer had just written (still in the WAL, so copied into
// each reader's page cache) into memory, ~50 MB for 100,000 records. A wrong
// guess costs an encoding made for nothing, or one left to the writer; what
// to write is still decided in the transaction.
func (e *execution) preparer(ctx context.Context, in <-chan fetched, out chan<- fetched) {
	for {
		var f fetched
		select {
		case f = <-in:
		case <-ctx.Done():
			return
		}
		if f.err == nil {
			e.prepare(&f)
		}
		select {
		case out <- f:
		case <-ctx.Done():
			return
		}
		if f.err != nil || f.page.NextCursor == "" {
			return
		}
	}
}

func (e *execution) prepare(f *fetched) {
	recs := f.page.Enrollments
	f.hashes = make([]string, len(recs))
	for i, r := range recs {
		f.hashes[i] = events.Hash(r)
	}
	if !e.encodeAhead.Load() {
		return
	}
	f.encoded = make([][]byte, len(recs))
	for i, r := range recs {
		if b, err := e.s.cfg.Store.EnrollmentEncode(r); err == nil {
			f.encoded[i] = b
		}
	}
}

// commitBatch stores pages in one transaction. stop says the walk ends
// with (out, err): the run succeeded (its last page is in the batch), was
// lost or released, or the store failed.
func (e *execution) commitBatch(ctx context.Context, batch []fetched) (out *store.SyncRun, err error, stop bool) {
	lastOfRun := batch[len(batch)-1].page.NextCursor == ""
	err = e.commit(ctx, func(tx store.Tx, next *store.SyncRun) error {
		for i, f := range batch {
			if err := e.applyPage(ctx, tx, next, f.page, f.hashes, f.encoded, f.used, lastOfRun && i == len(batch)-1); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, errLost) {
			return nil, err, true
		}
		if ctx.Err() != nil {
			out, err = e.release(ctx)
			return out, err, true
		}
		// The store failed: give the run back so that a retry, here or
		// elsewhere, resumes it from the last committed page.
		_, _ = e.release(ctx)
		return nil, err, true
	}
	for _, f := range batch {
		e.s.metrics.addPage(e.provider, f.used)
	}
	e.report()
	if !lastOfRun {
		return nil, nil, false
	}
	run := e.snapshot()
	e.s.metrics.finished(e.provider, &run)
	e.s.log.Info("sync run succeeded", "run", run.ID, "connection", run.ConnectionID, "kind", run.Kind,
		"pages", run.Stats.Pages, "seen", run.Stats.Seen, "inserted", run.Stats.Inserted, "updated", run.Stats.Updated,
		"deleted", run.Stats.Deleted, "restored", run.Stats.Restored)
	return &run, nil, true
}

// applyPage writes one page and moves the checkpoint past it; the last page
// also ends the run (see the package doc).
func (e *execution) applyPage(ctx context.Context, tx store.Tx, next *store.SyncRun, page *provider.EnrollmentPage, hashes []string, encoded [][]byte, used httpx.Stats, last bool) error {
	now := *next.HeartbeatAt
	// Incremental runs mark what they saw too. Only a full run's own mark
	// protects a record from its sweep, so this costs deletes nothing, and it
	// leaves the empty mark to writes from outside a sync (see sweep).
	counts, err := events.Apply(ctx, tx, events.ApplyParams{
		ConnectionID: next.ConnectionID, RunID: next.ID, Records: page.Enrollments, Hashes: hashes, Encoded: encoded, Now: now, Source: "sync",
	})
	if err != nil {
		return err
	}
	users, courses := people(page.Enrollments)
	users = notWritten(e, "u", users, func(u lms.User) string { return u.ID })
	courses = notWritten(e, "c", courses, func(c lms.Course) string { return c.ID })
	if err := tx.UserUpsertMany(ctx, next.ConnectionID, users); err != nil {
		return err
	}
	if err := tx.CourseUpsertMany(ctx, next.ConnectionID, courses); err != nil {
		return err
	}
	st := &next.Stats
	st.Pages++
	st.Seen += counts.Inserted + counts.Updated + counts.Unchanged + counts.Restored
	st.Inserted += counts.Inserted
	st.Updated += counts.Updated
	st.Unchanged += counts.Unchanged
	st.Restored += counts.Restored
	addHTTP(st, used)
	if page.Total >= 0 {
		st.Total = int64(page.Total)
	}
	next.Cursor = page.NextCursor
	e.s.metrics.addRecords(e.provider, counts)
	written := counts.Inserted + counts.Updated + counts.Restored
	e.encodeAhead.Store(2*written >= int64(len(page.Enrollments)))
	if !last {
		return nil
	}
	if next.Kind == store.SyncKindFull {
		deleted, err := e.sweep(ctx, tx, next, now)
		if err != nil {
			return err
		}
		st.Deleted += deleted
	}
	next.Status = store.SyncStatusSucceeded
	next.FinishedAt = &now
	next.Error = ""
	return e.finish(ctx, tx, next, now)
}

// sweep marks what a complete full run did not see as deleted. A record
// written through the API (write-back reads the record back from the LMS
// and stores it without a run's mark) since the run started was in the LMS
// then, even if the walk had passed its place, so it is put back rather than
// reported deleted.
func (e *execution) sweep(ctx context.Context, tx store.Tx, run *store.SyncRun, now time.Time) (int64, error) {
	swept, err := tx.EnrollmentSweep(ctx, store.EnrollmentSweepParams{ConnectionID: run.ConnectionID, RunID: run.ID, DeletedAt: now})
	if err != nil {
		return 0, err
	}
	var gone, keep []store.Enrollment
	for _, en := range swept {
		if en.SeenRun == "" && run.StartedAt != nil && en.Record.SyncedAt != nil && !en.Record.SyncedAt.Before(*run.StartedAt) {
			en.Record.RemoteDeletedAt = nil
			en.ChangedAt = *en.Record.SyncedAt
			en.SeenRun = run.ID
			keep = append(keep, en)
			continue
		}
		gone = append(gone, en)
	}
	if len(keep) > 0 {
		if err := tx.EnrollmentUpsertMany(ctx, keep); err != nil {
			return 0, err
		}
	}
	if err := events.Deleted(ctx, tx, run.ConnectionID, gone, now); err != nil {
		return 0, err
	}
	return int64(len(gone)), nil
}

// finish records the end of a run: the connection's health and the
// sync.completed or sync.failed event, in the run's last transaction.
func (e *execution) finish(ctx context.Context, tx store.Tx, run *store.SyncRun, now time.Time) error {
	conn, err := tx.ConnectionGet(ctx, run.ConnectionID)
	if err != nil {
		return err
	}
	conn.LastSyncAt = &now
	conn.LastSyncStatus = run.Status
	conn.LastSyncError = run.Error
	typ := store.EventSyncFailed
	if run.Status == store.SyncStatusSucceeded {
		typ = store.EventSyncCompleted
		if run.Kind == store.SyncKindFull {
			conn.LastFullSyncAt = &now
		}
	}
	// UpdatedAt is left alone: it is the connection's configuration version
	// (connector caches key on it), and health is not configuration.
	if err := tx.ConnectionUpdate(ctx, conn); err != nil {
		return err
	}
	return tx.EventAppend(ctx, []store.Event{events.SyncEvent(typ, run, now)})
}

// fail ends the run failed before any page was read.
func (e *execution) fail(ctx context.Context, cause error) (*store.SyncRun, error) {
	return e.failWith(ctx, cause, httpx.Stats{})
}

// failWith ends the run failed: nothing is swept, the checkpoint is dropped,
// health and the sync.failed event record why.
func (e *execution) failWith(ctx context.Context, cause error, used httpx.Stats) (*store.SyncRun, error) {
	// The failure must be recorded even when it is the run's context that
	// ran out (a stop during the failing call is handled by the caller).
	ctx = context.WithoutCancel(ctx)
	err := e.commit(ctx, func(tx store.Tx, next *store.SyncRun) error {
		now := *next.HeartbeatAt
		addHTTP(&next.Stats, used)
		next.Status = store.SyncStatusFailed
		next.FinishedAt = &now
		next.Error = cause.Error()
		next.Cursor = ""
		return e.finish(ctx, tx, next, now)
	})
	if err != nil {
		return nil, errors.Join(err, cause)
	}
	run := e.snapshot()
	e.s.metrics.addHTTP(e.provider, used)
	e.s.metrics.finished(e.provider, &run)
	e.report()
	e.s.log.Warn("sync run failed", "run", run.ID, "connection", run.ConnectionID, "err", cause)
	return &run, nil
}

// release gives the run back, queued with its checkpoint, when this process
// stops working it (shutdown, Ctrl-C, a store failure): the next owner
// resumes it at once instead of waiting for the heartbeat to go stale.
func (e *execution) release(ctx context.Context) (*store.SyncRun, error) {
	cause := context.Cause(ctx)
	if errors.Is(cause, errLost) {
		return nil, cause
	}
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := e.commit(bg, func(tx store.Tx, next *store.SyncRun) error {
		next.Status = store.SyncStatusQueued
		return nil
	})
	run := e.snapshot()
	if err == nil {
		// HeartbeatAt stays set but a queued run has no owner to prove.
		e.s.log.Info("sync run stopped; it resumes from its checkpoint", "run", run.ID, "pages", run.Stats.Pages)
	}
	if cause == nil {
		cause = ctx.Err()
	}
	if cause == nil {
		cause = context.Canceled
	}
	return &run, cause
}

func addHTTP(st *store.SyncStats, used httpx.Stats) {
	st.Requests += used.Requests
	st.Retries += used.Retries
	st.Throttled += used.Throttled
}

// people returns the distinct users and courses of a page.
// notWritten keeps the values that this execution has not yet written as
// they are now, and remembers them as written.
func notWritten[T any](e *execution, kind string, values []T, id func(T) string) []T {
	if e.written == nil {
		e.written, e.writtenSeed = map[string]uint64{}, maphash.MakeSeed()
	}
	out := values[:0]
	for _, v := range values {
		b, err := gojson.Marshal(v)
		if err != nil {
			out = append(out, v)
			continue
		}
		key, sum := kind+id(v), maphash.Bytes(e.writtenSeed, b)
		if prev, ok := e.written[key]; ok && prev == sum {
			continue
		}
		if len(e.written) < maxWrittenPeople {
			e.written[key] = sum
		}
		out = append(out, v)
	}
	return out
}

func people(records []lms.CourseEnrollment) ([]lms.User, []lms.Course) {
	var users []lms.User
	var courses []lms.Course
	seenU, seenC := map[string]bool{}, map[string]bool{}
	for _, r := range records {
		if r.User != nil && r.User.ID != "" && !seenU[r.User.ID] {
			seenU[r.User.ID] = true
			users = append(users, *r.User)
		}
		if r.Course != nil && r.Course.ID != "" && !seenC[r.Course.ID] {
			seenC[r.Course.ID] = true
			courses = append(courses, *r.Course)
		}
	}
	return users, courses
}

// fetch reads one page, retrying what may heal (outages, throttling beyond
// the HTTP client's own retries, malformed answers) until the LMS has kept
// failing for MaxFailure; errors that will not heal (refused credentials,
// permissions, invalid requests) end at once.
func (s *Syncer) fetch(ctx context.Context, r provider.Reader, params provider.EnrollmentPageParams) (*provider.EnrollmentPage, error) {
	var failingSince time.Time
	backoff := s.cfg.RetryBackoff
	for {
		callStart := s.cfg.Now()
		budget := s.cfg.MaxFailure
		if !failingSince.IsZero() {
			budget -= callStart.Sub(failingSince)
		}
		callCtx, cancel := context.WithTimeout(ctx, max(budget, time.Millisecond))
		page, err := r.EnrollmentPage(callCtx, params)
		cancel()
		if err == nil {
			return page, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !retryable(err) {
			return nil, err
		}
		if failingSince.IsZero() {
			failingSince = callStart
		}
		failing := s.cfg.Now().Sub(failingSince)
		if failing >= s.cfg.MaxFailure {
			return nil, fmt.Errorf("the LMS kept failing for %s (limit %s): %w", failing.Round(time.Second), s.cfg.MaxFailure, err)
		}
		wait := min(backoff, s.cfg.MaxFailure-failing)
		s.log.Warn("sync page failed; retrying", "err", err, "wait", wait)
		if err := s.cfg.Sleep(ctx, wait); err != nil {
			return nil, err
		}
		backoff = min(backoff*2, 15*time.Second)
	}
}

// retryable reports whether a failed read may succeed later.
func retryable(err error) bool {
	switch provider.KindOf(err) {
	case provider.KindAuthentication, provider.KindPermission, provider.KindInvalidRequest, provider.KindNotFound:
		return false
	}
	return true
}
