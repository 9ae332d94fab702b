package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/e2l-project/e2l/internal/deps"
	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/wire"
)

// Spool is what the Submitter needs of the spool (*spool.Spool satisfies it).
type Spool interface {
	// Pending returns up to max uncommitted records with Seq > after, in Seq order.
	Pending(after uint64, max int) ([]record.Sealed, error)
	// Commit marks records committed on the ledger.
	Commit(seqs ...uint64) error
	// DeadLetter sets aside a record the ledger refused permanently.
	DeadLetter(seq uint64, reason string) error
	// Notify receives after new records were spooled.
	Notify() <-chan struct{}
}

// Contract submits one batch (the JSON of a record.Batch) as one
// transaction and waits for its commit. It returns the chaincode's result
// when the transaction committed VALID, and otherwise an error of the
// Gateway client's types (*client.EndorseError, ...) or a
// *CommitCodeError. *Conn satisfies it.
type Contract interface {
	SubmitBatch(ctx context.Context, batchJSON []byte) ([]byte, error)
}

// Defaults of Config.
const (
	DefaultMaxBatch     = 50
	DefaultMaxDelay     = 200 * time.Millisecond
	DefaultMaxInFlight  = 8
	DefaultDrainTimeout = 10 * time.Second
	DefaultBackoffMin   = 250 * time.Millisecond
	DefaultBackoffMax   = 5 * time.Second
	// maxBatchBytes keeps a batch well below record.MaxBatchBytes.
	maxBatchBytes = record.MaxBatchBytes / 2
)

// Config tunes the Submitter; zero values take the defaults.
type Config struct {
	MaxBatch     int           // records per transaction (default 50, at most record.MaxBatchRecords)
	MaxDelay     time.Duration // wait to fill a batch while others are in flight (default 200ms)
	MaxInFlight  int           // transactions in flight (default 8)
	DrainTimeout time.Duration // wait for in-flight commits on shutdown (default 10s)
	// DrainDeadline, when set and non-zero at shutdown, is when the wait for
	// in-flight commits ends instead of DrainTimeout: the collector spends
	// one drain budget on emptying the spool and on the last commits.
	DrainDeadline func() time.Time
	BackoffMin    time.Duration // first retry delay (default 250ms)
	BackoffMax    time.Duration // retry delay cap (default 5s: an outage ends, the backlog moves within seconds)
	// Logger, Registerer and Clock are optional (package deps: no logs,
	// metrics in a private registry, time.Now).
	Logger     *zap.Logger
	Registerer prometheus.Registerer
	Clock      func() time.Time
}

func (c *Config) defaults() error {
	if c.MaxBatch <= 0 {
		c.MaxBatch = DefaultMaxBatch
	}
	if c.MaxBatch > record.MaxBatchRecords {
		return fmt.Errorf("ledger: max batch %d exceeds the chaincode's bound of %d records", c.MaxBatch, record.MaxBatchRecords)
	}
	if c.MaxDelay <= 0 {
		c.MaxDelay = DefaultMaxDelay
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = DefaultBackoffMin
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = DefaultBackoffMax
	}
	if c.BackoffMax < c.BackoffMin {
		return fmt.Errorf("ledger: backoff max %s is below backoff min %s", c.BackoffMax, c.BackoffMin)
	}
	return nil
}

// Submitter moves records from the spool to the ledger.
type Submitter struct {
	spool    Spool
	contract Contract
	log      *zap.Logger
	cfg      Config
	m        *metrics

	// For tests: timers. The clock is Config.Clock.
	after func(time.Duration) <-chan time.Time

	lastCommit atomic.Int64 // unix ns
}

// NewSubmitter returns a Submitter. Its metrics are registered on
// cfg.Registerer.
func NewSubmitter(sp Spool, contract Contract, cfg Config) (*Submitter, error) {
	if sp == nil || contract == nil {
		return nil, errors.New("ledger: spool and contract are required")
	}
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	cfg.Logger, cfg.Clock = deps.Logger(cfg.Logger), deps.Clock(cfg.Clock)
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &Submitter{
		spool: sp, contract: contract, log: cfg.Logger, cfg: cfg, m: m,
		after: time.After,
	}, nil
}

