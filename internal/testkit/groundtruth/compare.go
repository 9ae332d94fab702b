package groundtruth

import (
	"fmt"
	"slices"
	"strings"

	"github.com/e2l-project/e2l/internal/record"
)

// GapRule says a scenario can produce gap records of one reason, and how
// such a gap may excuse a missing event.
type GapRule struct {
	Reason string
	// CountKnown: the collector knows how many events it lost (spool-full,
	// dead-letter): the gaps' lost counts must add up to exactly the missing
	// events their windows cover, and a gap reporting 0 lost is wrong.
	CountKnown bool
	// Windows, when set, are the times the fault was active: each gap of
	// this reason must lie inside one of them.
	Windows []Window
	// Exact: the gap covers exactly what is missing: no ground-truth event
	// strictly between its from (the last event the collector saw) and its
	// to (the first it saw again) is on the ledger. True of collector-down,
	// docker-restart and replay-window gaps, not of spool-full ones (events
	// that fit the spool are interleaved with those dropped).
	Exact bool
}

// Excuses are the gap rules of a scenario. None: no gap record is
// expected, and every missing event is lost.
type Excuses []GapRule

func (e Excuses) rule(reason string) (GapRule, bool) {
	i := slices.IndexFunc(e, func(r GapRule) bool { return r.Reason == reason })
	if i < 0 {
		return GapRule{}, false
	}
	return e[i], true
}

// Comparison is what the ledger shows against the ground truth.
type Comparison struct {
	GroundTruth int // distinct events the collector should have recorded
	Once        int // on the ledger exactly once
	Duplicated  int // extra copies of ground-truth events on the ledger
	Missing     int // not on the ledger
	Covered     int // missing, excused by a gap record the scenario can produce
	Lost        int // missing and not excused: silent loss
	Phantom     int // event records in the window that Docker did not emit
	BadGaps     int // gap records the scenario cannot produce, outside its fault windows, or with a wrong lost count
	GapLost     uint64
	Gaps        []record.Gap
	Problems    []string // the first problems, for the test log
}

// OK reports whether the ledger is faithful: nothing lost, twice, invented,
// and every gap record one the scenario can produce with the right count.
func (c Comparison) OK() bool {
	return c.Lost == 0 && c.Duplicated == 0 && c.Phantom == 0 && c.BadGaps == 0
}

// Complete reports whether every ground-truth event is on the ledger or
// excused: waiting longer will not change the verdict.
func (c Comparison) Complete() bool { return c.Missing == c.Covered && c.Lost == 0 && c.BadGaps == 0 }

// GapSummary lists the gap records' reasons and lost counts.
func (c Comparison) GapSummary() string {
	if len(c.Gaps) == 0 {
		return "none"
	}
	var parts []string
	for _, g := range c.Gaps {
		s := g.Reason
		if g.Lost > 0 {
			s += fmt.Sprintf(" (lost %d)", g.Lost)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

func (c *Comparison) problem(format string, args ...any) {
	if len(c.Problems) < 20 {
		c.Problems = append(c.Problems, fmt.Sprintf(format, args...))
	}
}

// Compare compares the ledger's event records (keys, in chain order) and
// gap records of one host with the ground truth: the events Docker emitted
// that the collector records, up to the scenario's end. Ledger events in
// window that Docker did not emit are phantoms. A missing event is excused
// only by a gap whose reason the scenario can produce (ex); gaps of a
// count-known reason must report exactly the missing events they cover.
func Compare(truth, ledger []Key, gaps []record.Gap, window Window, ex Excuses) Comparison {
	c := Comparison{Gaps: gaps}
	onLedger := map[Key]int{}
	for _, k := range ledger {
		onLedger[k]++
	}
	for _, g := range gaps {
		c.GapLost += g.Lost
		r, ok := ex.rule(g.Reason)
		switch {
		case !ok:
			c.BadGaps++
			c.problem("gap %s %s (lost %d): this scenario cannot produce a %s gap", g.Reason, Window{g.From, g.To}, g.Lost, g.Reason)
		case len(r.Windows) > 0 && !slices.ContainsFunc(r.Windows, func(w Window) bool { return w.Holds(g.From, g.To) }):
			c.BadGaps++
			c.problem("gap %s %s lies outside the fault's windows %v", g.Reason, Window{g.From, g.To}, r.Windows)
		case r.CountKnown && g.Lost == 0:
			c.BadGaps++
			c.problem("gap %s %s reports 0 lost: the collector knows the count for %s", g.Reason, Window{g.From, g.To}, g.Reason)
		}
	}
	coveredBy := map[string]int{} // missing events covered, by count-known reason
	wanted := map[Key]bool{}
	for _, k := range truth {
		if wanted[k] {
			continue
		}
		wanted[k] = true
		c.GroundTruth++
		switch n := onLedger[k]; {
		case n == 0:
			c.Missing++
			var allowed, other []string
			for _, g := range gaps {
				if !(g.From <= k.TimeNano && k.TimeNano <= g.To) {
					continue
				}
				if _, ok := ex.rule(g.Reason); ok {
					allowed = append(allowed, g.Reason)
				} else {
					other = append(other, g.Reason)
				}
			}
			switch {
			case len(allowed) > 0:
				c.Covered++
				for _, reason := range slices.Compact(slices.Sorted(slices.Values(allowed))) {
					if r, _ := ex.rule(reason); r.CountKnown {
						coveredBy[reason]++
					}
				}
			case len(other) > 0:
				c.Lost++
				c.problem("%s is missing, covered only by a gap the scenario cannot produce (%s)", k, strings.Join(other, ", "))
			default:
				c.Lost++
				c.problem("%s is missing and no gap reports it", k)
			}
		case n > 1:
			c.Duplicated += n - 1
			c.problem("%s is on the ledger %d times", k, n)
		default:
			c.Once++
		}
	}
	for _, r := range ex {
		if !r.CountKnown {
			continue
		}
		var lost uint64
		for _, g := range gaps {
			if g.Reason == r.Reason {
				lost += g.Lost
			}
		}
		if lost != uint64(coveredBy[r.Reason]) {
			c.BadGaps++
			c.problem("%s gaps report %d lost, but %d missing events lie in their windows", r.Reason, lost, coveredBy[r.Reason])
		}
	}
	for _, g := range gaps {
		if r, ok := ex.rule(g.Reason); ok && r.Exact {
			for k := range wanted {
				if g.From < k.TimeNano && k.TimeNano < g.To && onLedger[k] > 0 {
					c.BadGaps++
					c.problem("gap %s %s overstates: %s inside it is on the ledger", g.Reason, Window{g.From, g.To}, k)
					break
				}
			}
		}
	}
	phantoms := map[Key]bool{}
	for _, k := range ledger {
		if window.Contains(k.TimeNano) && !wanted[k] && !phantoms[k] {
			phantoms[k] = true
			c.Phantom += onLedger[k]
			c.problem("%s is on the ledger but Docker did not emit it", k)
		}
	}
	return c
}
