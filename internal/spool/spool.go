package spool

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"

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
	// Clock stamps dead letters and the dedupe index; time.Now if nil.
	Clock func() time.Time
	// Registerer, when set, receives the spool's metrics.
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

	mu     sync.Mutex // serializes writers; guards ids
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
		clock:  opts.Clock,
		notify: make(chan struct{}, 1),
	}
	if s.clock == nil {
		s.clock = time.Now
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
	if opts.Registerer != nil {
		m, err := newMetrics(opts.Registerer, s)
		if err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("spool: metrics: %w", err)
		}
		s.metrics = m
	}
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

// Append seals and stores recs in one transaction (one fsync). Each record
// gets the next Seq and the Prev of the host's chain; an empty Host is set
// to the spool's host, another host is an error. See the package doc for
// de-duplication and the full policy. On error nothing is stored.
func (s *Spool) Append(ctx context.Context, recs []record.Record) ([]Appended, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return nil, ErrClosed
	}
	s.stMu.RLock()
	st := s.st
	s.stMu.RUnlock()

	events := 0
	for i := range recs {
		if recs[i].Kind == record.KindEvent {
			events++
		}
	}
	// Fast refusal when full: no sealing, no transaction.
	if events > 0 && (st.PendingRecords >= s.opts.MaxRecords || st.PendingBytes >= s.opts.MaxBytes) {
		s.metrics.refused(reasonFull, len(recs))
		return nil, ErrFull
	}

	start := time.Now()
	now := s.clock()
	out := make([]Appended, len(recs))
	var (
		stored      int
		storedBytes int64
		storedEvent bool
		kinds       = map[record.Kind]int{}
		dups        int
		added       = map[[32]byte]uint64{} // event IDs stored by this call
		forgotten   [][32]byte              // event IDs pruned by this call
	)
	err := s.db.Update(func(tx *bolt.Tx) error {
		recB, logB := tx.Bucket(bktRecords), tx.Bucket(bktIDLog)
		seq, prev := st.HeadSeq, st.HeadHash
		lastEvent := st.LastEventTime
		for i := range recs {
			r := recs[i]
			if r.Host == "" {
				r.Host = s.host
			} else if r.Host != s.host {
				return fmt.Errorf("record %d: host %q is not the spool's host %q: %w", i, r.Host, s.host, record.ErrInvalid)
			}
			r.Seq, r.Prev = seq+1, prev
			// record.Seal, without computing the canonical encoding a
			// third time: it is stored too.
			if err := r.Validate(); err != nil {
				return fmt.Errorf("record %d: %w", i, err)
			}
			id := r.DeriveID()
			var rawID [32]byte
			if n, err := hex.Decode(rawID[:], []byte(id)); err != nil || n != 32 {
				return fmt.Errorf("record %d: ID %q is not 32 hex bytes", i, id)
			}
			if r.Kind == record.KindEvent {
				_, known := s.ids[rawID]
				_, inCall := added[rawID]
				if known || inCall {
					r.Seq, r.Prev = 0, ""
					out[i] = Appended{Sealed: record.Sealed{ID: id, Record: r}, Duplicate: true}
					dups++
					continue
				}
			}
			canon := r.Canonical()
			sum := sha256.Sum256(canon)
			sealed := record.Sealed{ID: id, Hash: hex.EncodeToString(sum[:]), Record: r}
			k := seqKey(r.Seq)
			v := make([]byte, 0, 65+len(canon))
			v = append(v, recordVersion)
			v = append(v, rawID[:]...)
			v = append(v, sum[:]...)
			v = append(v, canon...)
			if err := recB.Put(k, v); err != nil {
				return err
			}
			if r.Kind == record.KindEvent {
				lv := make([]byte, 40)
				copy(lv, rawID[:])
				binary.BigEndian.PutUint64(lv[32:], uint64(now.UnixNano()))
				if err := logB.Put(k, lv); err != nil {
					return err
				}
				added[rawID] = r.Seq
				storedEvent = true
				lastEvent = max(lastEvent, r.Time)
			}
			seq, prev = r.Seq, sealed.Hash
			stored++
			storedBytes += int64(len(k) + len(v))
			kinds[r.Kind]++
			out[i] = Appended{Sealed: sealed}
		}
		if stored == 0 {
			return nil
		}
		maxRecs, maxBytes := int64(s.opts.MaxRecords), s.opts.MaxBytes
		if !storedEvent {
			maxRecs += maxRecs * int64(s.opts.ReservePercent) / 100
			maxBytes += maxBytes * int64(s.opts.ReservePercent) / 100
		}
		if int64(st.PendingRecords+stored) > maxRecs || st.PendingBytes+storedBytes > maxBytes {
			return ErrFull
		}
		meta := tx.Bucket(bktMeta)
		if err := meta.Put(keyHead, headValue(seq, prev)); err != nil {
			return err
		}
		if lastEvent != st.LastEventTime {
			if err := meta.Put(keyLastEvent, binary.BigEndian.AppendUint64(nil, uint64(lastEvent))); err != nil {
				return err
			}
		}
		var err error
		forgotten, err = s.prune(tx, len(s.ids)+len(added), 2*len(recs)+64)
		if err != nil {
			return err
		}
		st.HeadSeq, st.HeadHash, st.LastEventTime = seq, prev, lastEvent
		st.PendingRecords += stored
		st.PendingBytes += storedBytes
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrFull) {
			s.metrics.refused(reasonFull, len(recs))
			return nil, ErrFull
		}
		s.metrics.refused(reasonError, len(recs))
		return nil, fmt.Errorf("spool: append: %w", err)
	}
	s.metrics.appended(kinds, dups, time.Since(start))
	if stored == 0 {
		return out, nil
	}
	for id, seq := range added {
		s.ids[id] = seq
	}
	for _, id := range forgotten {
		delete(s.ids, id)
	}
	s.stMu.Lock()
	s.st.HeadSeq, s.st.HeadHash, s.st.LastEventTime = st.HeadSeq, st.HeadHash, st.LastEventTime
	s.st.PendingRecords += stored
	s.st.PendingBytes += storedBytes
	s.st.DedupeIDs = len(s.ids)
	s.stMu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
	return out, nil
}

