package index

import (
	"bytes"
	"reflect"
	"testing"
)

// testShape is a small SyntheticShape for unit tests.
var testShape = SyntheticShape{Hosts: []string{"h1", "h2", "h3"}, TxsPerBlock: 4, RecordsPerTx: 5}

func TestSyntheticRunsContinueEachOther(t *testing.T) {
	whole := SyntheticUpdates(testShape, nil, 0, 7)
	first := SyntheticUpdates(testShape, nil, 0, 3)
	rest := SyntheticUpdates(testShape, first[2].Block.Root, 3, 4)
	if !reflect.DeepEqual(append(first, rest...), whole) {
		t.Error("blocks 0-2 and 3-6 made apart differ from blocks 0-6 made at once")
	}
	var root []byte
	seqs := map[string]uint64{}
	for _, u := range whole {
		if !bytes.Equal(u.Block.Digest, RowsDigest(u.Records, u.Hosts, u.Findings)) {
			t.Errorf("block %d: Digest is not RowsDigest of its rows", u.Block.Number)
		}
		if !bytes.Equal(u.Block.Root, ChainRoot(root, u.Block.HeaderHash, u.Block.Digest)) {
			t.Errorf("block %d: Root is not ChainRoot of the previous root", u.Block.Number)
		}
		root = u.Block.Root
		for _, r := range u.Records {
			if r.Seq != seqs[r.Host]+1 {
				t.Fatalf("block %d: %s's seq %d follows %d", u.Block.Number, r.Host, r.Seq, seqs[r.Host])
			}
			seqs[r.Host] = r.Seq
			if n := len(r.Stored); n < 700 || n > 1000 {
				t.Errorf("record %s/%d (%s): Stored is %d bytes, want 700-1000", r.Host, r.Seq, r.Kind, n)
			}
		}
	}
}
