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
//
// On PostgreSQL several replicas share the queue. River's migrations run in
// one transaction under an advisory lock, so replicas starting together
// apply them once. River's leader election runs the periodic jobs once per
// period cluster-wide, and each job is fetched by one replica. What River
// alone does not do fast is notice a dead replica: its running jobs stay
// "running" until the rescuer's hour (a sync job, which has no timeout,
// forever), and a job unique while running (a webhook endpoint's delivery,
// the dispatcher) blocks its successors meanwhile. So with Config.Replicas
// each working client holds a liveness lock named after its River client
// id, and every replica looks every ReapEvery for running jobs whose last
// worker's lock is free: that worker is dead (PostgreSQL dropped its session
// with the process), and its jobs are made available again at once. A live
// replica's jobs are never touched, however long they run.
package jobs

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/registrarhq/registrar/internal/ident"
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
	// Replicas, on PostgreSQL, proves this process alive to the others and
	// tells whether another is (postgres.Session does); nil leaves a dead
	// replica's jobs to River's rescuer.
	Replicas Replicas
	// ReapEvery is how often running jobs of dead replicas are looked for;
	// default 10 s.
	ReapEvery time.Duration
	// Now is the clock of rescue records; default time.Now.
	Now func() time.Time
}

// Replicas is the liveness of replicas sharing the queue.
type Replicas interface {
	// Hold takes the lock name for this process's life.
	Hold(name string) error
	// Held reports whether a live process holds name.
	Held(ctx context.Context, name string) (bool, error)
}

// replicaPrefix starts the River client id of a working client with
// replica liveness; jobs worked by other clients are left to River.
const replicaPrefix = "registrar-replica-"

// DefaultReapEvery is the default of Config.ReapEvery.
const DefaultReapEvery = 10 * time.Second

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
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
}

// Jobs is the job queue of one process.
type Jobs struct {
	cfg       Config
	inserter  client
	newClient func(*river.Config) (client, error)
	// rescue makes running jobs available again (River's own rescue
	// statement, through the driver).
	rescue func(ctx context.Context, ids []int64, errs [][]byte) error

	mu       sync.Mutex
	working  client
	stopReap func()
}

// Open applies River's migrations to the store's database and returns a
// queue that can insert jobs. PostgreSQL stores are detected first.
func Open(ctx context.Context, cfg Config) (*Jobs, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.PollEvery = cmp.Or(cfg.PollEvery, DefaultPollEvery)
	cfg.ReapEvery = cmp.Or(cfg.ReapEvery, DefaultReapEvery)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := riverLogger(cfg.Logger)
	switch db := cfg.Store.(type) {
	case interface{ Pool() *pgxpool.Pool }:
		driver := riverpgxv5.New(db.Pool())
		if err := migratePostgres(ctx, db.Pool(), driver, log); err != nil {
			return nil, err
		}
		return open(cfg, driver)
	case interface{ DB() *sql.DB }:
		driver := riversqlite.New(db.DB())
		m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: log})
		if err != nil {
			return nil, fmt.Errorf("jobs: migrations: %w", err)
		}
		if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return nil, fmt.Errorf("jobs: migrate River's tables: %w", err)
		}
		return open(cfg, driver)
	}
	return nil, fmt.Errorf("jobs: the store (%T) offers neither DB() nor Pool()", cfg.Store)
}

// riverMigrateLockID serialises River's migrations across replicas. It
// shares PostgreSQL's advisory key space with the store's fixed keys
// ("REGI" 1 and 2, see package postgres), hence "REGI" 3.
const riverMigrateLockID int64 = 0x5245_4749_0000_0003

// migratePostgres applies River's migrations while holding an advisory
// lock: replicas starting together queue on the lock, and the later ones
// find every version applied. (rivermigrate takes no lock of its own, so
// two replicas would both try to create River's tables; and the versions
// cannot share one transaction, as one uses an enum value an earlier one
// adds.) The lock is held on a connection of its own, outside the pool, so
// that a pool of one connection cannot deadlock against it.
func migratePostgres(ctx context.Context, pool *pgxpool.Pool, driver *riverpgxv5.Driver, log *slog.Logger) error {
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: log})
	if err != nil {
		return fmt.Errorf("jobs: migrations: %w", err)
	}
	conn, err := pgx.ConnectConfig(ctx, pool.Config().ConnConfig.Copy())
	if err != nil {
		return fmt.Errorf("jobs: migration lock: %w", err)
	}
	// Closing the connection releases the lock, on every path.
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", riverMigrateLockID); err != nil {
		return fmt.Errorf("jobs: migration lock: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("jobs: migrate River's tables: %w", err)
	}
	return nil
}