// prune forgets the oldest event IDs beyond DedupeIDs, at most limit of
// them, pending or not. It does not forget by age: a quiet host's last
// event may be days old and still be replayed by Docker at the next start.
// count is the size of the index including this transaction's IDs. It
// returns the IDs forgotten, to be dropped from memory once committed.
func (s *Spool) prune(tx *bolt.Tx, count int, limit int) ([][32]byte, error) {
	logB := tx.Bucket(bktIDLog)
	var keys [][]byte
	var ids [][32]byte
	c := logB.Cursor()
	for k, v := c.First(); k != nil && len(keys) < limit; k, v = c.Next() {
		if len(v) != 40 {
			return nil, fmt.Errorf("%w: dedupe entry of %d bytes", ErrCorrupt, len(v))
		}
		if count-len(keys) <= s.opts.DedupeIDs {
			break
		}
		keys = append(keys, bytes.Clone(k))
		ids = append(ids, [32]byte(v[:32]))
	}
	for _, k := range keys {
		if err := logB.Delete(k); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// Pending returns up to max pending records with Seq > after, in Seq order.
func (s *Spool) Pending(after uint64, max int) ([]record.Sealed, error) {
	if max <= 0 {
		return nil, nil
	}
	var out []record.Sealed
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bktRecords).Cursor()
		for k, v := c.Seek(seqKey(after + 1)); k != nil && len(out) < max; k, v = c.Next() {
			sealed, err := decodeRecord(k, v)
			if err != nil {
				return err
			}
			out = append(out, sealed)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("spool: pending: %w", err)
	}
	return out, nil
}

// Commit removes records committed VALID on the ledger from pending; their
// event IDs stay in the de-duplication index. Seqs not pending are ignored.
func (s *Spool) Commit(seqs ...uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	var n int
	var size int64
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktRecords)
		for _, seq := range seqs {
			k := seqKey(seq)
			v := b.Get(k)
			if v == nil {
				continue
			}
			size += int64(len(k) + len(v))
			n++
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("spool: commit: %w", err)
	}
	s.stMu.Lock()
	s.st.PendingRecords -= n
	s.st.PendingBytes -= size
	s.stMu.Unlock()
	s.metrics.committed(n)
	return nil
}

