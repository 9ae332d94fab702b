//go:build integration

package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/e2l-project/e2l/network"
)

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
	t        testing.TB
	ns       string
	dir      string
	host     string // unix:///<dir>/docker.sock
	hostname string // its own UTS namespace's host name, if set
	cmd      *exec.Cmd
	exited   chan struct{}
}

// dockerdOptions are the optional settings of a private daemon.
type dockerdOptions struct {
	// nsPrefix names its network namespace (default "e2l-it-"), so that
	// tests running beside each other can tell theirs apart.
	nsPrefix string
	// hostname, when set, gives the daemon a UTS namespace of its own with
	// this host name: a Swarm node's {{.Node.Hostname}}. Otherwise it has
	// the machine's.
	hostname string
}

// startPrivateDockerd starts the daemon, imports the test image into it
// and stops everything (daemon, namespace, directory) when the test ends.
func startPrivateDockerd(t testing.TB) *privateDockerd {
	t.Helper()
	return startPrivateDockerdWith(t, dockerdOptions{})
}

// startPrivateDockerdWith is startPrivateDockerd with options.
func startPrivateDockerdWith(t testing.TB, opts dockerdOptions) *privateDockerd {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a private Docker daemon needs root")
	}
	if opts.nsPrefix == "" {
		opts.nsPrefix = "e2l-it-"
	}
	// Unix socket paths are limited to 108 bytes: keep the directory short.
	dir, err := os.MkdirTemp("", "e2l-dd-")
	if err != nil {
		t.Fatal(err)
	}
	d := &privateDockerd{t: t, ns: opts.nsPrefix + filepath.Base(dir)[len("e2l-dd-"):], dir: dir, hostname: opts.hostname}
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
	args := []string{"--net=/var/run/netns/" + d.ns}
	if d.hostname != "" {
		// unshare and sh exec: the daemon keeps the process started here.
		args = append(args, "unshare", "--uts", "sh", "-c", `hostname "$0" && exec "$@"`, d.hostname)
	}
	args = append(args, "dockerd", "--config-file", config,
		"--data-root", filepath.Join(d.dir, "data"), "--exec-root", filepath.Join(d.dir, "exec"),
		"--pidfile", filepath.Join(d.dir, "docker.pid"), "-H", d.host,
		"--bridge=none", "--iptables=false", "--ip-masq=false")
	cmd := exec.Command("nsenter", args...)
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
