//go:build integration

package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/network"
)

// Attacks on offline verification: archives and receipts exported from the
// real network (or an impostor's) with the real e2l binary, altered as a
// dishonest holder would, verified with the real e2l binary.

// verifyArchive runs `e2l verify --archive` with an anchor ("" for none).
func (f *attackFixture) verifyArchive(t *testing.T, path, anchor string) (out string, code int) {
	t.Helper()
	args := []string{"verify", "--archive", path, "-q"}
	if anchor != "" {
		args = append(args, anchorFlag(anchor))
	}
	out, errOut, code := f.offline(t, args...)
	return out + errOut, code
}

// requireDetected requires a verification to fail (exit 1, no OK) with
// every want in its output, and returns the first error line holding the
// first want.
func requireDetected(t *testing.T, what, out string, code int, wants ...string) string {
	t.Helper()
	if code == 0 || strings.Contains(out, "\nOK: ") || strings.HasPrefix(out, "OK: ") {
		t.Fatalf("%s: exit %d, the attack was not detected:\n%s", what, code, out)
	}
	if code != 1 { // 2 is a usage error: nothing was verified
		t.Fatalf("%s: exit %d, want 1 (verification failed):\n%s", what, code, out)
	}
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Fatalf("%s: exit %d, the output does not say %q:\n%s", what, code, w, out)
		}
	}
	t.Logf("%s: exit %d\n%s", what, code, out)
	if len(wants) == 0 {
		return firstLine(out, "ERROR")
	}
	return firstLine(out, wants[0])
}

// tampered writes an altered copy of an archive and returns its path.
func tampered(t *testing.T, src string, alter func(a *audit.Archive)) string {
	t.Helper()
	a := readArchive(t, src)
	alter(a)
	path := filepath.Join(t.TempDir(), "tampered.e2l.gz")
	writeArchive(t, path, a)
	return path
}

// 5. An archive from a network built from scratch with the same MSP names.
func attackImpostorArchive(t *testing.T, f *attackFixture, ev *evidence) {
	h := f.honestEvidence(t)
	imp := f.impostorEvidence(t)
	if imp.genesis == f.anchor {
		t.Fatal("the impostor network has the real network's genesis")
	}
	out, code := f.verifyArchive(t, imp.archive, f.anchor)
	mismatch := requireDetected(t, "impostor archive with the real anchor", out, code, "trust anchor mismatch", imp.genesis, f.anchor)
	out, code = f.verifyArchive(t, imp.archive, "")
	noAnchor := requireDetected(t, "impostor archive with no anchor", out, code, "no trust anchor")
	out, code = f.verifyArchive(t, h.archive, f.anchor)
	if code != 0 || !strings.Contains(out, "OK: ") {
		t.Fatalf("the honest archive with the right anchor: exit %d\n%s", code, out)
	}

	// The auditor's way: e2l trust against the network it chose to trust
	// writes the anchor into a trust file that later commands read.
	trust := filepath.Join(t.TempDir(), "trust")
	f.mustOnline(t, testNet, "trust", "--trust-file", trust)
	if b, err := os.ReadFile(trust); err != nil || !strings.Contains(string(b), "sha256:"+f.anchor) {
		t.Fatalf("e2l trust wrote %q (%v), want the genesis sha256:%s", b, err, f.anchor)
	}
	out, errOut, code := f.offline(t, "verify", "--archive", imp.archive, "-q", "--trust-file", trust)
	requireDetected(t, "impostor archive with the trust file", out+errOut, code, "trust anchor mismatch")
	out, errOut, code = f.offline(t, "verify", "--archive", h.archive, "-q", "--trust-file", trust)
	if code != 0 || !strings.Contains(out, "OK: ") {
		t.Fatalf("the honest archive with the trust file: exit %d\n%s\n%s", code, out, errOut)
	}
	ev.set("%s; with no anchor: %s; the honest archive with the anchor (flag or e2l trust's file): %s", mismatch, noAnchor, firstLine(out, "OK: "))
}

// 6. An orderer org signs a second, different block of a number the
// archive already holds (equivocation: on Raft one signature suffices).
func attackDuplicatedBlock(t *testing.T, f *attackFixture, ev *evidence) {
	h := f.honestEvidence(t)
	signer := ordererSigner(t, testNet, network.Provider)
	gw := connectGateway(t, adminIdentity(testNet, network.Developer))
	var num uint64
	path := tampered(t, h.archive, func(a *audit.Archive) {
		_, b := blockOfTx(t, a, a.Records[0].TxID)
		num = b.Number
		extra := parseBlock(t, qsccBlock(t, gw, b.Number-1)).Txs[0].Envelope
		_, forged := withExtraTx(t, b.Raw, extra, signer)
		a.Blocks = append(a.Blocks, forged)
	})
	out, code := f.verifyArchive(t, path, f.anchor)
	ev.set("%s", requireDetected(t, "archive with two blocks of one number", out, code, "two different blocks numbered "+itoa(num)))
}

