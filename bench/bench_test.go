package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/e2l-project/e2l/internal/promtext"
	"github.com/e2l-project/e2l/internal/record"
)

func TestParseMetricsKeepsSeriesWithTheirLabels(t *testing.T) {
	m, err := promtext.Parse(strings.NewReader(`# HELP x y
e2l_collector_docker_stream_up 1
e2l_collector_watcher_events_dropped_total{reason="queue_full"} 2
e2l_collector_watcher_events_dropped_total{reason="spool_full"} 3
`))
	if err != nil {
		t.Fatal(err)
	}
	if m["e2l_collector_docker_stream_up"] != 1 || m["e2l_collector_watcher_events_dropped_total"] != 5 {
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
	ev.Actor.Attributes = map[string]string{"name": "web", "image": "e2l-testbox:test"}
	r := ev.toRecord("bench")
	r.Seq, r.Prev = 1, record.GenesisPrev
	if _, err := record.Seal(r); err != nil {
		t.Fatalf("Seal: %v", err)
	}
	if r.Event.Action != "exec_start" {
		t.Errorf("action %q, want exec_start", r.Event.Action)
	}
}

func TestTargetsCompareWithTheHigherCeiling(t *testing.T) {
	for _, c := range []struct {
		name             string
		first, end       float64 // 0: not measured
		wantOne, wantBat string
	}{
		{"the first is higher", 200, 150, "90 % of gateway-ceiling", "7.00x gateway-ceiling"},
		{"the end is higher", 100, 200, "90 % of gateway-ceiling-end", "7.00x gateway-ceiling-end"},
		{"no end ceiling", 200, 0, "90 % of gateway-ceiling", "7.00x gateway-ceiling"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newReport(Config{})
			set := func(name string, perS float64) {
				if perS > 0 {
					res := r.result(name)
					res.Method, res.EventsPerS = "measured", perS
				}
			}
			set(GatewayCeiling, c.first)
			set(GatewayCeilingEnd, c.end)
			top := max(c.first, c.end)
			set(CollectorOnePerTx, 0.9*top)
			set(CollectorBatched, 7*top)
			got := map[string]Target{}
			for _, tg := range r.Targets() {
				got[tg.Name[:3]] = tg
			}
			if g := got["(3)"]; g.Value != c.wantOne || g.Verdict != "MET" {
				t.Errorf("target (3) = %q %s, want %q MET", g.Value, g.Verdict, c.wantOne)
			}
			if g := got["(4)"]; g.Value != c.wantBat || g.Verdict != "MET" {
				t.Errorf("target (4) = %q %s, want %q MET", g.Value, g.Verdict, c.wantBat)
			}
		})
	}
}
