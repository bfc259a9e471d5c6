package dcsim

import (
	"io"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/sim/simkit"
)

// BenchmarkLoad1M measures building a million registrations: the brief's
// budget is 30 s and 1 GiB. Run with -benchtime=1x.
func BenchmarkLoad1M(b *testing.B) {
	for b.Loop() {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		s, err := New(Config{Seed: 1, Enrollments: 1_000_000, Clock: simkit.NewFixedClock(testNow)})
		if err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(start)
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(elapsed.Seconds(), "load-s")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heap-MB")
		if got := len(s.live); got != 1_000_000 {
			b.Fatalf("loaded %d registrations, want 1000000", got)
		}
		runtime.KeepAlive(s)
	}
}

// BenchmarkListDeepOffset reads pages near the end of a million
// registrations, unfiltered and by user: both walk an index, so the cost
// must not grow with the offset.
func BenchmarkListDeepOffset(b *testing.B) {
	s, err := New(Config{Seed: 1, Enrollments: 1_000_000, Clock: simkit.NewFixedClock(testNow)})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := simkit.Start("127.0.0.1:0", s.Handler())
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	user := s.users[s.regs[s.live[len(s.live)-1]].user].id.String()
	for _, c := range []struct{ name, query string }{
		{"unfiltered", "?limit=100&offset=999900"},
		{"userId", "?limit=100&userId=" + user},
		{"status (scan)", "?limit=100&offset=100000&status=ejected"},
	} {
		b.Run(c.name, func(b *testing.B) {
			req, _ := http.NewRequest("GET", srv.URL+"/dc/api/v5/registrations"+c.query, nil)
			req.Header.Set("Authorization", "Bearer "+defaultToken)
			for b.Loop() {
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					b.Fatalf("status %d", res.StatusCode)
				}
			}
		})
	}
}

// TestLoadMillionWithinBudget holds the brief's budget: a million
// registrations in under 30 s and 1 GiB of heap. Skipped with -short.
func TestLoadMillionWithinBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a million registrations")
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	s, err := New(Config{Seed: 9, Enrollments: 1_000_000, Clock: simkit.NewFixedClock(testNow)})
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	heap := after.HeapAlloc - before.HeapAlloc
	t.Logf("loaded %d registrations in %v, %d MiB heap", len(s.live), elapsed, heap>>20)
	if elapsed > 30*time.Second || heap > 1<<30 {
		t.Fatalf("over budget: %v, %d MiB", elapsed, heap>>20)
	}
	if len(s.live) != 1_000_000 {
		t.Fatalf("%d registrations", len(s.live))
	}
	runtime.KeepAlive(s)
}
