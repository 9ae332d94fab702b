//go:build integration

package integration

// The harness of the collector scenarios (collector_*_test.go) and the fault
// suite (faults_*_test.go): the collector as a real subprocess, ground truth
// from an independent Docker event subscription, the ledger read back
// through the chaincode's queries, container churn, a reference-counted
// Swarm, and a private Docker daemon in its own network namespace.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

	"github.com/e2l-project/e2l/internal/promtext"
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
	// argv, when set, is the command line run instead of the built
	// collector (the .deb test's unit command under setpriv).
	argv []string

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
	name, args := bin, []string(nil)
	if len(c.argv) > 0 {
		name, args = c.argv[0], c.argv[1:]
	}
	cmd := exec.Command(name, args...)
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
func (c *collectorProc) Metrics() (map[string]float64, error) { return scrapeMetrics(c.listen) }

// scrapeMetrics scrapes http://addr/metrics (promtext.Parse: every
// series, and each name summed over its labels).
func scrapeMetrics(addr string) (promtext.Samples, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
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
	return promtext.Parse(resp.Body)
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
