package collector

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/e2l-project/e2l/internal/ledger"
	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/spool"
)

// ChainSpool is what Resume needs of *spool.Spool.
type ChainSpool interface {
	Stats() spool.Stats
	Pending(after uint64, max int) ([]record.Sealed, error)
	AdoptHead(seq uint64, hash string) error
	Rebase(seq uint64, hash string, first []record.Record) ([]record.Sealed, error)
	Append(ctx context.Context, recs []record.Record) ([]spool.Appended, error)
}

// ResumeConfig configures Resume.
type ResumeConfig struct {
	Host string
	// LiveWindow: a chain whose newest record on the ledger is younger than
	// this, and not a clean stop, is taken to have a live collector
	// elsewhere (heartbeats come every heartbeat interval): twice the
	// heartbeat interval plus a margin is right.
	LiveWindow time.Duration
	Clock      func() time.Time // time.Now when nil
	// RetryDelay is ResumeOnStart's first wait before reading the ledger
	// again (1s when 0); it doubles up to 30s.
	RetryDelay time.Duration
}

// ErrOtherCollector says another collector writes (or wrote, after this
// spool's records) the host's chain: submitting would fork it.
var ErrOtherCollector = errors.New("another collector writes this host's chain")

// Resumed says what Resume did.
type Resumed struct {
	// Moved is true when the spool now continues the ledger's chain (its
	// head adopted, or its unsubmitted chain rebased onto it).
	Moved  bool
	Ledger ledger.Head // the ledger's head (Seq 0: no chain yet)
	Gap    *record.Sealed
}

// Resume makes the spool continue the host's chain where the ledger has
// it. It runs before the spool's records are first submitted.
//
//   - A spool whose chain reached the ledger (some of it committed) and is
//     at or past the ledger's head wrote the chain: nothing to do.
//   - A spool whose chain never left it (a new spool, perhaps with records
//     spooled while the ledger was unreachable) and a ledger with another
//     chain of the host (a lost spool, a host moved from one way of running
//     its collector to another): its records are rebased after the
//     ledger's head, behind a gap record (reason collector-replaced) from
//     the ledger's newest record to this spool's first: the time no
//     collector vouches for.
//   - A spool that committed records but is behind the ledger, with none
//     pending: it adopts the ledger's head and appends the same gap.
//
// It refuses with ErrOtherCollector, changing nothing, when the ledger's
// newest record is recent and not a clean stop (a collector is alive
// elsewhere), and when pending records of a chain that reached the ledger
// would fork one that someone else continued.
func Resume(ctx context.Context, sp ChainSpool, ev ledger.Evaluator, cfg ResumeConfig) (Resumed, error) {
	now := time.Now
	if cfg.Clock != nil {
		now = cfg.Clock
	}
	head, err := ledger.ChainHead(ctx, ev, cfg.Host)
	if err != nil {
		return Resumed{}, fmt.Errorf("read the ledger's head of %s's chain: %w", cfg.Host, err)
	}
	out := Resumed{Ledger: head}
	if head.Seq == 0 {
		return out, nil
	}
	st := sp.Stats()
	reached := uint64(st.PendingRecords) < st.HeadSeq // part of this spool's chain left it
	ours, err := spoolHas(sp, st, head)
	if err != nil {
		return out, err
	}
	switch {
	case ours || (reached && head.Seq < st.HeadSeq):
		return out, nil // this spool wrote the ledger's head
	case reached && head.Seq == st.HeadSeq:
		return out, fmt.Errorf("%w: the ledger's record %d of host %s has hash %s, this spool's has %s", ErrOtherCollector,
			head.Seq, cfg.Host, head.Hash, st.HeadHash)
	}
	if age := now().Sub(time.Unix(0, head.Time)); head.Kind != record.KindStop && age < cfg.LiveWindow {
		return out, fmt.Errorf("%w: its newest record on the ledger (seq %d, %s) is %s old, younger than %s, and is not a stop: "+
			"stop the other collector of host %s first (see docs/operations.md, moving a host's collector), or wait until %s if it is gone",
			ErrOtherCollector, head.Seq, head.Kind, age.Round(time.Second), cfg.LiveWindow, cfg.Host,
			time.Unix(0, head.Time).Add(cfg.LiveWindow).UTC().Format(time.RFC3339))
	}
	if reached && st.PendingRecords > 0 {
		return out, fmt.Errorf("%w: this spool holds %d records not on the ledger (up to seq %d), but the ledger's chain of host %s "+
			"already reaches seq %d: they would fork it. Keep the spool file for the record and start with a new one",
			ErrOtherCollector, st.PendingRecords, st.HeadSeq, cfg.Host, head.Seq)
	}

	// The gap runs from the ledger's newest record to this spool's first
	// (now, for an empty spool).
	to := now().UnixNano()
	if !reached && st.PendingRecords > 0 {
		firstRec, err := sp.Pending(0, 1)
		if err != nil {
			return out, fmt.Errorf("read the spool: %w", err)
		}
		if len(firstRec) == 1 {
			to = firstRec[0].Record.Time
		}
	}
	gap := record.Record{
		V: record.SchemaVersion, Kind: record.KindGap, Host: cfg.Host, Time: to,
		Gap: &record.Gap{From: min(head.Time, to), To: to, Reason: record.GapCollectorReplaced,
			Detail: fmt.Sprintf("this collector's spool did not write the chain up to seq %d (a new or lost spool, or the host's collector moved): it continues from the ledger", head.Seq)},
	}
	if !reached {
		recs, err := sp.Rebase(head.Seq, head.Hash, []record.Record{gap})
		if err != nil {
			return out, err
		}
		out.Moved, out.Gap = true, &recs[0]
		return out, nil
	}
	if err := sp.AdoptHead(head.Seq, head.Hash); err != nil {
		return out, err
	}
	out.Moved = true
	res, err := sp.Append(ctx, []record.Record{gap})
	if err != nil {
		return out, fmt.Errorf("spool the gap record: %w", err)
	}
	out.Gap = &res[0].Sealed
	return out, nil
}

