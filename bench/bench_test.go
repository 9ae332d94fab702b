package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/e2l-project/e2l/internal/record"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	tests := []struct {
		name string
		in   []time.Duration
		p    float64
		want float64
	}{
		{name: "no samples give zero", in: nil, p: 50, want: 0},
		{name: "the median of an odd count is the middle", in: ms(30, 10, 20), p: 50, want: 20},
		{name: "p99 of a hundred samples is the 99th", in: ms(rangeN(100)...), p: 99, want: 99},
		{name: "p100 is the largest", in: ms(5, 1, 9), p: 100, want: 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.in, tt.p); got != tt.want {
				t.Errorf("percentile(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func rangeN(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

func TestParseMetricsKeepsSeriesWithTheirLabels(t *testing.T) {
	m, err := parseMetrics(strings.NewReader(`# HELP x y
e2l_collector_docker_stream_up 1
e2l_collector_watcher_events_dropped_total{reason="queue_full"} 2
e2l_collector_watcher_events_dropped_total{reason="spool_full"} 3
`))
	if err != nil {
		t.Fatal(err)
	}
	if m["e2l_collector_docker_stream_up"] != 1 || sumPrefix(m, "e2l_collector_watcher_events_dropped_total") != 5 {
		t.Errorf("parsed %v", m)
	}
}

func TestTheChainerSealsAContiguousChain(t *testing.T) {
	c := newChainer()
	var recs []record.Sealed
	for i := range 4 {
		s, err := c.seal(eventRecord("bench", int64(i), time.Now().UnixNano()+int64(i)))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, s)
	}
	if err := record.CheckBatch(record.Batch{Records: recs}); err != nil {
		t.Errorf("CheckBatch: %v", err)
	}
}

func TestADockerEventBecomesAValidRecord(t *testing.T) {
	var ev dockerEvent
	ev.Type, ev.Action, ev.TimeNano = "container", "exec_start: sh -c true", 1_700_000_000_000_000_000
	ev.Actor.ID = strings.Repeat("a", 64)
	ev.Actor.Attributes = map[string]string{"name": "web", "image": "e2l-busybox:test"}
	r := ev.toRecord("bench")
	r.Seq, r.Prev = 1, record.GenesisPrev
	if _, err := record.Seal(r); err != nil {
		t.Fatalf("Seal: %v", err)
	}
	if r.Event.Action != "exec_start" {
		t.Errorf("action %q, want exec_start", r.Event.Action)
	}
}
