package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/wire"
)

// Durations that tell the fake timers apart.
const (
	testMaxDelay     = 111 * time.Millisecond
	testDrainTimeout = 222 * time.Second
	testBackoffMin   = 1 * time.Millisecond
	testBackoffMax   = 8 * time.Millisecond
)

// chain returns n sealed records of one host, seq 1..n.
func chain(t testing.TB, n int) []record.Sealed {
	t.Helper()
	out := make([]record.Sealed, 0, n)
	prev := record.GenesisPrev
	for i := 1; i <= n; i++ {
		ts := int64(1_700_000_000_000_000_000) + int64(i)
		s, err := record.Seal(record.Record{
			V: record.SchemaVersion, Kind: record.KindEvent, Host: "node1", Seq: uint64(i), Prev: prev, Time: ts,
			Event: &record.Event{Type: "container", Action: "start", Actor: fmt.Sprintf("%064x", i), Scope: record.ScopeLocal, TimeNano: ts},
		})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
		prev = s.Hash
	}
	return out
}

// fakeSpool is an in-memory spool.
type fakeSpool struct {
	mu        sync.Mutex
	pending   []record.Sealed // in seq order
	committed []uint64
	dead      map[uint64]string
	notify    chan struct{}
	failRead  error
	read      int // records Pending returned, in all
}

func newFakeSpool(recs []record.Sealed) *fakeSpool {
	return &fakeSpool{pending: slices.Clone(recs), dead: map[uint64]string{}, notify: make(chan struct{}, 1)}
}

func (f *fakeSpool) Pending(after uint64, max int) ([]record.Sealed, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failRead != nil {
		return nil, f.failRead
	}
	var out []record.Sealed
	for _, r := range f.pending {
		if r.Record.Seq > after && len(out) < max {
			out = append(out, r)
		}
	}
	f.read += len(out)
	return out, nil
}

func (f *fakeSpool) remove(seq uint64) bool {
	i := slices.IndexFunc(f.pending, func(r record.Sealed) bool { return r.Record.Seq == seq })
	if i < 0 {
		return false
	}
	f.pending = slices.Delete(f.pending, i, i+1)
	return true
}

func (f *fakeSpool) Commit(seqs ...uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range seqs {
		if f.remove(s) {
			f.committed = append(f.committed, s)
		}
	}
	return nil
}

func (f *fakeSpool) DeadLetter(seq uint64, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.remove(seq) {
		return errors.New("not pending")
	}
	f.dead[seq] = reason
	return nil
}

func (f *fakeSpool) Notify() <-chan struct{} { return f.notify }

func (f *fakeSpool) append(recs ...record.Sealed) {
	f.mu.Lock()
	f.pending = append(f.pending, recs...)
	f.mu.Unlock()
	select {
	case f.notify <- struct{}{}:
	default:
	}
}

func (f *fakeSpool) state() (pending, committed []uint64, dead map[uint64]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.pending {
		pending = append(pending, r.Record.Seq)
	}
	committed = slices.Clone(f.committed)
	slices.Sort(committed)
	return pending, committed, maps(f.dead)
}

