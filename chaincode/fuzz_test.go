package chaincode_test

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/e2l-project/e2l/chaincode"
	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/wire"
)

// fuzzSeeds returns the state the fuzzed batches run against (node1's seq 1
// to 3, and mgr2's report of a swarm event that node1 reports too) and
// batches that reach every outcome a batch decides as node1: new records,
// duplicates, one Docker event at a second seq, and the refusals
// chain-fork, conflict, future-dated, access-denied (another host's
// records) and invalid-batch (garbage). The refusals that depend on the
// signer or the registry, not on the batch, are TestRecordEventsRefuses'.
func fuzzSeeds(t testing.TB) (map[string][]byte, []string) {
	l := newWorld(t)
	node1 := collector("node1", "ProviderMSP")
	g := newChain("node1")
	base := g.batch(t, start(), containerEvent("create", "c1"), heartbeat())
	mustInvoke(t, l, node1, base)
	at := t0.Add(time.Second).UnixNano()
	mgr2 := newChain("mgr2")
	mustInvoke(t, l, collector("mgr2", "DeveloperMSP"), mgr2.batch(t, serviceEvent("create", "svc1", at, "2")))

	next := g.batch(t, containerEvent("start", "c1"), snapshot("c1", "c2"), serviceEvent("create", "svc1", at, "2"),
		serviceEvent("update", "svc1", at+1, "3"), gap(), heartbeat())
	other := newChain("node2").batch(t, start())
	future := newChain("node1")
	future.seq, future.prev, future.time = 3, base[2].Hash, t0.Add(time.Hour).UnixNano()
	fork := newChain("node1")
	fork.seq, fork.prev = 1, base[0].Hash
	conflict := newChain("node1")
	conflict.seq, conflict.prev, conflict.time = 2, base[1].Hash, base[2].Record.Time-int64(time.Second)
	replay := containerEvent("create", "c1")
	replay.Time = base[1].Record.Time
	again := newChain("node1")
	again.seq, again.prev = 3, base[2].Hash
	seeds := []string{
		batchJSON(t, next),
		batchJSON(t, next[:1]),
		batchJSON(t, base),
		batchJSON(t, append(base[1:], next[:2]...)),
		batchJSON(t, fork.batch(t, containerEvent("kill", "c9"))),
		batchJSON(t, future.batch(t, heartbeat())),
		batchJSON(t, other),
		`{"records":[]}`,
		`{"records":[{"id":"x","hash":"y","record":{"v":1,"kind":"event"}}]}`,
		`[]`,
		``,
		batchJSON(t, conflict.batch(t, record.Record{Kind: record.KindHeartbeat, Heartbeat: &record.Heartbeat{IntervalMs: 60000}})),
		batchJSON(t, again.batch(t, replay)),
	}
	return l.state, seeds
}

