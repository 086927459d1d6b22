package serve

import "github.com/prometheus/client_golang/prometheus"

// metrics are the server's Prometheus series (in its own registry, so
// two servers in one process do not collide).
type metrics struct {
	requests      *prometheus.CounterVec   // by protocol, endpoint, code
	latency       *prometheus.HistogramVec // by protocol, endpoint
	engineSeconds *prometheus.HistogramVec // by call
	batchRows     prometheus.Histogram
	tokens        prometheus.Counter
	queued        prometheus.Gauge
	reloadSeconds prometheus.Histogram
	version       prometheus.Gauge
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pz_serve_requests_total",
			Help: "Requests by protocol, endpoint and status code."}, []string{"protocol", "endpoint", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "pz_serve_request_seconds",
			Help: "Request latency.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 18)}, []string{"protocol", "endpoint"}),
		engineSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "pz_serve_engine_seconds",
			Help: "Time in engine calls.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 18)}, []string{"call"}),
		batchRows: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "pz_serve_batch_rows",
			Help: "Completions per engine Generate call.", Buckets: prometheus.ExponentialBuckets(1, 2, 10)}),
		tokens: prometheus.NewCounter(prometheus.CounterOpts{Name: "pz_serve_generated_tokens_total",
			Help: "Tokens generated."}),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{Name: "pz_serve_queued_requests",
			Help: "Generation requests waiting for a batch."}),
		reloadSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "pz_serve_reload_seconds",
			Help: "Weight reloads through the repository API (read + load).", Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)}),
		version: prometheus.NewGauge(prometheus.GaugeOpts{Name: "pz_serve_model_version",
			Help: "Version of the weights served."}),
	}
	reg.MustRegister(m.requests, m.latency, m.engineSeconds, m.batchRows, m.tokens, m.queued, m.reloadSeconds, m.version)
	return m
}
