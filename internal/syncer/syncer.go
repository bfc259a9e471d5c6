package syncer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/registrarhq/registrar/internal/ident"
	"github.com/registrarhq/registrar/internal/provider"
	"github.com/registrarhq/registrar/internal/store"
)

// Defaults of Config.
const (
	DefaultMaxFailure     = time.Minute
	DefaultHeartbeatEvery = 10 * time.Second
	DefaultStaleAfter     = 2 * time.Minute
	DefaultOverlap        = 5 * time.Minute
	DefaultFullEvery      = 24 * time.Hour
	DefaultSyncInterval   = 15 * time.Minute
	MinSyncInterval       = time.Minute
	DefaultRetryBackoff   = time.Second
)

// Connectors builds the connector of a stored connection.
type Connectors interface {
	Connector(ctx context.Context, c *store.Connection) (provider.Reader, error)
}

// Enqueuer hands a run to a background worker, which calls Run. Enqueueing a
// run twice is harmless: the second execution finds the run finished or owned
// and returns.
type Enqueuer interface {
	EnqueueSync(ctx context.Context, runID string) error
}

// Locker proves that an owner of a connection's sync is alive. TryLock
// either takes the lock (ok, with unlock to release it) or reports that a
// live owner holds it. The lock must be released by the operating system
// when its holder dies, so a run left behind by a killed process can be taken
// over at once. FileLocker does that for processes sharing a host (SQLite);
// postgres.Session does it for replicas on any host sharing one PostgreSQL
// (a session advisory lock, dropped with its connection).
type Locker interface {
	TryLock(key string) (unlock func(), ok bool, err error)
}

// Config configures a Syncer. Zero values take the defaults above.
type Config struct {
	Store      store.Store
	Connectors Connectors
	// Enqueuer receives runs started by SyncStart, Recover and Schedule; nil
	// means they stay queued until Foreground or Run executes them.
	Enqueuer Enqueuer
	// Locker, when set, decides liveness of run owners: a running run is
	// taken over as soon as its lock is free, and never while it is held,
	// however old its heartbeat. Without it a running run is taken over only
	// once its heartbeat is older than StaleAfter.
	Locker Locker
	Now    func() time.Time
	Logger *slog.Logger
	// Metrics receives the sync metrics; nil leaves them unregistered.
	Metrics prometheus.Registerer
	// MaxFailure is how long a run may keep failing to read the LMS (its
	// errors retryable: outage, throttling, malformed answers) before it ends
	// failed. Default 1 minute.
	MaxFailure time.Duration
	// HeartbeatEvery is how often a running run proves its owner alive
	// between pages; default 10 s. It must be well below StaleAfter.
	HeartbeatEvery time.Duration
	// StaleAfter is the age of a heartbeat after which a run's owner is
	// presumed dead; default 2 minutes.
	StaleAfter time.Duration
	// Overlap is subtracted from the start of the last successful run to
	// get an incremental run's lower bound, covering clock skew and records
	// edited while that run read; default 5 minutes.
	Overlap time.Duration
	// FullEvery is the longest time between full scheduled runs, which are
	// what detect deletes; default 24 h.
	FullEvery time.Duration
	// RetryBackoff is the first wait before re-reading a page that failed;
	// it doubles up to 15 s. Default 1 s.
	RetryBackoff time.Duration
	// Sleep waits between page attempts; tests may replace it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Syncer runs syncs. Safe for concurrent use.
type Syncer struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
}

