package audit

import (
	"strings"
	"testing"
)

// runsOf splits the world's blocks into two runs at block index cut, the
// second resting on the registry's block.
func runsOf(t *testing.T, w *world, a *Archive, cut int) (BlockRun, BlockRun) {
	t.Helper()
	first := BlockRun{Channel: "e2l", Chaincode: "e2l", ConfigBlocks: w.configs, Blocks: a.Blocks[:cut], Hosts: a.Hosts}
	prev, err := ParseBlock(a.Blocks[cut-1])
	if err != nil {
		t.Fatal(err)
	}
	second := BlockRun{Channel: "e2l", Chaincode: "e2l", ConfigBlocks: w.configs, Context: a.Blocks[:1], Blocks: a.Blocks[cut:],
		Hosts: a.Hosts, PrevHeader: HeaderHash(prev.Block.GetHeader())}
	return first, second
}

func runErrors(r *RunResult) []string { return errorsOf(&Report{Findings: r.Findings}) }

func TestVerifyRunFindsWhatVerifyFindsRunByRun(t *testing.T) {
	w, a, _ := crossOrgClaim(t) // block 1: registry; 2: seq 1-2; 3: the forged seq 3; 4: seq 4
	first, second := runsOf(t, w, a, 2)
	anchor := VerifyOptions{Anchor: anchorOf(t, w)}

	r1 := VerifyRun(first, anchor)
	if errs := runErrors(r1); len(errs) > 0 {
		t.Fatalf("the honest run: %v", errs)
	}
	if len(r1.Records) != 2 || len(r1.Hosts) != 1 || len(r1.Blocks) != 2 {
		t.Fatalf("run 1 holds %d records, %d registry entries, %d blocks; want 2, 1, 2", len(r1.Records), len(r1.Hosts), len(r1.Blocks))
	}
	for i, r := range r1.Records {
		if r.Stored.ID != a.Records[i].ID || r.Tx == nil || r.Tx.Block != 2 || string(r.Raw) == "" {
			t.Errorf("record %d: %+v", i, r)
		}
	}

	r2 := VerifyRun(second, anchor)
	errs := runErrors(r2)
	found := false
	for _, f := range r2.Findings {
		if f.Severity == Error && strings.HasPrefix(f.Problem, "FORGERY: host node1 belongs to ProviderMSP") && f.Seq == 3 {
			found = true
			if got := r2.BlockOf(f); got != 3 {
				t.Errorf("the forgery is placed in block %d, want 3", got)
			}
		}
		if strings.Contains(f.Problem, "missing seq") || strings.Contains(f.Problem, "broken link") {
			t.Errorf("a run does not check chains (the index does): %v", f)
		}
	}
	if !found {
		t.Fatalf("the forged record is not reported: %v", errs)
	}
	if len(r2.Records) != 2 {
		t.Fatalf("run 2 holds %d records, want 2", len(r2.Records))
	}

	t.Run("a run that does not follow the indexed block is reported", func(t *testing.T) {
		_, second := runsOf(t, w, a, 2)
		second.PrevHeader = []byte("not the header hash of block 2 ")
		r := VerifyRun(second, anchor)
		if errs := runErrors(r); len(errs) == 0 || !strings.Contains(strings.Join(errs, "\n"), "broken block link: block 3's previous hash") {
			t.Fatalf("errors %v", errs)
		}
	})
	t.Run("a run without the registry's block cannot bind its records", func(t *testing.T) {
		_, second := runsOf(t, w, a, 2)
		second.Context = nil
		if errs := runErrors(VerifyRun(second, anchor)); len(errs) == 0 {
			t.Fatal("no error")
		}
	})
}
