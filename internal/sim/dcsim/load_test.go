package dcsim

import (
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
