// Package app is the one place that wires Registrar together: it picks the
// storage engine, registers the providers explicitly, builds connectors for
// stored connections, and assembles the API server. Nothing else imports
// concrete engines or connectors.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/riverqueue/river"

	"github.com/registrarhq/registrar/internal/api"
	"github.com/registrarhq/registrar/internal/clockjob"
	"github.com/registrarhq/registrar/internal/httpx"
	"github.com/registrarhq/registrar/internal/jobs"
	"github.com/registrarhq/registrar/internal/provider"
	"github.com/registrarhq/registrar/internal/provider/absorb"
	"github.com/registrarhq/registrar/internal/provider/canvas"
	"github.com/registrarhq/registrar/internal/provider/digitalchalk"
	"github.com/registrarhq/registrar/internal/secrets"
	"github.com/registrarhq/registrar/internal/store"
	"github.com/registrarhq/registrar/internal/store/postgres"
	"github.com/registrarhq/registrar/internal/store/sqlite"
	"github.com/registrarhq/registrar/internal/syncer"
	"github.com/registrarhq/registrar/internal/webhook"
)

// Version is the build's version, set with -ldflags at release time.
var Version = "0.1.0-dev"

// DatabaseFile is the SQLite file inside the data directory.
const DatabaseFile = "registrar.db"

// Config is the configuration shared by every command.
type Config struct {
	// DataDir holds the SQLite database and the secret key file.
	DataDir string
	// DatabaseURL selects PostgreSQL (postgres://...); empty means SQLite in DataDir.
	DatabaseURL string
	// SecretKey is REGISTRAR_SECRET_KEY; empty means the key file in DataDir.
	SecretKey string
	Logger    *slog.Logger
	Now       func() time.Time
	// HTTP overrides connector HTTP options (tests shorten retries).
	HTTP httpx.Options
	// Sync tunes the sync engine and its jobs; zero values take defaults.
	Sync SyncConfig
	// Webhooks tunes webhook delivery and the clock job; zero values take
	// defaults.
	Webhooks WebhookConfig
}

// WebhookConfig holds the settings of webhook delivery and of the
// overdue/expired clock job (see packages webhook and clockjob).
type WebhookConfig struct {
	// DispatchEvery is how often endpoints are checked for due events
	// (default 2 s).
	DispatchEvery time.Duration
	// ClockEvery is how often overdue and expired dates are checked
	// (default 1 m).
	ClockEvery time.Duration
	// Backoff and RetryFor shape retries (defaults: 5 s ×3 up to 4 h, for
	// 24 h).
	Backoff  webhook.Backoff
	RetryFor time.Duration
}

// SyncConfig holds the sync engine's settings (see syncer.Config and
// jobs.Work for their meaning and defaults).
type SyncConfig struct {
	MaxFailure     time.Duration
	HeartbeatEvery time.Duration
	StaleAfter     time.Duration
	FullEvery      time.Duration
	Overlap        time.Duration
	// PollEvery is how soon a queued job starts (default 500 ms).
	PollEvery time.Duration
	// ScheduleEvery is how often due syncs are looked for (default 30 s).
	ScheduleEvery time.Duration
	// Workers bounds concurrent sync runs (default 4).
	Workers int
	// ReapEvery is how often, on PostgreSQL, replicas look for running
	// jobs of dead replicas to take over (default 10 s; see package jobs).
	ReapEvery time.Duration
}

func (c *Config) defaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Providers returns the provider registry, explicitly: no init() magic.
func Providers() []*provider.Definition {
	c, a, d := canvas.Definition(), absorb.Definition(), digitalchalk.Definition()
	c.Prototype = (*canvas.Connector)(nil)
	a.Prototype = (*absorb.Connector)(nil)
	d.Prototype = (*digitalchalk.Connector)(nil)
	return []*provider.Definition{c, a, d}
}

// CheckDataDir makes sure dir exists and is writable, with an error a
// person can act on.
func CheckDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data directory %s cannot be created: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".write-check-*")
	if err != nil {
		return fmt.Errorf("data directory %s is not writable: %w", dir, unwrapPathError(err))
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	return nil
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// OpenStore opens the configured engine and applies migrations.
func OpenStore(ctx context.Context, cfg Config) (store.Store, error) {
	if cfg.DatabaseURL != "" {
		if strings.HasPrefix(cfg.DatabaseURL, "postgres://") || strings.HasPrefix(cfg.DatabaseURL, "postgresql://") {
			// Waits for the database (30 s by default) and migrates under an
			// advisory lock, so replicas may start together with PostgreSQL.
			// Pool settings come from the URL (pool_max_conns, ...).
			pg, err := postgres.Open(ctx, postgres.Options{URL: cfg.DatabaseURL, Logger: cfg.Logger})
			if err != nil {
				return nil, err
			}
			return pg, nil
		}
		return nil, fmt.Errorf("unsupported --database-url %q: use postgres://user@host:5432/db", redactURL(cfg.DatabaseURL))
	}
	if cfg.DataDir == "" {
		return nil, errors.New("no data directory: pass --data-dir or set REGISTRAR_DATA_DIR")
	}
	if err := CheckDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	return sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(cfg.DataDir, DatabaseFile)})
}

