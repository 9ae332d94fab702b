package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"testing"

	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/wire"
)

// fakeChain answers QueryChain(host, from, to, "1", "") from a set of
// sealed records, as the chaincode does: the first record at or after from.
type fakeChain struct {
	recs  []record.Sealed // by seq
	calls int
}

func (f *fakeChain) Evaluate(_ context.Context, fn string, args ...string) ([]byte, error) {
	f.calls++
	if fn != "QueryChain" || len(args) != 5 || args[3] != "1" {
		return nil, errors.New("unexpected call")
	}
	from, err := strconv.ParseUint(args[1], 10, 64)
	if err != nil {
		return nil, err
	}
	page := wire.Page{Records: []json.RawMessage{}}
	for _, s := range f.recs {
		if s.Record.Seq >= from {
			v, err := json.Marshal(wire.Stored{ID: s.ID, Hash: s.Hash, Record: s.Record.Canonical()})
			if err != nil {
				return nil, err
			}
			page.Records = append(page.Records, v)
			break
		}
	}
	page.Count = len(page.Records)
	return json.Marshal(page)
}

func chainOf(t *testing.T, seqs ...uint64) []record.Sealed {
	t.Helper()
	var out []record.Sealed
	prev := record.GenesisPrev
	for _, seq := range seqs {
		r := record.Record{V: record.SchemaVersion, Kind: record.KindHeartbeat, Host: "node1", Seq: seq, Prev: prev,
			Time: 1_700_000_000_000_000_000 + int64(seq), Heartbeat: &record.Heartbeat{IntervalMs: 30000}}
		s, err := record.Seal(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
		prev = s.Hash
	}
	return out
}

func TestChainHeadFindsTheNewestRecord(t *testing.T) {
	long := make([]uint64, 1000)
	for i := range long {
		long[i] = uint64(i + 1)
	}
	tests := []struct {
		name     string
		seqs     []uint64
		want     uint64
		maxCalls int
	}{
		{"of an empty chain as seq 0", nil, 0, 1},
		{"of a one-record chain", []uint64{1}, 1, 3},
		{"of a thousand records in about 2·log2(n) reads", long, 1000, 25},
		{"past holes left by dead letters", []uint64{1, 2, 5, 6, 7, 40, 41}, 41, 20},
		{"of a chain whose first records are not on the ledger", []uint64{17, 18}, 18, 12},
		{"near the largest sequence number", []uint64{math.MaxUint64 - 1, math.MaxUint64}, math.MaxUint64, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeChain{recs: chainOf(t, tc.seqs...)}
			h, err := ChainHead(t.Context(), f, "node1")
			if err != nil {
				t.Fatal(err)
			}
			if h.Seq != tc.want {
				t.Fatalf("head seq %d, want %d", h.Seq, tc.want)
			}
			if tc.want > 0 {
				i := slices.Index(tc.seqs, tc.want)
				if h.Hash != f.recs[i].Hash || h.Kind != record.KindHeartbeat || h.Time != f.recs[i].Record.Time {
					t.Fatalf("head %+v is not the record of seq %d", h, tc.want)
				}
			}
			if f.calls > tc.maxCalls {
				t.Errorf("%d reads, want at most %d", f.calls, tc.maxCalls)
			}
		})
	}
}

func TestChainHeadReportsAFailedRead(t *testing.T) {
	_, err := ChainHead(t.Context(), failingEvaluator{}, "node1")
	if err == nil || !errors.Is(err, errNoPeer) {
		t.Fatalf("ChainHead = %v, want the evaluator's error wrapped", err)
	}
}

var errNoPeer = errors.New("no peer")

type failingEvaluator struct{}

func (failingEvaluator) Evaluate(context.Context, string, ...string) ([]byte, error) {
	return nil, errNoPeer
}
