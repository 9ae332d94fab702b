package ledger

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/e2l-project/e2l/internal/deps"
	"github.com/e2l-project/e2l/internal/wire"
)

// Statuses of committed records, from the chaincode's result.
const (
	statusWritten   = wire.StatusWritten
	statusDuplicate = wire.StatusDuplicate
	statusUnknown   = "unknown" // the result did not say
)

var recordStatuses = []string{statusWritten, statusDuplicate, statusUnknown}

type metrics struct {
	inFlight      prometheus.Gauge
	batchSize     prometheus.Histogram
	transactions  *prometheus.CounterVec // stage, reason
	retries       *prometheus.CounterVec // reason
	splits        prometheus.Counter
	latency       prometheus.Histogram
	records       *prometheus.CounterVec // status
	lastCommit    prometheus.Gauge
	spoolFailures prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	const ns, sub = "e2l_collector", "ledger"
	m := &metrics{
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "inflight_transactions",
			Help: "Transactions submitted and not yet resolved.",
		}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "batch_records",
			Help:    "Records per submitted transaction.",
			Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000},
		}),
		transactions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "transactions_total",
			Help: "Transaction outcomes by the stage that ended them (endorse, submit, commit_status, commit, other) and reason (valid when committed).",
		}, []string{"stage", "reason"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "retries_total",
			Help: "Batches submitted again after a failure, by reason.",
		}, []string{"reason"}),
		splits: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "batch_splits_total",
			Help: "Batches split to isolate a refused record.",
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "commit_latency_seconds",
			Help:    "From a record's time (Docker's for events) to its commit on the ledger.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
		}),
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "committed_records_total",
			Help: "Records committed, by the chaincode's status (written, duplicate, unknown).",
		}, []string{"status"}),
		lastCommit: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "last_commit_timestamp_seconds",
			Help: "When a transaction last committed VALID.",
		}),
		spoolFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "spool_errors_total",
			Help: "Failures to read or update the spool.",
		}),
	}
	for _, st := range stages {
		for _, r := range stageReasons[st] {
			m.transactions.WithLabelValues(st, r)
		}
	}
	for _, r := range reasons {
		m.retries.WithLabelValues(r)
	}
	for _, s := range recordStatuses {
		m.records.WithLabelValues(s)
	}
	return m, deps.Register(reg, "ledger", m.inFlight, m.batchSize, m.transactions, m.retries, m.splits,
		m.latency, m.records, m.lastCommit, m.spoolFailures)
}
