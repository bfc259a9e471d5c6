package absorbsim

import (
	"runtime"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/sim/simkit"
)

const million = 1_000_000

// loadMillion builds the million-row data set and reports how long it took
// and the live heap it holds.
func loadMillion(tb testing.TB) (*Sim, time.Duration, float64) {
	tb.Helper()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	s, err := New(Config{Seed: 1, Enrollments: million, Clock: clockAt(testNow)})
	if err != nil {
		tb.Fatal(err)
	}
	took := time.Since(start)
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	heapMB := float64(after.HeapAlloc-min(before.HeapAlloc, after.HeapAlloc)) / (1 << 20)
	return s, took, heapMB
}

// BenchmarkLoad1M reports the seconds and heap megabytes of a million-row
// data set (budget: under 30 s and 1 GiB).
func BenchmarkLoad1M(b *testing.B) {
	for i := 0; i < b.N; i++ {
		s, took, heapMB := loadMillion(b)
		b.ReportMetric(took.Seconds(), "load-s")
		b.ReportMetric(heapMB, "heap-MB")
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.Sys)/(1<<20), "sys-MB")
		runtime.KeepAlive(s)
	}
}

// The million-row walk a connector does (providers.md §2.5): courses, then
// each course's enrollments page by page, with dateEdited for incremental
// runs. Every page, at any index, must come back quickly.
func TestMillionEnrollments(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a million-row data set")
	}
	s, took, heapMB := loadMillion(t)
	if took > 30*time.Second || heapMB > 1024 {
		t.Fatalf("load took %v and %.0f MB; budget 30 s and 1 GiB", took, heapMB)
	}
	t.Logf("loaded 1M enrollments in %v, %.0f MB heap", took, heapMB)
	srv, err := simkit.Start("127.0.0.1:0", s.Handler())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	h := &harness{t: t, sim: s, url: srv.URL}
	h.token = h.login("admin")
	if got := len(s.EnrollmentIDs()); got < million {
		t.Fatalf("%d ids", got)
	}
	c := h.courses()[0]
	first := h.page("/courses/" + c.ID + "/enrollments?_limit=1000")
	if first.TotalItems < million/20 {
		t.Fatalf("course has %d rows", first.TotalItems)
	}
	lastPage := (first.TotalItems - 1) / 1000
	since := testNow.Add(-3 * 24 * time.Hour).Format("2006-01-02T15:04:05")
	tests := []struct {
		name, query string
		budget      time.Duration
	}{
		{"first page", "?_limit=1000", 500 * time.Millisecond},
		{"middle page", "?_limit=1000&_offset=" + itoa(lastPage/2), 500 * time.Millisecond},
		{"last page", "?_limit=1000&_offset=" + itoa(lastPage), 500 * time.Millisecond},
		{"small page deep in", "?_limit=20&_offset=" + itoa(first.TotalItems/40), 500 * time.Millisecond},
		{"incremental filter", "?_limit=1000&_filter=" + q("dateEdited ge datetime'"+since+"'"), 2 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			p := h.page("/courses/" + c.ID + "/enrollments" + tc.query)
			if d := time.Since(start); d > tc.budget {
				t.Fatalf("took %v, budget %v", d, tc.budget)
			}
			if tc.name == "last page" && (len(p.Enrollments) == 0 || p.Enrollments[len(p.Enrollments)-1].ID != lastOf(h, c.ID, lastPage)) {
				t.Fatal("last page is empty or unstable")
			}
		})
	}
}

func lastOf(h *harness, courseID string, page int) string {
	p := h.page("/courses/" + courseID + "/enrollments?_limit=1000&_offset=" + itoa(page))
	return p.Enrollments[len(p.Enrollments)-1].ID
}
