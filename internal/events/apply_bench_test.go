package events_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/events"
	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/store"
	"github.com/registrarhq/registrar/internal/store/sqlite"
)

// BenchmarkApplyPageUnchangedPrehashed is BenchmarkApplyPageUnchanged with
// the hashes computed before the transaction, as the syncer's fetcher does:
// what is left is the time a re-sync page holds the single writer. It also
// checks that the given hashes are the ones Apply would compute (no write).
func BenchmarkApplyPageUnchangedPrehashed(b *testing.B) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(b.TempDir(), "r.db")})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c := &store.Connection{ID: "con_1", Provider: "canvas", Name: "a", Settings: map[string]string{}, SyncInterval: time.Minute, CreatedAt: t0, UpdatedAt: t0}
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.ConnectionCreate(ctx, c) }); err != nil {
		b.Fatal(err)
	}
	page := make([]lms.CourseEnrollment, 100)
	hashes := make([]string, len(page))
	for i := range page {
		page[i] = benchRecord(i)
		hashes[i] = events.Hash(page[i])
	}
	apply := func(run string, hashes []string) events.Counts {
		var counts events.Counts
		err := s.InTx(ctx, func(tx store.Tx) error {
			var err error
			counts, err = events.Apply(ctx, tx, events.ApplyParams{ConnectionID: "con_1", RunID: run, Records: page, Hashes: hashes,
				Now: t0, Source: "sync"})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		return counts
	}
	apply("run_0", nil) // stored with the hashes Apply computes itself
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if n := apply(fmt.Sprintf("run_%d", i), hashes); n.Unchanged != int64(len(page)) {
			b.Fatalf("given hashes differ from Apply's own: %+v", n)
		}
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "records/s")
}
