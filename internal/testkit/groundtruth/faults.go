package groundtruth

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// Outcome is a fault scenario's verdict in the fault table: PASS, FAIL or
// SKIPPED. A skipped subtest is not a pass, although testing.T.Run reports
// true for it.
func Outcome(failed, skipped bool) string {
	switch {
	case failed:
		return "FAIL"
	case skipped:
		return "SKIPPED"
	default:
		return "PASS"
	}
}

// LeaderChanged is the evidence that stopping the Raft leader took effect:
// after the fault, another orderer leads.
func LeaderChanged(before, after int) error {
	if before < 0 || after < 0 {
		return fmt.Errorf("raft leader before the fault %d, after %d: unknown", before, after)
	}
	if before == after {
		return fmt.Errorf("orderer %d still leads after it was stopped: the fault did not take effect", before)
	}
	return nil
}

// transactionsSeries is the collector's transaction outcome counter
// (labels stage and reason; reason "valid" for a committed transaction).
const transactionsSeries = "e2l_collector_ledger_transactions_total{"

// FailedTransactions sums the collector's transactions that did not commit
// VALID, from a scrape keyed by series (name{labels} as exposed).
func FailedTransactions(scrape map[string]float64) float64 {
	var n float64
	for series, v := range scrape {
		if strings.HasPrefix(series, transactionsSeries) && !strings.Contains(series, `reason="valid"`) {
			n += v
		}
	}
	return n
}

// Outage is what a collector showed while a ledger component (the
// chaincode servers) was down.
type Outage struct {
	Start, End time.Time
	// FailedBefore and FailedAfter: FailedTransactions at the fault's start
	// and just before it was restored.
	FailedBefore, FailedAfter float64
	// PendingAtEnd: spool records pending just before the restore;
	// LastCommitAtEnd: the collector's last commit then.
	PendingAtEnd    float64
	LastCommitAtEnd time.Time
}

// TookEffect is the evidence that the outage reached the collector:
// transactions failed during it, or a backlog formed that nothing
// committed during the outage (a backlog alone may be transactions in
// flight).
func (o Outage) TookEffect() error {
	failed := o.FailedAfter - o.FailedBefore
	if failed > 0 {
		return nil
	}
	if o.PendingAtEnd > 0 && o.LastCommitAtEnd.Before(o.Start.Add(time.Second)) {
		return nil
	}
	return fmt.Errorf("no transaction failed during the %s outage and no backlog formed without commits "+
		"(pending %v at its end, last commit %s after its start): the fault did not take effect",
		o.End.Sub(o.Start).Round(100*time.Millisecond), o.PendingAtEnd, o.LastCommitAtEnd.Sub(o.Start).Round(time.Millisecond))
}

// Rule is one Prometheus rule as its /api/v1/rules reports it.
type Rule struct {
	Group, Name, Health, LastError string
}

// RuleProblems lists what is wrong with the loaded rules: none loaded, a
// rule missing, or a rule whose health is not "ok" (it failed to evaluate,
// or was never evaluated).
func RuleProblems(rules []Rule, want []string) []string {
	var out []string
	if len(rules) == 0 {
		return []string{"no rule loaded"}
	}
	have := map[string]bool{}
	for _, r := range rules {
		have[r.Name] = true
		if r.Health != "ok" {
			out = append(out, fmt.Sprintf("rule %s/%s health %q %s", r.Group, r.Name, r.Health, r.LastError))
		}
	}
	for _, n := range want {
		if !have[n] {
			out = append(out, fmt.Sprintf("rule %s not loaded", n))
		}
	}
	return out
}

// MissingActions lists the wanted (kind, action) pairs that have is
// missing; have and want map an event type to its actions.
func MissingActions(have, want map[string][]string) []string {
	var out []string
	for kind, actions := range want {
		for _, a := range actions {
			found := false
			for _, h := range have[kind] {
				found = found || h == a
			}
			if !found {
				out = append(out, kind+" "+a)
			}
		}
	}
	slices.Sort(out)
	return out
}

// RunScenario runs f as the subtest name of t and returns whether it ran
// (-run may deselect it) and its Outcome. testing.T.Run reports true for a
// skipped subtest and t.Skip ends f early, so the verdict is read on the
// way out of the subtest.
func RunScenario(t *testing.T, name string, f func(t *testing.T)) (ran bool, outcome string) {
	skipped := false
	ok := t.Run(name, func(t *testing.T) {
		ran = true
		defer func() { skipped = t.Skipped() }()
		f(t)
	})
	return ran, Outcome(!ok, skipped)
}
