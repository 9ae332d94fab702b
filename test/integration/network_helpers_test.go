//go:build integration

package integration

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/e2l-project/e2l/network"
)

// testNet is the Fabric network all tests of the package share. TestMain
// starts it once (startup costs seconds of both cores) and stops it after the
// last test. A test that stops nodes restores them in t.Cleanup, so the next
// test finds every node running.
//
// Environment:
//
//	E2L_TEST_PORT_BASE      first of its 120 ports (default 27000; make up uses 7000)
//	E2L_TEST_BATCH_TIMEOUT  orderer batch timeout (default 250ms)
//	E2L_TEST_NET_DIR        state directory (default $TMPDIR/e2l-it-network-<port base>)
//	E2L_TEST_KEEP           when set, keep the state directory even if every test passed
//	E2L_FABRIC_BIN          Fabric binaries (default <repo>/.bin/fabric, see make fabric-bin)
var testNet *network.Network

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	n, stop, err := startTestNetwork(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "integration: start the Fabric network: %v\n", err)
		stop(false)
		return 1
	}
	testNet = n
	code := m.Run()
	stop(code == 0)
	return code
}

// startTestNetwork builds the chaincode server and brings up a fresh network.
// stop(passed) stops it, and deletes its state if passed (else keeps it for
// its logs).
func startTestNetwork(ctx context.Context) (n *network.Network, stop func(passed bool), err error) {
	root, err := repoRoot()
	if err != nil {
		return nil, func(bool) {}, err
	}
	binDir, err := os.MkdirTemp("", "e2l-it-bin-")
	if err != nil {
		return nil, func(bool) {}, err
	}
	cfg := network.Config{
		PortBase:     envInt("E2L_TEST_PORT_BASE", 27000),
		BatchTimeout: envDuration("E2L_TEST_BATCH_TIMEOUT", 250*time.Millisecond),
		BinDir:       envString("E2L_FABRIC_BIN", filepath.Join(root, ".bin", "fabric")),
		ChaincodeBin: filepath.Join(binDir, "e2l-chaincode"),
		Fresh:        true, // also stops what a crashed earlier run left in Dir
		Log:          prefixWriter{"integration network: "},
	}
	cfg.Dir = envString("E2L_TEST_NET_DIR", filepath.Join(os.TempDir(), fmt.Sprintf("e2l-it-network-%d", cfg.PortBase)))
	stop = func(passed bool) {
		defer os.RemoveAll(binDir)
		if n == nil {
			fmt.Fprintf(os.Stderr, "integration: network state (logs/) kept in %s\n", cfg.Dir)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if passed && os.Getenv("E2L_TEST_KEEP") == "" {
			if err := n.Purge(ctx); err != nil {
				fmt.Fprintf(os.Stderr, "integration: purge the network: %v\n", err)
			}
			return
		}
		if err := n.Down(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "integration: stop the network: %v\n", err)
		}
		fmt.Fprintf(os.Stderr, "integration: network state (logs/) kept in %s\n", cfg.Dir)
	}
	if err := goBuild(ctx, root, cfg.ChaincodeBin, "./cmd/e2l-chaincode"); err != nil {
		return nil, stop, err
	}
	n, err = network.Up(ctx, cfg)
	if err != nil {
		// Up may have started nodes before failing: stop them.
		if o, oerr := network.Open(cfg); oerr == nil {
			n = o
		}
		return nil, stop, err
	}
	return n, stop, nil
}

// goBuild builds a package of the repository into out.
func goBuild(ctx context.Context, root, out, pkg string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return nil
}

// repoRoot finds the repository root (the directory holding go.mod) above
// the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("repository root (go.mod) not found")
		}
		dir = parent
	}
}

// prefixWriter writes each Write to stderr behind a prefix.
type prefixWriter struct{ prefix string }

func (w prefixWriter) Write(p []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(p), "\n") {
		if line != "" {
			fmt.Fprint(os.Stderr, w.prefix+line)
		}
	}
	return len(p), nil
}

func envString(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func envInt(key string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(key)); err == nil {
		return v
	}
	return def
}

func envDuration(key string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(key)); err == nil {
		return v
	}
	return def
}

// enrollHost enrolls a host identity in org on the shared network.
func enrollHost(t *testing.T, org network.Org, host string, opts network.EnrollOptions) network.HostIdentity {
	t.Helper()
	id, err := testNet.EnrollHost(t.Context(), org, host, opts)
	if err != nil {
		t.Fatalf("enroll host %s in %s: %v", host, org, err)
	}
	return id
}

// eventually calls f every interval until it returns nil, failing the test
// with f's last error after timeout.
func eventually(t *testing.T, timeout, interval time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not true after %s: %v", timeout, err)
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("test ended while waiting: %v", err)
		case <-tick.C:
		}
	}
}
