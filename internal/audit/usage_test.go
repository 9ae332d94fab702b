package audit

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/e2l-project/e2l/internal/record"
)

func plain(recs ...record.Sealed) []Stored {
	var out []Stored
	for _, s := range recs {
		out = append(out, Stored{ID: s.ID, Hash: s.Hash, Record: s.Record.Canonical()})
	}
	return out
}

func TestComputeUsage(t *testing.T) {
	s := time.Second
	svc := map[string]string{ServiceLabel: "api", "team": "blue"}
	tests := []struct {
		name          string
		build         func(c *chainer) []record.Sealed
		from, to      time.Duration
		by            string
		wantGroups    int
		wantRunning   time.Duration
		wantUncertain time.Duration
		wantPaused    time.Duration // certain; uncertain paused time is checked by its own test
	}{
		{"start to die counts the whole interval", func(c *chainer) []record.Sealed {
			return []record.Sealed{c.at(-s).start(), c.at(0).event("container", "start", "c1", "web", nil),
				c.at(4*s).event("container", "kill", "c1", "web", nil), c.at(10*s).event("container", "die", "c1", "web", nil),
				c.at(11*s).event("container", "stop", "c1", "web", nil)}
		}, 0, 100 * s, "", 1, 10 * s, 0, 0},
		{"paused time is excluded", func(c *chainer) []record.Sealed {
			return []record.Sealed{c.at(0).event("container", "start", "c1", "web", nil), c.at(4*s).event("container", "pause", "c1", "web", nil),
				c.at(6*s).event("container", "unpause", "c1", "web", nil), c.at(10*s).event("container", "die", "c1", "web", nil)}
		}, 0, 100 * s, "", 1, 8 * s, 0, 2 * s},
		{"a container killed while paused: the pause ends at its die", func(c *chainer) []record.Sealed {
			return []record.Sealed{c.at(0).event("container", "start", "c1", "web", nil), c.at(4*s).event("container", "pause", "c1", "web", nil),
				c.at(9*s).event("container", "kill", "c1", "web", nil), c.at(9*s).event("container", "die", "c1", "web", nil),
				c.at(9*s).event("container", "destroy", "c1", "web", nil)}
		}, 0, 100 * s, "", 1, 4 * s, 0, 5 * s},
		{"a pause whose start was not recorded: running is uncertain, the pause is not", func(c *chainer) []record.Sealed {
			return []record.Sealed{c.at(0).start(), c.at(3*s).event("container", "pause", "c1", "web", nil),
				c.at(5*s).event("container", "unpause", "c1", "web", nil), c.at(8*s).event("container", "die", "c1", "web", nil)}
		}, 0, 100 * s, "", 1, 3 * s, 3 * s, 2 * s},
		{"a container started again after a die before the first record: both runs count", func(c *chainer) []record.Sealed {
			return []record.Sealed{c.at(0).start(), c.at(2*s).event("container", "die", "c1", "web", nil),
				c.at(5*s).event("container", "start", "c1", "web", nil), c.at(9*s).event("container", "die", "c1", "web", nil)}
		}, 0, 100 * s, "", 1, 4 * s, 2 * s, 0},
		{"intervals are clipped to the window", func(c *chainer) []record.Sealed {
			return []record.Sealed{c.at(0).event("container", "start", "c1", "web", nil), c.at(10*s).event("container", "die", "c1", "web", nil)}
		}, 5 * s, 8 * s, "", 1, 3 * s, 0, 0},
		{"an interval outside the window is not counted", func(c *chainer) []record.Sealed {
			return []record.Sealed{c.at(0).event("container", "start", "c1", "web", nil), c.at(10*s).event("container", "die", "c1", "web", nil)}
		}, 20 * s, 30 * s, "", 0, 0, 0, 0},
		{"an interval overlapping a gap is uncertain, not dropped", func(c *chainer) []record.Sealed {
			return []record.Sealed{c.at(0).event("container", "start", "c1", "web", nil), c.at(3*s).gap(2*s, 3*s),
				c.at(10*s).event("container", "die", "c1", "web", nil)}
		}, 0, 100 * s, "", 1, 0, 10 * s, 0},
		{"a gap outside the interval leaves it certain", func(c *chainer) []record.Sealed {
			return []record.Sealed{c.at(0).event("container", "start", "c1", "web", nil), c.at(10*s).event("container", "die", "c1", "web", nil),
				c.at(30*s).gap(20*s, 30*s)}
		}, 0, 100 * s, "", 1, 10 * s, 0, 0},
		{"an interval over missing records is uncertain", func(c *chainer) []record.Sealed {
			r := []record.Sealed{c.at(0).event("container", "start", "c1", "web", nil)}
			c.skip()
			return append(r, c.at(10*s).event("container", "die", "c1", "web", nil))
		}, 0, 100 * s, "", 1, 0, 10 * s, 0},
		{"running at the last record is certain up to it and uncertain after", func(c *chainer) []record.Sealed {
			return []record.Sealed{c.at(0).event("container", "start", "c1", "web", nil), c.at(10 * s).heartbeat()}
		}, 0, 20 * s, "", 1, 10 * s, 10 * s, 0},
		{"a die whose start was not recorded is uncertain from the first record", func(c *chainer) []record.Sealed {
			return []record.Sealed{c.at(0).start(), c.at(5*s).event("container", "die", "c1", "web", nil)}
		}, 0, 100 * s, "", 1, 0, 5 * s, 0},
		{"containers group by service", func(c *chainer) []record.Sealed {
			return []record.Sealed{c.at(0).event("container", "start", "c1", "api.1", svc), c.at(1*s).event("container", "start", "c2", "api.2", svc),
				c.at(5*s).event("container", "die", "c1", "api.1", svc), c.at(7*s).event("container", "die", "c2", "api.2", svc)}
		}, 0, 100 * s, "service", 1, 11 * s, 0, 0},
		{"containers group by a label", func(c *chainer) []record.Sealed {
			return []record.Sealed{c.at(0).event("container", "start", "c1", "api.1", svc), c.at(1*s).event("container", "start", "c2", "db", nil),
				c.at(5*s).event("container", "die", "c1", "api.1", svc), c.at(7*s).event("container", "die", "c2", "db", nil)}
		}, 0, 100 * s, "label=team", 2, 11 * s, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newChainer(t, "node1")
			ch := CheckChain("node1", plain(tc.build(c)...), ChainOptions{})
			rows, ivs, err := ComputeUsage([]*Chain{ch}, UsageOptions{From: t0.Add(tc.from).UnixNano(), To: t0.Add(tc.to).UnixNano(), By: tc.by})
			if err != nil {
				t.Fatal(err)
			}
			var run, unc, paused time.Duration
			for _, r := range rows {
				run += r.Running
				unc += r.Uncertain
				paused += r.Paused
			}
			if len(rows) != tc.wantGroups || run != tc.wantRunning || unc != tc.wantUncertain || paused != tc.wantPaused {
				t.Fatalf("got %d groups, running %s, uncertain %s, paused %s; want %d, %s, %s, %s\nrows %+v\nintervals %+v",
					len(rows), run, unc, paused, tc.wantGroups, tc.wantRunning, tc.wantUncertain, tc.wantPaused, rows, ivs)
			}
			for _, iv := range ivs {
				if iv.Uncertain && iv.Reason == "" {
					t.Fatalf("uncertain interval without a reason: %+v", iv)
				}
			}
		})
	}
}

