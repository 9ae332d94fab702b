package index

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The shape of MeasureIngest's blocks: what an indexer of a busy channel
// applies (about 50 records per transaction, 20 transactions per block,
// runs of 20 blocks, ten hosts).
var measureShape = SyntheticShape{
	Hosts:        []string{"node01", "node02", "node03", "node04", "node05", "node06", "node07", "node08", "node09", "node10"},
	TxsPerBlock:  20,
	RecordsPerTx: 50,
}

const measureRunBlocks = 20

// IngestResult is what MeasureIngest measured.
type IngestResult struct {
	Dialect          string
	Records          int     // records applied
	Blocks           int     // blocks applied
	Seconds          float64 // time spent in Apply
	RecordsPerSecond float64
}

// MeasureIngest applies synthetic blocks (SyntheticUpdates: 20
// transactions of 50 records per block, ~850-byte Stored values, ten
// hosts) to the empty index named by dsn until at least records records
// are in, in runs of up to 20 blocks per Apply, and reports the rate. Only the
// time spent in Apply counts, not making the rows. The index must be new
// (it is left filled: use a database of its own).
func MeasureIngest(ctx context.Context, dsn string, records int) (res IngestResult, err error) {
	s, err := Open(ctx, dsn)
	if err != nil {
		return IngestResult{}, err
	}
	defer func() {
		if cerr := s.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if next, _, err := s.Head(ctx); err != nil {
		return IngestResult{}, err
	} else if next != 0 {
		return IngestResult{}, errors.New("index: measure ingest: the index is not empty (give it a new database)")
	}
	res.Dialect = s.Dialect()
	var (
		root    []byte
		next    uint64
		elapsed time.Duration
	)
	perBlock := measureShape.TxsPerBlock * measureShape.RecordsPerTx
	for res.Records < records {
		blocks := (records - res.Records + perBlock - 1) / perBlock
		if next == 0 {
			blocks++ // block 0 has no records
		}
		blocks = min(blocks, measureRunBlocks)
		run := SyntheticUpdates(measureShape, root, next, blocks)
		t0 := time.Now()
		if err := s.Apply(ctx, run); err != nil {
			return IngestResult{}, fmt.Errorf("index: measure ingest: %w", err)
		}
		elapsed += time.Since(t0)
		for _, u := range run {
			res.Records += len(u.Records)
		}
		res.Blocks += len(run)
		next += uint64(len(run))
		root = run[len(run)-1].Block.Root
	}
	res.Seconds = elapsed.Seconds()
	if res.Seconds > 0 {
		res.RecordsPerSecond = float64(res.Records) / res.Seconds
	}
	return res, nil
}
