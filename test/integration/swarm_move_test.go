//go:build integration

package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/testkit/groundtruth"
	"github.com/e2l-project/e2l/network"
)

// refusalLine is what a collector that would fork its host's chain logs
// as it exits (docs/operations.md, "Move a host's collector").
const refusalLine = "refusing to start: another collector writes this host's chain"

// collectorMove is a host's collector moved from scripts/collector.sh to
// the Swarm stack as docs/operations.md ("Move a host's collector") tells
// an operator to: stop the old one, free its port, deploy the new one with
// the same identity. TestSwarmStack checks with it that the stack's
// collector, on a new spool volume, continues the chain the script's wrote.
type collectorMove struct {
	id       network.HostIdentity
	script   *scriptCollector
	gt       *groundTruth
	chain    *ledgerChain
	stopping time.Time // `scripts/collector.sh stop` began
	stopped  time.Time // and returned
	deployed time.Time // the stack's deploy began
}

// moveToStack runs the host's collector as `make up` does, on the port the
// stack publishes (both 9464 by default), while containers run; stops it;
// runs containers while no collector runs; then calls deploy.
func moveToStack(t *testing.T, root string, id network.HostIdentity, port int, deploy func()) *collectorMove {
	t.Helper()
	m := &collectorMove{id: id, script: newScriptCollector(t, root, id, fmt.Sprintf("127.0.0.1:%d", port))}
	m.script.must("start")
	// From here on the script's collector records: what Docker emits is
	// the ground truth of the host's chain.
	m.gt = watchGroundTruth(t, "")
	m.chain = newLedgerChain(t, id, 50)
	runs := startChurn(t, "", "e2lit-move-script", 3)
	runs.waitRuns(t, 3, 2*time.Minute)
	runs.stop()
	// 1. Stop the old collector cleanly: it drains its spool, writes its
	// stop record and frees the port.
	m.stopping = time.Now()
	m.script.must("stop")
	m.stopped = time.Now()
	// Events no collector sees: only the gap can account for them.
	down := startChurn(t, "", "e2lit-move-none", 2)
	down.waitRuns(t, 2, 2*time.Minute)
	down.stop()
	// 3. Start the new one with the same identity, at once.
	m.deployed = time.Now()
	deploy()
	return m
}

// secondRefused starts the script's collector again (make up once more, on
// its old spool) while the stack's collector writes the host's chain: it
// must refuse to start and say why, and leave the stack's collector running.
func (m *collectorMove) secondRefused(t *testing.T, metricsAddr string) {
	t.Helper()
	out, err := m.script.run("start")
	if err == nil || !strings.Contains(out, refusalLine) {
		t.Errorf("scripts/collector.sh start while the stack's collector runs: err %v, output:\n%s\nwant a failure with %q", err, out, refusalLine)
	} else {
		t.Logf("scripts/collector.sh start while the stack's collector runs: %v, as it should:\n%s", err, out)
	}
	if _, err := scrapeMetrics(metricsAddr); err != nil {
		t.Errorf("the stack's collector after the refusal: %v", err)
	}
}

// chainContinues checks the host's chain on the ledger against what Docker
// emitted since the script's collector started: one chain, signed by the
// host's identity, the script's records, its stop record, exactly one
// collector-replaced gap covering the move, then the stack's collector's
// records, every event after the move once; and the stack's collector
// (scraped at metricsAddr) refused and dead-lettered nothing.
func (m *collectorMove) chainContinues(t *testing.T, metricsAddr string) {
	t.Helper()
	until := m.gt.sync()
	truth := m.gt.recorded(until)
	m.chain.expectGaps(groundtruth.GapRule{Reason: record.GapCollectorReplaced, Exact: true,
		Windows: []groundtruth.Window{{From: m.stopping.Add(-time.Minute).UnixNano(), To: time.Now().UnixNano()}}})
	c, err := m.chain.awaitLedger(m.id, truth, m.gt.start, until, 3*time.Minute)
	if err != nil {
		t.Error(err)
	}
	requireFaithful(t, c, true)
	gaps := m.chain.gapRecords()
	if len(gaps) != 1 || gaps[0].Record.Gap.Reason != record.GapCollectorReplaced {
		t.Fatalf("gap records %+v, want exactly one, of reason %s", gaps, record.GapCollectorReplaced)
	}
	gap := gaps[0].Record
	if gap.Gap.From > m.stopped.UnixNano() || gap.Gap.To < m.deployed.UnixNano() {
		t.Errorf("the gap %s does not cover the move: the script's collector stopped by %s, the stack was deployed from %s",
			groundtruth.Window{From: gap.Gap.From, To: gap.Gap.To}, m.stopped.UTC().Format(time.TimeOnly), m.deployed.UTC().Format(time.TimeOnly))
	}
	if before := m.chain.sealed[gap.Seq-2].Record; before.Kind != record.KindStop {
		t.Errorf("record %d, before the gap, is a %s record: want the script's collector's clean stop", before.Seq, before.Kind)
	}
	if c.Missing == 0 {
		t.Error("no ground-truth event is missing: the scenario ran no container while no collector ran")
	}
	onLedger := map[eventKey]int{}
	for _, s := range m.chain.sealed {
		if s.Record.Kind == record.KindEvent {
			onLedger[keyOfEvent(s.Record.Event)]++
		}
	}
	after := 0
	for _, msg := range truth {
		if k := keyOfMessage(msg); k.TimeNano > gap.Gap.To {
			after++
			if n := onLedger[k]; n != 1 {
				t.Errorf("%s, after the move, is on the ledger %d times, want once", k, n)
			}
		}
	}
	if after == 0 {
		t.Error("no ground-truth event after the move: the scenario recorded nothing with the stack's collector")
	}

	logs, err := dockerCmd(t.Context(), "", "service", "logs", "--raw", swarmStack+"_collector").CombinedOutput()
	if err != nil || !strings.Contains(string(logs), "continues from the ledger's newest record") {
		t.Errorf("the stack's collector's log does not say it continues the chain from the ledger (%v)", err)
	}
	metrics, err := scrapeMetrics(metricsAddr)
	if err != nil {
		t.Fatalf("scrape the stack's collector: %v", err)
	}
	if dl, ok := metrics["e2l_collector_spool_dead_lettered_records_total"]; !ok || dl != 0 {
		t.Errorf("the stack's collector dead-lettered %v records (exported: %v), want 0", dl, ok)
	}
	for series, v := range metrics {
		if strings.HasPrefix(series, "e2l_collector_ledger_transactions_total{") && v != 0 &&
			(strings.Contains(series, `reason="refused"`) || strings.Contains(series, `reason="read_conflict"`)) {
			t.Errorf("the stack's collector: %s = %v, want 0", series, v)
		}
	}
	t.Logf("chain of %d records: the script's collector's up to seq %d (a %s record), a %s gap %s covering %d missing events, then %d events after the move, each once",
		c.Records, gap.Seq-1, m.chain.sealed[gap.Seq-2].Record.Kind, gap.Gap.Reason,
		groundtruth.Window{From: gap.Gap.From, To: gap.Gap.To}, c.Covered, after)
}
