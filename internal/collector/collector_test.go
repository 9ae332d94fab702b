package collector

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/e2l-project/e2l/internal/dockerwatch"
	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/spool"
)

// fakeSpool embeds the interface so unused methods panic.
type fakeSpool struct {
	Spool
	appendRes []spool.Appended
	appendErr error
	pending   atomic.Int64
}

func (f *fakeSpool) Append(context.Context, []record.Record) ([]spool.Appended, error) {
	return f.appendRes, f.appendErr
}
func (f *fakeSpool) Stats() spool.Stats { return spool.Stats{PendingRecords: int(f.pending.Load())} }

func TestSinkAppend(t *testing.T) {
	t.Run("a full spool is reported as the watcher's ErrSinkFull", func(t *testing.T) {
		s := Sink{Spool: &fakeSpool{appendErr: spool.ErrFull}}
		_, err := s.Append(t.Context(), nil)
		if !errors.Is(err, dockerwatch.ErrSinkFull) || !errors.Is(err, spool.ErrFull) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("another spool error passes through unchanged", func(t *testing.T) {
		boom := errors.New("disk on fire")
		_, err := Sink{Spool: &fakeSpool{appendErr: boom}}.Append(t.Context(), nil)
		if !errors.Is(err, boom) || errors.Is(err, dockerwatch.ErrSinkFull) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("duplicates are counted", func(t *testing.T) {
		s := Sink{Spool: &fakeSpool{appendRes: []spool.Appended{{Duplicate: true}, {}, {Duplicate: true}}}}
		n, err := s.Append(t.Context(), nil)
		if err != nil || n != 2 {
			t.Fatalf("got %d, %v", n, err)
		}
	})
}

func TestReadiness(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		up       bool
		last     time.Time
		wantErrs []string
	}{
		{"a stream that is up with a recent commit is ready", true, now.Add(-time.Minute), nil},
		{"no commit yet is not ready", true, time.Time{}, []string{"no ledger commit yet"}},
		{"a commit older than the window is not ready", true, now.Add(-3 * time.Minute), []string{"last ledger commit 3m0s ago exceeds 2m0s"}},
		{"a stream that is down is not ready", false, now, []string{"docker event stream is down"}},
		{"both reasons are given together", false, time.Time{}, []string{"docker event stream is down", "no ledger commit yet"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Readiness{
				StreamUp: func() bool { return tt.up }, LastCommit: func() time.Time { return tt.last },
				Window: 2 * time.Minute, Clock: func() time.Time { return now },
			}
			err := r.Check()
			if len(tt.wantErrs) == 0 {
				if err != nil {
					t.Fatalf("want ready, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("want not ready")
			}
			for _, w := range tt.wantErrs {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not say %q", err, w)
				}
			}
		})
	}
}

func TestDrainSpool(t *testing.T) {
	t.Run("an empty spool returns at once", func(t *testing.T) {
		if left := DrainSpool(&fakeSpool{}, time.Hour); left != 0 {
			t.Fatalf("left %d", left)
		}
	})
	t.Run("a spool that empties is waited for", func(t *testing.T) {
		f := &fakeSpool{}
		f.pending.Store(3)
		done := make(chan int)
		go func() { done <- DrainSpool(f, time.Hour) }()
		f.pending.Store(0)
		if left := <-done; left != 0 {
			t.Fatalf("left %d", left)
		}
	})
	t.Run("a spool that does not empty is given up on after the timeout", func(t *testing.T) {
		f := &fakeSpool{}
		f.pending.Store(5)
		if left := DrainSpool(f, time.Millisecond); left != 5 {
			t.Fatalf("left %d", left)
		}
	})
}