func TestComputeUsagePausedAtTheLastRecord(t *testing.T) {
	s := time.Second
	c := newChainer(t, "node1")
	recs := []record.Sealed{c.at(0).event("container", "start", "c1", "web", nil), c.at(2*s).event("container", "pause", "c1", "web", nil),
		c.at(6 * s).heartbeat()}
	rows, ivs, err := ComputeUsage([]*Chain{CheckChain("node1", plain(recs...), ChainOptions{})},
		UsageOptions{From: t0.UnixNano(), To: t0.Add(10 * s).UnixNano()})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Running != 2*s || rows[0].Paused != 4*s || rows[0].PausedUncertain != 4*s || rows[0].Uncertain != 0 {
		t.Fatalf("rows %+v, want running 2s, paused 4s certain + 4s uncertain\nintervals %+v", rows, ivs)
	}
	last := ivs[len(ivs)-1]
	if last.State != StatePaused || !last.Uncertain || last.Reason != "still paused at the host's last record" {
		t.Fatalf("last interval %+v, want an uncertain paused one", last)
	}
}

func TestComputeUsageRefusesABadGrouping(t *testing.T) {
	if _, _, err := ComputeUsage(nil, UsageOptions{By: "colour"}); err == nil {
		t.Fatal("want an error for --by colour")
	}
}

// Intervals come ordered by start; those of one start keep the order of
// their hosts and, on a host, of their containers' IDs.
func TestUsageIntervalsInOrderOfStart(t *testing.T) {
	ev := func(_ string, seq uint64, at int64, action, id string) UsageEvent {
		return UsageEvent{Seq: seq, Time: at, Action: action, Actor: id}
	}
	inputs := []UsageInput{
		{Host: "h2", FirstTime: 0, LastTime: 100, Events: []UsageEvent{
			ev("h2", 1, 10, "start", "b"), ev("h2", 2, 10, "start", "a"), ev("h2", 3, 50, "die", "a"), ev("h2", 4, 60, "die", "b"),
			ev("h2", 5, 5, "start", "c"), ev("h2", 6, 7, "die", "c")}},
		{Host: "h1", FirstTime: 0, LastTime: 100, Events: []UsageEvent{
			ev("h1", 1, 10, "start", "z"), ev("h1", 2, 20, "die", "z"), ev("h1", 3, 1, "start", "y"), ev("h1", 4, 2, "die", "y")}},
	}
	_, ivs, err := UsageOf(inputs, UsageOptions{From: 0, To: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, iv := range ivs {
		got = append(got, fmt.Sprintf("%s/%s@%d", iv.Host, iv.Container, iv.From))
	}
	// On h2, a's interval closes first (at its die), then b's.
	want := []string{"h1/y@1", "h2/c@5", "h2/a@10", "h2/b@10", "h1/z@10"}
	if !slices.Equal(got, want) {
		t.Fatalf("intervals %v, want %v", got, want)
	}
}
