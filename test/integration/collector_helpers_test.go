//go:build integration

package integration

// The harness of the collector scenarios (collector_*_test.go) and the fault
// suite (faults_*_test.go): the collector as a real subprocess, ground truth
// from an independent Docker event subscription, the ledger read back
// through the chaincode's queries, container churn, a reference-counted
// Swarm, and a private Docker daemon in its own network namespace.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"
	dockerclient "github.com/docker/docker/client"
	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/e2l-project/e2l/chaincode"
	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/network"
)

// ---- binaries ----------------------------------------------------------

var (
	collectorBinOnce sync.Once
	collectorBinPath string
	collectorBinErr  error
)

// artifactsDir is test/integration/.artifacts (git-ignored): collector
// logs, the built collector and the fault suite's summary.
func artifactsDir(t testing.TB) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "test", "integration", ".artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// collectorBin builds cmd/e2l-collector once per test binary, like `make
// build` does into .bin, and returns its path.
func collectorBin(t testing.TB) string {
	t.Helper()
	collectorBinOnce.Do(func() {
		root, err := repoRoot()
		if err != nil {
			collectorBinErr = err
			return
		}
		out := filepath.Join(artifactsDir(t), "bin", "e2l-collector")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		collectorBinErr = goBuild(ctx, root, out, "./cmd/e2l-collector")
		collectorBinPath = out
	})
	if collectorBinErr != nil {
		t.Fatalf("build the collector: %v", collectorBinErr)
	}
	return collectorBinPath
}

// ---- the collector as a subprocess --------------------------------------

// collectorOptions are a collector subprocess's settings beyond its host
// identity's collector.env.
type collectorOptions struct {
	DockerHost    string            // E2L_DOCKER_HOST; the machine's daemon when empty
	SpoolMaxBytes int64             // E2L_SPOOL_MAX_BYTES when > 0
	Env           map[string]string // more E2L_* settings
}

// collectorProc is one collector: a spool directory, a listen address and
// a log file that outlive its processes, so it can be killed and restarted.
type collectorProc struct {
	t        testing.TB
	id       network.HostIdentity
	env      []string
	listen   string
	spoolDir string
	logPath  string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
	exit   error
	starts int
	kills  int

	maxPending atomic.Int64 // the largest e2l_collector_spool_pending_records seen by sample
}

// startCollector starts a collector for id and waits until its Docker event
// stream is open. It is stopped (SIGTERM) when the test ends.
func startCollector(t testing.TB, id network.HostIdentity, opts collectorOptions) *collectorProc {
	t.Helper()
	bin := collectorBin(t)
	c := &collectorProc{
		t: t, id: id, listen: freeListenAddr(t),
		spoolDir: t.TempDir(),
		logPath:  filepath.Join(artifactsDir(t), "collector-"+id.Host+".log"),
	}
	if err := os.WriteFile(c.logPath, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// A clean environment: the enrolled host's collector.env and ours, plus
	// what any process needs. No DOCKER_HOST leaks in from the test's.
	c.env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for _, kv := range id.Env {
		c.env = append(c.env, kv.Key+"="+kv.Value)
	}
	settings := map[string]string{
		"E2L_SPOOL_DIR":          c.spoolDir,
		"E2L_LISTEN":             c.listen,
		"E2L_HEARTBEAT_INTERVAL": "5s",
		"E2L_LOG_LEVEL":          "info",
	}
	if opts.DockerHost != "" {
		settings["E2L_DOCKER_HOST"] = opts.DockerHost
	} else {
		settings["E2L_DOCKER_HOST"] = "unix:///var/run/docker.sock"
	}
	if opts.SpoolMaxBytes > 0 {
		settings["E2L_SPOOL_MAX_BYTES"] = strconv.FormatInt(opts.SpoolMaxBytes, 10)
	}
	for k, v := range opts.Env {
		settings[k] = v
	}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		c.env = append(c.env, k+"="+settings[k])
	}
	c.cmdStart(bin)
	t.Cleanup(func() {
		if c.running() {
			c.Stop()
		}
		if t.Failed() {
			t.Logf("collector %s log: %s (last lines below)\n%s", id.Host, c.logPath, c.logTail(40))
		}
	})
	c.waitStreamUp(2 * time.Minute)
	return c
}

