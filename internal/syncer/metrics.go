package syncer

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/registrarhq/registrar/internal/events"
	"github.com/registrarhq/registrar/internal/httpx"
	"github.com/registrarhq/registrar/internal/store"
)

// metrics are the sync engine's Prometheus series. Labels are bounded: the
// provider names and fixed outcome and status names, never connection ids.
type metrics struct {
	runs        *prometheus.CounterVec
	recordCount *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	pages       *prometheus.CounterVec
	http        *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "registrar_sync_runs_total",
			Help: "Sync runs that ended, by provider and status (succeeded, failed).",
		}, []string{"provider", "status"}),
		recordCount: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "registrar_sync_records_total",
			Help: "Records read by sync runs, by provider and outcome (inserted, updated, unchanged, restored, deleted).",
		}, []string{"provider", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "registrar_sync_run_duration_seconds",
			Help:    "Duration of ended sync runs from start to end, by provider and status.",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200},
		}, []string{"provider", "status"}),
		pages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "registrar_sync_pages_total",
			Help: "Pages committed by sync runs, by provider.",
		}, []string{"provider"}),
		http: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "registrar_sync_http_total",
			Help: "What sync runs asked of the LMSs, by provider and what: requests (attempts sent), retries, throttled (answers asking to slow down).",
		}, []string{"provider", "what"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.runs, m.recordCount, m.duration, m.pages, m.http} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, err
			}
		}
	}
	return m, nil
}

func (m *metrics) addPage(provider string, used httpx.Stats) {
	m.pages.WithLabelValues(provider).Inc()
	m.addHTTP(provider, used)
}

func (m *metrics) addHTTP(provider string, used httpx.Stats) {
	for what, n := range map[string]int64{"requests": used.Requests, "retries": used.Retries, "throttled": used.Throttled} {
		if n > 0 {
			m.http.WithLabelValues(provider, what).Add(float64(n))
		}
	}
}

func (m *metrics) addRecords(provider string, c events.Counts) {
	for outcome, n := range map[string]int64{"inserted": c.Inserted, "updated": c.Updated, "unchanged": c.Unchanged, "restored": c.Restored} {
		if n > 0 {
			m.recordCount.WithLabelValues(provider, outcome).Add(float64(n))
		}
	}
}

func (m *metrics) finished(provider string, r *store.SyncRun) {
	m.runs.WithLabelValues(provider, r.Status).Inc()
	if r.Stats.Deleted > 0 {
		m.recordCount.WithLabelValues(provider, "deleted").Add(float64(r.Stats.Deleted))
	}
	if r.StartedAt != nil && r.FinishedAt != nil {
		m.duration.WithLabelValues(provider, r.Status).Observe(r.FinishedAt.Sub(*r.StartedAt).Seconds())
	}
}
