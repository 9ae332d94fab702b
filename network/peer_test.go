package network

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakePeerCLI installs a peer command in c.BinDir that fails with
// failOutput its first fails runs and succeeds after, logging each run's
// arguments (one line a run) to the returned file; and marks every orderer
// as running.
func fakePeerCLI(t *testing.T, fails int, failOutput string) (Config, string) {
	t.Helper()
	c, err := Config{Dir: t.TempDir(), BinDir: t.TempDir(), PortBase: 20000}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	calls := filepath.Join(t.TempDir(), "calls")
	script := fmt.Sprintf(`#!/bin/sh
echo "$*" >> %q
n=$(wc -l < %q)
if [ "$n" -le %d ]; then echo %q >&2; exit 1; fi
`, calls, calls, fails, failOutput)
	if err := os.WriteFile(c.bin("peer"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, o := range Orgs() {
		if err := os.MkdirAll(c.peerDir(o), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i := range Orgs() {
		if err := os.MkdirAll(filepath.Dir(c.pidPath(ordererNode(i))), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(c.pidPath(ordererNode(i)), []byte(fmt.Sprintf("%d\n", os.Getpid())), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return c, calls
}

func runs(t *testing.T, calls string) []string {
	t.Helper()
	b, err := os.ReadFile(calls)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

const noLeader = "Error: failed to send transaction: got unexpected status: SERVICE_UNAVAILABLE -- no Raft leader"

func TestOrdererTxSendsARefusedTransactionAgainToTheNextOrderer(t *testing.T) {
	c, calls := fakePeerCLI(t, 2, noLeader)
	if _, err := c.ordererTx(t.Context(), Provider, "lifecycle", "chaincode", "commit"); err != nil {
		t.Fatal(err)
	}
	got := runs(t, calls)
	if len(got) != 3 {
		t.Fatalf("%d runs %q, want 3 (two refusals, then the commit)", len(got), got)
	}
	for i, run := range got {
		want := fmt.Sprintf("lifecycle chaincode commit -o %s ", addr(c.port(slotOrderer, i, offMain)))
		if !strings.HasPrefix(run, want) {
			t.Errorf("run %d: %q, want it to start %q", i, run, want)
		}
	}
}

func TestOrdererTxReturnsOtherFailuresAtOnce(t *testing.T) {
	c, calls := fakePeerCLI(t, 1, "Error: proposal failed: chaincode definition for 'e2l' exists, but chaincode is not installed")
	_, err := c.ordererTx(t.Context(), Developer, "lifecycle", "chaincode", "approveformyorg")
	var te *ToolError
	if !errors.As(err, &te) || !strings.Contains(te.Output, "not installed") {
		t.Fatalf("error %v, want the peer CLI's failure", err)
	}
	if got := runs(t, calls); len(got) != 1 {
		t.Fatalf("%d runs %q, want 1", len(got), got)
	}
}

func TestOrdererTxGivesUpWithTheLastRefusalWhenItsContextEnds(t *testing.T) {
	c, _ := fakePeerCLI(t, 1000, noLeader)
	ctx, cancel := context.WithTimeout(t.Context(), 800*time.Millisecond)
	defer cancel()
	_, err := c.ordererTx(ctx, User, "lifecycle", "chaincode", "commit")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "SERVICE_UNAVAILABLE") {
		t.Fatalf("error %v, want the deadline and the last refusal", err)
	}
}
