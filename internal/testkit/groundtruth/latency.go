package groundtruth

import (
	"math"
	"slices"
	"time"
)

// Offer is one event (or transaction) offered to the system under test:
// when it was due, and when its commit was seen (zero: never).
type Offer struct {
	At        time.Time
	Committed time.Time
}

// Latency is the latency accounting of the events offered in a window:
// every one of them counts, committed in the window, late, or not at all.
type Latency struct {
	Offered      int // offers due in the window
	InWindow     int // of those, committed by the window's end
	Late         int // committed after the window's end
	NotCommitted int // never committed (as far as the run waited)
	// P50 and P99 in milliseconds over every offer of the window, a
	// missing commit counting as +Inf: a percentile whose rank falls on an
	// event not committed is +Inf.
	P50, P99 float64
}

// Account computes the latency of the offers due in [from, to].
func Account(offers []Offer, from, to time.Time) Latency {
	var l Latency
	var lat []time.Duration
	for _, o := range offers {
		if o.At.Before(from) || o.At.After(to) {
			continue
		}
		l.Offered++
		switch {
		case o.Committed.IsZero():
			l.NotCommitted++
			continue
		case o.Committed.After(to):
			l.Late++
		default:
			l.InWindow++
		}
		lat = append(lat, o.Committed.Sub(o.At))
	}
	l.P50, l.P99 = Percentile(lat, l.Offered, 50), Percentile(lat, l.Offered, 99)
	return l
}

// Percentile returns the p-th percentile (0..100, nearest rank) in
// milliseconds of n samples of which lat are the finite ones and the other
// n-len(lat) are +Inf (not committed). It is 0 when n is 0.
func Percentile(lat []time.Duration, n int, p float64) float64 {
	n = max(n, len(lat))
	if n == 0 {
		return 0
	}
	i := int(math.Ceil(float64(n)*p/100)) - 1
	i = min(max(i, 0), n-1)
	if i >= len(lat) {
		return math.Inf(1)
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	return float64(s[i]) / float64(time.Millisecond)
}

// CountIn counts the times in [from, to].
func CountIn(ts []time.Time, from, to time.Time) int {
	n := 0
	for _, t := range ts {
		if !t.Before(from) && !t.After(to) {
			n++
		}
	}
	return n
}
