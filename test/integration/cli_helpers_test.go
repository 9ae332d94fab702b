//go:build integration

package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"google.golang.org/protobuf/proto"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/network"
)

// e2lCLI is the built e2l binary with connection flags for an org admin
// and the trust file the test binary's auditor keeps (holding the test
// network's genesis hash, recorded by "e2l trust").
type e2lCLI struct {
	bin       string
	conn      []string
	trustFile string
	genesis   string // sha256:<hex>
}

// offline is args for a run with no connection flags, with the trust file.
func (c e2lCLI) offline(args ...string) []string {
	return append([]string{"--trust-file", c.trustFile}, args...)
}

// run runs the CLI and returns stdout, stderr and the exit code.
func (c e2lCLI) run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return runCmd(t, c.command(t.Context(), args...))
}

// command is the CLI with its connection flags and args, its cache (the
// default audit index) and state directories beside the trust file: the
// test network's, fresh for each test binary.
func (c e2lCLI) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.bin, append(append([]string{}, c.conn...), args...)...)
	dir := filepath.Dir(c.trustFile)
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"), "XDG_STATE_HOME="+filepath.Join(dir, "state"))
	return cmd
}

func runCmd(t *testing.T, cmd *exec.Cmd) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.String(), errb.String(), 0
	case errors.As(err, &ee):
		return out.String(), errb.String(), ee.ExitCode()
	}
	t.Fatalf("run %v: %v", cmd.Args, err)
	return "", "", -1
}

// mustRun runs the CLI and fails the test unless it exits 0.
func (c e2lCLI) mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := c.run(t, args...)
	if code != 0 {
		t.Fatalf("e2l %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

var auditorCLIBuild = struct {
	sync.Once
	bin string
	err error
}{}

// e2lBin is the e2l binary, built once per test binary into .artifacts/bin
// like collectorBin.
func e2lBin(t *testing.T) string {
	t.Helper()
	auditorCLIBuild.Do(func() {
		root, err := repoRoot()
		if err != nil {
			auditorCLIBuild.err = err
			return
		}
		auditorCLIBuild.bin = filepath.Join(artifactsDir(t), "bin", "e2l")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		auditorCLIBuild.err = goBuild(ctx, root, auditorCLIBuild.bin, "./cmd/e2l")
	})
	if auditorCLIBuild.err != nil {
		t.Fatalf("build e2l: %v", auditorCLIBuild.err)
	}
	return auditorCLIBuild.bin
}

// auditorTrust is the test binary's "e2l trust", run once.
var auditorTrust = struct {
	sync.Once
	genesis string
	err     error
}{}

// auditorCLI is the e2l binary, built once per test binary into
// .artifacts/bin like collectorBin, connected as the
// Developer org's admin asking the Developer peer first: any member
// identity can read.
func auditorCLI(t *testing.T) e2lCLI {
	t.Helper()
	bin := e2lBin(t)
	dev := testNet.Peer(network.Developer)
	var endpoints []string
	for _, p := range testNet.Peers() {
		endpoints = append(endpoints, p.Endpoint)
	}
	// The network's directory is fresh for each test binary, and so is its
	// genesis block: the trust file lives there.
	trustFile := filepath.Join(testNet.Config().Dir, "auditor", "trust")
	cli := e2lCLI{bin: bin, conn: []string{"--msp-id", dev.MSPID, "--cert", dev.AdminCertPath, "--key", dev.AdminKeyPath,
		"--peer-endpoints", strings.Join(endpoints, ","), "--peer-tls-ca", testNet.PeerTLSCABundle(), "--channel", network.ChannelName,
		"--chaincode", network.ChaincodeName, "--trust-file", trustFile}, trustFile: trustFile}
	auditorTrust.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var out, errb bytes.Buffer
		cmd := exec.CommandContext(ctx, cli.bin, append(append([]string{}, cli.conn...), "trust")...)
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			auditorTrust.err = fmt.Errorf("e2l trust: %w\n%s\n%s", err, out.String(), errb.String())
			return
		}
		for _, line := range strings.Split(out.String(), "\n") {
			if g, ok := strings.CutPrefix(line, "genesis  "); ok {
				auditorTrust.genesis = g
			}
		}
		if want := "recorded e2l genesis " + auditorTrust.genesis + " in " + trustFile; auditorTrust.genesis == "" || !strings.Contains(out.String(), want) {
			auditorTrust.err = fmt.Errorf("e2l trust: want %q in:\n%s", want, out.String())
		}
	})
	if auditorTrust.err != nil {
		t.Fatal(auditorTrust.err)
	}
	cli.genesis = auditorTrust.genesis
	return cli
}

func readArchive(t *testing.T, path string) *audit.Archive {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	a, err := audit.ReadArchive(fh)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func writeArchive(t *testing.T, path string, a *audit.Archive) {
	t.Helper()
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := audit.WriteArchive(fh, a); err != nil {
		t.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		t.Fatal(err)
	}
}

// swapEndorsements swaps the first two endorsement signatures of a
// transaction inside the archive's block that holds it.
func swapEndorsements(t *testing.T, a *audit.Archive, txID string) {
	t.Helper()
	for bi, raw := range a.Blocks {
		var b common.Block
		if err := proto.Unmarshal(raw, &b); err != nil {
			t.Fatal(err)
		}
		tx, ok := findEndorserTx(t, &b, txID)
		if !ok {
			continue
		}
		e := tx.action.Action.Endorsements
		if len(e) < 2 {
			t.Fatalf("transaction %s has %d endorsements", txID, len(e))
		}
		e[0].Signature, e[1].Signature = e[1].Signature, e[0].Signature
		tx.store(t, &b, nil)
		a.Blocks[bi] = mustProto(t, &b)
		return
	}
	t.Fatalf("transaction %s is in no block of the archive", txID)
}