func maps(m map[uint64]string) map[uint64]string {
	out := make(map[uint64]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// call is one SubmitBatch the fake contract received.
type call struct {
	seqs  []uint64
	ids   []string
	reply chan reply
}

type reply struct {
	result []byte
	err    error
}

// fakeContract hands each SubmitBatch to the test (calls) or, when respond
// is set, answers it at once.
type fakeContract struct {
	calls   chan *call
	respond func(c *call) reply

	mu          sync.Mutex
	inFlight    int
	maxInFlight int
	batches     [][]uint64
}

func newFakeContract() *fakeContract { return &fakeContract{calls: make(chan *call, 100)} }

func (f *fakeContract) SubmitBatch(ctx context.Context, batchJSON []byte) ([]byte, error) {
	b, err := record.DecodeBatch(batchJSON)
	if err != nil {
		return nil, err
	}
	if err := record.CheckBatch(b); err != nil {
		return nil, fmt.Errorf("the fake chaincode refuses the batch: %w", err)
	}
	c := &call{reply: make(chan reply, 1)}
	for _, r := range b.Records {
		c.seqs = append(c.seqs, r.Record.Seq)
		c.ids = append(c.ids, r.ID)
	}
	f.mu.Lock()
	f.inFlight++
	f.maxInFlight = max(f.maxInFlight, f.inFlight)
	f.batches = append(f.batches, c.seqs)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	if f.respond != nil {
		r := f.respond(c)
		return r.result, r.err
	}
	f.calls <- c
	select {
	case r := <-c.reply:
		return r.result, r.err
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}

func (f *fakeContract) next(t *testing.T) *call {
	t.Helper()
	select {
	case c := <-f.calls:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no SubmitBatch call")
		return nil
	}
}

// results of the chaincode for these calls: every record written.
func written(c *call) []byte {
	b, _ := json.Marshal(wire.Result{Written: len(c.seqs), Records: []wire.RecordStatus{}})
	return b
}

// fakeTimers replaces time.After: backoffs (below 10ms) fire at once,
// others fire when the test says.
type fakeTimers struct {
	armed chan armedTimer
	mu    sync.Mutex
	waits []time.Duration
}

type armedTimer struct {
	d  time.Duration
	ch chan time.Time
}

func (a armedTimer) fire() { a.ch <- time.Time{} }

func newFakeTimers() *fakeTimers { return &fakeTimers{armed: make(chan armedTimer, 100)} }

func (f *fakeTimers) after(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	f.mu.Lock()
	f.waits = append(f.waits, d)
	f.mu.Unlock()
	if d < 10*time.Millisecond {
		ch <- time.Time{}
		return ch
	}
	f.armed <- armedTimer{d, ch}
	return ch
}

func (f *fakeTimers) next(t *testing.T, d time.Duration) armedTimer {
	t.Helper()
	for {
		select {
		case a := <-f.armed:
			if a.d == d {
				return a
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no timer of %s armed", d)
		}
	}
}

func (f *fakeTimers) durations() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.waits)
}

type harness struct {
	sp     *fakeSpool
	cc     *fakeContract
	timers *fakeTimers
	sub    *Submitter
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, recs []record.Sealed, cfg Config, respond func(c *call) reply) *harness {
	t.Helper()
	cfg.MaxDelay, cfg.DrainTimeout = testMaxDelay, testDrainTimeout
	cfg.BackoffMin, cfg.BackoffMax = testBackoffMin, testBackoffMax
	h := &harness{sp: newFakeSpool(recs), cc: newFakeContract(), timers: newFakeTimers(), reg: prometheus.NewPedanticRegistry(), done: make(chan error, 1)}
	h.cc.respond = respond
	sub, err := NewSubmitter(h.sp, h.cc, withDeps(cfg, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)), h.reg))
	if err != nil {
		t.Fatal(err)
	}
	sub.after = h.timers.after
	h.sub = sub
	ctx, cancel := context.WithCancel(t.Context())
	h.cancel = cancel
	go func() { h.done <- sub.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		for {
			select {
			case err := <-h.done:
				h.done <- err
				return
			case a := <-h.timers.armed:
				if a.d == testDrainTimeout {
					a.fire()
				}
			case <-time.After(10 * time.Second):
				t.Error("Run did not return")
				return
			}
		}
	})
	return h
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // polling, not waiting for an outcome
	}
}

