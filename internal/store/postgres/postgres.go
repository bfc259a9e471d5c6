// Package postgres is the scale-out storage engine: PostgreSQL through pgx v5,
// for several Registrar replicas sharing one database. It implements the same
// store.Store as the SQLite engine, with its own SQL and its own embedded
// goose migrations, and passes the same storetest suite.
//
// What differs from SQLite, and why:
//
//   - Writes run concurrently (READ COMMITTED transactions from a pgxpool)
//     instead of through one writer connection. Where callers rely on
//     SQLite's serial writes, the engine locks explicitly: the event feed
//     (EventAppend), diffing a connection's records (tx.EnrollmentStates),
//     and rows read by Get methods inside a transaction (queries.lockRow).
//   - Migrations take a PostgreSQL session advisory lock, so replicas started
//     together apply them once.
//   - Open waits for the database to accept connections, because in
//     container deployments Registrar and PostgreSQL often start together.
//   - After a Tx method returns an error other than store.ErrConflict from an
//     insert, PostgreSQL has aborted the transaction: fn must return (InTx
//     then rolls back). Conflicting inserts use ON CONFLICT DO NOTHING, so
//     those leave the transaction usable, as on SQLite.
//
// Statements are prepared and cached per connection (pgx's default). Behind
// PgBouncer in transaction mode, add default_query_exec_mode=exec to the URL.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/registrarhq/registrar/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Advisory lock keys. They share PostgreSQL's one 64-bit key space with every
// other user of the database (River included), so they are fixed, documented
// values rather than hashes computed at run time.
const (
	// migrateLockID serialises migrations across replicas.
	migrateLockID int64 = 0x5245_4749_0000_0001 // "REGI" 1
	// eventAppendLockID serialises event appends so that sequence order is
	// commit order (see EventAppend).
	eventAppendLockID int64 = 0x5245_4749_0000_0002 // "REGI" 2
	// enrollmentDiffLockClass, with a hash of the connection id as the
	// second key, serialises diffing a connection's records (see
	// tx.EnrollmentStates). The two-key form is a key space of its own.
	enrollmentDiffLockClass int32 = 0x5245_4749 // "REGI"
)

// DefaultStartupTimeout is how long Open waits for the database by default.
const DefaultStartupTimeout = 30 * time.Second

// Options configures the engine. Zero values keep what the URL says (pgxpool
// reads pool_max_conns, pool_min_conns, pool_max_conn_lifetime,
// pool_max_conn_idle_time, pool_health_check_period from its query string),
// and otherwise pgxpool's defaults.
type Options struct {
	// URL is a postgres:// URL (or a libpq keyword/value string).
	URL string
	// MaxConns caps the pool; default: the URL's pool_max_conns, else the
	// greater of 4 and the number of CPUs (pgxpool's default).
	MaxConns int32
	// MinConns is kept open even when idle; default: pool_min_conns, else 0.
	MinConns int32
	// MaxConnLifetime recycles connections (default pgxpool's 1 hour).
	MaxConnLifetime time.Duration
	// MaxConnIdleTime closes idle connections (default pgxpool's 30 minutes).
	MaxConnIdleTime time.Duration
	// StartupTimeout is how long Open keeps retrying while the database does
	// not accept connections; default DefaultStartupTimeout, negative means
	// try once.
	StartupTimeout time.Duration
	// SkipMigrate opens without applying migrations (for tools that only
	// read, or that call Migrate themselves).
	SkipMigrate bool
	// Logger reports waiting for the database and applied migrations;
	// default: discard.
	Logger *slog.Logger
	// PoolConfigFunc, when set, adjusts the pool configuration last (a query
	// tracer, an AfterConnect hook).
	PoolConfigFunc func(*pgxpool.Config)
}

// Store is the PostgreSQL engine.
type Store struct {
	pool   *pgxpool.Pool
	db     *sql.DB
	logger *slog.Logger
	queries
}

var _ store.Store = (*Store)(nil)

