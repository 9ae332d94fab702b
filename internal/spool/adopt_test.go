package spool

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/e2l-project/e2l/internal/record"
)

func TestAnEmptySpoolAdoptsTheLedgersHeadAndContinuesItsChain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spool.db")
	s := openTest(t, path, Options{})
	ledgerHash := strings.Repeat("ab", 32)
	if err := s.AdoptHead(41, ledgerHash); err != nil {
		t.Fatal(err)
	}
	res, err := s.Append(t.Context(), []record.Record{gap(record.GapCollectorReplaced)})
	if err != nil {
		t.Fatal(err)
	}
	if got := res[0].Sealed.Record; got.Seq != 42 || got.Prev != ledgerHash {
		t.Fatalf("the first record after adoption is seq %d prev %s, want 42 %s", got.Seq, got.Prev, ledgerHash)
	}
	// The adopted head is durable.
	head, _ := s.Head()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openTest(t, path, Options{})
	if seq, _ := s2.Head(); seq != head {
		t.Fatalf("after reopening the head is %d, want %d", seq, head)
	}
}

func TestAdoptHeadRefuses(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, s *Spool)
		seq     uint64
		hash    string
		wantIs  error
		wantMsg string
	}{
		{"while records are pending, which would fork the chain", func(t *testing.T, s *Spool) {
			if _, err := s.Append(t.Context(), events(1, 2)); err != nil {
				t.Fatal(err)
			}
		}, 10, strings.Repeat("0", 64), ErrNotAdoptable, "2 records are pending"},
		{"a head not after the spool's own", func(t *testing.T, s *Spool) {
			if _, err := s.Append(t.Context(), events(1, 3)); err != nil {
				t.Fatal(err)
			}
			if err := s.Commit(1, 2, 3); err != nil {
				t.Fatal(err)
			}
		}, 3, strings.Repeat("0", 64), ErrNotAdoptable, "not after the spool's head 3"},
		{"a hash that is not 64 hex characters", func(*testing.T, *Spool) {}, 5, "xyz", nil, "not 64 hex"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t, filepath.Join(t.TempDir(), "spool.db"), Options{})
			tc.prepare(t, s)
			before, _ := s.Head()
			err := s.AdoptHead(tc.seq, tc.hash)
			if err == nil || !strings.Contains(err.Error(), tc.wantMsg) || (tc.wantIs != nil && !errors.Is(err, tc.wantIs)) {
				t.Fatalf("AdoptHead = %v, want an error with %q", err, tc.wantMsg)
			}
			if after, _ := s.Head(); after != before {
				t.Fatalf("a refused adoption moved the head from %d to %d", before, after)
			}
		})
	}
}

func TestAdoptingAHeadForgetsTheLastEventTime(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "spool.db"), Options{})
	if _, err := s.Append(t.Context(), events(1, 2)); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(1, 2); err != nil {
		t.Fatal(err)
	}
	if s.LastEventTime() == 0 {
		t.Fatal("no last event time before adoption")
	}
	if err := s.AdoptHead(9, strings.Repeat("cd", 32)); err != nil {
		t.Fatal(err)
	}
	if got := s.LastEventTime(); got != 0 {
		t.Fatalf("last event time %d after adoption, want 0 (the watcher must not replay what another collector may have recorded)", got)
	}
}

func TestAChainThatNeverLeftTheSpoolIsRebasedOntoTheLedger(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spool.db")
	s := openTest(t, path, Options{})
	if _, err := s.Append(t.Context(), events(1, 3)); err != nil {
		t.Fatal(err)
	}
	ledgerHash := strings.Repeat("ef", 32)
	out, err := s.Rebase(10, ledgerHash, []record.Record{gap(record.GapCollectorReplaced)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 4 || out[0].Record.Kind != record.KindGap {
		t.Fatalf("rebased %d records, the first %s; want the gap then the 3 events", len(out), out[0].Record.Kind)
	}
	prev := ledgerHash
	for i, r := range out {
		if r.Record.Seq != uint64(11+i) || r.Record.Prev != prev {
			t.Fatalf("record %d: seq %d prev %s, want %d %s", i, r.Record.Seq, r.Record.Prev, 11+i, prev)
		}
		if err := r.Check(); err != nil {
			t.Fatalf("record %d does not verify: %v", i, err)
		}
		prev = r.Hash
	}
	pending, err := s.Pending(0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 4 || pending[3].Hash != out[3].Hash {
		t.Fatalf("pending after the rebase: %d records, want the 4 rebased", len(pending))
	}
	// The events keep their IDs, so Docker's replay of one is still a duplicate.
	res, err := s.Append(t.Context(), events(2, 1))
	if err != nil || !res[0].Duplicate {
		t.Fatalf("re-appending a rebased event: %+v, %v; want a duplicate", res, err)
	}
	// Durable: a reopened spool holds the rebased chain.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openTest(t, path, Options{})
	if seq, hash := s2.Head(); seq != 14 || hash != out[3].Hash {
		t.Fatalf("reopened head %d %s, want 14 %s", seq, hash, out[3].Hash)
	}
}

func TestRebaseRefusesAChainPartlyOnTheLedger(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "spool.db"), Options{})
	if _, err := s.Append(t.Context(), events(1, 3)); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(1); err != nil {
		t.Fatal(err)
	}
	_, err := s.Rebase(10, strings.Repeat("ef", 32), nil)
	if !errors.Is(err, ErrNotAdoptable) || !strings.Contains(err.Error(), "1 of 3 records") {
		t.Fatalf("Rebase = %v, want ErrNotAdoptable naming the record that left", err)
	}
	if seq, _ := s.Head(); seq != 3 {
		t.Fatalf("a refused rebase moved the head to %d", seq)
	}
}
