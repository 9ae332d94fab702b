package record_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/e2l-project/e2l/internal/record"
)

// The cases of testdata/vectors: valid records (this file), refused ledger
// records (vectors_refusals_test.go) and RecordEvents batches. -update
// writes them with this package; TestVectors checks them with both
// implementations.

// fakePrev is the hash of a host's record before the one shown, where the
// vector does not show it.
var fakePrev = digestOf("e2l test vectors: an earlier record")

func generateVectors(t *testing.T) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	add := func(file string, v vector) {
		t.Helper()
		if _, dup := files[file]; dup {
			t.Fatalf("two vectors named %s", file)
		}
		files[file] = encodeVector(t, v)
	}
	for _, c := range recordCases() {
		v := vector{Name: c.name, About: c.about, Type: "record", Chain: c.chain}
		for _, r := range c.recs {
			v.Records = append(v.Records, recordVectorOf(t, r))
		}
		add("record-"+c.file+".json", v)
	}
	for _, c := range ledgerCases(t) {
		add("ledger-"+c.file+".json", vector{Name: c.name, About: why(c.refusal, c.field, c.about), Type: "ledger", Stored: c.stored, Refusal: c.refusal, Field: c.field})
	}
	for _, c := range batchCases(t) {
		add("batch-"+c.file+".json", vector{Name: c.name, About: why(c.refusal, c.field, c.about), Type: "batch",
			Batch: readable(c.batch), BatchHex: hex.EncodeToString(c.batch), Refusal: c.refusal, Field: c.field})
	}
	return files
}

// why is the about text of a refused vector: the rule it breaks, then the
// case's own note.
func why(refusal, field, about string) string {
	reasons := map[string]string{
		"":             "Accepted (section 7).",
		"utf8":         "Refused by section 6: decoders would silently replace what is not UTF-8, or a lone surrogate, by U+FFFD.",
		"decode":       "Refused by section 6: not one JSON value of the schema's shape.",
		"noncanonical": "Refused by section 8 step 3: not the canonical encoding of the record it spells; the stored hash is the SHA-256 of these very bytes, so a verifier that only hashes what it reads would accept it.",
		"schema":       "Refused by section 2 (field " + field + "); the ID and hash are derived correctly, so only the schema refuses it.",
		"id":           "Refused by section 4.3: the ID is not the one derived from the record.",
		"hash":         "Refused by section 4.1: the hash is not the SHA-256 of the canonical encoding.",
		"chain":        "Refused by section 5: each record is valid alone, but they do not form a chain.",
		"size":         "Refused by a count or byte bound (sections 2.10 and 7).",
	}
	r, ok := reasons[refusal]
	if !ok {
		panic("no reason for refusal " + refusal)
	}
	if about != "" {
		r += " " + about
	}
	return r
}

type recordCase struct {
	file, name, about string
	chain             bool
	recs              []record.Record
}

