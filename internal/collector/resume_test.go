package collector

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/spool"
	"github.com/e2l-project/e2l/internal/wire"
)

// ledgerChain answers QueryChain like the chaincode from sealed records.
type ledgerChain []record.Sealed

func (l ledgerChain) Evaluate(_ context.Context, fn string, args ...string) ([]byte, error) {
	if fn != "QueryChain" {
		return nil, errors.New("unexpected " + fn)
	}
	from, _ := strconv.ParseUint(args[1], 10, 64)
	page := wire.Page{Records: []json.RawMessage{}}
	for _, s := range l {
		if s.Record.Seq >= from {
			v, _ := json.Marshal(wire.Stored{ID: s.ID, Hash: s.Hash, Record: s.Record.Canonical()})
			page.Records = append(page.Records, v)
			break
		}
	}
	page.Count = len(page.Records)
	return json.Marshal(page)
}

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// chain seals n records of node1, the last of kind last at time at.
func chain(t *testing.T, n int, last record.Kind, at time.Time) ledgerChain {
	t.Helper()
	var out ledgerChain
	prev := record.GenesisPrev
	for i := 1; i <= n; i++ {
		r := record.Record{V: record.SchemaVersion, Kind: record.KindHeartbeat, Host: "node1", Seq: uint64(i), Prev: prev,
			Time: at.Add(time.Duration(i-n) * time.Second).UnixNano(), Heartbeat: &record.Heartbeat{IntervalMs: 30000}}
		if i == n && last == record.KindStop {
			r.Kind, r.Heartbeat, r.Lifecycle = record.KindStop, nil, &record.Lifecycle{Version: "test", Reason: "signal"}
		}
		s, err := record.Seal(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
		prev = s.Hash
	}
	return out
}

func openSpool(t *testing.T) *spool.Spool {
	t.Helper()
	sp, err := spool.Open(filepath.Join(t.TempDir(), "spool.db"), spool.Options{Host: "node1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sp.Close() })
	return sp
}

func resumeCfg(now time.Time) ResumeConfig {
	return ResumeConfig{Host: "node1", LiveWindow: 70 * time.Second, Clock: func() time.Time { return now }}
}

func TestANewSpoolContinuesTheLedgersChainWithOneGap(t *testing.T) {
	tests := []struct {
		name string
		l    ledgerChain
	}{
		{"after a clean stop a moment ago", chain(t, 5, record.KindStop, t0.Add(-2*time.Second))},
		{"after silence longer than the live window", chain(t, 5, record.KindHeartbeat, t0.Add(-5*time.Minute))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sp := openSpool(t)
			res, err := Resume(t.Context(), sp, tc.l, resumeCfg(t0))
			if err != nil {
				t.Fatal(err)
			}
			head := tc.l[len(tc.l)-1]
			if !res.Moved || res.Gap == nil {
				t.Fatalf("Resume = %+v, want the head adopted and a gap", res)
			}
			g := res.Gap.Record
			if g.Seq != 6 || g.Prev != head.Hash || g.Gap.Reason != record.GapCollectorReplaced ||
				g.Gap.From != head.Record.Time || g.Gap.To != t0.UnixNano() {
				t.Fatalf("gap seq %d prev %s %+v; want seq 6 after %s covering %d..%d", g.Seq, g.Prev, g.Gap, head.Hash, head.Record.Time, t0.UnixNano())
			}
			if st := sp.Stats(); st.PendingRecords != 1 || st.HeadSeq != 6 {
				t.Fatalf("spool %+v, want the gap alone pending at seq 6", st)
			}
		})
	}
}

func TestResumeLeavesAlone(t *testing.T) {
	t.Run("a host with no chain on the ledger", func(t *testing.T) {
		sp := openSpool(t)
		res, err := Resume(t.Context(), sp, ledgerChain{}, resumeCfg(t0))
		if err != nil || res.Moved || sp.Stats().HeadSeq != 0 {
			t.Fatalf("Resume = %+v, %v; spool head %d", res, err, sp.Stats().HeadSeq)
		}
	})
	t.Run("a spool whose pending record is the ledger's head (committed, not yet marked)", func(t *testing.T) {
		sp := openSpool(t)
		l := chain(t, 3, record.KindHeartbeat, t0)
		for _, s := range l {
			r := s.Record
			r.Seq, r.Prev = 0, ""
			if _, err := sp.Append(t.Context(), []record.Record{r}); err != nil {
				t.Fatal(err)
			}
		}
		res, err := Resume(t.Context(), sp, l[:2], resumeCfg(t0))
		if err != nil || res.Moved || sp.Stats().HeadSeq != 3 {
			t.Fatalf("Resume = %+v, %v; spool head %d", res, err, sp.Stats().HeadSeq)
		}
	})
	t.Run("a spool that wrote the chain, part of it committed, more pending", func(t *testing.T) {
		sp := openSpool(t)
		l := spoolChain(t, sp, 3)
		if err := sp.Commit(1, 2); err != nil {
			t.Fatal(err)
		}
		res, err := Resume(t.Context(), sp, l[:2], resumeCfg(t0))
		if err != nil || res.Moved || sp.Stats().HeadSeq != 3 {
			t.Fatalf("Resume = %+v, %v; spool head %d", res, err, sp.Stats().HeadSeq)
		}
	})
}

// spoolChain appends n heartbeats to sp and returns them as sealed there.
func spoolChain(t *testing.T, sp *spool.Spool, n int) ledgerChain {
	t.Helper()
	var out ledgerChain
	for i := range n {
		r := record.Record{V: record.SchemaVersion, Kind: record.KindHeartbeat, Host: "node1", Time: t0.UnixNano() + int64(i),
			Heartbeat: &record.Heartbeat{IntervalMs: 1000}}
		res, err := sp.Append(t.Context(), []record.Record{r})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, res[0].Sealed)
	}
	return out
}

func TestRecordsSpooledBeforeTheLedgerAnsweredAreRebasedBehindAGap(t *testing.T) {
	sp := openSpool(t)
	mine := spoolChain(t, sp, 3) // spooled while the ledger was unreachable
	l := chain(t, 7, record.KindStop, t0.Add(-time.Hour))
	res, err := Resume(t.Context(), sp, l, resumeCfg(t0))
	if err != nil || !res.Moved || res.Gap == nil {
		t.Fatalf("Resume = %+v, %v; want the spool's chain moved behind a gap", res, err)
	}
	g := res.Gap.Record
	if g.Seq != 8 || g.Prev != l[6].Hash || g.Gap.From != l[6].Record.Time || g.Gap.To != mine[0].Record.Time {
		t.Fatalf("gap seq %d prev %s %+v; want seq 8 after the ledger's head, from its time to the spool's first record", g.Seq, g.Prev, g.Gap)
	}
	pending, err := sp.Pending(0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 4 || pending[1].Record.Seq != 9 || pending[1].Record.Prev != res.Gap.Hash || pending[3].Record.Time != mine[2].Record.Time {
		t.Fatalf("pending after the rebase: %d records (second: seq %d); want the gap then the 3 spooled ones at 9..11", len(pending), pending[1].Record.Seq)
	}
}

func TestResumeRefusesToForkTheChain(t *testing.T) {
	tests := []struct {
		name string
		l    func(t *testing.T, sp *spool.Spool) ledgerChain
		want string
	}{
		{"when another collector wrote a heartbeat moments ago", func(t *testing.T, sp *spool.Spool) ledgerChain {
			return chain(t, 5, record.KindHeartbeat, t0.Add(-10*time.Second))
		}, "is 10s old, younger than 1m10s, and is not a stop"},
		{"when the pending records of a chain on the ledger would fork one continued elsewhere", func(t *testing.T, sp *spool.Spool) ledgerChain {
			spoolChain(t, sp, 3)
			if err := sp.Commit(1); err != nil {
				t.Fatal(err)
			}
			return chain(t, 5, record.KindStop, t0.Add(-time.Hour))
		}, "this spool holds 2 records not on the ledger (up to seq 3)"},
		{"when the ledger holds another record at this spool's head", func(t *testing.T, sp *spool.Spool) ledgerChain {
			spoolChain(t, sp, 3)
			if err := sp.Commit(1, 2, 3); err != nil {
				t.Fatal(err)
			}
			return chain(t, 3, record.KindStop, t0.Add(-time.Hour))
		}, "the ledger's record 3 of host node1 has hash"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sp := openSpool(t)
			l := tc.l(t, sp)
			before := sp.Stats()
			_, err := Resume(t.Context(), sp, l, resumeCfg(t0))
			if !errors.Is(err, ErrOtherCollector) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Resume = %v, want ErrOtherCollector saying %q", err, tc.want)
			}
			if after := sp.Stats(); after.HeadSeq != before.HeadSeq || after.PendingRecords != before.PendingRecords {
				t.Fatalf("a refused resume changed the spool: %+v → %+v", before, after)
			}
		})
	}
}

