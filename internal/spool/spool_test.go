package spool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/e2l-project/e2l/internal/record"
)

const testHost = "node1"

// event returns a valid local container event record; n makes it unique.
func event(n int) record.Record {
	t := int64(1_700_000_000_000_000_000) + int64(n)
	return record.Record{
		V: record.SchemaVersion, Kind: record.KindEvent, Host: testHost, Time: t,
		Event: &record.Event{
			Type: "container", Action: "start", Actor: fmt.Sprintf("%064x", n), Scope: record.ScopeLocal,
			TimeNano: t, Attrs: record.Attributes{Name: fmt.Sprintf("c%d", n), Image: "nginx:1"},
		},
	}
}

func events(from, n int) []record.Record {
	out := make([]record.Record, n)
	for i := range out {
		out[i] = event(from + i)
	}
	return out
}

func gap(reason string) record.Record {
	return record.Record{
		V: record.SchemaVersion, Kind: record.KindGap, Host: testHost, Time: 1_700_000_001_000_000_000,
		Gap: &record.Gap{From: 1_700_000_000_000_000_000, To: 1_700_000_001_000_000_000, Reason: reason},
	}
}

func openTest(t testing.TB, path string, opts Options) *Spool {
	t.Helper()
	if opts.Host == "" {
		opts.Host = testHost
	}
	s, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func mustAppend(t testing.TB, s *Spool, recs []record.Record) []Appended {
	t.Helper()
	res, err := s.Append(context.Background(), recs)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return res
}

func allPending(t testing.TB, s *Spool) []record.Sealed {
	t.Helper()
	p, err := s.Pending(0, 1<<30)
	if err != nil {
		t.Fatalf("Pending: %v", err)
	}
	return p
}

// checkChain checks that recs are a contiguous chain starting at seq 1.
func checkChain(t *testing.T, recs []record.Sealed) {
	t.Helper()
	for i := 0; i < len(recs); i += record.MaxBatchRecords {
		end := min(i+record.MaxBatchRecords, len(recs))
		if err := record.CheckBatch(record.Batch{Records: recs[i:end]}); err != nil {
			t.Fatalf("chain broken in records %d..%d: %v", i, end, err)
		}
		if i > 0 && recs[i].Record.Prev != recs[i-1].Hash {
			t.Fatalf("chain broken at record %d", i)
		}
	}
	if len(recs) > 0 && (recs[0].Record.Seq != 1 || recs[0].Record.Prev != record.GenesisPrev) {
		t.Fatalf("first record has seq %d prev %s, want 1 and genesis", recs[0].Record.Seq, recs[0].Record.Prev)
	}
}

func TestChainIsContinuousAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spool.db")
	s := openTest(t, path, Options{})
	mustAppend(t, s, events(0, 10))
	mustAppend(t, s, []record.Record{gap(record.GapCollectorDown)})
	seq, hash := s.Head()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTest(t, path, Options{})
	if gotSeq, gotHash := s.Head(); gotSeq != seq || gotHash != hash {
		t.Fatalf("Head after reopen = %d %s, want %d %s", gotSeq, gotHash, seq, hash)
	}
	if got, want := s.LastEventTime(), event(9).Time; got != want {
		t.Errorf("LastEventTime after reopen = %d, want %d", got, want)
	}
	res := mustAppend(t, s, events(10, 5))
	if res[0].Sealed.Record.Seq != 12 || res[0].Sealed.Record.Prev != hash {
		t.Fatalf("first record after reopen: seq %d prev %s, want 12 and %s", res[0].Sealed.Record.Seq, res[0].Sealed.Record.Prev, hash)
	}
	recs := allPending(t, s)
	if len(recs) != 16 {
		t.Fatalf("pending = %d records, want 16", len(recs))
	}
	checkChain(t, recs)
	if st := s.Stats(); st.PendingRecords != 16 || st.PendingBytes <= 0 || st.HeadSeq != 16 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestChainContinuesAfterCommitAndReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spool.db")
	s := openTest(t, path, Options{})
	mustAppend(t, s, events(0, 3))
	if err := s.Commit(1, 2, 3); err != nil {
		t.Fatal(err)
	}
	_, hash := s.Head()
	_ = s.Close()
	s = openTest(t, path, Options{})
	res := mustAppend(t, s, events(3, 1))
	if got := res[0].Sealed.Record; got.Seq != 4 || got.Prev != hash {
		t.Fatalf("record after all committed: seq %d prev %s, want 4 and %s", got.Seq, got.Prev, hash)
	}
	if st := s.Stats(); st.PendingRecords != 1 {
		t.Fatalf("pending = %d, want 1", st.PendingRecords)
	}
}