// New checks the configuration and builds a Syncer.
func New(cfg Config) (*Syncer, error) {
	if cfg.Store == nil || cfg.Connectors == nil {
		return nil, errors.New("syncer: Store and Connectors are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.MaxFailure = cmp.Or(cfg.MaxFailure, DefaultMaxFailure)
	cfg.HeartbeatEvery = cmp.Or(cfg.HeartbeatEvery, DefaultHeartbeatEvery)
	cfg.StaleAfter = cmp.Or(cfg.StaleAfter, DefaultStaleAfter)
	cfg.Overlap = cmp.Or(cfg.Overlap, DefaultOverlap)
	cfg.FullEvery = cmp.Or(cfg.FullEvery, DefaultFullEvery)
	cfg.RetryBackoff = cmp.Or(cfg.RetryBackoff, DefaultRetryBackoff)
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	if cfg.MaxFailure < 0 || cfg.HeartbeatEvery < 0 || cfg.StaleAfter < 0 || cfg.Overlap < 0 || cfg.FullEvery < 0 {
		return nil, errors.New("syncer: durations must not be negative")
	}
	if cfg.HeartbeatEvery*2 > cfg.StaleAfter {
		return nil, fmt.Errorf("syncer: heartbeat every %s cannot prove liveness within stale-after %s (it must be at most half)",
			cfg.HeartbeatEvery, cfg.StaleAfter)
	}
	m, err := newMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	return &Syncer{cfg: cfg, log: cfg.Logger, metrics: m}, nil
}

func (s *Syncer) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Second) }

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// SyncStart starts a sync of a connection: a queued run, handed to the
// Enqueuer. The run is full when full is set, else incremental where the
// connector can filter by modification time and a successful run exists to
// start from. When the connection already has a queued or running run, that
// run is returned and nothing is started (one run per connection at a time).
func (s *Syncer) SyncStart(ctx context.Context, connectionID string, full bool, trigger string) (*store.SyncRun, error) {
	run, created, err := s.create(ctx, connectionID, full, trigger)
	if err != nil || !created {
		return run, err
	}
	s.enqueue(ctx, run.ID)
	return run, nil
}

func (s *Syncer) enqueue(ctx context.Context, runID string) {
	if s.cfg.Enqueuer == nil {
		return
	}
	if err := s.cfg.Enqueuer.EnqueueSync(ctx, runID); err != nil {
		// The run stays queued; the schedule job re-enqueues orphaned runs.
		s.log.Warn("sync run not enqueued; the scheduler will retry", "run", runID, "err", err)
	}
}

// create makes a queued run, or returns the active one (created false).
func (s *Syncer) create(ctx context.Context, connectionID string, full bool, trigger string) (*store.SyncRun, bool, error) {
	for range 3 {
		active, err := s.cfg.Store.SyncRunActive(ctx, connectionID)
		if err == nil {
			return active, false, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, false, err
		}
		conn, err := s.cfg.Store.ConnectionGet(ctx, connectionID)
		if err != nil {
			return nil, false, err
		}
		kind, since, err := s.plan(ctx, conn, full)
		if err != nil {
			return nil, false, err
		}
		now := s.now()
		run := &store.SyncRun{
			ID: ident.New("run", s.cfg.Now()), ConnectionID: connectionID, Kind: kind, Trigger: cmp.Or(trigger, "manual"),
			Status: store.SyncStatusQueued, CreatedAt: now, ChangedSince: since, Stats: store.SyncStats{Total: -1},
		}
		err = s.cfg.Store.InTx(ctx, func(tx store.Tx) error { return tx.SyncRunCreate(ctx, run) })
		if errors.Is(err, store.ErrConflict) {
			// Another process started one between our read and write: that
			// one is the connection's run (read it on the next turn).
			continue
		}
		if err != nil {
			return nil, false, err
		}
		s.log.Info("sync run queued", "run", run.ID, "connection", connectionID, "kind", kind, "trigger", run.Trigger)
		return run, true, nil
	}
	return nil, false, fmt.Errorf("connection %s: could not start or find its sync run: %w", connectionID, store.ErrConflict)
}

// plan picks the kind of a new run and an incremental run's lower bound.
func (s *Syncer) plan(ctx context.Context, conn *store.Connection, full bool) (string, *time.Time, error) {
	if full {
		return store.SyncKindFull, nil, nil
	}
	r, err := s.cfg.Connectors.Connector(ctx, conn)
	if err != nil {
		return "", nil, err
	}
	inc, ok := r.(provider.IncrementalReader)
	if !ok || !inc.SupportsChangedSince() {
		return store.SyncKindFull, nil, nil
	}
	last, err := s.lastSucceeded(ctx, conn.ID)
	if err != nil {
		return "", nil, err
	}
	if last == nil || last.StartedAt == nil {
		return store.SyncKindFull, nil, nil
	}
	since := last.StartedAt.Add(-s.cfg.Overlap).UTC()
	return store.SyncKindIncremental, &since, nil
}

