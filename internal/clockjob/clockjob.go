// Package clockjob raises the events that time alone causes: an enrollment
// becomes overdue when its due date passes unfinished, and expired when its
// expiry passes. Nothing in the LMS changes at that moment, so no sync would
// notice; a periodic River job (every minute) asks the store for records
// whose date passed and whose event was not raised yet, and in one
// transaction appends the event and marks the record, so each is raised
// once per record (once per date: moving the date clears the mark).
package clockjob

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/registrarhq/registrar/internal/events"
	"github.com/registrarhq/registrar/internal/store"
)

// Defaults of Config.
const (
	DefaultEvery     = time.Minute
	DefaultBatchSize = 500
)

// Config configures a Job.
type Config struct {
	Store store.Store
	// Now is the clock the dates are compared with.
	Now func() time.Time
	// BatchSize is how many records one transaction handles.
	BatchSize int
}

// Job raises overdue and expired events.
type Job struct{ cfg Config }

// New returns a Job.
func New(cfg Config) *Job {
	if cfg.Store == nil {
		panic("clockjob: Config.Store is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.BatchSize = cmp.Or(cfg.BatchSize, DefaultBatchSize)
	return &Job{cfg: cfg}
}

// Run raises every due event and returns how many it raised.
func (j *Job) Run(ctx context.Context) (int, error) {
	now := j.cfg.Now().UTC()
	total := 0
	for {
		n := 0
		// The due records are read inside the write transaction, so two
		// runs at once (two replicas) cannot both raise one record's event.
		err := j.cfg.Store.InTx(ctx, func(tx store.Tx) error {
			due, err := tx.EnrollmentDateEventsDue(ctx, store.DateEventsDueParams{Now: now, Limit: j.cfg.BatchSize})
			if err != nil {
				return err
			}
			evts := make([]store.Event, 0, len(due))
			for _, d := range due {
				r := d.Enrollment.Record
				evts = append(evts, events.DateEvent(d.Type, r, now))
				if err := tx.EnrollmentMarkDateEvent(ctx, r.ConnectionID, r.ID, d.Type, now); err != nil {
					return err
				}
			}
			n = len(due)
			return tx.EventAppend(ctx, evts)
		})
		if err != nil {
			return total, fmt.Errorf("error raising date events: %w", err)
		}
		total += n
		// The store returns up to BatchSize per kind (overdue, expired):
		// fewer than one batch in all means both kinds are drained.
		if n < j.cfg.BatchSize {
			return total, nil
		}
	}
}

// Args is the periodic job's args.
type Args struct{}

// Kind names the job kind.
func (Args) Kind() string { return "clock_events" }

// InsertOpts: one attempt; the next minute tries again anyway.
func (Args) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 1} }

// Worker works Args.
type Worker struct {
	river.WorkerDefaults[Args]
	Job *Job
}

// Work raises the due events.
func (w *Worker) Work(ctx context.Context, _ *river.Job[Args]) error {
	_, err := w.Job.Run(ctx)
	return err
}

// PeriodicJob runs the job every interval (DefaultEvery when zero) and
// once at start, so events due while Registrar was down come at once.
func PeriodicJob(every time.Duration) *river.PeriodicJob {
	if every <= 0 {
		every = DefaultEvery
	}
	return river.NewPeriodicJob(river.PeriodicInterval(every),
		func() (river.JobArgs, *river.InsertOpts) { return Args{}, nil },
		&river.PeriodicJobOpts{ID: "clock_events", RunOnStart: true})
}
