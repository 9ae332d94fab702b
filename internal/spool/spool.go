package spool

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"

	"github.com/e2l-project/e2l/internal/deps"
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
	// ErrNotPending is returned by DeadLetter for a seq that is not pending.
	ErrNotPending = errors.New("spool: record not pending")
)

// Defaults of Options.
const (
	DefaultMaxBytes       = 256 << 20
	DefaultMaxRecords     = 1_000_000
	DefaultReservePercent = 10
	DefaultDedupeIDs      = 100_000
)

// Options configure a spool. Host is required; zero values of the others
// take the defaults above.
type Options struct {
	Host           string // the host whose chain this spool holds (record.Host)
	MaxBytes       int64  // bound of the pending records' stored size
	MaxRecords     int    // bound of the number of pending records
	ReservePercent int    // extra room above the bounds for non-event records
	// DedupeIDs is how many of the newest event IDs are kept for
	// de-duplication. Docker replays at most its last 256 events, all of
	// them among the newest spooled, so the window needs no more than a
	// margin above that; the default keeps memory bounded (~5 MB) however
	// many records are pending.
	DedupeIDs int
	// Clock stamps dead letters and the dedupe index. Clock and
	// Registerer are optional (package deps: time.Now, metrics in a
	// private registry). The spool does not log.
	Clock      func() time.Time
	Registerer prometheus.Registerer
}

// Appended is the outcome of one record of an Append call.
type Appended struct {
	// Sealed is the stored record. For a duplicate only ID and Record (as
	// given, without Seq and Prev) are set.
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
	DedupeIDs      int   // event IDs in the de-duplication index
}

// formatVersion is the layout of the bbolt file.
const formatVersion = "1"

var (
	bktMeta    = []byte("meta")    // internal state: format, host, head, last event
	bktUser    = []byte("user")    // Meta/SetMeta
	bktRecords = []byte("records") // seq -> encoded pending record
	bktIDLog   = []byte("idlog")   // seq -> event ID (32 bytes) + spool time (8 bytes): the dedupe index
	bktDead    = []byte("dead")    // seq -> JSON DeadLetter

	keyFormat    = []byte("format")
	keyHost      = []byte("host")
	keyHead      = []byte("head")      // seq (8) + hash (32)
	keyLastEvent = []byte("lastEvent") // unix ns (8)
)

// Spool is a durable, bounded, per-host record queue. It is safe for
// concurrent use.
type Spool struct {
	db      *bolt.DB
	host    string
	opts    Options
	clock   func() time.Time
	notify  chan struct{}
	metrics *metrics

	mu     sync.RWMutex // serializes writers (Commit's share it: bolt batches them); guards ids
	closed atomic.Bool
	// ids is the de-duplication index in memory: event ID -> seq. Its
	// durable form is the idlog bucket, written in seq order (appends are
	// cheap for bbolt, unlike random keys), loaded by Open.
	ids map[[32]byte]uint64

	stMu sync.RWMutex // guards st
	st   Stats
}

// Open opens (creating if needed) the spool file at path. A file held by
// another process, unreadable, of another format or of another host is an
// error.
func Open(path string, opts Options) (*Spool, error) {
	if opts.Host == "" {
		return nil, errors.New("spool: options: host is required")
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.MaxRecords <= 0 {
		opts.MaxRecords = DefaultMaxRecords
	}
	if opts.ReservePercent <= 0 {
		opts.ReservePercent = DefaultReservePercent
	}
	if opts.DedupeIDs <= 0 {
		opts.DedupeIDs = DefaultDedupeIDs
	}
	s := &Spool{
		host:   opts.Host,
		opts:   opts,
		clock:  deps.Clock(opts.Clock),
		notify: make(chan struct{}, 1),
	}
	db, err := openBolt(path)
	if err != nil {
		return nil, err
	}
	s.db = db
	if err := s.load(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("spool: open %s: %w", path, err)
	}
	m, err := newMetrics(opts.Registerer, s)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	s.metrics = m
	return s, nil
}

// openBolt opens the file; bbolt panics on some kinds of damage, which
// become errors here.
func openBolt(path string) (db *bolt.DB, err error) {
	defer func() {
		if p := recover(); p != nil {
			db, err = nil, fmt.Errorf("spool: open %s: %w: %v", path, ErrCorrupt, p)
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{
		Timeout:        2 * time.Second, // another collector holds the file
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("spool: open %s: locked by another process: %w", path, err)
		}
		return nil, fmt.Errorf("spool: open %s: %w: %w", path, ErrCorrupt, err)
	}
	return db, nil
}

// load creates the buckets on first use and reads the state.
func (s *Spool) load() (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", ErrCorrupt, p)
		}
	}()
	return s.db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bktMeta, bktUser, bktRecords, bktIDLog, bktDead} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bktMeta)
		switch f := meta.Get(keyFormat); {
		case f == nil:
			if err := meta.Put(keyFormat, []byte(formatVersion)); err != nil {
				return err
			}
			if err := meta.Put(keyHost, []byte(s.host)); err != nil {
				return err
			}
		case string(f) != formatVersion:
			return fmt.Errorf("%w: format %q, want %q", ErrCorrupt, f, formatVersion)
		}
		if h := string(meta.Get(keyHost)); h != s.host {
			return fmt.Errorf("the spool belongs to host %q, not %q", h, s.host)
		}
		st := Stats{HeadHash: record.GenesisPrev}
		if v := meta.Get(keyHead); v != nil {
			if len(v) != 40 {
				return fmt.Errorf("%w: head of %d bytes", ErrCorrupt, len(v))
			}
			st.HeadSeq = binary.BigEndian.Uint64(v)
			st.HeadHash = hex.EncodeToString(v[8:])
		}
		if v := meta.Get(keyLastEvent); len(v) == 8 {
			st.LastEventTime = int64(binary.BigEndian.Uint64(v))
		}
		err := tx.Bucket(bktRecords).ForEach(func(k, v []byte) error {
			if len(k) != 8 || len(v) < 65 {
				return fmt.Errorf("%w: record entry of %d+%d bytes", ErrCorrupt, len(k), len(v))
			}
			if seq := binary.BigEndian.Uint64(k); seq > st.HeadSeq {
				return fmt.Errorf("%w: pending seq %d is past the head %d", ErrCorrupt, seq, st.HeadSeq)
			}
			st.PendingRecords++
			st.PendingBytes += int64(len(k) + len(v))
			return nil
		})
		if err != nil {
			return err
		}
		st.DeadLetters = tx.Bucket(bktDead).Stats().KeyN
		s.ids = make(map[[32]byte]uint64)
		err = tx.Bucket(bktIDLog).ForEach(func(k, v []byte) error {
			if len(k) != 8 || len(v) != 40 {
				return fmt.Errorf("%w: dedupe entry of %d+%d bytes", ErrCorrupt, len(k), len(v))
			}
			s.ids[[32]byte(v[:32])] = binary.BigEndian.Uint64(k)
			return nil
		})
		if err != nil {
			return err
		}
		st.DedupeIDs = len(s.ids)
		s.st = st
		return nil
	})
}

