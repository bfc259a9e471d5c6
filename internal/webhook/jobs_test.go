package webhook_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/riverqueue/river"

	"github.com/registrarhq/registrar/internal/jobs"
	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/webhook"
)

// inserted records what a dispatcher queues.
type inserted struct{ args []river.JobArgs }

func (i *inserted) Insert(_ context.Context, args river.JobArgs, _ *river.InsertOpts) error {
	i.args = append(i.args, args)
	return nil
}

func TestDispatchQueuesOneJobPerDueEndpoint(t *testing.T) {
	t.Parallel()
	b := setup(t)
	secret := webhook.NewSecret()
	r := newReceiver(t, secret, b.clock)
	busy := b.hook(t, r.srv.URL, secret)
	b.hook(t, r.srv.URL, secret, "sync.failed") // nothing matches: not due
	b.apply(t, rec("e1", lms.StatusEnrolled, 0))

	var ins inserted
	w := &webhook.DispatchWorker{Deliverer: b.d, Jobs: &ins}
	if err := w.Work(b.ctx, &river.Job[webhook.DispatchArgs]{}); err != nil {
		t.Fatal(err)
	}
	if len(ins.args) != 1 || ins.args[0].(webhook.DeliverArgs).WebhookID != busy {
		t.Fatalf("queued %+v, want one delivery to %s", ins.args, busy)
	}
}

// TestDeliverJobsAreUniquePerEndpoint: on River's SQLite driver, queueing
// a delivery to an endpoint that already has one waiting adds nothing, so
// two workers never deliver to one endpoint at once.
func TestDeliverJobsAreUniquePerEndpoint(t *testing.T) {
	t.Parallel()
	b := setup(t)
	q, err := jobs.Open(b.ctx, jobs.Config{Store: b.store})
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range []river.JobArgs{
		webhook.DeliverArgs{WebhookID: "whk_a"}, webhook.DeliverArgs{WebhookID: "whk_a"},
		webhook.DeliverArgs{WebhookID: "whk_b"}, webhook.DispatchArgs{}, webhook.DispatchArgs{},
	} {
		if err := q.Insert(b.ctx, args, nil); err != nil {
			t.Fatal(err)
		}
	}
	db := b.store.(interface{ DB() *sql.DB }).DB()
	for kind, want := range map[string]int{"webhook_deliver": 2, "webhook_dispatch": 1} {
		var n int
		if err := db.QueryRowContext(b.ctx, `SELECT count(*) FROM river_job WHERE kind = ?`, kind).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("%d %s jobs queued, want %d", n, kind, want)
		}
	}
}
