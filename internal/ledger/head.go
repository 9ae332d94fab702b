package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/wire"
)

// Head is the newest record of a host's chain on the ledger.
type Head struct {
	Seq  uint64 // 0: the ledger holds no record of the host
	Hash string
	Kind record.Kind
	Time int64 // the record's time, unix ns
}

// Evaluator runs a read-only chaincode function (*Conn is one).
type Evaluator interface {
	Evaluate(ctx context.Context, fn string, args ...string) ([]byte, error)
}

// ChainHead finds the newest record of host's chain on the ledger with
// QueryChain pages of one record: it gallops up from seq 1 (each answer is
// the first record at or after the seq asked) and then bisects, about
// 2·log2(n) reads for a chain of n records.
func ChainHead(ctx context.Context, ev Evaluator, host string) (Head, error) {
	first := func(from uint64) (*record.Sealed, error) {
		out, err := ev.Evaluate(ctx, "QueryChain", host, strconv.FormatUint(from, 10),
			strconv.FormatUint(math.MaxUint64, 10), "1", "")
		if err != nil {
			return nil, fmt.Errorf("ledger: query the chain of %s from seq %d: %w", host, from, err)
		}
		var page wire.Page
		if err := json.Unmarshal(out, &page); err != nil {
			return nil, fmt.Errorf("ledger: query the chain of %s: %w", host, err)
		}
		if len(page.Records) == 0 {
			return nil, nil
		}
		var st wire.Stored
		if err := json.Unmarshal(page.Records[0], &st); err != nil {
			return nil, fmt.Errorf("ledger: query the chain of %s: %w", host, err)
		}
		s, err := st.Sealed()
		if err != nil {
			return nil, fmt.Errorf("ledger: the chain of %s holds an invalid record %s: %w", host, st.ID, err)
		}
		return &s, nil
	}

	best, err := first(1)
	if err != nil || best == nil {
		return Head{}, err
	}
	// Gallop: probe ever further past the best record found; lo is the best
	// seq known to exist, hi the first seq known to have nothing at or after it.
	lo, hi := best.Record.Seq, uint64(0)
	for step := uint64(1); hi == 0; step *= 2 {
		probe := lo + step
		if probe < lo { // overflow: nothing can lie beyond MaxUint64
			hi = math.MaxUint64
			break
		}
		r, err := first(probe)
		if err != nil {
			return Head{}, err
		}
		if r == nil {
			hi = probe
			break
		}
		best, lo = r, r.Record.Seq
	}
	// Bisect (lo, hi): a record at or after mid moves lo to it.
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		r, err := first(mid)
		if err != nil {
			return Head{}, err
		}
		if r == nil {
			hi = mid
			continue
		}
		best, lo = r, r.Record.Seq
	}
	return Head{Seq: best.Record.Seq, Hash: best.Hash, Kind: best.Record.Kind, Time: best.Record.Time}, nil
}
