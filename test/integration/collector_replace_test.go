//go:build integration

package integration

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/testkit/groundtruth"
	"github.com/e2l-project/e2l/network"
)

// A host's chain outlives its collector: the collector is replaced by one
// with an empty spool (a lost volume, or the host moved from the script to
// the Swarm stack or a package). The new one continues the chain from the
// ledger's head with one gap record (collector-replaced) covering the time
// no collector watched, and nothing is dead-lettered. A second collector
// for the host, while one runs, refuses to start and says why.
func TestACollectorWithANewSpoolContinuesTheHostsChain(t *testing.T) {
	if err := ensureTestImage(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	id := enrollHost(t, network.Provider, "it-col-replace", network.EnrollOptions{})
	gt := watchGroundTruth(t, "")
	chain := newLedgerChain(t, id, 50)

	first := startCollector(t, id, collectorOptions{})
	runs := startChurn(t, "", "e2l-it-replace-a", 3)
	runs.waitRuns(t, 3, 2*time.Minute)
	runs.stop()
	first.waitDrained(time.Now(), 2*time.Minute)
	first.Stop()
	stopped := time.Now()

	// While no collector runs: events only the gap can account for.
	down := startChurn(t, "", "e2l-it-replace-down", 2)
	down.waitRuns(t, 2, 2*time.Minute)
	down.stop()

	second := startCollector(t, id, collectorOptions{}) // a new, empty spool
	// The one gap allowed: collector-replaced, from the first collector's
	// stop record to the second's start, covering exactly what is missing.
	chain.expectGaps(groundtruth.GapRule{Reason: record.GapCollectorReplaced, Exact: true,
		Windows: []groundtruth.Window{{From: stopped.Add(-time.Minute).UnixNano(), To: time.Now().UnixNano()}}})
	more := startChurn(t, "", "e2l-it-replace-b", 3)
	more.waitRuns(t, 3, 2*time.Minute)
	more.stop()
	until := gt.sync()

	c, err := chain.awaitLedger(id, gt.recorded(until), gt.start, until, 3*time.Minute)
	if err != nil {
		t.Error(err)
	}
	requireFaithful(t, c, true)
	gaps := chain.gapRecords()
	if len(gaps) != 1 || gaps[0].Record.Gap.Reason != record.GapCollectorReplaced {
		t.Fatalf("gap records %+v, want exactly one, of reason %s", gaps, record.GapCollectorReplaced)
	}
	if c.Missing == 0 {
		t.Error("no ground-truth event is missing: the scenario did not run containers while no collector ran")
	}
	if dl := second.metric("e2l_collector_spool_dead_lettered_records_total"); dl != 0 {
		t.Errorf("the new collector dead-lettered %v records, want 0", dl)
	}
	t.Logf("chain of %d records, continued after seq %d with a %s gap covering %d missing events",
		c.Records, gaps[0].Record.Seq-1, gaps[0].Record.Gap.Reason, c.Covered)

	// A second collector for the same host, with a spool of its own, while
	// the first runs: it must refuse, not fork the chain.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	env := make([]string, 0, len(second.env))
	for _, kv := range second.env {
		switch {
		case strings.HasPrefix(kv, "E2L_SPOOL_DIR="), strings.HasPrefix(kv, "E2L_LISTEN="):
		default:
			env = append(env, kv)
		}
	}
	env = append(env, "E2L_SPOOL_DIR="+filepath.Join(t.TempDir(), "spool"), "E2L_LISTEN="+freeListenAddr(t))
	cmd := exec.CommandContext(ctx, collectorBin(t))
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "another collector writes this host's chain") {
		t.Fatalf("a second collector for %s: err %v, output:\n%s\nwant a refusal naming the other collector", id.Host, err, out)
	}
	if !second.running() {
		t.Fatal("the running collector stopped")
	}
	second.Stop()
}
