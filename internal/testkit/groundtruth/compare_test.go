package groundtruth

import (
	"strings"
	"testing"

	"github.com/e2l-project/e2l/internal/record"
)

func keys(times ...int64) []Key {
	var out []Key
	for _, t := range times {
		out = append(out, Key{Type: "container", Action: "start", Actor: "c", TimeNano: t})
	}
	return out
}

// A scenario's honest ledger and each way of breaking it: each broken
// variant must fail the comparison that the honest one passes.
func TestCompare(t *testing.T) {
	truth := keys(10, 20, 30, 40, 50)
	window := Window{From: 0, To: 100}
	spoolFull := Excuses{{Reason: record.GapSpoolFull, CountKnown: true}}
	collectorDown := Excuses{{Reason: record.GapCollectorDown, Windows: []Window{{From: 15, To: 45}}, Exact: true}}
	tests := []struct {
		name        string
		ledger      []Key
		gaps        []record.Gap
		ex          Excuses
		ok          bool
		lost, dup   int
		phantom     int
		covered     int
		badGaps     int
		problemPart string
	}{
		{name: "every event once and no gap passes", ledger: truth, ok: true},
		{name: "a dropped event with no gap is lost", ledger: keys(10, 20, 40, 50), lost: 1, problemPart: "no gap reports it"},
		{name: "a duplicated record fails", ledger: keys(10, 20, 30, 30, 40, 50), dup: 1, problemPart: "2 times"},
		{name: "an event Docker did not emit is a phantom", ledger: keys(10, 20, 25, 30, 40, 50), phantom: 1},
		{name: "a phantom outside the window is not the scenario's", ledger: keys(10, 20, 30, 40, 50, 500), ok: true},
		{
			name: "a spool-full gap reporting exactly the dropped events excuses them", ok: true,
			ledger: keys(10, 40, 50), gaps: []record.Gap{{From: 15, To: 35, Reason: record.GapSpoolFull, Lost: 2}}, ex: spoolFull, covered: 2,
		},
		{
			name:   "a spool-full gap reporting fewer lost than are missing fails",
			ledger: keys(10, 40, 50), gaps: []record.Gap{{From: 15, To: 35, Reason: record.GapSpoolFull, Lost: 1}}, ex: spoolFull,
			covered: 2, badGaps: 1, problemPart: "report 1 lost, but 2 missing",
		},
		{
			name:   "a spool-full gap reporting more lost than are missing fails",
			ledger: keys(10, 20, 40, 50), gaps: []record.Gap{{From: 15, To: 35, Reason: record.GapSpoolFull, Lost: 2}}, ex: spoolFull,
			covered: 1, badGaps: 1,
		},
		{
			name:   "a spool-full gap reporting 0 lost fails",
			ledger: keys(10, 20, 40, 50), gaps: []record.Gap{{From: 15, To: 35, Reason: record.GapSpoolFull}}, ex: spoolFull,
			covered: 1, badGaps: 2, problemPart: "reports 0 lost",
		},
		{
			name:   "a gap of a reason the scenario cannot produce excuses nothing",
			ledger: keys(10, 40, 50), gaps: []record.Gap{{From: 15, To: 35, Reason: record.GapDockerRestart}}, ex: spoolFull,
			lost: 2, badGaps: 1, problemPart: "cannot produce",
		},
		{
			name:   "a gap in a scenario that needs none fails even if nothing is missing",
			ledger: truth, gaps: []record.Gap{{From: 15, To: 35, Reason: record.GapCollectorDown}},
			badGaps: 1,
		},
		{
			name: "a collector-down gap inside the outage excuses what it covers", ok: true,
			ledger: keys(10, 40, 50), gaps: []record.Gap{{From: 16, To: 35, Reason: record.GapCollectorDown}}, ex: collectorDown, covered: 2,
		},
		{
			name:   "a collector-down gap outside the outage fails",
			ledger: keys(10, 40, 50), gaps: []record.Gap{{From: 10, To: 35, Reason: record.GapCollectorDown}}, ex: collectorDown,
			covered: 2, badGaps: 1, problemPart: "outside the fault's windows",
		},
		{
			name:   "a collector-down gap that also spans a recorded event overstates what is missing",
			ledger: keys(10, 30, 50), gaps: []record.Gap{{From: 16, To: 45, Reason: record.GapCollectorDown}}, ex: collectorDown,
			covered: 2, badGaps: 1, problemPart: "overstates",
		},
		{
			name: "the recorded events at a gap's bounds do not make it overstate", ok: true,
			ledger: keys(10, 20, 40, 50), gaps: []record.Gap{{From: 20, To: 40, Reason: record.GapCollectorDown}}, ex: collectorDown, covered: 1,
		},
		{
			name:   "a missing event outside every gap's window is lost",
			ledger: keys(10, 20, 40), gaps: []record.Gap{{From: 20, To: 40, Reason: record.GapCollectorDown}}, ex: collectorDown,
			covered: 1, lost: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Compare(truth, tt.ledger, tt.gaps, window, tt.ex)
			if c.OK() != tt.ok || c.Lost != tt.lost || c.Duplicated != tt.dup || c.Phantom != tt.phantom || c.Covered != tt.covered || c.BadGaps != tt.badGaps {
				t.Errorf("OK %t lost %d dup %d phantom %d covered %d badGaps %d, want %t %d %d %d %d %d; problems %q",
					c.OK(), c.Lost, c.Duplicated, c.Phantom, c.Covered, c.BadGaps, tt.ok, tt.lost, tt.dup, tt.phantom, tt.covered, tt.badGaps, c.Problems)
			}
			if c.GroundTruth != len(truth) {
				t.Errorf("ground truth %d, want %d", c.GroundTruth, len(truth))
			}
			if tt.problemPart != "" && !strings.Contains(strings.Join(c.Problems, "\n"), tt.problemPart) {
				t.Errorf("problems %q lack %q", c.Problems, tt.problemPart)
			}
			if tt.ok && len(c.Problems) != 0 {
				t.Errorf("a faithful ledger has problems %q", c.Problems)
			}
		})
	}
}

func TestCompleteWaitsForEveryMissingEventToBeExcused(t *testing.T) {
	truth := keys(10, 20)
	c := Compare(truth, keys(10), nil, Window{0, 100}, Excuses{{Reason: record.GapSpoolFull, CountKnown: true}})
	if c.Complete() {
		t.Error("complete with an event neither on the ledger nor in a gap")
	}
	c = Compare(truth, keys(10), []record.Gap{{From: 15, To: 25, Reason: record.GapSpoolFull, Lost: 1}}, Window{0, 100},
		Excuses{{Reason: record.GapSpoolFull, CountKnown: true}})
	if !c.Complete() || !c.OK() {
		t.Errorf("not complete and OK with the missing event reported: %+v", c)
	}
}

func TestRecordedByDefaultFollowsTheDocumentedFilter(t *testing.T) {
	tests := []struct {
		typ, action string
		want        bool
	}{
		{"container", "start", true},
		{"container", "die", true},
		{"container", "exec_start: sh -c true", false},
		{"container", "health_status: healthy", false},
		{"service", "update", true},
		{"node", "remove", true},
		{"volume", "create", false},
		{"network", "connect", false},
	}
	for _, tt := range tests {
		if got := RecordedByDefault(tt.typ, tt.action); got != tt.want {
			t.Errorf("RecordedByDefault(%s, %q) = %t, want %t", tt.typ, tt.action, got, tt.want)
		}
	}
}
