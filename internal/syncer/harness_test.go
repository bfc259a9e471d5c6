package syncer_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/httpx"
	"github.com/registrarhq/registrar/internal/provider"
	"github.com/registrarhq/registrar/internal/provider/absorb"
	"github.com/registrarhq/registrar/internal/provider/canvas"
	"github.com/registrarhq/registrar/internal/provider/digitalchalk"
	"github.com/registrarhq/registrar/internal/sim/absorbsim"
	"github.com/registrarhq/registrar/internal/sim/canvassim"
	"github.com/registrarhq/registrar/internal/sim/dcsim"
	"github.com/registrarhq/registrar/internal/sim/simkit"
	"github.com/registrarhq/registrar/internal/store"
	"github.com/registrarhq/registrar/internal/store/sqlite"
	"github.com/registrarhq/registrar/internal/syncer"
)

// simulator is what the tests use of each vendor simulator.
type simulator interface {
	Handler() http.Handler
	Kit() *simkit.Kit
	EnrollmentIDs() []string
	Mutate(count int, seed uint64) (any, error)
	DeleteEnrollment(id string) bool
}

// vendor starts a simulator and builds connectors against it.
type vendor struct {
	name  string
	start func(t *testing.T, n int, f simkit.Faults) (simulator, func(srvURL string) provider.Reader)
}

// fastHTTP keeps retries short so that fault tests stay fast; the sync
// engine's own bound (MaxFailure) is what the tests exercise.
var fastHTTP = httpx.Options{Timeout: 5 * time.Second, BaseBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond,
	MaxElapsed: 3 * time.Second, MaxAttempts: 6}

