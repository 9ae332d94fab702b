//go:build integration

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The attack suite (issue 11): a dishonest member of the consortium (an org
// with its own CA, peer and orderer) and anyone handing an auditor a file,
// each attack run against the real network or against real archives and
// receipts exported from it with the real e2l binary. Every row must end
// refused or detected, with the message that names it, and whatever honest
// party the attack aimed at must keep working. The table is logged and
// written to test/integration/.artifacts/attacks.md (make attacks prints it);
// docs/security.md holds the threat model and the last table.

// attack is one row of the suite.
type attack struct {
	name     string // the subtest's name
	who      string // the attacker: org and role
	expected string
	verdict  string // the result column when the subtest passes: refused, detected, works
	run      func(t *testing.T, f *attackFixture, ev *evidence)
}

// evidence is what the system answered the attack with: the refusal or the
// verification finding that names it.
type evidence struct{ msg string }

func (e *evidence) set(format string, args ...any) { e.msg = fmt.Sprintf(format, args...) }

// attackRow is one line of the table.
type attackRow struct {
	Attack, Who, Expected, Verdict, Evidence string
	Passed, Ran                              bool
	Duration                                 time.Duration
}

func attacks() []attack {
	return []attack{
		{"cross-org host claim", "Developer (its own CA enrolls a collector named after a Provider host)",
			"refused `host-owned` at endorsement, nothing written, the Provider collector's next record commits", "refused", attackCrossOrgHostClaim},
		{"same-org collector writes another host", "Provider collector of host A",
			"refused `access-denied`, nothing written, host B's collector still commits", "refused", attackSameOrgOtherHost},
		{"org admin writes records or takes another org's host", "Provider admin; Developer admin; Provider collector",
			"records refused `access-denied`; registry writes refused `host-owned` / `not-admin`; registry unchanged", "refused", attackAdmins},
		{"worker reports a swarm event", "Provider host registered as a Swarm worker",
			"refused `not-a-manager`; a manager's report is stored; the worker's own events commit", "refused", attackWorkerSwarmEvent},
		{"record dated in the future", "Provider collector",
			"refused `future-dated`, nothing written", "refused", attackFutureDated},
		{"state-write flood", "Provider collector",
			"bounded by the state layout: commits with 2 writes per record (layout 1: one per container, refused `too-many-writes`)", "bounded", attackWriteFlood},
		{"replayed transaction of another host", "anyone holding a committed envelope (an orderer org, a peer)",
			"ordered but invalidated DUPLICATE_TXID by every peer; the host's chain unchanged", "invalidated", attackReplay},
		{"archive of an impostor network", "anyone building a network from scratch with the same MSP names",
			"verify --archive fails naming the anchor mismatch; without an anchor no OK; the honest archive passes with the right one", "detected", attackImpostorArchive},
		{"duplicated block", "an orderer org signing a second block of one number",
			"detected: two different blocks of one number", "detected", attackDuplicatedBlock},
		{"re-signed block spliced between two real ones", "an orderer org re-signing a block alone",
			"detected: the next block's PreviousHash does not link", "detected", attackSplicedBlock},
		{"block withheld from an archive", "whoever hands over the archive",
			"detected: the record's transaction is in none of the archive's blocks", "detected", attackWithheldBlock},
		{"another org's client key as an endorser", "Provider org (its peer, collector and orderer) holding one Developer collector's key",
			"detected: an endorsement not by a peer of its org", "detected", attackClientEndorsement},
		{"MVCC loser with its VALID flag flipped", "a Provider host's double submit, then the archive's holder",
			"the real loser is MVCC_READ_CONFLICT; the flipped archive is detected (its stale read of the chain slot)", "detected", attackFlippedMVCCLoser},
		{"MVCC loser of a batch (one range read of its slots) with its VALID flag flipped", "a Provider host's double submit of 3 records, then the archive's holder",
			"the real loser is PHANTOM_READ_CONFLICT; the flipped archive is detected (its range replayed as stale reads of the chain slots)", "detected", attackFlippedRangeLoser},
		{"configuration rotation signed by one org", "Provider admin and the Provider orderer org",
			"the real orderer refuses the update; a forged configuration block carrying it is detected (mod_policy)", "refused + detected", attackConfigRotation},
		{"truncated archive", "whoever hands over the archive",
			"a clear error, never OK", "detected", attackTruncatedArchive},
		{"receipt with a self-made configuration", "anyone (impostor network's or a swapped configuration block)",
			"verify-receipt refuses", "detected", attackReceiptSelfMadeConfig},
		{"receipt without a trust anchor", "anyone handing over a receipt",
			"verify-receipt refuses to say OK; with the anchor it passes", "refused (no OK)", attackReceiptNoAnchor},
		{"oversized page", "a Provider host writing snapshots near the record size limit",
			"verify, hosts and usage work for every host", "works", attackOversizedPage},
	}
}

func TestAttacks(t *testing.T) {
	f := newAttackFixture(t)
	var rows []attackRow
	began := time.Now()
	t.Cleanup(func() { writeAttackTable(t, rows, time.Since(began)) })
	for _, a := range attacks() {
		row := attackRow{Attack: a.name, Who: a.who, Expected: a.expected, Verdict: a.verdict}
		start := time.Now()
		ev := &evidence{}
		row.Passed = t.Run(a.name, func(t *testing.T) {
			row.Ran = true
			a.run(t, f, ev)
			if ev.msg == "" && !t.Failed() {
				t.Error("the attack recorded no evidence")
			}
		})
		row.Evidence, row.Duration = ev.msg, time.Since(start)
		if row.Ran {
			rows = append(rows, row)
		}
	}
}

// writeAttackTable logs the table and writes it to .artifacts/attacks.md.
func writeAttackTable(t *testing.T, rows []attackRow, total time.Duration) {
	var b strings.Builder
	fmt.Fprintf(&b, "Attack suite, %s (%s total)\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), total.Round(time.Second))
	b.WriteString("| # | attack | who | expected | result | evidence |\n|---|---|---|---|---|---|\n")
	for i, r := range rows {
		res := r.Verdict
		if !r.Passed {
			res = "**FAIL**"
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s |\n", i+1, cell(r.Attack), cell(r.Who), cell(r.Expected), res, cell(r.Evidence))
	}
	t.Log("\n" + b.String())
	path := filepath.Join(artifactsDir(t), "attacks.md")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Errorf("write %s: %v", path, err)
	}
}

// cell makes text fit a Markdown table cell: one line, no bare pipe, at
// most 600 characters.
func cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.ReplaceAll(s, "|", `\|`)
	if len(s) > 600 {
		s = s[:600] + " …"
	}
	return s
}
