package spool

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/e2l-project/e2l/internal/deps"
	"github.com/e2l-project/e2l/internal/record"
)

// Reasons for refused appends (label values of refused_records_total).
const (
	reasonFull  = "full"  // ErrFull
	reasonError = "error" // invalid record or storage error
)

type metrics struct {
	appendedC  *prometheus.CounterVec
	duplicates prometheus.Counter
	refusedRec *prometheus.CounterVec
	committedC prometheus.Counter
	deadC      prometheus.Counter
	appendDur  prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, s *Spool) (*metrics, error) {
	const ns, sub = "e2l_collector", "spool"
	m := &metrics{
		appendedC: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "appended_records_total",
			Help: "Records sealed and stored in the spool, by kind.",
		}, []string{"kind"}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "duplicate_events_total",
			Help: "Events not stored because their ID was already known.",
		}),
		refusedRec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "refused_records_total",
			Help: "Records of Append calls that stored nothing, by reason (full, error).",
		}, []string{"reason"}),
		committedC: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "committed_records_total",
			Help: "Records removed from pending after they committed on the ledger.",
		}),
		deadC: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "dead_lettered_records_total",
			Help: "Records moved to the dead letters.",
		}),
		appendDur: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "append_duration_seconds",
			Help:    "Duration of one Append transaction, fsync included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
	}
	for _, k := range record.Kinds {
		m.appendedC.WithLabelValues(string(k))
	}
	m.refusedRec.WithLabelValues(reasonFull)
	m.refusedRec.WithLabelValues(reasonError)
	gauge := func(name, help string, f func(Stats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help},
			func() float64 { return f(s.Stats()) })
	}
	cs := []prometheus.Collector{
		m.appendedC, m.duplicates, m.refusedRec, m.committedC, m.deadC, m.appendDur,
		gauge("pending_records", "Records spooled and not yet committed.", func(st Stats) float64 { return float64(st.PendingRecords) }),
		gauge("pending_bytes", "Stored size of the pending records.", func(st Stats) float64 { return float64(st.PendingBytes) }),
		gauge("dead_letters", "Records in the dead letters.", func(st Stats) float64 { return float64(st.DeadLetters) }),
		gauge("head_seq", "Sequence number of the newest record.", func(st Stats) float64 { return float64(st.HeadSeq) }),
		gauge("dedupe_ids", "Event IDs in the de-duplication index.", func(st Stats) float64 { return float64(st.DedupeIDs) }),
		gauge("last_event_timestamp_seconds", "Docker time of the newest event spooled.", func(st Stats) float64 { return float64(st.LastEventTime) / 1e9 }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "max_records", Help: "Bound of pending records."},
			func() float64 { return float64(s.opts.MaxRecords) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "max_bytes", Help: "Bound of pending bytes."},
			func() float64 { return float64(s.opts.MaxBytes) }),
	}
	return m, deps.Register(reg, "spool", cs...)
}

func (m *metrics) appended(kinds map[record.Kind]int, dups int, d time.Duration) {
	for k, n := range kinds {
		m.appendedC.WithLabelValues(string(k)).Add(float64(n))
	}
	m.duplicates.Add(float64(dups))
	m.appendDur.Observe(d.Seconds())
}

func (m *metrics) refused(reason string, n int) {
	m.refusedRec.WithLabelValues(reason).Add(float64(n))
}

func (m *metrics) committed(n int) {
	m.committedC.Add(float64(n))
}

func (m *metrics) deadLettered() {
	m.deadC.Inc()
}
