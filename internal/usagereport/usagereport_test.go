package usagereport

import (
	"bytes"
	"testing"
	"time"

	"github.com/e2l-project/e2l/internal/audit"
)

func TestWriteCSVIsWhatTheCLIPrints(t *testing.T) {
	rows := []audit.UsageRow{{Group: "web, the front", Containers: 2, Running: 1500 * time.Millisecond, Uncertain: 2 * time.Hour,
		Paused: 250 * time.Millisecond, PausedUncertain: 0, Intervals: 3}}
	ivs := []audit.Interval{{Group: "web", Host: "vm", Container: "0123456789abcdef0123", Name: "web.1", State: audit.StatePaused,
		From: 1_790_000_000_000_000_000, To: 1_790_000_002_500_000_000, Uncertain: true, Reason: "overlaps a gap"}}
	tests := []struct {
		name      string
		intervals bool
		want      string
	}{
		{"the totals in seconds, a group with a comma quoted", false,
			"GROUP,CONTAINERS,RUNNING,UNCERTAIN,PAUSED,PAUSED UNCERTAIN,INTERVALS\n" +
				"\"web, the front\",2,1.500,7200.000,0.250,0.000,3\n"},
		{"every interval with whole IDs", true,
			"GROUP,HOST,CONTAINER,NAME,STATE,FROM,TO,DURATION,UNCERTAIN\n" +
				"web,vm,0123456789abcdef0123,web.1,paused,2026-09-21T14:13:20.000Z,2026-09-21T14:13:22.500Z,2.5s,yes: overlaps a gap\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteCSV(&b, rows, ivs, tt.intervals); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("CSV:\n%s\nwant:\n%s", b.String(), tt.want)
			}
		})
	}
}

func TestCellsForPeopleRoundAndCut(t *testing.T) {
	r := audit.UsageRow{Group: "g", Running: 90*time.Minute + 400*time.Millisecond, Paused: 1234567 * time.Microsecond}
	got := TotalsCells(r, false)
	if got[2] != "1h30m0s" || got[4] != "1.235s" {
		t.Errorf("cells %q", got)
	}
	iv := audit.Interval{Container: "0123456789abcdef0123"}
	if c := IntervalCells(iv, false)[2]; c != "0123456789ab" {
		t.Errorf("container cell %q", c)
	}
}
