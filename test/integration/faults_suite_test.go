//go:build integration

package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/e2l-project/e2l/internal/testkit/groundtruth"
	"github.com/e2l-project/e2l/network"
)

// The fault suite (issue 7): real collector processes, the real network,
// real Docker daemons; each scenario injects one fault during container
// churn and compares the ledger with the ground truth. Every row asserts
// lost = 0 (no event missing without a gap record reporting it) and
// duplicated = 0. The summary table is logged and written to
// test/integration/.artifacts/faults.md (make faults prints it).

// faultRow is one line of the summary.
type faultRow struct {
	Scenario    string
	Outage      time.Duration // how long the fault kept the collector or the ledger away
	GroundTruth int           // events Docker emitted that the collector records
	Once        int           // on the ledger exactly once
	Reported    int           // missing, reported by a gap record
	Lost        int           // missing, not reported: must be 0
	Duplicated  int           // must be 0
	Gaps        string
	MaxBacklog  int64         // largest spool backlog seen (records)
	Recovery    time.Duration // from the end of the fault to an empty spool
	Duration    time.Duration
	Result      string // PASS, FAIL or SKIPPED (groundtruth.Outcome)
}

func TestFaultSuite(t *testing.T) {
	if err := ensureTestImage(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	useFaultNetwork(t)
	var rows []faultRow
	began := time.Now()
	t.Cleanup(func() { writeFaultSummary(t, rows, time.Since(began)) })
	run := func(name string, f func(t *testing.T) []faultRow) {
		start := time.Now()
		var got []faultRow
		// A skipped scenario is SKIPPED, not PASS (t.Run reports true for it).
		ran, outcome := groundtruth.RunScenario(t, name, func(t *testing.T) { got = f(t) })
		if !ran { // not selected by -run
			return
		}
		if len(got) == 0 {
			got = []faultRow{{Scenario: name}}
		}
		for i := range got {
			got[i].Result = outcome
			got[i].Duration = time.Since(start)
		}
		rows = append(rows, got...)
	}

	// The order dates from before the orderer restart fix
	// (tools/fabric/overlay, docs/reliability.md): the 60 s outage of all
	// orderers runs while the network is young, the Raft leader's stop last.
	run("collector SIGKILLed ten times during churn", faultCollectorKilled)
	run("all three orderers down for 60 s during churn, and the spool bound reached", faultOrderersDown)
	run("the chaincode servers restarted during churn", faultChaincodeRestarted)
	run("the Docker daemon restarted under the collector", faultDockerdRestarted)
	run("two of three peers down for 60 s during churn", faultPeersDown)
	run("the Raft leader stopped during churn", faultRaftLeaderKilled)
}

// useFaultNetwork runs the suite on a network of its own (ports 200 above
// the package's), stopped and deleted when the suite ends: the faults stop
// and kill its nodes, and the tests after the suite must not depend on how
// well it recovered. The package's
// testNet points at it while the suite runs (the package's tests run one
// after another).
func useFaultNetwork(t *testing.T) {
	t.Helper()
	cfg := testNet.Config()
	cfg.PortBase += 200
	cfg.Dir = filepath.Join(os.TempDir(), fmt.Sprintf("e2l-it-faults-%d", cfg.PortBase))
	cfg.Fresh = true
	cfg.Log = prefixWriter{"fault suite network: "}
	started := time.Now()
	n, err := network.Up(t.Context(), cfg)
	if err != nil {
		if o, oerr := network.Open(cfg); oerr == nil {
			_ = o.Down(context.Background())
		}
		t.Fatalf("start the fault suite's network: %v", err)
	}
	t.Logf("fault suite network up in %s (%s)", time.Since(started).Round(100*time.Millisecond), cfg.Dir)
	shared := testNet
	testNet = n
	t.Cleanup(func() {
		testNet = shared
		probeHosts.Lock()
		probeHosts.ids, probeHosts.chains = nil, nil // enrolled on this network
		probeHosts.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if t.Failed() || os.Getenv("E2L_TEST_KEEP") != "" {
			if err := n.Down(ctx); err != nil {
				t.Errorf("stop the fault suite's network: %v", err)
			}
			t.Logf("fault suite network state (logs/) kept in %s", cfg.Dir)
			return
		}
		if err := n.Purge(ctx); err != nil {
			t.Errorf("purge the fault suite's network: %v", err)
		}
	})
}

// faultCollector is one collector of a scenario and its view of the ledger.
type faultCollector struct {
	name  string
	id    network.HostIdentity
	col   *collectorProc
	chain *ledgerChain
	stop  func() // stops backlog sampling
}

func newFaultCollector(t *testing.T, name, host string, opts collectorOptions) *faultCollector {
	t.Helper()
	id := enrollHost(t, network.Provider, host, network.EnrollOptions{})
	col := startCollector(t, id, opts)
	return &faultCollector{name: name, id: id, col: col, chain: newLedgerChain(t, id, 50), stop: col.startSampling()}
}

// finish waits for the ledger to show every ground-truth event up to until
// (or a gap the scenario can produce reporting it, see expectGaps), checks
// it, stops the collector cleanly and returns the row. gapsExpected false:
// no gap record may exist.
func (f *faultCollector) finish(t *testing.T, gt *groundTruth, until int64, gapsExpected bool, outage, recovery time.Duration) faultRow {
	t.Helper()
	c, err := f.chain.awaitLedger(f.id, gt.recorded(until), gt.start, until, 4*time.Minute)
	if err != nil {
		t.Errorf("%s: %v", f.name, err)
	}
	requireFaithful(t, c, gapsExpected)
	f.stop()
	f.col.Stop()
	return faultRow{
		Scenario: f.name, Outage: outage, GroundTruth: c.GroundTruth, Once: c.Once, Reported: c.Covered,
		Lost: c.Lost, Duplicated: c.Duplicated, Gaps: c.gapSummary(), MaxBacklog: f.col.maxPending.Load(), Recovery: recovery,
	}
}

// holdFor keeps a fault for d while checking, every second, that the
// collector is alive; it is the outage itself, not a wait for something.
func holdFor(t *testing.T, d time.Duration, cols ...*collectorProc) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		for _, c := range cols {
			if !c.running() {
				t.Fatalf("collector %s exited during the fault: %v\n%s", c.id.Host, c.exitErr(), c.logTail(20))
			}
		}
		select {
		case <-t.Context().Done():
			t.Fatal("test ended during the fault")
		case <-time.After(min(time.Second, time.Until(deadline))):
		}
	}
}

