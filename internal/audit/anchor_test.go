package audit

import (
	"bytes"
	"strings"
	"testing"

	"github.com/e2l-project/e2l/internal/record"
)

func TestParseAnchor(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"sha256: prefixed hex is read", "sha256:" + hex, hex, true},
		{"bare hex is read", hex, hex, true},
		{"upper case and spaces are normalised", "  SHA256:" + strings.ToUpper(hex) + "\n", hex, true},
		{"a short hash is refused", "sha256:abcd", "", false},
		{"a non-hex hash is refused", strings.Repeat("zz", 32), "", false},
		{"another algorithm is refused", "sha512:" + hex, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseAnchor(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("ParseAnchor(%q) = %q, %v", tc.in, got, err)
			}
		})
	}
}

func TestVerifyNeedsTheTrustAnchor(t *testing.T) {
	w, a, _ := validArchive(t)
	genesis := anchorOf(t, w)
	t.Run("no anchor: the report fails, and the other checks still run", func(t *testing.T) {
		b := *a
		b.Records = append(append([]Stored{}, a.Records[:2]...), a.Records[3:]...)
		rep := Verify(&b, VerifyOptions{})
		wantTopError(t, rep, "no trust anchor: ", "its genesis block header is sha256:"+genesis)
		wantError(t, rep, "node1", 4, "missing seq 3")
	})
	t.Run("the right anchor passes, written either way", func(t *testing.T) {
		for _, anchor := range []string{genesis, "sha256:" + genesis, strings.ToUpper(genesis)} {
			rep := Verify(a, VerifyOptions{Anchor: anchor})
			if rep.Failed() {
				t.Fatalf("anchor %q fails:\n%s", anchor, strings.Join(errorsOf(rep), "\n"))
			}
		}
	})
	t.Run("another channel's anchor is a mismatch naming both hashes", func(t *testing.T) {
		other := anchorOf(t, newWorld(t))
		wantTopError(t, Verify(a, VerifyOptions{Anchor: "sha256:" + other}),
			"trust anchor mismatch: the evidence's genesis block header is sha256:"+genesis+", the trusted anchor is sha256:"+other+" (an impostor network, or another channel)")
	})
	t.Run("an impostor network with the same organisation names fails the anchor", func(t *testing.T) {
		_, impostor, _ := validArchive(t)
		if rep := Verify(impostor, VerifyOptions{}); rep.Count(Error) != 1 {
			t.Fatalf("the impostor archive should fail only for want of an anchor:\n%s", strings.Join(errorsOf(rep), "\n"))
		}
		wantTopError(t, Verify(impostor, VerifyOptions{Anchor: genesis}), "trust anchor mismatch", "the trusted anchor is sha256:"+genesis)
	})
	t.Run("a malformed anchor is named", func(t *testing.T) {
		wantTopError(t, Verify(a, VerifyOptions{Anchor: "sha256:xyz"}), `trust anchor "sha256:xyz" is not a SHA-256 hash`)
	})
	t.Run("a version 1 archive without its genesis block cannot match an anchor", func(t *testing.T) {
		w, a := rotatedArchive(t, "UserMSP")
		a.Version, a.ConfigBlocks, a.ConfigBlock = 1, nil, w.config
		wantTopError(t, Verify(a, VerifyOptions{Anchor: anchorOf(t, w)}), "trust anchor: the evidence holds no genesis block (a version 1 archive keeps only configuration block 2)")
	})
	t.Run("a version 1 archive whose configuration block is the genesis block matches", func(t *testing.T) {
		b := *a
		b.Version, b.ConfigBlocks, b.ConfigBlock = 1, nil, w.configs[0]
		if rep := Verify(&b, VerifyOptions{Anchor: genesis}); rep.Failed() {
			t.Fatalf("version 1 archive fails:\n%s", strings.Join(errorsOf(rep), "\n"))
		}
	})
}