func (h *harness) stop(t *testing.T) error {
	t.Helper()
	h.cancel()
	select {
	case err := <-h.done:
		h.done <- err // for Cleanup
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}

func seqRange(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

func TestIdleSubmitterSendsOneRecordAtOnce(t *testing.T) {
	h := start(t, chain(t, 1), Config{}, nil)
	c := h.cc.next(t) // no timer fired: sent at once
	if !slices.Equal(c.seqs, []uint64{1}) {
		t.Fatalf("batch = %v, want [1]", c.seqs)
	}
	c.reply <- reply{result: written(c)}
	waitFor(t, "commit", func() bool { _, com, _ := h.sp.state(); return len(com) == 1 })
	if h.sub.LastCommit().IsZero() {
		t.Error("LastCommit is zero after a commit")
	}
	if got := testutil.ToFloat64(h.sub.m.records.WithLabelValues(statusWritten)); got != 1 {
		t.Errorf("written records = %v, want 1", got)
	}
}

func TestBatchesAreFullOrWaitForMaxDelay(t *testing.T) {
	h := start(t, chain(t, 120), Config{MaxBatch: 50}, nil)
	first, second := h.cc.next(t), h.cc.next(t)
	if first.seqs[0] > second.seqs[0] { // two in flight: either may arrive first
		first, second = second, first
	}
	if !slices.Equal(first.seqs, seqRange(1, 50)) || !slices.Equal(second.seqs, seqRange(51, 100)) {
		t.Fatalf("batches = %v..%v, %v..%v", first.seqs[0], first.seqs[len(first.seqs)-1], second.seqs[0], second.seqs[len(second.seqs)-1])
	}
	// 20 records left while two batches are in flight: wait for MaxDelay.
	h.timers.next(t, testMaxDelay).fire()
	third := h.cc.next(t)
	if !slices.Equal(third.seqs, seqRange(101, 120)) {
		t.Fatalf("third batch = %v", third.seqs)
	}
	for _, c := range []*call{first, second, third} {
		c.reply <- reply{result: written(c)}
	}
	waitFor(t, "all committed", func() bool { _, com, _ := h.sp.state(); return len(com) == 120 })
}

func TestBatchesStopAtSeqGaps(t *testing.T) {
	recs := chain(t, 6)
	recs = slices.Delete(recs, 2, 3) // seq 3 was dead-lettered before
	h := start(t, recs, Config{MaxInFlight: 1}, nil)
	c := h.cc.next(t)
	if !slices.Equal(c.seqs, []uint64{1, 2}) {
		t.Fatalf("first batch = %v, want [1 2]", c.seqs)
	}
	c.reply <- reply{result: written(c)}
	c = h.cc.next(t)
	if !slices.Equal(c.seqs, []uint64{4, 5, 6}) {
		t.Fatalf("second batch = %v, want [4 5 6]", c.seqs)
	}
	c.reply <- reply{result: written(c)}
}

func TestNewRecordsAreSentAfterNotify(t *testing.T) {
	recs := chain(t, 3)
	h := start(t, recs[:1], Config{}, nil)
	c := h.cc.next(t)
	c.reply <- reply{result: written(c)}
	waitFor(t, "commit", func() bool { _, com, _ := h.sp.state(); return len(com) == 1 })
	h.sp.append(recs[1:]...)
	c = h.cc.next(t)
	if !slices.Equal(c.seqs, []uint64{2, 3}) {
		t.Fatalf("batch after notify = %v, want [2 3]", c.seqs)
	}
	c.reply <- reply{result: written(c)}
}

// A batch filling up while another is in flight is read from the spool
// once, not again on each notification of a new record.
func TestABatchFillingUpIsReadOnce(t *testing.T) {
	recs := chain(t, 11)
	h := start(t, recs[:1], Config{MaxBatch: 50, MaxInFlight: 2}, nil)
	first := h.cc.next(t) // idle: sent at once, and left in flight
	h.sp.append(recs[1])
	fill := h.timers.next(t, testMaxDelay) // the second batch waits to fill
	for _, r := range recs[2:] {
		h.sp.append(r)
	}
	fill.fire()
	second := h.cc.next(t)
	if !slices.Equal(second.seqs, seqRange(2, 11)) {
		t.Fatalf("second batch = %v, want 2..11", second.seqs)
	}
	h.sp.mu.Lock()
	read := h.sp.read
	h.sp.mu.Unlock()
	if read != len(recs) {
		t.Errorf("the spool's records were read %d times in all, want %d (each once)", read, len(recs))
	}
	for _, c := range []*call{first, second} {
		c.reply <- reply{result: written(c)}
	}
	waitFor(t, "all committed", func() bool { _, com, _ := h.sp.state(); return len(com) == 11 })
}

func TestWindowBoundsTransactionsInFlight(t *testing.T) {
	h := start(t, chain(t, 10), Config{MaxBatch: 1, MaxInFlight: 3}, nil)
	var open []*call
	for answered := 0; answered < 10; {
		if len(open) < 3 && answered+len(open) < 10 {
			open = append(open, h.cc.next(t))
			continue
		}
		c := open[0]
		open = open[1:]
		c.reply <- reply{result: written(c)}
		answered++
	}
	waitFor(t, "all committed", func() bool { _, com, _ := h.sp.state(); return len(com) == 10 })
	h.cc.mu.Lock()
	defer h.cc.mu.Unlock()
	if h.cc.maxInFlight != 3 {
		t.Fatalf("max in flight = %d, want 3", h.cc.maxInFlight)
	}
}

func TestRetryableFailuresAreRetriedThenCommitted(t *testing.T) {
	failures := []error{
		status.Error(codes.Unavailable, "connection refused"),
		&CommitCodeError{TransactionID: "tx1", Code: peer.TxValidationCode_MVCC_READ_CONFLICT},
	}
	var mu sync.Mutex
	h := start(t, chain(t, 4), Config{}, func(c *call) reply {
		mu.Lock()
		defer mu.Unlock()
		if len(failures) > 0 {
			err := failures[0]
			failures = failures[1:]
			return reply{err: err}
		}
		return reply{result: written(c)}
	})
	waitFor(t, "commit", func() bool { _, com, _ := h.sp.state(); return len(com) == 4 })
	_, _, dead := h.sp.state()
	if len(dead) != 0 {
		t.Fatalf("dead letters after retryable failures: %v", dead)
	}
	if got := testutil.ToFloat64(h.sub.m.retries.WithLabelValues(reasonUnavailable)) + testutil.ToFloat64(h.sub.m.retries.WithLabelValues(reasonReadConflict)); got != 2 {
		t.Errorf("retries = %v, want 2", got)
	}
	for _, d := range h.timers.durations()[:2] {
		if d < testBackoffMin/2 || d > testBackoffMax {
			t.Errorf("backoff %s outside [%s, %s]", d, testBackoffMin/2, testBackoffMax)
		}
	}
}

func TestRefusedRecordsAreDeadLetteredAlone(t *testing.T) {
	recs := chain(t, 20)
	bad := map[uint64]bool{5: true, 6: true, 17: true}
	tests := []struct {
		name   string
		refuse func(c *call, i int) error // i: index of the first bad record in the batch
	}{
		{"a refusal naming the record", func(c *call, i int) error {
			return gatewayErrorFor(wire.RefuseRecord(wire.CodeConflict, i, c.ids[i], "the ledger holds this ID with another hash").Error())
		}},
		{"a refusal naming no record", func(c *call, i int) error {
			return &CommitCodeError{TransactionID: "tx", Code: peer.TxValidationCode_BAD_PAYLOAD}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" isolates exactly the refused records", func(t *testing.T) {
			h := start(t, recs, Config{MaxBatch: 20}, func(c *call) reply {
				for i, s := range c.seqs {
					if bad[s] {
						return reply{err: tt.refuse(c, i)}
					}
				}
				return reply{result: written(c)}
			})
			waitFor(t, "all resolved", func() bool { p, _, _ := h.sp.state(); return len(p) == 0 })
			_, committed, dead := h.sp.state()
			if len(dead) != 3 || dead[5] == "" || dead[6] == "" || dead[17] == "" {
				t.Fatalf("dead letters = %v, want 5, 6 and 17", dead)
			}
			if len(committed) != 17 {
				t.Fatalf("committed = %v, want the 17 others", committed)
			}
			h.cc.mu.Lock()
			t.Logf("%d submissions: %v", len(h.cc.batches), h.cc.batches)
			h.cc.mu.Unlock()
		})
	}
}

// gatewayErrorFor is an endorse-shaped gRPC error carrying a chaincode message.
func gatewayErrorFor(msg string) error {
	return gatewayError(nopTB{}, codes.Aborted, "failed to endorse transaction, see attached details for more info", msg)
}

type nopTB struct{ testing.TB }

func (nopTB) Helper()           {}
func (nopTB) Fatal(args ...any) { panic(fmt.Sprint(args...)) }

func TestDeniedCallsAreRetriedNeverDeadLettered(t *testing.T) {
	var mu sync.Mutex
	denials := 2
	h := start(t, chain(t, 3), Config{}, func(c *call) reply {
		mu.Lock()
		defer mu.Unlock()
		if denials > 0 {
			denials--
			return reply{err: gatewayErrorFor(wire.Refuse(wire.CodeAccessDenied, `identity "x" of ProviderMSP has no e2l.role=collector attribute`).Error())}
		}
		return reply{result: written(c)}
	})
	waitFor(t, "commit", func() bool { _, com, _ := h.sp.state(); return len(com) == 3 })
	if _, _, dead := h.sp.state(); len(dead) != 0 {
		t.Fatalf("dead letters after denied calls: %v", dead)
	}
	if ds := h.timers.durations(); len(ds) < 2 || ds[0] != testBackoffMax || ds[1] != testBackoffMax {
		t.Fatalf("waits = %v, want the longest backoff twice", ds)
	}
}

func TestShutdownDrainsTransactionsInFlight(t *testing.T) {
	t.Run("a commit arriving within the drain timeout is kept", func(t *testing.T) {
		h := start(t, chain(t, 2), Config{}, nil)
		c := h.cc.next(t)
		h.cancel()
		h.timers.next(t, testDrainTimeout) // draining
		c.reply <- reply{result: written(c)}
		if err := h.stop(t); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if pending, committed, _ := h.sp.state(); len(pending) != 0 || len(committed) != 2 {
			t.Fatalf("after drain: pending %v committed %v", pending, committed)
		}
	})
	t.Run("after the drain timeout the records stay pending", func(t *testing.T) {
		h := start(t, chain(t, 2), Config{}, nil)
		h.cc.next(t)
		h.cancel()
		h.timers.next(t, testDrainTimeout).fire()
		if err := h.stop(t); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if pending, committed, dead := h.sp.state(); len(pending) != 2 || len(committed) != 0 || len(dead) != 0 {
			t.Fatalf("after drain timeout: pending %v committed %v dead %v", pending, committed, dead)
		}
	})
	t.Run("no new batch starts after cancel", func(t *testing.T) {
		h := start(t, nil, Config{}, nil)
		h.cancel()
		if err := h.stop(t); err != nil {
			t.Fatalf("Run: %v", err)
		}
		h.sp.append(chain(t, 1)...)
		select {
		case c := <-h.cc.calls:
			t.Fatalf("batch %v submitted after shutdown", c.seqs)
		default:
		}
	})
}

func TestRunReturnsSpoolErrors(t *testing.T) {
	h := start(t, nil, Config{}, nil)
	_ = h.stop(t)
	sp := newFakeSpool(nil)
	sp.failRead = errors.New("disk on fire")
	sub, err := NewSubmitter(sp, h.cc, Config{Logger: zap.NewNop(), Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Run(t.Context()); err == nil || !errors.Is(err, sp.failRead) {
		t.Fatalf("Run = %v, want the spool's error", err)
	}
}

func TestChaincodeStatusesAreCounted(t *testing.T) {
	results := map[uint64]string{ // by the batch's first seq
		1: `{"txId":"t","written":2,"duplicates":1,"records":[{"seq":2,"status":"duplicate"}]}`,
		4: `{"txId":"t","written":1,"duplicates":0,"records":[]}`,                               // counts that do not add up to the batch
		6: `{"txId":"t","records":[{"seq":6,"status":"written"},{"seq":7,"status":"written"}]}`, // no counts
	}
	recs := chain(t, 7)
	h := start(t, nil, Config{MaxBatch: 3}, func(c *call) reply { return reply{result: []byte(results[c.seqs[0]])} })
	for _, part := range [][]record.Sealed{recs[:3], recs[3:5], recs[5:]} {
		h.sp.append(part...)
		waitFor(t, "commit", func() bool { _, com, _ := h.sp.state(); return len(com) == int(part[len(part)-1].Record.Seq) })
	}
	// Counts that do not account for every record of the batch count it
	// as unknown.
	for st, want := range map[string]float64{statusWritten: 2, statusDuplicate: 1, statusUnknown: 4} {
		if got := testutil.ToFloat64(h.sub.m.records.WithLabelValues(st)); got != want {
			t.Errorf("%s records = %v, want %v", st, got, want)
		}
	}
	pairs := 0
	for _, st := range stages {
		pairs += len(stageReasons[st])
	}
	if n, err := testutil.GatherAndCount(h.reg, "e2l_collector_ledger_transactions_total"); err != nil || n != pairs {
		t.Errorf("transactions_total series = %d (%v), want the %d possible stage and reason pairs pre-initialised", n, err, pairs)
	}
}

func TestSplit(t *testing.T) {
	recs := chain(t, 5)
	tests := []struct {
		name  string
		index int
		want  []int // sizes of parts
	}{
		{"a named record in the middle goes alone", 2, []int{2, 1, 2}},
		{"a named first record goes alone", 0, []int{1, 4}},
		{"a named last record goes alone", 4, []int{4, 1}},
		{"no named record halves the batch", -1, []int{2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []int
			for _, p := range split(recs, tt.index) {
				got = append(got, len(p))
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("parts = %v, want %v", got, tt.want)
			}
		})
	}
}

// withDeps is cfg with its logger and registerer.
func withDeps(cfg Config, l *zap.Logger, reg prometheus.Registerer) Config {
	cfg.Logger, cfg.Registerer = l, reg
	return cfg
}
