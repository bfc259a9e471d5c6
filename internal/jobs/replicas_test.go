package jobs_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/registrarhq/registrar/internal/jobs"
	"github.com/registrarhq/registrar/internal/store/postgres"
)

// TestPostgresReplicasMigrateTogether: replicas starting at once on an
// empty database all open the queue (River's migrations run once, under
// the lock, instead of racing to create its tables).
func TestPostgresReplicasMigrateTogether(t *testing.T) {
	t.Parallel()
	st := openPostgres(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			_, err := jobs.Open(context.Background(), jobs.Config{Store: st})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func openPostgres(t *testing.T) *postgres.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), postgres.Options{URL: postgres.TestDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

type idleSyncs struct{}

func (idleSyncs) Run(context.Context, string) error     { return nil }
func (idleSyncs) Schedule(context.Context) (int, error) { return 0, nil }

type longArgs struct{}

func (longArgs) Kind() string { return "test_long" }

// InsertOpts: a queue of one worker, so a replica whose worker is busy
// fetches nothing more, as a dead one would not.
func (longArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: "long"} }

// longWorker reports each start on started, then works until ctx ends.
type longWorker struct {
	river.WorkerDefaults[longArgs]
	name    string
	started chan<- string
}

func (w *longWorker) Work(ctx context.Context, _ *river.Job[longArgs]) error {
	w.started <- w.name
	<-ctx.Done()
	return ctx.Err()
}

func (w *longWorker) Timeout(*river.Job[longArgs]) time.Duration { return -1 }

// TestPostgresDeadReplicaJobsTakenOver: a job running on a live replica
// stays with it however long it runs; once that replica's session ends (its
// process died), another replica takes the job over within ReapEvery,
// rather than River's rescuer an hour later.
func TestPostgresDeadReplicaJobsTakenOver(t *testing.T) {
	t.Parallel()
	st := openPostgres(t)
	ctx := context.Background()
	started := make(chan string, 4)
	replica := func(name string) (*jobs.Jobs, *postgres.Session) {
		s, err := st.OpenSession(ctx, postgres.SessionOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		q, err := jobs.Open(ctx, jobs.Config{Store: st, Replicas: s, ReapEvery: 100 * time.Millisecond, PollEvery: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		err = q.Start(ctx, jobs.Work{Sync: idleSyncs{}, ScheduleEvery: time.Hour, Queues: map[string]river.QueueConfig{"long": {MaxWorkers: 1}}, Workers: []func(*river.Workers){
			func(w *river.Workers) { river.AddWorker(w, &longWorker{name: name, started: started}) },
		}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = q.Stop(context.Background()) })
		return q, s
	}
	a, sessionA := replica("a")
	if err := a.Insert(ctx, longArgs{}, nil); err != nil {
		t.Fatal(err)
	}
	if got := <-started; got != "a" {
		t.Fatalf("started on %s", got)
	}
	replica("b")
	select {
	case got := <-started:
		t.Fatalf("a live replica's job was started again, on %s", got)
	case <-time.After(time.Second):
	}
	// a's process "dies": its session ends, while its worker still looks busy.
	sessionA.Close()
	select {
	case got := <-started:
		if got != "b" {
			t.Fatalf("taken over by %s", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the dead replica's job was not taken over")
	}
}