func vendors() []vendor {
	return []vendor{
		{name: "canvas", start: func(t *testing.T, n int, f simkit.Faults) (simulator, func(string) provider.Reader) {
			sim, err := canvassim.New(canvassim.Config{Seed: 7, Users: max(n/3, 10), Courses: max(n/40, 3), Enrollments: n, Faults: f})
			if err != nil {
				t.Fatal(err)
			}
			return sim, func(url string) provider.Reader {
				settings := map[string]string{canvas.SettingBaseURL: url, canvas.SettingPerPage: "50"}
				for _, c := range sim.Credentials() {
					if c.Name == "account_id" {
						settings[canvas.SettingAccountID] = c.Value
					}
				}
				return build(t, canvas.Definition(), settings, map[string]string{canvas.SettingToken: "canvas-sim-token"})
			}
		}},
		{name: "absorb", start: func(t *testing.T, n int, f simkit.Faults) (simulator, func(string) provider.Reader) {
			sim, err := absorbsim.New(absorbsim.Config{Seed: 7, Enrollments: n, Courses: max(n/50, 4), Faults: f, RetryAfter: 10 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			return sim, func(url string) provider.Reader {
				secrets := map[string]string{}
				for _, c := range sim.Credentials() {
					secrets[c.Name] = c.Value
				}
				return build(t, absorb.Definition(), map[string]string{"base_url": url, "page_size": "50"}, secrets)
			}
		}},
		{name: "digitalchalk", start: func(t *testing.T, n int, f simkit.Faults) (simulator, func(string) provider.Reader) {
			sim, err := dcsim.New(dcsim.Config{Seed: 7, Enrollments: n, Faults: f})
			if err != nil {
				t.Fatal(err)
			}
			return sim, func(url string) provider.Reader {
				return build(t, digitalchalk.Definition(), map[string]string{"base_url": url + "/dc/api/v5", "page_size": "50"},
					map[string]string{"token": "dc-sim-token"})
			}
		}},
	}
}

func build(t *testing.T, d *provider.Definition, settings, secrets map[string]string) provider.Reader {
	t.Helper()
	r, err := d.New(provider.Config{Settings: settings, Secrets: secrets, HTTP: fastHTTP})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// connectors hands out the connector of each test connection: real
// connectors against real simulators.
type connectors struct {
	mu   sync.Mutex
	byID map[string]provider.Reader
}

func (c *connectors) Connector(_ context.Context, conn *store.Connection) (provider.Reader, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byID[conn.ID], nil
}

// env is one store, one simulator, one connection and a syncer.
type env struct {
	t      *testing.T
	st     *sqlite.Store
	sim    simulator
	reader provider.Reader
	conn   *store.Connection
	conns  *connectors
	sy     *syncer.Syncer
	dir    string
	url    string
}

func newEnv(t *testing.T, v vendor, n int, f simkit.Faults, cfg syncer.Config) *env {
	t.Helper()
	sim, mk := v.start(t, n, f)
	srv, err := simkit.Start("127.0.0.1:0", sim.Handler())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(dir, "registrar.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Now().UTC().Truncate(time.Second)
	conn := &store.Connection{ID: "con_" + v.name, Provider: v.name, Name: v.name, Settings: map[string]string{},
		SyncInterval: 15 * time.Minute, CreatedAt: now, UpdatedAt: now}
	if err := st.InTx(context.Background(), func(tx store.Tx) error { return tx.ConnectionCreate(context.Background(), conn) }); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, sim: sim, reader: mk(srv.URL), conn: conn, dir: dir, url: srv.URL}
	e.conns = &connectors{byID: map[string]provider.Reader{conn.ID: e.reader}}
	e.sy = e.syncer(cfg)
	return e
}

func (e *env) syncer(cfg syncer.Config) *syncer.Syncer {
	e.t.Helper()
	cfg.Store, cfg.Connectors = e.st, e.conns
	sy, err := syncer.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return sy
}

// sync runs one sync in the foreground and fails the test unless it ends
// with the wanted status.
func (e *env) sync(full bool, want string) *store.SyncRun {
	e.t.Helper()
	run, err := e.sy.Foreground(context.Background(), syncer.ForegroundParams{ConnectionID: e.conn.ID, Full: full})
	if err != nil {
		e.t.Fatal(err)
	}
	if run.Status != want {
		e.t.Fatalf("run %s ended %s (error %q), want %s", run.ID, run.Status, run.Error, want)
	}
	return run
}

// stored returns the connection's records by id.
func (e *env) stored(includeDeleted bool) map[string]store.Enrollment {
	e.t.Helper()
	out := map[string]store.Enrollment{}
	p := store.EnrollmentListParams{ConnectionIDs: []string{e.conn.ID}, IncludeDeleted: includeDeleted, Limit: 1000, Now: time.Now()}
	for {
		res, err := e.st.EnrollmentList(context.Background(), p)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, en := range res.Enrollments {
			out[en.Record.ID] = en
		}
		if !res.More {
			return out
		}
		last := res.Enrollments[len(res.Enrollments)-1]
		p.After = store.EnrollmentKey{ConnectionID: last.Record.ConnectionID, ID: last.Record.ID}
	}
}

// checkEqualsSim fails unless the live stored ids are the simulator's.
func (e *env) checkEqualsSim() map[string]store.Enrollment {
	e.t.Helper()
	got := e.stored(false)
	ids := make([]string, 0, len(got))
	for id := range got {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	want := e.sim.EnrollmentIDs()
	if !slices.Equal(ids, want) {
		e.t.Fatalf("store holds %d live records, simulator %d; first differences: %v", len(ids), len(want), diff(ids, want, 5))
	}
	return got
}

func diff(a, b []string, n int) []string {
	in := func(s []string, x string) bool { _, ok := slices.BinarySearch(s, x); return ok }
	var out []string
	for _, x := range a {
		if !in(b, x) && len(out) < n {
			out = append(out, "+"+x)
		}
	}
	for _, x := range b {
		if !in(a, x) && len(out) < 2*n {
			out = append(out, "-"+x)
		}
	}
	return out
}

// eventsAfter returns the feed after seq.
func (e *env) eventsAfter(seq int64) []store.Event {
	e.t.Helper()
	var out []store.Event
	for {
		page, err := e.st.EventList(context.Background(), store.EventListParams{AfterSeq: seq, Limit: 1000})
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, page...)
		if len(page) < 1000 {
			return out
		}
		seq = page[len(page)-1].Seq
	}
}

func (e *env) lastSeq() int64 {
	e.t.Helper()
	seq, err := e.st.EventLastSeq(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return seq
}

// mutatedIDs runs the simulator's Mutate and returns the ids it names.
func mutatedIDs(t *testing.T, sim simulator, count int, seed uint64) map[string]bool {
	t.Helper()
	res, err := sim.Mutate(count, seed)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res)
	var changes []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &changes); err != nil {
		t.Fatalf("mutate answer %s: %v", b, err)
	}
	out := map[string]bool{}
	for _, c := range changes {
		out[c.ID] = true
	}
	return out
}

// byType counts events by type and enrollment.
func byType(evts []store.Event) map[string]map[string]int {
	out := map[string]map[string]int{}
	for _, ev := range evts {
		if out[ev.Type] == nil {
			out[ev.Type] = map[string]int{}
		}
		out[ev.Type][ev.EnrollmentID]++
	}
	return out
}
