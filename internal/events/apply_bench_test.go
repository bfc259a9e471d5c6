package events_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/events"
	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/store"
)

// BenchmarkApplyPageUnchangedPrehashed is BenchmarkApplyPageUnchanged with
// the hashes computed before the transaction, as the syncer's fetcher does:
// what is left is the time a re-sync page holds the single writer. It also
// checks that the given hashes are the ones Apply would compute (no write).
func BenchmarkApplyPageUnchangedPrehashed(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b, "con_1")
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

// BenchmarkApplyFirstSyncBatch measures what a first sync costs the single
// writer: batches of 4,000 new records (the syncer's batch size), hashed and
// encoded beforehand as the syncer's preparer does, into a database that
// grows batch by batch. Run it with -benchtime=25x to store 100,000 records
// as `registrar bench` does; the figure to watch is us/record.
func BenchmarkApplyFirstSyncBatch(b *testing.B) {
	const batch = 4000
	ctx := context.Background()
	const cid = "con_06fmz3b0qk9x2c7h4r8tvnyw1e"
	s := benchStore(b, cid)
	remote := `{"id":"%d","course_id":"%d","course_section_id":"12","root_account_id":"1","user_id":"%d","associated_user_id":null,` +
		`"limit_privileges_to_course_section":false,"type":"StudentEnrollment","role":"StudentEnrollment","role_id":"3",` +
		`"created_at":"2026-01-05T09:00:00Z","updated_at":"2026-02-01T10:30:00Z","start_at":null,"end_at":null,` +
		`"html_url":"https://canvas.example.edu/courses/%d/users/%d","user":{"id":"%d","name":"Zoë Müller","sortable_name":"Müller, Zoë","short_name":"Zoë"},` +
		`"enrollment_state":"active","last_activity_at":"2026-02-01T10:29:00+02:00","total_activity_time":3725.6,` +
		`"grades":{"html_url":"https://canvas.example.edu/courses/%d/grades/%d","current_score":88.5,"current_grade":"B+","final_score":40.1,"final_grade":"F"}}`
	n := 0
	var elapsed time.Duration
	for b.Loop() {
		b.StopTimer()
		page := make([]lms.CourseEnrollment, batch)
		hashes := make([]string, batch)
		encoded := make([][]byte, batch)
		for i := range page {
			r := benchRecord(n)
			r.ID = fmt.Sprint(100000 + n)
			r.DueAt = nil
			user, course := n%20000, n%500
			r.RemoteData = []byte(fmt.Sprintf(remote, 100000+n, course, user, course, user, user, course, user))
			page[i] = r
			hashes[i] = events.Hash(r)
			var err error
			if encoded[i], err = s.EnrollmentEncode(r); err != nil {
				b.Fatal(err)
			}
			n++
		}
		b.StartTimer()
		start := time.Now()
		err := s.InTx(ctx, func(tx store.Tx) error {
			_, err := events.Apply(ctx, tx, events.ApplyParams{ConnectionID: cid, RunID: "run_1", Records: page,
				Hashes: hashes, Encoded: encoded, Now: t0, Source: "sync"})
			return err
		})
		elapsed += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(elapsed.Microseconds())/float64(n), "us/record")
}
