package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/e2l-project/e2l/internal/record"
)

// eventRecord is a container event record as the watcher makes it, unchained.
func eventRecord(host string, n int64, timeNano int64) record.Record {
	actions := [...]string{"create", "start", "die", "destroy"}
	c := n / 4
	ev := &record.Event{
		Type: "container", Action: actions[n%4], Actor: fmt.Sprintf("%064x", c), Scope: record.ScopeLocal,
		TimeNano: timeNano,
		Attrs:    record.Attributes{Name: fmt.Sprintf("synthetic-%d", c), Image: "e2l-busybox:test"},
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
	committed int
	failed    int
	elapsed   time.Duration
	latencies []time.Duration // submit to commit status
	firstErr  error
	cpu       time.Duration // this process's CPU during the run (load generator and block listener)
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
// duration: SubmitAsync, then the commit status.
func runCeiling(ctx context.Context, g *gatewayConn, host string, inFlight int, duration time.Duration) (ceilingResult, error) {
	contract := g.contract()
	ch := newChainer()
	var n atomic.Int64
	var mu sync.Mutex
	var res ceilingResult
	ctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	cpu0 := selfCPU()
	start := time.Now()
	var wg sync.WaitGroup
	for range inFlight {
		wg.Go(func() {
			for ctx.Err() == nil {
				now := time.Now()
				s, err := ch.seal(eventRecord(host, n.Add(1)-1, now.UnixNano()))
				if err != nil {
					mu.Lock()
					res.firstErr = err
					mu.Unlock()
					return
				}
				b, _ := json.Marshal(record.Batch{Records: []record.Sealed{s}})
				_, commit, err := contract.SubmitAsync("RecordEvents", client.WithBytesArguments(b))
				var ok bool
				if err == nil {
					var st *client.Status
					// The status is awaited even after the run's end, so every
					// submitted transaction is counted by its outcome.
					st, err = commit.StatusWithContext(context.WithoutCancel(ctx))
					ok = err == nil && st.Successful
					if err == nil && !ok {
						err = fmt.Errorf("transaction %s: %s", st.TransactionID, st.Code)
					}
				}
				lat := time.Since(now)
				mu.Lock()
				if ok {
					if time.Since(start) <= duration {
						res.committed++
						res.latencies = append(res.latencies, lat)
					}
				} else if ctx.Err() == nil {
					res.failed++
					if res.firstErr == nil {
						res.firstErr = err
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	res.elapsed = duration
	res.cpu = selfCPU() - cpu0
	return res, nil
}