// Open connects (waiting for the database up to StartupTimeout) and applies
// migrations.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.URL == "" {
		return nil, errors.New("postgres: no database URL")
	}
	cfg, err := pgxpool.ParseConfig(opts.URL)
	if err != nil {
		// pgconn's parse errors already hide the password.
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if opts.MinConns > 0 {
		cfg.MinConns = opts.MinConns
	}
	if cfg.MinConns > cfg.MaxConns {
		return nil, fmt.Errorf("postgres: min conns %d is above max conns %d", cfg.MinConns, cfg.MaxConns)
	}
	if opts.MaxConnLifetime > 0 {
		cfg.MaxConnLifetime = opts.MaxConnLifetime
	}
	if opts.MaxConnIdleTime > 0 {
		cfg.MaxConnIdleTime = opts.MaxConnIdleTime
	}
	if opts.PoolConfigFunc != nil {
		opts.PoolConfigFunc(cfg)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	startupTimeout := opts.StartupTimeout
	if startupTimeout == 0 {
		startupTimeout = DefaultStartupTimeout
	}

	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := waitForDatabase(ctx, pool, address(cfg.ConnConfig), startupTimeout, logger); err != nil {
		pool.Close()
		return nil, err
	}
	s := &Store{pool: pool, db: stdlib.OpenDBFromPool(pool), logger: logger, queries: queries{db: pool}}
	if !opts.SkipMigrate {
		if err := s.Migrate(ctx); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// address names the server for error messages: host:port, never the user or
// password. A Unix socket directory is shown as is.
func address(cfg *pgx.ConnConfig) string {
	return net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
}

// waitForDatabase pings until the server answers or the timeout passes.
// Errors that waiting cannot fix (bad password, unknown database) end the
// wait at once.
func waitForDatabase(ctx context.Context, pool *pgxpool.Pool, addr string, timeout time.Duration, logger *slog.Logger) error {
	start := time.Now()
	deadline := start.Add(timeout)
	delay := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		// Bound each attempt by what is left of the wait (at least 5 s):
		// a dial to a filtered port would otherwise hang for pgxpool's
		// 2-minute connect timeout.
		attemptTimeout := max(time.Until(deadline), 5*time.Second)
		attemptCtx, cancel := context.WithTimeout(ctx, attemptTimeout)
		err := pool.Ping(attemptCtx)
		cancel()
		if err == nil {
			if attempt > 1 {
				logger.Info("PostgreSQL is up", "address", addr, "waited", time.Since(start).Round(time.Millisecond))
			}
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("postgres: gave up waiting for the database at %s: %w", addr, ctx.Err())
		}
		if permanent(err) {
			return oneLine{fmt.Errorf("postgres: database at %s refused the connection: %w", addr, err)}
		}
		remaining := time.Until(deadline)
		if timeout < 0 || remaining <= 0 {
			return oneLine{fmt.Errorf("postgres: could not reach the database at %s (waited %s): %w",
				addr, time.Since(start).Round(100*time.Millisecond), err)}
		}
		// One line says what is going on; repeating it every attempt (18
		// times in 30 s) would bury the line that says how it ended.
		if attempt == 1 {
			logger.Warn("waiting for PostgreSQL", "address", addr, "for", timeout.String(), "error", oneLine{err}.Error())
		} else {
			logger.Debug("still waiting for PostgreSQL", "address", addr, "attempt", attempt, "error", oneLine{err}.Error())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("postgres: gave up waiting for the database at %s: %w", addr, ctx.Err())
		case <-time.After(min(delay, remaining)):
		}
		delay = min(delay*2, 2*time.Second)
	}
}

// oneLine shows an error on one line: pgconn joins the failures of several
// addresses (localhost's IPv4 and IPv6) with newlines, and a start-up
// failure is read as a single line on a terminal or in a log.
type oneLine struct{ err error }

func (e oneLine) Error() string { return strings.Join(strings.Fields(e.err.Error()), " ") }
func (e oneLine) Unwrap() error { return e.err }

// permanent reports server answers that retrying will not change.
func permanent(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	switch pgErr.Code {
	case "28000", "28P01": // invalid authorization, invalid password
		return true
	case "3D000": // database does not exist
		return true
	}
	return false
}

// Migrate applies the embedded goose migrations under a session advisory
// lock, so that replicas starting together do not race: the first applies
// them, the others wait and then find nothing to do.
func (s *Store) Migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	// Poll the lock every second for up to 5 minutes (goose's default polls
	// every 5 seconds, which slows every replica but the first).
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrateLockID), lock.WithLockTimeout(1, 300))
	if err != nil {
		return fmt.Errorf("postgres: migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, s.db, sub, goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	for _, r := range results {
		s.logger.Info("applied migration", "version", r.Source.Version, "file", r.Source.Path, "took", r.Duration.Round(time.Millisecond).String())
	}
	return nil
}

// Ping checks the database answers (readiness).
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// Close closes the database/sql view and the pool.
func (s *Store) Close() error {
	err := s.db.Close()
	s.pool.Close()
	return err
}

// Pool returns the connection pool, for components that keep their own
// tables in the same database (River's pgx driver).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// DB returns a database/sql handle over the same pool, for libraries that
// need one (goose).
func (s *Store) DB() *sql.DB { return s.db }

// InTx runs fn in one READ COMMITTED transaction. That is PostgreSQL's
// default and enough here: what must not race is guarded by constraints (one
// active run per connection, unique names) or by explicit locks (see the
// package doc), not by SERIALIZABLE, whose failures would need every caller
// to retry whole transactions, HTTP calls to vendors included.
func (s *Store) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	pgTx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	// Rolls back if fn panics; a no-op after Commit.
	defer pgTx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	if err := fn(&tx{queries: queries{db: pgTx, inTx: true}}); err != nil {
		return err
	}
	if err := pgTx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	return nil
}

// uniqueViolation reports a unique constraint violation (SQLSTATE 23505).
func uniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}
