package bench

import (
	"time"

	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/testkit/groundtruth"
)

// windowed is what one run measured in its window [from, to], counted the
// same way for the Gateway ceiling and the collector rows: the records the
// block listener saw commit inside the window, per second of window; the
// latency of every record offered (due) inside the window, whether it
// committed inside the window, later, or not at all.
type windowed struct {
	From, To  time.Time
	Committed int // event records whose commit the listener saw in the window
	PerS      float64
	Latency   groundtruth.Latency
}

// measureWindow counts recs (one host's records seen by the listener) and
// accounts offers over [from, to].
func measureWindow(recs []committed, offers []groundtruth.Offer, from, to time.Time) windowed {
	var seen []time.Time
	for _, c := range recs {
		if c.Kind == record.KindEvent {
			seen = append(seen, c.Seen)
		}
	}
	w := windowed{From: from, To: to, Committed: groundtruth.CountIn(seen, from, to)}
	if d := to.Sub(from).Seconds(); d > 0 {
		w.PerS = float64(w.Committed) / d
	}
	w.Latency = groundtruth.Account(offers, from, to)
	return w
}

// bySeq indexes one host's committed records by seq.
func bySeq(recs []committed) map[uint64]committed {
	m := make(map[uint64]committed, len(recs))
	for _, c := range recs {
		m[c.Seq] = c
	}
	return m
}
