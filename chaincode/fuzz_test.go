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
)

// fuzzSeeds returns the state the fuzzed batches run against (node1's seq 1
// to 3 and mgr2's report of a swarm event) and batches that exercise every
// outcome: new records, duplicates, witnesses, conflicts, forks, other
// hosts, future dates, garbage.
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
		if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Records) != len(b.Records) {
			t.Fatalf("result %s: %v", out, err)
		}
		if stub.event == nil {
			t.Fatal("no chaincode event")
		}
		planned := 1
		for i := range b.Records {
			planned += chaincode.RecordWrites(&b.Records[i].Record)
		}
		if len(stub.writes) > planned || planned > chaincode.MaxBatchWrites {
			t.Fatalf("%d keys written, %d counted against the bound of %d", len(stub.writes), planned, chaincode.MaxBatchWrites)
		}
		if k := mustKey(t, "hostreg", "node1"); !stub.reads[k] || stub.writes[k] != nil {
			t.Fatal("the registry entry was not read, or was written")
		}
		for i, s := range b.Records {
			st := res.Records[i]
			if st.ID != s.ID || st.Seq != s.Record.Seq {
				t.Fatalf("record %d reported as %+v", i, st)
			}
			k := mustKey(t, "rec", s.ID)
			v, ok := stub.writes[k]
			switch st.Status {
			case chaincode.StatusWritten, chaincode.StatusWitness:
				if !ok {
					t.Fatalf("record %d is %s but not written", i, st.Status)
				}
				if got := string(stub.writes[mustKey(t, "chain", s.Record.Host, padSeq(s.Record.Seq))]); got != s.ID {
					t.Fatalf("record %d: chain key holds %q", i, got)
				}
			case chaincode.StatusDuplicate:
				if ok {
					t.Fatalf("duplicate record %d was rewritten", i)
				}
				v = state[k]
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
			if sealed.ID != s.ID || sealed.Hash != s.Hash {
				t.Fatalf("record %d stored as %s/%s", i, sealed.ID, sealed.Hash)
			}
		}
	})
}

func padSeq(seq uint64) string {
	s := strconv.FormatUint(seq, 10)
	for len(s) < 20 {
		s = "0" + s
	}
	return s
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
			got = append(got, "refused")
			continue
		}
		var res chaincode.Result
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatal(err)
		}
		got = append(got, strconv.Itoa(res.Written)+"w/"+strconv.Itoa(res.Duplicates)+"d/"+strconv.Itoa(res.Witnesses)+"v")
	}
	want := []string{"5w/0d/1v", "1w/0d/0v", "0w/3d/0v", "2w/2d/0v", "refused", "refused", "refused", "refused", "refused", "refused", "refused"}
	if !slices.Equal(got, want) {
		t.Errorf("outcomes %v, want %v", got, want)
	}
}
