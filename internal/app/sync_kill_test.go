package app_test

import (
	"bytes"
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/sim/dcsim"
	"github.com/registrarhq/registrar/internal/sim/simkit"
	"github.com/registrarhq/registrar/internal/store"
	"github.com/registrarhq/registrar/internal/store/sqlite"
)

// buildBinary builds the registrar command into dir.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "registrar")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/registrarhq/registrar/cmd/registrar").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// proc is one registrar subprocess.
type proc struct {
	cmd    *exec.Cmd
	out    bytes.Buffer
	done   chan struct{}
	err    error
	killed atomic.Bool
}

func startProc(t *testing.T, bin, dataDir string, args ...string) *proc {
	t.Helper()
	p := &proc{done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(os.Environ(), "REGISTRAR_DATA_DIR="+dataDir, "REGISTRAR_LOG_FORMAT=text", "REGISTRAR_SECRET_KEY=")
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	return p
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	p.killed.Store(true)
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (p *proc) wait(t *testing.T, within time.Duration) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(within):
		p.kill()
		t.Fatalf("%v did not end within %s:\n%s", p.cmd.Args, within, p.out.String())
		return nil
	}
}

// killSwitch sits in front of the simulator and acts on the n-th
// enrollment page request after it was armed.
type killSwitch struct {
	next  http.Handler
	path  string
	total atomic.Int64 // page requests ever

	mu    sync.Mutex
	count int
	at    int
	act   action
	fired chan struct{}
}

// action is what a killSwitch does: Before runs before the request is
// answered; the request is then dropped if Drop, else answered, and After
// runs once the answer is on its way.
type action struct {
	Before func()
	Drop   bool
	After  func()
}

func (k *killSwitch) arm(at int, a action) chan struct{} {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.count, k.at, k.act, k.fired = 0, at, a, make(chan struct{})
	return k.fired
}

func (k *killSwitch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || strings.TrimSuffix(r.URL.Path, "/") != k.path {
		k.next.ServeHTTP(w, r)
		return
	}
	k.total.Add(1)
	k.mu.Lock()
	k.count++
	var a action
	var fired chan struct{}
	if k.at > 0 && k.count == k.at {
		a, fired, k.at = k.act, k.fired, 0
	}
	k.mu.Unlock()
	if fired == nil {
		k.next.ServeHTTP(w, r)
		return
	}
	if a.Before != nil {
		a.Before()
	}
	if a.Drop {
		close(fired)
		return
	}
	k.next.ServeHTTP(w, r)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	go func() {
		if a.After != nil {
			a.After()
		}
		close(fired)
	}()
}