// spoolHas reports whether the ledger's head is a pending record of this
// spool (submitted, committed, and not yet marked so: a crash in between).
func spoolHas(sp ChainSpool, st spool.Stats, head ledger.Head) (bool, error) {
	if head.Seq > st.HeadSeq {
		return false, nil
	}
	if head.Seq == st.HeadSeq {
		return head.Hash == st.HeadHash, nil
	}
	recs, err := sp.Pending(head.Seq-1, 1)
	if err != nil {
		return false, fmt.Errorf("read the spool: %w", err)
	}
	return len(recs) == 1 && recs[0].Record.Seq == head.Seq && recs[0].Hash == head.Hash, nil
}

// ResumeOnStart runs Resume before the collector first submits, retrying
// with backoff while the ledger cannot be read (the watcher spools events
// meanwhile). A spool whose chain already reached the ledger tries once
// and goes on if the ledger cannot be read: its chain is the host's, and it
// must keep submitting through an outage. ErrOtherCollector is returned,
// never retried.
func ResumeOnStart(ctx context.Context, sp ChainSpool, ev ledger.Evaluator, cfg ResumeConfig, logger *zap.Logger) (Resumed, error) {
	delay := cfg.RetryDelay
	if delay <= 0 {
		delay = time.Second
	}
	for {
		attempt, cancel := context.WithTimeout(ctx, 15*time.Second)
		res, err := Resume(attempt, sp, ev, cfg)
		cancel()
		st := sp.Stats()
		switch {
		case err == nil:
			return res, nil
		case errors.Is(err, ErrOtherCollector) || errors.Is(err, spool.ErrNotAdoptable):
			return res, err
		case ctx.Err() != nil:
			return res, ctx.Err()
		case uint64(st.PendingRecords) < st.HeadSeq:
			logger.Warn("cannot read the ledger's head of this host's chain; submitting this spool's own chain", zap.Error(err))
			return res, nil
		}
		logger.Warn("cannot read the ledger's head of this host's chain; spooling without submitting until it can",
			zap.Error(err), zap.Duration("retry_in", delay))
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return res, ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, 30*time.Second)
	}
}