func open[TTx any](cfg Config, driver riverdriver.Driver[TTx]) (*Jobs, error) {
	log := riverLogger(cfg.Logger)
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
		rescue: func(ctx context.Context, ids []int64, errs [][]byte) error {
			now := cfg.Now().UTC()
			p := &riverdriver.JobRescueManyParams{
				ID: ids, Error: errs, FinalizedAt: make([]*time.Time, len(ids)),
				// Every job attempted before now: the guard is the state
				// and the worker's liveness, checked by the caller.
				StuckHorizon: now.Add(time.Hour),
			}
			for range ids {
				p.ScheduledAt = append(p.ScheduledAt, now)
				p.State = append(p.State, string(rivertype.JobStateAvailable))
			}
			_, err := driver.GetExecutor().JobRescueMany(ctx, p)
			return err
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
	var id string
	if j.cfg.Replicas != nil {
		// The id is the liveness lock's name: other replicas take this
		// process for dead, and rescue its jobs, only once it is free.
		id = replicaPrefix + ident.New("r", j.cfg.Now())
		if err := j.cfg.Replicas.Hold(id); err != nil {
			return fmt.Errorf("jobs: replica liveness: %w", err)
		}
	}
	schedule := river.NewPeriodicJob(river.PeriodicInterval(cmp.Or(w.ScheduleEvery, DefaultScheduleEvery)),
		func() (river.JobArgs, *river.InsertOpts) { return ScheduleArgs{}, nil },
		&river.PeriodicJobOpts{ID: "sync_schedule", RunOnStart: true})
	c, err := j.newClient(&river.Config{
		ID:                id,
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
	if j.cfg.Replicas != nil {
		j.stopReap = j.startReaper(ctx, id)
	}
	return nil
}

// startReaper looks for dead replicas' running jobs every ReapEvery (and at
// once, for what a replica killed before this start left) until stopped.
func (j *Jobs) startReaper(ctx context.Context, self string) (stop func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(j.cfg.ReapEvery)
		defer t.Stop()
		for {
			if n, err := j.Reap(ctx, self); err != nil && ctx.Err() == nil {
				j.cfg.Logger.Warn("could not look for jobs of dead replicas", "err", err)
			} else if n > 0 {
				j.cfg.Logger.Info("took over the jobs of a dead replica", "jobs", n)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}

// Reap makes the running jobs of dead replicas available again and returns
// how many. self (this process's client id) is never reaped; a worker is
// dead when its liveness lock is free. A job rescued here whose worker was
// in fact only cut off from the database (its session lost) may run twice;
// such a replica stops working as soon as it notices (see app.Serve), and
// every job here tolerates a second execution (sync runs are owned through
// the syncer's lock, deliveries are at least once).
func (j *Jobs) Reap(ctx context.Context, self string) (int, error) {
	if j.cfg.Replicas == nil {
		return 0, nil
	}
	res, err := j.inserter.JobList(ctx, river.NewJobListParams().States(rivertype.JobStateRunning).First(10000))
	if err != nil {
		return 0, err
	}
	dead := map[string]bool{}
	var ids []int64
	var errs [][]byte
	for _, job := range res.Jobs {
		if len(job.AttemptedBy) == 0 {
			continue
		}
		by := job.AttemptedBy[len(job.AttemptedBy)-1]
		if by == self || !strings.HasPrefix(by, replicaPrefix) {
			continue
		}
		isDead, known := dead[by]
		if !known {
			held, err := j.cfg.Replicas.Held(ctx, by)
			if err != nil {
				return 0, err
			}
			isDead, dead[by] = !held, !held
		}
		if !isDead {
			continue
		}
		e, _ := json.Marshal(rivertype.AttemptError{At: j.cfg.Now().UTC(), Attempt: max(job.Attempt, 0),
			Error: "the replica working it (" + by + ") died; taken over"})
		ids = append(ids, job.ID)
		errs = append(errs, e)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	if err := j.rescue(ctx, ids, errs); err != nil {
		return 0, fmt.Errorf("jobs: rescue the jobs of dead replicas: %w", err)
	}
	return len(ids), nil
}

// Stop stops working jobs. Running jobs have their context cancelled at
// once rather than being waited for: a sync run then gives itself back,
// queued with the checkpoint of its last committed page, and the next start
// resumes it, which is better than holding a shutdown for a long walk. Stop
// returns when every job has returned. It is a no-op if Start was not called.
func (j *Jobs) Stop(ctx context.Context) error {
	j.mu.Lock()
	c, stopReap := j.working, j.stopReap
	j.working, j.stopReap = nil, nil
	j.mu.Unlock()
	if stopReap != nil {
		stopReap()
	}
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
