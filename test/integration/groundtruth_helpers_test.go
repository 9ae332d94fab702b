//go:build integration

package integration

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"
	dockerclient "github.com/docker/docker/client"
	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/e2l-project/e2l/chaincode"
	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/testkit/groundtruth"
	"github.com/e2l-project/e2l/network"
)

// ---- ground truth ---------------------------------------------------------

// eventKey identifies a Docker event: type, base action, actor, timeNano.
type eventKey = groundtruth.Key

func isRecordedByDefault(m events.Message) bool {
	return groundtruth.RecordedByDefault(string(m.Type), string(m.Action))
}

func keyOfMessage(m events.Message) eventKey {
	t := m.TimeNano
	if t == 0 {
		t = m.Time * 1e9
	}
	return groundtruth.NewKey(string(m.Type), string(m.Action), m.Actor.ID, t)
}

func keyOfEvent(e *record.Event) eventKey {
	return eventKey{Type: e.Type, Action: e.Action, Actor: e.Actor, TimeNano: e.TimeNano}
}

// groundTruth is an independent subscription to a Docker daemon's events,
// started before a scenario: what really happened. It resubscribes when the
// stream breaks (a daemon restart), from the newest event it holds
// (inclusive; re-delivered events are de-duplicated), so the events of a
// restarted daemon are caught from its (then empty) buffer.
type groundTruth struct {
	t          testing.TB
	dockerHost string
	cli        *dockerclient.Client
	start      int64 // unix ns: the subscription's since

	mu       sync.Mutex
	all      []events.Message // every event, every type, de-duplicated
	seen     map[eventKey]bool
	last     int64
	resubs   int
	changed  chan struct{}
	cancel   context.CancelFunc
	done     chan struct{}
	markerNo int
}