func recordCases() []recordCase {
	return []recordCase{
		{file: "event-local-container-die", name: "a local container event",
			about: "The record TestCanonicalEncodingIsFixed pins. Members sorted at every level; '\"' escaped as \\\" and the line feed as \\u000a; optional attributes that are empty left out; a local event's ID is its event ID.",
			recs:  []record.Record{dieEvent()}},
		{file: "event-local-all-attributes", name: "a local event with every attribute",
			about: "All fourteen attribute members, in their sorted order (imageDigest after image, replicasNew before replicasOld, serviceId before serviceName).",
			recs: []record.Record{{V: 1, Kind: record.KindEvent, Host: "worker-2.example.com", Seq: 42, Prev: fakePrev, Time: t1 + 42,
				Event: &record.Event{Type: "container", Action: "kill", Actor: strings.Repeat("0f", 32), Scope: record.ScopeLocal, TimeNano: t1 + 42,
					Attrs: record.Attributes{Name: "demo_web.1.x7k", Image: "registry.example.com/team/app:1.2", ImageDigest: "sha256:" + strings.Repeat("9a", 32),
						ExitCode: "0", Signal: "15", NodeID: "n0de1d", ServiceID: "s3rv1ce1d", ServiceName: "demo_web", TaskID: "t4sk1d", TaskName: "demo_web.1",
						ReplicasOld: "1", ReplicasNew: "3", OldName: "web-old", Labels: map[string]string{"com.docker.stack.namespace": "demo"}}}}}},
		{file: "event-local-no-attributes", name: "a local event without attributes and an action with spaces",
			about: "attrs is required: written as {} when every attribute is empty. An action may hold spaces and punctuation.",
			recs: []record.Record{{V: 1, Kind: record.KindEvent, Host: "node1", Seq: 7, Prev: fakePrev, Time: t1 + 7,
				Event: &record.Event{Type: "container", Action: "exec_start: sh -c 'echo hi'", Actor: strings.Repeat("ab", 32), Scope: record.ScopeLocal, TimeNano: t1 + 7}}}},
		{file: "event-swarm-update-two-managers", name: "two managers report one swarm service update",
			about: "A swarm event's event ID leaves the host out: both records have the same eventId. Each record's ID is its manager's entry for that event, so the IDs differ. The seq of each is its manager's own.",
			recs:  []record.Record{swarmEvent("mgr1", 10, "update", t1), swarmEvent("mgr2", 4, "update", t1)}},
		{file: "event-swarm-remove-two-managers", name: "two managers report one swarm service remove at different times",
			about: "Docker stamps a swarm remove with each manager's clock: the event ID of a swarm remove has '-' in place of the time, so both records share an eventId although their times differ.",
			recs:  []record.Record{swarmEvent("mgr1", 11, "remove", t1+5_000_000_000), swarmEvent("mgr2", 5, "remove", t1+5_001_234_567)}},
		{file: "gap", name: "a gap record",
			about: "Required members are written even when zero (lost 0). The detail is free text: tab and line feed allowed, escaped as \\u0009 and \\u000a. A non-event record's ID is derived from its kind, host and seq.",
			recs: []record.Record{{V: 1, Kind: record.KindGap, Host: "node1", Seq: 3, Prev: fakePrev, Time: t1,
				Gap: &record.Gap{From: t1 - 60_000_000_000, To: t1, Reason: record.GapDockerRestart, Detail: "daemon restarted\n\tevent buffer lost"}}}},
		{file: "heartbeat", name: "a heartbeat with dropped events",
			recs: []record.Record{{V: 1, Kind: record.KindHeartbeat, Host: "node1", Seq: 9, Prev: fakePrev, Time: t1,
				Heartbeat: &record.Heartbeat{IntervalMs: 30000, LastEvent: t1 - 5, Pending: 12, Dropped: 3}}}},
		{file: "heartbeat-zeros", name: "a heartbeat with zero counters",
			about: "lastEvent and pending are required (written as 0); dropped is optional (left out when 0).",
			recs: []record.Record{{V: 1, Kind: record.KindHeartbeat, Host: "node1", Seq: 2, Prev: fakePrev, Time: t1,
				Heartbeat: &record.Heartbeat{IntervalMs: 1000}}}},
		{file: "start", name: "a collector start, the first record of its host",
			about: "seq 1 has the genesis prev (64 zeros). Lifecycle text may be non-ASCII.",
			recs: []record.Record{{V: 1, Kind: record.KindStart, Host: "node1", Seq: 1, Prev: record.GenesisPrev, Time: t1,
				Lifecycle: &record.Lifecycle{Version: "0.4.1", Reason: "démarrage après mise à jour"}}}},
		{file: "stop", name: "a collector stop without a reason",
			recs: []record.Record{{V: 1, Kind: record.KindStop, Host: "node1", Seq: 8, Prev: fakePrev, Time: t1,
				Lifecycle: &record.Lifecycle{Version: "0.4.1"}}}},
		{file: "snapshot", name: "a snapshot part with three containers",
			about: "Containers keep their order (not sorted). Optional name, image, startedAt and finishedAt left out when empty or 0; exitCode always written and may be negative.",
			recs: []record.Record{{V: 1, Kind: record.KindSnapshot, Host: "node1", Seq: 4, Prev: fakePrev, Time: t1,
				Snapshot: &record.Snapshot{Part: 1, Parts: 2, Containers: []record.SnapshotContainer{
					{ID: "c3" + strings.Repeat("3", 62), Name: "db", Image: "postgres:16", State: "running", StartedAt: t1 - 1e12},
					{ID: "c1" + strings.Repeat("1", 62), Name: "job", State: "exited", StartedAt: t1 - 2e12, FinishedAt: t1 - 1e12, ExitCode: 137},
					{ID: "c2" + strings.Repeat("2", 62), State: "created", ExitCode: -1},
				}}}}},
		{file: "snapshot-empty", name: "an empty snapshot part",
			about: "containers is required: written as [] when empty.",
			recs: []record.Record{{V: 1, Kind: record.KindSnapshot, Host: "node1", Seq: 5, Prev: fakePrev, Time: t1,
				Snapshot: &record.Snapshot{Part: 2, Parts: 2, Containers: []record.SnapshotContainer{}}}}},
		{file: "unicode-escaping", name: "strings that other JSON encoders escape differently",
			about: "Only '\"', '\\' and U+0000-U+001F are escaped. '/', '<', '>', '&', U+007F-U+009F, U+2028, U+2029, U+FEFF, U+FFFD and characters outside the BMP are written as their raw UTF-8 bytes (see canonicalHex); escapes of U+0000-U+001F use \\u00xx with lower-case hex, never \\n, \\t or \\r.",
			recs: []record.Record{{V: 1, Kind: record.KindEvent, Host: "node1", Seq: 12, Prev: fakePrev, Time: t1 + 12,
				Event: &record.Event{Type: "container", Action: "rename", Actor: strings.Repeat("cd", 32), Scope: record.ScopeLocal, TimeNano: t1 + 12,
					Attrs: record.Attributes{Name: "café-☕", OldName: "caf\u00e9\u0301-old", Image: "docker.io/library/busybox:latest",
						Labels: map[string]string{
							"quote": `say "hi"`, "backslash": `C:\temp\`, "controls": "tab\tnewline\nreturn\r",
							"html": `<a href="x">&amp;</a>`, "separators": "line\u2028para\u2029end", "nonascii": "é ü ß 中文 😀",
							"specials": "\ufffd\ufeff\u0080\u009f", "empty": "",
						}}}}}},
		{file: "labels-order", name: "label keys sorted by their UTF-8 bytes",
			about: "Keys sort by the bytes of their unescaped UTF-8 form: ' ' < 'A' < 'Z' < 'a' < 'a\"' < 'a#' < 'a.b' < 'a0' < 'a\\' < 'ab' < 'b' < 'z' < '~' < 'é' < U+FFFD < U+1F600. Sorting by the escaped form would put 'a#' before 'a\"'; sorting by UTF-16 code units (as RFC 8785 does) would put U+1F600 before U+FFFD. The input lists the labels in reverse order.",
			recs: []record.Record{{V: 1, Kind: record.KindEvent, Host: "node1", Seq: 13, Prev: fakePrev, Time: t1 + 13,
				Event: &record.Event{Type: "container", Action: "create", Actor: strings.Repeat("ef", 32), Scope: record.ScopeLocal, TimeNano: t1 + 13,
					Attrs: record.Attributes{Labels: map[string]string{
						"b": "1", "a": "2", "A": "3", "a.b": "4", "a0": "5", "ab": "6", `a"`: "7", "a#": "8", `a\`: "9",
						"é": "10", "z": "11", "\ufffd": "12", "😀": "13", " ": "14", "~": "15", "Z": "16",
					}}}}}},
		{file: "large-numbers", name: "the largest integers the schema allows",
			about: "seq, pending and dropped are unsigned 64-bit (up to 18446744073709551615), times and intervalMs signed 64-bit (up to 9223372036854775807): a verifier must not parse them as floating-point numbers.",
			recs: []record.Record{{V: 1, Kind: record.KindHeartbeat, Host: "node1", Seq: 1<<64 - 1, Prev: fakePrev, Time: 1<<63 - 1,
				Heartbeat: &record.Heartbeat{IntervalMs: 1<<63 - 1, LastEvent: 1<<63 - 1, Pending: 1<<64 - 1, Dropped: 1<<64 - 1}}}},
		{file: "chain", name: "a host's chain from its first record", chain: true,
			about: "seq 1 has the genesis prev; each following record's prev is the hash of the record before it.",
			recs:  chainOf("node1", 1, record.GenesisPrev, startRec(), createEvent(), hbRec())},
	}
}