func TestAppendSkipsKnownEvents(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, s *Spool)
	}{
		{"an event pending in the spool is a duplicate", func(t *testing.T, s *Spool) {}},
		{"an event already committed is a duplicate", func(t *testing.T, s *Spool) {
			if err := s.Commit(1, 2, 3); err != nil {
				t.Fatal(err)
			}
		}},
		{"an event dead-lettered is a duplicate", func(t *testing.T, s *Spool) {
			if err := s.DeadLetter(2, "test"); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "spool.db")
			s := openTest(t, path, Options{})
			mustAppend(t, s, events(0, 3))
			tt.setup(t, s)
			for _, reopen := range []bool{false, true} {
				if reopen {
					_ = s.Close()
					s = openTest(t, path, Options{})
				}
				// The Docker "since" boundary replays event 2; event 3 is new.
				res := mustAppend(t, s, events(2, 2))
				if !res[0].Duplicate || res[0].Sealed.ID != event(2).DeriveID() {
					t.Errorf("reopen=%v: replayed event: %+v, want a duplicate with its ID", reopen, res[0])
				}
				if res[1].Duplicate != reopen {
					t.Errorf("reopen=%v: event 3 duplicate = %v", reopen, res[1].Duplicate)
				}
			}
			if seq, _ := s.Head(); seq != 4 {
				t.Errorf("head = %d, want 4", seq)
			}
		})
	}
}

func TestAppendSkipsDuplicatesWithinOneCall(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "spool.db"), Options{})
	res := mustAppend(t, s, []record.Record{event(1), event(1), event(2)})
	if res[0].Duplicate || !res[1].Duplicate || res[2].Duplicate {
		t.Fatalf("duplicates = %v %v %v, want false true false", res[0].Duplicate, res[1].Duplicate, res[2].Duplicate)
	}
	checkChain(t, allPending(t, s))
}

func TestNonEventRecordsAreNeverDeduplicated(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "spool.db"), Options{})
	res := mustAppend(t, s, []record.Record{gap(record.GapStreamError), gap(record.GapStreamError)})
	if res[0].Duplicate || res[1].Duplicate || res[0].Sealed.ID == res[1].Sealed.ID {
		t.Fatalf("two identical gaps: %+v", res)
	}
}

func TestDedupeIndexIsBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spool.db")
	s := openTest(t, path, Options{DedupeIDs: 5})

	mustAppend(t, s, events(0, 10)) // all pending: the index is bounded all the same
	if got := s.Stats().DedupeIDs; got != 5 {
		t.Fatalf("dedupe IDs = %d, want 5", got)
	}
	res := mustAppend(t, s, []record.Record{event(0), event(9)})
	if res[0].Duplicate || !res[1].Duplicate {
		t.Fatalf("oldest forgotten, newest kept: got duplicate %v %v, want false true", res[0].Duplicate, res[1].Duplicate)
	}
	if err := s.Commit(1, 2, 3, 4, 5, 6, 7, 8, 9, 10); err != nil {
		t.Fatal(err)
	}
	if res := mustAppend(t, s, events(9, 1)); !res[0].Duplicate {
		t.Fatal("a committed event among the newest was forgotten")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, path, Options{DedupeIDs: 5})
	if got := s.Stats().DedupeIDs; got != 5 {
		t.Fatalf("dedupe IDs after reopen = %d, want 5", got)
	}
	if res := mustAppend(t, s, events(9, 1)); !res[0].Duplicate {
		t.Fatal("the newest event was forgotten across a reopen")
	}
}

