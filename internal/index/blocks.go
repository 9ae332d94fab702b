package index

import (
	"context"
	"fmt"
)

// Blocks hands each block with from <= number <= to to each, in order
// (to math.MaxUint64 for all blocks from from on). Raw is set for the
// blocks kept whole. An error each returns ends the query and is returned
// as it is.
func (s *Store) Blocks(ctx context.Context, from, to uint64, each func(Block) error) error {
	return s.eachBlock(ctx, `WHERE number >= $1 AND number <= $2`, []any{sqlUint(from), sqlUint(to)}, each)
}

// RawBlocks returns the blocks kept whole (Raw set: configuration blocks
// and blocks with a registry transaction), in order.
func (s *Store) RawBlocks(ctx context.Context) ([]Block, error) {
	var out []Block
	err := s.eachBlock(ctx, `WHERE raw IS NOT NULL`, nil, func(b Block) error {
		out = append(out, b)
		return nil
	})
	return out, err
}

func (s *Store) eachBlock(ctx context.Context, where string, args []any, each func(Block) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT number, header_hash, prev_hash, data_hash, txs, records, config,
	digest, root, raw FROM blocks `+where+` ORDER BY number`, args...)
	if err != nil {
		return fmt.Errorf("index: blocks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			b                 Block
			number, txs, recs int64
		)
		if err := rows.Scan(&number, &b.HeaderHash, &b.PrevHash, &b.DataHash, &txs, &recs, &b.Config,
			&b.Digest, &b.Root, &b.Raw); err != nil {
			return fmt.Errorf("index: blocks: %w", err)
		}
		b.Number, b.Txs, b.Records = uint64(number), int(txs), int(recs)
		b.HeaderHash, b.PrevHash, b.DataHash = nilIfEmpty(b.HeaderHash), nilIfEmpty(b.PrevHash), nilIfEmpty(b.DataHash)
		b.Digest, b.Root, b.Raw = nilIfEmpty(b.Digest), nilIfEmpty(b.Root), nilIfEmpty(b.Raw)
		if err := each(b); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("index: blocks: %w", err)
	}
	return nil
}

// Findings returns the findings of blocks from fromBlock on, in the order
// they were applied.
func (s *Store) Findings(ctx context.Context, fromBlock uint64) ([]Finding, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT block, tx_id, record_id, host, severity, problem FROM findings
WHERE block >= $1 ORDER BY id`, sqlUint(fromBlock))
	if err != nil {
		return nil, fmt.Errorf("index: findings: %w", err)
	}
	defer rows.Close()
	var out []Finding
	for rows.Next() {
		var (
			f     Finding
			block int64
		)
		if err := rows.Scan(&block, &f.TxID, &f.RecordID, &f.Host, &f.Severity, &f.Problem); err != nil {
			return nil, fmt.Errorf("index: findings: %w", err)
		}
		f.Block = uint64(block)
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("index: findings: %w", err)
	}
	return out, nil
}