// A block re-signed by one orderer org (a transaction added) put between
// two real blocks: the next block's PreviousHash no longer links.
func attackSplicedBlock(t *testing.T, f *attackFixture, ev *evidence) {
	h := f.honestEvidence(t)
	signer := ordererSigner(t, testNet, network.Provider)
	gw := connectGateway(t, adminIdentity(testNet, network.Developer))
	var num uint64
	path := tampered(t, h.archive, func(a *audit.Archive) {
		i, b := blockOfTx(t, a, a.Records[0].TxID)
		num = b.Number
		extra := parseBlock(t, qsccBlock(t, gw, b.Number-1)).Txs[0].Envelope
		_, forged := withExtraTx(t, b.Raw, extra, signer)
		a.Blocks[i] = forged
		// Both neighbours present, from the ledger.
		for _, n := range []uint64{num - 1, num + 1} {
			if !archiveHasBlock(t, a, n) {
				a.Blocks = append(a.Blocks, qsccBlock(t, gw, n))
			}
		}
	})
	out, code := f.verifyArchive(t, path, f.anchor)
	ev.set("%s", requireDetected(t, "archive with a re-signed block between two real ones", out, code, "broken block link", "block "+itoa(num+1)))
}

func archiveHasBlock(t *testing.T, a *audit.Archive, n uint64) bool {
	t.Helper()
	for _, raw := range a.Blocks {
		if parseBlock(t, raw).Number == n {
			return true
		}
	}
	return false
}

// The block that holds a record is left out of the archive.
func attackWithheldBlock(t *testing.T, f *attackFixture, ev *evidence) {
	h := f.honestEvidence(t)
	var txID string
	path := tampered(t, h.archive, func(a *audit.Archive) {
		txID = a.Records[0].TxID
		i, _ := blockOfTx(t, a, txID)
		a.Blocks = append(a.Blocks[:i], a.Blocks[i+1:]...)
	})
	out, code := f.verifyArchive(t, path, f.anchor)
	ev.set("%s", requireDetected(t, "archive without a record's block", out, code, txID))
}

// 9. The archive file cut in half.
func attackTruncatedArchive(t *testing.T, f *attackFixture, ev *evidence) {
	h := f.honestEvidence(t)
	raw, err := os.ReadFile(h.archive)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "truncated.e2l.gz")
	if err := os.WriteFile(path, raw[:len(raw)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := f.verifyArchive(t, path, f.anchor)
	ev.set("%s", requireDetected(t, "truncated archive", out, code, path))
}

// 12. A receipt verified with no trust anchor.
func attackReceiptNoAnchor(t *testing.T, f *attackFixture, ev *evidence) {
	h := f.honestEvidence(t)
	out, errOut, code := f.offline(t, "verify-receipt", h.receipt)
	msg := requireDetected(t, "receipt with no anchor", out+errOut, code, "no trust anchor")
	out, errOut, code = f.offline(t, "verify-receipt", anchorFlag(f.anchor), h.receipt)
	if code != 0 || !strings.Contains(out, "OK: ") {
		t.Fatalf("the receipt with the right anchor: exit %d\n%s\n%s", code, out, errOut)
	}
	ev.set("%s; with the anchor: %s", msg, firstLine(out, "OK: "))
}

// 10. A receipt whose configuration comes from elsewhere: one exported from
// the impostor network, and a real one whose configuration block (and the
// roots it lists) were swapped for the impostor's.
func attackReceiptSelfMadeConfig(t *testing.T, f *attackFixture, ev *evidence) {
	h := f.honestEvidence(t)
	imp := f.impostorEvidence(t)
	out, errOut, code := f.offline(t, "verify-receipt", anchorFlag(f.anchor), imp.receipt)
	own := requireDetected(t, "the impostor network's receipt with the real anchor", out+errOut, code)

	r := readReceipt(t, h.receipt)
	ir := readReceipt(t, imp.receipt)
	r.ConfigBlock, r.ConfigBlocks = ir.ConfigBlock, ir.ConfigBlocks
	trust, err := audit.TrustFromConfigBlock(parseBlock(t, r.ConfigBlock))
	if err != nil {
		t.Fatal(err)
	}
	r.Roots = trust.Fingerprints()
	path := filepath.Join(t.TempDir(), "swapped.json")
	writeReceipt(t, path, r)
	out, errOut, code = f.offline(t, "verify-receipt", anchorFlag(f.anchor), path)
	swapped := requireDetected(t, "a real receipt with the impostor's configuration", out+errOut, code)
	ev.set("impostor's receipt: %s; swapped configuration: %s", own, swapped)
}

func readReceipt(t *testing.T, path string) *audit.Receipt {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r audit.Receipt
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

func writeReceipt(t *testing.T, path string, r *audit.Receipt) {
	t.Helper()
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := audit.WriteReceipt(fh, r); err != nil {
		t.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		t.Fatal(err)
	}
}
