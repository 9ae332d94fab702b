package indexer

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/e2l-project/e2l/internal/deps"
)

type metrics struct {
	height       prometheus.Gauge
	next         prometheus.Gauge
	behind       prometheus.Gauge
	records      prometheus.Counter
	findings     *prometheus.CounterVec
	runSeconds   prometheus.Histogram
	streamBreaks prometheus.Counter
}

// Severities of the findings counted.
var severities = []string{"warning", "error"}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		height: prometheus.NewGauge(prometheus.GaugeOpts{Name: "e2l_indexer_channel_height_blocks",
			Help: "The channel's height (blocks), as last seen by the indexer."}),
		next: prometheus.NewGauge(prometheus.GaugeOpts{Name: "e2l_indexer_next_block",
			Help: "The next block the indexer will index: every block below it is in the index."}),
		behind: prometheus.NewGauge(prometheus.GaugeOpts{Name: "e2l_indexer_behind_blocks",
			Help: "Blocks committed on the channel and not yet in the index."}),
		records: prometheus.NewCounter(prometheus.CounterOpts{Name: "e2l_indexer_records_total",
			Help: "Records indexed; its rate is the ingest rate."}),
		findings: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "e2l_indexer_findings_total",
			Help: "Verification findings stored in the index, by severity."}, []string{"severity"}),
		runSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "e2l_indexer_run_seconds",
			Help: "Time to verify and apply one run of blocks.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}),
		streamBreaks: prometheus.NewCounter(prometheus.CounterOpts{Name: "e2l_indexer_stream_breaks_total",
			Help: "Times the block stream broke and was reopened."}),
	}
	for _, s := range severities {
		m.findings.WithLabelValues(s)
	}
	return m, deps.Register(reg, "indexer", m.height, m.next, m.behind, m.records, m.findings, m.runSeconds, m.streamBreaks)
}