func TestBoundRefusesEventsButKeepsReserveForGaps(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"bound by records", Options{MaxRecords: 10}},
		{"bound by bytes", Options{MaxBytes: 10*recordSize(t) + 16}}, // seq 10 is one byte longer
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTest(t, filepath.Join(t.TempDir(), "spool.db"), tt.opts)
			mustAppend(t, s, events(0, 8))
			if _, err := s.Append(t.Context(), events(8, 3)); !errors.Is(err, ErrFull) {
				t.Fatalf("Append over the bound: err = %v, want ErrFull", err)
			}
			if st := s.Stats(); st.PendingRecords != 8 || st.HeadSeq != 8 {
				t.Fatalf("a refused Append stored something: %+v", st)
			}
			mustAppend(t, s, events(8, 2)) // exactly at the bound
			if _, err := s.Append(t.Context(), events(10, 1)); !errors.Is(err, ErrFull) {
				t.Fatalf("Append when full: err = %v, want ErrFull", err)
			}
			// The gap fits in the reserve (10% of 10 = 1 record).
			if _, err := s.Append(t.Context(), []record.Record{gap(record.GapSpoolFull)}); err != nil {
				t.Fatalf("gap when full: %v", err)
			}
			if _, err := s.Append(t.Context(), []record.Record{gap(record.GapSpoolFull), gap(record.GapSpoolFull)}); !errors.Is(err, ErrFull) {
				t.Fatalf("gaps beyond the reserve: err = %v, want ErrFull", err)
			}
			// Committing frees room for events again.
			if err := s.Commit(1, 2, 3, 4); err != nil {
				t.Fatal(err)
			}
			mustAppend(t, s, events(10, 2))
		})
	}
}

// recordSize is the stored size of one test event.
func recordSize(t *testing.T) int64 {
	s := openTest(t, filepath.Join(t.TempDir(), "size.db"), Options{})
	mustAppend(t, s, events(0, 1))
	return s.Stats().PendingBytes
}

func TestCommitAndDeadLetter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "spool.db")
	s := openTest(t, path, Options{Clock: func() time.Time { return now }})
	mustAppend(t, s, events(0, 5))
	if err := s.Commit(1, 2, 99); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if err := s.Commit(1); err != nil {
		t.Fatalf("Commit twice: %v", err)
	}
	if err := s.DeadLetter(4, "record 0 (x): conflict"); err != nil {
		t.Fatalf("DeadLetter: %v", err)
	}
	if err := s.DeadLetter(4, "again"); !errors.Is(err, ErrNotPending) {
		t.Fatalf("DeadLetter twice: err = %v, want ErrNotPending", err)
	}
	if err := s.DeadLetter(1, "committed"); !errors.Is(err, ErrNotPending) {
		t.Fatalf("DeadLetter of a committed record: err = %v, want ErrNotPending", err)
	}
	var seqs []uint64
	for _, r := range allPending(t, s) {
		seqs = append(seqs, r.Record.Seq)
	}
	if fmt.Sprint(seqs) != "[3 5]" {
		t.Fatalf("pending seqs = %v, want [3 5]", seqs)
	}
	_ = s.Close()
	s = openTest(t, path, Options{})
	if st := s.Stats(); st.PendingRecords != 2 || st.DeadLetters != 1 {
		t.Fatalf("Stats after reopen = %+v, want 2 pending and 1 dead letter", st)
	}
	dls, err := s.DeadLetters()
	if err != nil {
		t.Fatal(err)
	}
	if len(dls) != 1 || dls[0].Sealed.Record.Seq != 4 || dls[0].Reason != "record 0 (x): conflict" || !dls[0].Time.Equal(now) {
		t.Fatalf("DeadLetters = %+v", dls)
	}
	if err := dls[0].Sealed.Check(); err != nil {
		t.Fatalf("dead letter does not check: %v", err)
	}
}

func TestPendingPagesInSeqOrder(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "spool.db"), Options{})
	mustAppend(t, s, events(0, 25))
	var got []uint64
	var after uint64
	for {
		p, err := s.Pending(after, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(p) == 0 {
			break
		}
		if len(p) > 10 {
			t.Fatalf("Pending returned %d > max", len(p))
		}
		for _, r := range p {
			got = append(got, r.Record.Seq)
		}
		after = p[len(p)-1].Record.Seq
	}
	if len(got) != 25 {
		t.Fatalf("paged %d records, want 25", len(got))
	}
	for i, seq := range got {
		if seq != uint64(i+1) {
			t.Fatalf("record %d has seq %d", i, seq)
		}
	}
	if p, _ := s.Pending(0, 0); p != nil {
		t.Errorf("Pending with max 0 = %d records", len(p))
	}
}

