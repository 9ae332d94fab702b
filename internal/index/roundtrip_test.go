package index

import (
	"bytes"
	"math"
	"reflect"
	"testing"
)

// edgeUpdates are rows at the edges of what the index stores: the largest
// seq, the extreme times, unicode, binary bytes, empty and nil slices.
func edgeUpdates() []Update {
	header := func(n byte) []byte { return bytes.Repeat([]byte{n}, 32) }
	updates := []Update{
		{
			Block: Block{Number: 0, HeaderHash: header(1), DataHash: []byte{}, Txs: 3, Records: 2, Config: true},
			Records: []Record{
				{
					ID: "id-max", Hash: "hash-max", Host: "ноуд-1 🐳", Seq: math.MaxInt64, PrevHash: "p", Kind: "event",
					Time: math.MinInt64, Name: "名前\t\"quoted\"\n", Actors: []string{}, Stored: []byte{},
					TxTime: math.MaxInt64, Block: 0, TxIndex: math.MaxInt32,
				},
				{
					ID: "id-bin", Hash: "h", Host: "h", Seq: 1, Kind: "snapshot", Time: -1,
					Actors: []string{"a", "a", "ü", ""}, Stored: []byte{0, 0xff, 0xfe, '\'', 0},
					MSP: "Org1MSP", CertSHA256: "c", TxID: "t", Block: 0,
				},
			},
			Hosts: []Host{
				{Host: "ноуд-1 🐳", MSP: "Org1MSP", SwarmRole: "manager", TxID: "t1", Block: 0, Entry: nil},
				{Host: "ноуд-1 🐳", MSP: "Org2MSP", SwarmRole: "", TxID: "t2", Block: 0, Entry: []byte{}},
			},
			Findings: []Finding{{Block: 0, Problem: "🐳 ≠ ok", Severity: "info"}, {Block: 0}},
		},
		{
			Block: Block{Number: 1, HeaderHash: header(2), PrevHash: header(1), DataHash: header(3), Raw: []byte{0, 1, 0xff}},
			Records: []Record{
				{ID: "id-nil", Host: "h", Seq: 2, Actors: nil, Stored: nil, Block: 1},
			},
			Hosts: []Host{{Host: "h", Block: 1, Entry: []byte{0, 0xff}}},
			State: []byte{0, 1},
		},
		{
			Block: Block{Number: 2, HeaderHash: header(4), PrevHash: header(2), Raw: []byte{}},
			State: []byte{},
		},
	}
	var root []byte
	for i := range updates {
		b := &updates[i].Block
		b.Digest = RowsDigest(updates[i].Records, updates[i].Hosts, updates[i].Findings)
		b.Root = ChainRoot(root, b.HeaderHash, b.Digest)
		root = b.Root
	}
	return updates
}

// normalized is u as the index reads it back: empty slices are nil.
func normalized(u Update) Update {
	b := &u.Block
	b.HeaderHash, b.PrevHash, b.DataHash = nilIfEmpty(b.HeaderHash), nilIfEmpty(b.PrevHash), nilIfEmpty(b.DataHash)
	b.Digest, b.Root, b.Raw = nilIfEmpty(b.Digest), nilIfEmpty(b.Root), nilIfEmpty(b.Raw)
	u.Records = append([]Record(nil), u.Records...)
	for i := range u.Records {
		r := &u.Records[i]
		r.Stored = nilIfEmpty(r.Stored)
		if len(r.Actors) == 0 {
			r.Actors = nil
		}
	}
	u.Hosts = append([]Host(nil), u.Hosts...)
	for i := range u.Hosts {
		u.Hosts[i].Entry = nilIfEmpty(u.Hosts[i].Entry)
	}
	return u
}

func TestRowsReadBackAsApplied(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *Store) {
		updates := edgeUpdates()
		mustApply(t, s, updates...)
		findings, err := s.Findings(t.Context(), 0)
		if err != nil {
			t.Fatal(err)
		}
		blocks := allBlocks(t, s)
		if len(blocks) != len(updates) {
			t.Fatalf("Blocks returned %d blocks, want %d", len(blocks), len(updates))
		}
		var root []byte
		for i, u := range updates {
			want := normalized(u)
			recs, hosts, err := s.RowsOfBlock(t.Context(), u.Block.Number)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(recs, want.Records) {
				t.Errorf("block %d: records read back\n %#v\nwant\n %#v", i, recs, want.Records)
			}
			if !reflect.DeepEqual(hosts, want.Hosts) {
				t.Errorf("block %d: registry entries read back\n %#v\nwant\n %#v", i, hosts, want.Hosts)
			}
			if !reflect.DeepEqual(blocks[i], want.Block) {
				t.Errorf("block %d read back\n %#v\nwant\n %#v", i, blocks[i], want.Block)
			}
			var fs []Finding
			for _, f := range findings {
				if f.Block == u.Block.Number {
					fs = append(fs, f)
				}
			}
			if !reflect.DeepEqual(fs, want.Findings) {
				t.Errorf("block %d: findings read back %#v, want %#v", i, fs, want.Findings)
			}
			// What a verifier does: the digest of the rows read back is
			// the block's Digest, and the roots chain.
			if got := RowsDigest(recs, hosts, fs); !bytes.Equal(got, blocks[i].Digest) {
				t.Errorf("block %d: RowsDigest of the rows read back %x, the block's Digest %x", i, got, blocks[i].Digest)
			}
			if got := ChainRoot(root, blocks[i].HeaderHash, blocks[i].Digest); !bytes.Equal(got, blocks[i].Root) {
				t.Errorf("block %d: ChainRoot of the blocks read back %x, the block's Root %x", i, got, blocks[i].Root)
			}
			root = blocks[i].Root
		}
		next, state, err := s.Head(t.Context())
		if err != nil || next != 3 || state != nil {
			t.Errorf("Head = %d, %v, %v; want 3 and an empty state as nil", next, state, err)
		}
		raw, err := s.RawBlocks(t.Context())
		if err != nil || len(raw) != 1 || raw[0].Number != 1 {
			t.Errorf("RawBlocks = %v, %v; want block 1 alone (block 2's Raw is empty)", raw, err)
		}
		got, err := s.ChainRecords(t.Context(), "ноуд-1 🐳", math.MaxInt64, math.MaxUint64)
		if err != nil || len(got) != 1 || got[0].Seq != math.MaxInt64 {
			t.Errorf("ChainRecords at the largest seq = %v, %v", slots(got), err)
		}
	})
}

// allBlocks returns every block s holds.
func allBlocks(t *testing.T, s *Store) []Block {
	t.Helper()
	var blocks []Block
	if err := s.Blocks(t.Context(), 0, math.MaxUint64, func(b Block) error {
		blocks = append(blocks, b)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return blocks
}