// DeadLetter moves a pending record to the dead letters with a reason and
// the time. A seq that is not pending is ErrNotPending.
func (s *Spool) DeadLetter(seq uint64, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	var size int64
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktRecords)
		k := seqKey(seq)
		v := b.Get(k)
		if v == nil {
			return fmt.Errorf("seq %d: %w", seq, ErrNotPending)
		}
		sealed, err := decodeRecord(k, v)
		if err != nil {
			return err
		}
		dl, err := json.Marshal(DeadLetter{Sealed: sealed, Reason: reason, Time: s.clock().UTC()})
		if err != nil {
			return err
		}
		if err := tx.Bucket(bktDead).Put(k, dl); err != nil {
			return err
		}
		size = int64(len(k) + len(v))
		return b.Delete(k)
	})
	if err != nil {
		return fmt.Errorf("spool: dead-letter: %w", err)
	}
	s.stMu.Lock()
	s.st.PendingRecords--
	s.st.PendingBytes -= size
	s.st.DeadLetters++
	s.stMu.Unlock()
	s.metrics.deadLettered()
	return nil
}

// DeadLetters lists the dead letters in Seq order.
func (s *Spool) DeadLetters() ([]DeadLetter, error) {
	var out []DeadLetter
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bktDead).ForEach(func(k, v []byte) error {
			var dl DeadLetter
			if err := json.Unmarshal(v, &dl); err != nil {
				return fmt.Errorf("%w: dead letter %x: %w", ErrCorrupt, k, err)
			}
			out = append(out, dl)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("spool: dead letters: %w", err)
	}
	return out, nil
}

// Head returns the Seq and Hash of the newest record; 0 and
// record.GenesisPrev when the chain is empty.
func (s *Spool) Head() (seq uint64, hash string) {
	s.stMu.RLock()
	defer s.stMu.RUnlock()
	return s.st.HeadSeq, s.st.HeadHash
}

// ErrNotAdoptable is returned by AdoptHead when the spool still holds
// records of its own chain that are not on the ledger.
var ErrNotAdoptable = errors.New("spool: cannot adopt the ledger's head")

// AdoptHead makes the record (seq, hash) of the ledger the head of the
// spool's chain, so that the next record appended continues the host's
// chain where the ledger has it, when this spool did not write it (a new or
// lost spool). It refuses while records are pending (they would fork the
// chain) and a head that is not ahead of the spool's own. It also forgets
// the last event time: events since then may be on the ledger already,
// written by the collector that wrote the adopted head, so the watcher must
// start afresh rather than replay them from Docker.
func (s *Spool) AdoptHead(seq uint64, hash string) error {
	if _, err := hex.DecodeString(hash); err != nil || len(hash) != 64 {
		return fmt.Errorf("spool: adopt head: hash %q is not 64 hex characters", hash)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	s.stMu.RLock()
	st := s.st
	s.stMu.RUnlock()
	switch {
	case st.PendingRecords > 0:
		return fmt.Errorf("%w: %d records are pending", ErrNotAdoptable, st.PendingRecords)
	case seq <= st.HeadSeq:
		return fmt.Errorf("%w: seq %d is not after the spool's head %d", ErrNotAdoptable, seq, st.HeadSeq)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bktMeta)
		if err := meta.Delete(keyLastEvent); err != nil {
			return err
		}
		return meta.Put(keyHead, headValue(seq, hash))
	})
	if err != nil {
		return fmt.Errorf("spool: adopt head: %w", err)
	}
	s.stMu.Lock()
	s.st.HeadSeq, s.st.HeadHash, s.st.LastEventTime = seq, hash, 0
	s.stMu.Unlock()
	return nil
}

