package record_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/e2l-project/e2l/internal/record"
)

// t1 is the time of the fuzz seeds.
const t1 = int64(1764103920123456789)

// seedChain seals one record of each kind as a chain of host.
func seedChain(t testing.TB, host string) []record.Sealed {
	t.Helper()
	rs := []record.Record{
		{Kind: record.KindStart, Lifecycle: &record.Lifecycle{Version: "0.1.0", Reason: "boot"}},
		{Kind: record.KindEvent, Event: &record.Event{Type: "container", Action: "die", Actor: "c1", Scope: record.ScopeLocal,
			Attrs: record.Attributes{Name: "web", Image: "nginx", ExitCode: "137", Labels: map[string]string{"a": "x<y>&\"\\\n\t\u2028é"}}}},
		{Kind: record.KindEvent, Event: &record.Event{Type: "service", Action: "update", Actor: "svc", Scope: record.ScopeSwarm,
			Attrs: record.Attributes{ReplicasOld: "1", ReplicasNew: "3"}}},
		{Kind: record.KindSnapshot, Snapshot: &record.Snapshot{Part: 1, Parts: 1, Containers: []record.SnapshotContainer{{ID: "c1", State: "running", StartedAt: 1}}}},
		{Kind: record.KindGap, Gap: &record.Gap{From: 1, To: 2, Reason: record.GapSpoolFull, Lost: 3, Detail: "line\nbreak"}},
		{Kind: record.KindHeartbeat, Heartbeat: &record.Heartbeat{IntervalMs: 1000, LastEvent: 5, Pending: 2, Dropped: 1}},
		{Kind: record.KindStop, Lifecycle: &record.Lifecycle{Version: "0.1.0"}},
	}
	prev := record.GenesisPrev
	out := make([]record.Sealed, len(rs))
	for i, r := range rs {
		r.V, r.Host, r.Seq, r.Prev, r.Time = record.SchemaVersion, host, uint64(i+1), prev, t1+int64(i)
		if r.Event != nil {
			r.Event.TimeNano = r.Time
		}
		s, err := record.Seal(r)
		if err != nil {
			t.Fatalf("seal seed %d: %v", i, err)
		}
		out[i], prev = s, s.Hash
	}
	return out
}

// checkRoundTrip verifies what the canonical encoding promises for a valid
// record: it is valid JSON that encoding/json decodes into a record with the
// same encoding and hash, DecodeRecord accepts it, and re-decoding is a
// fixed point.
func checkRoundTrip(t *testing.T, r record.Record) {
	t.Helper()
	c := r.Canonical()
	var back record.Record
	if err := json.Unmarshal(c, &back); err != nil {
		t.Fatalf("canonical bytes do not decode: %v\n%s", err, c)
	}
	if got := back.Canonical(); !bytes.Equal(got, c) {
		t.Fatalf("canonical encoding does not round-trip:\n in: %s\nout: %s", c, got)
	}
	if back.ComputeHash() != r.ComputeHash() || back.DeriveID() != r.DeriveID() {
		t.Fatal("hash or ID changed through a round trip")
	}
	if err := back.Validate(); err != nil {
		t.Fatalf("decoded record is invalid: %v", err)
	}
	strict, err := record.DecodeRecord(c)
	if err != nil {
		t.Fatalf("DecodeRecord refuses canonical bytes: %v\n%s", err, c)
	}
	if !reflect.DeepEqual(strict, back) {
		t.Fatalf("DecodeRecord and encoding/json disagree:\n%#v\n%#v", strict, back)
	}
	var again record.Record
	if err := json.Unmarshal(back.Canonical(), &again); err != nil || !reflect.DeepEqual(again, back) {
		t.Fatalf("decoding is not a fixed point: %v", err)
	}
}