func FuzzRecordEvents(f *testing.F) {
	state, seeds := fuzzSeeds(f)
	for _, s := range seeds {
		f.Add(s)
	}
	node1 := collector("node1", "ProviderMSP")
	run := func(batch string) (*fakeStub, string, error) {
		l := &fakeLedger{state: maps.Clone(state)}
		stub := l.tx(t0)
		out, err := chaincode.New().RecordEvents(txContext(stub, node1), batch)
		return stub, out, err
	}
	f.Fuzz(func(t *testing.T, batch string) {
		stub, out, err := run(batch)
		again, out2, err2 := run(batch)
		if out != out2 || (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) ||
			!slices.Equal(stub.putLog, again.putLog) ||
			!maps.EqualFunc(stub.writes, again.writes, func(a, b []byte) bool { return string(a) == string(b) }) {
			t.Fatal("RecordEvents is not deterministic")
		}
		if err != nil {
			if len(stub.writes) != 0 || stub.event != nil {
				t.Fatalf("refused (%v) but wrote and set an event", err)
			}
			return
		}
		b, derr := record.DecodeBatch([]byte(batch))
		if derr != nil || record.CheckBatch(b) != nil {
			t.Fatalf("accepted a batch record refuses: %v", derr)
		}
		var res chaincode.Result
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("result %s: %v", out, err)
		}
		sts := statuses(t, res, b.Records)
		if stub.event == nil {
			t.Fatal("no chaincode event")
		}
		if want := layoutReads(t, "node1", b.Records...); !slices.Equal(stub.readLog, want) || len(stub.ranges) != 0 {
			t.Fatalf("reads %q and ranges %q, want %q", stub.readLog, stub.ranges, want)
		}
		var written []record.Sealed
		for i, s := range b.Records {
			st := sts[i]
			if st.ID != s.ID || st.Seq != s.Record.Seq {
				t.Fatalf("record %d reported as %+v", i, st)
			}
			slot := chainKey(t, s.Record.Host, s.Record.Seq)
			v, ok := stub.writes[slot]
			switch st.Status {
			case chaincode.StatusWritten:
				if !ok || string(stub.writes[recKey(t, s)]) != s.Hash {
					t.Fatalf("record %d is written but its chain slot or ID key is not", i)
				}
				written = append(written, s)
			case chaincode.StatusDuplicate:
				if ok {
					t.Fatalf("duplicate record %d was rewritten", i)
				}
				v = state[slot]
			default:
				t.Fatalf("record %d: status %q", i, st.Status)
			}
			var stored chaincode.Stored
			if err := json.Unmarshal(v, &stored); err != nil {
				t.Fatalf("record %d: stored value: %v", i, err)
			}
			sealed, err := stored.Sealed()
			if err != nil {
				t.Fatalf("record %d does not re-verify: %v\n%s", i, err, v)
			}
			if sealed.ID != s.ID || sealed.Hash != s.Hash || stored.MSP != "ProviderMSP" {
				t.Fatalf("record %d stored as %s/%s by %s", i, sealed.ID, sealed.Hash, stored.MSP)
			}
		}
		if want := layoutWrites(t, written...); !slices.Equal(stub.putLog, want) || len(stub.writes) != chaincode.RecordWrites*len(written) {
			t.Fatalf("puts %q, want %q", stub.putLog, want)
		}
	})
}

// TestWriteFuzzSeeds writes the seed corpus under testdata/fuzz; run it with
// E2L_WRITE_FUZZ_SEEDS=1 after changing fuzzSeeds.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("E2L_WRITE_FUZZ_SEEDS") == "" {
		t.Skip("set E2L_WRITE_FUZZ_SEEDS=1 to rewrite testdata/fuzz")
	}
	_, seeds := fuzzSeeds(t)
	dir := filepath.Join("testdata", "fuzz", "FuzzRecordEvents")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range seeds {
		body := "go test fuzz v1\nstring(" + strconv.Quote(s) + ")\n"
		if err := os.WriteFile(filepath.Join(dir, "seed-"+strconv.Itoa(i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFuzzSeedsReachEveryOutcome(t *testing.T) {
	state, seeds := fuzzSeeds(t)
	var got []string
	for _, s := range seeds {
		l := &fakeLedger{state: maps.Clone(state)}
		out, err := chaincode.New().RecordEvents(txContext(l.tx(t0), collector("node1", "ProviderMSP")), s)
		if err != nil {
			r, ok := wire.ParseRefusal(err.Error())
			if !ok {
				t.Fatalf("seed %d: %v", len(got), err)
			}
			got = append(got, string(r.Code))
			continue
		}
		var res chaincode.Result
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatal(err)
		}
		got = append(got, strconv.Itoa(res.Written)+"w/"+strconv.Itoa(res.Duplicates)+"d")
	}
	want := []string{"6w/0d", "1w/0d", "0w/3d", "2w/2d", "chain-fork", "future-dated", "access-denied",
		"invalid-batch", "invalid-batch", "invalid-batch", "invalid-batch", "conflict", "1w/0d"}
	if !slices.Equal(got, want) {
		t.Errorf("outcomes %v, want %v", got, want)
	}
}
