package spool

// The pending queue as the submitter sees it: Pending, Commit and the dead letters.

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/e2l-project/e2l/internal/record"
)

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
// Concurrent Commits (the submitter's workers, whose transactions commit
// in the same block) share one write transaction and one sync of the file.
func (s *Spool) Commit(seqs ...uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed.Load() {
		return ErrClosed
	}
	var n int
	var size int64
	// Batch may run fn again, alone, when another fn of its batch fails.
	err := s.db.Batch(func(tx *bolt.Tx) error {
		n, size = 0, 0
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
