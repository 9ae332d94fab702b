package spool

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/e2l-project/e2l/internal/record"
)

// Errors returned by the spool.
var (
	// ErrFull is returned by Append when the records do not fit the bound.
	ErrFull = errors.New("spool: full")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("spool: closed")
	// ErrCorrupt is matched (errors.Is) by errors about unreadable spool content.
	ErrCorrupt = errors.New("spool: corrupt")
)

// Defaults of Options.
const (
	DefaultMaxBytes       = 256 << 20
	DefaultMaxRecords     = 1_000_000
	DefaultReservePercent = 10
	DefaultDedupeIDs      = 100_000
	DefaultDedupeAge      = 24 * time.Hour
)

// Options configure a spool. Host is required; zero values of the others
// take the defaults above.
type Options struct {
	Host           string // the host whose chain this spool holds (record.Host)
	MaxBytes       int64  // bound of the pending records' stored size
	MaxRecords     int    // bound of the number of pending records
	ReservePercent int    // extra room above the bounds for non-event records
	DedupeIDs      int    // event IDs kept for de-duplication
	DedupeAge      time.Duration
	// Clock stamps dead letters and the dedupe index; time.Now if nil.
	Clock func() time.Time
	// Registerer, when set, receives the spool's metrics.
	Registerer prometheus.Registerer
}

// Appended is the outcome of one record of an Append call.
type Appended struct {
	// Sealed is the stored record. For a duplicate only ID is set (and
	// Record as given).
	Sealed record.Sealed
	// Duplicate is true when the event was already known and not stored.
	Duplicate bool
}

// DeadLetter is a record the ledger refused permanently.
type DeadLetter struct {
	Sealed record.Sealed `json:"sealed"`
	Reason string        `json:"reason"`
	Time   time.Time     `json:"time"`
}

// Stats is a snapshot of the spool's state.
type Stats struct {
	PendingRecords int
	PendingBytes   int64
	DeadLetters    int
	HeadSeq        uint64
	HeadHash       string
	LastEventTime  int64 // unix ns, 0 if no event was ever spooled
	DedupeIDs      int
}

// Spool is a durable, bounded, per-host record queue. It is safe for
// concurrent use.
type Spool struct{}

// Open opens (creating if needed) the spool file at path.
func Open(path string, opts Options) (*Spool, error) { return nil, errors.New("spool: not implemented") }

// Close closes the spool file.
func (s *Spool) Close() error { return nil }

// Append seals and stores recs in one transaction. See the package doc.
func (s *Spool) Append(ctx context.Context, recs []record.Record) ([]Appended, error) {
	return nil, errors.New("spool: not implemented")
}

// Pending returns up to max pending records with Seq > after, in Seq order.
func (s *Spool) Pending(after uint64, max int) ([]record.Sealed, error) { return nil, nil }

// Commit removes committed records from pending. Unknown seqs are ignored.
func (s *Spool) Commit(seqs ...uint64) error { return nil }

// DeadLetter moves a pending record to the dead letters with a reason.
func (s *Spool) DeadLetter(seq uint64, reason string) error { return nil }

// DeadLetters lists the dead letters in Seq order.
func (s *Spool) DeadLetters() ([]DeadLetter, error) { return nil, nil }

// Head returns the Seq and Hash of the newest record; 0 and
// record.GenesisPrev when the chain is empty.
func (s *Spool) Head() (seq uint64, hash string) { return 0, record.GenesisPrev }

// Stats returns the spool's state.
func (s *Spool) Stats() Stats { return Stats{} }

// LastEventTime returns the timeNano of the newest event spooled, 0 if none.
func (s *Spool) LastEventTime() int64 { return 0 }

// Meta returns the value stored under key, "" if none.
func (s *Spool) Meta(key string) (string, error) { return "", nil }

// SetMeta stores value under key (durably).
func (s *Spool) SetMeta(key, value string) error { return nil }

// Notify returns a channel that receives after an Append stored records.
// It has a buffer of one: a receive means "look at Pending again".
func (s *Spool) Notify() <-chan struct{} { return nil }