func dieEvent() record.Record {
	return record.Record{V: 1, Kind: record.KindEvent, Host: "node1", Seq: 1, Prev: record.GenesisPrev, Time: t1 + 1,
		Event: &record.Event{Type: "container", Action: "die", Actor: strings.Repeat("ab", 32), Scope: record.ScopeLocal, TimeNano: t1 + 1,
			Attrs: record.Attributes{Name: "web-1", Image: "busybox:e2l", ExitCode: "137", Labels: map[string]string{"z": "last", "a": "first \"q\"\n"}}}}
}

func swarmEvent(host string, seq uint64, action string, tn int64) record.Record {
	return record.Record{V: 1, Kind: record.KindEvent, Host: host, Seq: seq, Prev: fakePrev, Time: tn,
		Event: &record.Event{Type: "service", Action: action, Actor: "k3x9mq2v8w1z0p7r5t4y6u2i1", Scope: record.ScopeSwarm, TimeNano: tn,
			Attrs: record.Attributes{Name: "appdemo", ReplicasOld: "1", ReplicasNew: "3"}}}
}

func startRec() record.Record {
	return record.Record{Kind: record.KindStart, Lifecycle: &record.Lifecycle{Version: "0.4.1", Reason: "boot"}}
}

func createEvent() record.Record {
	return record.Record{Kind: record.KindEvent, Event: &record.Event{Type: "container", Action: "create", Actor: strings.Repeat("12", 32),
		Scope: record.ScopeLocal, Attrs: record.Attributes{Name: "web-2", Image: "busybox:e2l"}}}
}

