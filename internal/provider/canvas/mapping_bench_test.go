package canvas

import (
	"os"
	"testing"
)

// BenchmarkMapEnrollment maps one vendor enrollment (the fully populated
// fixture) to the unified record, as every page of a sync does per record.
func BenchmarkMapEnrollment(b *testing.B) {
	raw, err := os.ReadFile("testdata/full.json")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := mapEnrollment(raw, "Workplace Safety 101", mapOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
