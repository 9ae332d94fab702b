package audit

import (
	"strings"
	"testing"

	"github.com/hyperledger/fabric-protos-go-apiv2/peer"

	"github.com/e2l-project/e2l/internal/record"
)

// wantTopError fails unless some error finding contains every fragment.
func wantTopError(t *testing.T, rep *Report, fragments ...string) Finding {
	t.Helper()
	for _, f := range rep.Findings {
		ok := f.Severity == Error
		for _, fr := range fragments {
			ok = ok && strings.Contains(f.Problem, fr)
		}
		if ok {
			return f
		}
	}
	t.Fatalf("no error containing %q; errors:\n%s", fragments, strings.Join(errorsOf(rep), "\n"))
	return Finding{}
}

func TestVerifyHoldsOneBlockPerNumber(t *testing.T) {
	tests := []struct {
		name string
		edit func(t *testing.T, a *Archive)
		want []string
	}{
		{"a copy of a block with a validation flag changed is a second block of its number", func(t *testing.T, a *Archive) {
			a.Blocks = append(a.Blocks, setFlag(t, a.Blocks[1], 0, peer.TxValidationCode_MVCC_READ_CONFLICT))
		}, []string{"two different blocks numbered 3", "validation flags differ"}},
		{"another network's block of the same number is a second block of its number", func(t *testing.T, a *Archive) {
			_, other, _ := validArchive(t)
			a.Blocks = append(a.Blocks, other.Blocks[1])
		}, []string{"two different blocks numbered 3", "headers differ"}},
		{"the other copy listed first is still caught", func(t *testing.T, a *Archive) {
			a.Blocks = append([][]byte{setFlag(t, a.Blocks[1], 0, peer.TxValidationCode_MVCC_READ_CONFLICT)}, a.Blocks...)
		}, []string{"two different blocks numbered 3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, a, _ := validArchive(t)
			tc.edit(t, a)
			rep := Verify(a, VerifyOptions{Anchor: anchorOf(t, w)})
			wantTopError(t, rep, tc.want...)
			// The records of that block name it too (seq 3 and 4 are in block 3).
			wantError(t, rep, "node1", 3, "block 3: the evidence holds two different blocks of this number")
		})
	}
	t.Run("an identical copy of a block is harmless", func(t *testing.T) {
		w, a, _ := validArchive(t)
		a.Blocks = append(a.Blocks, a.Blocks[1], a.ConfigBlocks[0])
		if rep := Verify(a, VerifyOptions{Anchor: anchorOf(t, w)}); rep.Failed() {
			t.Fatalf("an archive with a block listed twice fails:\n%s", strings.Join(errorsOf(rep), "\n"))
		}
	})
}

func TestVerifyChecksThePreviousHashLinks(t *testing.T) {
	// Blocks 0 (genesis), 1 (registry), 2 and 3 (records): block 3 was cut
	// on another chain, its signature and contents otherwise valid.
	w := newWorld(t)
	reg := newRegistry(w)
	reg.register("node1", "ProviderMSP", "manager")
	c := newChainer(t, "node1")
	a := &Archive{Version: ArchiveVersion, Channel: "e2l", Chaincode: "e2l", ConfigBlocks: w.configs}
	a.Records = w.commit(record.Batch{Records: []record.Sealed{c.start()}}, txOpts{})
	w.prevHash = make([]byte, 32)
	a.Records = append(a.Records, w.commit(record.Batch{Records: []record.Sealed{c.heartbeat()}}, txOpts{})...)
	a.Blocks, a.Hosts = w.blocks, reg.hosts()
	rep := Verify(a, VerifyOptions{Anchor: anchorOf(t, w)})
	f := wantTopError(t, rep, "broken block link: block 3's previous hash 000000000000… is not the hash", "of block 2's header")
	if f.Host != "" {
		t.Fatalf("the link finding names host %q", f.Host)
	}
	t.Run("the links are checked only where consecutive blocks are present", func(t *testing.T) {
		b := *a
		b.Blocks = [][]byte{a.Blocks[0], a.Blocks[2]} // blocks 1 and 3
		b.Records = a.Records[1:]
		b.HostFrom = map[string]uint64{"node1": 2}
		if rep := Verify(&b, VerifyOptions{Anchor: anchorOf(t, w)}); rep.Failed() {
			t.Fatalf("blocks 1 and 3 alone fail:\n%s", strings.Join(errorsOf(rep), "\n"))
		}
	})
	t.Run("the genesis block is linked to block 1", func(t *testing.T) {
		w := newWorld(t)
		w.prevHash = []byte("not the genesis block's hash")
		reg := newRegistry(w)
		reg.register("node1", "ProviderMSP", "manager")
		a := &Archive{Version: ArchiveVersion, Channel: "e2l", Chaincode: "e2l", ConfigBlocks: w.configs, Blocks: w.blocks, Hosts: reg.hosts()}
		wantTopError(t, Verify(a, VerifyOptions{Anchor: anchorOf(t, w)}), "broken block link: block 1's previous hash", "of block 0's header")
	})
}