// restoreLater registers a t.Cleanup that restarts a node if the scenario
// ended before restarting it.
func restoreLater(t *testing.T, what string, running func() bool, start func(context.Context) error) {
	t.Cleanup(func() {
		if !running() {
			restore(t, what, start)
		}
	})
}

func nodeRunning(logPath string) func() bool {
	return func() bool {
		for _, s := range testNet.Status() {
			if s.LogPath == logPath {
				return s.Running
			}
		}
		return false
	}
}

// writeFaultSummary logs the table and writes it to .artifacts/faults.md.
func writeFaultSummary(t *testing.T, rows []faultRow, total time.Duration) {
	var b strings.Builder
	fmt.Fprintf(&b, "Fault suite, %s (%s total, network batch timeout %s)\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		total.Round(time.Second), testNet.Config().BatchTimeout)
	b.WriteString("| scenario | fault held | Docker events | on ledger once | reported by gaps | lost | duplicated | gap records | max backlog | drained after | scenario time | result |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d | %d | %s | %d | %s | %s | %s |\n", r.Scenario, r.Outage.Round(100*time.Millisecond),
			r.GroundTruth, r.Once, r.Reported, r.Lost, r.Duplicated, r.Gaps, r.MaxBacklog, r.Recovery.Round(100*time.Millisecond),
			r.Duration.Round(time.Second), r.Result)
	}
	t.Log("\n" + b.String())
	path := filepath.Join(artifactsDir(t), "faults.md")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Errorf("write %s: %v", path, err)
	}
}
