package index

import (
	"fmt"
	"reflect"
	"testing"
)

// sumsOneByOne is what SumBlocks must give: each block's RowsOfBlock
// summed up with RowsDigest.
func sumsOneByOne(t *testing.T, s *Store, blocks []Block, findings map[uint64][]Finding) []BlockSum {
	t.Helper()
	var want []BlockSum
	for _, b := range blocks {
		recs, hosts, err := s.RowsOfBlock(t.Context(), b.Number)
		if err != nil {
			t.Fatal(err)
		}
		txs := map[string]bool{}
		for _, r := range recs {
			txs[r.TxID] = true
		}
		want = append(want, BlockSum{Records: len(recs), Txs: len(txs), Digest: RowsDigest(recs, hosts, findings[b.Number])})
	}
	return want
}

func TestSumBlocksIsEachBlocksRowsSummedUp(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *Store) {
		shape := SyntheticShape{Hosts: []string{"a", "b", "c"}, TxsPerBlock: 3, RecordsPerTx: 4}
		updates := SyntheticUpdates(shape, nil, 0, 31)
		mustApply(t, s, updates...)
		all, err := s.Findings(t.Context(), 0)
		if err != nil {
			t.Fatal(err)
		}
		findings := map[uint64][]Finding{}
		for _, f := range all {
			findings[f.Block] = append(findings[f.Block], f)
		}
		blocks := allBlocks(t, s)
		// Block 0 has registry entries and no records, every 10th a finding.
		for i, b := range blocks {
			if want := updates[i].Block.Digest; !reflect.DeepEqual(b.Digest, want) {
				t.Fatalf("block %d: stored digest %x, want %x", b.Number, b.Digest, want)
			}
		}
		// Every other block, so that a run skips the rows of blocks it was not given.
		var some []Block
		for i := 0; i < len(blocks); i += 2 {
			some = append(some, blocks[i])
		}
		for _, set := range []struct {
			name   string
			blocks []Block
		}{{"every block", blocks}, {"every other block", some}, {"one block", blocks[7:8]}, {"none", nil}} {
			want := sumsOneByOne(t, s, set.blocks, findings)
			for _, workers := range []int{1, 3} {
				for _, run := range []int{1, 25, 1 << 30} {
					t.Run(fmt.Sprintf("%s/%d workers/runs of %d records", set.name, workers, run), func(t *testing.T) {
						got, err := s.sumBlocks(t.Context(), set.blocks, findings, workers, run)
						if err != nil {
							t.Fatal(err)
						}
						if len(got) != len(want) {
							t.Fatalf("%d sums, want %d", len(got), len(want))
						}
						for i := range want {
							if !reflect.DeepEqual(got[i], want[i]) {
								t.Errorf("block %d: %+v, want %+v", set.blocks[i].Number, got[i], want[i])
							}
							if want[i].Records > 0 && set.blocks[i].Records != want[i].Records {
								t.Errorf("block %d: %d rows, the block says %d", set.blocks[i].Number, want[i].Records, set.blocks[i].Records)
							}
						}
					})
				}
			}
		}
		t.Run("a changed row changes its block's sum alone", func(t *testing.T) {
			if _, err := s.db.ExecContext(t.Context(), `UPDATE records SET name = 'changed' WHERE block = 12 AND block_pos = 3`); err != nil {
				t.Fatal(err)
			}
			got, err := s.SumBlocks(t.Context(), blocks, findings, 2)
			if err != nil {
				t.Fatal(err)
			}
			for i, b := range blocks {
				if changed := !reflect.DeepEqual(got[i].Digest, b.Digest); changed != (b.Number == 12) {
					t.Errorf("block %d: digest changed %v", b.Number, changed)
				}
			}
		})
	})
}
