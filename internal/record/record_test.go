package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

const t0 = int64(1764103920123456789)

func containerEvent(host string, seq uint64, prev string) Record {
	return Record{
		V: SchemaVersion, Kind: KindEvent, Host: host, Seq: seq, Prev: prev, Time: t0 + int64(seq),
		Event: &Event{
			Type: "container", Action: "die", Actor: strings.Repeat("ab", 32), Scope: ScopeLocal, TimeNano: t0 + int64(seq),
			Attrs: Attributes{Name: "web-1", Image: "busybox:e2l", ExitCode: "137", Labels: map[string]string{"z": "last", "a": "first \"q\"\n"}},
		},
	}
}

func serviceEvent(host, action string, tn int64) Record {
	return Record{
		V: SchemaVersion, Kind: KindEvent, Host: host, Seq: 1, Prev: GenesisPrev, Time: tn,
		Event: &Event{Type: "service", Action: action, Actor: "svc1", Scope: ScopeSwarm, TimeNano: tn,
			Attrs: Attributes{Name: "appdemo", ReplicasOld: "1", ReplicasNew: "3"}},
	}
}

func TestCanonicalEncodingIsFixed(t *testing.T) {
	r := containerEvent("node1", 1, GenesisPrev)
	want := `{"event":{"action":"die","actor":"` + strings.Repeat("ab", 32) +
		`","attrs":{"exitCode":"137","image":"busybox:e2l","labels":{"a":"first \"q\"\u000a","z":"last"},"name":"web-1"},"scope":"local","timeNano":1764103920123456790,"type":"container"},` +
		`"host":"node1","kind":"event","prev":"` + GenesisPrev + `","seq":1,"time":1764103920123456790,"v":1}`
	if got := string(r.Canonical()); got != want {
		t.Fatalf("canonical encoding changed:\n got %s\nwant %s", got, want)
	}
	// The hash is pinned: a change here breaks every ledger written so far.
	// (Computed independently: the SHA-256 of the string above.)
	if got, want := r.ComputeHash(), "6afa23a27cbe2b53cd9f1545f9bd56bae2f6f78d04e4b00692f198cd7d1b01ea"; got != want {
		t.Fatalf("hash is %s, pinned %s", got, want)
	}
}

func TestCanonicalDecodesBackToTheSameRecord(t *testing.T) {
	recs := []Record{
		containerEvent("node1", 1, GenesisPrev),
		serviceEvent("mgr1", "update", t0),
		{V: 1, Kind: KindGap, Host: "h", Seq: 2, Prev: strings.Repeat("1", 64), Time: t0, Gap: &Gap{From: 1, To: 2, Reason: GapSpoolFull, Lost: 7, Detail: "é ✓ \x01"}},
		{V: 1, Kind: KindHeartbeat, Host: "h", Seq: 3, Prev: strings.Repeat("1", 64), Time: t0, Heartbeat: &Heartbeat{IntervalMs: 30000, Pending: 3}},
		{V: 1, Kind: KindStart, Host: "h", Seq: 4, Prev: strings.Repeat("1", 64), Time: t0, Lifecycle: &Lifecycle{Version: "dev"}},
		{V: 1, Kind: KindSnapshot, Host: "h", Seq: 5, Prev: strings.Repeat("1", 64), Time: t0, Snapshot: &Snapshot{Part: 1, Parts: 1, Containers: []SnapshotContainer{{ID: "c1", State: "running", StartedAt: 5}}}},
	}
	for _, r := range recs {
		t.Run(string(r.Kind)+" survives a JSON round trip", func(t *testing.T) {
			var back Record
			if err := json.Unmarshal(r.Canonical(), &back); err != nil {
				t.Fatalf("canonical bytes are not JSON: %v", err)
			}
			if back.ComputeHash() != r.ComputeHash() {
				t.Fatalf("hash changed after round trip:\n%s\n%s", r.Canonical(), back.Canonical())
			}
			if _, err := DecodeRecord(r.Canonical()); err != nil {
				t.Fatalf("DecodeRecord: %v", err)
			}
		})
	}
}

func TestDecodeRecordRefusesNonCanonicalBytes(t *testing.T) {
	r := containerEvent("node1", 1, GenesisPrev)
	b, _ := json.Marshal(r) // encoding/json orders keys by struct, not canonically
	if _, err := DecodeRecord(b); !errors.Is(err, ErrInvalid) {
		t.Fatalf("want ErrInvalid for non-canonical bytes, got %v", err)
	}
}

