package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/e2l-project/e2l/internal/fabricconn"
	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/testkit/groundtruth"
)

// eventRecord is a container event record as the watcher makes it, unchained.
func eventRecord(host string, n int64, timeNano int64) record.Record {
	actions := [...]string{"create", "start", "die", "destroy"}
	c := n / 4
	ev := &record.Event{
		Type: "container", Action: actions[n%4], Actor: fmt.Sprintf("%064x", c), Scope: record.ScopeLocal,
		TimeNano: timeNano,
		Attrs:    record.Attributes{Name: fmt.Sprintf("synthetic-%d", c), Image: "e2l-testbox:test"},
	}
	if ev.Action == "die" {
		ev.Attrs.ExitCode = "0"
	}
	return record.Record{V: record.SchemaVersion, Kind: record.KindEvent, Host: host, Time: timeNano, Event: ev}
}

// chainer seals records of one host into a hash chain.
type chainer struct {
	mu   sync.Mutex
	seq  uint64
	prev string
}

func newChainer() *chainer { return &chainer{prev: record.GenesisPrev} }

func (c *chainer) seal(r record.Record) (record.Sealed, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r.Seq, r.Prev = c.seq+1, c.prev
	s, err := record.Seal(r)
	if err != nil {
		return s, err
	}
	c.seq, c.prev = s.Record.Seq, s.Hash
	return s, nil
}

// ceilingResult is what the Gateway load generator measured.
type ceilingResult struct {
	window   windowed
	failed   int // transactions that failed (submitted before the run's end)
	firstErr error
	cpu      time.Duration // this process's CPU in the window (load generator and block listener)
}

// selfCPU is this process's user and system CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runCeiling submits one record per transaction with inFlight workers for
// duration (SubmitAsync, then the commit status), and measures it like a
// collector run: the window is [warmup, duration] after the start, the
// committed records are those the block listener w saw commit in the
// window, and every transaction submitted in the window counts in the
// latency (submit to commit seen by the listener; one that failed counts
// as never committed). Transactions still in flight at the end are awaited.
func runCeiling(ctx context.Context, g *fabricconn.Conn, w *ledgerWatch, host string, inFlight int, duration, warmup time.Duration) (ceilingResult, error) {
	contract := e2lContract(g)
	ch := newChainer()
	var n atomic.Int64
	var mu sync.Mutex
	var res ceilingResult
	offered := map[uint64]time.Time{} // seq → submit time
	rctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	start := time.Now()
	from, to := start.Add(warmup), start.Add(duration)
	var wg sync.WaitGroup
	for range inFlight {
		wg.Go(func() {
			for rctx.Err() == nil {
				now := time.Now()
				s, err := ch.seal(eventRecord(host, n.Add(1)-1, now.UnixNano()))
				if err != nil {
					mu.Lock()
					res.firstErr = err
					mu.Unlock()
					return
				}
				mu.Lock()
				offered[s.Record.Seq] = now
				mu.Unlock()
				b := record.AppendBatch(nil, []record.Sealed{s})
				_, commit, err := contract.SubmitAsync("RecordEvents", client.WithBytesArguments(b))
				if err == nil {
					var st *client.Status
					// Awaited even after the run's end: every submitted
					// transaction is counted by its outcome.
					st, err = commit.StatusWithContext(context.WithoutCancel(rctx))
					if err == nil && !st.Successful {
						err = fmt.Errorf("transaction %s: %s", st.TransactionID, st.Code)
					}
				}
				if err != nil {
					mu.Lock()
					res.failed++
					if res.firstErr == nil {
						res.firstErr = err
					}
					mu.Unlock()
				}
			}
		})
	}
	sleep(ctx, warmup)
	cpu0 := selfCPU()
	wg.Wait()
	res.cpu = selfCPU() - cpu0
	// The listener sees a block a little after the commit status returns.
	mu.Lock()
	want := len(offered) - res.failed
	mu.Unlock()
	w.waitFor(ctx, 30*time.Second, func() bool { return w.count(host, record.KindEvent) >= want })
	recs := w.host(host)
	seen := bySeq(recs)
	offers := make([]groundtruth.Offer, 0, len(offered))
	for seq, at := range offered {
		offers = append(offers, groundtruth.Offer{At: at, Committed: seen[seq].Seen})
	}
	res.window = measureWindow(recs, offers, from, to)
	return res, nil
}
