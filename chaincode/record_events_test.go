package chaincode_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/e2l-project/e2l/chaincode"
	"github.com/e2l-project/e2l/internal/record"
)

// StateLayout 3: a new record is one read (its chain slot, in the batch's range) and two writes
// (the slot, holding the stored record, and its ID key, holding its hash);
// the batch reads the host's registry entry once.
func TestRecordEventsStoresEachRecordInItsChainSlot(t *testing.T) {
	l := newWorld(t)
	node1 := collector("node1", "ProviderMSP")
	g := newChain("node1")
	rs := g.batch(t, start(), containerEvent("create", "c1"), serviceEvent("create", "svc1", 0, "2"),
		snapshot("c1", "c2"), gap(), heartbeat(), stop())

	stub := l.tx(t0)
	out, err := chaincode.New().RecordEvents(txContext(stub, node1), batchJSON(t, rs))
	if err != nil {
		t.Fatal(err)
	}
	stub.commit()

	t.Run("the result reports every record written, in batch order", func(t *testing.T) {
		want := fmt.Sprintf(`{"txId":%q,"host":"node1","written":%d,"duplicates":0,"records":[]}`, stub.txID, len(rs))
		if out != want {
			t.Errorf("result\n got: %s\nwant: %s", out, want)
		}
	})
	t.Run("each record writes its chain slot and its ID key, nothing else, in batch order", func(t *testing.T) {
		if want := layoutWrites(t, rs...); !slices.Equal(stub.putLog, want) {
			t.Errorf("puts %q\nwant %q", stub.putLog, want)
		}
		if len(stub.writes) != chaincode.RecordWrites*len(rs) {
			t.Errorf("%d keys written for %d records, want %d each", len(stub.writes), len(rs), chaincode.RecordWrites)
		}
	})
	t.Run("the batch reads the registry entry once and each record its chain slot, nothing else", func(t *testing.T) {
		if want := layoutReads(t, "node1", rs...); !slices.Equal(stub.readLog, want) {
			t.Errorf("reads %q\nwant %q", stub.readLog, want)
		}
		if len(stub.ranges) != 0 {
			t.Errorf("range queries %q", stub.ranges)
		}
	})
	t.Run("the chain slot holds the stored record, which re-verifies and names the signer", func(t *testing.T) {
		sum := sha256.Sum256(node1.cert.Raw)
		for _, s := range rs {
			want := fmt.Sprintf(`{"id":%q,"hash":%q,"record":%s,"msp":"ProviderMSP","certSha256":%q,"txId":%q,"txTime":%d}`,
				s.ID, s.Hash, s.Record.Canonical(), hex.EncodeToString(sum[:]), stub.txID, t0.UnixNano())
			if got := string(l.state[chainKey(t, "node1", s.Record.Seq)]); got != want {
				t.Errorf("seq %d: chain slot\n got: %s\nwant: %s", s.Record.Seq, got, want)
			}
			got, err := storedAt(t, l, s).Sealed()
			if err != nil || got.ID != s.ID || got.Hash != s.Hash {
				t.Errorf("seq %d does not re-verify as %s: %v", s.Record.Seq, s.ID, err)
			}
		}
	})
	t.Run("the ID key holds the record's hash", func(t *testing.T) {
		for _, s := range rs {
			if got := string(l.state[recKey(t, s)]); got != s.Hash {
				t.Errorf("seq %d: rec key holds %q, want %s", s.Record.Seq, got, s.Hash)
			}
		}
	})
	t.Run("the ledger holds chain slots, ID keys and registry entries, nothing else", func(t *testing.T) {
		for _, k := range l.keys("", "\U0010FFFF") {
			if strings.HasPrefix(k, "chain ") {
				continue
			}
			objectType, _, err := stub.SplitCompositeKey(k)
			if err != nil || !slices.Contains([]string{"rec", "hostreg"}, objectType) {
				t.Errorf("key %q (%s)", k, objectType)
			}
		}
	})
	t.Run("a chaincode event summarises the batch", func(t *testing.T) {
		if stub.event == nil || stub.event.EventName != chaincode.EventRecorded {
			t.Fatalf("event = %v", stub.event)
		}
		want := fmt.Sprintf(`{"txId":%q,"host":"node1","fromSeq":1,"toSeq":%d,"written":%d,"duplicates":0}`, stub.txID, len(rs), len(rs))
		if got := string(stub.event.Payload); got != want {
			t.Errorf("summary\n got: %s\nwant: %s", got, want)
		}
	})
}