func hbRec() record.Record {
	return record.Record{Kind: record.KindHeartbeat, Heartbeat: &record.Heartbeat{IntervalMs: 30000, LastEvent: t1 + 2, Pending: 1}}
}

// chainOf fills V, Host, Seq (from seq), Prev (from prev, then each hash),
// Time and an event's TimeNano (t1 + seq) of rs, in order.
func chainOf(host string, seq uint64, prev string, rs ...record.Record) []record.Record {
	out := make([]record.Record, len(rs))
	for i, r := range rs {
		r.V, r.Host, r.Seq, r.Prev, r.Time = record.SchemaVersion, host, seq+uint64(i), prev, t1+int64(seq)+int64(i)
		if r.Event != nil {
			e := *r.Event
			e.TimeNano = r.Time
			r.Event = &e
		}
		out[i] = r
		prev = r.ComputeHash()
	}
	return out
}

func recordVectorOf(t *testing.T, r record.Record) recordVector {
	t.Helper()
	s, err := record.Seal(r)
	if err != nil {
		t.Fatalf("a valid-record case does not seal: %v", err)
	}
	c := r.Canonical()
	return recordVector{Input: inputJSON(t, r), Canonical: string(c), CanonicalHex: hex.EncodeToString(c),
		ID: s.ID, EventID: r.EventID(), Hash: s.Hash}
}

// inputJSON is r as encoding/json writes it (members in declaration order,
// other escapes), with labels in reverse order: not the canonical form.
func inputJSON(t *testing.T, r record.Record) json.RawMessage {
	t.Helper()
	out := marshalPlain(t, r)
	if r.Event == nil || len(r.Event.Attrs.Labels) < 2 {
		return out
	}
	keys := make([]string, 0, len(r.Event.Attrs.Labels))
	for k := range r.Event.Attrs.Labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	slices.Reverse(keys)
	rev := []byte{'{'}
	for i, k := range keys {
		if i > 0 {
			rev = append(rev, ',')
		}
		rev = append(rev, marshalPlain(t, k)...)
		rev = append(rev, ':')
		rev = append(rev, marshalPlain(t, r.Event.Attrs.Labels[k])...)
	}
	rev = append(rev, '}')
	sorted := append([]byte(`"labels":`), marshalPlain(t, r.Event.Attrs.Labels)...)
	if !bytes.Contains(out, sorted) {
		t.Fatal("labels not found in the marshalled input")
	}
	return bytes.Replace(out, sorted, append([]byte(`"labels":`), rev...), 1)
}

func marshalPlain(t *testing.T, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'})
}

func digestOf(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:])
}

type batchCase struct {
	file, name, about string
	batch             []byte
	refusal, field    string
}