func TestConcurrentAppendersShareOneChain(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "spool.db"), Options{})
	const writers, calls, per = 6, 20, 10
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for c := range calls {
				if _, err := s.Append(t.Context(), events((w*calls+c)*per, per)); err != nil {
					t.Error(err)
					return
				}
				_ = s.Stats()
			}
		})
	}
	wg.Go(func() { // a reader and committer at the same time
		var after uint64
		for range 50 {
			p, err := s.Pending(after, 7)
			if err != nil {
				t.Error(err)
				return
			}
			for _, r := range p {
				after = r.Record.Seq
			}
		}
	})
	wg.Wait()
	recs := allPending(t, s)
	if len(recs) != writers*calls*per {
		t.Fatalf("pending = %d, want %d", len(recs), writers*calls*per)
	}
	checkChain(t, recs)
}

func TestAppendIsAllOrNothing(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "spool.db"), Options{})
	bad := event(2)
	bad.Event.Scope = "galaxy"
	other := event(3)
	other.Host = "node2"
	for _, recs := range [][]record.Record{{event(1), bad}, {event(1), other}} {
		if _, err := s.Append(t.Context(), recs); !errors.Is(err, record.ErrInvalid) {
			t.Fatalf("Append with an invalid record: err = %v, want record.ErrInvalid", err)
		}
	}
	if st := s.Stats(); st.HeadSeq != 0 || st.PendingRecords != 0 {
		t.Fatalf("a failed Append stored something: %+v", st)
	}
	// The ID of the refused event was not remembered either.
	if res := mustAppend(t, s, events(1, 1)); res[0].Duplicate {
		t.Fatal("event of a failed Append became a duplicate")
	}
}

func TestAppendFillsTheHost(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "spool.db"), Options{})
	r := event(1)
	r.Host = ""
	res := mustAppend(t, s, []record.Record{r})
	if res[0].Sealed.Record.Host != testHost || res[0].Sealed.ID != event(1).DeriveID() {
		t.Fatalf("sealed = %+v", res[0].Sealed)
	}
}

func TestOpenRefuses(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte("this is not a bbolt file, it is some text long enough to look like one"), 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.db")
	s := openTest(t, other, Options{Host: "node2"})
	_ = s.Close()

	tests := []struct {
		name string
		path string
		opts Options
		is   error
	}{
		{"a file that is not a spool", garbage, Options{Host: testHost}, ErrCorrupt},
		{"a spool of another host", other, Options{Host: testHost}, nil},
		{"options without a host", filepath.Join(dir, "new.db"), Options{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(tt.path, tt.opts)
			if err == nil {
				_ = s.Close()
				t.Fatal("Open succeeded")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("err = %v, want %v", err, tt.is)
			}
			t.Log(err)
		})
	}
}

func TestDetectsCorruptRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spool.db")
	s := openTest(t, path, Options{})
	mustAppend(t, s, events(0, 3))
	_ = s.Close()
	// Flip a byte of one record's canonical encoding in the file.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	needle := []byte(`"name":"c1"`)
	i := indexOf(data, needle)
	if i < 0 {
		t.Fatal("record not found in the file")
	}
	data[i+len(needle)-2] = 'X'
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, path, Options{})
	if _, err := s.Pending(0, 10); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Pending over a damaged record: err = %v, want ErrCorrupt", err)
	}
}

func indexOf(b, sub []byte) int {
	for i := 0; i+len(sub) <= len(b); i++ {
		if string(b[i:i+len(sub)]) == string(sub) {
			return i
		}
	}
	return -1
}

func TestMeta(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spool.db")
	s := openTest(t, path, Options{})
	if v, err := s.Meta("docker.id"); err != nil || v != "" {
		t.Fatalf("unset Meta = %q, %v", v, err)
	}
	if err := s.SetMeta("docker.id", "ABCD"); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	s = openTest(t, path, Options{})
	if v, err := s.Meta("docker.id"); err != nil || v != "ABCD" {
		t.Fatalf("Meta after reopen = %q, %v", v, err)
	}
	if err := s.SetMeta("docker.id", ""); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Meta("docker.id"); v != "" {
		t.Fatalf("deleted Meta = %q", v)
	}
}

func TestNotifyAfterAppend(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "spool.db"), Options{})
	select {
	case <-s.Notify():
		t.Fatal("notified before any Append")
	default:
	}
	mustAppend(t, s, events(0, 2))
	mustAppend(t, s, events(2, 2))
	select {
	case <-s.Notify():
	default:
		t.Fatal("not notified after Append")
	}
	mustAppend(t, s, events(0, 1)) // only a duplicate: nothing stored
	select {
	case <-s.Notify():
		t.Fatal("notified after an Append that stored nothing")
	default:
	}
}

