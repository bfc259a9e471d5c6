package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/registrarhq/registrar/internal/bench"
)

// TestMain lets the bench re-execute this test binary as its sync process,
// as `registrar bench` re-executes registrar.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "bench" && os.Args[2] == benchChildCommand {
		os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestBench runs `registrar bench` end to end with a tiny N: every measure
// is taken and the re-sync invariants hold. Speed goals are the bench's
// business, not this test's.
func TestBench(t *testing.T) {
	if testing.Short() {
		t.Skip("starts simulators and sync processes")
	}
	file := filepath.Join(t.TempDir(), "bench.json")
	var out, errOut bytes.Buffer
	code := Main([]string{"bench", "--enrollments", "2000", "--provider", "canvas", "--provider", "absorb",
		"--rate-seconds", "1", "--api-duration", "200ms", "--clients", "5", "--memory-scale", "2", "--json", file}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{"canvas", "absorb", "full sync", "re-sync, unchanged", "incremental", "rate limit",
		"deep page", "user filter", "sync process memory", "cores busy"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var rep bench.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Providers) != 2 {
		t.Fatalf("providers %d, want 2", len(rep.Providers))
	}
	for _, p := range rep.Providers {
		if p.Full.Records < 2000 || p.Full.Seconds <= 0 || p.Full.FetchSeconds <= 0 || p.Full.Requests == 0 {
			t.Errorf("%s full sync %+v", p.Provider, p.Full)
		}
		// The database holds at least the records' ids; cores busy is CPU
		// time over wall time, measured where getrusage exists.
		if p.Full.DatabaseBytes < 2000*10 || (runtime.GOOS != "windows" && (p.Full.Cores <= 0 || p.Full.FetchCores <= 0)) {
			t.Errorf("%s full sync: database %d bytes, cores busy %.2f, fetch %.2f", p.Provider, p.Full.DatabaseBytes,
				p.Full.Cores, p.Full.FetchCores)
		}
		if p.Resync.RowsWritten != 0 || p.Resync.Events != 0 || p.Resync.RunCounted != 0 {
			t.Errorf("%s re-sync of unchanged data wrote: %+v", p.Provider, p.Resync)
		}
		if p.RateLimited.Accepted == 0 {
			t.Errorf("%s rate-limited sync %+v", p.Provider, p.RateLimited)
		}
		if len(p.API) != 2 || len(p.API[0].Reads) != 3 {
			t.Fatalf("%s API reads %+v", p.Provider, p.API)
		}
		for _, a := range p.API {
			for _, r := range a.Reads {
				if r.Requests == 0 || r.Errors != 0 {
					t.Errorf("%s %s on %d: %+v", p.Provider, r.Name, a.Stored, r)
				}
			}
		}
		if len(p.Memory) != 2 || p.Memory[0].PeakMB <= 0 || p.Memory[1].Records < 4000 {
			t.Errorf("%s memory %+v", p.Provider, p.Memory)
		}
	}
	if inc := rep.Providers[1].Incremental; inc == nil || inc.Requests == 0 {
		t.Errorf("absorb incremental %+v", inc)
	}
}