func TestReceiptNeedsTheTrustAnchor(t *testing.T) {
	w, a, _ := validArchive(t)
	genesis := anchorOf(t, w)
	r, rep, err := NewReceipt("e2l", "e2l", a.Records[2], a.Blocks[1], w.configs...)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed() || rep.Count(Warning) != 0 {
		t.Fatalf("a new receipt does not verify cleanly: %v", rep.Findings)
	}
	if len(r.ConfigBlocks) != 1 || !bytes.Equal(r.ConfigBlocks[0], w.configs[0]) {
		t.Fatalf("the receipt holds %d configuration blocks, want the genesis block", len(r.ConfigBlocks))
	}
	t.Run("the right anchor passes", func(t *testing.T) {
		if rep := VerifyReceipt(r, ReceiptOptions{Anchor: "sha256:" + genesis}); rep.Failed() {
			t.Fatalf("receipt fails: %v", errorsOf(rep))
		}
	})
	t.Run("no anchor fails", func(t *testing.T) {
		wantTopError(t, VerifyReceipt(r, ReceiptOptions{}), "no trust anchor")
	})
	t.Run("a wrong anchor fails naming both hashes", func(t *testing.T) {
		other := anchorOf(t, newWorld(t))
		wantTopError(t, VerifyReceipt(r, ReceiptOptions{Anchor: other}), "trust anchor mismatch: the evidence's genesis block header is sha256:"+genesis+", the trusted anchor is sha256:"+other)
	})
	t.Run("a receipt with a self-made configuration fails the anchor", func(t *testing.T) {
		// Another network with the same names: its genesis and its block.
		ow, oa, _ := validArchive(t)
		forged, _, err := NewReceipt("e2l", "e2l", oa.Records[2], oa.Blocks[1], ow.configs...)
		if err != nil {
			t.Fatal(err)
		}
		wantTopError(t, VerifyReceipt(forged, ReceiptOptions{Anchor: genesis}), "trust anchor mismatch")
	})
	t.Run("a version 1 receipt of a non-genesis configuration cannot match", func(t *testing.T) {
		rw, ra := rotatedArchive(t, "UserMSP")
		v1, _, err := NewReceipt("e2l", "e2l", ra.Records[3], rw.blocks[len(rw.blocks)-1], rw.config)
		if err != nil {
			t.Fatal(err)
		}
		v1.Version, v1.ConfigBlocks = 1, nil
		wantTopError(t, VerifyReceipt(v1, ReceiptOptions{Anchor: anchorOf(t, rw)}), "holds no genesis block (the receipt holds only configuration block 2)")
	})
	t.Run("a receipt across a rotation carries the history and verifies against the anchor", func(t *testing.T) {
		rw, ra := rotatedArchive(t, "ProviderMSP")
		rr, rep, err := NewReceipt("e2l", "e2l", ra.Records[3], rw.blocks[len(rw.blocks)-1], rw.configs...)
		if err != nil || rep.Failed() {
			t.Fatalf("receipt: %v %v", err, rep)
		}
		if len(rr.ConfigBlocks) != 2 {
			t.Fatalf("the receipt holds %d configuration blocks, want 0 and 2", len(rr.ConfigBlocks))
		}
		if rep := VerifyReceipt(rr, ReceiptOptions{Anchor: anchorOf(t, rw)}); rep.Failed() {
			t.Fatalf("receipt fails: %v", errorsOf(rep))
		}
	})
}

func TestReceiptChecksTheLinksOfItsBlocks(t *testing.T) {
	// Block 1, right after the genesis block, cut on another chain.
	w := newWorld(t)
	w.prevHash = make([]byte, 32)
	st := w.commit(record.Batch{Records: []record.Sealed{newChainer(t, "node1").start()}}, txOpts{})[0]
	_, rep, err := NewReceipt("e2l", "e2l", st, w.blocks[0], w.configs...)
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, rep, "node1", 1, "broken block link: block 1's previous hash 000000000000… is not the hash", "of block 0's header")
}