func redactURL(s string) string { return httpx.Redact(s) }

// App is a running Registrar: store, secrets, connectors and API.
type App struct {
	Config  Config
	Store   store.Store
	Secrets *secrets.Box
	API     *api.Server
	Metrics *prometheus.Registry
	// Syncer runs syncs; Jobs is the River queue that works them in Serve.
	Syncer *syncer.Syncer
	Jobs   *jobs.Jobs

	connectors *connectorCache
	// session, on PostgreSQL, holds this process's advisory locks: the
	// sync runs it owns and its liveness as a replica.
	session *postgres.Session
	// work is what Serve's job workers run. Packages with background work
	// add their workers and periodic jobs here, in New (see package jobs).
	work jobs.Work
}

// New opens everything a server needs.
func New(ctx context.Context, cfg Config) (*App, error) {
	cfg.defaults()
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	box, err := loadSecrets(ctx, cfg, st)
	if err != nil {
		st.Close()
		return nil, err
	}
	if _, shared := st.(*postgres.Store); shared && cfg.SecretKey == "" {
		// A replica making its own key file would seal what the others
		// cannot open, and nothing fails until one of them tries.
		cfg.Logger.Warn("the secret key comes from a key file in this data directory; replicas sharing the database must all "+
			"use the same key: set REGISTRAR_SECRET_KEY on every replica", "key_file", filepath.Join(cfg.DataDir, secrets.KeyFileName))
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a := &App{Config: cfg, Store: st, Secrets: box, Metrics: reg}
	a.connectors = &connectorCache{app: a, byID: map[string]cachedConnector{}, defs: map[string]*provider.Definition{}}
	for _, d := range Providers() {
		a.connectors.defs[d.Name] = d
	}
	if err := a.openSyncs(ctx); err != nil {
		a.Close()
		return nil, err
	}
	a.openWebhooks()
	a.API = api.New(api.Deps{
		Store:      st,
		Secrets:    box,
		Providers:  Providers(),
		Connectors: a.connectors,
		Syncs:      a.Syncer,
		Metrics:    reg,
		Logger:     cfg.Logger,
		Now:        cfg.Now,
		Version:    Version,
	})
	return a, nil
}

// loadSecrets opens the credentials key. A new key file is made only for a
// database that holds no encrypted credentials yet: making one for a
// database whose credentials were sealed with REGISTRAR_SECRET_KEY (or with a
// key file that was lost) would leave them undecryptable, silently.
func loadSecrets(ctx context.Context, cfg Config, st store.Store) (*secrets.Box, error) {
	if cfg.SecretKey == "" {
		keyFile := filepath.Join(cfg.DataDir, secrets.KeyFileName)
		if _, err := os.Stat(keyFile); errors.Is(err, os.ErrNotExist) {
			conns, err := st.ConnectionList(ctx, store.ConnectionListParams{})
			if err != nil {
				return nil, err
			}
			hooks, err := st.WebhookList(ctx)
			if err != nil {
				return nil, err
			}
			if len(conns) > 0 || len(hooks) > 0 {
				return nil, fmt.Errorf("no secret key: the database holds encrypted credentials but %s is missing and "+
					"REGISTRAR_SECRET_KEY is not set; set REGISTRAR_SECRET_KEY to the key they were encrypted with, "+
					"or restore the key file", keyFile)
			}
		}
	}
	return secrets.Load(cfg.SecretKey, cfg.DataDir)
}

// Close releases the store (and, on PostgreSQL, the locks' session).
func (a *App) Close() error {
	if a.session != nil {
		_ = a.session.Close()
	}
	return a.Store.Close()
}

// openSyncs builds the job queue (migrating River's tables) and the sync
// engine. On SQLite every process using the data directory is on this host,
// so a file lock there proves a sync owner alive. PostgreSQL replicas may
// be on several hosts, where a file lock proves nothing: there a session
// advisory lock, which PostgreSQL drops with its holder's connection,
// proves the owner of a run and the liveness of a replica.
func (a *App) openSyncs(ctx context.Context) error {
	cfg := a.Config
	jc := jobs.Config{Store: a.Store, Logger: cfg.Logger, PollEvery: cfg.Sync.PollEvery, ReapEvery: cfg.Sync.ReapEvery, Now: cfg.Now}
	var locker syncer.Locker
	switch st := a.Store.(type) {
	case *postgres.Store:
		s, err := st.OpenSession(ctx, postgres.SessionOptions{Logger: cfg.Logger})
		if err != nil {
			return err
		}
		a.session = s
		locker, jc.Replicas = s, s
	default:
		locker = syncer.NewFileLocker(filepath.Join(cfg.DataDir, "locks"))
	}
	q, err := jobs.Open(ctx, jc)
	if err != nil {
		return err
	}
	sy, err := syncer.New(syncer.Config{
		Store: a.Store, Connectors: a.connectors, Enqueuer: q, Locker: locker, Now: cfg.Now, Logger: cfg.Logger,
		Metrics: a.Metrics, MaxFailure: cfg.Sync.MaxFailure, HeartbeatEvery: cfg.Sync.HeartbeatEvery,
		StaleAfter: cfg.Sync.StaleAfter, FullEvery: cfg.Sync.FullEvery, Overlap: cfg.Sync.Overlap,
	})
	if err != nil {
		return err
	}
	a.Jobs, a.Syncer = q, sy
	a.work = jobs.Work{Sync: sy, ScheduleEvery: cfg.Sync.ScheduleEvery, SyncWorkers: cfg.Sync.Workers}
	return nil
}

// openWebhooks adds webhook delivery and the overdue/expired clock job to
// the job workers.
func (a *App) openWebhooks() {
	cfg := a.Config
	d := webhook.New(webhook.Config{Store: a.Store, Secrets: a.Secrets, Now: cfg.Now, Logger: cfg.Logger,
		UserAgent: "Registrar-Webhooks/" + Version, Backoff: cfg.Webhooks.Backoff, RetryFor: cfg.Webhooks.RetryFor,
		Metrics: a.Metrics})
	clock := clockjob.New(clockjob.Config{Store: a.Store, Now: cfg.Now})
	a.work.Workers = append(a.work.Workers,
		func(w *river.Workers) { webhook.Register(w, d, a.Jobs) },
		func(w *river.Workers) { river.AddWorker(w, &clockjob.Worker{Job: clock}) })
	a.work.Periodic = append(a.work.Periodic,
		webhook.PeriodicJob(cfg.Webhooks.DispatchEvery), clockjob.PeriodicJob(cfg.Webhooks.ClockEvery))
}

// startJobs resumes the runs a previous process left and starts the job
// workers (sync runs, the schedule, and the registered workers).
func (a *App) startJobs(ctx context.Context) error {
	if n, err := a.Syncer.Recover(ctx); err != nil {
		return fmt.Errorf("resume sync runs: %w", err)
	} else if n > 0 {
		a.Config.Logger.Info("resuming sync runs left by a previous process", "runs", n)
	}
	return a.Jobs.Start(ctx, a.work)
}

// Connector returns the connector of a stored connection.
func (a *App) Connector(ctx context.Context, c *store.Connection) (provider.Reader, error) {
	return a.connectors.Connector(ctx, c)
}

// connectorCache keeps one connector per connection, so its rate limiter and
// Absorb token survive across requests and syncs; it is rebuilt when the
// connection changes.
type connectorCache struct {
	app  *App
	defs map[string]*provider.Definition
	mu   sync.Mutex
	byID map[string]cachedConnector
}

type cachedConnector struct {
	updatedAt time.Time
	reader    provider.Reader
}

func (cc *connectorCache) Connector(ctx context.Context, c *store.Connection) (provider.Reader, error) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if hit, ok := cc.byID[c.ID]; ok && hit.updatedAt.Equal(c.UpdatedAt) {
		return hit.reader, nil
	}
	d, ok := cc.defs[c.Provider]
	if !ok {
		return nil, fmt.Errorf("connection %s: unknown provider %q", c.ID, c.Provider)
	}
	creds, err := api.OpenCredentials(cc.app.Secrets, c)
	if err != nil {
		return nil, err
	}
	r, err := d.New(provider.Config{Settings: c.Settings, Secrets: creds, HTTP: cc.app.Config.HTTP, Now: cc.app.Config.Now})
	if err != nil {
		return nil, fmt.Errorf("connection %s: %w", c.ID, err)
	}
	cc.byID[c.ID] = cachedConnector{updatedAt: c.UpdatedAt, reader: r}
	return r, nil
}

// Serve answers HTTP on ln until ctx is done, then gives in-flight requests
// up to 10 seconds to finish.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.API.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.Config.Logger.Handler(), slog.LevelWarn),
	}
	// Workers run on their own context: the shutdown below stops them after
	// the last request, so a sync runs until Stop and then checkpoints.
	if err := a.startJobs(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.Jobs.Stop(stopCtx); err != nil {
			a.Config.Logger.Warn("job workers did not stop cleanly", "err", err)
		}
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var lost <-chan struct{} // nil (never ready) on SQLite
	if a.session != nil {
		lost = a.session.Done()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	case <-lost:
		// Other replicas take this one for dead now and may already be
		// working its runs and deliveries: working on would do them twice.
		// Exit, and let the supervisor start a fresh replica.
		err := a.session.Err()
		a.Config.Logger.Error("stopping: this replica lost its PostgreSQL session", "err", err)
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
		return err
	}
	a.Config.Logger.Info("shutting down", "grace", "10s")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
