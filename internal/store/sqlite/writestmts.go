package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// The writer's multi-row INSERTs are prepared once, when the store opens,
// for a fixed set of row counts; a write of n rows runs as chunks of those
// sizes, largest first (n = 100: one chunk; 437: 200, 200, 20, 10, 5, 1, 1).
// A sync stores one page per Apply (100 records for Canvas, 500 for Absorb),
// and parsing and planning a fresh 1,500-parameter INSERT for each page cost
// ~6% of the single writer's time.
//
// The statements are prepared on the writer pool before any transaction can
// hold its one connection; a transaction binds them with Tx.StmtContext,
// which reuses the statement already prepared on that connection (and
// prepares it again on the transaction's own connection should the pool ever
// have replaced it). Preparing through the pool inside a transaction would
// wait for the connection the transaction itself holds.
//
// The largest chunk bounds a statement's parameters (SQLite allows 32,766;
// a row of enrollments has 15).
var chunkSizes = [...]int{200, 100, 50, 20, 10, 5, 1}

// writeKind is one of the writer's multi-row INSERTs.
type writeKind int

const (
	writeInsertNew   writeKind = iota // Tx.EnrollmentInsertNew
	writeUpsert                       // Tx.EnrollmentUpsertMany
	writeEventAppend                  // Tx.EventAppend
	writeKinds
)

func (k writeKind) query(n int) string {
	switch k {
	case writeInsertNew:
		return enrollmentInsertNewQuery(n)
	case writeUpsert:
		return enrollmentUpsertQuery(n)
	default:
		return eventAppendQuery(n)
	}
}

// writeStmts holds the prepared statement of each kind for each chunk size
// (same index as chunkSizes).
type writeStmts [writeKinds][len(chunkSizes)]*sql.Stmt

func prepareWriteStmts(ctx context.Context, db *sql.DB) (*writeStmts, error) {
	w := &writeStmts{}
	for k := range writeKinds {
		for i, n := range chunkSizes {
			st, err := db.PrepareContext(ctx, k.query(n))
			if err != nil {
				_ = w.close()
				return nil, fmt.Errorf("sqlite: prepare: %w", err)
			}
			w[k][i] = st
		}
	}
	return w, nil
}

func (w *writeStmts) close() error {
	var errs []error
	for k := range w {
		for _, st := range w[k] {
			if st != nil {
				errs = append(errs, st.Close())
			}
		}
	}
	return errors.Join(errs...)
}

// nextChunk returns the size of the next chunk of a write with remaining
// rows left, and its index in chunkSizes.
func nextChunk(remaining int) (n, index int) {
	for i, size := range chunkSizes {
		if size <= remaining {
			return size, i
		}
	}
	return 0, -1 // remaining <= 0
}

// forChunks calls fn for each chunk of a write of total rows, in order: the
// chunk's first row, its size and its index in chunkSizes.
func forChunks(total int, fn func(start, n, index int) error) error {
	for start := 0; start < total; {
		n, index := nextChunk(total - start)
		if err := fn(start, n, index); err != nil {
			return err
		}
		start += n
	}
	return nil
}

// stmt returns the prepared statement of kind for chunk index, bound to t.
func (t *tx) stmt(ctx context.Context, kind writeKind, index int) *sql.Stmt {
	return t.sqlTx.StmtContext(ctx, t.ws[kind][index])
}

// valuesList is n comma-separated copies of one row's placeholder group.
func valuesList(n int, group string) string {
	var sb strings.Builder
	sb.Grow(n * (len(group) + 1))
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(group)
	}
	return sb.String()
}