// Close closes the spool file. Later calls return ErrClosed.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Swap(true) {
		return nil
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("spool: close: %w", err)
	}
	return nil
}

// Head returns the Seq and Hash of the newest record; 0 and
// record.GenesisPrev when the chain is empty.
func (s *Spool) Head() (seq uint64, hash string) {
	s.stMu.RLock()
	defer s.stMu.RUnlock()
	return s.st.HeadSeq, s.st.HeadHash
}

// Stats returns the spool's state.
func (s *Spool) Stats() Stats {
	s.stMu.RLock()
	defer s.stMu.RUnlock()
	return s.st
}

// LastEventTime returns the timeNano of the newest event spooled, 0 if none.
func (s *Spool) LastEventTime() int64 {
	s.stMu.RLock()
	defer s.stMu.RUnlock()
	return s.st.LastEventTime
}

// Meta returns the value stored under key, "" if none.
func (s *Spool) Meta(key string) (string, error) {
	var val string
	err := s.view(func(tx *bolt.Tx) error {
		val = string(tx.Bucket(bktUser).Get([]byte(key)))
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("spool: meta %q: %w", key, err)
	}
	return val, nil
}

// SetMeta stores value under key (durably). An empty value deletes the key.
func (s *Spool) SetMeta(key, value string) error {
	if key == "" {
		return errors.New("spool: meta: empty key")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		if value == "" {
			return tx.Bucket(bktUser).Delete([]byte(key))
		}
		return tx.Bucket(bktUser).Put([]byte(key), []byte(value))
	})
	if err != nil {
		return fmt.Errorf("spool: set meta %q: %w", key, err)
	}
	return nil
}

// Notify returns a channel that receives after an Append stored records.
// It has a buffer of one: a receive means "look at Pending again".
func (s *Spool) Notify() <-chan struct{} { return s.notify }

// view runs a read transaction; readers do not wait for writers.
func (s *Spool) view(fn func(*bolt.Tx) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	err := s.db.View(fn)
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

func headValue(seq uint64, hash string) []byte {
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 40), seq)
	h, _ := hex.DecodeString(hash) // a record.Seal hash or GenesisPrev: 32 hex bytes
	return append(v, h...)
}

// A stored record is: version byte, ID (32 bytes), Hash (32 bytes), the
// record's canonical encoding.
const recordVersion = 1

// decodeRecord decodes and checks a stored record: canonical bytes, hash
// and key must agree.
func decodeRecord(k, v []byte) (record.Sealed, error) {
	if len(k) != 8 || len(v) < 65 || v[0] != recordVersion {
		return record.Sealed{}, fmt.Errorf("%w: record entry %x", ErrCorrupt, k)
	}
	seq := binary.BigEndian.Uint64(k)
	canon := v[65:]
	if sum := sha256.Sum256(canon); !bytes.Equal(sum[:], v[33:65]) {
		return record.Sealed{}, fmt.Errorf("%w: record seq %d: hash mismatch", ErrCorrupt, seq)
	}
	r, err := record.DecodeRecord(canon)
	if err != nil {
		return record.Sealed{}, fmt.Errorf("%w: record seq %d: %w", ErrCorrupt, seq, err)
	}
	if r.Seq != seq {
		return record.Sealed{}, fmt.Errorf("%w: record under seq %d has seq %d", ErrCorrupt, seq, r.Seq)
	}
	return record.Sealed{ID: hex.EncodeToString(v[1:33]), Hash: hex.EncodeToString(v[33:65]), Record: r}, nil
}
