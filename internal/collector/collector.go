// Package collector is the collector daemon's pipeline and lifecycle (Run):
// Docker Engine events through the watcher into the spool, the spool's
// records through the submitter onto the ledger, the HTTP endpoints, the
// chain's continuation from the ledger (Resume) and the shutdown drain.
// cmd/e2l-collector only parses the configuration and calls Run.
package collector

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/e2l-project/e2l/internal/dockerwatch"
	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/spool"
)

// Spool is what the collector needs of *spool.Spool.
type Spool interface {
	Append(ctx context.Context, recs []record.Record) ([]spool.Appended, error)
	LastEventTime() int64
	Meta(key string) (string, error)
	SetMeta(key, value string) error
	Stats() spool.Stats
}

// Sink adapts the spool to dockerwatch.Sink.
type Sink struct{ Spool Spool }

var _ dockerwatch.Sink = Sink{}

// Append stores recs; spool.ErrFull is reported as dockerwatch.ErrSinkFull.
func (s Sink) Append(ctx context.Context, recs []record.Record) (int, error) {
	res, err := s.Spool.Append(ctx, recs)
	if errors.Is(err, spool.ErrFull) {
		return 0, fmt.Errorf("%w: %w", dockerwatch.ErrSinkFull, err)
	}
	if err != nil {
		return 0, err
	}
	dups := 0
	for _, r := range res {
		if r.Duplicate {
			dups++
		}
	}
	return dups, nil
}

// LastEventTime is the spool's.
func (s Sink) LastEventTime() int64 { return s.Spool.LastEventTime() }

// Meta is the spool's.
func (s Sink) Meta(key string) (string, error) { return s.Spool.Meta(key) }

// SetMeta is the spool's.
func (s Sink) SetMeta(key, value string) error { return s.Spool.SetMeta(key, value) }

// Readiness says whether the collector is doing its job: the Docker event
// stream is open and a ledger transaction committed within the window
// (heartbeats make a commit at least every heartbeat interval).
type Readiness struct {
	StreamUp   func() bool
	LastCommit func() time.Time
	Window     time.Duration
	Clock      func() time.Time // time.Now when nil
}

// Check returns nil when ready, else the reasons.
func (r Readiness) Check() error {
	now := time.Now
	if r.Clock != nil {
		now = r.Clock
	}
	var errs []error
	if !r.StreamUp() {
		errs = append(errs, errors.New("docker event stream is down"))
	}
	switch last := r.LastCommit(); {
	case last.IsZero():
		errs = append(errs, errors.New("no ledger commit yet"))
	case now().Sub(last) > r.Window:
		errs = append(errs, fmt.Errorf("last ledger commit %s ago exceeds %s", now().Sub(last).Round(time.Second), r.Window))
	}
	return errors.Join(errs...)
}

// DrainSpool waits until the spool holds no pending records or timeout
// passes, whichever is first. It returns the records still pending.
func DrainSpool(sp Spool, timeout time.Duration) int {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	for {
		n := sp.Stats().PendingRecords
		if n == 0 {
			return 0
		}
		select {
		case <-deadline.C:
			return n
		case <-poll.C:
		}
	}
}
