package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/index"
	"github.com/e2l-project/e2l/internal/indexer"
)

// verify --index: the index verified every block when it indexed it, so
// a verification from the index checks again only what arrived since
// (the catch-up), then that the index still holds what was verified:
//
//   - every block's rows are summed up again (index.RowsDigest) and
//     chained (index.ChainRoot) and compared with the digests stored at
//     indexing; a block whose rows changed is read from the ledger and its
//     rows compared, naming each row that differs;
//   - the root of the last block verified by this auditor is kept outside
//     the database (in the user's state directory, per index): a database
//     rewritten with matching digests no longer chains to it, and every
//     block is then compared with the ledger (verifyindex_mark.go);
//   - the chains are checked over all their rows (holes, broken links) by
//     the database; gap records are noted and the hosts' last heartbeats
//     judged, as verify does on the ledger (verifyindex_chains.go).

func (a *app) verifyIndex(ctx context.Context, f verifyFlags) error {
	li, err := a.dialIndex(ctx)
	if err != nil {
		return err
	}
	defer li.Close()
	prog, err := a.catchUp(ctx, li, false, nil)
	if err != nil {
		return err
	}
	rep := &audit.Report{}
	add := func(fs ...audit.Finding) { rep.Findings = append(rep.Findings, fs...) }
	add(audit.Finding{Severity: audit.Info, Problem: fmt.Sprintf("index %s: blocks 0 to %d, each verified when indexed; this run indexed and verified %d new blocks (%d records)",
		li.where, prog.Next-1, prog.Blocks, prog.Records)})
	add(audit.Finding{Severity: audit.Info, Problem: fmt.Sprintf("anchored: channel %s genesis block header sha256:%s", li.c.Channel(), li.anchor)})

	ig, err := a.checkIntegrity(ctx, li, prog.Next)
	if err != nil {
		return err
	}
	add(ig.findings...)
	rep.Records, rep.Transactions, rep.Blocks = ig.records, ig.txs, ig.blocks

	stored, err := li.st.Findings(ctx, 0)
	if err != nil {
		return err
	}
	for _, sf := range stored {
		add(audit.Finding{Severity: severityOf(sf.Severity), Host: sf.Host, ID: sf.RecordID, TxID: sf.TxID, Problem: fmt.Sprintf("%s (block %d)", sf.Problem, sf.Block)})
	}
	chains, err := a.indexChainFindings(ctx, li.st, f.factor)
	if err != nil {
		return err
	}
	add(chains.findings...)
	rep.Hosts = chains.hosts
	// The mark records the database as verified, findings included: it is
	// kept whenever the database was found as indexed, whatever it holds.
	if !ig.tampered {
		if err := a.saveMark(li, prog.Next, ig.root); err != nil {
			return err
		}
	}
	return a.printReport(rep, f.output, f.quiet)
}

func severityOf(s string) audit.Severity {
	switch s {
	case "info":
		return audit.Info
	case "warning":
		return audit.Warning
	}
	return audit.Error
}

type integrity struct {
	findings             []audit.Finding
	records, txs, blocks int
	root                 []byte
	tampered             bool
}