func TestClosedSpool(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "spool.db"), Options{})
	_ = s.Close()
	if _, err := s.Append(t.Context(), events(0, 1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Append: %v", err)
	}
	if _, err := s.Pending(0, 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Pending: %v", err)
	}
	if err := s.Commit(1); !errors.Is(err, ErrClosed) {
		t.Errorf("Commit: %v", err)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	s := openTest(t, filepath.Join(t.TempDir(), "spool.db"), Options{Registerer: reg, MaxRecords: 4})
	mustAppend(t, s, events(0, 3))
	mustAppend(t, s, events(0, 1))
	_, _ = s.Append(t.Context(), events(3, 2))
	if err := s.Commit(1); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{
		"e2l_collector_spool_pending_records":         2,
		"e2l_collector_spool_duplicate_events_total":  1,
		"e2l_collector_spool_committed_records_total": 1,
		"e2l_collector_spool_head_seq":                3,
	} {
		if got, err := testutil.GatherAndCount(reg, name); err != nil || got != 1 {
			t.Errorf("%s: %d series, %v", name, got, err)
		}
		_ = want
	}
	if got := testutil.ToFloat64(s.metrics.appendedC.WithLabelValues("event")); got != 3 {
		t.Errorf("appended events = %v, want 3", got)
	}
	if got := testutil.ToFloat64(s.metrics.refusedRec.WithLabelValues(reasonFull)); got != 2 {
		t.Errorf("refused full = %v, want 2", got)
	}
	if n, err := testutil.GatherAndCount(reg, "e2l_collector_spool_appended_records_total"); err != nil || n != len(record.Kinds) {
		t.Errorf("appended series = %d (%v), want one per kind", n, err)
	}
	if err := s.DeadLetter(2, "refused"); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(s.metrics.deadC); got != 1 {
		t.Errorf("dead-lettered records = %v, want 1", got)
	}
}

func BenchmarkAppend(b *testing.B) {
	for _, batch := range []int{1, 100, 500} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			s := openTest(b, filepath.Join(b.TempDir(), "spool.db"), Options{MaxRecords: 1 << 30, MaxBytes: 1 << 40})
			recs := events(0, b.N+batch)
			b.ResetTimer()
			n := 0
			for n < b.N {
				k := min(batch, b.N-n)
				if _, err := s.Append(context.Background(), recs[n:n+k]); err != nil {
					b.Fatal(err)
				}
				n += k
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// Commits of many workers at once, some of the same seqs, while records
// are appended: every committed record leaves pending once, the counts
// stay exact, and the rest stays pending across a reopen.
func TestConcurrentCommits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spool.db")
	s := openTest(t, path, Options{})
	mustAppend(t, s, events(0, 200))
	var wg sync.WaitGroup
	for w := range 40 {
		wg.Go(func() {
			// Worker w commits seqs w*4+1 .. w*4+5: each overlaps the next.
			seqs := []uint64{}
			for i := range 5 {
				seqs = append(seqs, uint64(w*4+1+i))
			}
			if err := s.Commit(seqs...); err != nil {
				t.Errorf("Commit %v: %v", seqs, err)
			}
		})
	}
	wg.Go(func() { mustAppend(t, s, events(200, 10)) })
	wg.Wait()
	// Seqs 1..161 are committed (the last worker's reach 39*4+5).
	st := s.Stats()
	if st.PendingRecords != 210-161 {
		t.Fatalf("pending after the commits = %d, want %d", st.PendingRecords, 210-161)
	}
	pending := allPending(t, s)
	if len(pending) != 210-161 || pending[0].Record.Seq != 162 {
		t.Fatalf("pending = %d records from seq %d, want %d from 162", len(pending), pending[0].Record.Seq, 210-161)
	}
	var size int64
	for _, p := range pending {
		k, v, _ := encodeForTest(p)
		size += int64(len(k) + len(v))
	}
	if st.PendingBytes != size {
		t.Fatalf("pending bytes = %d, want %d", st.PendingBytes, size)
	}
	_ = s.Close()
	if got := openTest(t, path, Options{}).Stats(); got.PendingRecords != st.PendingRecords || got.PendingBytes != st.PendingBytes {
		t.Fatalf("after reopen %+v, before %+v", got, st)
	}
}

func encodeForTest(r record.Sealed) ([]byte, []byte, error) {
	v, _, err := encodeRecord(r)
	return seqKey(r.Record.Seq), v, err
}