// watchGroundTruth subscribes to dockerHost's events ("" for the machine's
// daemon) from now on. It ends when the test does.
func watchGroundTruth(t testing.TB, dockerHost string) *groundTruth {
	t.Helper()
	host := dockerHost
	if host == "" {
		host = "unix:///var/run/docker.sock"
	}
	cli, err := dockerclient.NewClientWithOpts(dockerclient.WithHost(host), dockerclient.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	g := &groundTruth{
		t: t, dockerHost: dockerHost, cli: cli, start: time.Now().UnixNano(),
		seen: map[eventKey]bool{}, changed: make(chan struct{}), cancel: cancel, done: make(chan struct{}),
	}
	g.last = g.start
	go g.run(ctx)
	t.Cleanup(g.close)
	// The subscription is live once it delivers an event made after it.
	g.sync()
	return g
}

func (g *groundTruth) close() {
	g.cancel()
	<-g.done
	_ = g.cli.Close()
}

func (g *groundTruth) run(ctx context.Context) {
	defer close(g.done)
	for ctx.Err() == nil {
		g.mu.Lock()
		since := g.last
		g.mu.Unlock()
		sctx, cancel := context.WithCancel(ctx)
		msgs, errs := g.cli.Events(sctx, events.ListOptions{Since: fmt.Sprintf("%d.%09d", since/1e9, since%1e9)})
	stream:
		for {
			select {
			case m := <-msgs:
				g.add(m)
			case <-errs:
				break stream
			}
		}
		cancel()
		g.mu.Lock()
		g.resubs++
		g.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (g *groundTruth) add(m events.Message) {
	k := keyOfMessage(m)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.seen[k] {
		return
	}
	g.seen[k] = true
	g.all = append(g.all, m)
	g.last = max(g.last, k.TimeNano)
	close(g.changed)
	g.changed = make(chan struct{})
}

// sync makes a marker event (a volume created and removed: a type the
// collector does not record) and waits until the subscription delivered it,
// so every event published before sync is in the ground truth. It returns
// the marker's time.
func (g *groundTruth) sync() int64 {
	g.t.Helper()
	g.mu.Lock()
	g.markerNo++
	name := fmt.Sprintf("e2l-it-marker-%d-%s", g.markerNo, randomSuffix())
	g.mu.Unlock()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_, err := docker(ctx, g.dockerHost, "volume", "create", name)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("ground truth marker: %v", err)
		}
		time.Sleep(500 * time.Millisecond) // the daemon may be restarting
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = docker(ctx, g.dockerHost, "volume", "rm", name)
	}()
	for {
		g.mu.Lock()
		for _, m := range g.all {
			if m.Type == events.VolumeEventType && m.Actor.ID == name && m.Action == events.ActionCreate {
				g.mu.Unlock()
				return m.TimeNano
			}
		}
		changed := g.changed
		g.mu.Unlock()
		select {
		case <-changed:
		case <-time.After(time.Until(deadline)):
			g.t.Fatalf("the ground-truth subscription to %q did not deliver its marker within 3 minutes", g.dockerHost)
		}
	}
}

// recorded returns the events the collector records by default with
// start ≤ time ≤ until, in arrival order.
func (g *groundTruth) recorded(until int64) []events.Message {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []events.Message
	for _, m := range g.all {
		k := keyOfMessage(m)
		if isRecordedByDefault(m) && k.TimeNano >= g.start && k.TimeNano <= until {
			out = append(out, m)
		}
	}
	return out
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ---- the ledger, read back ---------------------------------------------------

// ledgerChain reads one host's chain through QueryChain, page by page,
// fetching only what is new on each refresh.
type ledgerChain struct {
	t        testing.TB
	contract *client.Contract
	host     string
	pageSize int
	excuses  groundtruth.Excuses // the gap records the scenario can produce
	stored   []chaincode.Stored
	sealed   []record.Sealed
}

func newLedgerChain(t *testing.T, id network.HostIdentity, pageSize int) *ledgerChain {
	t.Helper()
	return &ledgerChain{t: t, contract: e2lContract(connectGateway(t, id)), host: id.Host, pageSize: pageSize}
}

// refresh reads the records after the last one read. A record that does not
// re-verify is an error. Batches in flight commit in any order, so the
// chain may have a hole for a while: refresh stops before it and says so.
func (l *ledgerChain) refresh() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	from := uint64(len(l.stored)) + 1
	bookmark := ""
	for {
		out, err := l.contract.EvaluateWithContext(ctx, "QueryChain", client.WithArguments(
			l.host, strconv.FormatUint(from, 10), strconv.FormatUint(math.MaxUint64, 10), strconv.Itoa(l.pageSize), bookmark))
		if err != nil {
			return fmt.Errorf("QueryChain %s from %d: %w", l.host, from, describeGatewayError(err))
		}
		var p storedPage
		if err := json.Unmarshal(out, &p); err != nil {
			return fmt.Errorf("QueryChain page: %w", err)
		}
		for _, st := range p.Records {
			s, err := st.Sealed()
			if err != nil {
				return fmt.Errorf("stored record %s does not re-verify: %w", st.ID, err)
			}
			if s.Record.Seq != uint64(len(l.stored))+1 {
				// QueryChain returns seq order; a hole shows as a jump.
				return fmt.Errorf("chain of %s: seq %d is not on the ledger (seq %d is)", l.host, len(l.stored)+1, s.Record.Seq)
			}
			l.stored = append(l.stored, st)
			l.sealed = append(l.sealed, s)
		}
		if bookmark = p.Bookmark; bookmark == "" || p.Count == 0 {
			return nil
		}
	}
}

// ledgerCheck is what the ledger shows against the ground truth
// (groundtruth.Compare), plus what only the chain shows: its continuity,
// its signers and each recorded event's fields.
type ledgerCheck struct {
	groundtruth.Comparison
	Snapshots int
	Records   int // the host's chain length
}

// complete: every ground-truth event is on the ledger or excused, and the
// gap records are settled; other problems (a field, a phantom) do not change
// by waiting.
func (c ledgerCheck) complete() bool { return c.Complete() }

func (c ledgerCheck) gapSummary() string { return c.GapSummary() }

// expectGaps sets the gap records the scenario can produce; none by
// default, so a gap record or a missing event fails the check.
func (l *ledgerChain) expectGaps(rules ...groundtruth.GapRule) { l.excuses = rules }

// check compares the chain read so far with the ground truth events gt
// (those with time ≤ until are expected; phantoms are looked for in
// [from, until]) under the scenario's gap rules, verifying on the way that
// the chain is continuous and every record signed by the host's identity.
func (l *ledgerChain) check(id network.HostIdentity, gt []events.Message, from, until int64) ledgerCheck {
	var chainProblems []string
	problem := func(format string, args ...any) {
		if len(chainProblems) < 20 {
			chainProblems = append(chainProblems, fmt.Sprintf(format, args...))
		}
	}
	certSum := certSHA256(l.t, id.CertPath)
	prev := record.GenesisPrev
	var onLedger []eventKey
	byKey := map[eventKey]*record.Event{}
	var gaps []record.Gap
	snapshots := 0
	for i, s := range l.sealed {
		st := l.stored[i]
		r := s.Record
		if r.Seq != uint64(i+1) || r.Prev != prev || r.Host != id.Host {
			problem("record %d (%s): seq %d, prev %.12s (want %.12s), host %s: chain broken", i+1, s.ID, r.Seq, r.Prev, prev, r.Host)
		}
		prev = s.Hash
		if st.MSP != id.MSPID || st.CertSHA256 != certSum {
			problem("record %d (%s) signed by %s cert %.12s, want %s cert %.12s", r.Seq, s.ID, st.MSP, st.CertSHA256, id.MSPID, certSum)
		}
		switch r.Kind {
		case record.KindEvent:
			if r.Event.Scope == record.ScopeLocal && s.ID != r.EventID() {
				problem("record %d: ID %s is not the event's ID %s", r.Seq, s.ID, r.EventID())
			}
			k := keyOfEvent(r.Event)
			onLedger = append(onLedger, k)
			byKey[k] = r.Event
		case record.KindGap:
			gaps = append(gaps, *r.Gap)
		case record.KindSnapshot:
			snapshots++
		}
	}
	var truth []eventKey
	for _, m := range gt {
		k := keyOfMessage(m)
		if k.TimeNano > until {
			continue
		}
		truth = append(truth, k)
		if e, ok := byKey[k]; ok {
			if err := sameEvent(m, e); err != nil {
				problem("%s: %v", k, err)
			}
		}
	}
	c := ledgerCheck{
		Comparison: groundtruth.Compare(truth, onLedger, gaps, groundtruth.Window{From: from, To: until}, l.excuses),
		Snapshots:  snapshots, Records: len(l.sealed),
	}
	c.Problems = append(chainProblems, c.Problems...)
	return c
}

// sameEvent compares a recorded event with Docker's: scope, known
// attributes and labels.
func sameEvent(m events.Message, e *record.Event) error {
	scope := m.Scope
	if scope == "" {
		scope = record.ScopeLocal
	}
	if e.Scope != scope {
		return fmt.Errorf("scope %q, Docker said %q", e.Scope, scope)
	}
	a := m.Actor.Attributes
	fields := map[string]string{
		"name": e.Attrs.Name, "image": e.Attrs.Image, "exitCode": e.Attrs.ExitCode, "signal": e.Attrs.Signal,
		"com.docker.swarm.node.id": e.Attrs.NodeID, "com.docker.swarm.service.id": e.Attrs.ServiceID,
		"com.docker.swarm.service.name": e.Attrs.ServiceName, "com.docker.swarm.task.id": e.Attrs.TaskID,
		"com.docker.swarm.task.name": e.Attrs.TaskName, "replicas.old": e.Attrs.ReplicasOld,
		"replicas.new": e.Attrs.ReplicasNew, "oldName": e.Attrs.OldName,
	}
	for k, got := range fields {
		if a[k] != got {
			return fmt.Errorf("%s %q, Docker said %q", k, got, a[k])
		}
	}
	_, someDropped := e.Attrs.Labels["e2l.dropped"]
	for k, v := range a {
		if _, known := fields[k]; known {
			continue
		}
		if got, ok := e.Attrs.Labels[k]; (!ok && !someDropped) || (ok && got != v) {
			return fmt.Errorf("label %s %q (present %t), Docker said %q", k, got, ok, v)
		}
	}
	return nil
}

// certSHA256 is the SHA-256 of a PEM certificate's DER, hex: what the
// chaincode stores as certSha256.
func certSHA256(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("no PEM in %s", path)
	}
	sum := sha256.Sum256(blk.Bytes)
	return hex.EncodeToString(sum[:])
}

