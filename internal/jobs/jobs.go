// Package jobs runs Registrar's background work on River: sync runs, the
// periodic sync schedule, and whatever other packages register (webhook
// deliveries, the overdue/expired clock job). River's tables live in the
// store's own database: its SQLite driver on the embedded engine, its pgx
// driver on PostgreSQL, so replicas sharing one PostgreSQL share the work
// with River's locking and leader election instead of home-made ones.
//
// Use is in two steps:
//
//	q, err := jobs.Open(ctx, jobs.Config{Store: st, Logger: log})  // migrates River's tables; q can insert
//	syncs, _ := syncer.New(syncer.Config{..., Enqueuer: q})
//	err = q.Start(ctx, jobs.Work{                                // serve only: work jobs
//		Sync: syncs,
//		Workers: []func(*river.Workers){
//			func(w *river.Workers) { river.AddWorker(w, &webhook.DeliveryWorker{...}) },
//		},
//		Periodic: []*river.PeriodicJob{
//			river.NewPeriodicJob(river.PeriodicInterval(time.Minute), func() (river.JobArgs, *river.InsertOpts) {
//				return webhook.ClockArgs{}, nil
//			}, &river.PeriodicJobOpts{RunOnStart: true}),
//		},
//	})
//	defer q.Stop(ctx)
//
// Open gives an insert-only client, which every process (the CLI too) may
// use; Start builds a second, working client with the sync workers plus the
// registered ones, on the same driver. Other packages insert their jobs with
// Insert. Job args whose InsertOpts name no queue go to river.QueueDefault;
// Work.Queues adds queues.
//
// SQLite allows one writer at a time. River here shares the store's single
// writer connection (the store's DB()) instead of opening its own pool to
// the same file: within a process, River's polls and completions then queue
// behind the store's transactions on that one connection, so neither side
// can meet SQLITE_BUSY ("database is locked") by construction, and River's
// SQLite driver recommends exactly one connection for that reason. The cost
// was measured (TestSharedWriterPool: a re-sync of 3,000 records, 32 page
// transactions, with River polling every 5 ms): about 140 ms without River,
// 150-170 ms through River on the shared connection, the same on a separate
// pool, and no lock errors either way, so sharing starves nothing and a
// second pool would only add a second writer that waits in busy_timeout
// sleeps. Other processes on the same file (the CLI beside serve) contend
// through busy_timeout, which the store's DSN sets.
package jobs

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
)

// QueueSync is the queue of sync runs, kept apart so that long syncs never
// hold up webhook deliveries.
const QueueSync = "sync"

// Defaults of Config and Work.
const (
	DefaultPollEvery     = 500 * time.Millisecond
	DefaultScheduleEvery = 30 * time.Second
	DefaultSyncWorkers   = 4
	DefaultWorkers       = 10
)

// Config says where the jobs live.
type Config struct {
	// Store is the storage engine: a SQLite store offers DB() *sql.DB (its
	// writer pool), a PostgreSQL store Pool() *pgxpool.Pool.
	Store any
	// Logger receives River's warnings and errors.
	Logger *slog.Logger
	// PollEvery is how often workers look for new jobs; SQLite has no
	// LISTEN/NOTIFY, so this is how soon a new job starts. Default 500 ms.
	PollEvery time.Duration
}

// Syncs is what the sync jobs need of the sync engine.
type Syncs interface {
	// Run executes a sync run to its end; see syncer.Syncer.Run.
	Run(ctx context.Context, runID string) error
	// Schedule starts due syncs and re-enqueues orphaned runs.
	Schedule(ctx context.Context) (int, error)
}

// Work is what a working client runs.
type Work struct {
	// Sync works sync runs and the schedule; required.
	Sync Syncs
	// ScheduleEvery is the period of the schedule job; default 30 s.
	ScheduleEvery time.Duration
	// SyncWorkers bounds concurrent sync runs; default 4.
	SyncWorkers int
	// Workers registers the workers of other packages.
	Workers []func(*river.Workers)
	// Periodic are other packages' periodic jobs.
	Periodic []*river.PeriodicJob
	// Queues adds queues (name → config) beside river.QueueDefault (10
	// workers) and QueueSync.
	Queues map[string]river.QueueConfig
}