func batchCases(t *testing.T) []batchCase {
	t.Helper()
	chain := sealAll(t, chainOf("node1", 1, record.GenesisPrev, startRec(), createEvent(), hbRec()))
	marshal := func(rs ...record.Sealed) []byte {
		b, err := json.Marshal(record.Batch{Records: rs})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := marshal(chain...)
	indented, err := json.MarshalIndent(record.Batch{Records: chain}, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	mid := sealAll(t, chainOf("node1", 5, fakePrev, hbRec(), hbRec()))
	badHash, badID, badPrev := chain[1], chain[1], chain[2]
	badHash.Hash = digestOf("not this record")
	badID.ID = chain[0].ID
	badPrev.Record.Prev = chain[0].Hash
	badPrev = reseal(t, badPrev.Record)
	other := sealAll(t, chainOf("node2", 2, chain[0].Hash, hbRec()))[0]
	late := chain[1]
	late.Record.Event = &record.Event{}
	*late.Record.Event = *chain[1].Record.Event
	late.Record.Event.TimeNano++
	late = record.Sealed{ID: late.Record.DeriveID(), Hash: late.Record.ComputeHash(), Record: late.Record}
	return []batchCase{
		{file: "accepted", name: "a batch as encoding/json writes it is accepted",
			about: "A batch's records are JSON objects in any member order and escaping: the contract re-encodes each canonically.", batch: good},
		{file: "accepted-indented", name: "an indented batch is accepted", batch: indented},
		{file: "accepted-mid-chain", name: "a batch that starts in the middle of its host's chain is accepted",
			about: "Continuity with the host's earlier batches is not checked on-chain: auditors check it (section 8).", batch: marshal(mid...)},
		{file: "empty", name: "an empty batch is refused", batch: []byte(`{"records":[]}`), refusal: "size"},
		{file: "unknown-member", name: "an unknown member of the batch is refused",
			batch: append(bytes.TrimSuffix(good, []byte("}")), []byte(`,"signature":"x"}`)...), refusal: "decode"},
		{file: "unknown-record-member", name: "an unknown member of a record is refused",
			batch: bytes.Replace(good, []byte(`"v":1`), []byte(`"v":1,"note":"x"`), 1), refusal: "decode"},
		{file: "trailing-data", name: "data after the batch is refused", batch: append(slices.Clone(good), []byte(`{}`)...), refusal: "decode"},
		{file: "float-number", name: "a number with a fraction is refused",
			batch: bytes.Replace(good, []byte(`"seq":2,`), []byte(`"seq":2.0,`), 1), refusal: "decode"},
		{file: "invalid-utf8", name: "a batch that is not UTF-8 is refused", about: "A decoder would silently replace the byte by U+FFFD.",
			batch: bytes.Replace(good, []byte(`"reason":"boot"`), []byte("\"reason\":\"bo\xffot\""), 1), refusal: "utf8"},
		{file: "lone-surrogate", name: "a lone surrogate escape is refused", about: "A decoder would silently replace \\udc00 by U+FFFD.",
			batch: bytes.Replace(good, []byte(`"reason":"boot"`), []byte(`"reason":"bo\udc00ot"`), 1), refusal: "utf8"},
		{file: "wrong-hash", name: "a record whose hash is not its content's is refused", batch: marshal(chain[0], badHash), refusal: "hash"},
		{file: "wrong-id", name: "a record whose ID is not its derived ID is refused", batch: marshal(chain[0], badID), refusal: "id"},
		{file: "broken-prev", name: "a record whose prev is not the hash of the record before is refused", batch: marshal(chain[0], chain[1], badPrev), refusal: "chain"},
		{file: "duplicate-record", name: "one record twice is refused", batch: marshal(chain[0], chain[0]), refusal: "chain"},
		{file: "mixed-hosts", name: "records of two hosts are refused", batch: marshal(chain[0], other), refusal: "chain"},
		{file: "schema", name: "a record that breaks the schema is refused", about: "event.timeNano must equal the record's time.",
			batch: marshal(chain[0], late), refusal: "schema", field: "event.timeNano"},
	}
}

func sealAll(t *testing.T, rs []record.Record) []record.Sealed {
	t.Helper()
	out := make([]record.Sealed, len(rs))
	for i, r := range rs {
		out[i] = reseal(t, r)
	}
	return out
}

func reseal(t *testing.T, r record.Record) record.Sealed {
	t.Helper()
	s, err := record.Seal(r)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
