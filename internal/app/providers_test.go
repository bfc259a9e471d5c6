package app_test

import (
	"testing"

	"github.com/registrarhq/registrar/internal/app"
	"github.com/registrarhq/registrar/internal/httpx"
)

// Sync runs report requests, retries and throttled answers by diffing the
// connector's HTTP counters: a connector that does not report them would
// silently show zeros.
func TestEveryConnectorReportsHTTPStats(t *testing.T) {
	for _, d := range app.Providers() {
		if _, ok := d.Prototype.(httpx.StatsReporter); !ok {
			t.Errorf("provider %s: connector does not implement httpx.StatsReporter", d.Name)
		}
	}
}
