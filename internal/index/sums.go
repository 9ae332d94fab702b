package index

import (
	"context"
	"fmt"
	"sync"
)

// BlockSum is a block's rows as the index holds them now, summed up again.
type BlockSum struct {
	Records int    // its record rows
	Txs     int    // the distinct transactions that wrote them
	Digest  []byte // RowsDigest of its records, registry entries and findings
}

// sumRunRecords is about how many records one query of SumBlocks reads:
// the runs are small enough to share the work out among the connections,
// large enough that a query's cost is spread over many rows.
const sumRunRecords = 20_000

// SumBlocks sums up the rows the index holds for each of blocks (in
// ascending order, as Blocks lists them) with RowsDigest, findings[n]
// being block n's findings: what RowsOfBlock and RowsDigest give block by
// block, read a run of consecutive blocks a query, on up to workers
// connections at once. sums[i] is blocks[i]'s. A row of a block that is
// not in blocks is not read.
func (s *Store) SumBlocks(ctx context.Context, blocks []Block, findings map[uint64][]Finding, workers int) ([]BlockSum, error) {
	return s.sumBlocks(ctx, blocks, findings, workers, sumRunRecords)
}

// sumBlocks is SumBlocks reading runs of about runRecords records.
func (s *Store) sumBlocks(ctx context.Context, blocks []Block, findings map[uint64][]Finding, workers, runRecords int) ([]BlockSum, error) {
	sums := make([]BlockSum, len(blocks))
	type run struct{ from, to int } // blocks[from:to]
	var runs []run
	for i := 0; i < len(blocks); {
		j, n := i, 0
		for j < len(blocks) && (j == i || n+blocks[j].Records <= runRecords) {
			n += blocks[j].Records
			j++
		}
		runs = append(runs, run{i, j})
		i = j
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	work := make(chan run)
	var wg sync.WaitGroup
	for range max(1, min(workers, len(runs))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range work {
				if err := s.sumRun(ctx, blocks[r.from:r.to], findings, sums[r.from:r.to]); err != nil {
					cancel(err)
					return
				}
			}
		}()
	}
feed:
	for _, r := range runs {
		select {
		case work <- r:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return sums, nil
}

// sumRun sums up blocks, consecutive in the blocks table, into sums.
func (s *Store) sumRun(ctx context.Context, blocks []Block, findings map[uint64][]Finding, sums []BlockSum) error {
	from, to := blocks[0].Number, blocks[len(blocks)-1].Number
	hosts, err := s.hostsOfBlocks(ctx, from, to)
	if err != nil {
		return err
	}
	var (
		k    int // the block whose rows come
		recs []Record
		txs  = map[string]bool{}
	)
	finish := func() {
		n := blocks[k].Number
		sums[k] = BlockSum{Records: len(recs), Txs: len(txs), Digest: RowsDigest(recs, hosts[n], findings[n])}
		recs = recs[:0]
		clear(txs)
		k++
	}
	err = s.eachRecord(ctx, s.recordSelect()+` WHERE r.block >= $1 AND r.block <= $2 ORDER BY r.block, r.block_pos`,
		[]any{sqlUint(from), sqlUint(to)}, func(r Record) error {
			for k < len(blocks) && blocks[k].Number < r.Block {
				finish()
			}
			if k == len(blocks) || blocks[k].Number != r.Block {
				return nil // a row of a block the blocks table does not hold
			}
			recs = append(recs, r)
			txs[r.TxID] = true
			return nil
		})
	if err != nil {
		return fmt.Errorf("index: records of blocks %d to %d: %w", from, to, err)
	}
	for k < len(blocks) {
		finish()
	}
	return nil
}

// hostsOfBlocks returns the registry entries of blocks from … to by
// block, each block's in block order (as RowsOfBlock reads them).
func (s *Store) hostsOfBlocks(ctx context.Context, from, to uint64) (map[uint64][]Host, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT host, msp, swarm_role, tx_id, block, entry FROM host_history
WHERE block >= $1 AND block <= $2 ORDER BY block, block_pos`, sqlUint(from), sqlUint(to))
	if err != nil {
		return nil, fmt.Errorf("index: registry entries of blocks %d to %d: %w", from, to, err)
	}
	defer rows.Close()
	out := map[uint64][]Host{}
	for rows.Next() {
		var (
			h     Host
			block int64
		)
		if err := rows.Scan(&h.Host, &h.MSP, &h.SwarmRole, &h.TxID, &block, &h.Entry); err != nil {
			return nil, fmt.Errorf("index: registry entries of blocks %d to %d: %w", from, to, err)
		}
		h.Block, h.Entry = uint64(block), nilIfEmpty(h.Entry)
		out[h.Block] = append(out[h.Block], h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("index: registry entries of blocks %d to %d: %w", from, to, err)
	}
	return out, nil
}
