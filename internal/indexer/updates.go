package indexer

import (
	"context"
	"fmt"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/index"
)

type runStats struct {
	records    int
	findings   int
	bySeverity map[string]int
}

// updates turns a verified run into one update per block: its records
// (a chain slot already indexed, or filled twice in the run, is a finding,
// not a row: the first VALID write of a slot is the ledger's), registry
// entries and findings, with the block's digest and root.
func (x *Indexer) updates(ctx context.Context, res *audit.RunResult, keep map[uint64]bool) ([]index.Update, runStats, error) {
	stats := runStats{bySeverity: map[string]int{}}
	byBlock := map[uint64]*index.Update{}
	ups := make([]index.Update, len(res.Blocks))
	for i, b := range res.Blocks {
		ups[i].Block = blockRow(b, 0, keep[b.Number])
		byBlock[b.Number] = &ups[i]
	}
	if len(ups) == 0 {
		return nil, stats, fmt.Errorf("a run of blocks that do not parse")
	}
	addFinding := func(n uint64, f index.Finding) {
		u := byBlock[n]
		if u == nil {
			u = &ups[len(ups)-1]
		}
		f.Block = u.Block.Number
		u.Findings = append(u.Findings, f)
		stats.findings++
		stats.bySeverity[f.Severity]++
	}

	slots := make([]index.Slot, 0, len(res.Records))
	for _, w := range res.Records {
		h, seq := w.Stored.Claimed()
		slots = append(slots, index.Slot{Host: h, Seq: seq})
	}
	taken, err := x.st.SlotsTaken(ctx, slots)
	if err != nil {
		return nil, stats, fmt.Errorf("chain slots: %w", err)
	}
	inRun := map[index.Slot]index.Record{}
	for i, w := range res.Records {
		n := w.Tx.Block
		row := recordRow(w, n)
		s := slots[i]
		if first, ok := taken[s]; ok {
			addFinding(n, index.Finding{TxID: row.TxID, RecordID: row.ID, Host: s.Host, Severity: "error",
				Problem: fmt.Sprintf("seq %d: chain slot already held by record %s (tx %s, block %d); a second VALID write of a write-once slot (an altered validation flag, or endorsers that did not run the e2l chaincode)", s.Seq, first.ID, first.TxID, first.Block)})
			continue
		}
		if first, ok := inRun[s]; ok {
			addFinding(n, index.Finding{TxID: row.TxID, RecordID: row.ID, Host: s.Host, Severity: "error",
				Problem: fmt.Sprintf("seq %d: chain slot already held by record %s (tx %s, block %d); a second VALID write of a write-once slot", s.Seq, first.ID, first.TxID, first.Block)})
			continue
		}
		inRun[s] = row
		u := byBlock[n]
		u.Records = append(u.Records, row)
		u.Block.Records++
		stats.records++
	}
	for _, h := range res.Hosts {
		u := byBlock[h.Tx.Block]
		u.Hosts = append(u.Hosts, hostRow(h))
	}
	for _, f := range res.Findings {
		addFinding(res.BlockOf(f), index.Finding{TxID: f.TxID, RecordID: f.ID, Host: f.Host, Severity: f.Severity.String(), Problem: findingText(f)})
	}
	prev := x.prevRoot
	for i := range ups {
		u := &ups[i]
		u.Block.Digest = index.RowsDigest(u.Records, u.Hosts, u.Findings)
		u.Block.Root = index.ChainRoot(prev, u.Block.HeaderHash, u.Block.Digest)
		prev = u.Block.Root
	}
	return ups, stats, nil
}

// findingText is a finding's problem with the seq it names, which the
// index's finding row has no column for.
func findingText(f audit.Finding) string {
	if f.Host != "" && f.Seq != 0 {
		return fmt.Sprintf("seq %d: %s", f.Seq, f.Problem)
	}
	return f.Problem
}
