package app_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/cli"
	"github.com/registrarhq/registrar/internal/sim/dcsim"
	"github.com/registrarhq/registrar/internal/sim/simkit"
)

// TestSyncCommand: registrar sync prints a summary and exits 0 on success,
// and exits non-zero with the reason when the LMS stays down; the next run
// succeeds once it is back.
func TestSyncCommand(t *testing.T) {
	t.Parallel()
	sim, err := dcsim.New(dcsim.Config{Seed: 5, Enrollments: 300})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := simkit.Start("127.0.0.1:0", sim.Handler())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	dir := t.TempDir()
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := cli.Main(append([]string{"--data-dir", dir, "--log-level", "error"}, args...), &out, &errb)
		return code, out.String(), errb.String()
	}
	if code, _, stderr := run("connections", "add", "--provider", "digitalchalk", "--name", "dc",
		"--setting", "base_url="+srv.URL+"/dc/api/v5", "--credential", "token=dc-sim-token"); code != 0 {
		t.Fatalf("connections add: %d %s", code, stderr)
	}

	code, stdout, stderr := run("sync", "dc")
	if code != 0 || !strings.Contains(stdout, "succeeded") || !strings.Contains(stdout, "300 inserted") {
		t.Fatalf("sync: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "sync dc: run ") {
		t.Errorf("no progress lines on a non-terminal:\n%s", stderr)
	}

	if err := sim.Kit().SetFaults(simkit.Faults{FailRate: 1}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	code, _, stderr = run("sync", "dc", "--max-failure", "2s")
	if code == 0 || !strings.Contains(stderr, "registrar: sync of dc failed: the LMS kept failing") {
		t.Fatalf("sync of a down LMS: exit %d\n%s", code, stderr)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("failing sync took %s with --max-failure 2s", took)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if last := lines[len(lines)-1]; strings.Contains(last, "\n") || !strings.HasPrefix(last, "registrar: ") {
		t.Errorf("the reason is not one line at the end: %q", last)
	}

	if err := sim.Kit().SetFaults(simkit.Faults{}); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr = run("sync", "dc", "--full"); code != 0 || !strings.Contains(stdout, "300 unchanged, 0 deleted") {
		t.Fatalf("sync after the outage: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if code, _, stderr = run("sync", "nope"); code == 0 || !strings.Contains(stderr, `no connection named "nope"`) {
		t.Errorf("sync of an unknown connection: %d %s", code, stderr)
	}
}

// TestSyncCommandBesideServe: while serve works a connection's run,
// registrar sync on the same data directory follows that run to its end
// instead of starting a second one.
func TestSyncCommandBesideServe(t *testing.T) {
	t.Parallel()
	sim, err := dcsim.New(dcsim.Config{Seed: 6, Enrollments: 1000, Faults: simkit.Faults{Latency: simkit.Duration(30 * time.Millisecond)}})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := simkit.Start("127.0.0.1:0", sim.Handler())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	s := startSyncServer(t)
	created := s.do("POST", "/v1/connections", s.Key, map[string]any{"provider": "digitalchalk", "name": "dc",
		"settings":    map[string]string{"base_url": srv.URL + "/dc/api/v5", "page_size": "50"},
		"credentials": map[string]string{"token": "dc-sim-token"}})
	if created.Status != 201 {
		t.Fatalf("create: %d %s", created.Status, created.Body)
	}
	cid := created.JSON(t)["id"].(string)
	var runID string
	deadline := time.Now().Add(10 * time.Second)
	for runID == "" {
		run := decodeRun(t, s.do("POST", "/v1/connections/"+cid+"/sync", s.Key, nil))
		if run.Status == "running" && run.Pages > 0 {
			runID = run.ID
		}
		if time.Now().After(deadline) {
			t.Fatal("serve did not start the first sync")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var out, errb bytes.Buffer
	code := cli.Main([]string{"--data-dir", s.DataDir, "--log-level", "error", "sync", "dc"}, &out, &errb)
	if code != 0 || !strings.Contains(errb.String(), "following sync run "+runID) || !strings.Contains(out.String(), runID+" of dc succeeded") {
		t.Fatalf("sync beside serve: exit %d\nstdout: %s\nstderr: %s", code, out.String(), errb.String())
	}
	res := s.do("GET", "/v1/connections/"+cid+"/sync-runs", s.ReadKey, nil)
	if n := strings.Count(string(res.Body), `"id":"run_`); n != 1 {
		t.Fatalf("%d runs after a CLI sync beside serve's, want 1: %s", n, res.Body)
	}
}
