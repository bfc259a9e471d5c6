package webhook

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// DefaultDispatchEvery is how often endpoints are checked for due events.
const DefaultDispatchEvery = 2 * time.Second

// deliverTimeout bounds one delivery job: MaxPerRun attempts that each
// answer in time, not MaxPerRun timeouts (a timeout stops the run).
const deliverTimeout = 10 * time.Minute

// Inserter inserts River jobs (jobs.Jobs does).
type Inserter interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error
}

// uniqueWhileActive makes a job unique per args while it waits or runs, but
// not once it completed, so the next one can be queued.
func uniqueWhileActive() *river.UniqueOpts {
	return &river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
		rivertype.JobStateRetryable, rivertype.JobStateScheduled,
	}}
}

// DispatchArgs is the periodic job that finds endpoints with due events.
type DispatchArgs struct{}

// Kind names the job kind.
func (DispatchArgs) Kind() string { return "webhook_dispatch" }

// InsertOpts: one attempt (the next period tries again), and one at a time
// so that kicks coalesce.
func (DispatchArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1, UniqueOpts: *uniqueWhileActive()}
}

// DeliverArgs is the job that delivers the due events of one endpoint.
type DeliverArgs struct {
	WebhookID string `json:"webhook_id"`
}

// Kind names the job kind.
func (DeliverArgs) Kind() string { return "webhook_deliver" }

// InsertOpts makes the job unique per endpoint while queued or running:
// two workers on one endpoint would break its order. A failed job (the
// store failed; an endpoint's failure is a recorded attempt, not a job
// error) is retried a few times, then the dispatcher queues a new one.
func (DeliverArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 3, UniqueOpts: *uniqueWhileActive()}
}

// DispatchWorker works DispatchArgs.
type DispatchWorker struct {
	river.WorkerDefaults[DispatchArgs]
	Deliverer *Deliverer
	Jobs      Inserter
}

// Work queues a delivery job per endpoint with due events.
func (w *DispatchWorker) Work(ctx context.Context, _ *river.Job[DispatchArgs]) error {
	ids, err := w.Deliverer.Due(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := w.Jobs.Insert(ctx, DeliverArgs{WebhookID: id}, nil); err != nil {
			return fmt.Errorf("error queueing delivery to webhook %s: %w", id, err)
		}
	}
	return nil
}

// DeliverWorker works DeliverArgs.
type DeliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	Deliverer *Deliverer
}

// Work delivers the endpoint's due events.
func (w *DeliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	_, err := w.Deliverer.Deliver(ctx, job.Args.WebhookID)
	return err
}

// Timeout overrides River's one-minute default: a run may send up to
// MaxPerRun events.
func (w *DeliverWorker) Timeout(*river.Job[DeliverArgs]) time.Duration { return deliverTimeout }

// Register adds the dispatch and delivery workers.
func Register(workers *river.Workers, d *Deliverer, jobs Inserter) {
	river.AddWorker(workers, &DispatchWorker{Deliverer: d, Jobs: jobs})
	river.AddWorker(workers, &DeliverWorker{Deliverer: d})
}

// PeriodicJob runs the dispatcher every interval (DefaultDispatchEvery
// when zero) and once at start.
func PeriodicJob(every time.Duration) *river.PeriodicJob {
	if every <= 0 {
		every = DefaultDispatchEvery
	}
	return river.NewPeriodicJob(river.PeriodicInterval(every),
		func() (river.JobArgs, *river.InsertOpts) { return DispatchArgs{}, nil },
		&river.PeriodicJobOpts{ID: "webhook_dispatch", RunOnStart: true})
}

// Kick queues a dispatch now, so events just appended go out without
// waiting for the next period; kicks while one is queued coalesce.
func Kick(ctx context.Context, jobs Inserter) error {
	return jobs.Insert(ctx, DispatchArgs{}, nil)
}