// awaitLedger reads the host's chain until every ground-truth event up to
// until is on it or excused by a gap record the scenario can produce (see
// expectGaps), or timeout passes, and returns the final comparison. It does
// not fail the test: callers assert on it.
func (l *ledgerChain) awaitLedger(id network.HostIdentity, gt []events.Message, from, until int64, timeout time.Duration) (ledgerCheck, error) {
	deadline := time.Now().Add(timeout)
	for {
		err := l.refresh()
		c := l.check(id, gt, from, until)
		if err == nil && c.complete() {
			return c, nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("after %s, %d of %d ground-truth events are neither on the ledger nor excused by a gap (%d gap records the scenario cannot produce or that miscount)",
					timeout, c.Lost, c.GroundTruth, c.BadGaps)
			}
			return c, err
		}
		time.Sleep(time.Second)
	}
}

// requireFaithful fails the test unless the ledger holds every ground-truth
// event exactly once, nothing Docker did not emit, a continuous chain and
// only the host's signatures. gapsExpected false: the scenario claims no
// gap is needed, so no gap record may exist and nothing may be missing;
// true: missing events must be excused by gap records of the reasons, fault
// windows and counts set with expectGaps (groundtruth.Compare).
func requireFaithful(t testing.TB, c ledgerCheck, gapsExpected bool) {
	t.Helper()
	for _, p := range c.Problems {
		t.Error(p)
	}
	t.Logf("ledger: %d records; ground truth %d events: %d once, %d missing (%d excused by gaps), %d lost, %d duplicated, %d phantom; gaps: %s (%d wrong); snapshots %d",
		c.Records, c.GroundTruth, c.Once, c.Missing, c.Covered, c.Lost, c.Duplicated, c.Phantom, c.gapSummary(), c.BadGaps, c.Snapshots)
	if c.GroundTruth == 0 {
		t.Error("the ground truth holds no event: the scenario did nothing")
	}
	if !c.OK() {
		t.Errorf("lost %d, duplicated %d, phantom %d, wrong gap records %d: want 0", c.Lost, c.Duplicated, c.Phantom, c.BadGaps)
	}
	if !gapsExpected && (c.Missing != 0 || len(c.Gaps) != 0) {
		t.Errorf("%d ground-truth events are not on the ledger, gap records: %s; the scenario claims no gap is needed", c.Missing, c.gapSummary())
	}
}

