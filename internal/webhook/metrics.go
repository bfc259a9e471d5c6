package webhook

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are delivery's Prometheus series. Labels are fixed outcome names,
// never webhook ids or URLs, so their number stays bounded.
type metrics struct {
	attempts *prometheus.CounterVec
	duration prometheus.Histogram
	disabled prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "registrar_webhook_attempts_total",
			Help: "Webhook delivery attempts, by outcome (succeeded, failed).",
		}, []string{"outcome"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "registrar_webhook_attempt_duration_seconds",
			Help:    "How long endpoints took to answer a delivery attempt.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		disabled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "registrar_webhook_disabled_total",
			Help: "Webhook endpoints disabled after failing for the retry window or answering 410 Gone.",
		}),
	}
	if reg != nil {
		m.attempts = register(reg, m.attempts)
		m.duration = register(reg, m.duration)
		m.disabled = register(reg, m.disabled)
	}
	return m
}

// register registers c, or returns the collector already registered under
// its name (a second Deliverer on one registry shares the series).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		// Another collector has the name: keep counting, unexported, rather
		// than fail deliveries over metrics.
	}
	return c
}
