package canvassim

import (
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/sim/simkit"
)

// loadMillion generates a million enrollments and reports how long it took
// and how much heap the data set holds.
func loadMillion(tb testing.TB) (*Sim, time.Duration, float64) {
	tb.Helper()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	s, err := New(Config{Seed: 1, Users: 100000, Courses: 1000, Enrollments: 1000000, Clock: simkit.NewFixedClock(testNow)})
	if err != nil {
		tb.Fatal(err)
	}
	took := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	heapMB := float64(after.HeapAlloc-min(before.HeapAlloc, after.HeapAlloc)) / (1 << 20)
	return s, took, heapMB
}

// BenchmarkLoad1M: the brief's scale target is a million enrollments in
// under 30 s and under 1 GiB.
func BenchmarkLoad1M(b *testing.B) {
	for b.Loop() {
		s, took, heapMB := loadMillion(b)
		b.ReportMetric(took.Seconds(), "load-s")
		b.ReportMetric(heapMB, "heap-MB")
		runtime.KeepAlive(s)
	}
}

// TestMillionServesFast checks the scale promise in ordinary test runs: the
// load stays in budget and a deep page costs a binary search, not a scan.
func TestMillionServesFast(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a million enrollments")
	}
	s, took, heapMB := loadMillion(t)
	if took > 30*time.Second || heapMB > 1024 {
		t.Fatalf("load took %v and %.0f MB", took, heapMB)
	}
	t.Logf("1M enrollments: %v, %.0f MB heap", took, heapMB)
	srv, err := simkit.Start("127.0.0.1:0", s.Handler())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	// A bookmark deep into the biggest course.
	s.mu.RLock()
	var deep string
	biggest := 0
	for i := range s.st.courses {
		if n := len(s.st.courses[i].enrollment); n > len(s.st.courses[biggest].enrollment) {
			biggest = i
		}
	}
	idx := s.st.courses[biggest].enrollment
	deep = s.st.bookmark(idx[len(idx)-150])
	courseID := strconv.FormatInt(s.st.courses[biggest].id, 10)
	s.mu.RUnlock()
	start := time.Now()
	for range 50 {
		r := send(t, "GET", fmt.Sprintf("%s/api/v1/courses/%s/enrollments?per_page=100&page=%s", srv.URL, courseID, deep), nil)
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	}
	if per := time.Since(start) / 50; per > 50*time.Millisecond {
		t.Fatalf("a deep page takes %v", per)
	}
}