func FuzzDecodeBatch(f *testing.F) {
	valid := seedChain(f, "node1")
	for _, rs := range [][]record.Sealed{valid, valid[:1], valid[2:3]} {
		b, err := json.Marshal(record.Batch{Records: rs})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"records":[]}`))
	f.Add([]byte(`{"records":[{"id":"","hash":"","record":{"v":1}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := record.DecodeBatch(data)
		if err != nil {
			return
		}
		batchErr := record.CheckBatch(b)
		if batchErr == nil {
			checkAppendBatch(t, b.Records)
		}
		for i, s := range b.Records {
			if err := s.Check(); err != nil {
				if batchErr == nil {
					t.Fatalf("CheckBatch accepted record %d that Check refuses: %v", i, err)
				}
				continue
			}
			checkRoundTrip(t, s.Record)
			sealed, err := record.Seal(s.Record)
			if err != nil || sealed.ID != s.ID || sealed.Hash != s.Hash {
				t.Fatalf("Seal disagrees with Check: %v", err)
			}
			js, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			back, err := record.DecodeSealed(js)
			if err != nil {
				t.Fatalf("DecodeSealed refuses a checked record: %v", err)
			}
			if err := back.Check(); err != nil {
				t.Fatalf("a checked record fails Check after encoding/json: %v", err)
			}
		}
	})
}

// FuzzCanonical builds records field by field, to reach strings the JSON
// decoder would rarely produce.
func FuzzCanonical(f *testing.F) {
	f.Add("event", "node1", uint64(1), t1, "container", "die", "c1", "local", "web", "k", "v\n\"\\<>", "detail", int64(0))
	f.Add("event", "mgr1", uint64(2), t1, "service", "remove", "svc", "swarm", "é\u2028", "com.x", "\x7f", "", int64(3))
	f.Add("gap", "h", uint64(9), t1, "", "", "", "", "", "", "", "line\r\n\ttab", int64(2))
	f.Add("snapshot", "h", uint64(1), t1, "", "", "c1", "", "n", "", "", "", int64(-1))
	f.Add("heartbeat", "h", uint64(3), int64(1), "", "", "", "", "", "", "", "", int64(7))
	f.Add("stop", "h", uint64(3), int64(1), "", "", "", "", "", "", "", "why", int64(0))
	f.Fuzz(func(t *testing.T, kind, host string, seq uint64, tm int64, typ, action, actor, scope, name, lk, lv, text string, n int64) {
		r := record.Record{V: record.SchemaVersion, Kind: record.Kind(kind), Host: host, Seq: seq, Prev: record.GenesisPrev, Time: tm}
		if seq > 1 {
			r.Prev = strings.Repeat("ab", 32)
		}
		switch r.Kind {
		case record.KindEvent:
			r.Event = &record.Event{Type: typ, Action: action, Actor: actor, Scope: scope, TimeNano: tm,
				Attrs: record.Attributes{Name: name, ExitCode: text, Labels: map[string]string{lk: lv}}}
		case record.KindGap:
			r.Gap = &record.Gap{From: 1, To: tm, Reason: record.GapStreamError, Lost: uint64(n), Detail: text}
		case record.KindHeartbeat:
			r.Heartbeat = &record.Heartbeat{IntervalMs: n, LastEvent: tm, Pending: seq}
		case record.KindStart, record.KindStop:
			r.Lifecycle = &record.Lifecycle{Version: name + "1", Reason: text}
		case record.KindSnapshot:
			r.Snapshot = &record.Snapshot{Part: 1, Parts: 1, Containers: []record.SnapshotContainer{{ID: actor, Name: name, State: "running", ExitCode: int(n), FinishedAt: n}}}
		}
		if r.Validate() != nil {
			return
		}
		checkRoundTrip(t, r)
	})
}

// TestWriteRecordFuzzSeeds writes the FuzzDecodeBatch seed corpus under
// testdata/fuzz; run it with E2L_WRITE_FUZZ_SEEDS=1.
func TestWriteRecordFuzzSeeds(t *testing.T) {
	if os.Getenv("E2L_WRITE_FUZZ_SEEDS") == "" {
		t.Skip("set E2L_WRITE_FUZZ_SEEDS=1 to rewrite testdata/fuzz")
	}
	valid := seedChain(t, "node1")
	var seeds [][]byte
	for _, rs := range [][]record.Sealed{valid, valid[1:2], valid[2:3], valid[3:5]} {
		b, err := json.Marshal(record.Batch{Records: rs})
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	seeds = append(seeds, []byte(`{"records":[{"id":"","hash":"","record":{"v":1,"kind":"gap","gap":{}}}]}`))
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeBatch")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range seeds {
		body := "go test fuzz v1\n[]byte(" + strconv.Quote(string(s)) + ")\n"
		if err := os.WriteFile(filepath.Join(dir, "seed-"+strconv.Itoa(i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzOpenSealed holds OpenSealed to what it replaces, DecodeRecord then
// Sealed.Check: the same record or the same error, for any ID, hash and
// bytes.
func FuzzOpenSealed(f *testing.F) {
	for _, s := range seedChain(f, "node1") {
		c := s.Record.Canonical()
		f.Add(s.ID, s.Hash, c)
		f.Add(s.ID+"0", s.Hash, c)                                                  // wrong ID
		f.Add(s.ID, strings.Repeat("0", 64), c)                                     // wrong hash
		f.Add(s.ID, s.Hash, bytes.Replace(c, []byte(`"v":1`), []byte(`"v": 1`), 1)) // not canonical
		f.Add(s.ID, s.Hash, bytes.Replace(c, []byte(`"v":1`), []byte(`"v":2`), 1))  // invalid field
	}
	f.Add("", "", []byte(`{}`))
	f.Fuzz(func(t *testing.T, id, hash string, data []byte) {
		got, err := record.OpenSealed(id, hash, data)
		var want record.Sealed
		r, werr := record.DecodeRecord(data)
		if werr == nil {
			want = record.Sealed{ID: id, Hash: hash, Record: r}
			if werr = want.Check(); werr != nil {
				want = record.Sealed{}
			}
		}
		switch {
		case (err == nil) != (werr == nil):
			t.Fatalf("OpenSealed: %v; DecodeRecord and Check: %v", err, werr)
		case err != nil && err.Error() != werr.Error():
			t.Fatalf("OpenSealed says %q, DecodeRecord and Check %q", err, werr)
		case !reflect.DeepEqual(got, want):
			t.Fatalf("OpenSealed gives %#v, DecodeRecord and Check %#v", got, want)
		}
	})
}

// checkAppendBatch verifies that AppendBatch encodes recs as a batch that
// DecodeBatch reads back to the same sealed records.
func checkAppendBatch(t *testing.T, recs []record.Sealed) {
	t.Helper()
	back, err := record.DecodeBatch(record.AppendBatch(nil, recs))
	if err != nil {
		t.Fatalf("DecodeBatch refuses AppendBatch's batch: %v", err)
	}
	if len(back.Records) != len(recs) {
		t.Fatalf("AppendBatch's batch holds %d records, want %d", len(back.Records), len(recs))
	}
	for i := range recs {
		g, w := back.Records[i], recs[i]
		if g.ID != w.ID || g.Hash != w.Hash || !bytes.Equal(g.Record.Canonical(), w.Record.Canonical()) {
			t.Fatalf("record %d after AppendBatch and DecodeBatch:\n%+v\nwant\n%+v", i, g, w)
		}
	}
}

func TestAppendBatchIsReadBackAsItsRecords(t *testing.T) {
	recs := seedChain(t, "node1")
	checkAppendBatch(t, recs)
	checkAppendBatch(t, recs[:1])
	if err := record.CheckBatch(mustDecodeBatch(t, record.AppendBatch(nil, recs))); err != nil {
		t.Fatalf("CheckBatch refuses AppendBatch's batch: %v", err)
	}
	// Appending to a buffer keeps what it held.
	if b := record.AppendBatch([]byte("x"), recs[:1]); b[0] != 'x' || !json.Valid(b[1:]) {
		t.Fatalf("AppendBatch to a buffer: %q", b)
	}
}

func TestAppendBatchWithinStopsBeforeTheBound(t *testing.T) {
	recs := seedChain(t, "node1")
	whole := record.AppendBatch(nil, recs)
	two := record.AppendBatch(nil, recs[:2])
	for _, c := range []struct {
		name  string
		max   int
		wantN int
	}{
		{"no bound reached", len(whole), len(recs)},
		{"one byte short of all", len(whole) - 1, len(recs) - 1},
		{"exactly two", len(two), 2},
		{"below one: still one", 1, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, n := record.AppendBatchWithin(nil, recs, c.max)
			if n != c.wantN {
				t.Fatalf("n = %d, want %d", n, c.wantN)
			}
			if n > 1 && len(b) > c.max {
				t.Fatalf("batch of %d bytes, bound %d", len(b), c.max)
			}
			if want := record.AppendBatch(nil, recs[:n]); !bytes.Equal(b, want) {
				t.Fatalf("batch of %d records is not AppendBatch of them:\n%s\n%s", n, b, want)
			}
		})
	}
}

func mustDecodeBatch(t *testing.T, b []byte) record.Batch {
	t.Helper()
	d, err := record.DecodeBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