// flaky fails its first n calls, then answers from chain.
type flaky struct {
	n     int
	calls int
	chain ledgerChain
	// cancel, when set, is called at call cancelAt.
	cancel   context.CancelFunc
	cancelAt int
}

func (f *flaky) Evaluate(ctx context.Context, fn string, args ...string) ([]byte, error) {
	f.calls++
	if f.cancel != nil && f.calls == f.cancelAt {
		f.cancel()
	}
	if f.calls <= f.n {
		return nil, errors.New("peer unavailable")
	}
	return f.chain.Evaluate(ctx, fn, args...)
}

func TestResumeOnStart(t *testing.T) {
	t.Run("a new spool waits for the ledger before recording", func(t *testing.T) {
		sp := openSpool(t)
		f := &flaky{n: 3, chain: chain(t, 4, record.KindStop, t0.Add(-time.Minute))}
		cfg := resumeCfg(t0)
		cfg.RetryDelay = time.Millisecond
		res, err := ResumeOnStart(t.Context(), sp, f, cfg, zap.NewNop())
		if err != nil || !res.Moved || sp.Stats().HeadSeq != 5 {
			t.Fatalf("ResumeOnStart = %+v, %v after %d reads; spool head %d", res, err, f.calls, sp.Stats().HeadSeq)
		}
	})
	t.Run("a spool whose chain reached the ledger submits when the ledger cannot be read", func(t *testing.T) {
		sp := openSpool(t)
		spoolChain(t, sp, 2)
		if err := sp.Commit(1); err != nil {
			t.Fatal(err)
		}
		f := &flaky{n: 1 << 30}
		res, err := ResumeOnStart(t.Context(), sp, f, resumeCfg(t0), zap.NewNop())
		if err != nil || res.Moved || f.calls != 1 {
			t.Fatalf("ResumeOnStart = %+v, %v after %d reads; want a start after one read", res, err, f.calls)
		}
	})
	t.Run("another live collector is refused at once", func(t *testing.T) {
		sp := openSpool(t)
		f := &flaky{chain: chain(t, 4, record.KindHeartbeat, t0)}
		_, err := ResumeOnStart(t.Context(), sp, f, resumeCfg(t0), zap.NewNop())
		if !errors.Is(err, ErrOtherCollector) || f.calls > 20 {
			t.Fatalf("ResumeOnStart = %v after %d reads, want ErrOtherCollector", err, f.calls)
		}
	})
	t.Run("a cancelled start stops waiting", func(t *testing.T) {
		sp := openSpool(t)
		ctx, cancel := context.WithCancel(t.Context())
		f := &flaky{n: 1 << 30, cancel: cancel, cancelAt: 3}
		cfg := resumeCfg(t0)
		cfg.RetryDelay = time.Millisecond
		_, err := ResumeOnStart(ctx, sp, f, cfg, zap.NewNop())
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("ResumeOnStart = %v, want context.Canceled", err)
		}
	})
}
