package ledger

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/e2l-project/e2l/internal/record"
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
// when the transaction committed VALID. *Conn satisfies it.
type Contract interface {
	SubmitBatch(ctx context.Context, batchJSON []byte) ([]byte, error)
}

// Config tunes the Submitter; zero values take the defaults.
type Config struct {
	MaxBatch     int           // records per transaction (default 50, at most record.MaxBatchRecords)
	MaxDelay     time.Duration // wait to fill a batch while others are in flight (default 200ms)
	MaxInFlight  int           // transactions in flight (default 8)
	DrainTimeout time.Duration // wait for in-flight commits on shutdown (default 10s)
	BackoffMin   time.Duration // first retry delay (default 250ms)
	BackoffMax   time.Duration // retry delay cap (default 30s)
}

// Submitter moves records from the spool to the ledger.
type Submitter struct{}

// NewSubmitter returns a Submitter. Its metrics are registered on reg.
func NewSubmitter(sp Spool, contract Contract, logger *zap.Logger, reg prometheus.Registerer, cfg Config) (*Submitter, error) {
	return nil, errors.New("ledger: not implemented")
}

// Run submits until ctx is cancelled, then waits up to DrainTimeout for the
// transactions in flight and returns. Records not committed stay spooled.
func (s *Submitter) Run(ctx context.Context) error { return errors.New("ledger: not implemented") }

// LastCommit returns when a transaction last committed VALID (zero if never).
func (s *Submitter) LastCommit() time.Time { return time.Time{} }
