package spool

// Append: sealing, storing and de-duplicating records (one bbolt transaction, one fsync).

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/e2l-project/e2l/internal/record"
)

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