// freeListenAddr returns a 127.0.0.1 address with a port free right now.
func freeListenAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

func (c *collectorProc) cmdStart(bin string) {
	c.t.Helper()
	logf, err := os.OpenFile(c.logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = c.env
	cmd.Stdout, cmd.Stderr = logf, logf
	// If the test binary dies, so does the collector.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		c.t.Fatalf("start the collector: %v", err)
	}
	exited := make(chan struct{})
	c.mu.Lock()
	c.cmd, c.exited, c.exit = cmd, exited, nil
	c.starts++
	c.mu.Unlock()
	go func() {
		err := cmd.Wait()
		_ = logf.Close()
		c.mu.Lock()
		c.exit = err
		c.mu.Unlock()
		close(exited)
	}()
}

func (c *collectorProc) running() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exited == nil {
		return false
	}
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// signal sends sig and waits up to timeout for the process to exit.
func (c *collectorProc) signal(sig syscall.Signal, timeout time.Duration) error {
	c.mu.Lock()
	cmd, exited := c.cmd, c.exited
	c.mu.Unlock()
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-exited:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.exit
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("the collector did not exit within %s of %s: killed", timeout, sig)
	}
}

// Kill SIGKILLs the collector and waits for it to be gone.
func (c *collectorProc) Kill() {
	c.t.Helper()
	c.kills++
	err := c.signal(syscall.SIGKILL, 30*time.Second)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		c.t.Fatalf("SIGKILL the collector: %v", err)
	}
}

// Stop sends SIGTERM and requires a clean exit (code 0) within a minute
// (the collector drains for up to twice its drain timeout).
func (c *collectorProc) Stop() {
	c.t.Helper()
	if err := c.signal(syscall.SIGTERM, time.Minute); err != nil {
		c.t.Errorf("the collector did not stop cleanly on SIGTERM: %v", err)
	}
}

// Restart starts the collector again on the same spool, listen address and
// log, and waits until its event stream is open.
func (c *collectorProc) Restart() {
	c.t.Helper()
	if c.running() {
		c.t.Fatal("restart: the collector is still running")
	}
	c.cmdStart(collectorBin(c.t))
	c.waitStreamUp(2 * time.Minute)
}

// waitStreamUp waits until the running process reports its Docker event
// stream open.
func (c *collectorProc) waitStreamUp(timeout time.Duration) {
	c.t.Helper()
	c.waitMetric(timeout, "e2l_collector_docker_stream_up", func(v float64) bool { return v == 1 })
}