// eventsOf returns the ledger's event records of one actor, in chain order.
func (l *ledgerChain) eventsOf(actor string) []*record.Event {
	var out []*record.Event
	for _, s := range l.sealed {
		if s.Record.Kind == record.KindEvent && s.Record.Event.Actor == actor {
			out = append(out, s.Record.Event)
		}
	}
	slices.SortStableFunc(out, func(a, b *record.Event) int { return int(a.TimeNano - b.TimeNano) })
	return out
}

// gapRecords returns the gap records of the chain read so far, in chain order.
func (l *ledgerChain) gapRecords() []record.Sealed {
	var out []record.Sealed
	for _, s := range l.sealed {
		if s.Record.Kind == record.KindGap {
			out = append(out, s)
		}
	}
	return out
}

// collectorOutage is the window a gap of one collector outage (from kill
// or daemon stop to the stream being open again) must lie in: it starts at
// the last event the collector saw before the outage (allowed up to 2
// minutes earlier: the shared daemon may be quiet) and ends when the
// collector saw events again.
func collectorOutage(down, up time.Time) groundtruth.Window {
	return groundtruth.Window{From: down.Add(-2 * time.Minute).UnixNano(), To: up.UnixNano()}
}

// collectorDownGaps is the gap rule of SIGKILL scenarios: Docker's replay
// normally covers the outage, but if the daemon's 256-event buffer rolled
// over meanwhile (other activity on a shared daemon), the restarted
// collector writes a collector-down gap; it must lie within an outage and
// cover exactly the events missing.
func collectorDownGaps(outages []groundtruth.Window) groundtruth.GapRule {
	return groundtruth.GapRule{Reason: record.GapCollectorDown, Exact: true, Windows: outages}
}

// mustScrape scrapes the collector's metrics or fails the test.
func mustScrape(t testing.TB, c *collectorProc) map[string]float64 {
	t.Helper()
	m, err := c.Metrics()
	if err != nil {
		t.Fatalf("scrape collector %s: %v", c.id.Host, err)
	}
	return m
}
