package dockerwatch

import (
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/e2l-project/e2l/internal/deps"
	"github.com/e2l-project/e2l/internal/record"
)

const labelOther = "other"

// knownActions are the base actions Docker emits per event type: the closed
// label set of the received-events counter (anything else counts as "other").
var knownActions = map[string][]string{
	"container": {"attach", "checkpoint", "commit", "copy", "create", "destroy", "detach", "die",
		"exec_create", "exec_detach", "exec_die", "exec_start", "export", "health_status", "kill",
		"oom", "pause", "rename", "resize", "restart", "start", "stop", "top", "unpause", "update",
		"archive-path", "extract-to-dir"},
	"service": {"create", "update", "remove"},
	"node":    {"create", "update", "remove"},
	"secret":  {"create", "update", "remove"},
	"config":  {"create", "update", "remove"},
	"network": {"create", "connect", "disconnect", "destroy", "remove", "update", "prune"},
	"volume":  {"create", "mount", "unmount", "destroy", "prune"},
	"image":   {"delete", "import", "load", "pull", "push", "save", "tag", "untag", "prune"},
	"daemon":  {"reload"},
	"plugin":  {"install", "enable", "disable", "remove"},
}

// Drop reasons of events (metric label values). Every drop is also reported
// on the ledger by a gap record.
const (
	DropQueueFull = "queue_full" // the in-memory queue between reader and writer was full
	DropSpoolFull = "spool_full" // the spool refused the batch: full
	DropSinkError = "sink_error" // the spool refused the batch: another error
	DropInvalid   = "invalid"    // the event cannot be a valid record
)

var dropReasons = []string{DropQueueFull, DropSpoolFull, DropSinkError, DropInvalid}

// Decode error reasons.
const (
	decodeJSON    = "json"    // the stream carried bytes that are not an event
	decodeInvalid = "invalid" // an event that cannot become a valid record
)

type metrics struct {
	received      *prometheus.CounterVec // type, action
	ignored       prometheus.Counter     // not selected by the filter
	deduped       prometheus.Counter     // skipped by the watcher at the since boundary
	decodeErrors  *prometheus.CounterVec // reason
	reconnects    prometheus.Counter
	streamUp      prometheus.Gauge
	gaps          *prometheus.CounterVec // reason
	dropped       *prometheus.CounterVec // reason
	labelsDropped *prometheus.CounterVec // reason
	batchRecords  prometheus.Histogram
	queueDepth    prometheus.GaugeFunc
}

func newMetrics(reg prometheus.Registerer, queueLen func() float64) (*metrics, error) {
	const ns = "e2l_collector"
	m := &metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: "docker",
			Name: "events_received_total", Help: "Docker events read from the event stream, by type and base action (unknown values as \"other\")."},
			[]string{"type", "action"}),
		ignored: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: "docker",
			Name: "events_ignored_total", Help: "Docker events not selected by the event filter."}),
		deduped: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: "docker",
			Name: "events_deduplicated_total", Help: "Events re-delivered at the resume boundary (since is inclusive) and skipped."}),
		decodeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: "docker",
			Name: "decode_errors_total", Help: "Event stream items that could not be decoded (json) or recorded (invalid)."},
			[]string{"reason"}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: "docker",
			Name: "reconnects_total", Help: "Times the event stream was reopened after it failed."}),
		streamUp: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: "docker",
			Name: "stream_up", Help: "1 while the live Docker event stream is open."}),
		gaps: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: "watcher",
			Name: "gaps_total", Help: "Gap records written, by reason."}, []string{"reason"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: "watcher",
			Name: "events_dropped_total", Help: "Events lost before the spool, by reason (each loss is reported by a gap record)."},
			[]string{"reason"}),
		labelsDropped: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: "watcher",
			Name: "labels_dropped_total", Help: "Event attributes and labels left out to keep records within their bounds, by reason."},
			[]string{"reason"}),
		batchRecords: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: "watcher",
			Name: "append_batch_records", Help: "Records per spool Append.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11)}),
		queueDepth: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: "watcher",
			Name: "queue_records", Help: "Records waiting in the in-memory queue between the stream reader and the spool writer."},
			queueLen),
	}
	for typ, acts := range knownActions {
		for _, a := range slices.Concat(acts, []string{labelOther}) {
			m.received.WithLabelValues(typ, a)
		}
	}
	m.received.WithLabelValues(labelOther, labelOther)
	for _, r := range []string{decodeJSON, decodeInvalid} {
		m.decodeErrors.WithLabelValues(r)
	}
	for _, r := range record.GapReasons {
		m.gaps.WithLabelValues(r)
	}
	for _, r := range dropReasons {
		m.dropped.WithLabelValues(r)
	}
	for _, r := range labelDropReasons {
		m.labelsDropped.WithLabelValues(r)
	}
	return m, deps.Register(reg, "dockerwatch", m.received, m.ignored, m.deduped, m.decodeErrors, m.reconnects,
		m.streamUp, m.gaps, m.dropped, m.labelsDropped, m.batchRecords, m.queueDepth)
}

// countReceived counts one event with closed label values.
func (m *metrics) countReceived(typ, action string) {
	acts, ok := knownActions[typ]
	switch {
	case !ok:
		typ, action = labelOther, labelOther
	case !slices.Contains(acts, action):
		action = labelOther
	}
	m.received.WithLabelValues(typ, action).Inc()
}