// Rebase moves the spool's chain, which must never have left the spool
// (every record since seq 1 still pending: nothing of it was committed or
// dead-lettered, so no one relies on its hashes), to continue the ledger's
// chain after its record (seq, hash), behind the records first (e.g. a gap
// record). Every record is sealed again with its new Seq and Prev; event
// IDs do not depend on them, so the de-duplication index keeps its IDs. It
// returns the records as now stored, first ones first.
func (s *Spool) Rebase(seq uint64, hash string, first []record.Record) ([]record.Sealed, error) {
	if _, err := hex.DecodeString(hash); err != nil || len(hash) != 64 || seq == 0 {
		return nil, fmt.Errorf("spool: rebase: (%d, %q) is not a ledger record's seq and hash", seq, hash)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return nil, ErrClosed
	}
	s.stMu.RLock()
	st := s.st
	s.stMu.RUnlock()
	if uint64(st.PendingRecords) != st.HeadSeq {
		return nil, fmt.Errorf("%w: rebase: part of the chain (%d of %d records) already left the spool", ErrNotAdoptable,
			st.HeadSeq-uint64(st.PendingRecords), st.HeadSeq)
	}
	var out []record.Sealed
	var bytesStored int64
	ids := map[[32]byte]uint64{}
	err := s.db.Update(func(tx *bolt.Tx) error {
		recB, logB := tx.Bucket(bktRecords), tx.Bucket(bktIDLog)
		recs := append([]record.Record(nil), first...)
		for i := range recs {
			if recs[i].Host == "" {
				recs[i].Host = s.host
			}
		}
		var keys [][]byte
		logTimes := map[string][]byte{} // record ID -> idlog value
		c := recB.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			old, err := decodeRecord(k, v)
			if err != nil {
				return err
			}
			if lv := logB.Get(k); lv != nil {
				logTimes[old.ID] = bytes.Clone(lv)
			}
			keys = append(keys, bytes.Clone(k))
			recs = append(recs, old.Record)
		}
		for _, k := range keys {
			if err := recB.Delete(k); err != nil {
				return err
			}
			if err := logB.Delete(k); err != nil {
				return err
			}
		}
		next, prev := seq, hash
		for i := range recs {
			r := recs[i]
			if r.Host != s.host {
				return fmt.Errorf("record %d: host %q is not the spool's host %q: %w", i, r.Host, s.host, record.ErrInvalid)
			}
			next++
			r.Seq, r.Prev = next, prev
			sealed, err := record.Seal(r)
			if err != nil {
				return fmt.Errorf("record %d: %w", i, err)
			}
			v, rawID, err := encodeRecord(sealed)
			if err != nil {
				return err
			}
			k := seqKey(next)
			if err := recB.Put(k, v); err != nil {
				return err
			}
			if lv, ok := logTimes[sealed.ID]; ok {
				if err := logB.Put(k, lv); err != nil {
					return err
				}
				ids[rawID] = next
			}
			bytesStored += int64(len(k) + len(v))
			prev = sealed.Hash
			out = append(out, sealed)
		}
		return tx.Bucket(bktMeta).Put(keyHead, headValue(next, prev))
	})
	if err != nil {
		return nil, fmt.Errorf("spool: rebase: %w", err)
	}
	for id, n := range ids {
		s.ids[id] = n
	}
	s.stMu.Lock()
	s.st.HeadSeq, s.st.HeadHash = seq+uint64(len(out)), hash
	if len(out) > 0 {
		s.st.HeadHash = out[len(out)-1].Hash
	}
	s.st.PendingRecords, s.st.PendingBytes = len(out), bytesStored
	s.stMu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
	return out, nil
}

// encodeRecord is a stored record's value (see decodeRecord) and raw ID.
func encodeRecord(sealed record.Sealed) ([]byte, [32]byte, error) {
	var rawID, sum [32]byte
	if n, err := hex.Decode(rawID[:], []byte(sealed.ID)); err != nil || n != 32 {
		return nil, rawID, fmt.Errorf("ID %q is not 32 hex bytes", sealed.ID)
	}
	if n, err := hex.Decode(sum[:], []byte(sealed.Hash)); err != nil || n != 32 {
		return nil, rawID, fmt.Errorf("hash %q is not 32 hex bytes", sealed.Hash)
	}
	canon := sealed.Record.Canonical()
	v := make([]byte, 0, 65+len(canon))
	v = append(v, recordVersion)
	v = append(v, rawID[:]...)
	v = append(v, sum[:]...)
	return append(v, canon...), rawID, nil
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
