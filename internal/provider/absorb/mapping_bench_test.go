package absorb

import (
	"os"
	"testing"
	"time"
)

// BenchmarkMapEnrollment maps one vendor enrollment (the fully populated
// fixture) to the unified record, as every page of a sync does per record.
func BenchmarkMapEnrollment(b *testing.B) {
	raw, err := os.ReadFile("testdata/full.json")
	if err != nil {
		b.Fatal(err)
	}
	m := mapper{zone: time.UTC}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.enrollment(raw); err != nil {
			b.Fatal(err)
		}
	}
}
