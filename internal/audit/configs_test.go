package audit

import (
	"strings"
	"testing"

	"github.com/e2l-project/e2l/internal/record"
)

// rotatedArchive is node1's chain written in two batches with a CA
// rotation of mspID between them: the first batch is signed (or, for the
// orderer org, ordered) under the old CA, the second under the new one.
func rotatedArchive(t *testing.T, mspID string) (*world, *Archive) {
	t.Helper()
	w := newWorld(t)
	c := newChainer(t, "node1")
	// Version 2 (no host registry): these tests are about configurations.
	a := &Archive{Version: 2, Channel: "e2l", Chaincode: "e2l"}
	a.Records = append(a.Records, w.commit(record.Batch{Records: []record.Sealed{c.start(), c.event("container", "create", "c1", "web", nil)}}, txOpts{})...)
	w.rotate(mspID)
	a.Records = append(a.Records, w.commit(record.Batch{Records: []record.Sealed{c.event("container", "start", "c1", "web", nil), c.heartbeat()}}, txOpts{})...)
	a.Blocks, a.ConfigBlocks = w.blocks, w.configs
	return w, a
}

func TestVerifyAcrossACARotation(t *testing.T) {
	for _, mspID := range []string{"ProviderMSP", "UserMSP", "OrdererMSP"} {
		t.Run(mspID+" rotated: every block is checked against the configuration it was ordered under", func(t *testing.T) {
			w, a := rotatedArchive(t, mspID)
			rep := Verify(a, VerifyOptions{Anchor: anchorOf(t, w)})
			if rep.Failed() {
				t.Fatalf("archive across a %s CA rotation fails:\n%s", mspID, strings.Join(errorsOf(rep), "\n"))
			}
			if rep.Findings[0].Severity != Info || !strings.Contains(rep.Findings[0].Problem, "configuration blocks 0, 2, each later one signed under the one before") {
				t.Fatalf("first finding %v, want the configuration history described", rep.Findings[0])
			}
		})
	}
	t.Run("the latest configuration alone (a version 1 archive) rejects what the old CA signed", func(t *testing.T) {
		w, a := rotatedArchive(t, "ProviderMSP")
		a.Version, a.ConfigBlocks, a.ConfigBlock = 1, nil, w.config
		wantError(t, Verify(a, VerifyOptions{}), "node1", 1, "does not chain to a ProviderMSP root CA")
	})
}

func TestVerifyChecksTheConfigurationHistory(t *testing.T) {
	tests := []struct {
		name string
		edit func(w *world, a *Archive)
		want string
	}{
		{"a configuration block signed by an orderer the configuration before does not know", func(w *world, a *Archive) {
			*w = *newWorld(t)
			c := newChainer(t, "node1")
			a.Records = w.commit(record.Batch{Records: []record.Sealed{c.start()}}, txOpts{})
			w.forgeOrdererRotation()
			a.Records = append(a.Records, w.commit(record.Batch{Records: []record.Sealed{c.heartbeat()}}, txOpts{})...)
			a.Blocks, a.ConfigBlocks = w.blocks, w.configs
		}, "configuration: configuration block 2, checked against configuration block 0: block 2: orderer signatures do not satisfy the channel's block validation policy: /Channel/Orderer/BlockValidation: ANY of 1 sub-policies Writers: need 1, satisfied 0 (none); not counted: orderer signature 0 by OrdererMSP (CN=orderer0-2): certificate"},
		{"a missing genesis block", func(w *world, a *Archive) { a.ConfigBlocks = a.ConfigBlocks[1:] },
			"configuration: the genesis block (configuration block 0) is missing"},
		{"no configuration block", func(w *world, a *Archive) { a.ConfigBlocks = nil },
			"configuration: no configuration block"},
		{"a configuration block of another channel's history", func(w *world, a *Archive) { a.ConfigBlocks[1] = newWorld(t).config },
			"configuration: two different configuration blocks numbered 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name+" fails", func(t *testing.T) {
			w, a := rotatedArchive(t, "ProviderMSP")
			tc.edit(w, a)
			rep := Verify(a, VerifyOptions{})
			found := false
			for _, f := range rep.Findings {
				found = found || (f.Severity == Error && strings.Contains(f.Problem, tc.want))
			}
			if !found {
				t.Fatalf("want an error containing %q; findings:\n%v", tc.want, rep.Findings)
			}
		})
	}
	t.Run("a block whose configuration the evidence lacks fails naming its records", func(t *testing.T) {
		w, a := rotatedArchive(t, "ProviderMSP")
		a.ConfigBlocks = a.ConfigBlocks[:1]
		rep := Verify(a, VerifyOptions{Anchor: anchorOf(t, w)})
		wantError(t, rep, "node1", 3, "was ordered under configuration block 2, which the evidence does not hold")
		for _, f := range rep.Findings {
			if f.Severity == Error && f.Seq < 3 {
				t.Fatalf("records ordered under the configuration held fail: %v", f)
			}
		}
	})
}

func TestReceiptCarriesTheConfigurationOfItsBlock(t *testing.T) {
	w, a := rotatedArchive(t, "ProviderMSP")
	old := a.Records[0] // in block 1, ordered under configuration block 0
	r, rep, err := NewReceipt("e2l", "e2l", old, w.blocks[0], w.configs[0])
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed() {
		t.Fatalf("receipt of a record written before the rotation fails: %v", errorsOf(rep))
	}
	r.ConfigBlock, r.Roots = w.config, nil
	if c, err := SingleConfig(w.config); err == nil {
		r.Roots = c.Latest().Fingerprints()
	}
	rep = VerifyReceipt(r, ReceiptOptions{})
	found := false
	for _, f := range rep.Findings {
		found = found || strings.Contains(f.Problem, "block 1 was ordered under configuration block 0, the receipt carries configuration block 2")
	}
	if !found {
		t.Fatalf("a receipt with the later configuration: want the mismatch named; findings %v", rep.Findings)
	}
}

func TestAConfigurationBlockIsOrderedUnderTheOneBeforeIt(t *testing.T) {
	w, _ := rotatedArchive(t, "OrdererMSP")
	c, problems := CheckConfigs(w.configs)
	if c == nil {
		t.Fatal(problems)
	}
	b, err := ParseBlock(w.configs[1])
	if err != nil {
		t.Fatal(err)
	}
	tr, err := c.For(b)
	if err != nil || tr.ConfigBlock != 0 {
		t.Fatalf("configuration block %d checked under %v (%v), want configuration block 0", b.Number, tr, err)
	}
	if p := blockProblems(b, tr); len(p) > 0 {
		t.Fatalf("the orderer rotation's block, signed by the old orderer: %v", p)
	}
}
