package chaincode

import "github.com/e2l-project/e2l/internal/record"

// NewWithWriteBound returns the contract with another bound on the state
// writes of a batch, to reach refusals no valid record reaches under
// MaxBatchWrites.
func NewWithWriteBound(n int) *Contract {
	c := New()
	c.maxBatchWrites = n
	return c
}

// RecordWrites is the number of keys RecordEvents writes for a new record.
func RecordWrites(r *record.Record) int { return recordWrites(r) }