func TestEveryKindWritesItsChainSlotAndIDKeyOnly(t *testing.T) {
	type kindCase struct {
		name string
		r    record.Record
	}
	cases := []kindCase{
		{"a start", start()},
		{"a local container event", containerEvent("create", "c1")},
		{"a swarm service event", serviceEvent("update", "svc1", 0, "3")},
		{"a snapshot of two containers", snapshot("c1", "c2")},
		{"a snapshot part of record.MaxSnapshotItems containers", fullSnapshot(record.MaxSnapshotItems, 0)},
		{"a gap", gap()},
		{"a heartbeat", heartbeat()},
		{"a stop", stop()},
	}
	for _, kind := range record.Kinds {
		if !slices.ContainsFunc(cases, func(c kindCase) bool { return c.r.Kind == kind }) {
			t.Errorf("kind %s is not covered", kind)
		}
	}
	for _, c := range cases {
		t.Run(c.name+" writes its chain slot and its ID key, nothing else", func(t *testing.T) {
			l := newWorld(t)
			g := newChain("node1")
			rs := g.batch(t, start())
			mustInvoke(t, l, collector("node1", "ProviderMSP"), rs)
			s := g.next(t, c.r)
			res, stub, err := invoke(t, l, collector("node1", "ProviderMSP"), t0, batchJSON(t, []record.Sealed{s}))
			if err != nil {
				t.Fatal(err)
			}
			if res.Written != 1 || statuses(t, res, []record.Sealed{s})[0].Status != chaincode.StatusWritten {
				t.Fatalf("result %+v", res)
			}
			want := map[string]string{chainKey(t, "node1", 2): string(l.state[chainKey(t, "node1", 2)]), recKey(t, s): s.Hash}
			got := map[string]string{}
			for k, v := range stub.writes {
				got[k] = string(v)
			}
			if !maps.Equal(got, want) {
				t.Errorf("writes %q\nwant %q", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
			}
			if st := storedAt(t, l, s); st.ID != s.ID || st.Hash != s.Hash || string(st.Record) != string(s.Record.Canonical()) {
				t.Errorf("chain slot holds %s/%s", st.ID, st.Hash)
			}
			if want := layoutReads(t, "node1", s); !slices.Equal(stub.readLog, want) {
				t.Errorf("reads %q\nwant %q", stub.readLog, want)
			}
		})
	}
}

func TestRecordEventsIsIdempotent(t *testing.T) {
	node1 := collector("node1", "ProviderMSP")
	g := newChain("node1")
	rs := g.batch(t, start(), containerEvent("create", "c1"), containerEvent("start", "c1"), heartbeat())

	t.Run("the same batch twice is a no-op reported as duplicates", func(t *testing.T) {
		l := newWorld(t)
		mustInvoke(t, l, node1, rs)
		before := l.snapshot()
		res, stub, err := invoke(t, l, node1, t0, batchJSON(t, rs))
		if err != nil {
			t.Fatal(err)
		}
		if res.Duplicates != len(rs) || res.Written != 0 {
			t.Fatalf("result %+v", res)
		}
		for i, st := range statuses(t, res, rs) {
			want := chaincode.RecordStatus{ID: rs[i].ID, Seq: rs[i].Record.Seq, Status: chaincode.StatusDuplicate}
			if st != want {
				t.Errorf("record %d: %+v, want %+v", i, st, want)
			}
		}
		if len(stub.writes) != 0 {
			t.Errorf("re-sent batch wrote %d keys", len(stub.writes))
		}
		if want := layoutReads(t, "node1", rs...); !slices.Equal(stub.readLog, want) {
			t.Errorf("reads %q\nwant %q", stub.readLog, want)
		}
		if !maps.Equal(before, l.snapshot()) {
			t.Error("the ledger changed")
		}
		want := fmt.Sprintf(`{"txId":%q,"host":"node1","fromSeq":1,"toSeq":4,"written":0,"duplicates":4}`, stub.txID)
		if got := string(stub.event.Payload); got != want {
			t.Errorf("summary\n got: %s\nwant: %s", got, want)
		}
	})

	t.Run("a batch overlapping stored records writes only the new ones", func(t *testing.T) {
		l := newWorld(t)
		mustInvoke(t, l, node1, rs[:2])
		res, stub, err := invoke(t, l, node1, t0, batchJSON(t, rs[1:]))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, st := range statuses(t, res, rs[1:]) {
			got = append(got, st.Status)
		}
		if want := []string{"duplicate", "written", "written"}; !slices.Equal(got, want) {
			t.Errorf("statuses %v, want %v", got, want)
		}
		if want := layoutWrites(t, rs[2:]...); !slices.Equal(stub.putLog, want) {
			t.Errorf("puts %q\nwant %q", stub.putLog, want)
		}
	})
}

// A local event's record ID is its event ID, whatever its place in the
// chain: a collector that records one Docker event twice (a replay after a
// restart) writes it at two seqs. The chain slots differ, so neither is a
// duplicate of the other nor a conflict: the audit index reports the
// repeat.
func TestOneDockerEventAtTwoSeqsOfOneChainIsAccepted(t *testing.T) {
	l := newWorld(t)
	node1 := collector("node1", "ProviderMSP")
	g := newChain("node1")
	first := g.batch(t, start(), containerEvent("create", "c1"))
	mustInvoke(t, l, node1, first)
	replay := containerEvent("create", "c1")
	replay.Time = first[1].Record.Time
	later := g.batch(t, heartbeat(), replay)
	if later[1].ID != first[1].ID || later[1].Hash == first[1].Hash || later[1].Record.Seq != 4 {
		t.Fatalf("test records: the replay must have seq 2's ID and another hash")
	}

	res, stub, err := invoke(t, l, node1, t0.Add(time.Minute), batchJSON(t, later))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the second report is written", func(t *testing.T) {
		want := chaincode.RecordStatus{ID: first[1].ID, Seq: 4, Status: chaincode.StatusWritten}
		if res.Written != 2 || statuses(t, res, later)[1] != want {
			t.Errorf("result %+v, want record 1 %+v", res, want)
		}
		if want := layoutWrites(t, later...); !slices.Equal(stub.putLog, want) {
			t.Errorf("puts %q\nwant %q", stub.putLog, want)
		}
	})
	t.Run("the ID has a key per seq, each with its record's hash", func(t *testing.T) {
		prefix := mustKey(t, "rec", first[1].ID)
		want := []string{recKey(t, first[1]), recKey(t, later[1])}
		if got := l.keys(prefix, prefix+"\U0010FFFF"); !slices.Equal(got, want) {
			t.Errorf("rec keys %q\nwant %q", got, want)
		}
		for _, s := range []record.Sealed{first[1], later[1]} {
			if got := string(l.state[recKey(t, s)]); got != s.Hash {
				t.Errorf("seq %d: %q, want %s", s.Record.Seq, got, s.Hash)
			}
			if st := storedAt(t, l, s); st.ID != s.ID || st.Hash != s.Hash {
				t.Errorf("seq %d: chain slot holds %s/%s", s.Record.Seq, st.ID, st.Hash)
			}
		}
	})
	t.Run("each report re-sent is a duplicate", func(t *testing.T) {
		for _, s := range []record.Sealed{first[1], later[1]} {
			res := mustInvoke(t, l, node1, []record.Sealed{s})
			want := chaincode.RecordStatus{ID: s.ID, Seq: s.Record.Seq, Status: chaincode.StatusDuplicate}
			if got := statuses(t, res, []record.Sealed{s})[0]; got != want {
				t.Errorf("%+v, want %+v", got, want)
			}
		}
	})
}

// statuses expands a Result into one status per record of the batch: a
// record it lists (the duplicates, in batch order) has the listed status,
// any other was written. The counts must add up.
func statuses(t testing.TB, res chaincode.Result, batch []record.Sealed) []chaincode.RecordStatus {
	t.Helper()
	out := make([]chaincode.RecordStatus, 0, len(batch))
	listed := res.Records
	for _, s := range batch {
		st := chaincode.RecordStatus{ID: s.ID, Seq: s.Record.Seq, Status: chaincode.StatusWritten}
		if len(listed) > 0 && listed[0].ID == s.ID && listed[0].Seq == s.Record.Seq {
			st, listed = listed[0], listed[1:]
			if st.Status == chaincode.StatusWritten {
				t.Errorf("result %+v lists a written record", res)
			}
		}
		out = append(out, st)
	}
	if len(listed) > 0 || res.Written+res.Duplicates != len(batch) || res.Duplicates != len(res.Records) {
		t.Errorf("result %+v does not account for the batch's %d records", res, len(batch))
	}
	return out
}

// decodeResult decodes RecordEvents' answer.
func decodeResult(t testing.TB, out string) chaincode.Result {
	t.Helper()
	var res chaincode.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("result %s: %v", out, err)
	}
	return res
}