func TestIDs(t *testing.T) {
	a := containerEvent("node1", 1, GenesisPrev)
	b := containerEvent("node1", 9, strings.Repeat("2", 64))
	b.Time, b.Event.TimeNano = a.Time, a.Event.TimeNano
	t.Run("a local event's ID does not depend on its place in the chain", func(t *testing.T) {
		if a.DeriveID() != b.DeriveID() {
			t.Fatal("IDs differ")
		}
	})
	t.Run("a local event's ID depends on the host", func(t *testing.T) {
		c := a
		c.Host = "node2"
		if a.DeriveID() == c.DeriveID() {
			t.Fatal("IDs equal")
		}
	})
	t.Run("managers reporting one swarm event share the event ID but not the record ID", func(t *testing.T) {
		m1, m2 := serviceEvent("mgr1", "update", t0), serviceEvent("mgr2", "update", t0)
		if m1.EventID() != m2.EventID() {
			t.Fatal("event IDs differ")
		}
		if m1.DeriveID() == m2.DeriveID() {
			t.Fatal("record IDs equal")
		}
	})
	t.Run("a swarm remove converges even though each manager stamps its own time", func(t *testing.T) {
		if serviceEvent("mgr1", "remove", t0).EventID() != serviceEvent("mgr2", "remove", t0+99).EventID() {
			t.Fatal("event IDs differ")
		}
	})
	t.Run("non-event records are identified by host, kind and sequence", func(t *testing.T) {
		h := Record{V: 1, Kind: KindHeartbeat, Host: "h", Seq: 3}
		g := Record{V: 1, Kind: KindGap, Host: "h", Seq: 3}
		if h.DeriveID() == g.DeriveID() || h.EventID() != "" {
			t.Fatal("unexpected IDs")
		}
	})
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Record)
		field  string
	}{
		{"an unknown schema version is refused", func(r *Record) { r.V = 2 }, "v"},
		{"an unknown kind is refused", func(r *Record) { r.Kind = "bogus" }, "kind"},
		{"an empty host is refused", func(r *Record) { r.Host = "" }, "host"},
		{"a host with a space is refused", func(r *Record) { r.Host = "a b" }, "host"},
		{"a host that is too long is refused", func(r *Record) { r.Host = strings.Repeat("h", MaxHostLen+1) }, "host"},
		{"sequence zero is refused", func(r *Record) { r.Seq = 0 }, "seq"},
		{"a short prev is refused", func(r *Record) { r.Prev = "abc" }, "prev"},
		{"seq 1 must start from genesis", func(r *Record) { r.Prev = strings.Repeat("1", 64) }, "prev"},
		{"a zero time is refused", func(r *Record) { r.Time = 0 }, "time"},
		{"a missing payload is refused", func(r *Record) { r.Event = nil }, "event"},
		{"two payloads are refused", func(r *Record) { r.Gap = &Gap{} }, "kind"},
		{"an unknown event type is refused", func(r *Record) { r.Event.Type = "bogus" }, "event.type"},
		{"an empty action is refused", func(r *Record) { r.Event.Action = "" }, "event.action"},
		{"an unknown scope is refused", func(r *Record) { r.Event.Scope = "global" }, "event.scope"},
		{"an event time differing from the record time is refused", func(r *Record) { r.Event.TimeNano++ }, "event.timeNano"},
		{"invalid UTF-8 is refused", func(r *Record) { r.Event.Attrs.Name = "\xff\xfe" }, "event.attrs.name"},
		{"a control character is refused", func(r *Record) { r.Event.Attrs.Image = "a\x00b" }, "event.attrs.image"},
		{"an oversized image is refused", func(r *Record) { r.Event.Attrs.Image = strings.Repeat("i", MaxImageLen+1) }, "event.attrs.image"},
		{"a non-numeric exit code is refused", func(r *Record) { r.Event.Attrs.ExitCode = "x" }, "event.attrs.exitCode"},
		{"too many labels are refused", func(r *Record) {
			r.Event.Attrs.Labels = map[string]string{}
			for i := 0; i <= MaxLabels; i++ {
				r.Event.Attrs.Labels[strings.Repeat("k", i+1)] = "v"
			}
		}, "event.attrs.labels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := containerEvent("node1", 1, GenesisPrev)
			tt.mutate(&r)
			err := r.Validate()
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("want a ValidationError, got %v", err)
			}
			if ve.Field != tt.field {
				t.Fatalf("want field %q, got %q (%v)", tt.field, ve.Field, err)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatal("error does not match ErrInvalid")
			}
		})
	}
	t.Run("a well-formed record of every kind is valid", func(t *testing.T) {
		r := containerEvent("node1", 1, GenesisPrev)
		if err := r.Validate(); err != nil {
			t.Fatal(err)
		}
	})
}

