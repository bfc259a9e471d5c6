package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStmts bounds the statement cache: the enrollment list has a few
// dozen filter shapes in practice (plus the API's per-request key and
// connection lookups); shapes past the bound run unprepared.
const maxCachedStmts = 64

// stmtCache keeps prepared statements of the reader pool by SQL text, so that
// a query SQLite has parsed once is not parsed again on every request
// (sqlite3_prepare_v2 was ~15% of a list request). database/sql prepares a
// cached statement again on each reader connection it runs on, once. The
// cache is closed with the store.
type stmtCache struct {
	db     *sql.DB
	mu     sync.RWMutex
	stmts  map[string]*sql.Stmt
	closed bool
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, stmts: map[string]*sql.Stmt{}}
}

// query runs query with args through its cached statement, preparing it the
// first time; once the cache is full (or closed) it runs the query
// unprepared.
func (c *stmtCache) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return c.db.QueryContext(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}

// queryRow is query for one row.
func (c *stmtCache) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := c.stmt(ctx, query)
	if err != nil || st == nil {
		return c.db.QueryRowContext(ctx, query, args...) // the error, if any, shows again
	}
	return st.QueryRowContext(ctx, args...)
}

// stmt returns the cached statement of query, prepared the first time, or
// nil if the cache is full or closed.
func (c *stmtCache) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.RLock()
	st, full := c.stmts[query], c.closed || len(c.stmts) >= maxCachedStmts
	c.mu.RUnlock()
	if st != nil || full {
		return st, nil
	}
	return c.prepare(ctx, query)
}

func (c *stmtCache) prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev := c.stmts[query]; prev != nil {
		st.Close() // another request prepared it meanwhile
		return prev, nil
	}
	if c.closed || len(c.stmts) >= maxCachedStmts {
		st.Close()
		return nil, nil
	}
	c.stmts[query] = st
	return st, nil
}

// close closes every cached statement; later queries run unprepared.
func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	var first error
	for q, st := range c.stmts {
		if err := st.Close(); err != nil && first == nil {
			first = err
		}
		delete(c.stmts, q)
	}
	return first
}