// checkIntegrity recomputes every block's digest from its rows and the
// root chain from the digests, and compares them with the stored ones and
// with this auditor's mark; a block whose rows no longer match its digest
// (or every block up to the mark, when the mark no longer matches) is
// compared with the ledger's copy.
func (a *app) checkIntegrity(ctx context.Context, li *ledgerIndex, next uint64) (*integrity, error) {
	ig := &integrity{}
	findings, err := li.st.Findings(ctx, 0)
	if err != nil {
		return nil, err
	}
	byBlock := map[uint64][]index.Finding{}
	for _, f := range findings {
		byBlock[f.Block] = append(byBlock[f.Block], f)
	}
	mark, markErr := a.readMark(li)
	var root, storedChain []byte
	changed := map[uint64]bool{}
	rootAtMark := ""
	rechained := uint64(0)
	rechainedSeen := false
	var blocks []index.Block
	err = li.st.Blocks(ctx, 0, next-1, func(b index.Block) error {
		blocks = append(blocks, b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("index integrity: %w", err)
	}
	// Summing the rows up is most of a verification's work: it is shared
	// out among the cores, reading runs of blocks on connections of their
	// own; what follows the sums is cheap and in block order.
	sums, err := li.st.SumBlocks(ctx, blocks, byBlock, runtime.GOMAXPROCS(0))
	if err != nil {
		return nil, fmt.Errorf("index integrity: %w", err)
	}
	for i, b := range blocks {
		sum := sums[i]
		ig.records += sum.Records
		ig.txs += sum.Txs
		ig.blocks++
		if !bytes.Equal(sum.Digest, b.Digest) {
			changed[b.Number] = true
		}
		// The stored roots must chain the stored digests.
		storedChain = index.ChainRoot(storedChain, b.HeaderHash, b.Digest)
		if !bytes.Equal(storedChain, b.Root) && !rechainedSeen {
			rechained, rechainedSeen = b.Number, true
		}
		root = index.ChainRoot(root, b.HeaderHash, sum.Digest)
		if mark != nil && b.Number+1 == mark.Next {
			rootAtMark = hex.EncodeToString(root)
		}
	}
	ig.root = root
	add := func(sev audit.Severity, format string, args ...any) {
		ig.findings = append(ig.findings, audit.Finding{Severity: sev, Problem: fmt.Sprintf(format, args...)})
	}
	if uint64(ig.blocks) != next {
		ig.tampered = true
		add(audit.Error, "the index holds %d blocks below its checkpoint %d: blocks were deleted from it", ig.blocks, next)
	}
	if rechainedSeen {
		ig.tampered = true
		add(audit.Error, "block %d: the index's stored roots do not chain its stored digests from this block on: the digests were rewritten", rechained)
	}
	compare := map[uint64]bool{}
	for n := range changed {
		compare[n] = true
	}
	switch {
	case markErr != nil:
		add(audit.Warning, "this auditor's mark of the index: %v", markErr)
	case mark == nil:
		// Nothing of this index was verified by this auditor: index the
		// channel again, apart, and compare every block's digest (rows and
		// findings) with this index's.
		add(audit.Info, "first verification of this index by this auditor: the channel is indexed again apart and every block's rows and findings are compared with this index's")
		differ, err := a.reindexAndCompare(ctx, li, next)
		if err != nil {
			return nil, err
		}
		for n, how := range differ {
			compare[n] = true
			if how != "" {
				add(audit.Error, "block %d: %s", n, how)
			}
		}
	case mark.Next > next || rootAtMark != mark.Root:
		add(audit.Error, "the index changed since this auditor verified it up to block %d: its rows no longer chain to the root recorded then (rows rewritten with their digests, or blocks removed); every block up to it is compared with the ledger", mark.Next-1)
		for n := uint64(0); n < min(next, mark.Next); n++ {
			compare[n] = true
		}
	}
	if len(compare) > 0 {
		ig.tampered = true
		blocks := make([]uint64, 0, len(compare))
		for n := range compare {
			blocks = append(blocks, n)
		}
		sort.Slice(blocks, func(i, j int) bool { return blocks[i] < blocks[j] })
		fs, err := a.compareWithLedger(ctx, li, blocks, changed)
		if err != nil {
			return nil, err
		}
		ig.findings = append(ig.findings, fs...)
	}
	return ig, nil
}

// compareWithLedger reads the blocks from the ledger and names every index
// row that differs from what the block holds; a block whose digest did not
// match its rows (changed) but whose rows match the ledger had its
// findings or digest changed.
func (a *app) compareWithLedger(ctx context.Context, li *ledgerIndex, blocks []uint64, changed map[uint64]bool) ([]audit.Finding, error) {
	var out []audit.Finding
	for _, n := range blocks {
		raw, err := li.c.BlockByNumber(ctx, n)
		if err != nil {
			return nil, fmt.Errorf("block %d from the ledger: %w", n, err)
		}
		b, err := audit.ParseBlock(raw)
		if err != nil {
			return nil, fmt.Errorf("block %d from the ledger: %w", n, err)
		}
		want, wantHosts := indexer.Rows(b, li.c.Chaincode())
		got, gotHosts, err := li.st.RowsOfBlock(ctx, n)
		if err != nil {
			return nil, err
		}
		ledger := map[index.Slot]index.Record{}
		for _, r := range want {
			ledger[index.Slot{Host: r.Host, Seq: r.Seq}] = r
		}
		differ := 0
		for _, r := range got {
			w, ok := ledger[index.Slot{Host: r.Host, Seq: r.Seq}]
			if !ok {
				out = append(out, audit.Finding{Severity: audit.Error, Host: r.Host, Seq: r.Seq, ID: r.ID,
					Problem: fmt.Sprintf("the index holds this record in block %d, which the ledger's block %d does not hold", n, n)})
				differ++
				continue
			}
			if d := rowDiff(r, w); d != "" {
				out = append(out, audit.Finding{Severity: audit.Error, Host: r.Host, Seq: r.Seq, ID: r.ID,
					Problem: fmt.Sprintf("the index's row differs from the ledger's block %d (%s): the database was changed after indexing", n, d)})
				differ++
			}
		}
		if len(gotHosts) != len(wantHosts) {
			out = append(out, audit.Finding{Severity: audit.Error, Problem: fmt.Sprintf("block %d: the index holds %d registry entries, the ledger's block %d", n, len(gotHosts), len(wantHosts))})
			differ++
		} else {
			for i := range gotHosts {
				if !bytes.Equal(gotHosts[i].Entry, wantHosts[i].Entry) || gotHosts[i].Host != wantHosts[i].Host {
					out = append(out, audit.Finding{Severity: audit.Error, Problem: fmt.Sprintf("block %d: the index's registry entry of %s differs from the ledger's", n, gotHosts[i].Host)})
					differ++
				}
			}
		}
		if differ == 0 && changed[n] {
			out = append(out, audit.Finding{Severity: audit.Error, Problem: fmt.Sprintf("block %d: its digest in the index does not match its rows, which match the ledger: the index's findings or digest of the block were changed", n)})
		}
	}
	return out, nil
}

// reindexAndCompare indexes the channel up to block next-1 into a
// temporary SQLite index, verifying every block as the indexer does, and
// returns the blocks whose digest differs from li's recomputed one, with
// what differs beyond the rows (the findings) when the rows agree.
func (a *app) reindexAndCompare(ctx context.Context, li *ledgerIndex, next uint64) (map[uint64]string, error) {
	dir, err := os.MkdirTemp("", "e2l-verify-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	own, err := index.Open(ctx, filepath.Join(dir, "index.db"))
	if err != nil {
		return nil, err
	}
	defer own.Close()
	x, err := indexer.New(li.c, own, indexer.Config{Channel: li.c.Channel(), Chaincode: li.c.Chaincode(), Anchor: li.anchor,
		Progress: newProgressLine(a.stderr, a.now).show, Clock: a.now, Logger: a.logger})
	if err != nil {
		return nil, err
	}
	if _, err := x.Run(ctx); err != nil {
		return nil, fmt.Errorf("index the channel again: %w", err)
	}
	ownFindings, err := own.Findings(ctx, 0)
	if err != nil {
		return nil, err
	}
	theirs, err := li.st.Findings(ctx, 0)
	if err != nil {
		return nil, err
	}
	count := func(fs []index.Finding) map[uint64]int {
		m := map[uint64]int{}
		for _, f := range fs {
			m[f.Block]++
		}
		return m
	}
	ownN, theirN := count(ownFindings), count(theirs)
	mine := map[uint64][]byte{}
	if err := own.Blocks(ctx, 0, next-1, func(b index.Block) error { mine[b.Number] = b.Digest; return nil }); err != nil {
		return nil, err
	}
	differ := map[uint64]string{}
	if err := li.st.Blocks(ctx, 0, next-1, func(b index.Block) error {
		recs, hosts, err := li.st.RowsOfBlock(ctx, b.Number)
		if err != nil {
			return err
		}
		var fs []index.Finding
		for _, f := range theirs {
			if f.Block == b.Number {
				fs = append(fs, f)
			}
		}
		if d, ok := mine[b.Number]; !ok || !bytes.Equal(d, index.RowsDigest(recs, hosts, fs)) {
			how := ""
			if ownN[b.Number] != theirN[b.Number] {
				how = fmt.Sprintf("this index holds %d verification findings for the block, indexing it again finds %d", theirN[b.Number], ownN[b.Number])
			}
			differ[b.Number] = how
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return differ, nil
}

// rowDiff names the fields of an index row that differ from the ledger's.
func rowDiff(got, want index.Record) string {
	var d []string
	cmp := func(name string, a, b any) {
		if fmt.Sprint(a) != fmt.Sprint(b) {
			d = append(d, name)
		}
	}
	cmp("id", got.ID, want.ID)
	cmp("hash", got.Hash, want.Hash)
	cmp("prev", got.PrevHash, want.PrevHash)
	cmp("kind", got.Kind, want.Kind)
	cmp("time", got.Time, want.Time)
	cmp("event", []string{got.EventID, got.Scope, got.Type, got.Action, got.Actor, got.Name, got.Service},
		[]string{want.EventID, want.Scope, want.Type, want.Action, want.Actor, want.Name, want.Service})
	cmp("actors", got.Actors, want.Actors)
	cmp("signer", []string{got.MSP, got.CertSHA256, got.TxID}, []string{want.MSP, want.CertSHA256, want.TxID})
	cmp("txTime", got.TxTime, want.TxTime)
	cmp("txIndex", got.TxIndex, want.TxIndex)
	if !bytes.Equal(got.Stored, want.Stored) {
		d = append(d, "stored record")
	}
	return strings.Join(d, ", ")
}
