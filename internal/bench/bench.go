// Package bench measures Registrar end to end against its simulators: full
// and unchanged re-syncs, incremental syncs, syncs under a rate limit, API
// reads with many clients, and the peak memory of a sync process. It is the
// logic of `registrar bench`; docs/performance.md lists the goals and the
// figures it gives.
package bench

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the bench reads the store's file to count rows and events

	"github.com/registrarhq/registrar/internal/api"
	"github.com/registrarhq/registrar/internal/app"
	"github.com/registrarhq/registrar/internal/httpx"
	"github.com/registrarhq/registrar/internal/provider"
	"github.com/registrarhq/registrar/internal/sim/simkit"
	"github.com/registrarhq/registrar/internal/store"
	"github.com/registrarhq/registrar/internal/syncer"
)

// Options says what to measure.
type Options struct {
	// Enrollments is N, the size of the full sync (default 100,000).
	Enrollments int
	// Providers to measure (default all).
	Providers []string
	// Seed of the simulators' data sets.
	Seed uint64
	// Repeat runs the full sync (and its bare fetch) this many times and
	// reports medians (default 1).
	Repeat int
	// RateLimit is R, the simulator's limit in requests per second for the
	// rate-limit run (default 20), which lasts about RateSeconds (default 10).
	RateLimit   float64
	RateSeconds float64
	// Clients and APIDuration shape each API read measure (defaults 50 and 3 s).
	Clients     int
	APIDuration time.Duration
	// Child builds the command that runs one sync in a separate process for
	// the memory measure (normally this binary re-executed with a hidden
	// subcommand, see ChildMain); nil skips the memory measures.
	Child func(ctx context.Context, args []string) *exec.Cmd
	// MemoryScale is the factor of the second memory measure (default 10:
	// N and 10×N). API reads are measured on that larger store too.
	MemoryScale int
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

func (o *Options) defaults() {
	if o.Enrollments <= 0 {
		o.Enrollments = 100_000
	}
	if len(o.Providers) == 0 {
		o.Providers = Providers()
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	o.Repeat = max(o.Repeat, 1)
	if o.RateLimit <= 0 {
		o.RateLimit = 20
	}
	if o.RateSeconds <= 0 {
		o.RateSeconds = 10
	}
	if o.Clients <= 0 {
		o.Clients = 50
	}
	if o.APIDuration <= 0 {
		o.APIDuration = 3 * time.Second
	}
	if o.MemoryScale <= 0 {
		o.MemoryScale = 10
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
}

// Report is everything measured.
type Report struct {
	Machine     Machine          `json:"machine"`
	Enrollments int              `json:"enrollments"`
	Providers   []ProviderReport `json:"providers"`
}

// Machine says where the figures come from.
type Machine struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model"`
	GoVersion string `json:"go_version"`
	OSArch    string `json:"os_arch"`
	When      string `json:"when"`
}

// ProviderReport holds one provider's measures.
type ProviderReport struct {
	Provider    string       `json:"provider"`
	Full        FullSync     `json:"full_sync"`
	Resync      Resync       `json:"resync_unchanged"`
	Incremental *Incremental `json:"incremental,omitempty"`
	RateLimited RateLimited  `json:"rate_limited"`
	API         []APIReads   `json:"api"`
	Memory      []Memory     `json:"memory,omitempty"`
}

// FullSync is measure 1. Seconds and FetchSeconds are medians of Repeat.
type FullSync struct {
	Records       int64     `json:"records"`
	Seconds       float64   `json:"seconds"`
	RecordsPerSec float64   `json:"records_per_second"`
	FetchSeconds  float64   `json:"fetch_seconds"`
	Ratio         float64   `json:"ratio_to_fetch"`
	Requests      int64     `json:"requests"`
	AllSeconds    []float64 `json:"all_seconds"`
	AllFetch      []float64 `json:"all_fetch_seconds"`
	// Cores and FetchCores are the CPU time the whole process (simulator,
	// client, sync) used during the last full sync and bare fetch, divided
	// by their wall time: near the machine's core count, the phase was
	// bound by CPU, not by waiting. 0 where not measured.
	Cores      float64 `json:"cores_busy,omitempty"`
	FetchCores float64 `json:"fetch_cores_busy,omitempty"`
	// DatabaseBytes is the size of the data directory after the last full
	// sync (the SQLite file and its WAL).
	DatabaseBytes int64 `json:"database_bytes,omitempty"`
}

// Resync is measure 2: a full sync with nothing changed in the LMS.
type Resync struct {
	Seconds float64 `json:"seconds"`
	// RowsWritten counts enrollment rows inserted or rewritten (their
	// changed_at moved); it must be 0.
	RowsWritten int64 `json:"rows_written"`
	// RunCounted is what the run itself reports (inserted+updated+restored+deleted).
	RunCounted int64 `json:"run_counted"`
	// Events counts enrollment events raised; it must be 0.
	Events int64 `json:"events"`
	// SeenMarks counts rows whose seen_run bookkeeping column was set (delete
	// detection); Checkpoints counts run-row updates (one per commit).
	SeenMarks   int64 `json:"bookkeeping_seen_marks"`
	Checkpoints int64 `json:"bookkeeping_checkpoints"`
}

// Incremental is measure 3 (Absorb: the LMS filters by dateEdited).
type Incremental struct {
	Changed  int     `json:"changed"`
	Seconds  float64 `json:"seconds"`
	Requests int64   `json:"requests"`
	Written  int64   `json:"rows_written"`
}

// RateLimited is measure 4.
type RateLimited struct {
	Limit    float64 `json:"limit_per_second"`
	Seconds  float64 `json:"seconds"`
	Accepted int64   `json:"accepted"`
	Refused  int64   `json:"refused"`
	// Achieved is accepted requests per second; Ratio is accepted over what
	// the limit allowed in that time (R per second plus its burst of R).
	Achieved float64 `json:"achieved_per_second"`
	Ratio    float64 `json:"ratio"`
	// MaxRefusedInRow is the longest run of refusals of one request.
	MaxRefusedInRow int `json:"max_refused_in_row"`
}

// APIReads is measure 5 on a store of Stored enrollments.
type APIReads struct {
	Stored  int64     `json:"stored"`
	Clients int       `json:"clients"`
	Reads   []APIRead `json:"reads"`
}

// APIRead is one kind of list request under load.
type APIRead struct {
	Name       string  `json:"name"`
	Requests   int     `json:"requests"`
	PerSecond  float64 `json:"requests_per_second"`
	P50ms      float64 `json:"p50_ms"`
	P99ms      float64 `json:"p99_ms"`
	Errors     int     `json:"errors"`
	DeepOffset int     `json:"offset,omitempty"`
}

// Memory is measure 6: the peak resident memory of a process that runs one
// full sync of Records enrollments (the simulator runs in the bench's
// process, so it is not counted).
type Memory struct {
	Records int64   `json:"records"`
	PeakMB  float64 `json:"peak_mb"`
	Seconds float64 `json:"seconds"`
}

// Run measures every provider of o.
func Run(ctx context.Context, o Options) (*Report, error) {
	o.defaults()
	rep := &Report{Machine: machine(), Enrollments: o.Enrollments}
	for _, p := range o.Providers {
		pr, err := runProvider(ctx, o, p)
		if err != nil {
			return rep, fmt.Errorf("%s: %w", p, err)
		}
		rep.Providers = append(rep.Providers, *pr)
	}
	return rep, nil
}

func (o *Options) logf(format string, args ...any) {
	fmt.Fprintf(o.Log, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// instance is a Registrar with its own temporary data directory.
type instance struct {
	dir string
	app *app.App
	ct  *countingTransport
}

func openInstance(ctx context.Context, dir string) (*instance, error) {
	ct := newCountingTransport()
	a, err := app.New(ctx, app.Config{DataDir: dir, Logger: slog.New(slog.DiscardHandler), HTTP: httpx.Options{Transport: ct}})
	if err != nil {
		return nil, err
	}
	return &instance{dir: dir, app: a, ct: ct}, nil
}

func newInstance(ctx context.Context) (*instance, error) {
	dir, err := os.MkdirTemp("", "registrar-bench-")
	if err != nil {
		return nil, err
	}
	in, err := openInstance(ctx, dir)
	if err != nil {
		os.RemoveAll(dir)
	}
	return in, err
}

// dirBytes is the total size of the regular files under dir (0 on error).
func dirBytes(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

func (in *instance) Close() {
	in.app.Close()
	os.RemoveAll(in.dir)
}

func (in *instance) connect(ctx context.Context, l *lms, name string) (*store.Connection, error) {
	c, err := in.app.API.ConnectionCreate(ctx, api.ConnectionCreateParams{Provider: l.provider, Name: name,
		Settings: l.settings, Credentials: l.credentials})
	if err != nil {
		return nil, fmt.Errorf("create connection: %w", err)
	}
	return c, nil
}

func (in *instance) sync(ctx context.Context, c *store.Connection, full bool) (*store.SyncRun, time.Duration, error) {
	began := time.Now()
	run, err := in.app.Syncer.Foreground(ctx, syncer.ForegroundParams{ConnectionID: c.ID, Full: full, Trigger: "bench"})
	took := time.Since(began)
	if err != nil {
		return nil, took, err
	}
	if run.Status != store.SyncStatusSucceeded {
		return run, took, fmt.Errorf("sync failed: %s", run.Error)
	}
	return run, took, nil
}

// count runs a counting query on the store's file.
func (in *instance) count(ctx context.Context, query string, args ...any) (int64, error) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(in.dir, app.DatabaseFile)+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int64
	err = db.QueryRowContext(ctx, query, args...).Scan(&n)
	return n, err
}

// fetchAll walks every page with the connector alone, storing nothing: the
// floor a sync cannot beat.
func fetchAll(ctx context.Context, l *lms, ct *countingTransport) (int, time.Duration, error) {
	var def *provider.Definition
	for _, d := range app.Providers() {
		if d.Name == l.provider {
			def = d
		}
	}
	r, err := def.New(provider.Config{Settings: l.settings, Secrets: l.credentials, HTTP: httpx.Options{Transport: ct}})
	if err != nil {
		return 0, 0, err
	}
	began := time.Now()
	n := 0
	params := provider.EnrollmentPageParams{}
	for {
		page, err := r.EnrollmentPage(ctx, params)
		if err != nil {
			return n, 0, err
		}
		n += len(page.Enrollments)
		if page.NextCursor == "" {
			return n, time.Since(began), nil
		}
		params.Cursor = page.NextCursor
	}
}

func runProvider(ctx context.Context, o Options, p string) (*ProviderReport, error) {
	pr := &ProviderReport{Provider: p}
	n := o.Enrollments
	o.logf("%s: starting a simulator with %d enrollments", p, n)
	l, err := startLMS(p, o.Seed, n, simkit.Faults{})
	if err != nil {
		return nil, err
	}
	defer l.Close()

	// 1. Full sync against the bare fetch, alternating so that both see the
	// same machine load; the last instance is kept for what follows.
	var in *instance
	var c *store.Connection
	var syncs, fetches []float64
	for i := 0; i < o.Repeat; i++ {
		var fetchTook time.Duration
		cpu0, _ := processCPU()
		err := phase(ctx, "bare-fetch", func(ctx context.Context) (err error) {
			_, fetchTook, err = fetchAll(ctx, l, newCountingTransport())
			return err
		})
		cpu1, cpuOK := processCPU()
		if err != nil {
			return nil, fmt.Errorf("bare fetch: %w", err)
		}
		if in != nil {
			in.Close()
		}
		if in, err = newInstance(ctx); err != nil {
			return nil, err
		}
		defer in.Close()
		if c, err = in.connect(ctx, l, "bench-"+p); err != nil {
			return nil, err
		}
		in.ct.take()
		var run *store.SyncRun
		var took time.Duration
		cpu2, _ := processCPU()
		err = phase(ctx, "full-sync", func(ctx context.Context) (err error) {
			run, took, err = in.sync(ctx, c, true)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("full sync: %w", err)
		}
		if cpu3, ok := processCPU(); ok && cpuOK {
			pr.Full.FetchCores = (cpu1 - cpu0).Seconds() / fetchTook.Seconds()
			pr.Full.Cores = (cpu3 - cpu2).Seconds() / took.Seconds()
		}
		accepted, refused, _ := in.ct.take()
		syncs, fetches = append(syncs, took.Seconds()), append(fetches, fetchTook.Seconds())
		pr.Full.Records, pr.Full.Requests = run.Stats.Seen, accepted+refused
		pr.Full.DatabaseBytes = dirBytes(in.dir)
		o.logf("%s: full sync %.2fs, %.1f cores busy (bare fetch %.2fs, %.1f cores), %d records, %d requests, database %.0f MB", p,
			took.Seconds(), pr.Full.Cores, fetchTook.Seconds(), pr.Full.FetchCores, run.Stats.Seen, pr.Full.Requests,
			float64(pr.Full.DatabaseBytes)/1e6)
	}
	pr.Full.AllSeconds, pr.Full.AllFetch = syncs, fetches
	pr.Full.Seconds, pr.Full.FetchSeconds = median(syncs), median(fetches)
	pr.Full.RecordsPerSec = float64(pr.Full.Records) / pr.Full.Seconds
	pr.Full.Ratio = pr.Full.Seconds / pr.Full.FetchSeconds

	// 2. Re-sync with nothing changed. Times are stored in seconds: start in
	// a new second so that any row this run rewrites is told apart.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
	since := time.Now().Unix()
	eventsBefore, err := in.count(ctx, `SELECT count(*) FROM events WHERE type LIKE 'enrollment.%'`)
	if err != nil {
		return nil, err
	}
	var run *store.SyncRun
	var took time.Duration
	err = phase(ctx, "re-sync", func(ctx context.Context) (err error) {
		run, took, err = in.sync(ctx, c, true)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("re-sync: %w", err)
	}
	pr.Resync.Seconds = took.Seconds()
	st := run.Stats
	pr.Resync.RunCounted = st.Inserted + st.Updated + st.Restored + st.Deleted
	pr.Resync.Checkpoints = st.Pages
	if pr.Resync.RowsWritten, err = in.count(ctx, `SELECT count(*) FROM enrollments WHERE changed_at >= ?`, since); err != nil {
		return nil, err
	}
	if pr.Resync.SeenMarks, err = in.count(ctx, `SELECT count(*) FROM enrollments WHERE seen_run = ?`, run.ID); err != nil {
		return nil, err
	}
	eventsAfter, err := in.count(ctx, `SELECT count(*) FROM events WHERE type LIKE 'enrollment.%'`)
	if err != nil {
		return nil, err
	}
	pr.Resync.Events = eventsAfter - eventsBefore
	o.logf("%s: re-sync %.2fs, %d rows written, %d events", p, took.Seconds(), pr.Resync.RowsWritten, pr.Resync.Events)

	// 3. Incremental sync after 0.1% changed, where the LMS can filter.
	if p == "absorb" {
		changed := max(n/1000, 1)
		if _, err := l.sim.Mutate(changed, o.Seed+1); err != nil {
			return nil, err
		}
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
		since := time.Now().Unix()
		in.ct.take()
		run, took, err := in.sync(ctx, c, false)
		if err != nil {
			return nil, fmt.Errorf("incremental sync: %w", err)
		}
		accepted, refused, _ := in.ct.take()
		inc := &Incremental{Changed: changed, Seconds: took.Seconds(), Requests: accepted + refused}
		if inc.Written, err = in.count(ctx, `SELECT count(*) FROM enrollments WHERE changed_at >= ?`, since); err != nil {
			return nil, err
		}
		pr.Incremental = inc
		o.logf("%s: incremental %.2fs, %d requests, %d rows written (%s)", p, took.Seconds(), inc.Requests, inc.Written, run.Kind)
	}

	// 5. API reads on the stored data.
	o.logf("%s: API reads on %d stored enrollments", p, pr.Full.Records)
	var reads *APIReads
	err = phase(ctx, "api", func(ctx context.Context) (err error) {
		reads, err = apiReads(ctx, in.app, o)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("api reads: %w", err)
	}
	pr.API = append(pr.API, *reads)

	// 4. Sync under a rate limit, on a data set sized for about RateSeconds.
	if err := phase(ctx, "rate-limit", func(ctx context.Context) (err error) {
		pr.RateLimited, err = rateLimited(ctx, o, p, in)
		return err
	}); err != nil {
		return nil, fmt.Errorf("rate-limited sync: %w", err)
	}

	// 6. Peak memory of a sync process at N and at MemoryScale×N; API reads
	// again on the larger store.
	if o.Child != nil {
		in.Close()
		l.Close()
		for _, size := range []int{n, n * o.MemoryScale} {
			m, dir, err := childSync(ctx, o, p, size)
			if err != nil {
				return nil, fmt.Errorf("memory at %d: %w", size, err)
			}
			pr.Memory = append(pr.Memory, *m)
			o.logf("%s: sync process at %d records: peak %.1f MB, %.1fs", p, size, m.PeakMB, m.Seconds)
			if size != n {
				big, err := openInstance(ctx, dir)
				if err != nil {
					os.RemoveAll(dir)
					return nil, err
				}
				o.logf("%s: API reads on %d stored enrollments", p, m.Records)
				reads, err := apiReads(ctx, big.app, o)
				big.Close()
				if err != nil {
					return nil, fmt.Errorf("api reads at %d: %w", size, err)
				}
				pr.API = append(pr.API, *reads)
			} else {
				os.RemoveAll(dir)
			}
		}
	}
	return pr, nil
}

// rateLimitedPageSize is the Absorb page size of the rate-limited run. With
// its default of 500, 20 requests a second would bring 10,000 records a
// second, more than the store takes on 2 cores, and the run would measure
// the store instead of the pacing.
const rateLimitedPageSize = "100"

// recordsPerRequest is about how many enrollments one page request of each
// connector brings in the rate-limited run.
func recordsPerRequest(p string) int {
	if p == "absorb" {
		return 90
	}
	return 100
}

func rateLimited(ctx context.Context, o Options, p string, in *instance) (RateLimited, error) {
	out := RateLimited{Limit: o.RateLimit}
	n := int(o.RateLimit * o.RateSeconds * float64(recordsPerRequest(p)))
	l, err := startLMS(p, o.Seed+2, n, simkit.Faults{RateLimit: o.RateLimit})
	if err != nil {
		return out, err
	}
	defer l.Close()
	if p == "absorb" {
		l.settings["page_size"] = rateLimitedPageSize
	}
	c, err := in.connect(ctx, l, "bench-"+p+"-limited")
	if err != nil {
		return out, err
	}
	in.ct.take()
	_, took, err := in.sync(ctx, c, true)
	if err != nil {
		return out, err
	}
	out.Seconds = took.Seconds()
	var maxRun int
	out.Accepted, out.Refused, maxRun = in.ct.take()
	out.MaxRefusedInRow = maxRun
	out.Achieved = float64(out.Accepted) / out.Seconds
	out.Ratio = float64(out.Accepted) / (o.RateLimit*out.Seconds + o.RateLimit)
	o.logf("%s: under %.0f req/s: %.1fs, %d accepted, %d refused, ratio %.2f, longest refusal run %d",
		p, o.RateLimit, out.Seconds, out.Accepted, out.Refused, out.Ratio, maxRun)
	return out, nil
}

// ChildParams is what the sync child process is told.
type ChildParams struct {
	Provider    string            `json:"provider"`
	DataDir     string            `json:"data_dir"`
	Settings    map[string]string `json:"settings"`
	Credentials map[string]string `json:"credentials"`
}

// ChildResult is what the sync child prints as its last line.
type ChildResult struct {
	Records  int64   `json:"records"`
	Seconds  float64 `json:"seconds"`
	VmHWMKiB int64   `json:"vmhwm_kib"`
}

// ChildMain is the hidden subcommand's body: one full sync in this process,
// then its own peak resident memory (VmHWM) as a JSON line on out.
func ChildMain(ctx context.Context, params string, out io.Writer) error {
	var cp ChildParams
	if err := json.Unmarshal([]byte(params), &cp); err != nil {
		return err
	}
	in, err := openInstance(ctx, cp.DataDir)
	if err != nil {
		return err
	}
	defer in.app.Close()
	c, err := in.connect(ctx, &lms{provider: cp.Provider, settings: cp.Settings, credentials: cp.Credentials}, "bench-"+cp.Provider)
	if err != nil {
		return err
	}
	run, took, err := in.sync(ctx, c, true)
	if err != nil {
		return err
	}
	hwm, err := vmHWM()
	if err != nil {
		return err
	}
	return json.NewEncoder(out).Encode(ChildResult{Records: run.Stats.Seen, Seconds: took.Seconds(), VmHWMKiB: hwm})
}

func vmHWM() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kib int64
			_, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kib)
			return kib, err
		}
	}
	return 0, errors.New("no VmHWM in /proc/self/status")
}

// childSync starts a simulator of size records here and syncs it in a child
// process; it returns the child's data directory, which the caller removes.
func childSync(ctx context.Context, o Options, p string, size int) (*Memory, string, error) {
	o.logf("%s: starting a simulator with %d enrollments for a sync process", p, size)
	l, err := startLMS(p, o.Seed, size, simkit.Faults{})
	if err != nil {
		return nil, "", err
	}
	defer l.Close()
	dir, err := os.MkdirTemp("", "registrar-bench-child-")
	if err != nil {
		return nil, "", err
	}
	params, _ := json.Marshal(ChildParams{Provider: p, DataDir: dir, Settings: l.settings, Credentials: l.credentials})
	cmd := o.Child(ctx, []string{string(params)})
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, "", err
	}
	var last string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		last = sc.Text()
	}
	if err := cmd.Wait(); err != nil {
		os.RemoveAll(dir)
		return nil, "", fmt.Errorf("sync process: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var res ChildResult
	if err := json.Unmarshal([]byte(last), &res); err != nil {
		os.RemoveAll(dir)
		return nil, "", fmt.Errorf("sync process said %q: %w", last, err)
	}
	// VmHWM, not the rusage of the child: Linux carries ru_maxrss over
	// exec, so that would report the forking bench's own size.
	return &Memory{Records: res.Records, PeakMB: float64(res.VmHWMKiB) / 1024, Seconds: res.Seconds}, dir, nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OSArch: runtime.GOOS + "/" + runtime.GOARCH,
		When: time.Now().UTC().Format(time.RFC3339)}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

// phase runs fn with a pprof label phase=name (goroutines it starts inherit
// it), so that a --cpuprofile can be cut by phase:
// go tool pprof -tagfocus phase=full-sync registrar cpu.prof.
func phase(ctx context.Context, name string, fn func(ctx context.Context) error) error {
	var err error
	pprof.Do(ctx, pprof.Labels("phase", name), func(ctx context.Context) { err = fn(ctx) })
	return err
}
