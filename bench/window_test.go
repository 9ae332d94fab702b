package bench

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/testkit/groundtruth"
)

func TestSyntheticIndexReadsTheSourcesNumbering(t *testing.T) {
	for _, n := range []int64{0, 1, 2, 3, 4, 4001, 123456} {
		r := eventRecord("h", n, 1) // the bench's copy of the source's naming
		got, ok := syntheticIndex(r.Event.Actor, r.Event.Action)
		if !ok || got != n {
			t.Errorf("event %d (%s %.12s…): index %d %t", n, r.Event.Action, r.Event.Actor, got, ok)
		}
	}
	for _, bad := range [][2]string{{"abc", "start"}, {strings.Repeat("0", 64), "pause"}, {strings.Repeat("z", 64), "start"}} {
		if _, ok := syntheticIndex(bad[0], bad[1]); ok {
			t.Errorf("syntheticIndex(%q, %q) accepted", bad[0], bad[1])
		}
	}
}

// synthetic makes the listener's records of a synthetic source of rate
// started at start: event n generated lag(n) after it was due, seen
// committed 100 ms after its generation, or not at all when lag is < 0.
func synthetic(start time.Time, rate float64, count int, lag func(n int) time.Duration) []committed {
	var out []committed
	for n := range count {
		l := lag(n)
		if l < 0 {
			continue
		}
		due := start.Add(time.Duration(float64(n) / rate * float64(time.Second)))
		r := eventRecord("h", int64(n), due.Add(l).UnixNano())
		out = append(out, committed{Host: "h", Seq: uint64(n + 1), Kind: record.KindEvent, Time: r.Time,
			Type: r.Event.Type, Action: r.Event.Action, Actor: r.Event.Actor, TimeNano: r.Event.TimeNano, Seen: due.Add(l + 100*time.Millisecond)})
	}
	return out
}

func TestCollectorLatencyCountsFromWhenAnEventWasDue(t *testing.T) {
	start := time.Unix(5000, 0)
	from, to := start.Add(time.Second), start.Add(11*time.Second)
	const rate, count = 100.0, 1100

	t.Run("a source on time: 100 ms, every event committed in the window", func(t *testing.T) {
		recs := synthetic(start, rate, count, func(int) time.Duration { return 0 })
		offers, lag := syntheticOffers(recs, rate, count, start.Add(-time.Hour))
		w := measureWindow(recs, offers, from, to)
		if lag != 0 || w.Latency.Offered != 1000 || w.Latency.NotCommitted != 0 || w.Latency.P99 != 100 {
			t.Errorf("lag %s, window %+v", lag, w)
		}
	})

	// The source held back (a blocking send): from event 500 on, events
	// are generated 2 s after they were due. Their timeNano hides it.
	heldBack := func(n int) time.Duration {
		if n >= 500 {
			return 2 * time.Second
		}
		return 0
	}
	t.Run("a source held back: the delay counts (no coordinated omission)", func(t *testing.T) {
		recs := synthetic(start, rate, count, heldBack)
		offers, lag := syntheticOffers(recs, rate, count, start)
		w := measureWindow(recs, offers, from, to)
		if lag != 2*time.Second || w.Latency.P99 != 2100 {
			t.Errorf("lag %s, p99 %v ms: want 2 s and 2100 ms", lag, w.Latency.P99)
		}
		// The broken accounting, from each event's own timeNano, would say 100 ms.
		var stamped []time.Duration
		for _, c := range recs {
			stamped = append(stamped, c.Seen.Sub(time.Unix(0, c.TimeNano)))
		}
		if groundtruth.Percentile(stamped, len(stamped), 99) != 100 {
			t.Error("the timeNano accounting would not hide the delay: the test shows nothing")
		}
	})

	t.Run("events never committed count as +Inf, not as absent", func(t *testing.T) {
		recs := synthetic(start, rate, count, func(n int) time.Duration {
			if n%50 == 49 { // 2 % dropped
				return -1
			}
			return 0
		})
		offers, _ := syntheticOffers(recs, rate, count, start)
		w := measureWindow(recs, offers, from, to)
		if w.Latency.NotCommitted != 20 || !math.IsInf(w.Latency.P99, 1) || w.Latency.P50 != 100 {
			t.Errorf("window %+v: want 20 not committed, p50 100 ms, p99 +Inf", w.Latency)
		}
	})
}