// waitMetric waits until the metric (summed over its labels) satisfies ok,
// failing the test if the process exits first or timeout passes.
func (c *collectorProc) waitMetric(timeout time.Duration, name string, ok func(float64) bool) float64 {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for {
		if !c.running() {
			c.t.Fatalf("the collector exited (%v) while waiting for %s; log %s:\n%s", c.exitErr(), name, c.logPath, c.logTail(30))
		}
		m, err := c.Metrics()
		if err == nil {
			v, found := m[name]
			if found && ok(v) {
				return v
			}
			last = fmt.Errorf("%s = %v (present %t)", name, v, found)
		} else {
			last = err
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("collector %s: not true after %s: %v", c.id.Host, timeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (c *collectorProc) exitErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.exit
}

// Metrics scrapes /metrics and sums every sample of a metric over its
// labels (metric{a="x"} and metric{a="y"} add up under "metric"); a sample
// with labels is also kept under its full name, e.g.
// `e2l_collector_watcher_gaps_total{reason="spool-full"}`.
func (c *collectorProc) Metrics() (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.listen+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	return parseMetrics(resp.Body)
}

// parseMetrics reads the Prometheus text format (what the collector's
// registry writes: no timestamps, no escaped quotes in our label values).
func parseMetrics(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			return nil, fmt.Errorf("metrics line %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %q: %w", line, err)
		}
		full := line[:i]
		name, _, hasLabels := strings.Cut(full, "{")
		out[name] += v
		if hasLabels {
			out[full] = v
		}
	}
	return out, sc.Err()
}

// metric returns one scraped value, 0 if the scrape fails.
func (c *collectorProc) metric(name string) float64 {
	m, err := c.Metrics()
	if err != nil {
		return 0
	}
	return m[name]
}

// sampleWhile polls /metrics until ctx ends, keeping the largest spool
// backlog seen (maxPending).
func (c *collectorProc) sampleWhile(ctx context.Context) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		if m, err := c.Metrics(); err == nil {
			p := int64(m["e2l_collector_spool_pending_records"])
			for {
				cur := c.maxPending.Load()
				if p <= cur || c.maxPending.CompareAndSwap(cur, p) {
					break
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// startSampling runs sampleWhile until the returned function is called.
func (c *collectorProc) startSampling() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.sampleWhile(ctx) }()
	return func() { cancel(); <-done }
}

// waitDrained waits until the spool holds no pending record and returns
// the time since from (the end of a fault).
func (c *collectorProc) waitDrained(from time.Time, timeout time.Duration) time.Duration {
	c.t.Helper()
	c.waitMetric(timeout, "e2l_collector_spool_pending_records", func(v float64) bool { return v == 0 })
	return time.Since(from)
}

// logEntries reads the collector's JSON log (all its runs).
func (c *collectorProc) logEntries() []map[string]any {
	c.t.Helper()
	b, err := os.ReadFile(c.logPath)
	if err != nil {
		c.t.Fatal(err)
	}
	var out []map[string]any
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		var m map[string]any
		if json.Unmarshal(line, &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// logCount counts log entries with the message msg.
func (c *collectorProc) logCount(msg string) int {
	n := 0
	for _, e := range c.logEntries() {
		if e["msg"] == msg {
			n++
		}
	}
	return n
}

func (c *collectorProc) logTail(n int) string {
	b, err := os.ReadFile(c.logPath)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ---- ground truth ---------------------------------------------------------

// recordedByDefault is the collector's default event filter
// (docs/collector.md): what the ledger must hold of the ground truth.
var recordedByDefault = map[string][]string{
	"container": {"create", "start", "restart", "pause", "unpause", "kill", "die", "oom", "stop", "destroy", "rename", "update"},
	"service":   {"create", "update", "remove"},
	"node":      {"create", "update", "remove"},
}

func isRecordedByDefault(m events.Message) bool {
	base, _, _ := strings.Cut(string(m.Action), ":")
	return slices.Contains(recordedByDefault[string(m.Type)], strings.TrimSpace(base))
}

// eventKey identifies a Docker event: type, base action, actor, timeNano.
type eventKey struct {
	Type, Action, Actor string
	TimeNano            int64
}

func (k eventKey) String() string {
	return fmt.Sprintf("%s %s %.12s @%s", k.Type, k.Action, k.Actor, time.Unix(0, k.TimeNano).Format("15:04:05.000000000"))
}

func keyOfMessage(m events.Message) eventKey {
	base, _, _ := strings.Cut(string(m.Action), ":")
	t := m.TimeNano
	if t == 0 {
		t = m.Time * 1e9
	}
	return eventKey{string(m.Type), strings.TrimSpace(base), m.Actor.ID, t}
}

func keyOfEvent(e *record.Event) eventKey {
	return eventKey{e.Type, e.Action, e.Actor, e.TimeNano}
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

// ledgerCheck is what the ledger shows against the ground truth.
type ledgerCheck struct {
	GroundTruth int // events the collector should have recorded
	Once        int // on the ledger exactly once
	Duplicated  int // ground-truth events on the ledger more than once, counted once per extra copy
	Missing     int // not on the ledger
	Covered     int // missing, but within a gap record's [from, to]
	Lost        int // missing and not reported by any gap: silent loss
	Phantom     int // events on the ledger within the window that Docker did not emit
	GapLost     uint64
	Gaps        []record.Gap
	Snapshots   int
	Records     int // the host's chain length
	Problems    []string
}

func (c ledgerCheck) complete() bool { return c.Missing == c.Covered && c.Lost == 0 }

func (c ledgerCheck) gapSummary() string {
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

// check compares the chain read so far with the ground truth events gt
// (those with time ≤ until are expected), verifying on the way that the
// chain is continuous and every record signed by the host's identity.
func (l *ledgerChain) check(id network.HostIdentity, gt []events.Message, from, until int64) ledgerCheck {
	var c ledgerCheck
	problem := func(format string, args ...any) {
		if len(c.Problems) < 20 {
			c.Problems = append(c.Problems, fmt.Sprintf(format, args...))
		}
	}
	certSum := certSHA256(l.t, id.CertPath)
	prev := record.GenesisPrev
	onLedger := map[eventKey][]record.Sealed{}
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
			onLedger[k] = append(onLedger[k], s)
		case record.KindGap:
			c.Gaps = append(c.Gaps, *r.Gap)
			c.GapLost += r.Gap.Lost
		case record.KindSnapshot:
			c.Snapshots++
		}
	}
	c.Records = len(l.sealed)

	wanted := map[eventKey]bool{}
	for _, m := range gt {
		k := keyOfMessage(m)
		if k.TimeNano > until {
			continue
		}
		wanted[k] = true
		c.GroundTruth++
		got := onLedger[k]
		switch {
		case len(got) == 0:
			c.Missing++
			covered := false
			for _, g := range c.Gaps {
				if g.From <= k.TimeNano && k.TimeNano <= g.To {
					covered = true
				}
			}
			if covered {
				c.Covered++
			} else {
				c.Lost++
			}
		case len(got) > 1:
			c.Duplicated += len(got) - 1
			problem("%s is on the ledger %d times", k, len(got))
		default:
			c.Once++
			if err := sameEvent(m, got[0].Record.Event); err != nil {
				problem("%s: %v", k, err)
			}
		}
	}
	for k, recs := range onLedger {
		if k.TimeNano >= from && k.TimeNano <= until && !wanted[k] {
			c.Phantom += len(recs)
			problem("%s is on the ledger but Docker did not emit it", k)
		}
	}
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
// until is on it or covered by a gap record, or timeout passes, and returns
// the final comparison. It does not fail the test: callers assert on it.
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
				err = fmt.Errorf("after %s, %d of %d ground-truth events are neither on the ledger nor covered by a gap", timeout, c.Lost, c.GroundTruth)
			}
			return c, err
		}
		time.Sleep(time.Second)
	}
}

// requireFaithful fails the test unless the ledger holds every ground-truth
// event exactly once (or, with allowGaps, reports the missing ones in gap
// records), nothing Docker did not emit, a continuous chain and only the
// host's signatures.
func requireFaithful(t testing.TB, c ledgerCheck, allowGaps bool) {
	t.Helper()
	for _, p := range c.Problems {
		t.Error(p)
	}
	t.Logf("ledger: %d records; ground truth %d events: %d once, %d missing (%d covered by gaps), %d lost, %d duplicated, %d phantom; gaps: %s; snapshots %d",
		c.Records, c.GroundTruth, c.Once, c.Missing, c.Covered, c.Lost, c.Duplicated, c.Phantom, c.gapSummary(), c.Snapshots)
	if c.GroundTruth == 0 {
		t.Error("the ground truth holds no event: the scenario did nothing")
	}
	if c.Lost != 0 || c.Duplicated != 0 || c.Phantom != 0 {
		t.Errorf("lost %d, duplicated %d, phantom %d: want 0", c.Lost, c.Duplicated, c.Phantom)
	}
	if !allowGaps && c.Missing != 0 {
		t.Errorf("%d ground-truth events are not on the ledger (gaps: %s)", c.Missing, c.gapSummary())
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

// ---- Docker workload --------------------------------------------------------

// churn runs short containers (`docker run --rm`) one after another until
// stopped or max runs are done.
type churn struct {
	runs, fails atomic.Int64
	stopping    atomic.Bool
	done        chan struct{}
}

// startChurn starts the loop in a goroutine; max 0 means until stop.
// Failed runs (a daemon restarting) are counted and retried after a pause.
func startChurn(t testing.TB, dockerHost, prefix string, max int) *churn {
	t.Helper()
	c := &churn{done: make(chan struct{})}
	tag := randomSuffix()
	go func() {
		defer close(c.done)
		for i := 0; (max == 0 || int(c.runs.Load()) < max) && !c.stopping.Load(); i++ {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			_, err := docker(ctx, dockerHost, "run", "--rm", "--network", "none",
				"--name", fmt.Sprintf("%s-%s-%d", prefix, tag, i), testImage, "true")
			cancel()
			if err != nil {
				c.fails.Add(1)
				time.Sleep(500 * time.Millisecond)
				continue
			}
			c.runs.Add(1)
		}
	}()
	t.Cleanup(func() { c.stop() })
	return c
}

// stop ends the loop after the run in progress and returns the runs done.
func (c *churn) stop() int {
	c.stopping.Store(true)
	<-c.done
	return int(c.runs.Load())
}

// waitRuns waits until n runs are done.
func (c *churn) waitRuns(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for c.runs.Load() < int64(n) {
		select {
		case <-c.done:
			if c.runs.Load() < int64(n) {
				t.Fatalf("churn ended after %d runs, waiting for %d", c.runs.Load(), n)
			}
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("churn: %d runs (%d failed) after %s, waiting for %d", c.runs.Load(), c.fails.Load(), timeout, n)
		}
	}
}

// mustDocker runs the docker CLI and fails the test on error.
func mustDocker(t testing.TB, dockerHost string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := docker(ctx, dockerHost, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ---- Swarm ------------------------------------------------------------------

// The machine's daemon joins a Swarm for the tests that need one. Tests of
// the package run one after another, but several may want a Swarm: each
// calls acquireSwarm; the first initialises it if the daemon was not in a
// Swarm, and the last release leaves it again only in that case.
var swarmState struct {
	sync.Mutex
	refs     map[string]int
	initedBy map[string]bool
}

// acquireSwarm makes sure the daemon at dockerHost is a Swarm manager until
// the test ends.
func acquireSwarm(t testing.TB, dockerHost string) {
	t.Helper()
	swarmState.Lock()
	defer swarmState.Unlock()
	if swarmState.refs == nil {
		swarmState.refs, swarmState.initedBy = map[string]int{}, map[string]bool{}
	}
	if swarmState.refs[dockerHost] == 0 {
		state := mustDocker(t, dockerHost, "info", "--format", "{{.Swarm.LocalNodeState}}")
		switch state {
		case "active":
			if mustDocker(t, dockerHost, "info", "--format", "{{.Swarm.ControlAvailable}}") != "true" {
				t.Fatalf("the Docker daemon %q is a Swarm worker, not a manager", dockerHost)
			}
			swarmState.initedBy[dockerHost] = false
		case "inactive":
			mustDocker(t, dockerHost, "swarm", "init", "--advertise-addr", "127.0.0.1")
			swarmState.initedBy[dockerHost] = true
		default:
			t.Fatalf("the Docker daemon %q is in Swarm state %q", dockerHost, state)
		}
	}
	swarmState.refs[dockerHost]++
	t.Cleanup(func() {
		swarmState.Lock()
		defer swarmState.Unlock()
		swarmState.refs[dockerHost]--
		if swarmState.refs[dockerHost] == 0 && swarmState.initedBy[dockerHost] {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if _, err := docker(ctx, dockerHost, "swarm", "leave", "--force"); err != nil {
				t.Errorf("leave the Swarm this test initialised: %v", err)
			}
		}
	})
}

// ---- a private Docker daemon ---------------------------------------------------

// privateDockerd is a dockerd of its own in its own network namespace
// (docs: /work/shared/notes/docker.md): tests restart it without touching
// the machine's daemon.
type privateDockerd struct {
	t      testing.TB
	ns     string
	dir    string
	host   string // unix:///<dir>/docker.sock
	cmd    *exec.Cmd
	exited chan struct{}
}

// startPrivateDockerd starts the daemon, imports the test image into it
// and stops everything (daemon, namespace, directory) when the test ends.
func startPrivateDockerd(t testing.TB) *privateDockerd {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a private Docker daemon needs root")
	}
	// Unix socket paths are limited to 108 bytes: keep the directory short.
	dir, err := os.MkdirTemp("", "e2l-dd-")
	if err != nil {
		t.Fatal(err)
	}
	d := &privateDockerd{t: t, ns: "e2l-it-" + filepath.Base(dir)[len("e2l-dd-"):], dir: dir}
	d.host = "unix://" + filepath.Join(dir, "docker.sock")
	run := func(name string, args ...string) error {
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := run("ip", "netns", "add", d.ns); err != nil {
		_ = os.RemoveAll(dir)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.stop()
		if err := run("ip", "netns", "delete", d.ns); err != nil {
			t.Errorf("delete the network namespace: %v", err)
		}
		if t.Failed() {
			t.Logf("private dockerd log: %s", filepath.Join(dir, "dockerd.log"))
			return
		}
		_ = os.RemoveAll(dir)
	})
	_ = run("ip", "-n", d.ns, "link", "set", "lo", "up")
	d.start()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := ensureTestImage(ctx, d.host); err != nil {
		t.Fatal(err)
	}
	return d
}

// start runs dockerd and waits until it answers.
func (d *privateDockerd) start() {
	d.t.Helper()
	logf, err := os.OpenFile(filepath.Join(d.dir, "dockerd.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		d.t.Fatal(err)
	}
	// Its own (empty) configuration file: the machine's /etc/docker/daemon.json
	// may set what the flags below set, which dockerd refuses.
	config := filepath.Join(d.dir, "daemon.json")
	if err := os.WriteFile(config, []byte("{}\n"), 0o644); err != nil {
		d.t.Fatal(err)
	}
	cmd := exec.Command("nsenter", "--net=/var/run/netns/"+d.ns, "dockerd", "--config-file", config,
		"--data-root", filepath.Join(d.dir, "data"), "--exec-root", filepath.Join(d.dir, "exec"),
		"--pidfile", filepath.Join(d.dir, "docker.pid"), "-H", d.host,
		"--bridge=none", "--iptables=false", "--ip-masq=false")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		d.t.Fatalf("start dockerd: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); _ = logf.Close(); close(exited) }()
	d.cmd, d.exited = cmd, exited
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := docker(ctx, d.host, "version", "--format", "{{.Server.Version}}")
		cancel()
		if err == nil {
			return
		}
		select {
		case <-exited:
			d.t.Fatalf("the private dockerd exited at start; log %s", filepath.Join(d.dir, "dockerd.log"))
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("the private dockerd does not answer after 2 minutes: %v", err)
		}
	}
}

// stop stops the daemon by its pid file (SIGTERM, SIGKILL after a minute)
// and waits for it to exit.
func (d *privateDockerd) stop() {
	if d.cmd == nil {
		return
	}
	pid := d.cmd.Process.Pid
	if b, err := os.ReadFile(filepath.Join(d.dir, "docker.pid")); err == nil {
		if p, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			pid = p
		}
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(time.Minute):
		_ = syscall.Kill(pid, syscall.SIGKILL)
		<-d.exited
	}
	d.cmd = nil
}

// restart stops the daemon and starts it again.
func (d *privateDockerd) restart() {
	d.t.Helper()
	d.stop()
	d.start()
}

// ---- a settled network -----------------------------------------------------

// probeHosts are one host identity per org whose Gateway peer is its own
// org's, with their record chains, kept across awaitOrderingSettled calls.
var probeHosts struct {
	sync.Mutex
	ids    map[network.Org]network.HostIdentity
	chains map[network.Org]*recordChain
}

// awaitOrderingSettled waits, after orderers were restarted, until every
// peer's Gateway orders transactions promptly again: 12 probe transactions
// in a row through each peer, each submitted within 5 s and committed
// VALID. Seen here: after an orderer restarts, a peer's Gateway may keep
// timing out its broadcasts to that orderer for a minute or two, and it
// picks orderers at random, so a few quick commits do not prove it (12 in a
// row miss a bad orderer with probability (2/3)^12 < 1 %). It returns how
// long that took, or an error after timeout.
func awaitOrderingSettled(t *testing.T, timeout time.Duration) (time.Duration, error) {
	t.Helper()
	start := time.Now()
	probeHosts.Lock()
	defer probeHosts.Unlock()
	if probeHosts.ids == nil {
		probeHosts.ids, probeHosts.chains = map[network.Org]network.HostIdentity{}, map[network.Org]*recordChain{}
	}
	deadline := time.Now().Add(timeout)
	for _, o := range network.Orgs() {
		id, ok := probeHosts.ids[o]
		if !ok {
			id = enrollHost(t, o, "it-probe-"+strings.ToLower(string(o)), network.EnrollOptions{})
			probeHosts.ids[o], probeHosts.chains[o] = id, newRecordChain(id.Host)
		}
		chain := probeHosts.chains[o]
		contract := e2lContract(connectGateway(t, id))
		var last error
		for inRow := 0; inRow < 12; {
			if time.Now().After(deadline) {
				return time.Since(start), fmt.Errorf("ordering through %s's peer not settled after %s: %w", o, timeout, last)
			}
			b := chain.next(t, 1)
			if last = probeSubmit(t, contract, batchJSON(t, b)); last == nil {
				inRow++
				continue
			}
			inRow = 0
			// The record may or may not be on the ledger: start a fresh
			// chain under the same host would fork it, so resend this one
			// until it is (a duplicate is a VALID no-op).
			for probeSubmit(t, contract, batchJSON(t, b)) != nil {
				if time.Now().After(deadline) {
					return time.Since(start), fmt.Errorf("ordering through %s's peer not settled after %s: %w", o, timeout, last)
				}
			}
		}
	}
	return time.Since(start), nil
}

// probeSubmit endorses a batch, submits it within 5 s and waits for a
// VALID commit.
func probeSubmit(t *testing.T, contract *client.Contract, batch string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	proposal, err := contract.NewProposal("RecordEvents", client.WithArguments(batch))
	if err != nil {
		return err
	}
	tx, err := proposal.EndorseWithContext(ctx)
	if err != nil {
		return fmt.Errorf("endorse: %w", err)
	}
	sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
	commit, err := tx.SubmitWithContext(sctx)
	scancel()
	if err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	st, err := commit.StatusWithContext(ctx)
	if err != nil {
		return fmt.Errorf("commit status: %w", err)
	}
	if !st.Successful {
		return fmt.Errorf("transaction %s committed as %s", st.TransactionID, st.Code)
	}
	return nil
}
