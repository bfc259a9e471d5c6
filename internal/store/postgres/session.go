package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Session is one dedicated connection (outside the pool) on which this
// process holds PostgreSQL session-level advisory locks. PostgreSQL releases
// them when the connection ends, and the connection ends when the process
// dies, however it dies: a killed process's socket is closed by the kernel
// at once, and a host that vanished is detected by the TCP keepalives and
// user timeout this session sets (about 30 s). So a lock held here proves a
// live owner to every replica on the database, which heartbeats compared
// across hosts' clocks cannot do without waiting.
//
// It serves two owners: the sync engine's Locker (TryLock, a lock per
// connection held for the run's duration) and the job queue's replica
// liveness (Hold for the process's life, Held to ask about another replica).
//
// A session whose connection fails is lost for good (Done is closed): its
// locks are gone and others may already have taken over its work, so the
// process must stop working rather than carry on unprotected.
type Session struct {
	pool interface {
		Begin(ctx context.Context) (pgx.Tx, error)
	}
	logger *slog.Logger

	mu   sync.Mutex
	conn *pgx.Conn
	held map[int64]bool // keys locked by this process, to refuse re-entry
	err  error          // why the session was lost

	done      chan struct{}
	closeOnce sync.Once
	stopOnce  sync.Once
	stopPing  chan struct{}
	pingWG    sync.WaitGroup
}

// SessionOptions tunes a Session; zero values take the defaults.
type SessionOptions struct {
	// PingEvery is how often the connection is checked; default 5 s.
	PingEvery time.Duration
	Logger    *slog.Logger
}

// sessionTimeout bounds each statement on the session's connection.
const sessionTimeout = 10 * time.Second

// OpenSession opens a dedicated connection with the pool's settings. Its
// keepalive settings make the server notice a vanished client within about
// 30 s (they have no effect over a Unix socket, where the kernel notices).
func (s *Store) OpenSession(ctx context.Context, opts SessionOptions) (*Session, error) {
	cfg := s.pool.Config().ConnConfig.Copy()
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["tcp_keepalives_idle"] = "10"
	cfg.RuntimeParams["tcp_keepalives_interval"] = "5"
	cfg.RuntimeParams["tcp_keepalives_count"] = "3"
	cfg.RuntimeParams["application_name"] = "registrar-session"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open the lock session: %w", err)
	}
	// Unacknowledged data also ends the connection after 30 s. PostgreSQL
	// before 12 lacks the setting; keepalives alone then do the job.
	_, _ = conn.Exec(ctx, "SET tcp_user_timeout = 30000")
	ss := &Session{pool: s.pool, logger: opts.Logger, conn: conn, held: map[int64]bool{},
		done: make(chan struct{}), stopPing: make(chan struct{})}
	if ss.logger == nil {
		ss.logger = s.logger
	}
	every := opts.PingEvery
	if every <= 0 {
		every = 5 * time.Second
	}
	ss.pingWG.Add(1)
	go ss.ping(every)
	return ss, nil
}

// lockKey maps a name to an advisory lock key (the one-key form). A 64-bit
// hash makes a clash with another name, or with the engine's fixed keys,
// negligible.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("registrar/lock/" + name))
	return int64(h.Sum64())
}

// ping checks the connection until Close; a failure loses the session.
func (ss *Session) ping(every time.Duration) {
	defer ss.pingWG.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ss.stopPing:
			return
		case <-t.C:
		}
		ss.mu.Lock()
		if ss.conn != nil {
			ctx, cancel := context.WithTimeout(context.Background(), sessionTimeout)
			if err := ss.conn.Ping(ctx); err != nil {
				ss.loseLocked(err)
			}
			cancel()
		}
		ss.mu.Unlock()
	}
}

// loseLocked ends the session after a connection failure. ss.mu is held.
func (ss *Session) loseLocked(err error) {
	if ss.conn == nil {
		return
	}
	ss.logger.Error("lost the PostgreSQL session holding this process's locks", "err", err)
	ss.err = fmt.Errorf("postgres: the lock session was lost: %w", err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	_ = ss.conn.Close(ctx)
	cancel()
	ss.conn = nil
	ss.held = map[int64]bool{}
	ss.closeOnce.Do(func() { close(ss.done) })
}

// Done is closed when the session is lost (or closed).
func (ss *Session) Done() <-chan struct{} { return ss.done }

// Err says why the session was lost; nil while it holds.
func (ss *Session) Err() error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.err
}

// tryLock takes key on the session unless this process or another holds it.
func (ss *Session) tryLock(key int64) (bool, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.conn == nil {
		return false, cmpErr(ss.err)
	}
	if ss.held[key] {
		// Session locks are re-entrant within a session: without this, a
		// second job for a run this process works would "take" it again.
		return false, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), sessionTimeout)
	defer cancel()
	var ok bool
	if err := ss.conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&ok); err != nil {
		ss.loseLocked(err)
		return false, ss.err
	}
	if ok {
		ss.held[key] = true
	}
	return ok, nil
}

func cmpErr(err error) error {
	if err == nil {
		return errors.New("postgres: the lock session is closed")
	}
	return err
}

func (ss *Session) unlock(key int64) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.conn == nil || !ss.held[key] {
		return
	}
	delete(ss.held, key)
	ctx, cancel := context.WithTimeout(context.Background(), sessionTimeout)
	defer cancel()
	if _, err := ss.conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", key); err != nil {
		// A lock that cannot be released must not look released: only the
		// connection's end releases it now, so end the session.
		ss.loseLocked(err)
	}
}

// TryLock takes the lock named key for this process until unlock is called
// or the process dies (syncer.Locker). ok is false when any process holds
// it, this one included.
func (ss *Session) TryLock(key string) (unlock func(), ok bool, err error) {
	k := lockKey("sync/" + key)
	ok, err = ss.tryLock(k)
	if err != nil || !ok {
		return nil, false, err
	}
	var once sync.Once
	return func() { once.Do(func() { ss.unlock(k) }) }, true, nil
}

// Hold takes the lock named name for the session's life: the proof that
// this process (a replica) is alive. It fails if any session holds it.
func (ss *Session) Hold(name string) error {
	ok, err := ss.tryLock(lockKey("hold/" + name))
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("postgres: %q is held by another live session", name)
	}
	return nil
}

// Held reports whether a live session holds name (taken with Hold). It
// asks from a pool connection, so the answer is about other sessions too.
func (ss *Session) Held(ctx context.Context, name string) (bool, error) {
	tx, err := ss.pool.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	var free bool
	// A transaction-level try-lock conflicts with a session lock on the same
	// key and is released by the rollback: taking it means nobody holds it.
	if err := tx.QueryRow(ctx, "SELECT pg_try_advisory_xact_lock($1)", lockKey("hold/"+name)).Scan(&free); err != nil {
		return false, err
	}
	return !free, nil
}

// Close releases every lock (by ending the connection).
func (ss *Session) Close() error {
	ss.closeOnce.Do(func() { close(ss.done) })
	ss.stopOnce.Do(func() { close(ss.stopPing) })
	ss.pingWG.Wait()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.conn == nil {
		return nil
	}
	if ss.err == nil {
		ss.err = errors.New("postgres: the lock session is closed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := ss.conn.Close(ctx)
	ss.conn = nil
	ss.held = map[int64]bool{}
	return err
}