// LastCommit returns when a transaction last committed VALID (zero if never).
func (s *Submitter) LastCommit() time.Time {
	ns := s.lastCommit.Load()
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// Run submits until ctx is cancelled, then waits up to DrainTimeout for the
// transactions in flight and returns. Records not committed stay spooled.
// It returns an error only when the spool cannot be read.
func (s *Submitter) Run(ctx context.Context) error {
	// In-flight transactions outlive ctx for up to DrainTimeout.
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	done := make(chan struct{}, s.cfg.MaxInFlight) // never blocks a worker
	var wg sync.WaitGroup
	var (
		inFlight    int
		cursor      uint64          // highest seq handed to a worker
		held        []record.Sealed // read from the spool after cursor, not yet handed to a worker
		fillTimer   <-chan time.Time
		fillExpired bool
		runErr      error
	)
	for ctx.Err() == nil {
		if inFlight < s.cfg.MaxInFlight {
			var err error
			held, err = s.readPending(cursor, held)
			if err != nil {
				s.m.spoolFailures.Inc()
				runErr = fmt.Errorf("ledger: read the spool: %w", err)
				break
			}
			if len(held) > 0 && (len(held) == s.cfg.MaxBatch || inFlight == 0 || fillExpired) {
				payload, n := record.AppendBatchWithin(nil, held, maxBatchBytes)
				recs := slices.Clip(held[:n])
				held = slices.Clone(held[n:])
				cursor = recs[len(recs)-1].Record.Seq
				inFlight++
				s.m.inFlight.Set(float64(inFlight))
				wg.Go(func() {
					s.submit(workCtx, recs, payload)
					done <- struct{}{}
				})
				fillTimer, fillExpired = nil, false
				continue
			}
			if len(held) > 0 && fillTimer == nil {
				fillTimer = s.after(s.cfg.MaxDelay)
			}
		}
		select {
		case <-ctx.Done():
		case <-s.spool.Notify():
		case <-done:
			inFlight--
			s.m.inFlight.Set(float64(inFlight))
		case <-fillTimer:
			fillTimer, fillExpired = nil, true
		}
	}

	drained := make(chan struct{})
	go func() {
		wg.Wait()
		close(drained)
	}()
	if inFlight > 0 {
		s.log.Info("draining transactions in flight", zap.Int("in_flight", inFlight), zap.Duration("timeout", s.cfg.DrainTimeout))
	} else {
		<-drained // every worker has reported: at most returning
		s.m.inFlight.Set(0)
		return runErr
	}
	wait := s.cfg.DrainTimeout
	if s.cfg.DrainDeadline != nil {
		if d := s.cfg.DrainDeadline(); !d.IsZero() {
			wait = max(time.Until(d), 0)
		}
	}
	select {
	case <-drained:
	case <-s.after(wait):
		s.log.Warn("drain timeout: leaving transactions in flight uncommitted in the spool")
		cancelWork()
		<-drained
	}
	s.m.inFlight.Set(0)
	return runErr
}

// submit submits recs, whose batch is payload (nil: not encoded yet),
// until each record is committed or dead-lettered, or ctx ends. It returns
// false when ctx ended first.
func (s *Submitter) submit(ctx context.Context, recs []record.Sealed, payload []byte) bool {
	if payload == nil {
		payload = record.AppendBatch(nil, recs)
	}
	for attempt := 0; ; attempt++ {
		if ctx.Err() != nil {
			return false
		}
		s.m.batchSize.Observe(float64(len(recs)))
		result, err := s.contract.SubmitBatch(ctx, payload)
		if err == nil {
			s.committed(recs, result)
			return true
		}
		if ctx.Err() != nil {
			return false // shutting down: the records stay pending
		}
		o := classify(err)
		s.m.transactions.WithLabelValues(o.stage, o.reason).Inc()
		first, last := recs[0].Record.Seq, recs[len(recs)-1].Record.Seq
		var wait time.Duration
		switch o.class {
		case classRefused:
			if len(recs) == 1 {
				s.deadLetter(recs, err)
				return true
			}
			s.m.splits.Inc()
			s.log.Info("batch refused: splitting it to find the refused records",
				zap.Uint64("first_seq", first), zap.Uint64("last_seq", last), zap.Int("index", o.index), zap.Error(err))
			idx := o.index
			if idx >= len(recs) || (idx >= 0 && recs[idx].ID != o.id) {
				idx = -1 // not this batch's numbering: halve it
			}
			for _, part := range split(recs, idx) {
				if !s.submit(ctx, part, nil) {
					return false
				}
			}
			return true
		case classDenied:
			wait = s.cfg.BackoffMax
			s.log.Error("transaction refused for the identity or the call, not for a record: retrying at the longest backoff",
				zap.String("stage", o.stage), zap.String("reason", o.reason), zap.Int("attempt", attempt+1),
				zap.Uint64("first_seq", first), zap.Uint64("last_seq", last), zap.Error(err))
		default:
			wait = s.backoff(attempt)
			s.log.Warn("transaction failed: retrying",
				zap.String("stage", o.stage), zap.String("reason", o.reason), zap.Int("attempt", attempt+1),
				zap.Duration("backoff", wait), zap.Uint64("first_seq", first), zap.Uint64("last_seq", last), zap.Error(err))
		}
		s.m.retries.WithLabelValues(o.reason).Inc()
		select {
		case <-ctx.Done():
			return false
		case <-s.after(wait):
		}
	}
}

// backoff is capped exponential backoff with jitter: a random delay in
// [d/2, d) where d = BackoffMin * 2^attempt, at most BackoffMax.
func (s *Submitter) backoff(attempt int) time.Duration {
	d := s.cfg.BackoffMax
	if attempt < 32 {
		d = min(s.cfg.BackoffMin<<attempt, s.cfg.BackoffMax)
	}
	return d/2 + rand.N(d/2+1)
}

func (s *Submitter) committed(recs []record.Sealed, result []byte) {
	now := s.cfg.Clock()
	s.lastCommit.Store(now.UnixNano())
	s.m.lastCommit.Set(float64(now.UnixNano()) / 1e9)
	s.m.transactions.WithLabelValues(stageCommit, reasonValid).Inc()

	counts := map[string]int{}
	var res wire.Result
	if json.Unmarshal(result, &res) == nil && res.Written >= 0 && res.Duplicates >= 0 && res.Written+res.Duplicates == len(recs) {
		counts[statusWritten], counts[statusDuplicate] = res.Written, res.Duplicates
	} else {
		counts[statusUnknown] = len(recs)
	}
	for st, n := range counts {
		s.m.records.WithLabelValues(st).Add(float64(n))
	}

	seqs := make([]uint64, len(recs))
	for i := range recs {
		seqs[i] = recs[i].Record.Seq
		s.m.latency.Observe(now.Sub(time.Unix(0, recs[i].Record.Time)).Seconds())
	}
	if err := s.spool.Commit(seqs...); err != nil {
		// The records stay pending and are submitted again after a restart;
		// the chaincode reports them as duplicates.
		s.m.spoolFailures.Inc()
		s.log.Error("cannot mark committed records in the spool", zap.Uint64("first_seq", seqs[0]), zap.Int("records", len(seqs)), zap.Error(err))
	}
}

func (s *Submitter) deadLetter(recs []record.Sealed, cause error) {
	reason := cause.Error()
	if len(reason) > 2048 {
		reason = reason[:2048]
	}
	for _, r := range recs {
		if err := s.spool.DeadLetter(r.Record.Seq, reason); err != nil {
			s.m.spoolFailures.Inc()
			s.log.Error("cannot dead-letter a refused record", zap.Uint64("seq", r.Record.Seq), zap.String("id", r.ID), zap.Error(err))
			continue
		}
		s.log.Error("record refused by the ledger: dead-lettered",
			zap.Uint64("seq", r.Record.Seq), zap.String("id", r.ID), zap.String("kind", string(r.Record.Kind)), zap.Error(cause))
	}
}

// readPending returns the contiguous run of pending records after cursor,
// at most MaxBatch: held (what an earlier call returned, not yet handed to
// a worker) and what the spool holds after it. Records after cursor are
// only ever appended to the spool (its commits and dead letters are the
// workers', of records before cursor), so held stays as it was read and
// a batch filling up is decoded once, not once per notification.
func (s *Submitter) readPending(cursor uint64, held []record.Sealed) ([]record.Sealed, error) {
	if len(held) >= s.cfg.MaxBatch {
		return held, nil
	}
	after := cursor
	if n := len(held); n > 0 {
		after = held[n-1].Record.Seq
	}
	more, err := s.spool.Pending(after, s.cfg.MaxBatch-len(held))
	if err != nil {
		return held, err
	}
	if len(held) == 0 {
		return contiguous(more), nil
	}
	return contiguous(append(held, more...)), nil
}

// contiguous returns the longest prefix of recs whose seqs follow each other.
func contiguous(recs []record.Sealed) []record.Sealed {
	for i := 1; i < len(recs); i++ {
		if recs[i].Record.Seq != recs[i-1].Record.Seq+1 {
			return recs[:i]
		}
	}
	return recs
}

// split divides a refused batch. When the refusal names the record at
// index, that record goes alone, so it is found in at most three
// submissions; otherwise the batch is halved.
func split(recs []record.Sealed, index int) [][]record.Sealed {
	var parts [][]record.Sealed
	if index >= 0 && index < len(recs) {
		for _, p := range [][]record.Sealed{recs[:index], recs[index : index+1], recs[index+1:]} {
			if len(p) > 0 {
				parts = append(parts, p)
			}
		}
		return parts
	}
	h := len(recs) / 2
	return [][]record.Sealed{recs[:h], recs[h:]}
}