func TestTheCeilingIsCountedInItsWindowLikeTheCollector(t *testing.T) {
	start := time.Unix(7000, 0)
	from, to := start.Add(5*time.Second), start.Add(25*time.Second)
	var recs []committed
	var offers []groundtruth.Offer
	// One transaction every 100 ms from 0 to 26 s, each committed 1 s after
	// its submission; the one at 20 s failed.
	for i := range 260 {
		at := start.Add(time.Duration(i) * 100 * time.Millisecond)
		o := groundtruth.Offer{At: at}
		if i != 200 {
			o.Committed = at.Add(time.Second)
			recs = append(recs, committed{Host: "c", Seq: uint64(i + 1), Kind: record.KindEvent, Seen: o.Committed})
		}
		offers = append(offers, o)
	}
	w := measureWindow(recs, offers, from, to)
	// Commits seen in [5 s, 25 s]: those submitted in [4 s, 24 s], 201, less the failed one.
	if w.Committed != 200 || w.PerS != 10 {
		t.Errorf("committed %d (%v/s), want 200 (10/s): the warm-up's and the end's commits are not the window's", w.Committed, w.PerS)
	}
	// Submitted in the window: 201, of which 10 commit after it, 1 never.
	if w.Latency.Offered != 201 || w.Latency.Late != 10 || w.Latency.NotCommitted != 1 || w.Latency.P99 != 1000 {
		t.Errorf("latency %+v", w.Latency)
	}
}

func TestTheListenerCountsAResubmittedRecordOnce(t *testing.T) {
	w := newLedgerWatch()
	rec := func(seq uint64, at int64) committed {
		return committed{Host: "h", Seq: seq, Kind: record.KindEvent, Type: "container", Action: "start", Actor: "a", TimeNano: at}
	}
	w.add(time.Unix(1, 0), []committed{rec(1, 10), rec(2, 20)}, nil)
	w.add(time.Unix(2, 0), []committed{rec(2, 20)}, nil) // the same record again: the chaincode said duplicate
	if n := w.count("h", record.KindEvent); n != 2 {
		t.Errorf("count %d, want 2", n)
	}
	if got := w.host("h")[1].Seen; !got.Equal(time.Unix(1, 0)) {
		t.Errorf("seq 2 seen at %v, want its first commit", got)
	}
	// One event recorded at two seqs is a duplicate on the chain: kept, and
	// the comparison sees it.
	w.add(time.Unix(3, 0), []committed{rec(3, 20)}, nil)
	var ledger []groundtruth.Key
	for _, c := range w.host("h") {
		ledger = append(ledger, groundtruth.NewKey(c.Type, c.Action, c.Actor, c.TimeNano))
	}
	truth := []groundtruth.Key{groundtruth.NewKey("container", "start", "a", 10), groundtruth.NewKey("container", "start", "a", 20)}
	if c := groundtruth.Compare(truth, ledger, nil, groundtruth.Window{From: 0, To: 100}, nil); c.Duplicated != 1 {
		t.Errorf("duplicated %d, want 1", c.Duplicated)
	}
}

func TestTheChurnTruthKeepsEverythingAndFiltersByTheDocumentedRules(t *testing.T) {
	tr := &churnTruth{events: map[groundtruth.Key]bool{}, marker: map[string]int64{}, notify: make(chan struct{}, 1)}
	add := func(typ, action string, at int64) {
		var ev dockerEvent
		ev.Type, ev.Action, ev.TimeNano = typ, action, at
		ev.Actor.ID = fmt.Sprintf("actor-%d", at)
		tr.add(ev)
	}
	add("container", "create", 10)
	add("container", "exec_start: sh -c true", 11)
	add("network", "connect", 12)
	add("container", "die", 13)
	add("container", "die", 13) // delivered twice: one event
	add("volume", "create", 14)
	add("container", "destroy", 500)
	got := tr.recorded(0, 100)
	if len(got) != 2 {
		t.Errorf("recorded %v, want the create and the die", got)
	}
	if len(tr.events) != 6 {
		t.Errorf("the unfiltered truth holds %d events, want 6", len(tr.events))
	}
}

func TestTheChurnRowIsExactOnlyWhenEveryEventIsOnTheLedgerOnce(t *testing.T) {
	ok := churnResult{Emitted: 10, Committed: 10}
	tests := []struct {
		name string
		r    churnResult
		want bool
	}{
		{"every event once", ok, true},
		{"nothing emitted", churnResult{}, false},
		{"a dropped event", churnResult{Emitted: 10, Committed: 9, Missing: 1}, false},
		{"a duplicated record hiding a dropped event", churnResult{Emitted: 10, Committed: 9, Missing: 1, Duplicated: 1}, false},
		{"a duplicated record", churnResult{Emitted: 10, Committed: 10, Duplicated: 1}, false},
		{"a phantom", churnResult{Emitted: 10, Committed: 10, Phantom: 1}, false},
		{"a gap record", churnResult{Emitted: 10, Committed: 10, GapRecords: 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.Exact(); got != tt.want {
				t.Errorf("Exact() = %t, want %t", got, tt.want)
			}
		})
	}
}

func TestAnInfiniteLatencyIsWrittenAsNull(t *testing.T) {
	b, err := json.Marshal(Result{Name: "x", P50ms: 12, P99ms: ms(math.Inf(1))})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"p50_ms":12`) || !strings.Contains(string(b), `"p99_ms":null`) {
		t.Errorf("JSON %s", b)
	}
	if f(ms(math.Inf(1)), 0) != "∞" {
		t.Errorf("table cell %q", f(ms(math.Inf(1)), 0))
	}
}