func chain(t *testing.T, host string, n int) Batch {
	t.Helper()
	var b Batch
	prev := GenesisPrev
	for i := 1; i <= n; i++ {
		s, err := Seal(containerEvent(host, uint64(i), prev))
		if err != nil {
			t.Fatal(err)
		}
		b.Records = append(b.Records, s)
		prev = s.Hash
	}
	return b
}

func TestCheckBatch(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Batch)
		want   string
	}{
		{"a contiguous chain passes", func(*Batch) {}, ""},
		{"an empty batch is refused", func(b *Batch) { b.Records = nil }, "batch is empty"},
		{"an altered field is caught by the hash", func(b *Batch) { b.Records[1].Record.Event.Attrs.ExitCode = "0" }, "record 1 ("},
		{"a forged ID is refused", func(b *Batch) { b.Records[0].ID = strings.Repeat("0", 64) }, "id: does not match"},
		{"a skipped sequence number is refused", func(b *Batch) { b.Records = append(b.Records[:1], b.Records[2:]...) }, "chain not contiguous"},
		{"reordered records are refused", func(b *Batch) { b.Records[0], b.Records[1] = b.Records[1], b.Records[0] }, "record 1"},
		{"a record twice is refused", func(b *Batch) { b.Records[2] = b.Records[1] }, "appears twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := chain(t, "node1", 3)
			tt.mutate(&b)
			err := CheckBatch(b)
			canon, cerr := CheckBatchCanonical(b)
			if fmt.Sprint(err) != fmt.Sprint(cerr) {
				t.Fatalf("CheckBatch: %v, CheckBatchCanonical: %v", err, cerr)
			}
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				for i, s := range b.Records {
					if !bytes.Equal(canon[i], s.Record.Canonical()) {
						t.Errorf("record %d: CheckBatchCanonical's bytes are not its canonical encoding", i)
					}
				}
				return
			}
			if canon != nil {
				t.Error("an invalid batch has canonical encodings")
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want error containing %q, got %v", tt.want, err)
			}
		})
	}
	t.Run("a batch mixing hosts is refused", func(t *testing.T) {
		a, c := chain(t, "a", 1), chain(t, "c", 2)
		b := Batch{Records: []Sealed{a.Records[0], c.Records[1]}}
		if err := CheckBatch(b); err == nil || !strings.Contains(err.Error(), "mixes hosts") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestDecodeKeepsWhatWasSent(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // the decoded ID, "" when refused
	}{
		{"a surrogate pair decodes to its character", `{"id":"\ud83d\ude00"}`, "😀"},
		{"an escaped backslash before u is not an escape", `{"id":"\\ud800"}`, `\ud800`},
		{"U+FFFD sent as such is kept", `{"id":"\ufffd�"}`, "\ufffd\ufffd"},
		{"a lone surrogate is refused, not replaced", `{"id":"a\udfffb"}`, ""},
		{"invalid UTF-8 is refused, not replaced", "{\"id\":\"a\xc3b\"}", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := DecodeSealed([]byte(tt.in))
			if tt.want == "" {
				if err == nil || !strings.Contains(err.Error(), "not valid UTF-8") {
					t.Fatalf("want a UTF-8 refusal, got %v (decoded %q)", err, s.ID)
				}
				return
			}
			if err != nil || s.ID != tt.want {
				t.Fatalf("got %q, %v; want %q", s.ID, err, tt.want)
			}
		})
	}
}

func TestDecodeBatchIsStrict(t *testing.T) {
	good, _ := json.Marshal(chain(t, "n", 2))
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"a marshalled batch decodes", string(good), true},
		{"an unknown field is refused", `{"records":[],"extra":1}`, false},
		{"trailing data is refused", string(good) + "{}", false},
		{"a wrong type is refused", `{"records":"x"}`, false},
		{"not JSON is refused", `records`, false},
		{"raw invalid UTF-8 is refused", "{\"records\":[],\"x\":\"\xff\xfe\"}", false},
		{"a lone high surrogate escape is refused", `{"records":[{"id":"\ud800"}]}`, false},
		{"a lone low surrogate escape is refused", `{"records":[{"id":"\udc00"}]}`, false},
		{"a high surrogate followed by a non-surrogate is refused", `{"records":[{"id":"\ud800\u0041"}]}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := DecodeBatch([]byte(tt.in))
			if tt.ok != (err == nil) {
				t.Fatalf("ok=%v, err=%v", tt.ok, err)
			}
			if tt.ok {
				if err := CheckBatch(b); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSeal(b *testing.B) {
	r := containerEvent("node1", 2, GenesisPrev)
	r.Prev = strings.Repeat("1", 64)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Seal(r); err != nil {
			b.Fatal(err)
		}
	}
}