// client is what Jobs uses of a River client, whatever its driver.
type client interface {
	Start(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// Jobs is the job queue of one process.
type Jobs struct {
	cfg       Config
	inserter  client
	newClient func(*river.Config) (client, error)

	mu      sync.Mutex
	working client
}

// Open applies River's migrations to the store's database and returns a
// queue that can insert jobs. PostgreSQL stores are detected first.
func Open(ctx context.Context, cfg Config) (*Jobs, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.PollEvery = cmp.Or(cfg.PollEvery, DefaultPollEvery)
	switch db := cfg.Store.(type) {
	case interface{ Pool() *pgxpool.Pool }:
		return open(ctx, cfg, riverpgxv5.New(db.Pool()))
	case interface{ DB() *sql.DB }:
		return open(ctx, cfg, riversqlite.New(db.DB()))
	}
	return nil, fmt.Errorf("jobs: the store (%T) offers neither DB() nor Pool()", cfg.Store)
}

func open[TTx any](ctx context.Context, cfg Config, driver riverdriver.Driver[TTx]) (*Jobs, error) {
	log := riverLogger(cfg.Logger)
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("jobs: migrations: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return nil, fmt.Errorf("jobs: migrate River's tables: %w", err)
	}
	ins, err := river.NewClient(driver, &river.Config{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return &Jobs{
		cfg:      cfg,
		inserter: ins,
		newClient: func(rc *river.Config) (client, error) {
			return river.NewClient(driver, rc)
		},
	}, nil
}

// Insert adds a job; other packages use it for their own job kinds.
func (j *Jobs) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	_, err := j.inserter.Insert(ctx, args, opts)
	return err
}

// EnqueueSync hands a sync run to the sync workers (syncer.Enqueuer).
func (j *Jobs) EnqueueSync(ctx context.Context, runID string) error {
	return j.Insert(ctx, SyncArgs{RunID: runID}, nil)
}

// Start starts working jobs until Stop: sync runs, the schedule job every
// ScheduleEvery (also once at start), and the registered workers and
// periodic jobs.
func (j *Jobs) Start(ctx context.Context, w Work) error {
	if w.Sync == nil {
		return errors.New("jobs: Work.Sync is required")
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.working != nil {
		return errors.New("jobs: already started")
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &syncWorker{syncs: w.Sync})
	river.AddWorker(workers, &scheduleWorker{syncs: w.Sync})
	for _, register := range w.Workers {
		register(workers)
	}
	queues := map[string]river.QueueConfig{
		river.QueueDefault: {MaxWorkers: DefaultWorkers},
		QueueSync:          {MaxWorkers: cmp.Or(w.SyncWorkers, DefaultSyncWorkers)},
	}
	maps.Copy(queues, w.Queues)
	schedule := river.NewPeriodicJob(river.PeriodicInterval(cmp.Or(w.ScheduleEvery, DefaultScheduleEvery)),
		func() (river.JobArgs, *river.InsertOpts) { return ScheduleArgs{}, nil },
		&river.PeriodicJobOpts{ID: "sync_schedule", RunOnStart: true})
	c, err := j.newClient(&river.Config{
		Logger:            riverLogger(j.cfg.Logger),
		Workers:           workers,
		Queues:            queues,
		PeriodicJobs:      append([]*river.PeriodicJob{schedule}, w.Periodic...),
		FetchPollInterval: j.cfg.PollEvery,
		FetchCooldown:     min(j.cfg.PollEvery, 100*time.Millisecond),
	})
	if err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	if err := c.Start(ctx); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	j.working = c
	return nil
}

// Stop stops working jobs. Running jobs have their context cancelled at
// once rather than being waited for: a sync run then gives itself back,
// queued with the checkpoint of its last committed page, and the next start
// resumes it, which is better than holding a shutdown for a long walk. Stop
// returns when every job has returned. It is a no-op if Start was not called.
func (j *Jobs) Stop(ctx context.Context) error {
	j.mu.Lock()
	c := j.working
	j.working = nil
	j.mu.Unlock()
	if c == nil {
		return nil
	}
	return c.StopAndCancel(ctx)
}

// SyncArgs is the job of one sync run.
type SyncArgs struct {
	RunID string `json:"run_id"`
}

// Kind names the job kind.
func (SyncArgs) Kind() string { return "sync_run" }

// InsertOpts puts sync runs on their own queue. A failed attempt (the store
// failed; an LMS failure ends the run, not the job) is retried a few times.
func (SyncArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueSync, MaxAttempts: 5}
}

type syncWorker struct {
	river.WorkerDefaults[SyncArgs]
	syncs Syncs
}

func (w *syncWorker) Work(ctx context.Context, job *river.Job[SyncArgs]) error {
	return w.syncs.Run(ctx, job.Args.RunID)
}

// Timeout: a sync walks as long as the LMS takes; it bounds its own
// failures (syncer.Config.MaxFailure), so River must not cut it off.
func (w *syncWorker) Timeout(*river.Job[SyncArgs]) time.Duration { return -1 }

// ScheduleArgs is the periodic job that starts due syncs.
type ScheduleArgs struct{}

// Kind names the job kind.
func (ScheduleArgs) Kind() string { return "sync_schedule" }

// InsertOpts: one attempt, as the next period tries again anyway; on the
// default queue, so that syncs filling every sync worker cannot hold up the
// schedule (nor the recovery of runs it does).
func (ScheduleArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: river.QueueDefault, MaxAttempts: 1}
}

type scheduleWorker struct {
	river.WorkerDefaults[ScheduleArgs]
	syncs Syncs
}

func (w *scheduleWorker) Work(ctx context.Context, _ *river.Job[ScheduleArgs]) error {
	_, err := w.syncs.Schedule(ctx)
	return err
}

// riverLogger passes River's warnings and errors to log; its info lines
// (every leadership change and maintenance pass) would drown Registrar's.
func riverLogger(log *slog.Logger) *slog.Logger {
	return slog.New(minLevel{Handler: log.Handler(), min: slog.LevelWarn}).With("component", "river")
}

type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{Handler: h.Handler.WithAttrs(attrs), min: h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{Handler: h.Handler.WithGroup(name), min: h.min}
}