// TestKillAndResume is the acceptance test of checkpoints: a registrar
// process syncing 50,000 records is SIGKILLed before any commit, in the
// middle, with its last page read but not committed, and during a later
// re-sync; each time a new process resumes, and in the end the store equals
// the LMS with exactly one enrollment.created per record and no other
// enrollment event.
func TestKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and syncs 50,000 records several times")
	}
	t.Parallel()
	tmp := t.TempDir()
	bin := buildBinary(t, tmp)
	const n, pageSize = 50000, 100
	sim, err := dcsim.New(dcsim.Config{Seed: 21, Enrollments: n, Courses: 200})
	if err != nil {
		t.Fatal(err)
	}
	ks := &killSwitch{next: sim.Handler(), path: "/dc/api/v5/registrations"}
	srv, err := simkit.Start("127.0.0.1:0", ks)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	data := filepath.Join(tmp, "data")

	// The connection is added as a user would; its first sync is queued
	// (no serve is running to work it).
	add := startProc(t, bin, data, "connections", "add", "--provider", "digitalchalk", "--name", "dc",
		"--setting", "base_url="+srv.URL+"/dc/api/v5", "--setting", "page_size="+strconv.Itoa(pageSize), "--credential", "token=dc-sim-token")
	if err := add.wait(t, 30*time.Second); err != nil {
		t.Fatalf("connections add: %v\n%s", err, add.out.String())
	}

	sync := func() *proc { return startProc(t, bin, data, "sync", "dc") }
	killAt := func(at int, label string) {
		t.Helper()
		p := sync()
		fired := ks.arm(at, action{Before: p.kill, Drop: true})
		select {
		case <-fired:
		case <-p.done:
			if !p.killed.Load() {
				t.Fatalf("%s: the sync ended before page request %d:\n%s", label, at, p.out.String())
			}
			<-fired
		case <-time.After(60 * time.Second):
			p.kill()
			t.Fatalf("%s: page request %d never came:\n%s", label, at, p.out.String())
		}
		t.Logf("%s: killed at page request %d", label, at)
	}

	// 1. Before any commit: at the first page request.
	killAt(1, "before any commit")
	// 2. Mid-run: the 40th page request, with 39 pages committed.
	killAt(40, "mid-run")
	// 3. Resume to the end: the same run, every record inserted once.
	st := openStore(t, data)
	run := activeRun(t, st)
	p := sync()
	if err := p.wait(t, 60*time.Second); err != nil {
		t.Fatalf("resumed sync: %v\n%s", err, p.out.String())
	}
	if !strings.Contains(p.out.String(), "resuming sync run "+run.ID) {
		t.Errorf("the process did not resume run %s:\n%s", run.ID, p.out.String())
	}
	done, err := st.SyncRunGet(context.Background(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != store.SyncStatusSucceeded || done.Stats.Inserted != int64(len(sim.EnrollmentIDs())) {
		t.Fatalf("the resumed run ended %s with %+v", done.Status, done.Stats)
	}
	pages := int(done.Stats.Pages) // page requests of a whole walk

	// 4. After the end, a re-sync killed mid-run.
	killAt(100, "re-sync mid-run")
	// 5. The re-sync's last page read, its commit (which also sweeps and
	// ends the run) pending: the test holds SQLite's write lock so the
	// process blocks in that commit, and is killed there.
	lockDB, err := sql.Open("sqlite", "file:"+filepath.Join(data, "registrar.db")+"?"+url.Values{
		"_pragma": {"busy_timeout(20000)"}, "_txlock": {"immediate"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer lockDB.Close()
	resync := activeRun(t, st)
	remaining := pages - int(resync.Stats.Pages)
	var lock *sql.Tx
	p = sync()
	fired := ks.arm(remaining, action{
		Before: func() {
			var err error
			if lock, err = lockDB.Begin(); err != nil {
				t.Error(err)
			}
		},
		After: func() {
			time.Sleep(300 * time.Millisecond) // the process has the page and waits for the lock
			p.kill()
			if lock != nil {
				_ = lock.Rollback()
			}
		},
	})
	select {
	case <-fired:
	case <-time.After(60 * time.Second):
		p.kill()
		t.Fatalf("last page never requested:\n%s", p.out.String())
	}
	// The run is still active and short of its last page: the commit that
	// would have ended it never happened. (A syncer that reads ahead may
	// have had earlier pages waiting behind the lock too.)
	pending := activeRun(t, st)
	if pending.ID != resync.ID || pending.Stats.Pages >= int64(pages) || pending.Stats.Pages < resync.Stats.Pages {
		t.Fatalf("after the kill with the last page pending: run %s (want %s) has %d pages committed of %d", pending.ID, resync.ID, pending.Stats.Pages, pages)
	}
	t.Logf("last page read, commit pending: killed with %d of %d pages committed", pending.Stats.Pages, pages)
	// 6. Resume the re-sync to its end: it changes nothing and sweeps nothing.
	p = sync()
	if err := p.wait(t, 60*time.Second); err != nil {
		t.Fatalf("re-sync: %v\n%s", err, p.out.String())
	}
	if r, err := st.SyncRunGet(context.Background(), resync.ID); err != nil || r.Status != store.SyncStatusSucceeded ||
		r.Stats.Inserted+r.Stats.Updated+r.Stats.Restored+r.Stats.Deleted != 0 || r.Stats.Unchanged < int64(len(sim.EnrollmentIDs())) {
		t.Fatalf("the resumed re-sync: %v %+v", err, r)
	}

	// The store equals the LMS, and every record raised exactly one event.
	checkStoreEqualsSim(t, st, sim)
	counts := map[string]map[string]int{}
	var after int64
	for {
		evts, err := st.EventList(context.Background(), store.EventListParams{AfterSeq: after, Limit: 5000})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evts {
			if counts[ev.Type] == nil {
				counts[ev.Type] = map[string]int{}
			}
			counts[ev.Type][ev.EnrollmentID]++
			after = ev.Seq
		}
		if len(evts) < 5000 {
			break
		}
	}
	if got := len(counts[store.EventEnrollmentCreated]); got != len(sim.EnrollmentIDs()) {
		t.Errorf("%d records have an enrollment.created event, the LMS has %d", got, len(sim.EnrollmentIDs()))
	}
	for id, c := range counts[store.EventEnrollmentCreated] {
		if c != 1 {
			t.Fatalf("record %s has %d enrollment.created events", id, c)
		}
	}
	for _, typ := range []string{store.EventEnrollmentUpdated, store.EventEnrollmentStatusChanged, store.EventEnrollmentDeleted, store.EventEnrollmentRestored} {
		if len(counts[typ]) != 0 {
			t.Errorf("%d %s events after syncs of unchanged data", len(counts[typ]), typ)
		}
	}
	if c := counts[store.EventSyncCompleted][""]; c != 2 {
		t.Errorf("%d sync.completed events, want 2 (one per run)", c)
	}
	t.Logf("%d page requests served in all, %d per walk", ks.total.Load(), pages)
}

func openStore(t *testing.T, dataDir string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(dataDir, "registrar.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func activeRun(t *testing.T, st store.Store) *store.SyncRun {
	t.Helper()
	conns, err := st.ConnectionList(context.Background(), store.ConnectionListParams{})
	if err != nil || len(conns) != 1 {
		t.Fatalf("connections: %v %v", conns, err)
	}
	r, err := st.SyncRunActive(context.Background(), conns[0].ID)
	if err != nil {
		t.Fatalf("active run: %v", err)
	}
	return r
}

func checkStoreEqualsSim(t *testing.T, st store.Store, sim *dcsim.Sim) {
	t.Helper()
	var ids []string
	p := store.EnrollmentListParams{Limit: 1000, Now: time.Now()}
	for {
		res, err := st.EnrollmentList(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		for _, en := range res.Enrollments {
			ids = append(ids, en.Record.ID)
		}
		if !res.More {
			break
		}
		last := res.Enrollments[len(res.Enrollments)-1].Record
		p.After = store.EnrollmentKey{ConnectionID: last.ConnectionID, ID: last.ID}
	}
	slices.Sort(ids)
	want := sim.EnrollmentIDs()
	if !slices.Equal(ids, want) {
		t.Fatalf("store holds %d live records, the LMS %d", len(ids), len(want))
	}
}
