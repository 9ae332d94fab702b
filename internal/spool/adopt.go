package spool

// Continuing a chain that this spool did not write: AdoptHead and Rebase (internal/collector.Resume).

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/e2l-project/e2l/internal/record"
)

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