// lastSucceeded finds the newest successful run of a connection, looking
// back a bounded number of runs (a connection failing for longer gets a
// full run, which is the safe choice).
func (s *Syncer) lastSucceeded(ctx context.Context, connectionID string) (*store.SyncRun, error) {
	before := ""
	for range 20 {
		runs, err := s.cfg.Store.SyncRunList(ctx, store.SyncRunListParams{ConnectionID: connectionID, Before: before, Limit: 50})
		if err != nil {
			return nil, err
		}
		for i := range runs {
			if runs[i].Status == store.SyncStatusSucceeded {
				return &runs[i], nil
			}
		}
		if len(runs) < 50 {
			return nil, nil
		}
		before = runs[len(runs)-1].ID
	}
	return nil, nil
}

// stale reports whether a run's owner is presumed dead by its heartbeat.
func (s *Syncer) stale(r *store.SyncRun) bool {
	return r.HeartbeatAt == nil || s.now().Sub(*r.HeartbeatAt) > s.cfg.StaleAfter
}

// ownerless reports whether an active run has no live owner: it is queued
// and has waited at least grace, or it is running and its owner is gone.
func (s *Syncer) ownerless(r *store.SyncRun, grace time.Duration) (bool, error) {
	if s.cfg.Locker != nil {
		// A held lock means a live process is on it (running it, or about
		// to claim it); a free one means nobody on this host is.
		unlock, ok, err := s.cfg.Locker.TryLock(r.ConnectionID)
		if err != nil || !ok {
			return false, err
		}
		unlock()
		if r.Status == store.SyncStatusRunning {
			return true, nil
		}
	}
	if r.Status == store.SyncStatusQueued {
		return s.now().Sub(r.CreatedAt) >= grace, nil
	}
	return s.stale(r), nil
}

// Recover enqueues every active run without a live owner: runs queued by a
// process that died before its job was stored, runs released at a shutdown,
// and running runs whose owner was killed. They resume from their
// checkpoints. A run whose owner is alive is never taken from it. Call it at
// start-up, before the workers start.
func (s *Syncer) Recover(ctx context.Context) (int, error) {
	return s.recover(ctx, 0)
}

func (s *Syncer) recover(ctx context.Context, grace time.Duration) (int, error) {
	runs, err := s.cfg.Store.SyncRunListActive(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for i := range runs {
		orphan, err := s.ownerless(&runs[i], grace)
		if err != nil {
			return n, err
		}
		if orphan {
			s.log.Info("resuming sync run", "run", runs[i].ID, "connection", runs[i].ConnectionID, "status", runs[i].Status,
				"checkpoint", runs[i].Cursor != "")
			s.enqueue(ctx, runs[i].ID)
			n++
		}
	}
	return n, nil
}

// Schedule starts the syncs that are due: every connection that is not
// paused, once its sync interval has passed since its last run started,
// full when its last full sync is older than FullEvery (deletes are only
// seen by full runs) and incremental where possible otherwise. It also
// re-enqueues runs whose owner died or whose job was lost. The periodic
// schedule job calls it.
func (s *Syncer) Schedule(ctx context.Context) (int, error) {
	if _, err := s.recover(ctx, s.cfg.StaleAfter); err != nil {
		return 0, err
	}
	conns, err := s.cfg.Store.ConnectionList(ctx, store.ConnectionListParams{})
	if err != nil {
		return 0, err
	}
	now := s.now()
	started := 0
	var errs []error
	for i := range conns {
		c := &conns[i]
		if c.Paused {
			continue
		}
		interval := cmp.Or(c.SyncInterval, DefaultSyncInterval)
		interval = max(interval, MinSyncInterval)
		latest, err := s.cfg.Store.SyncRunList(ctx, store.SyncRunListParams{ConnectionID: c.ID, Limit: 1})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(latest) > 0 {
			l := latest[0]
			if l.Status == store.SyncStatusQueued || l.Status == store.SyncStatusRunning || now.Sub(l.CreatedAt) < interval {
				continue
			}
		}
		full := c.LastFullSyncAt == nil || now.Sub(*c.LastFullSyncAt) >= s.cfg.FullEvery
		if _, err := s.SyncStart(ctx, c.ID, full, "schedule"); err != nil {
			errs = append(errs, fmt.Errorf("connection %s: %w", c.ID, err))
			continue
		}
		started++
	}
	return started, errors.Join(errs...)
}
