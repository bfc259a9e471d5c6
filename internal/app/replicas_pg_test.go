package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/app"
	"github.com/registrarhq/registrar/internal/events"
	"github.com/registrarhq/registrar/internal/sim/absorbsim"
	"github.com/registrarhq/registrar/internal/sim/canvassim"
	"github.com/registrarhq/registrar/internal/sim/dcsim"
	"github.com/registrarhq/registrar/internal/sim/simkit"
	"github.com/registrarhq/registrar/internal/store"
	"github.com/registrarhq/registrar/internal/store/postgres"
)

// syncLog is a buffer safe to read while a process writes to it.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// replica is one `registrar serve` process on the shared database.
type replica struct {
	name string
	cmd  *exec.Cmd
	log  *syncLog // stderr: JSON log lines
	out  *syncLog // stdout: the listening line
	done chan struct{}
	api  *server
}

var listeningRE = regexp.MustCompile(`listening on (http://\S+)`)

func startReplica(t *testing.T, bin, name, dbURL, secretKey, key, readKey string) *replica {
	t.Helper()
	r := &replica{name: name, log: &syncLog{}, out: &syncLog{}, done: make(chan struct{})}
	r.cmd = exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--database-url", dbURL, "--log-format", "json",
		"--dead-replica-check-every", "500ms")
	r.cmd.Env = append(os.Environ(), "REGISTRAR_DATA_DIR="+t.TempDir(), "REGISTRAR_SECRET_KEY="+secretKey)
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.log
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		_ = r.cmd.Process.Signal(syscall.SIGKILL)
		<-r.done
		if t.Failed() {
			t.Logf("replica %s log:\n%s", name, r.log.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := listeningRE.FindStringSubmatch(r.out.String()); m != nil {
			r.api = &server{t: t, URL: m[1], Key: key, ReadKey: readKey}
			return r
		}
		select {
		case <-r.done:
			t.Fatalf("replica %s exited at start:\n%s", name, r.log.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica %s did not start:\n%s", name, r.log.String())
		}
	}
}

func (r *replica) kill() {
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.done
}

// execution is one replica's turn at a sync run, from its log.
type execution struct {
	replica   string
	run       string
	start     time.Time
	resumed   bool
	succeeded bool
}

// executions reads a replica's log: every start or resume of a run, and
// whether that turn logged the run's success.
func (r *replica) executions(t *testing.T) []*execution {
	t.Helper()
	var out []*execution
	current := map[string]*execution{}
	sc := bufio.NewScanner(strings.NewReader(r.log.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct {
			Time time.Time `json:"time"`
			Msg  string    `json:"msg"`
			Run  string    `json:"run"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil || line.Run == "" {
			continue
		}
		switch line.Msg {
		case "sync run started", "sync run resuming from its checkpoint":
			e := &execution{replica: r.name, run: line.Run, start: line.Time, resumed: line.Msg != "sync run started"}
			current[line.Run] = e
			out = append(out, e)
		case "sync run succeeded":
			if e := current[line.Run]; e != nil {
				e.succeeded = true
			} else {
				t.Errorf("replica %s: run %s succeeded without a start", r.name, line.Run)
			}
		}
	}
	return out
}

// TestReplicasShareWorkAndSurviveAKill is the acceptance test of replicas:
// two `registrar serve` processes on one PostgreSQL database sync three
// simulated LMSs, with syncs triggered through both; one is SIGKILLed in the
// middle of a sync and a third takes its place, as a supervisor would start
// one. Every run executes once at a time and ends succeeded, the killed
// replica's run resumed from its checkpoint by a live one within seconds;
// the store equals the simulators; the feed is the same through every
// replica; and a webhook receiver got every event, exactly once after
// de-duplication by webhook-id.
func TestReplicasShareWorkAndSurviveAKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs three replicas")
	}
	t.Parallel()
	dbURL := postgres.TestDatabase(t)
	bin := buildBinary(t, t.TempDir())
	ctx := context.Background()
	st, err := postgres.Open(ctx, postgres.Options{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, _, err := app.APIKeyCreate(ctx, st, "test", false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	readKey, _, err := app.APIKeyCreate(ctx, st, "reader", true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// The replicas share one secret key, as they share the credentials.
	const secretKey = "0000000000000000000000000000000000000000000000000000000000000001"

	// Small pages, slow enough that a sync lasts a second or two: there is
	// a "mid-sync" to kill. Few enough records that the webhook receiver,
	// sent events one at a time, catches up within seconds.
	latency := simkit.Faults{Latency: simkit.Duration(25 * time.Millisecond)}
	dc, err := dcsim.New(dcsim.Config{Seed: 31, Enrollments: 800, Faults: latency})
	if err != nil {
		t.Fatal(err)
	}
	cv, err := canvassim.New(canvassim.Config{Seed: 32, Enrollments: 500, Faults: latency})
	if err != nil {
		t.Fatal(err)
	}
	ab, err := absorbsim.New(absorbsim.Config{Seed: 33, Enrollments: 500, Faults: latency})
	if err != nil {
		t.Fatal(err)
	}
	simIDs := map[string]func() []string{}
	bodies := []map[string]any{
		{"provider": "digitalchalk", "name": "dc", "settings": map[string]string{"base_url": startSim(t, dc.Handler()) + "/dc/api/v5", "page_size": "10"},
			"credentials": map[string]string{"token": "dc-sim-token"}},
		{"provider": "canvas", "name": "canvas", "settings": map[string]string{"base_url": startSim(t, cv.Handler()), "account_id": "1", "per_page": "10"},
			"credentials": map[string]string{"token": "canvas-sim-token"}},
		{"provider": "absorb", "name": "absorb", "settings": map[string]string{"base_url": startSim(t, ab.Handler()), "page_size": "10"},
			"credentials": map[string]string{"api_key": absorbsim.DefaultAPIKey, "username": "admin", "password": "absorb-sim-password"}},
	}
	idsOf := []func() []string{dc.EnrollmentIDs, cv.EnrollmentIDs, ab.EnrollmentIDs}

	start := time.Now()
	var a, b *replica
	var wg sync.WaitGroup
	wg.Go(func() { a = startReplica(t, bin, "a", dbURL, secretKey, key, readKey) })
	wg.Go(func() { b = startReplica(t, bin, "b", dbURL, secretKey, key, readKey) })
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("two replicas up after %s", time.Since(start).Round(time.Millisecond))

	receiver := newHookReceiver(t)
	createHook(t, a.api, receiver, map[string]any{"from": "start"})

	// Connections are created through either replica; each starts its first
	// sync. Syncs are then asked for through both: each connection has one
	// run, whoever asks.
	var cids []string
	for i, body := range bodies {
		via := []*replica{a, b}[i%2]
		res := via.api.do("POST", "/v1/connections", key, body)
		if res.Status != 201 {
			t.Fatalf("create %s via %s: %d %s", body["name"], via.name, res.Status, res.Body)
		}
		cid := res.JSON(t)["id"].(string)
		cids = append(cids, cid)
		simIDs[cid] = idsOf[i]
	}
	runOf := map[string]string{}
	for _, cid := range cids {
		for _, via := range []*replica{a, b} {
			res := via.api.do("POST", "/v1/connections/"+cid+"/sync", key, nil)
			if res.Status != 202 {
				t.Fatalf("POST sync via %s: %d %s", via.name, res.Status, res.Body)
			}
			id := decodeRun(t, res).ID
			if prev, ok := runOf[cid]; ok && prev != id {
				t.Errorf("connection %s: the replicas answered runs %s and %s", cid, prev, id)
			}
			runOf[cid] = id
		}
	}

	// Kill the replica working a run that has committed pages and is far
	// from done.
	var victim, survivor *replica
	var killedAt time.Time
	var orphaned []string // runs the victim was working
	deadline := time.Now().Add(30 * time.Second)
	for victim == nil {
		if time.Now().After(deadline) {
			t.Fatal("no replica was found mid-sync")
		}
		time.Sleep(20 * time.Millisecond)
		for _, r := range []*replica{a, b} {
			for _, e := range r.executions(t) {
				if e.succeeded {
					continue
				}
				run := a.api.getRun(e.run)
				if run.Status == "running" && run.Pages >= 3 {
					victim, survivor = r, map[*replica]*replica{a: b, b: a}[r]
					break
				}
			}
			if victim != nil {
				break
			}
		}
	}
	victim.kill()
	killedAt = time.Now()
	for _, e := range victim.executions(t) {
		if !e.succeeded {
			orphaned = append(orphaned, e.run)
		}
	}
	t.Logf("killed replica %s mid-sync of %v after %s", victim.name, orphaned, time.Since(start).Round(time.Millisecond))
	// A supervisor starts a replacement.
	c := startReplica(t, bin, "c", dbURL, secretKey, key, readKey)

	// Every run ends succeeded; the victim's within seconds of the kill.
	for _, cid := range cids {
		run := survivor.api.pollRun(runOf[cid])
		if run.Status != "succeeded" {
			t.Fatalf("run %s ended %s: %s", run.ID, run.Status, run.Error)
		}
		if want := int64(len(simIDs[cid]())); run.Inserted != want {
			t.Errorf("run %s inserted %d records, the LMS has %d (a page stored twice or lost)", run.ID, run.Inserted, want)
		}
	}
	tookOver := time.Since(killedAt)
	if tookOver > 2*time.Minute {
		t.Errorf("the killed replica's runs took %s to complete elsewhere", tookOver)
	}
	t.Logf("all first runs succeeded %s after the kill", tookOver.Round(time.Millisecond))

	// A second round after changes behind the API's back, asked for
	// through the two live replicas.
	for _, m := range []interface {
		Mutate(int, uint64) (any, error)
	}{dc, cv, ab} {
		if _, err := m.Mutate(15, 7); err != nil {
			t.Fatal(err)
		}
	}
	for i, cid := range cids {
		via := []*replica{survivor, c}[i%2]
		res := via.api.do("POST", "/v1/connections/"+cid+"/sync?full=true", key, nil)
		if res.Status != 202 {
			t.Fatalf("POST sync via %s: %d %s", via.name, res.Status, res.Body)
		}
		if run := via.api.pollRun(decodeRun(t, res).ID); run.Status != "succeeded" {
			t.Fatalf("re-sync %s ended %s: %s", run.ID, run.Status, run.Error)
		}
	}

	t.Logf("second runs succeeded after %s", time.Since(start).Round(time.Millisecond))

	// No run was executed twice at once: a run's turns on the victim ended
	// at the kill, a turn elsewhere started after it, and each run
	// succeeded in exactly one turn.
	turns := map[string][]*execution{}
	for _, r := range []*replica{a, b, c} {
		for _, e := range r.executions(t) {
			turns[e.run] = append(turns[e.run], e)
		}
	}
	for run, es := range turns {
		succeeded := 0
		for _, e := range es {
			if e.succeeded {
				succeeded++
			}
			if e.replica != victim.name && slices.Contains(orphaned, run) && !e.start.After(killedAt.Add(-time.Second)) {
				t.Errorf("run %s: replica %s started a turn at %s, before the owner was killed at %s", run, e.replica, e.start, killedAt)
			}
		}
		if succeeded != 1 {
			t.Errorf("run %s succeeded in %d turns: %+v", run, succeeded, es)
		}
	}
	// Each of the victim's runs was taken over by a live replica, from its
	// checkpoint where it had one (the run picked as the victim's had).
	resumed := 0
	for _, run := range orphaned {
		taken := false
		for _, e := range turns[run] {
			if e.replica != victim.name {
				taken = true
				if e.resumed {
					resumed++
				}
			}
		}
		if !taken {
			t.Errorf("run %s was not taken over by a live replica", run)
		}
	}
	if resumed == 0 {
		t.Error("no run of the killed replica was resumed from its checkpoint")
	}

	// The store equals the simulators.
	got := map[string][]string{}
	p := store.EnrollmentListParams{Limit: 1000, Now: time.Now()}
	for {
		res, err := st.EnrollmentList(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, en := range res.Enrollments {
			got[en.Record.ConnectionID] = append(got[en.Record.ConnectionID], en.Record.ID)
		}
		if !res.More {
			break
		}
		last := res.Enrollments[len(res.Enrollments)-1].Record
		p.After = store.EnrollmentKey{ConnectionID: last.ConnectionID, ID: last.ID}
	}
	for _, cid := range cids {
		ids, want := got[cid], simIDs[cid]()
		slices.Sort(ids)
		slices.Sort(want)
		if !slices.Equal(ids, want) {
			t.Errorf("connection %s: the store has %d records, the LMS %d", cid, len(ids), len(want))
		}
	}

	// The receiver gets every event of the feed, in order, once each after
	// de-duplication by webhook-id. (The feed is read again while waiting:
	// the clock job may append overdue events at any time.)
	feed := func(r *replica) []events.FeedEvent {
		f, _ := walkFeed(t, r.api, url.Values{"limit": {"1000"}}, "")
		return f
	}
	var feedB []events.FeedEvent
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		feedB = feed(survivor)
		got := receiver.unique()
		if feedIDs(got) == feedIDs(feedB) {
			break
		}
		if time.Now().After(deadline) {
			i := 0
			for i < len(got) && i < len(feedB) && got[i].ID == feedB[i].ID {
				i++
			}
			t.Fatalf("the receiver got %d distinct events, the feed has %d; they differ from event %d", len(got), len(feedB), i)
		}
	}
	if receiver.badSignatures() != 0 {
		t.Error("a delivery failed signature verification")
	}
	// The feed is the same through both live replicas, with one created
	// event per record and one sync.completed per run.
	if feedC := feed(c); feedIDs(feedB) != feedIDs(feedC) {
		t.Fatalf("the feed differs between replicas: %d and %d events", len(feedB), len(feedC))
	}
	created := map[string]int{}
	completed := map[string]int{}
	for _, e := range feedB {
		var d struct {
			events.Data
			RunID string `json:"sync_run_id"`
		}
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		switch e.Type {
		case store.EventEnrollmentCreated:
			created[d.ConnectionID+"/"+d.EnrollmentID]++
		case store.EventSyncCompleted:
			completed[d.RunID]++
		}
	}
	for k, n := range created {
		if n != 1 {
			t.Errorf("record %s has %d enrollment.created events", k, n)
		}
	}
	if len(completed) != 2*len(cids) {
		t.Errorf("%d runs completed, want %d", len(completed), 2*len(cids))
	}
	for run, n := range completed {
		if n != 1 {
			t.Errorf("run %s completed %d times", run, n)
		}
	}

	unique := receiver.unique()
	t.Logf("%d events, %d deliveries accepted (%d repeated after the kill); %s in all",
		len(feedB), receiver.accepted(), receiver.accepted()-len(unique), time.Since(start).Round(time.Millisecond))
}

// getRun reads a run once.
func (s *server) getRun(id string) apiRun {
	s.t.Helper()
	res := s.do("GET", "/v1/sync-runs/"+id, s.ReadKey, nil)
	if res.Status != 200 {
		s.t.Fatalf("GET run %s: %d %s", id, res.Status, res.Body)
	}
	return decodeRun(s.t, res)
}
