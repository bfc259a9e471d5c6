package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// writeStmts are the writer's multi-row INSERTs of a full chunk (upsertBatch
// rows, or eventBatch events), prepared once when the store opens. A sync
// stores tens of such chunks per transaction, and parsing and planning a
// 3,000-parameter INSERT each time cost ~6% of the single writer's time.
//
// They are prepared on the writer pool before any transaction can hold its
// one connection; a transaction binds them with Tx.StmtContext, which reuses
// the statement already prepared on that connection (and prepares it again
// on the transaction's own connection should the pool ever have replaced
// it). Preparing inside a transaction would wait for the connection the
// transaction itself holds.
type writeStmts struct {
	insertNew   *sql.Stmt // EnrollmentInsertNew, upsertBatch rows
	upsert      *sql.Stmt // EnrollmentUpsertMany, upsertBatch rows
	eventAppend *sql.Stmt // EventAppend, eventBatch events
}

func prepareWriteStmts(ctx context.Context, db *sql.DB) (*writeStmts, error) {
	w := &writeStmts{}
	for _, p := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&w.insertNew, enrollmentInsertNewQuery(upsertBatch)},
		{&w.upsert, enrollmentUpsertQuery(upsertBatch)},
		{&w.eventAppend, eventAppendQuery(eventBatch)},
	} {
		st, err := db.PrepareContext(ctx, p.query)
		if err != nil {
			_ = w.close()
			return nil, fmt.Errorf("sqlite: prepare: %w", err)
		}
		*p.dst = st
	}
	return w, nil
}

func (w *writeStmts) close() error {
	var errs []error
	for _, st := range []*sql.Stmt{w.insertNew, w.upsert, w.eventAppend} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
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
