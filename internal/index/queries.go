package index

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Head returns the next block to apply (0 for an empty index) and the
// State of the last applied update (nil for an empty index).
func (s *Store) Head(ctx context.Context) (next uint64, state []byte, err error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT next_block, state FROM checkpoint WHERE id = 1`).Scan(&n, &state); err != nil {
		return 0, nil, fmt.Errorf("index: head: %w", err)
	}
	return uint64(n), nilIfEmpty(state), nil
}

// Count returns the number of blocks and records in the index.
func (s *Store) Count(ctx context.Context) (blocks, records int64, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM blocks), (SELECT COUNT(*) FROM records)`).Scan(&blocks, &records)
	if err != nil {
		return 0, 0, fmt.Errorf("index: count: %w", err)
	}
	return blocks, records, nil
}

// rangesPerQuery bounds the seq ranges SlotsTaken looks up in one
// statement; slotGap is the widest run of seqs not asked for that one
// range spans.
const (
	rangesPerQuery = 100
	slotGap        = 64
)

// SlotsTaken returns the records that hold any of the given chain slots,
// by slot; a free slot is absent from the map. Only the record's Host,
// Seq, ID, Hash, Block, TxID and TxIndex are set: enough to tell the
// record in a finding. The slots are looked up as seq ranges per host (a
// run of blocks names a few ranges of each host's chain), in one indexed
// range scan each.
func (s *Store) SlotsTaken(ctx context.Context, slots []Slot) (map[Slot]Record, error) {
	taken := make(map[Slot]Record)
	want := make(map[Slot]bool, len(slots))
	for _, sl := range slots {
		want[sl] = true
	}
	ranges := slotRanges(slots)
	for start := 0; start < len(ranges); start += rangesPerQuery {
		batch := ranges[start:min(start+rangesPerQuery, len(ranges))]
		var q strings.Builder
		args := make([]any, 0, 3*len(batch))
		for i, r := range batch {
			if i > 0 {
				q.WriteString(" UNION ALL ")
			}
			fmt.Fprintf(&q, "SELECT host, seq, id, hash, block, tx_id, tx_index FROM records WHERE host = $%d AND seq >= $%d AND seq <= $%d", 3*i+1, 3*i+2, 3*i+3)
			args = append(args, r.host, sqlUint(r.from), sqlUint(r.to))
		}
		rows, err := s.db.QueryContext(ctx, q.String(), args...)
		if err != nil {
			return nil, fmt.Errorf("index: slots taken: %w", err)
		}
		for rows.Next() {
			var (
				r                   Record
				seq, block, txIndex int64
			)
			if err := rows.Scan(&r.Host, &seq, &r.ID, &r.Hash, &block, &r.TxID, &txIndex); err != nil {
				rows.Close()
				return nil, fmt.Errorf("index: slots taken: %w", err)
			}
			r.Seq, r.Block, r.TxIndex = uint64(seq), uint64(block), int(txIndex)
			if sl := (Slot{r.Host, r.Seq}); want[sl] {
				taken[sl] = r
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("index: slots taken: %w", err)
		}
	}
	return taken, nil
}

// seqRange is the seqs from..to of one host's chain.
type seqRange struct {
	host     string
	from, to uint64
}

// slotRanges covers the slots with ranges of seqs per host, each leaving
// out at most slotGap seqs in a row, in host and seq order.
func slotRanges(slots []Slot) []seqRange {
	sorted := slices.Clone(slots)
	slices.SortFunc(sorted, func(a, b Slot) int {
		if c := strings.Compare(a.Host, b.Host); c != 0 {
			return c
		}
		return cmp.Compare(a.Seq, b.Seq)
	})
	var out []seqRange
	for _, sl := range sorted {
		if n := len(out); n > 0 && out[n-1].host == sl.Host && sl.Seq-out[n-1].to <= slotGap+1 {
			out[n-1].to = max(out[n-1].to, sl.Seq)
			continue
		}
		out = append(out, seqRange{host: sl.Host, from: sl.Seq, to: sl.Seq})
	}
	return out
}

// ChainRecords returns host's records with from <= seq <= to, by seq
// (to math.MaxUint64 for the rest of the chain).
func (s *Store) ChainRecords(ctx context.Context, host string, from, to uint64) ([]Record, error) {
	recs, err := s.records(ctx, s.recordSelect()+` WHERE r.host = $1 AND r.seq >= $2 AND r.seq <= $3 ORDER BY r.seq`,
		host, sqlUint(from), sqlUint(to))
	if err != nil {
		return nil, fmt.Errorf("index: chain records of %s: %w", host, err)
	}
	return recs, nil
}

// Record returns the records with ID id, by host and seq: usually one,
// more when a host recorded one Docker event at two seqs.
func (s *Store) Record(ctx context.Context, id string) ([]Record, error) {
	recs, err := s.records(ctx, s.recordSelect()+` WHERE r.id = $1 ORDER BY r.host, r.seq`, id)
	if err != nil {
		return nil, fmt.Errorf("index: record %s: %w", id, err)
	}
	return recs, nil
}

// RecordsByPrefix returns up to limit records whose ID starts with prefix,
// by ID, host and seq (limit <= 0: all of them), so that a command can
// take a unique prefix of an ID, as git does. The prefix must not be
// empty.
func (s *Store) RecordsByPrefix(ctx context.Context, prefix string, limit int) ([]Record, error) {
	if prefix == "" {
		return nil, errors.New("index: records by prefix: empty prefix")
	}
	// A range of the id index: at or after the prefix, and below the
	// prefix followed by the highest code point (text compares byte by
	// byte in both databases); the substr test makes it exact.
	q := s.recordSelect() + ` WHERE r.id >= $1 AND r.id < $2 AND substr(r.id, 1, $3) = $1 ORDER BY r.id, r.host, r.seq`
	args := []any{prefix, prefix + string(utf8.MaxRune), int64(utf8.RuneCountInString(prefix))}
	if limit > 0 {
		q += ` LIMIT $4`
		args = append(args, int64(limit))
	}
	recs, err := s.records(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("index: records by prefix %s: %w", prefix, err)
	}
	return recs, nil
}

// Witnesses returns the records of one swarm event (EventID): one per
// manager that reported it, by host and seq.
func (s *Store) Witnesses(ctx context.Context, eventID string) ([]Record, error) {
	if eventID == "" {
		return nil, errors.New("index: witnesses: empty event ID")
	}
	recs, err := s.records(ctx, s.recordSelect()+` WHERE r.event_id = $1 ORDER BY r.host, r.seq`, eventID)
	if err != nil {
		return nil, fmt.Errorf("index: witnesses of %s: %w", eventID, err)
	}
	return recs, nil
}

// RowsOfBlock returns the records and registry entries block n added, in
// the order of its update: what its Digest sums up, with the block's
// findings (Findings).
func (s *Store) RowsOfBlock(ctx context.Context, n uint64) ([]Record, []Host, error) {
	recs, err := s.records(ctx, s.recordSelect()+` WHERE r.block = $1 ORDER BY r.block_pos`, sqlUint(n))
	if err != nil {
		return nil, nil, fmt.Errorf("index: records of block %d: %w", n, err)
	}
	hosts, err := s.hostsOfBlocks(ctx, n, n)
	if err != nil {
		return nil, nil, err
	}
	return recs, hosts[n], nil
}
